//! What a leg counts of its peer's traffic: [`LegCounters`] (read when the
//! leg is released) and [`LegActivity`] (shared live with the call task).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters a leg keeps about its peer's traffic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LegCounters {
    /// Valid RTP packets received from the peer.
    pub received: u64,
    /// Datagrams that were not valid RTP (dropped).
    pub malformed: u64,
    /// RTCP datagrams (ignored for now).
    pub rtcp: u64,
    /// Packets with a payload type we did not negotiate.
    pub unknown_payload: u64,
    /// Datagrams from a source other than the peer's, or from a stranger
    /// still on probation (dropped; see [`super::source`]).
    pub foreign: u64,
    /// RTP packets sent.
    pub sent: u64,
}

/// Datagrams accepted from the peer (RTP or RTCP from the expected or latched
/// source), shared with the call task, which watches it for the RTP timeout.
#[derive(Debug, Clone, Default)]
pub struct LegActivity(Arc<AtomicU64>);

impl LegActivity {
    /// Datagrams from the peer so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// One more (a relaxed add: wait-free, fine on the media thread).
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}
