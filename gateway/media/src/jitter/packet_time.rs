//! The stream's packet duration, learned from its timestamps.
//!
//! Peers send 10 to 120 ms per packet whatever the SDP asked for, so the
//! buffer does not trust the negotiation: the timestamp step between two
//! packets adjacent in sequence is the duration of the first. A sequence
//! gap (loss, or a DTMF event's packets in the same sequence space) says
//! nothing and is skipped.

/// Consecutive steps that must agree on a new duration before it is used:
/// one odd step (silence suppression that skipped a little audio between
/// contiguous sequence numbers) is not a new packet time.
const AGREEING_STEPS: u8 = 2;

#[derive(Debug, Clone, Copy)]
pub(super) struct PacketTime {
    samples: u32,
    candidate: u32,
    agreeing: u8,
    shortest: u32,
    longest: u32,
}

impl PacketTime {
    /// Starts at `samples` per packet (until the stream shows otherwise),
    /// accepting 10 to 120 ms at `clock_rate`.
    pub(super) fn new(samples: u32, clock_rate: u32) -> Self {
        Self {
            samples,
            candidate: samples,
            agreeing: 0,
            shortest: (clock_rate / 100).max(1),
            longest: (clock_rate * 3 / 25).max(1),
        }
    }

    /// Samples per packet.
    pub(super) fn samples(&self) -> u32 {
        self.samples
    }

    /// Notes the timestamp step from one packet to the next in sequence;
    /// true when this changes the packet duration.
    pub(super) fn observe(&mut self, step: u32) -> bool {
        if step == self.samples || !(self.shortest..=self.longest).contains(&step) {
            self.agreeing = 0;
            return false;
        }
        if step == self.candidate {
            self.agreeing = self.agreeing.saturating_add(1);
        } else {
            self.candidate = step;
            self.agreeing = 1;
        }
        if self.agreeing < AGREEING_STEPS {
            return false;
        }
        self.samples = step;
        self.agreeing = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_agreeing_steps_set_the_duration() {
        let mut p = PacketTime::new(160, 8000);
        assert!(!p.observe(240));
        assert!(p.observe(240));
        assert_eq!(p.samples(), 240);
        assert!(!p.observe(240), "no change");
        assert!(!p.observe(80));
        assert!(!p.observe(240), "an interruption starts over");
        assert!(!p.observe(80));
        assert!(p.observe(80));
        assert_eq!(p.samples(), 80);
    }

    #[test]
    fn odd_steps_and_out_of_range_steps_are_ignored() {
        let mut p = PacketTime::new(160, 8000);
        for step in [0, 79, 961, 8000, u32::MAX] {
            assert!(!p.observe(step) && !p.observe(step), "{step}");
        }
        // A silence gap between steady 20 ms packets.
        for step in [160, 160, 480, 160, 160] {
            assert!(!p.observe(step));
        }
        assert_eq!(p.samples(), 160);
        assert!(!p.observe(960));
        assert!(p.observe(960), "120 ms is the longest accepted");
    }
}
