//! chorusd: a SIP/RTP media gateway hosting Plivo-style multiparty calls.
//!
//! How the pieces fit (see ARCHITECTURE.md beside the repository):
//! - [`sip`] owns the rsipstack endpoint and turns requests into calls;
//! - [`call`] runs each call's XML flow on the tokio control plane;
//! - [`mpc`] runs each MPC's engine (`chorus-mpc`) and carries out its
//!   outputs: legs into rooms and out, released calls, callbacks;
//! - [`events`] delivers status callbacks;
//! - [`player`] fetches and decodes sounds and music into clips;
//! - [`media`] runs the worker threads that receive, mix and send RTP;
//! - [`metrics`] counts calls, MPC events, callbacks and sounds for
//!   Prometheus (`GET /metrics`).
//!
//! To drive it from code (tests do this through the binary instead):
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let config = chorus_config::Config::default();
//! let daemon = chorus_gateway::gateway::Daemon::start(config).await?;
//! // ... calls come in on daemon.sip_udp ...
//! daemon.stop().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod call;
pub mod events;
pub mod gateway;
pub mod media;
pub mod metrics;
pub mod mpc;
pub mod player;
pub mod sip;
