//! The servers a load runs against, and how each one gives a leg the
//! address to send its RTP to.
//!
//! A [`Target`] is driven from the generator's control thread: the run calls
//! [`Target::begin`] for each leg at the paced rate, collects finished
//! set-ups from [`Target::poll`], keeps the sessions alive with
//! [`Target::service`] while media flows, and ends them with
//! [`Target::finish`]. Media never passes through a target: the media
//! threads send to the address a set-up returns and read the leg's own
//! socket.
//!
//! - [`sip`]: chorusd (or any SIP server putting `sip:<room>@host` into a
//!   conference), one INVITE per leg through its UDP front door;
//! - [`relay`]: the bare UDP relay `chorus-relay`, echoing each leg to itself;
//! - [`rtpengine`]: rtpengine's userspace relay over its ng protocol, one
//!   call per room of 2, each leg hearing the other;
//! - [`janus`]: Janus' AudioBridge, one plain-RTP participant per leg, set
//!   up over its REST API (and [`janus::daemon`] to run a private Janus).

pub mod janus;
pub mod relay;
pub mod rtpengine;
pub mod sdp;
pub mod sip;

use std::net::SocketAddr;
use std::time::Duration;

use crate::plan::LegPlan;

/// What a leg hears when the server works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hearing {
    /// Every other seat of its room, not itself (a conference mixer).
    Others,
    /// Itself only (an echo).
    Itself,
}

/// A finished set-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The leg's index.
    pub leg: usize,
    /// Where the leg sends its RTP, or why it got none.
    pub result: Result<SocketAddr, String>,
    /// From the first request to the answer (INVITE → 200 OK for SIP).
    pub latency: Duration,
}

/// What ending the sessions came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Teardown {
    /// Sessions ended cleanly (a 200 OK to BYE, say).
    pub ended: usize,
    /// Sessions whose end got no answer in time.
    pub unanswered: usize,
    /// Sessions the server ended on its own during the run.
    pub ended_by_server: usize,
}

/// A server under load.
pub trait Target: Send {
    /// A short name for reports (`chorusd`, `relay`, …).
    fn name(&self) -> &str;

    /// What a working server makes each leg hear.
    fn hearing(&self) -> Hearing;

    /// Starts setting up `leg`, whose RTP socket is bound at `rtp`. An
    /// error here fails the leg at once.
    fn begin(&mut self, leg: &LegPlan, rtp: SocketAddr) -> Result<(), String>;

    /// Set-ups finished since the last call, waiting up to `wait` for the
    /// first one. A set-up still pending after its own deadline comes back
    /// as an error.
    fn poll(&mut self, wait: Duration) -> Vec<Setup>;

    /// Called every ~100 ms while media flows: answer the server's
    /// requests, send keep-alives.
    fn service(&mut self) {}

    /// Ends every session, waiting up to `wait` for the answers.
    fn finish(&mut self, wait: Duration) -> Teardown;
}
