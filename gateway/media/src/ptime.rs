//! Packet time (`a=ptime`): peers put 10 to 120 ms of audio in each RTP
//! packet, while a room mixes 20 ms frames. Two small buffers bridge the
//! difference, both sized once for the largest packet and never allocating
//! afterwards:
//!
//! * [`SampleFifo`], on the way in: each packet the jitter buffer plays (or
//!   its concealment) is decoded onto the end, and each tick takes one
//!   frame off the front. A 30 ms packet thus serves one and a half ticks
//!   instead of being cut to 20 ms.
//! * [`Packetizer`], on the way out: each tick's encoded frame is appended,
//!   and whole packets of the peer's packet time are taken off the front
//!   (none, one or several per tick), so the RTP timestamp advances by
//!   exactly the audio each packet carries.
//!
//! G.711 has one byte per sample, so sizes in samples and bytes agree.

/// Shortest packet time accepted or sent. A peer asking for less gets 10 ms
/// packets: shorter ones would cost a send per 5 ms for nothing audible.
pub const MIN_PTIME_MS: u32 = 10;
/// Longest packet time accepted or sent: the largest that common phones and
/// gateways use (G.711 at 120 ms is 960 bytes, well inside one datagram).
pub const MAX_PTIME_MS: u32 = 120;
/// Packet time when the peer's SDP names none (RFC 3551 §4.5 for G.711).
pub const DEFAULT_PTIME_MS: u32 = 20;

/// Samples in `ms` of 8 kHz audio (G.711: also bytes).
pub const fn samples_8k(ms: u32) -> usize {
    ms as usize * 8
}

/// The packet time to send a peer whose SDP says `ptime` and `maxptime`:
/// its `a=ptime` (default [`DEFAULT_PTIME_MS`]), never above its
/// `a=maxptime`, within [`MIN_PTIME_MS`]..=[`MAX_PTIME_MS`].
pub fn send_ptime_ms(ptime: Option<u32>, maxptime: Option<u32>) -> u32 {
    let wanted = ptime.filter(|p| *p > 0).unwrap_or(DEFAULT_PTIME_MS);
    let cap = maxptime.filter(|m| *m > 0).unwrap_or(MAX_PTIME_MS);
    wanted.min(cap).clamp(MIN_PTIME_MS, MAX_PTIME_MS)
}

/// Silence to put ahead of the first packet of a stream (or talkspurt) so
/// that ticks of `frame` samples taking audio from packets of `packet`
/// samples never run dry while packets arrive on time.
///
/// A tick pulls the next packet as soon as less than a frame is waiting,
/// which for packets that are not whole frames is earlier than the packet
/// is due: packet k is pulled on the tick at `(pad + k·packet) / frame`
/// frames (rounded down) but arrives at `k·packet`. `k·packet` runs through
/// the multiples of `gcd(packet, frame)` modulo a frame, so the worst case
/// is one gcd past a frame boundary, and `frame − gcd` samples of lead
/// cover every k: 10 ms for 10 or 30 ms packets in 20 ms ticks, 15 ms for
/// 25 ms packets, none for 20, 40, 60 or 120 ms.
pub fn start_padding(packet: usize, frame: usize) -> usize {
    if packet == 0 || frame == 0 {
        return 0;
    }
    let (mut a, mut b) = (packet, frame);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    frame - a
}

/// Decoded samples waiting to be played, in arrival order (see the module
/// docs).
#[derive(Debug, Clone)]
pub struct SampleFifo {
    samples: Box<[i16]>,
    len: usize,
}

impl SampleFifo {
    /// A FIFO holding up to `capacity` samples: one tick's frame short of
    /// full plus the largest packet is enough when the caller refills only
    /// while less than a frame is waiting.
    pub fn new(capacity: usize) -> Self {
        Self {
            samples: vec![0; capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// Samples waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no sample is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes room for `n` samples at the end and returns it for the caller
    /// to fill (decode or conceal into). If fewer than `n` fit, the slice
    /// is shorter: the rest of the packet is dropped rather than anything
    /// already waiting.
    pub fn append(&mut self, n: usize) -> &mut [i16] {
        let start = self.len;
        self.len = (start + n).min(self.samples.len());
        &mut self.samples[start..self.len]
    }

    /// Moves up to `out.len()` samples from the front into `out`; returns
    /// how many.
    pub fn pop_into(&mut self, out: &mut [i16]) -> usize {
        let n = out.len().min(self.len);
        out[..n].copy_from_slice(&self.samples[..n]);
        // At most one packet's worth stays behind: moving it down is
        // cheaper than ring-buffer index arithmetic on every sample.
        self.samples.copy_within(n..self.len, 0);
        self.len -= n;
        n
    }

    /// Forgets everything waiting.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// Encoded audio waiting to leave in packets of one size (see the module
/// docs).
#[derive(Debug, Clone)]
pub struct Packetizer {
    bytes: Box<[u8]>,
    len: usize,
    packet: usize,
    max_packet: usize,
}

impl Packetizer {
    /// Room for the largest packet plus one more frame, which is all that
    /// can wait when packets are taken off after every [`Self::push`].
    /// Packets start at `packet` bytes.
    pub fn new(max_packet: usize, frame: usize, packet: usize) -> Self {
        let max_packet = max_packet.max(1);
        Self {
            bytes: vec![0; max_packet + frame].into_boxed_slice(),
            len: 0,
            packet: packet.clamp(1, max_packet),
            max_packet,
        }
    }

    /// Changes the packet size (a renegotiated ptime) from the next packet
    /// on; at most the largest size given to [`Self::new`].
    pub fn set_packet_len(&mut self, packet: usize) {
        self.packet = packet.clamp(1, self.max_packet);
    }

    /// Bytes in each packet.
    pub fn packet_len(&self) -> usize {
        self.packet
    }

    /// Appends one encoded frame. Bytes that do not fit are dropped (only
    /// possible if packets are not taken off after each push).
    pub fn push(&mut self, frame: &[u8]) {
        let n = frame.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&frame[..n]);
        self.len += n;
    }

    /// The oldest whole packet, if one is complete.
    pub fn front(&self) -> Option<&[u8]> {
        (self.len >= self.packet).then(|| &self.bytes[..self.packet])
    }

    /// Drops the packet [`Self::front`] returned.
    pub fn consume(&mut self) {
        let n = self.packet.min(self.len);
        self.bytes.copy_within(n..self.len, 0);
        self.len -= n;
    }

    /// Bytes waiting (less than a packet between ticks).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets what waits (a codec change: those bytes are in the old law).
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_ptime_follows_ptime_under_maxptime_within_bounds() {
        assert_eq!(send_ptime_ms(None, None), 20);
        assert_eq!(send_ptime_ms(Some(30), None), 30);
        assert_eq!(send_ptime_ms(Some(60), Some(40)), 40);
        assert_eq!(send_ptime_ms(None, Some(10)), 10);
        assert_eq!(send_ptime_ms(Some(0), Some(0)), 20, "0 means unset");
        assert_eq!(send_ptime_ms(Some(5), None), MIN_PTIME_MS);
        assert_eq!(send_ptime_ms(Some(200), None), MAX_PTIME_MS);
        assert_eq!(send_ptime_ms(Some(200), Some(150)), MAX_PTIME_MS);
    }

    /// Packets of `packet` samples numbered by their sample index; the
    /// frames taken off at one per tick must be the samples in order.
    fn frames_from_packets(packet: usize) {
        let mut fifo = SampleFifo::new(samples_8k(MAX_PTIME_MS) + 160);
        let mut next_sample = 0i16;
        let mut played = Vec::new();
        let mut frame = [0i16; 160];
        for _tick in 0..60 {
            while fifo.len() < frame.len() {
                for s in fifo.append(packet) {
                    *s = next_sample;
                    next_sample += 1;
                }
            }
            assert_eq!(fifo.pop_into(&mut frame), 160);
            played.extend_from_slice(&frame);
            assert!(fifo.len() < packet.max(160), "at most a packet waits");
        }
        let expected: Vec<i16> = (0..60 * 160).collect();
        assert_eq!(played, expected, "{packet}-sample packets");
    }

    #[test]
    fn any_packet_size_becomes_whole_frames_in_order() {
        for ms in [10, 20, 30, 40, 60, 120] {
            frames_from_packets(samples_8k(ms));
        }
    }

    #[test]
    fn start_padding_is_a_frame_less_the_gcd() {
        let pad = |ms: u32| start_padding(samples_8k(ms), 160);
        assert_eq!([pad(10), pad(20), pad(25), pad(30)], [80, 0, 120, 80]);
        assert_eq!([pad(40), pad(60), pad(120), pad(50)], [0, 0, 0, 80]);
        assert_eq!(start_padding(0, 160), 0);
    }

    /// The padding is exactly enough: packets arriving on time (packet k at
    /// k packets' time after the first, which arrives on a tick) are always
    /// there when a tick pulls them, and one sample less is not.
    #[test]
    fn start_padding_is_just_enough_for_packets_on_time() {
        let frame = 160usize;
        let runs_dry = |packet: usize, pad: usize| {
            let mut waiting = pad;
            let mut next = 0usize;
            for tick in 0..200usize {
                while waiting < frame {
                    // Packet `next` is due at next·packet samples of time.
                    if next * packet > tick * frame {
                        return true;
                    }
                    waiting += packet;
                    next += 1;
                }
                waiting -= frame;
            }
            false
        };
        for ms in [10u32, 15, 20, 25, 30, 40, 50, 60, 70, 90, 120] {
            let packet = samples_8k(ms);
            let pad = start_padding(packet, frame);
            assert!(!runs_dry(packet, pad), "{ms} ms with {pad}");
            if pad > 0 {
                assert!(
                    runs_dry(packet, pad - 1),
                    "{ms} ms: {pad} is more than needed"
                );
            }
        }
    }

    #[test]
    fn the_fifo_drops_what_does_not_fit_and_pops_what_it_has() {
        let mut fifo = SampleFifo::new(100);
        assert_eq!(fifo.append(60).len(), 60);
        assert_eq!(fifo.append(60).len(), 40, "only 40 fit");
        let mut out = [7i16; 160];
        assert_eq!(fifo.pop_into(&mut out), 100);
        assert!(fifo.is_empty());
        assert_eq!(fifo.pop_into(&mut out), 0);
        fifo.append(3).fill(1);
        fifo.clear();
        assert!(fifo.is_empty());
    }

    /// Frames of 160 bytes numbered by byte; the packets taken off after
    /// each push must be whole, of the packet size, and in order.
    fn packets_from_frames(packet: usize) {
        let mut packetizer = Packetizer::new(samples_8k(MAX_PTIME_MS), 160, packet);
        let mut sent = Vec::new();
        let mut packets = 0;
        for tick in 0..60u32 {
            let frame: Vec<u8> = (0..160).map(|i| ((tick * 160 + i) % 251) as u8).collect();
            packetizer.push(&frame);
            while let Some(p) = packetizer.front() {
                assert_eq!(p.len(), packet);
                sent.extend_from_slice(p);
                packetizer.consume();
                packets += 1;
            }
            assert!(packetizer.len() < packet);
        }
        assert_eq!(packets, 60 * 160 / packet);
        let expected: Vec<u8> = (0..sent.len() as u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(sent, expected, "{packet}-byte packets");
    }

    #[test]
    fn frames_become_whole_packets_of_any_size_in_order() {
        for ms in [10, 20, 30, 40, 60, 120] {
            packets_from_frames(samples_8k(ms));
        }
    }

    #[test]
    fn packet_size_changes_apply_to_the_next_packet_and_stay_bounded() {
        let mut packetizer = Packetizer::new(960, 160, 240);
        packetizer.push(&[1; 160]);
        assert_eq!(packetizer.front(), None, "not a whole packet yet");
        packetizer.set_packet_len(80);
        assert_eq!(packetizer.front().map(<[u8]>::len), Some(80));
        packetizer.consume();
        packetizer.consume();
        assert!(packetizer.is_empty());
        packetizer.set_packet_len(5000);
        assert_eq!(packetizer.packet_len(), 960);
        for _ in 0..10 {
            packetizer.push(&[2; 160]);
        }
        assert_eq!(packetizer.len(), 1120, "full: the rest was dropped");
        packetizer.clear();
        assert!(packetizer.front().is_none());
    }
}
