//! RTP (RFC 3550) parsing and writing.
//!
//! Parsing borrows the datagram and never allocates; it validates everything a
//! hostile peer could get wrong (lengths, CSRC count, extension length,
//! padding) and tells RTCP apart so that callers sharing one port (RFC 5761
//! rtcp-mux) can route or count it.

/// Fixed RTP header size without CSRCs.
pub const HEADER_LEN: usize = 12;

/// Why a datagram is not a usable RTP packet, or why writing one failed.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    /// The datagram ends before the header (including CSRCs and extension) does.
    #[error("datagram too short for an RTP header ({len} bytes)")]
    TooShort {
        /// Datagram length in bytes.
        len: usize,
    },
    /// The version field is not 2.
    #[error("unsupported RTP version {version}")]
    BadVersion {
        /// The version found in the first two bits.
        version: u8,
    },
    /// The padding bit is set but the padding count is 0 or larger than the payload.
    #[error("invalid RTP padding")]
    BadPadding,
    /// The header extension length runs past the end of the datagram.
    #[error("invalid RTP header extension")]
    BadExtension,
    /// The datagram is RTCP (second byte 200..=204), multiplexed on the RTP port.
    #[error("RTCP packet type {packet_type} on the RTP path")]
    Rtcp {
        /// The RTCP packet type (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP).
        packet_type: u8,
    },
    /// The output buffer cannot hold the packet.
    #[error("output buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
    },
    /// A payload type above 127 was passed to the writer.
    #[error("payload type {payload_type} does not fit in 7 bits")]
    BadPayloadType {
        /// The rejected payload type.
        payload_type: u8,
    },
}

/// A parsed RTP packet borrowing the datagram (RFC 3550): handles CSRC list,
/// header extension, padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The marker bit (start of talkspurt for audio, start of event for RFC 4733).
    pub marker: bool,
    /// 7-bit payload type.
    pub payload_type: u8,
    /// Sequence number; wraps at 65535.
    pub sequence: u16,
    /// Media timestamp in clock-rate units; wraps at 2^32.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Payload with CSRCs, extension and padding removed.
    pub payload: &'a [u8],
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl<'a> RtpPacket<'a> {
    /// Parses one datagram. Never panics on any input.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, RtpError> {
        let len = datagram.len();
        if len < 2 {
            return Err(RtpError::TooShort { len });
        }
        let version = datagram[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion { version });
        }
        // RTCP's packet type occupies the whole second byte, which in RTP
        // terms reads as marker=1 with PT 72..=76 (RFC 5761 §4). Checked
        // before the length because an empty RR is only 8 bytes.
        if (200..=204).contains(&datagram[1]) {
            return Err(RtpError::Rtcp {
                packet_type: datagram[1],
            });
        }
        if len < HEADER_LEN {
            return Err(RtpError::TooShort { len });
        }
        let has_padding = datagram[0] & 0x20 != 0;
        let has_extension = datagram[0] & 0x10 != 0;
        let csrc_count = usize::from(datagram[0] & 0x0F);

        let mut header_len = HEADER_LEN + 4 * csrc_count;
        if len < header_len {
            return Err(RtpError::TooShort { len });
        }
        if has_extension {
            if len < header_len + 4 {
                return Err(RtpError::BadExtension);
            }
            let words = usize::from(be16(datagram, header_len + 2));
            header_len += 4 + 4 * words;
            if len < header_len {
                return Err(RtpError::BadExtension);
            }
        }
        let mut end = len;
        if has_padding {
            let pad = usize::from(datagram[len - 1]);
            if pad == 0 || pad > len - header_len {
                return Err(RtpError::BadPadding);
            }
            end -= pad;
        }
        Ok(RtpPacket {
            marker: datagram[1] & 0x80 != 0,
            payload_type: datagram[1] & 0x7F,
            sequence: be16(datagram, 2),
            timestamp: be32(datagram, 4),
            ssrc: be32(datagram, 8),
            payload: &datagram[header_len..end],
        })
    }
}

/// Writes outgoing RTP with one SSRC and continuous sequence/timestamp.
#[derive(Debug, Clone)]
pub struct RtpWriter {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
}

impl RtpWriter {
    /// Starts a stream. RFC 3550 asks for random initial values; the caller
    /// supplies them because this crate does no IO (including randomness).
    pub fn new(ssrc: u32, first_sequence: u16, first_timestamp: u32) -> Self {
        RtpWriter {
            ssrc,
            sequence: first_sequence,
            timestamp: first_timestamp,
        }
    }

    /// Writes header+payload into out, returns bytes written; advances seq by
    /// 1 and timestamp by `samples`.
    pub fn write(
        &mut self,
        payload_type: u8,
        marker: bool,
        payload: &[u8],
        samples: u32,
        out: &mut [u8],
    ) -> Result<usize, RtpError> {
        let n = self.write_at(payload_type, marker, self.timestamp, payload, out)?;
        self.timestamp = self.timestamp.wrapping_add(samples);
        Ok(n)
    }

    /// Same but does NOT advance the timestamp (for RFC 4733 event packets
    /// that share one timestamp); advances seq.
    pub fn write_at(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RtpError> {
        if payload_type > 0x7F {
            return Err(RtpError::BadPayloadType { payload_type });
        }
        let needed = HEADER_LEN + payload.len();
        if out.len() < needed {
            return Err(RtpError::BufferTooSmall { needed });
        }
        out[0] = 0x80; // version 2, no padding, no extension, no CSRCs
        out[1] = (u8::from(marker) << 7) | payload_type;
        out[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        out[HEADER_LEN..needed].copy_from_slice(payload);
        self.sequence = self.sequence.wrapping_add(1);
        Ok(needed)
    }

    /// The SSRC written into every packet.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// Timestamp the next [`RtpWriter::write`] will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Advances the timestamp without sending a packet: for the time we must
    /// not send (held, inactive, no address yet) and under a telephone
    /// event, so the media clock stays continuous when audio resumes. (We
    /// send through silence otherwise, so the peer's jitter buffer never
    /// underruns.)
    pub fn skip(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(first: u8, second: u8) -> Vec<u8> {
        let mut v = vec![
            first, second, 0x12, 0x34, 0, 0, 0x03, 0x20, 0xDE, 0xAD, 0xBE, 0xEF,
        ];
        v.truncate(12);
        v
    }

    #[test]
    fn parses_minimal_packet() {
        let mut d = header(0x80, 0x80);
        d.extend_from_slice(&[1, 2, 3]);
        let p = RtpPacket::parse(&d).unwrap();
        assert!(p.marker);
        assert_eq!(p.payload_type, 0);
        assert_eq!(p.sequence, 0x1234);
        assert_eq!(p.timestamp, 800);
        assert_eq!(p.ssrc, 0xDEAD_BEEF);
        assert_eq!(p.payload, &[1, 2, 3]);
    }

    #[test]
    fn skips_csrcs_extension_and_padding() {
        let mut d = header(0x80 | 0x20 | 0x10 | 2, 8);
        d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // two CSRCs
        d.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // one-word extension
        d.extend_from_slice(&[7, 7]); // payload
        d.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let p = RtpPacket::parse(&d).unwrap();
        assert_eq!(p.payload_type, 8);
        assert!(!p.marker);
        assert_eq!(p.payload, &[7, 7]);
    }

    #[test]
    fn rejects_malformed_headers() {
        assert_eq!(RtpPacket::parse(&[]), Err(RtpError::TooShort { len: 0 }));
        assert_eq!(
            RtpPacket::parse(&[0x80; 11]),
            Err(RtpError::TooShort { len: 11 })
        );
        assert_eq!(
            RtpPacket::parse(&header(0x40, 0)),
            Err(RtpError::BadVersion { version: 1 })
        );
        // CSRC count says 3 but the datagram has none.
        assert_eq!(
            RtpPacket::parse(&header(0x83, 0)),
            Err(RtpError::TooShort { len: 12 })
        );
        let mut ext = header(0x90, 0);
        ext.extend_from_slice(&[0xBE, 0xDE, 0, 5]);
        assert_eq!(RtpPacket::parse(&ext), Err(RtpError::BadExtension));
        assert_eq!(
            RtpPacket::parse(&header(0x90, 0)),
            Err(RtpError::BadExtension)
        );
        let mut pad0 = header(0xA0, 0);
        pad0.push(0);
        assert_eq!(RtpPacket::parse(&pad0), Err(RtpError::BadPadding));
        let mut pad_big = header(0xA0, 0);
        pad_big.extend_from_slice(&[1, 5]);
        assert_eq!(RtpPacket::parse(&pad_big), Err(RtpError::BadPadding));
        // Padding may consume the whole payload.
        let mut pad_all = header(0xA0, 0);
        pad_all.extend_from_slice(&[0, 2]);
        assert_eq!(RtpPacket::parse(&pad_all).unwrap().payload, &[] as &[u8]);
    }

    #[test]
    fn recognises_rtcp() {
        for pt in 200..=204u8 {
            assert_eq!(
                RtpPacket::parse(&[0x81, pt, 0, 7, 0, 0, 0, 1]),
                Err(RtpError::Rtcp { packet_type: pt })
            );
        }
        // Marker set with PT 71/77 is still RTP.
        assert!(RtpPacket::parse(&header(0x80, 199)).is_ok());
        assert!(RtpPacket::parse(&header(0x80, 205)).is_ok());
    }

    #[test]
    fn writer_round_trips_and_advances() {
        let mut w = RtpWriter::new(0x1122_3344, 65535, u32::MAX - 100);
        let mut buf = [0u8; 200];
        let n = w.write(0, true, &[0xFF; 160], 160, &mut buf).unwrap();
        assert_eq!(n, 172);
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert_eq!(
            (p.sequence, p.timestamp, p.ssrc),
            (65535, u32::MAX - 100, 0x1122_3344)
        );
        assert!(p.marker);
        assert_eq!(p.payload.len(), 160);
        assert_eq!(w.next_sequence(), 0);
        assert_eq!(w.next_timestamp(), 59);

        let n = w
            .write_at(101, false, 1234, &[1, 2, 3, 4], &mut buf)
            .unwrap();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        assert_eq!((p.payload_type, p.sequence, p.timestamp), (101, 0, 1234));
        assert_eq!(w.next_sequence(), 1);
        assert_eq!(
            w.next_timestamp(),
            59,
            "write_at leaves the media clock alone"
        );

        w.skip(160);
        assert_eq!(w.next_timestamp(), 219);
        assert_eq!(w.ssrc(), 0x1122_3344);
    }

    #[test]
    fn writer_rejects_small_buffer_without_advancing() {
        let mut w = RtpWriter::new(1, 10, 0);
        let mut buf = [0u8; 20];
        assert_eq!(
            w.write(0, false, &[0; 160], 160, &mut buf),
            Err(RtpError::BufferTooSmall { needed: 172 })
        );
        assert_eq!(
            w.write(128, false, &[], 160, &mut buf),
            Err(RtpError::BadPayloadType { payload_type: 128 })
        );
        assert_eq!((w.next_sequence(), w.next_timestamp()), (10, 0));
    }
}
