//! Adaptive jitter buffer for audio packets of one duration, whatever it is
//! (G.711 at 10 to 120 ms per packet).
//!
//! Drive it with the tick loop: [`JitterBuffer::push`] every packet as it
//! arrives with its arrival time, and [`JitterBuffer::pop`] whenever the
//! next packet's audio is needed: once per 20 ms tick for 20 ms packets;
//! for other durations, whenever less than a tick's frame of decoded audio
//! is left over (see [`crate::ptime::SampleFifo`]), so that pops follow the
//! packet rate on average.
//!
//! Design decisions:
//! * **Slots are indexed by sequence number**, one packet per slot, and
//!   `pop` plays one packet. A gap in sequence numbers is a lost packet
//!   (`Lost`: the caller conceals one packet's worth,
//!   [`JitterBuffer::packet_samples`]); a gap in timestamps with contiguous
//!   sequence numbers (silence suppression) is not, so it never produces a
//!   run of `Lost`.
//! * **The packet duration is learned** from the timestamp steps between
//!   packets adjacent in sequence (the SDP's ptime says what the peer wants
//!   to receive, not what it sends). Depths are counted in packets of that
//!   duration; the configured delays, in frames of `frame_samples`, are
//!   times, converted to whole packets.
//! * Payload bytes are copied into slots preallocated in [`JitterBuffer::new`];
//!   push and pop never allocate.
//! * **Resynchronisation** ([`PushOutcome::Reset`]): an SSRC change, a sequence
//!   jump of more than [`SEQUENCE_RESET`] packets, or a timestamp that disagrees
//!   with its sequence number by more than 2 seconds discards the buffer and
//!   restarts on the new packet.
//! * **Adaptive delay**: the target depth is `min_delay_frames` plus the
//!   peak arrival lateness (arrival time minus the earliest-ever transit, a
//!   peak-hold over two 5 s windows) rounded up to packets, capped at
//!   `max_delay_frames`. It grows on the first late packet and relaxes only
//!   after 5-10 s of calm. The buffer deepens by holding playout (returning
//!   `Lost` without advancing) when the next packet is missing and fewer
//!   than target packets are buffered, and shrinks by dropping one packet
//!   after the depth has stayed above target + 1 for [`SHRINK_AFTER_TICKS`]
//!   frames' worth of pops. Lateness is only as good as the arrival times
//!   pushed: take them from the socket (kernel receive timestamps, see
//!   [`arrival_ms`]), not from the tick that read the packet.
//! * **Idle**: after more than [`IDLE_AFTER_EMPTY_TICKS`] frames' worth of
//!   pops with nothing buffered the sender is assumed to have stopped and
//!   `pop` returns [`Playout::Idle`] until packets arrive again, which
//!   restarts buffering.

mod arrival;
mod estimator;
#[cfg(test)]
mod packet_tests;
mod packet_time;
#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod tests;
mod types;

use crate::rtp::RtpPacket;
pub use arrival::{MAX_ARRIVAL_AGE_MS, arrival_ms};
use estimator::DelayEstimator;
use packet_time::PacketTime;
pub use types::{JitterConfig, JitterStats, Playout, PushOutcome};

/// Sequence-number jump (either way) that is treated as a new stream.
pub const SEQUENCE_RESET: i32 = 3000;
/// Empty pops, in frames of `frame_samples` (20 ms ticks for a 20 ms
/// stream), after which the stream is considered stopped.
pub const IDLE_AFTER_EMPTY_TICKS: u32 = 10;
/// Pops, in frames of `frame_samples`, the depth must stay above target + 1
/// before one packet is dropped.
pub const SHRINK_AFTER_TICKS: u32 = 50;
/// Largest supported `capacity_frames` (keeps sequence arithmetic unambiguous).
const MAX_CAPACITY: u16 = 1024;
/// Width of the duplicate-detection window in sequence numbers.
const SEEN_WINDOW: i32 = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No stream (never started, or the sender stopped).
    Idle,
    /// Collecting the initial depth; `since_ms` is the first arrival.
    Buffering {
        since_ms: u64,
    },
    Playing,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    occupied: bool,
    sequence: u16,
    payload_type: u8,
    len: usize,
    /// Where its payload starts in the store, counted from the store's
    /// first byte ever written (the store index is this modulo its size).
    at: u64,
}

/// The adaptive jitter buffer (see the module docs).
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    slots: Vec<Slot>,
    /// The payloads, one after another in arrival order, wrapping round
    /// (see [`JitterBuffer::store`]).
    data: Vec<u8>,
    /// Where the next payload goes, counted like [`Slot::at`].
    write_at: u64,
    /// At or before the oldest payload still buffered (it only moves on as
    /// packets leave): while a payload fits in front of it, finding the
    /// true oldest, a scan of every slot, can wait.
    oldest_hint: u64,
    state: State,
    /// SSRC of the current stream; `None` before the first packet.
    ssrc: Option<u32>,
    /// Sequence number of the next frame to play.
    cursor: u16,
    stored: u16,
    highest_sequence: u16,
    highest_timestamp: u32,
    /// Bit n set = `highest_sequence - n` has been received.
    seen: u128,
    empty_run: u32,
    hold_run: u32,
    /// A `Lost` has already been played in place of the frame at the cursor.
    cursor_concealed: bool,
    above_target_run: u32,
    packet_time: PacketTime,
    estimator: DelayEstimator,
    stats: JitterStats,
}

fn seq_diff(a: u16, b: u16) -> i32 {
    i32::from(a.wrapping_sub(b) as i16)
}

impl JitterBuffer {
    /// Allocates all slots up front.
    pub fn new(config: JitterConfig) -> Self {
        let mut c = config;
        c.clock_rate = c.clock_rate.max(1);
        c.frame_samples = c.frame_samples.max(1);
        c.capacity_frames = c.capacity_frames.clamp(2, MAX_CAPACITY);
        c.max_delay_frames = c.max_delay_frames.clamp(1, c.capacity_frames);
        c.min_delay_frames = c.min_delay_frames.clamp(1, c.max_delay_frames);
        c.max_payload = c.max_payload.max(1);
        c.store_bytes = c.store_bytes.max(c.max_payload);
        let frame_ms = (u64::from(c.frame_samples) * 1000 / u64::from(c.clock_rate)).max(1);
        // Until the stream shows its packet time, a packet is a frame.
        JitterBuffer {
            slots: vec![Slot::default(); usize::from(c.capacity_frames)],
            data: vec![0; c.store_bytes],
            write_at: 0,
            oldest_hint: 0,
            state: State::Idle,
            ssrc: None,
            cursor: 0,
            stored: 0,
            highest_sequence: 0,
            highest_timestamp: 0,
            seen: 0,
            empty_run: 0,
            hold_run: 0,
            cursor_concealed: false,
            above_target_run: 0,
            packet_time: PacketTime::new(c.frame_samples, c.clock_rate),
            estimator: DelayEstimator::new(
                c.clock_rate,
                frame_ms,
                c.min_delay_frames,
                c.max_delay_frames,
            ),
            stats: JitterStats::default(),
            config: c,
        }
    }

    /// The effective (clamped) configuration.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// Samples per packet of the stream (learned; `frame_samples` until
    /// known): how much to conceal for a `Lost`.
    pub fn packet_samples(&self) -> u32 {
        self.packet_time.samples()
    }

    /// Counters and the current target delay.
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            target_delay_frames: self.estimator.target_packets(),
            buffered_frames: self.stored,
            jitter: self.estimator.rfc3550_jitter(),
            ..self.stats
        }
    }

    /// Accepts one packet of the audio payload type (route telephone-event
    /// and comfort noise elsewhere).
    pub fn push(&mut self, now_ms: u64, packet: &RtpPacket<'_>) -> PushOutcome {
        self.stats.received += 1;
        if packet.payload.len() > self.config.max_payload {
            self.stats.too_large += 1;
            return PushOutcome::TooLarge;
        }
        let Some(ssrc) = self.ssrc else {
            self.restart(now_ms, packet);
            return PushOutcome::Stored;
        };
        let d = seq_diff(packet.sequence, self.highest_sequence);
        if ssrc != packet.ssrc || d.abs() > SEQUENCE_RESET || self.timestamp_jumped(packet, d) {
            self.stats.resets += 1;
            self.restart(now_ms, packet);
            return PushOutcome::Reset;
        }
        if d == 0 || (d < 0 && -d < SEEN_WINDOW && self.seen & (1u128 << -d) != 0) {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        if d == 1 {
            let step = packet.timestamp.wrapping_sub(self.highest_timestamp);
            if self.packet_time.observe(step) {
                self.apply_packet_time();
            }
        }
        if d > 0 {
            self.seen = if d >= SEEN_WINDOW {
                1
            } else {
                (self.seen << d) | 1
            };
            self.highest_sequence = packet.sequence;
            self.highest_timestamp = packet.timestamp;
        } else {
            self.stats.reordered += 1;
            if -d < SEEN_WINDOW {
                self.seen |= 1u128 << -d;
            }
        }
        self.estimator.on_arrival(now_ms, packet.timestamp);

        let offset = seq_diff(packet.sequence, self.cursor);
        match self.state {
            State::Idle => {
                // The sender resumed after going quiet: start a new talkspurt.
                self.cursor = packet.sequence;
                self.state = State::Buffering { since_ms: now_ms };
            }
            State::Buffering { .. } if offset < 0 => {
                // Reordered before playout started: move the start back if
                // the whole span still fits.
                let span = seq_diff(self.highest_sequence, packet.sequence) + 1;
                if span > i32::from(self.config.capacity_frames) {
                    self.stats.late += 1;
                    return PushOutcome::Late;
                }
                self.cursor = packet.sequence;
            }
            State::Playing if offset < 0 => {
                self.stats.late += 1;
                return PushOutcome::Late;
            }
            _ => {}
        }
        let capacity = i32::from(self.config.capacity_frames);
        let offset = seq_diff(packet.sequence, self.cursor);
        if offset >= capacity {
            // Too far ahead to fit: skip playout forward to make room.
            for _ in 0..=(offset - capacity) {
                self.discard_at_cursor();
            }
        }
        self.store(packet)
    }

    /// True while no stream is buffered or playing: popping now returns
    /// [`Playout::Idle`] whatever the time, and only a push changes that.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// Called once per frame tick; returns what to play.
    pub fn pop(&mut self, now_ms: u64) -> Playout<'_> {
        match self.state {
            State::Idle => return Playout::Idle,
            State::Buffering { since_ms } => {
                let target = u32::from(self.estimator.target_packets());
                let waited = now_ms.saturating_sub(since_ms);
                if self.span() < target && waited < u64::from(target) * self.estimator.packet_ms() {
                    return Playout::Idle;
                }
                self.state = State::Playing;
            }
            State::Playing => {}
        }

        if self.stored == 0 {
            self.empty_run += 1;
            if self.empty_run > self.pops(IDLE_AFTER_EMPTY_TICKS) {
                self.state = State::Idle;
                return Playout::Idle;
            }
            // Hold the cursor: the next packet may just be late.
            self.cursor_concealed = true;
            self.stats.underruns += 1;
            return Playout::Lost;
        }
        self.empty_run = 0;

        let target = u32::from(self.estimator.target_packets());
        // Hard cap after a burst, then slow shrink when calm.
        while self.span() > u32::from(self.estimator.max_packets()).max(target) {
            self.discard_at_cursor();
        }
        if self.span() > target + 1 {
            self.above_target_run += 1;
            if self.above_target_run >= self.pops(SHRINK_AFTER_TICKS) {
                self.above_target_run = 0;
                self.discard_at_cursor();
            }
        } else {
            self.above_target_run = 0;
        }

        loop {
            let index = self.slot_index(self.cursor);
            if self.slots[index].occupied && self.slots[index].sequence == self.cursor {
                self.hold_run = 0;
                self.cursor_concealed = false;
                self.slots[index].occupied = false;
                let slot = self.slots[index];
                self.stored -= 1;
                self.cursor = self.cursor.wrapping_add(1);
                let start = self.store_index(slot.at);
                return Playout::Frame {
                    payload: &self.data[start..start + slot.len],
                    payload_type: slot.payload_type,
                };
            }
            // The next frame is missing but later ones are here. Wait for it
            // while that deepens the buffer towards target; else give it up.
            if self.span() < target && self.hold_run < target {
                self.hold_run += 1;
                self.cursor_concealed = true;
                self.stats.underruns += 1;
                return Playout::Lost;
            }
            let already_concealed = self.cursor_concealed;
            self.discard_at_cursor();
            // If a Lost was already played while waiting for this frame, that
            // concealment stood in for it: go straight on to the next one.
            if !already_concealed || self.stored == 0 {
                return Playout::Lost;
            }
        }
    }

    /// Pops standing for `frames` frames of `frame_samples`: more for short
    /// packets, fewer for long ones, so time-based rules keep their time.
    fn pops(&self, frames: u32) -> u32 {
        (frames * self.config.frame_samples).div_ceil(self.packet_time.samples().max(1))
    }

    /// Converts the configured delays (times, in frames) to whole packets
    /// of the duration just learned.
    fn apply_packet_time(&mut self) {
        let c = &self.config;
        let packet = self.packet_time.samples().max(1);
        let packets = |frames: u16| (u32::from(frames) * c.frame_samples).div_ceil(packet);
        let min = packets(c.min_delay_frames).max(1);
        let max = packets(c.max_delay_frames).clamp(min, u32::from(c.capacity_frames));
        let packet_ms = (u64::from(packet) * 1000 / u64::from(c.clock_rate)).max(1);
        self.estimator.set_packet(packet_ms, min as u16, max as u16);
    }

    /// Packets from the cursor to the newest buffered packet, holes included.
    fn span(&self) -> u32 {
        if self.stored == 0 {
            return 0;
        }
        (seq_diff(self.highest_sequence, self.cursor) + 1).max(0) as u32
    }

    fn slot_index(&self, sequence: u16) -> usize {
        usize::from(sequence) % self.slots.len()
    }

    /// Advances the cursor by one, counting what was there as dropped or lost.
    fn discard_at_cursor(&mut self) {
        let index = self.slot_index(self.cursor);
        let slot = &mut self.slots[index];
        if slot.occupied && slot.sequence == self.cursor {
            slot.occupied = false;
            self.stored -= 1;
            self.stats.dropped += 1;
        } else {
            self.stats.lost += 1;
        }
        self.cursor = self.cursor.wrapping_add(1);
        self.hold_run = 0;
        self.cursor_concealed = false;
    }

    fn store_index(&self, at: u64) -> usize {
        (at % self.data.len() as u64) as usize
    }

    /// Where a payload of `len` bytes can go: after the last one written,
    /// or at the store's start if it would not fit before the end (a
    /// payload is never split); `None` if that would overwrite a payload
    /// still buffered.
    fn room_for(&mut self, len: usize) -> Option<u64> {
        let size = self.data.len() as u64;
        let mut at = self.write_at;
        if self.store_index(at) + len > self.data.len() {
            at += size - at % size;
        }
        let end = at + len as u64;
        if end.saturating_sub(self.oldest_hint) <= size {
            return Some(at);
        }
        self.oldest_hint = self
            .slots
            .iter()
            .filter(|s| s.occupied)
            .map(|s| s.at)
            .min()
            .unwrap_or(at);
        (end.saturating_sub(self.oldest_hint) <= size).then_some(at)
    }

    /// Stores a packet within capacity of the cursor. Payloads go into one
    /// store in arrival order rather than a fixed stride per slot, so that
    /// the store is sized by time ([`JitterConfig::store_bytes`]) and not
    /// by slots × the largest packet: most peers send 20 ms, and a stride
    /// of 120 ms left five sixths of the memory unused. Should the store be
    /// full (long packets far ahead), playout skips forward to make room,
    /// as it does for a packet too far ahead; a packet that would then be
    /// behind the cursor is dropped as late.
    fn store(&mut self, packet: &RtpPacket<'_>) -> PushOutcome {
        let len = packet.payload.len();
        let at = loop {
            if let Some(at) = self.room_for(len) {
                break at;
            }
            self.discard_at_cursor();
        };
        if seq_diff(packet.sequence, self.cursor) < 0 {
            self.stats.late += 1;
            return PushOutcome::Late;
        }
        self.write_at = at + len as u64;
        let start = self.store_index(at);
        self.data[start..start + len].copy_from_slice(packet.payload);
        let index = self.slot_index(packet.sequence);
        let slot = &mut self.slots[index];
        // Invariant: occupied slots hold sequences within capacity of the
        // cursor, so an occupied slot here can only be a stale leftover.
        if !slot.occupied {
            self.stored += 1;
        }
        *slot = Slot {
            occupied: true,
            sequence: packet.sequence,
            payload_type: packet.payload_type,
            len,
            at,
        };
        PushOutcome::Stored
    }

    /// Whether the timestamp disagrees with the sequence number by > 2 s.
    fn timestamp_jumped(&self, packet: &RtpPacket<'_>, seq_delta: i32) -> bool {
        let actual = i64::from(packet.timestamp.wrapping_sub(self.highest_timestamp) as i32);
        let expected = i64::from(seq_delta) * i64::from(self.packet_time.samples());
        (actual - expected).abs() > 2 * i64::from(self.config.clock_rate)
    }

    fn restart(&mut self, now_ms: u64, packet: &RtpPacket<'_>) {
        for slot in &mut self.slots {
            slot.occupied = false;
        }
        self.stored = 0;
        self.ssrc = Some(packet.ssrc);
        self.cursor = packet.sequence;
        self.highest_sequence = packet.sequence;
        self.highest_timestamp = packet.timestamp;
        self.seen = 1;
        self.empty_run = 0;
        self.hold_run = 0;
        self.cursor_concealed = false;
        self.above_target_run = 0;
        self.state = State::Buffering { since_ms: now_ms };
        self.estimator.reset();
        self.estimator.on_arrival(now_ms, packet.timestamp);
        // Always stored: the buffer is empty and the packet at the cursor.
        let _ = self.store(packet);
    }
}
