//! The chorus mixing engine: pure compute, no IO, no allocation in a tick.
//!
//! A [`Room`] holds one [`Channel`] per participant. Each tick (20 ms) the
//! media worker writes what every participant said into [`Channel::input_mut`]
//! (silence when nothing arrived), calls [`Room::mix`], and sends each
//! participant its [`Channel::output`]: everyone else's voice, never its own
//! (mix-minus).
//!
//! ```
//! use chorus_mixer::Room;
//! let mut room = Room::new(160);
//! let a = room.join();
//! let b = room.join();
//! room.channel_mut(a).input_mut().fill(1000);
//! room.channel_mut(b).input_mut().fill(-200);
//! room.mix();
//! assert_eq!(room.channel(a).output()[0], -200);
//! assert_eq!(room.channel(b).output()[0], 1000);
//! ```
//!
//! Cost is O(N) per tick: the room sums every talker once and each listener
//! receives that sum minus its own contribution. The hearing matrix (roles,
//! mute, hold, coach mode) and SIMD kernels extend this in a later step; the
//! API keeps the same shape: fill inputs, mix, read outputs.

mod kernel;

pub use kernel::{accumulate, clip_to_i16, subtract_and_clip};

/// Index of a participant's channel inside one [`Room`].
///
/// Slots are reused after [`Room::leave`], so an id is only meaningful while
/// its participant is in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelId(usize);

impl ChannelId {
    /// The slot index (stable while the participant stays in the room).
    pub fn index(self) -> usize {
        self.0
    }
}

/// One participant's audio for the current tick.
#[derive(Debug)]
pub struct Channel {
    input: Box<[i16]>,
    output: Box<[i16]>,
    /// Whether `input` holds voice this tick; silent talkers are skipped.
    talking: bool,
}

impl Channel {
    fn new(frame_samples: usize) -> Self {
        Self {
            input: vec![0; frame_samples].into_boxed_slice(),
            output: vec![0; frame_samples].into_boxed_slice(),
            talking: false,
        }
    }

    /// What this participant said this tick. Writing to it marks the channel
    /// as talking for the next [`Room::mix`].
    pub fn input_mut(&mut self) -> &mut [i16] {
        self.talking = true;
        &mut self.input
    }

    /// Marks this tick as silent for the participant (nothing arrived).
    pub fn set_silent(&mut self) {
        self.talking = false;
    }

    /// What this participant hears after the last [`Room::mix`].
    pub fn output(&self) -> &[i16] {
        &self.output
    }
}

/// The participants of one multiparty call and their mixing scratch space.
#[derive(Debug)]
pub struct Room {
    frame_samples: usize,
    slots: Vec<Option<Channel>>,
    /// Sum of all talkers, in i32 so that ten loud voices cannot wrap.
    sum: Box<[i32]>,
}

impl Room {
    /// A room mixing frames of `frame_samples` samples (160 for 20 ms at 8 kHz).
    pub fn new(frame_samples: usize) -> Self {
        Self {
            frame_samples,
            slots: Vec::new(),
            sum: vec![0; frame_samples].into_boxed_slice(),
        }
    }

    /// Samples per frame.
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// Adds a participant. Allocates its buffers: call it from the control
    /// side of a tick, never inside [`Room::mix`].
    pub fn join(&mut self) -> ChannelId {
        let channel = Channel::new(self.frame_samples);
        if let Some(free) = self.slots.iter().position(Option::is_none) {
            self.slots[free] = Some(channel);
            return ChannelId(free);
        }
        self.slots.push(Some(channel));
        ChannelId(self.slots.len() - 1)
    }

    /// Removes a participant and hands its buffers back to the caller, so the
    /// real-time thread can pass them to the control plane to be dropped.
    pub fn leave(&mut self, id: ChannelId) -> Option<Channel> {
        self.slots.get_mut(id.0).and_then(Option::take)
    }

    /// Number of participants.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// True when nobody is in the room.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(Option::is_none)
    }

    /// A participant's channel. Panics on an id that is not in the room: ids
    /// come from [`Room::join`], so that is a bug in the caller.
    pub fn channel(&self, id: ChannelId) -> &Channel {
        self.slots[id.0].as_ref().expect("channel id not in room")
    }

    /// A participant's channel, mutable (to write its input).
    pub fn channel_mut(&mut self, id: ChannelId) -> &mut Channel {
        self.slots[id.0].as_mut().expect("channel id not in room")
    }

    /// Mixes one tick: every participant's output becomes the sum of all
    /// other talkers' inputs, saturated to i16. Does not allocate.
    pub fn mix(&mut self) {
        self.sum.fill(0);
        for channel in self.slots.iter().flatten() {
            if channel.talking {
                accumulate(&mut self.sum, &channel.input);
            }
        }
        for channel in self.slots.iter_mut().flatten() {
            if channel.talking {
                subtract_and_clip(&self.sum, &channel.input, &mut channel.output);
            } else {
                clip_to_i16(&self.sum, &mut channel.output);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The O(N²) definition: each listener hears the saturated sum of every
    /// other talker.
    fn naive(inputs: &[Option<Vec<i16>>], listener: usize, n: usize) -> Vec<i16> {
        (0..n)
            .map(|s| {
                let total: i32 = inputs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != listener)
                    .filter_map(|(_, x)| x.as_ref().map(|v| i32::from(v[s])))
                    .sum();
                total.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
            })
            .collect()
    }

    #[test]
    fn everyone_hears_everyone_else_and_not_themselves() {
        let mut room = Room::new(4);
        let ids: Vec<_> = (0..3).map(|_| room.join()).collect();
        for (k, id) in ids.iter().enumerate() {
            room.channel_mut(*id).input_mut().fill(100 * (k as i16 + 1));
        }
        room.mix();
        assert_eq!(room.channel(ids[0]).output(), &[500; 4]);
        assert_eq!(room.channel(ids[1]).output(), &[400; 4]);
        assert_eq!(room.channel(ids[2]).output(), &[300; 4]);
    }

    #[test]
    fn silent_participant_hears_everyone() {
        let mut room = Room::new(2);
        let a = room.join();
        let b = room.join();
        room.channel_mut(a).input_mut().fill(7);
        room.channel_mut(b).set_silent();
        room.mix();
        assert_eq!(room.channel(b).output(), &[7, 7]);
        assert_eq!(room.channel(a).output(), &[0, 0]);
    }

    #[test]
    fn loud_room_saturates_instead_of_wrapping() {
        let mut room = Room::new(1);
        let ids: Vec<_> = (0..10).map(|_| room.join()).collect();
        for id in &ids {
            room.channel_mut(*id).input_mut()[0] = 30_000;
        }
        room.mix();
        assert_eq!(room.channel(ids[0]).output()[0], i16::MAX);
        for id in &ids {
            room.channel_mut(*id).input_mut()[0] = -30_000;
        }
        room.mix();
        assert_eq!(room.channel(ids[3]).output()[0], i16::MIN);
    }

    #[test]
    fn leave_frees_slot_for_reuse_and_stops_being_heard() {
        let mut room = Room::new(1);
        let a = room.join();
        let b = room.join();
        room.channel_mut(a).input_mut()[0] = 5;
        room.channel_mut(b).input_mut()[0] = 9;
        assert!(room.leave(a).is_some());
        assert!(room.leave(a).is_none());
        room.mix();
        assert_eq!(room.channel(b).output()[0], 0);
        assert_eq!(room.join(), a);
        assert_eq!(room.len(), 2);
    }

    #[test]
    fn matches_naive_reference_on_pseudo_random_rooms() {
        // Deterministic LCG: the test explores many rooms without a rand dep.
        let mut seed: u64 = 0x5eed;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for _ in 0..200 {
            let n = 1 + (next() % 12) as usize;
            let frame = 8;
            let mut room = Room::new(frame);
            let ids: Vec<_> = (0..n).map(|_| room.join()).collect();
            let mut inputs = Vec::new();
            for id in &ids {
                if next() % 4 == 0 {
                    room.channel_mut(*id).set_silent();
                    inputs.push(None);
                } else {
                    let v: Vec<i16> = (0..frame).map(|_| next() as i16).collect();
                    room.channel_mut(*id).input_mut().copy_from_slice(&v);
                    inputs.push(Some(v));
                }
            }
            room.mix();
            for (k, id) in ids.iter().enumerate() {
                assert_eq!(
                    room.channel(*id).output(),
                    naive(&inputs, k, frame).as_slice()
                );
            }
        }
    }
}
