//! chorusd: a SIP/RTP media gateway hosting Plivo-style multiparty calls.
//!
//! Imports run one way, top to bottom; a module that needs something from
//! above it gets a narrow handle or a channel:
//!
//! ```text
//! bin/chorusd.rs
//!  → daemon        builds and wires every part; owns start, serve, graceful stop
//!   → api          the control API: operations over the MPCs, the Plivo REST facade
//!                  and the gRPC service (bin/chorusctl talks to the latter)
//!   → call, mpc    one task per call (the driver of its chorus-flow interpreter),
//!                  one task per MPC (its engine, timer, room, callbacks, recording)
//!    → events, player, fetch, media
//!                  callback queues; sounds into clips; HTTP fetching; RTP workers
//!     → metrics, sip
//!                  leaves: counters served by a render closure; SIP, the only
//!                  module that names rsipstack
//! ```
//!
//! Within a level, `call` uses `mpc` (to join), `player` uses `fetch` and
//! `sip` renders its counters with `metrics`' helpers; `sip` hands new calls
//! up to `call` over a channel the daemon wires. The decisions themselves
//! live in pure crates beside this one: `chorus-flow` (what a call does
//! next), `chorus-mpc` (Plivo's MPC rules), `chorus-media` (RTP, jitter,
//! SDP, DTMF) and `chorus-mixer` (who hears whom).
//!
//! To drive it from code (tests do this through the binary instead):
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let config = chorus_config::Config::default();
//! let daemon = chorus_gateway::daemon::Daemon::start(config).await?;
//! // ... calls come in on daemon.sip_udp ...
//! daemon.stop().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod api;
pub mod call;
pub mod daemon;
pub mod events;
pub mod fetch;
pub mod media;
pub mod metrics;
pub mod mpc;
pub mod player;
pub mod sip;
