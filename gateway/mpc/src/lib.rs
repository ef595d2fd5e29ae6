//! The MPC engine: Plivo's MultiPartyCall rules as a sans-IO state machine.
//!
//! One [`Mpc`] per multiparty call. Its driver (the gateway) creates it when
//! the first `<MultiPartyCall>` for a name arrives ([`Mpc::new`], which
//! emits MPCInitialized), then feeds it everything that happens with
//! [`Mpc::handle`]`(now, input)`, drains [`Mpc::poll_output`] after each
//! call and acts on the outputs (status callbacks to deliver, media changes,
//! calls to release, the recording and participant tracks to start or
//! stop), and calls `handle` with [`Input::Tick`] when
//! [`Mpc::poll_timeout`] passes. The engine reads no
//! clock and does no IO, so tests drive hours of call flow in microseconds:
//!
//! ```
//! use chorus_mpc::{CallInfo, Input, Mpc, Output, Timestamp};
//! use chorus_xml::{MultiPartyCall, Role};
//!
//! let spec = MultiPartyCall::for_room("support", Role::Agent);
//! let mut mpc = Mpc::new(Timestamp(0), "mpc-1".into(), &spec);
//! let call = CallInfo { call_uuid: "c1".into(), from: "alice".into(), to: "support".into(), inbound: true };
//! mpc.handle(Timestamp(1000), Input::Join { call, spec: Box::new(spec) });
//! let names: Vec<_> = std::iter::from_fn(|| mpc.poll_output())
//!     .filter_map(|o| match o { Output::Event(e) => Some(e.name.as_str()), _ => None })
//!     .collect();
//! assert_eq!(names, ["MPCInitialized", "ParticipantJoin", "MPCStart"]);
//! ```
//!
//! Rules that are chorus's reading where the spec is silent: a first
//! participant's ParticipantJoin precedes the MPCStart it causes; when an
//! MPC ends its remaining members' ParticipantExit (cause "Multiparty Call
//! Ended") precede MPCEnd; without `stayAlone`, a member left alone leaves
//! and the MPC ends; exit sounds play on hangup too, never for a coaching
//! supervisor, and not when the whole MPC ends (nobody is left to hear).
#![forbid(unsafe_code)]

mod engine;
mod event;
mod io;
mod recording;
mod time;
mod track;

pub use engine::Mpc;
pub use event::{
    EventName, ExitCause, MemberFields, MpcFields, StatusEvent, Termination, billed_secs,
};
pub use io::{CallInfo, Input, MediaCommand, MemberState, MpcState, Output, Rejection, Then};
pub use recording::{RecordingEvent, RecordingEventName, RecordingFields};
pub use time::Timestamp;
pub use track::{RecordCommand, RecordTrackType, Track, TrackFields, TrackStates};
