//! The multiparty calls of this host: one task per MPC, each owning its
//! engine ([`chorus_mpc::Mpc`]), its timer, its room, its callback queues and
//! its recording, reached through a channel.
//!
//! [`MpcRegistry::join`] finds the MPC a `<MultiPartyCall>` names (starting
//! its task if there is none) and asks it to take the caller's leg; the
//! [`Membership`] it returns carries the caller's digits, speech and leave
//! to the task. The task feeds every input to its engine, re-arms its timer
//! from `poll_timeout` on the monotonic clock after each one, and carries out
//! the outputs (the `apply` module): media commands to the media plane,
//! status events to its callback queue, the recording to start or stop (the
//! `recording` module), released members' next steps to their calls. Sounds
//! and music from URLs load beside it (the `sounds` module). When the engine
//! ends the MPC the task takes it off the registry at once, closes its room,
//! and ends as soon as its last callbacks are delivered: nothing of an MPC
//! outlives it but its final state, which the registry keeps (the last
//! 1000 MPCs) for the API. The registry only maps names to
//! task handles, under a lock held for the lookup alone, never across an
//! engine step. [`MpcRegistry::control`] and [`MpcRegistry::list`] are the
//! API's way in: a [`Control`] goes to the MPC's task, which checks it
//! against its engine (the `control` module) and answers with the MPC's
//! state.

mod apply;
mod clock;
mod control;
mod mailbox;
mod member_audio;
mod membership;
mod recording;
mod registry;
mod services;
mod sounds;
mod task;
mod tracks;
mod watch;

pub use clock::wall_clock;
pub use mailbox::{Control, ControlError, Controlled, JoinError, MemberSound, Members};
pub use membership::Membership;
pub use registry::{MpcAddress, MpcRegistry};
pub use services::MpcServices;
pub use watch::{CallEvent, CallEventName, EventBus, HangupInfo, Watched};
