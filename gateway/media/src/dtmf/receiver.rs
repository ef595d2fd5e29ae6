//! Reassembling received telephone-event packets into key presses.

use super::{DtmfEvent, event_to_digit};
use crate::rtp::RtpPacket;

#[derive(Debug, Clone, Copy)]
struct Current {
    ssrc: u32,
    timestamp: u32,
    digit: char,
    duration: u16,
    reported: bool,
}

/// Reassembles RFC 4733 packets into key presses (see the module docs for
/// the reporting rules).
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    clock_rate: u32,
    current: Option<Current>,
}

impl DtmfReceiver {
    /// `clock_rate` is the telephone-event clock (8000 for G.711 calls);
    /// it converts the duration field to milliseconds.
    pub fn new(clock_rate: u32) -> Self {
        DtmfReceiver {
            clock_rate: clock_rate.max(1),
            current: None,
        }
    }

    fn event_of(&self, c: &Current) -> DtmfEvent {
        DtmfEvent {
            digit: c.digit,
            duration_ms: (u64::from(c.duration) * 1000 / u64::from(self.clock_rate)) as u32,
            ssrc: c.ssrc,
            timestamp: c.timestamp,
        }
    }

    /// Feeds one telephone-event packet; returns an event when one completes.
    pub fn on_packet(&mut self, packet: &RtpPacket<'_>) -> Option<DtmfEvent> {
        let p = packet.payload;
        if p.len() < 4 {
            return None;
        }
        let digit = event_to_digit(p[0])?;
        let end = p[1] & 0x80 != 0;
        let duration = u16::from_be_bytes([p[2], p[3]]);

        if let Some(cur) = self.current.as_mut()
            && cur.ssrc == packet.ssrc
        {
            let delta = packet.timestamp.wrapping_sub(cur.timestamp) as i32;
            if delta == 0 {
                // Update or end of the current event.
                cur.duration = cur.duration.max(duration);
                if end && !cur.reported {
                    cur.reported = true;
                    let c = *cur;
                    return Some(self.event_of(&c));
                }
                return None;
            }
            if delta < 0 {
                // A straggler from an event we already moved past.
                return None;
            }
        }

        // A new event. Report the previous one if its end was never seen.
        let previous = self.current.filter(|c| !c.reported);
        self.current = Some(Current {
            ssrc: packet.ssrc,
            timestamp: packet.timestamp,
            digit,
            duration,
            reported: previous.is_none() && end,
        });
        match previous {
            Some(prev) => Some(self.event_of(&prev)),
            None if end => {
                let c = self.current?;
                Some(self.event_of(&c))
            }
            None => None,
        }
    }

    /// Reports the current event if it has not been reported yet (its end
    /// packets were lost, or the last call to [`Self::on_packet`] had to report
    /// an earlier event first). Returns each event at most once.
    pub fn flush(&mut self) -> Option<DtmfEvent> {
        let cur = self.current.as_mut()?;
        if cur.reported {
            return None;
        }
        cur.reported = true;
        let c = *cur;
        Some(self.event_of(&c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::encode_event;

    fn pkt(buf: &[u8; 4], ssrc: u32, ts: u32) -> RtpPacket<'_> {
        RtpPacket {
            marker: false,
            payload_type: 101,
            sequence: 0,
            timestamp: ts,
            ssrc,
            payload: buf,
        }
    }

    fn payload(digit: char, end: bool, duration: u16) -> [u8; 4] {
        let mut b = [0u8; 4];
        assert!(encode_event(digit, end, 10, duration, &mut b));
        b
    }

    /// Sends a full event the way phones do: updates, then three end packets.
    fn press(rx: &mut DtmfReceiver, digit: char, ssrc: u32, ts: u32) -> Vec<DtmfEvent> {
        let mut out = Vec::new();
        for d in [160u16, 320, 480, 640] {
            out.extend(rx.on_packet(&pkt(&payload(digit, false, d), ssrc, ts)));
        }
        for _ in 0..3 {
            out.extend(rx.on_packet(&pkt(&payload(digit, true, 800), ssrc, ts)));
        }
        out
    }

    #[test]
    fn reports_once_on_first_end_packet() {
        let mut rx = DtmfReceiver::new(8000);
        let events = press(&mut rx, '5', 7, 1000);
        assert_eq!(
            events,
            vec![DtmfEvent {
                digit: '5',
                duration_ms: 100,
                ssrc: 7,
                timestamp: 1000
            }]
        );
        // A retransmitted end packet is still the same event.
        assert_eq!(rx.on_packet(&pkt(&payload('5', true, 800), 7, 1000)), None);
        assert_eq!(rx.flush(), None);
        // The same digit pressed again is a new event (new timestamp).
        assert_eq!(press(&mut rx, '5', 7, 5000).len(), 1);
    }

    #[test]
    fn lost_end_is_reported_when_next_event_starts() {
        let mut rx = DtmfReceiver::new(8000);
        assert_eq!(rx.on_packet(&pkt(&payload('1', false, 400), 7, 0)), None);
        let e = rx
            .on_packet(&pkt(&payload('2', false, 160), 7, 3000))
            .unwrap();
        assert_eq!((e.digit, e.duration_ms, e.timestamp), ('1', 50, 0));
        let e = rx
            .on_packet(&pkt(&payload('2', true, 800), 7, 3000))
            .unwrap();
        assert_eq!(e.digit, '2');
    }

    #[test]
    fn lost_end_then_single_end_packet_reported_by_redundancy_or_flush() {
        let mut rx = DtmfReceiver::new(8000);
        rx.on_packet(&pkt(&payload('1', false, 400), 7, 0));
        // Only end packets of the next event survive.
        let e = rx
            .on_packet(&pkt(&payload('9', true, 800), 7, 3000))
            .unwrap();
        assert_eq!(e.digit, '1');
        let e = rx
            .on_packet(&pkt(&payload('9', true, 800), 7, 3000))
            .unwrap();
        assert_eq!(e.digit, '9');
        assert_eq!(rx.flush(), None);

        let mut rx = DtmfReceiver::new(8000);
        rx.on_packet(&pkt(&payload('1', false, 400), 7, 0));
        rx.on_packet(&pkt(&payload('9', true, 800), 7, 3000));
        assert_eq!(rx.flush().map(|e| e.digit), Some('9'));
        assert_eq!(rx.flush(), None);
    }

    #[test]
    fn stragglers_and_other_sources() {
        let mut rx = DtmfReceiver::new(8000);
        assert_eq!(press(&mut rx, 'A', 7, 100).len(), 1);
        assert_eq!(press(&mut rx, 'B', 7, 900).len(), 1);
        // Late end packet of 'A' must not be reported again.
        assert_eq!(rx.on_packet(&pkt(&payload('A', true, 800), 7, 100)), None);
        // Another SSRC (e.g. after a re-INVITE) starts fresh, even at an "older" timestamp.
        assert_eq!(press(&mut rx, 'C', 8, u32::MAX - 10).len(), 1);
        // Timestamp wrap: the next event is just past 2^32.
        assert_eq!(press(&mut rx, 'D', 8, 200).len(), 1);
        assert_eq!(
            rx.on_packet(&pkt(&payload('C', true, 800), 8, u32::MAX - 10)),
            None
        );
    }

    #[test]
    fn ignores_unknown_events_and_short_payloads() {
        let mut rx = DtmfReceiver::new(8000);
        assert_eq!(rx.on_packet(&pkt(&[16, 0x80, 0, 160], 7, 0)), None);
        let short = RtpPacket {
            payload: &[1, 0x80],
            ..pkt(&[0; 4], 7, 0)
        };
        assert_eq!(rx.on_packet(&short), None);
        assert_eq!(rx.flush(), None);
    }

    #[test]
    fn duration_uses_clock_rate() {
        let mut rx = DtmfReceiver::new(16000);
        let e = rx.on_packet(&pkt(&payload('0', true, 1600), 1, 0)).unwrap();
        assert_eq!(e.duration_ms, 100);
    }
}
