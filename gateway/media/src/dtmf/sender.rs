//! Sending queued digits as telephone-event packets in place of audio.

use super::{digit_to_event, encode_event};

/// Length of the tone before the end packets, in timestamp units of the
/// 8 kHz telephone-event clock (100 ms), rounded up to whole packets: five
/// 20 ms packets, four of 30 ms, ten of 10 ms, one of 120 ms.
const TONE_SAMPLES: u32 = 800;
/// Redundant end packets (RFC 4733 §2.5.1.4 suggests three).
const END_PACKETS: u16 = 3;
/// Audio packets between two queued digits, so receivers see two events.
const GAP_PACKETS: u16 = 2;
/// Digits that may wait; more are dropped (and reported by `push`).
const QUEUE: usize = 16;

/// One telephone-event packet to send in place of an audio packet.
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

/// Sends queued digits as RFC 4733 events, one packet in place of each
/// audio packet (of whatever packet time the peer asked for): at least
/// 100 ms of tone in packets of growing duration, then three end packets,
/// then two audio packets before the next digit. Fixed capacity, no
/// allocation: made for a media worker's tick.
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

    /// The packet to send instead of the next audio packet, if any.
    /// `timestamp` is the audio timestamp that packet would carry and
    /// `frame_samples` its length in timestamp units.
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
        let frame = frame_samples.max(1);
        let tone_packets = TONE_SAMPLES.div_ceil(u32::from(frame)) as u16;
        let end = current.sent >= tone_packets;
        let duration = frame.saturating_mul((current.sent + 1).min(tone_packets));
        let mut payload = [0u8; 4];
        encode_event(current.digit, end, 10, duration, &mut payload);
        let packet = EventPacket {
            payload,
            timestamp: current.start,
            marker: current.sent == 0,
        };
        current.sent += 1;
        if current.sent >= tone_packets + END_PACKETS {
            self.current = None;
            self.gap = GAP_PACKETS;
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Durations and packet counts at other packet times: always at least
    /// 100 ms of tone, whole packets, three ends.
    #[test]
    fn tone_length_is_kept_at_any_packet_time() {
        for (frame, updates) in [(80u16, 10usize), (240, 4), (480, 2), (960, 1)] {
            let mut sender = DtmfSender::default();
            sender.push('1');
            let packets: Vec<EventPacket> = (0..20u32)
                .map_while(|k| sender.next_frame(5000 + k * u32::from(frame), frame))
                .collect();
            assert_eq!(packets.len(), updates + 3, "{frame}");
            let durations: Vec<u16> = packets
                .iter()
                .map(|p| u16::from_be_bytes([p.payload[2], p.payload[3]]))
                .collect();
            let expected: Vec<u16> = (1..=updates as u16)
                .map(|k| k * frame)
                .chain([updates as u16 * frame; 3])
                .collect();
            assert_eq!(durations, expected, "{frame}");
            assert!(u32::from(durations[updates]) >= TONE_SAMPLES);
            assert!(packets.iter().all(|p| p.timestamp == 5000));
            let ends = packets.iter().filter(|p| p.payload[1] & 0x80 != 0).count();
            assert_eq!(ends, 3);
        }
    }
}
