//! The chorus mixing engine: Plivo multiparty-call audio, pure compute (no
//! IO, no clock, no allocation in a tick).
//!
//! A [`Room`] allocates every buffer in [`Room::new`]. Each tick (20 ms) the
//! media worker:
//! 1. applies the state changes queued since the last tick ([`Room::apply`]
//!    with [`RoomCommand`]s; [`Room::join`] and [`Room::leave`] likewise only
//!    between ticks);
//! 2. fills what it has: [`Room::input_mut`] per participant who sent audio,
//!    and as needed [`Room::bridge_mut`], [`Room::wait_music_mut`],
//!    [`Room::hold_music_mut`], [`Room::private_mut`]. Anything not written
//!    this tick is silence;
//! 3. calls [`Room::mix`];
//! 4. reads [`Room::output`] per participant (encoding once per
//!    [`Room::output_group`]), [`Room::recording_mix`] and [`Room::track`].
//!
//! ```
//! use chorus_mixer::{Participant, Role, Room, RoomConfig};
//! let mut room = Room::new(RoomConfig { frame_samples: 160, capacity: 10 });
//! let agent = room.join(Participant::new(Role::Agent)).unwrap();
//! let customer = room.join(Participant::new(Role::Customer)).unwrap();
//! let coach = room.join(Participant::new(Role::Supervisor)).unwrap();
//! room.set_started(true);
//! room.input_mut(customer).fill(1000);
//! room.input_mut(coach).fill(-200);
//! room.mix();
//! assert_eq!(room.output(agent)[0], 800); // hears customer and coach
//! assert_eq!(room.output(customer)[0], 0); // never hears the coach
//! assert_eq!(room.output(coach)[0], 1000);
//! assert_eq!(room.recording_mix()[0], 800);
//! ```
//!
//! Who hears whom is [`hears`] (the rule in the notes, also as an explicit
//! [`HearingMatrix`]). The mix does not evaluate it pairwise: with this rule
//! there are two sums (everyone; everyone but coaching supervisors), so a
//! tick sums each talker once and gives each listener its sum minus its own
//! voice — O(N). Per-sample work runs on [`Kernels`] chosen once at run time
//! (AVX-512BW, AVX2, SSE2 or portable); [`mod@reference`] holds the naive O(N²)
//! mix that the fast path is tested against.

pub mod clip;
mod hearing;
mod kernel;
mod lanes;
mod mix;
pub mod music;
mod plan;
pub mod reference;
mod room;
pub mod tone;
pub mod vad;

#[cfg(test)]
mod test_support;

/// Sample rates the beep and music players accept (chorus uses 8000 and
/// 16000).
pub(crate) const SAMPLE_RATES: std::ops::RangeInclusive<u32> = 8000..=384_000;

/// Panics with a clear message when `rate` is outside [`SAMPLE_RATES`].
pub(crate) fn assert_sample_rate(player: &str, rate: u32) {
    assert!(
        SAMPLE_RATES.contains(&rate),
        "{player}: unsupported sample rate {rate} Hz"
    );
}

pub use hearing::{HearingMatrix, HoldMusic, Participant, Role, hears, hears_bridge};
pub use mix::MixGroup;
pub use room::{ChannelId, Kernels, MAX_CAPACITY, Room, RoomCommand, RoomConfig, RoomFull};
