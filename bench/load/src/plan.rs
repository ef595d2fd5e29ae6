//! Who is in which room and sends which tone.
//!
//! Legs fill rooms in order: leg `i` sits in room `i / K` at seat `i % K`.
//! Every tone is a multiple of 200 Hz between 400 and 3,200 Hz, so a 20 ms
//! frame at 8 kHz holds whole periods of it: one encoded frame per tone is
//! sent again and again, and the sender does no audio work at all. Rooms
//! take their tones from consecutive palettes of K, so neighbouring rooms
//! never share a tone and a listener hearing a tone that is not its room's
//! has heard another room (see [`crate::hearing`]).

/// The tones, in Hz.
pub const TONES: [u32; 15] = [
    400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000, 2200, 2400, 2600, 2800, 3000, 3200,
];

/// A pulse period in 20 ms frames (1 s): each leg sends its tone for the
/// first half of its period and silence for the second, so every second
/// has one onset to time mouth-to-ear latency by.
pub const PULSE_FRAMES: u32 = 50;
/// Frames of tone in each period.
pub const PULSE_ON_FRAMES: u32 = 25;

/// One leg's place in the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegPlan {
    /// The leg's index, 0-based, across the whole load.
    pub index: usize,
    /// Its room, 0-based.
    pub room: usize,
    /// Its seat in the room, 0-based.
    pub seat: usize,
    /// Its tone, in Hz.
    pub tone: u32,
    /// Where in the pulse period its tone starts, in frames.
    pub pulse_offset: u32,
}

/// N legs in rooms of K.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Legs in all.
    pub legs: usize,
    /// Legs per room (the last room may have fewer).
    pub room_size: usize,
}

impl Plan {
    /// `legs` legs in rooms of `room_size` (1 to 15: one tone per seat).
    pub fn new(legs: usize, room_size: usize) -> Result<Self, String> {
        if !(1..=TONES.len()).contains(&room_size) {
            return Err(format!(
                "room size {room_size} is out of range: 1 to {} (one tone per seat)",
                TONES.len()
            ));
        }
        if legs == 0 {
            return Err("no legs: --legs must be at least 1".into());
        }
        Ok(Self { legs, room_size })
    }

    /// Rooms in all.
    pub fn rooms(&self) -> usize {
        self.legs.div_ceil(self.room_size)
    }

    /// Leg `index`'s place.
    pub fn leg(&self, index: usize) -> LegPlan {
        let (room, seat) = (index / self.room_size, index % self.room_size);
        let palettes = TONES.len() / self.room_size;
        let tone = TONES[(room % palettes) * self.room_size + seat];
        LegPlan {
            index,
            room,
            seat,
            tone,
            // Seats start their pulses at different frames, so a listener
            // hears its room's onsets one by one.
            pulse_offset: (seat as u32 * 7) % PULSE_FRAMES,
        }
    }

    /// Every leg's place, in order.
    pub fn legs(&self) -> impl Iterator<Item = LegPlan> + '_ {
        (0..self.legs).map(|i| self.leg(i))
    }

    /// The legs of `room`.
    pub fn room(&self, room: usize) -> std::ops::Range<usize> {
        room * self.room_size..((room + 1) * self.room_size).min(self.legs)
    }
}

/// True while a leg with `pulse_offset` sends its tone in `frame` (frames
/// counted from the start of sending).
pub fn tone_on(frame: u64, pulse_offset: u32) -> bool {
    let phase = (frame + u64::from(PULSE_FRAMES - pulse_offset)) % u64::from(PULSE_FRAMES);
    phase < u64::from(PULSE_ON_FRAMES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_rooms_never_share_a_tone() {
        for k in 1..=TONES.len() {
            let plan = Plan::new(10 * k, k).unwrap();
            for room in 0..plan.rooms() - 1 {
                let this: Vec<u32> = plan.room(room).map(|i| plan.leg(i).tone).collect();
                let next: Vec<u32> = plan.room(room + 1).map(|i| plan.leg(i).tone).collect();
                if TONES.len() / k > 1 {
                    assert!(this.iter().all(|t| !next.contains(t)), "k={k} room={room}");
                }
                let mut unique = this.clone();
                unique.dedup();
                assert_eq!(unique.len(), this.len(), "seats share a tone");
            }
        }
    }

    #[test]
    fn tones_fill_whole_frames() {
        for tone in TONES {
            assert_eq!(
                (tone * 160) % 8000,
                0,
                "{tone} Hz is not whole periods in 20 ms"
            );
        }
    }

    #[test]
    fn a_pulse_is_on_half_its_period_from_its_offset() {
        let on: Vec<bool> = (0..100).map(|f| tone_on(f, 7)).collect();
        assert!(!on[6] && on[7] && on[31] && !on[32] && on[57]);
        assert_eq!(on.iter().filter(|&&b| b).count(), 50);
    }

    #[test]
    fn bad_room_sizes_are_refused_with_the_range() {
        assert!(Plan::new(10, 0).unwrap_err().contains("1 to 15"));
        assert!(Plan::new(10, 16).is_err());
        assert!(Plan::new(0, 3).unwrap_err().contains("--legs"));
    }
}
