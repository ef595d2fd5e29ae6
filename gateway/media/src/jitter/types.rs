//! The jitter buffer's configuration, results and counters.

/// Jitter buffer sizing. Values are clamped to sane ranges in `new`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate (8000 for G.711).
    pub clock_rate: u32,
    /// Samples per frame (160 = 20 ms at 8 kHz): the unit of the delays
    /// below, and the packet duration assumed until the stream shows its
    /// own.
    pub frame_samples: u32,
    /// Smallest target delay in frames (at least 1); the depth is at least
    /// as many packets as cover it, and at least one.
    pub min_delay_frames: u16,
    /// Largest target delay in frames, likewise in whole packets.
    pub max_delay_frames: u16,
    /// Number of packet slots; packets further ahead of playout force a
    /// skip.
    pub capacity_frames: u16,
    /// Largest payload accepted, in bytes.
    pub max_payload: usize,
    /// Payload bytes held at once, all packets together (at least
    /// `max_payload`): a store sized by time, not slots × the largest
    /// packet.
    pub store_bytes: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            clock_rate: 8000,
            frame_samples: 160,
            min_delay_frames: 1,
            max_delay_frames: 8,
            capacity_frames: 32,
            max_payload: 320,
            store_bytes: 32 * 320,
        }
    }
}

/// What happened to a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Buffered for playout.
    Stored,
    /// Already received (or already played); dropped.
    Duplicate,
    /// Arrived after its slot was played or declared lost; dropped.
    Late,
    /// Payload larger than `max_payload`; dropped.
    TooLarge,
    /// New stream (SSRC change or jump): the buffer restarted and stored this packet.
    Reset,
}

/// What to play this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The next frame.
    Frame {
        /// Payload bytes as received.
        payload: &'a [u8],
        /// Its RTP payload type.
        payload_type: u8,
    },
    /// A frame is missing (lost, or the buffer is deepening): caller conceals.
    Lost,
    /// Nothing buffered / not started / stream ended: caller plays silence.
    Idle,
}

/// Counters since construction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Every packet pushed.
    pub received: u64,
    /// Packets dropped as duplicates.
    pub duplicates: u64,
    /// Packets dropped because their slot had already been played.
    pub late: u64,
    /// Slots skipped because their packet never arrived in time.
    pub lost: u64,
    /// Stream restarts (SSRC change, sequence or timestamp jump).
    pub resets: u64,
    /// Packets that arrived with a lower sequence number than one seen before.
    pub reordered: u64,
    /// Buffered frames discarded to reduce delay or make room.
    pub dropped: u64,
    /// Packets rejected for exceeding `max_payload`.
    pub too_large: u64,
    /// Ticks concealed while waiting for the buffer to fill.
    pub underruns: u64,
    /// Current target depth in packets (of the stream's packet duration).
    pub target_delay_frames: u16,
    /// Packets currently buffered.
    pub buffered_frames: u16,
    /// RFC 3550 interarrival jitter estimate, in timestamp units.
    pub jitter: u32,
}
