//! Arrival-lateness tracking that sets the jitter buffer's target depth.
//!
//! Transit time (arrival clock minus media clock) is only meaningful relative
//! to other packets, so lateness is measured against the smallest transit
//! seen: the packet that had the fastest trip defines "on time". Both the
//! minimum and the peak lateness are held over two consecutive windows, so a
//! jitter spike raises the target immediately and is forgotten 5-10 s after
//! it ends, and slow clock drift between the peers cannot accumulate.

/// Length of one peak/minimum window.
const WINDOW_MS: u64 = 5000;
/// Lateness that is our own rounding, not the network's: arrival times,
/// tick times and media times are whole milliseconds, each up to a
/// millisecond off, so packets right on time read up to 2 ms late. Counting
/// that would add a whole packet of delay for nothing.
const ROUNDING_MS: u64 = 2;

#[derive(Debug, Clone)]
pub(super) struct DelayEstimator {
    clock_rate: u32,
    /// Duration of one packet of the stream: the unit of the target.
    packet_ms: u64,
    min_packets: u16,
    max_packets: u16,
    /// Arrival time and timestamp of the first packet since reset.
    reference: Option<(u64, u32)>,
    window_start_ms: u64,
    min_current: i64,
    min_previous: i64,
    peak_current: i64,
    peak_previous: i64,
    /// RFC 3550 §6.4.1 jitter, in timestamp units scaled by 16.
    jitter_x16: u64,
    last_transit: Option<i64>,
}

impl DelayEstimator {
    pub(super) fn new(clock_rate: u32, packet_ms: u64, min_packets: u16, max_packets: u16) -> Self {
        DelayEstimator {
            clock_rate,
            packet_ms,
            min_packets,
            max_packets,
            reference: None,
            window_start_ms: 0,
            min_current: i64::MAX,
            min_previous: i64::MAX,
            peak_current: 0,
            peak_previous: 0,
            jitter_x16: 0,
            last_transit: None,
        }
    }

    pub(super) fn packet_ms(&self) -> u64 {
        self.packet_ms
    }

    pub(super) fn max_packets(&self) -> u16 {
        self.max_packets
    }

    /// A new packet duration and the delay bounds in packets of it; what
    /// was measured (in milliseconds) stays valid.
    pub(super) fn set_packet(&mut self, packet_ms: u64, min_packets: u16, max_packets: u16) {
        self.packet_ms = packet_ms.max(1);
        self.min_packets = min_packets;
        self.max_packets = max_packets;
    }

    pub(super) fn reset(&mut self) {
        *self = DelayEstimator::new(
            self.clock_rate,
            self.packet_ms,
            self.min_packets,
            self.max_packets,
        );
    }

    pub(super) fn on_arrival(&mut self, now_ms: u64, timestamp: u32) {
        let (ref_ms, ref_ts) = *self.reference.get_or_insert((now_ms, timestamp));
        let media_units = i64::from(timestamp.wrapping_sub(ref_ts) as i32);
        let arrival_ms = now_ms.saturating_sub(ref_ms) as i64;
        let transit_ms = arrival_ms - media_units * 1000 / i64::from(self.clock_rate);

        if now_ms.saturating_sub(self.window_start_ms) >= WINDOW_MS {
            self.window_start_ms = now_ms;
            self.min_previous = self.min_current;
            self.min_current = i64::MAX;
            self.peak_previous = self.peak_current;
            self.peak_current = 0;
        }
        self.min_current = self.min_current.min(transit_ms);
        let lateness = transit_ms - self.min_current.min(self.min_previous);
        self.peak_current = self.peak_current.max(lateness);

        // RFC 3550 jitter in timestamp units: J += (|D| - J) / 16.
        let transit_units = arrival_ms * i64::from(self.clock_rate) / 1000 - media_units;
        if let Some(last) = self.last_transit {
            let d = (transit_units - last).unsigned_abs();
            let j = self.jitter_x16 as i64;
            self.jitter_x16 = (j + d as i64 - ((j + 8) >> 4)).max(0) as u64;
        }
        self.last_transit = Some(transit_units);
    }

    /// Interarrival jitter as RTCP reports it (timestamp units).
    pub(super) fn rfc3550_jitter(&self) -> u32 {
        (self.jitter_x16 >> 4).min(u64::from(u32::MAX)) as u32
    }

    /// Target depth in packets: the minimum plus the peak lateness (beyond
    /// [`ROUNDING_MS`]) in whole packets.
    pub(super) fn target_packets(&self) -> u16 {
        let peak = self.peak_current.max(self.peak_previous).max(0) as u64;
        let late = peak.saturating_sub(ROUNDING_MS);
        let extra = late.div_ceil(self.packet_ms).min(u64::from(u16::MAX)) as u16;
        self.min_packets
            .saturating_add(extra)
            .clamp(self.min_packets, self.max_packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20 ms packets, one a tick, each arriving `noise(i)` ms after its
    /// time: what target comes of it.
    fn target_after(noise: impl Fn(u32) -> u64) -> u16 {
        let mut estimator = DelayEstimator::new(8000, 20, 1, 8);
        for i in 0..200u32 {
            estimator.on_arrival(u64::from(i) * 20 + 7 + noise(i), i * 160);
        }
        estimator.target_packets()
    }

    #[test]
    fn millisecond_rounding_adds_no_packet_of_delay() {
        assert_eq!(target_after(|_| 0), 1);
        assert_eq!(target_after(|i| u64::from(i % 3)), 1, "0-2 ms is rounding");
        assert_eq!(target_after(|i| u64::from(i % 4)), 2, "3 ms late is late");
    }

    #[test]
    fn lateness_counts_in_packets_of_the_streams_duration() {
        let mut estimator = DelayEstimator::new(8000, 20, 1, 8);
        estimator.on_arrival(0, 0);
        estimator.on_arrival(20 + 45, 160);
        assert_eq!(
            estimator.target_packets(),
            1 + 3,
            "43 ms over: 3 packets of 20"
        );
        estimator.set_packet(60, 1, 3);
        assert_eq!(estimator.target_packets(), 2, "one packet of 60");
        estimator.set_packet(10, 2, 16);
        assert_eq!(estimator.target_packets(), 2 + 5);
    }
}
