//! RFC 4733 telephone-event (DTMF) reception, encoding and sending.
//!
//! A sender transmits one event as a series of packets that share one RTP
//! timestamp (the event start) with a growing duration, then three redundant
//! packets with the end bit set. [`DtmfReceiver`] turns that series into one
//! [`DtmfEvent`]:
//!
//! * An event is reported exactly once, on the first packet with the end bit.
//!   Further end packets and retransmissions carry the same
//!   `(ssrc, timestamp)` and are ignored; packets for an event *older* than the
//!   current one (serial-number comparison on the timestamp) are ignored too.
//! * If every end packet of an event is lost, the event is reported when the
//!   next event (a new timestamp or SSRC) arrives, with the longest duration
//!   seen. The new event's packet is processed normally afterwards, but at
//!   most one event is returned per call: if that new packet already carries
//!   the end bit, its event is reported by the next redundant end packet, or
//!   by [`DtmfReceiver::flush`].
//! * [`DtmfReceiver::flush`] reports a pending event (end never seen) — call it
//!   when the call ends or after a quiet period.
//!
//! The caller routes packets here by payload type (the negotiated
//! telephone-event PT); the receiver does not check the payload type.

use crate::rtp::RtpPacket;

/// One completed key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// One of `0`-`9`, `*`, `#`, `A`-`D`.
    pub digit: char,
    /// How long the key was held, from the event's duration field.
    pub duration_ms: u32,
    /// Source that sent the event.
    pub ssrc: u32,
    /// RTP timestamp of the event start (identifies the event).
    pub timestamp: u32,
}

/// Maps an RFC 4733 event code (0-15) to its digit.
pub fn event_to_digit(event: u8) -> Option<char> {
    const DIGITS: [char; 16] = [
        '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D',
    ];
    DIGITS.get(usize::from(event)).copied()
}

/// Maps a digit (`0`-`9`, `*`, `#`, `A`-`D`, letters case-insensitive) to its
/// RFC 4733 event code.
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// Writes the 4-byte telephone-event payload. Returns false (leaving `out`
/// untouched) if `digit` is not a DTMF digit. `volume` is the power level in
/// -dBm0 and is clamped to 63; `duration` is in timestamp units.
pub fn encode_event(digit: char, end: bool, volume: u8, duration: u16, out: &mut [u8; 4]) -> bool {
    let Some(event) = digit_to_event(digit) else {
        return false;
    };
    out[0] = event;
    out[1] = (u8::from(end) << 7) | volume.min(63);
    out[2..4].copy_from_slice(&duration.to_be_bytes());
    true
}

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

/// Packets per event: the tone, in 20 ms frames (100 ms).
const TONE_FRAMES: u16 = 5;
/// Redundant end packets (RFC 4733 §2.5.1.4 suggests three).
const END_PACKETS: u16 = 3;
/// Audio frames between two queued digits, so receivers see two events.
const GAP_FRAMES: u16 = 2;
/// Digits that may wait; more are dropped (and reported by `push`).
const QUEUE: usize = 16;

/// One telephone-event packet to send in place of a 20 ms audio frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// The 4-byte payload.
    pub payload: [u8; 4],
    /// RTP timestamp: the event's start, shared by all its packets.
    pub timestamp: u32,
    /// Marker bit: set on the event's first packet.
    pub marker: bool,
}

#[derive(Debug, Clone, Copy)]
struct Sending {
    digit: char,
    start: u32,
    /// Packets sent so far for this event.
    sent: u16,
}

/// Sends queued digits as RFC 4733 events, one packet per 20 ms frame in
/// place of audio: five packets of tone (100 ms, growing duration), then
/// three end packets, then two audio frames before the next digit. Fixed
/// capacity, no allocation: made for a media worker's tick.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    queue: [char; QUEUE],
    head: usize,
    len: usize,
    current: Option<Sending>,
    gap: u16,
}

impl Default for DtmfSender {
    fn default() -> Self {
        Self {
            queue: ['0'; QUEUE],
            head: 0,
            len: 0,
            current: None,
            gap: 0,
        }
    }
}

impl DtmfSender {
    /// Queues a digit; false if it is not a DTMF digit or the queue is full.
    pub fn push(&mut self, digit: char) -> bool {
        if digit_to_event(digit).is_none() || self.len == QUEUE {
            return false;
        }
        self.queue[(self.head + self.len) % QUEUE] = digit;
        self.len += 1;
        true
    }

    /// Whether nothing is queued or being sent.
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.len == 0
    }

    /// The packet to send for the next frame instead of audio, if any.
    /// `timestamp` is the audio timestamp this frame would carry and
    /// `frame_samples` the frame's length in timestamp units.
    pub fn next_frame(&mut self, timestamp: u32, frame_samples: u16) -> Option<EventPacket> {
        if self.current.is_none() {
            if self.gap > 0 {
                self.gap -= 1;
                return None;
            }
            if self.len == 0 {
                return None;
            }
            let digit = self.queue[self.head];
            self.head = (self.head + 1) % QUEUE;
            self.len -= 1;
            self.current = Some(Sending {
                digit,
                start: timestamp,
                sent: 0,
            });
        }
        let current = self.current.as_mut()?;
        let end = current.sent >= TONE_FRAMES;
        let duration = frame_samples.saturating_mul((current.sent + 1).min(TONE_FRAMES));
        let mut payload = [0u8; 4];
        encode_event(current.digit, end, 10, duration, &mut payload);
        let packet = EventPacket {
            payload,
            timestamp: current.start,
            marker: current.sent == 0,
        };
        current.sent += 1;
        if current.sent >= TONE_FRAMES + END_PACKETS {
            self.current = None;
            self.gap = GAP_FRAMES;
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn sender_sends_tone_then_three_ends_then_a_gap() {
        let mut sender = DtmfSender::default();
        assert!(sender.is_idle());
        assert!(!sender.push('x'), "not a digit");
        assert!(sender.push('5') && sender.push('#'));
        let mut frames = Vec::new();
        for f in 0..22u32 {
            frames.push(sender.next_frame(1000 + f * 160, 160));
        }
        let first: Vec<_> = frames[..8].iter().map(|p| p.unwrap()).collect();
        assert!(
            first
                .iter()
                .all(|p| p.timestamp == 1000 && p.payload[0] == 5)
        );
        assert!(first[0].marker && !first[1].marker);
        let durations: Vec<u16> = first
            .iter()
            .map(|p| u16::from_be_bytes([p.payload[2], p.payload[3]]))
            .collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800, 800]);
        let ends: Vec<bool> = first.iter().map(|p| p.payload[1] & 0x80 != 0).collect();
        assert_eq!(ends, [false, false, false, false, false, true, true, true]);
        assert_eq!(frames[8], None, "a gap of audio");
        assert_eq!(frames[9], None);
        let second = frames[10].unwrap();
        assert_eq!(
            (second.payload[0], second.timestamp, second.marker),
            (11, 1000 + 10 * 160, true)
        );
        assert!(frames[18..].iter().all(Option::is_none));
        assert!(sender.is_idle());
    }

    #[test]
    fn sender_queue_is_bounded() {
        let mut sender = DtmfSender::default();
        assert!((0..16).all(|_| sender.push('1')));
        assert!(!sender.push('1'), "full");
    }

    #[test]
    fn what_the_sender_sends_the_receiver_reports_once() {
        let mut sender = DtmfSender::default();
        sender.push('7');
        let mut receiver = DtmfReceiver::new(8000);
        let mut got = Vec::new();
        for f in 0..10u16 {
            if let Some(p) = sender.next_frame(u32::from(f) * 160, 160) {
                let mut datagram = vec![0x80, 101 | if p.marker { 0x80 } else { 0 }];
                datagram.extend_from_slice(&f.to_be_bytes());
                datagram.extend_from_slice(&p.timestamp.to_be_bytes());
                datagram.extend_from_slice(&[0, 0, 0, 9]);
                datagram.extend_from_slice(&p.payload);
                let packet = RtpPacket::parse(&datagram).unwrap();
                got.extend(
                    receiver
                        .on_packet(&packet)
                        .map(|e| (e.digit, e.duration_ms)),
                );
            }
        }
        assert_eq!(got, [('7', 100)]);
    }
    use super::*;

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
    fn digit_mapping_round_trips() {
        for code in 0..16u8 {
            let d = event_to_digit(code).unwrap();
            assert_eq!(digit_to_event(d), Some(code));
        }
        assert_eq!(event_to_digit(16), None);
        assert_eq!(digit_to_event('x'), None);
        assert_eq!(digit_to_event('b'), Some(13));
    }

    #[test]
    fn encode_event_layout() {
        let mut b = [0u8; 4];
        assert!(encode_event('#', true, 200, 0x0320, &mut b));
        assert_eq!(b, [11, 0x80 | 63, 0x03, 0x20]);
        assert!(!encode_event('E', false, 10, 1, &mut b));
        assert_eq!(b, [11, 0x80 | 63, 0x03, 0x20], "untouched on error");
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
