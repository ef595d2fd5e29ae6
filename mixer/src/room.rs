//! A room's participants, its per-tick input buffers, and the commands that
//! change them between ticks. The mix itself lives in `mix.rs`, the plan it
//! keeps in `plan.rs`, and the kernels that run it (and `Room::new`, which
//! picks them) in `kernel.rs`.

use std::fmt;

use crate::hearing::{HoldMusic, Participant};
use crate::lanes::{Acc, BLOCK, Block};
use crate::plan::{Feed, Job, MixMinus, Route, Shared};

/// The mix pass compiled for one instruction set: `portable`, `sse2`,
/// `avx2` or `avx512bw`. Made (and picked) by the kernel module; a room
/// only runs it.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub(crate) name: &'static str,
    pub(crate) mix_pass: fn(&mut Room),
}

impl fmt::Debug for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Kernels").field(&self.name).finish()
    }
}

/// Largest capacity a room accepts. Every sum is i32; this many full-scale
/// voices plus bridge and private audio stay far below `i32::MAX`.
pub const MAX_CAPACITY: usize = 1 << 15;

/// A participant's slot in one [`Room`].
///
/// Slots are reused after [`Room::leave`], so an id is only meaningful while
/// its participant is in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelId(pub(crate) usize);

impl ChannelId {
    /// The slot index, below [`Room::capacity`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// Sizes fixed for a room's lifetime; every buffer is allocated up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomConfig {
    /// Samples per tick (160 for 20 ms at 8 kHz, 320 at 16 kHz).
    pub frame_samples: usize,
    /// Most participants at once (Plivo's `maxParticipants` is at most 10).
    pub capacity: usize,
}

/// [`Room::join`] on a room already holding `capacity` participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomFull;

impl fmt::Display for RoomFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("room is full")
    }
}

impl std::error::Error for RoomFull {}

/// A state change, applied between ticks (the media worker pops these from
/// its lock-free ring and calls [`Room::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomCommand {
    /// New role, mute, hold or coach state for a participant.
    Update(ChannelId, Participant),
    /// The MPC starts: participants hear each other instead of wait music.
    Start,
    /// Back to waiting: everyone hears the wait music.
    Stop,
}

/// Which of up to four input buffers were written for the coming mix, and
/// which were part of the last one. Unwritten buffers are silence: their
/// stale samples are never read, so nothing has to be zeroed each tick.
///
/// Bits of one byte (written in the low nibble, mixed in the high one) so
/// that the tick's latch is one shift; as pairs of bools it compiled to a
/// byte-by-byte read-modify-write that the mix then read back.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Freshness(u8);

impl Freshness {
    /// A participant's voice.
    pub(crate) const VOICE: usize = 0;
    /// Audio played to one participant only.
    pub(crate) const PRIVATE: usize = 1;

    /// Input `which` is written for the coming mix.
    pub(crate) fn write(&mut self, which: usize) {
        self.0 |= 1 << which;
    }

    /// Input `which` is silent in the coming mix.
    pub(crate) fn unwrite(&mut self, which: usize) {
        self.0 &= !(1 << which);
    }

    /// Called by `mix`: this tick's writes become the mixed state. Returns
    /// whether that differs from the last mix's.
    #[inline(always)]
    pub(crate) fn latch(&mut self) -> bool {
        let before = self.0 & 0xf0;
        self.0 = (self.0 & 0x0f) << 4;
        self.0 != before
    }

    /// Whether input `which` was part of the last mix.
    #[inline(always)]
    pub(crate) fn mixed(self, which: usize) -> bool {
        self.0 & (1 << (which + 4)) != 0
    }
}

/// One participant slot's state (its samples live in the room's flat arrays).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) participant: Option<Participant>,
    /// Its voice and private audio (`Freshness::VOICE`, `PRIVATE`).
    pub(crate) inputs: Freshness,
    /// Where the last mix put this slot's output.
    pub(crate) route: Route,
}

impl Slot {
    const VACANT: Slot = Slot {
        participant: None,
        inputs: Freshness(0),
        route: Route::Vacant,
    };
}

/// One multiparty call's mixer: participants, inputs, outputs.
///
/// Per-participant samples are stored as frames of aligned blocks, slot `i`
/// in frame `i`.
#[derive(Debug)]
pub struct Room {
    pub(crate) frame: usize,
    /// Blocks per frame.
    pub(crate) blocks: usize,
    pub(crate) kernels: Kernels,
    pub(crate) started: bool,
    /// `started` as it was at the last mix, so outputs read after a
    /// `set_started` still describe that mix.
    pub(crate) mixed_started: bool,
    /// Whether a coaching supervisor talked in the last mix: customers heard
    /// the customer-side mix instead of everyone's.
    pub(crate) mixed_coach_talked: bool,
    pub(crate) len: usize,
    pub(crate) slots: Box<[Slot]>,
    pub(crate) voices: Frames,
    pub(crate) privates: Frames,
    /// Outputs of listeners who need their own mix (talkers, private audio).
    pub(crate) own_outputs: Frames,
    /// Bridge, wait music, agent and customer hold music: one frame each.
    pub(crate) feeds: Frames,
    /// The feeds, by `Feed` index.
    pub(crate) feed_freshness: Freshness,
    /// Outputs shared by whole groups, one frame per [`Shared`] variant.
    pub(crate) shared_outputs: Frames,
    /// The tick's plan, rebuilt by each mix within these capacities (one
    /// entry per slot at most), so planning never allocates: slots of the
    /// talkers customers hear, of coaching supervisors who talked, and the
    /// listeners who get a mix of their own: talkers who only take their
    /// voice out of a shared mix, and the rest.
    pub(crate) open_talkers: List<usize>,
    pub(crate) coach_talkers: List<usize>,
    pub(crate) mix_minus: List<MixMinus>,
    pub(crate) jobs: List<Job>,
    /// Set by every state change (join, leave, update, start, stop): the
    /// next mix plans again. Without one, and with the same inputs and feeds
    /// written as for the last mix, the last plan (the lists above, the
    /// slots' routes, `needed`) still holds and is reused.
    pub(crate) plan_stale: bool,
    /// Which shared outputs the plan's listeners hear, a bit per `Shared`.
    pub(crate) needed: u8,
    /// One block of the everyone and of the customer-side sum, for listeners
    /// who hear them in i32.
    pub(crate) sums: Box<[Acc; 2]>,
    pub(crate) silence: Box<[i16]>,
}

impl Room {
    /// A room mixing with the given kernels (tests and benches compare sets).
    ///
    /// # Panics
    /// If `capacity` exceeds [`MAX_CAPACITY`].
    pub fn with_kernels(config: RoomConfig, kernels: Kernels) -> Self {
        let RoomConfig {
            frame_samples: frame,
            capacity,
        } = config;
        assert!(
            capacity <= MAX_CAPACITY,
            "room capacity {capacity} > {MAX_CAPACITY}"
        );
        let blocks = frame.div_ceil(BLOCK);
        let frames = |n: usize| Frames::new(n, frame);
        Self {
            frame,
            blocks,
            kernels,
            started: false,
            mixed_started: false,
            mixed_coach_talked: false,
            len: 0,
            slots: vec![Slot::VACANT; capacity].into_boxed_slice(),
            voices: frames(capacity),
            privates: frames(capacity),
            own_outputs: frames(capacity),
            feeds: frames(4),
            feed_freshness: Freshness::default(),
            shared_outputs: frames(Shared::COUNT),
            open_talkers: List::new(capacity, 0),
            coach_talkers: List::new(capacity, 0),
            mix_minus: List::new(capacity, MixMinus::NONE),
            jobs: List::new(capacity, Job::NONE),
            plan_stale: true,
            needed: 0,
            sums: Box::new([[0; BLOCK]; 2]),
            silence: vec![0; frame].into_boxed_slice(),
        }
    }

    /// Adds a participant in the lowest free slot. Never allocates.
    pub fn join(&mut self, participant: Participant) -> Result<ChannelId, RoomFull> {
        let index = self
            .slots
            .iter()
            .position(|s| s.participant.is_none())
            .ok_or(RoomFull)?;
        self.slots[index] = Slot {
            participant: Some(participant),
            ..Slot::VACANT
        };
        self.len += 1;
        self.plan_stale = true;
        Ok(ChannelId(index))
    }

    /// Removes a participant; `false` if it was not in the room. Its slot is
    /// reused by a later join. Never allocates.
    pub fn leave(&mut self, id: ChannelId) -> bool {
        match self.slots.get_mut(id.0) {
            Some(slot) if slot.participant.is_some() => {
                *slot = Slot::VACANT;
                self.len -= 1;
                self.plan_stale = true;
                true
            }
            _ => false,
        }
    }

    /// Replaces a participant's state; ignored for an id not in the room.
    pub fn update(&mut self, id: ChannelId, participant: Participant) {
        if let Some(Slot {
            participant: Some(p),
            ..
        }) = self.slots.get_mut(id.0)
        {
            *p = participant;
            self.plan_stale = true;
        }
    }

    /// Applies one state change (between ticks).
    pub fn apply(&mut self, command: RoomCommand) {
        match command {
            RoomCommand::Update(id, participant) => self.update(id, participant),
            RoomCommand::Start => self.set_started(true),
            RoomCommand::Stop => self.set_started(false),
        }
    }

    /// A participant's current state, `None` if the id is not in the room.
    pub fn participant(&self, id: ChannelId) -> Option<Participant> {
        self.slots.get(id.0).and_then(|s| s.participant)
    }

    /// Participants in the room.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nobody is in the room.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most participants at once.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Samples per tick.
    pub fn frame_samples(&self) -> usize {
        self.frame
    }

    /// The kernels this room mixes with.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// Starts the room (participants hear each other) or returns it to waiting.
    pub fn set_started(&mut self, started: bool) {
        self.started = started;
        self.plan_stale = true;
    }

    /// Whether the room has started.
    pub fn started(&self) -> bool {
        self.started
    }

    /// The participant's voice for the coming mix; marks it talking. The
    /// buffer holds stale samples: overwrite all of it.
    ///
    /// # Panics
    /// If the id is not from this room (index beyond its capacity).
    #[inline]
    pub fn input_mut(&mut self, id: ChannelId) -> &mut [i16] {
        self.slots[id.0].inputs.write(Freshness::VOICE);
        self.voices.frame_mut(id.0)
    }

    /// Nothing arrived from this participant this tick (the default for any
    /// tick in which [`Room::input_mut`] was not called).
    pub fn set_silent(&mut self, id: ChannelId) {
        if let Some(slot) = self.slots.get_mut(id.0) {
            slot.inputs.unwrite(Freshness::VOICE);
        }
    }

    /// Audio played to this member only (Plivo member Play/Speak), added to
    /// whatever it hears in the coming mix, even on hold or before the start.
    ///
    /// # Panics
    /// If the id is not from this room (index beyond its capacity).
    #[inline]
    pub fn private_mut(&mut self, id: ChannelId) -> &mut [i16] {
        self.slots[id.0].inputs.write(Freshness::PRIVATE);
        self.privates.frame_mut(id.0)
    }

    /// Bridge sounds (enter/exit beeps) for the coming mix: heard by every
    /// participant who hears the room (started, not held) and recorded.
    pub fn bridge_mut(&mut self) -> &mut [i16] {
        self.feed_mut(Feed::Bridge)
    }

    /// Wait music for the coming mix: before the start it is all that anyone
    /// hears (besides private audio), held participants included.
    pub fn wait_music_mut(&mut self) -> &mut [i16] {
        self.feed_mut(Feed::WaitMusic)
    }

    /// Hold music for the coming mix: after the start, a held participant
    /// hears only the stream of its role ([`crate::Role::hold_music`]).
    pub fn hold_music_mut(&mut self, which: HoldMusic) -> &mut [i16] {
        self.feed_mut(Feed::from(which))
    }

    fn feed_mut(&mut self, feed: Feed) -> &mut [i16] {
        self.feed_freshness.write(feed as usize);
        self.feeds.frame_mut(feed as usize)
    }
}

/// A list of at most the capacity it was made with, refilled each tick:
/// filling it is a store per item and one length at the end, with no growth
/// path (a `Vec` push re-stores its length and keeps a call to grow).
#[derive(Debug)]
pub(crate) struct List<T> {
    /// Filled in `[..len]` by the mix's plan, with a local count.
    pub(crate) items: Box<[T]>,
    pub(crate) len: usize,
}

impl<T: Copy> List<T> {
    fn new(capacity: usize, empty: T) -> Self {
        Self {
            items: vec![empty; capacity].into_boxed_slice(),
            len: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
}

/// A fixed number of frames stored as whole [`Block`]s (a frame's padding
/// stays silent), the first block on a 64-byte boundary.
///
/// Alignment matters: a block is 64 bytes, one cache line, and one AVX-512
/// register. Unaligned, most blocks straddle two lines and every load and
/// store of one is split; in the 10-party bench the output stores alone
/// were then the hottest instruction of the tick.
#[derive(Debug)]
pub(crate) struct Frames {
    samples: Box<[i16]>,
    /// Index of the first aligned sample in `samples`.
    start: usize,
    frame: usize,
    blocks_per_frame: usize,
    count: usize,
}

impl Frames {
    fn new(count: usize, frame: usize) -> Self {
        let blocks_per_frame = frame.div_ceil(BLOCK);
        // One block of slack to move the start onto the boundary.
        let samples = vec![0i16; (count * blocks_per_frame + 1) * BLOCK].into_boxed_slice();
        let start = match samples.as_ptr().align_offset(64) {
            offset if offset < BLOCK => offset,
            // Not expected at run time; unaligned is merely slower.
            _ => 0,
        };
        Self {
            samples,
            start,
            frame,
            blocks_per_frame,
            count,
        }
    }

    /// Every block, frame after frame: frame `i` is blocks
    /// `[i * blocks_per_frame..][..blocks_per_frame]`.
    pub(crate) fn blocks(&self) -> &[Block] {
        let len = self.count * self.blocks_per_frame * BLOCK;
        self.samples[self.start..][..len].as_chunks().0
    }

    /// [`Frames::blocks`], writable.
    pub(crate) fn blocks_mut(&mut self) -> &mut [Block] {
        let len = self.count * self.blocks_per_frame * BLOCK;
        self.samples[self.start..][..len].as_chunks_mut().0
    }

    /// Frame `i`, without its padding.
    ///
    /// # Panics
    /// If `i` is not below the count the buffer was made with.
    #[inline]
    pub(crate) fn frame(&self, i: usize) -> &[i16] {
        assert!(i < self.count, "frame {i} of {}", self.count);
        let stride = self.blocks_per_frame * BLOCK;
        &self.samples[self.start + i * stride..][..self.frame]
    }

    /// [`Frames::frame`], writable.
    #[inline]
    pub(crate) fn frame_mut(&mut self, i: usize) -> &mut [i16] {
        assert!(i < self.count, "frame {i} of {}", self.count);
        let stride = self.blocks_per_frame * BLOCK;
        &mut self.samples[self.start + i * stride..][..self.frame]
    }
}
