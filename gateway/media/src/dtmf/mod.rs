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
//! * If every end packet of an event is lost, the event is reported with
//!   the longest duration seen by whichever comes first: the next event (a
//!   new timestamp or SSRC) arriving, or [`DtmfReceiver::poll`] once no
//!   packet of the event has come for [`EVENT_SILENCE_MS`]. Time is a
//!   parameter: `on_packet` takes each packet's arrival time, `poll` the
//!   tick's time. At most one event is returned per call: if a new event's
//!   first packet already carries the end bit while an earlier event is
//!   being reported, the new one is reported by its next redundant end
//!   packet, or by `poll`.
//! * An event is never reported twice, however its packets arrive: end
//!   packets or updates that come after it was reported are ignored.
//! * [`DtmfReceiver::flush`] reports a pending event at once (end never
//!   seen) — call it when the call ends.
//!
//! The caller routes packets here by payload type (the negotiated
//! telephone-event PT); the receiver does not check the payload type.

mod receiver;
mod sender;

pub use receiver::{DtmfReceiver, EVENT_SILENCE_MS};
pub use sender::{DtmfSender, EventPacket};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;

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
                        .on_packet(u64::from(f) * 20, &packet)
                        .map(|e| (e.digit, e.duration_ms)),
                );
            }
        }
        assert_eq!(got, [('7', 100)]);
    }
}
