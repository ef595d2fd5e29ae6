//! What one leg received: RFC 3550's loss and interarrival jitter, and
//! packets that came late or early against the stream's own pace.
//!
//! Pure: arrival times are passed in (nanoseconds on the run's clock), so
//! the tests inject loss, reordering, jitter and stalls exactly.
//!
//! - *Loss* is RFC 3550 §A.3's: packets expected from the sequence numbers
//!   seen (highest extended minus first, plus one) less packets received.
//! - *Jitter* is §6.4.1's estimator, in milliseconds: the mean deviation of
//!   each packet's transit time from the previous one's, smoothed by 1/16.
//! - A packet is *late* when its transit grew by more than [`LATE_MS`] over
//!   the packet before it (the sender or the path stalled for two frames),
//!   and *early* when it shrank by as much (a burst catching up). Each
//!   stall counts once, not for every packet after it.

use serde::Serialize;

/// How far one packet's transit may move from the one before it before it
/// counts as late or early: two 20 ms frames.
pub const LATE_MS: f64 = 40.0;

/// RTP clock of G.711, per millisecond.
const TS_PER_MS: f64 = 8.0;

/// One stream's receive statistics.
#[derive(Debug, Clone, Default)]
pub struct StreamStats {
    /// The current source, its first and highest extended sequence numbers
    /// and the packets received from it.
    ssrc: Option<u32>,
    first_seq: u64,
    highest_seq: u64,
    received_now: u64,
    /// Packets expected and received from earlier sources.
    carried_expected: u64,
    carried_received: u64,
    /// Extended timestamp of the last packet, and its transit in ms.
    last: Option<(i64, f64)>,
    jitter_ms: f64,
    late: u64,
    early: u64,
    ssrc_changes: u64,
}

/// The figures of [`StreamStats`], for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StreamSummary {
    /// Packets received.
    pub received: u64,
    /// Packets the sequence numbers say were sent.
    pub expected: u64,
    /// `expected - received`, never below zero.
    pub lost: u64,
    /// RFC 3550 interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Packets more than [`LATE_MS`] behind the one before.
    pub late: u64,
    /// Packets more than [`LATE_MS`] ahead of the one before.
    pub early: u64,
    /// Times the sender's SSRC changed.
    pub ssrc_changes: u64,
}

/// Extended sequence numbers start one cycle up, so that a packet
/// reordered before the first one seen does not go below zero.
const FIRST_CYCLE: u64 = 1 << 16;

impl StreamStats {
    /// Takes one packet that arrived at `arrival_ns`.
    pub fn on_packet(&mut self, arrival_ns: u64, ssrc: u32, seq: u16, timestamp: u32) {
        if self.ssrc != Some(ssrc) {
            if self.ssrc.is_some() {
                // A new source numbers its packets afresh (RFC 3550 §8.2):
                // keep the old one's account and start another.
                self.ssrc_changes += 1;
                self.carried_expected += self.expected_now();
                self.carried_received += self.received_now;
            }
            self.ssrc = Some(ssrc);
            self.first_seq = FIRST_CYCLE + u64::from(seq);
            self.highest_seq = self.first_seq;
            self.received_now = 0;
            self.last = None;
        }
        self.received_now += 1;
        let seq = extend(self.highest_seq, seq);
        self.highest_seq = self.highest_seq.max(seq);
        self.first_seq = self.first_seq.min(seq);

        let arrival_ms = arrival_ns as f64 / 1e6;
        let ts = match self.last {
            Some((last_ts, _)) => {
                last_ts + i64::from(timestamp.wrapping_sub(last_ts as u32) as i32)
            }
            None => i64::from(timestamp),
        };
        let transit = arrival_ms - ts as f64 / TS_PER_MS;
        if let Some((_, last_transit)) = self.last {
            let d = transit - last_transit;
            self.jitter_ms += (d.abs() - self.jitter_ms) / 16.0;
            if d > LATE_MS {
                self.late += 1;
            } else if d < -LATE_MS {
                self.early += 1;
            }
        }
        self.last = Some((ts, transit));
    }

    /// The figures so far.
    pub fn summary(&self) -> StreamSummary {
        let expected = self.carried_expected + self.expected_now();
        let received = self.carried_received + self.received_now;
        StreamSummary {
            received,
            expected,
            lost: expected.saturating_sub(received),
            jitter_ms: self.jitter_ms,
            late: self.late,
            early: self.early,
            ssrc_changes: self.ssrc_changes,
        }
    }

    fn expected_now(&self) -> u64 {
        if self.received_now == 0 {
            0
        } else {
            self.highest_seq + 1 - self.first_seq
        }
    }
}

/// The extended sequence number of `seq` nearest to `highest` (RFC 3550
/// §A.1): a wrap forward adds 65,536; a late packet from just before a
/// wrap lands before it.
fn extend(highest: u64, seq: u16) -> u64 {
    let delta = i64::from(seq.wrapping_sub(highest as u16) as i16);
    highest.saturating_add_signed(delta)
}

#[cfg(test)]
mod tests;
