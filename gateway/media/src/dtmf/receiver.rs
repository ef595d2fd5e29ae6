//! Reassembling received telephone-event packets into key presses.

use super::{DtmfEvent, event_to_digit};
use crate::rtp::RtpPacket;

/// How long an unfinished event may go without a packet before it is taken
/// as ended (its end packets lost) and reported by [`DtmfReceiver::poll`].
///
/// RFC 4733 senders update a running event once per packet interval: 20 to
/// 50 ms in practice, and at most 120 ms for the packets chorus accepts.
/// 250 ms without a packet of the event is two of the longest intervals and
/// five 50 ms ones, so a key still held is not cut short by a little loss,
/// while the digit still reaches the application long before a person can
/// press the next key (about 100 ms of tone and 100 ms of pause at the
/// quickest).
pub const EVENT_SILENCE_MS: u64 = 250;

#[derive(Debug, Clone, Copy)]
struct Current {
    ssrc: u32,
    timestamp: u32,
    digit: char,
    duration: u16,
    reported: bool,
    /// Arrival of the newest packet of this event.
    last_ms: u64,
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

    /// Feeds one telephone-event packet that arrived at `now_ms`; returns
    /// an event when one completes.
    pub fn on_packet(&mut self, now_ms: u64, packet: &RtpPacket<'_>) -> Option<DtmfEvent> {
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
                cur.last_ms = cur.last_ms.max(now_ms);
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
            last_ms: now_ms,
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

    /// True if an event is under way and not yet reported: [`Self::poll`]
    /// may report it as time goes by.
    pub fn is_pending(&self) -> bool {
        self.current.is_some_and(|c| !c.reported)
    }

    /// Reports the current event if it is unreported and no packet of it
    /// has arrived for [`EVENT_SILENCE_MS`]: its end packets were lost (or
    /// the last call to [`Self::on_packet`] had to report an earlier event
    /// first). Call it once per tick, after the tick's packets.
    pub fn poll(&mut self, now_ms: u64) -> Option<DtmfEvent> {
        let cur = self.current.as_ref()?;
        if cur.reported || now_ms.saturating_sub(cur.last_ms) < EVENT_SILENCE_MS {
            return None;
        }
        self.flush()
    }

    /// Reports the current event if it has not been reported yet, however
    /// recent its last packet (for the end of a call). Returns each event at
    /// most once, whether through here, [`Self::poll`] or
    /// [`Self::on_packet`].
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
            out.extend(rx.on_packet(0, &pkt(&payload(digit, false, d), ssrc, ts)));
        }
        for _ in 0..3 {
            out.extend(rx.on_packet(0, &pkt(&payload(digit, true, 800), ssrc, ts)));
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
        assert_eq!(
            rx.on_packet(0, &pkt(&payload('5', true, 800), 7, 1000)),
            None
        );
        assert_eq!(rx.flush(), None);
        // The same digit pressed again is a new event (new timestamp).
        assert_eq!(press(&mut rx, '5', 7, 5000).len(), 1);
    }

    #[test]
    fn lost_end_is_reported_when_next_event_starts() {
        let mut rx = DtmfReceiver::new(8000);
        assert_eq!(rx.on_packet(0, &pkt(&payload('1', false, 400), 7, 0)), None);
        let e = rx
            .on_packet(0, &pkt(&payload('2', false, 160), 7, 3000))
            .unwrap();
        assert_eq!((e.digit, e.duration_ms, e.timestamp), ('1', 50, 0));
        let e = rx
            .on_packet(0, &pkt(&payload('2', true, 800), 7, 3000))
            .unwrap();
        assert_eq!(e.digit, '2');
    }

    #[test]
    fn lost_end_then_single_end_packet_reported_by_redundancy_or_flush() {
        let mut rx = DtmfReceiver::new(8000);
        rx.on_packet(0, &pkt(&payload('1', false, 400), 7, 0));
        // Only end packets of the next event survive.
        let e = rx
            .on_packet(0, &pkt(&payload('9', true, 800), 7, 3000))
            .unwrap();
        assert_eq!(e.digit, '1');
        let e = rx
            .on_packet(0, &pkt(&payload('9', true, 800), 7, 3000))
            .unwrap();
        assert_eq!(e.digit, '9');
        assert_eq!(rx.flush(), None);

        let mut rx = DtmfReceiver::new(8000);
        rx.on_packet(0, &pkt(&payload('1', false, 400), 7, 0));
        rx.on_packet(0, &pkt(&payload('9', true, 800), 7, 3000));
        assert_eq!(rx.flush().map(|e| e.digit), Some('9'));
        assert_eq!(rx.flush(), None);
    }

    #[test]
    fn stragglers_and_other_sources() {
        let mut rx = DtmfReceiver::new(8000);
        assert_eq!(press(&mut rx, 'A', 7, 100).len(), 1);
        assert_eq!(press(&mut rx, 'B', 7, 900).len(), 1);
        // Late end packet of 'A' must not be reported again.
        assert_eq!(
            rx.on_packet(0, &pkt(&payload('A', true, 800), 7, 100)),
            None
        );
        // Another SSRC (e.g. after a re-INVITE) starts fresh, even at an "older" timestamp.
        assert_eq!(press(&mut rx, 'C', 8, u32::MAX - 10).len(), 1);
        // Timestamp wrap: the next event is just past 2^32.
        assert_eq!(press(&mut rx, 'D', 8, 200).len(), 1);
        assert_eq!(
            rx.on_packet(0, &pkt(&payload('C', true, 800), 8, u32::MAX - 10)),
            None
        );
    }

    #[test]
    fn ignores_unknown_events_and_short_payloads() {
        let mut rx = DtmfReceiver::new(8000);
        assert_eq!(rx.on_packet(0, &pkt(&[16, 0x80, 0, 160], 7, 0)), None);
        let short = RtpPacket {
            payload: &[1, 0x80],
            ..pkt(&[0; 4], 7, 0)
        };
        assert_eq!(rx.on_packet(0, &short), None);
        assert_eq!(rx.flush(), None);
    }

    #[test]
    fn duration_uses_clock_rate() {
        let mut rx = DtmfReceiver::new(16000);
        let e = rx
            .on_packet(0, &pkt(&payload('0', true, 1600), 1, 0))
            .unwrap();
        assert_eq!(e.duration_ms, 100);
    }

    #[test]
    fn lost_end_is_reported_once_the_event_falls_silent() {
        let mut rx = DtmfReceiver::new(8000);
        for (at, duration) in [(0, 160), (50, 560), (100, 960)] {
            assert_eq!(
                rx.on_packet(at, &pkt(&payload('3', false, duration), 7, 40)),
                None
            );
        }
        assert_eq!(
            rx.poll(100 + EVENT_SILENCE_MS - 1),
            None,
            "still within the bound"
        );
        let e = rx.poll(100 + EVENT_SILENCE_MS).unwrap();
        assert_eq!((e.digit, e.duration_ms, e.timestamp), ('3', 120, 40));
        assert_eq!(rx.poll(1000), None, "reported once");
        // Its end packets, late: still the same press.
        for _ in 0..3 {
            assert_eq!(
                rx.on_packet(1100, &pkt(&payload('3', true, 1200), 7, 40)),
                None
            );
        }
        assert_eq!(rx.poll(5000), None);
        assert_eq!(rx.flush(), None);
        // The next press is new.
        assert_eq!(press(&mut rx, '3', 7, 9000).len(), 1);
    }

    #[test]
    fn a_long_press_that_keeps_updating_is_not_cut_short() {
        let mut rx = DtmfReceiver::new(8000);
        let mut got = Vec::new();
        // Updates every 100 ms for 3 s (long packets, a little loss), polled
        // every 20 ms.
        for now in (0..3000u64).step_by(20) {
            if now % 100 == 0 {
                let duration = (now as u16 + 100) * 8;
                got.extend(rx.on_packet(now, &pkt(&payload('#', false, duration), 7, 0)));
            }
            got.extend(rx.poll(now));
        }
        assert!(got.is_empty(), "{got:?}");
        got.extend(rx.on_packet(3000, &pkt(&payload('#', true, 24000), 7, 0)));
        got.extend(rx.poll(4000));
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].digit, got[0].duration_ms), ('#', 3000));
    }

    #[test]
    fn poll_reports_the_event_a_new_one_held_back() {
        let mut rx = DtmfReceiver::new(8000);
        rx.on_packet(0, &pkt(&payload('1', false, 400), 7, 0));
        // The next event's only surviving packet is an end: '1' first…
        let e = rx.on_packet(200, &pkt(&payload('9', true, 800), 7, 3000));
        assert_eq!(e.map(|e| e.digit), Some('1'));
        // …then '9' once it has been quiet long enough.
        assert_eq!(rx.poll(200 + EVENT_SILENCE_MS - 1), None);
        assert_eq!(rx.poll(200 + EVENT_SILENCE_MS).map(|e| e.digit), Some('9'));
        assert_eq!(rx.poll(2000), None);
    }

    #[test]
    fn nothing_to_poll_before_any_event_or_after_a_complete_one() {
        let mut rx = DtmfReceiver::new(8000);
        assert_eq!(rx.poll(10_000), None);
        assert_eq!(press(&mut rx, '0', 7, 0).len(), 1);
        assert_eq!(rx.poll(10_000), None);
    }
}
