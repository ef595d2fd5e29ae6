//! Bridge sounds for Plivo's `beep:1` / `beep:2` (`enterSound` / `exitSound`).
//!
//! A [`BeepPlayer`] is a finite sound played once on the bridge. It is mixed
//! *on top of* whatever the listener already hears: each tick, after the room
//! has produced a listener's 20 ms frame, call [`BeepPlayer::add_to`] on that
//! frame; drop the player once it returns `false`.
//!
//! ```
//! // (compiled as the unit test `tests::module_example`)
//! use chorus_mixer::tone::{Beep, BeepPlayer};
//! let mut beep = BeepPlayer::new(Beep::One, 8000);
//! let mut frame = [0i16; 160]; // one 20 ms frame at 8 kHz, already mixed
//! let mut ticks = 0;
//! while beep.add_to(&mut frame) {
//!     ticks += 1; // send `frame`, mix the next one into it, ...
//! }
//! assert!(beep.is_finished());
//! assert_eq!(ticks + 1, 10); // 200 ms = 10 frames of 20 ms
//! ```
//!
//! # What they sound like
//!
//! * [`Beep::One`] (`beep:1`): one **1000 Hz** tone lasting **200 ms** — the
//!   classic single conference "bing".
//! * [`Beep::Two`] (`beep:2`): two short **600 Hz** pips, **120 ms on, 80 ms
//!   off, 120 ms on** (320 ms in total) — a lower "bip-bip".
//!
//! Both are pure sines at **−12 dBFS peak** (amplitude ≈ 8231 of 32767), and
//! every burst starts and ends with a **5 ms raised-cosine ramp**, so the
//! sound never clicks. The frequencies avoid the telephony test and progress
//! tones (400/700/1100/1700 Hz) and every DTMF frequency.
//!
//! # Properties
//!
//! Pure compute: no IO, no clock reads, and no allocation at all (the player
//! is a small value with no heap storage). The sine phase is
//! derived from an exact integer sample index, so output is deterministic and
//! independent of how the sound is split into frames: frames of any length
//! (including 0) continue exactly where the previous call stopped.

use std::f64::consts::TAU;

/// Peak amplitude of a beep: −12 dBFS, i.e. `32767 · 10^(−12/20)`.
const AMPLITUDE: f64 = 32767.0 * 0.251_188_643_150_958;

/// Length of the raised-cosine attack and release ramps, in milliseconds.
const RAMP_MS: u32 = 5;

/// Which bridge sound to play (Plivo's `beep:1` or `beep:2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beep {
    /// `beep:1`: a single 1000 Hz tone for 200 ms.
    One,
    /// `beep:2`: two 600 Hz pips, 120 ms on, 80 ms off, 120 ms on.
    Two,
}

impl Beep {
    /// Tone frequency in Hz.
    const fn frequency_hz(self) -> u32 {
        match self {
            Beep::One => 1000,
            Beep::Two => 600,
        }
    }

    /// The bursts of the sound as `(start_ms, length_ms)`, and how many of
    /// the array's entries are used.
    const fn bursts_ms(self) -> ([(u32, u32); 2], usize) {
        match self {
            Beep::One => ([(0, 200), (0, 0)], 1),
            Beep::Two => ([(0, 120), (200, 120)], 2),
        }
    }

    /// Total duration in milliseconds, gaps included.
    const fn duration_ms(self) -> u32 {
        match self {
            Beep::One => 200,
            Beep::Two => 320,
        }
    }
}

/// One tone burst, in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Burst {
    start: u32,
    len: u32,
}

/// A finite sound played once on the bridge.
///
/// See the [module documentation](self) for what each [`Beep`] sounds like.
#[derive(Debug, Clone)]
pub struct BeepPlayer {
    beep: Beep,
    sample_rate: u32,
    freq_hz: u32,
    bursts: [Burst; 2],
    burst_count: usize,
    /// Ramp length in samples (clamped to half a burst).
    ramp: u32,
    /// Index of the next sample to produce.
    pos: u32,
    /// Total length in samples.
    total: u32,
}

impl BeepPlayer {
    /// Creates a player positioned at the start of `beep`, producing samples
    /// at `sample_rate` Hz (8000 and 16000 are the rates chorus uses).
    ///
    /// # Panics
    ///
    /// Panics if `sample_rate` is below 8000 Hz or above 384 000 Hz.
    pub fn new(beep: Beep, sample_rate: u32) -> Self {
        crate::assert_sample_rate("BeepPlayer", sample_rate);
        let to_samples = |ms: u32| (u64::from(ms) * u64::from(sample_rate) / 1000) as u32;
        let (ms, burst_count) = beep.bursts_ms();
        let bursts = ms.map(|(start, len)| Burst {
            start: to_samples(start),
            len: to_samples(len),
        });
        let shortest = bursts[..burst_count]
            .iter()
            .map(|b| b.len)
            .min()
            .unwrap_or(0);
        Self {
            beep,
            sample_rate,
            freq_hz: beep.frequency_hz(),
            bursts,
            burst_count,
            ramp: to_samples(RAMP_MS).min(shortest / 2).max(1),
            pos: 0,
            total: to_samples(beep.duration_ms()),
        }
    }

    /// Adds (mixes, saturating) the next `out.len()` samples of the beep into
    /// `out`.
    ///
    /// Samples past the end of the beep are left untouched. Returns `true`
    /// while some of the beep remains to be played after this call, and
    /// `false` once the beep has finished — including on the call that adds
    /// its last samples, so the caller can drop the player right away. Once
    /// finished, further calls add nothing and keep returning `false`.
    pub fn add_to(&mut self, out: &mut [i16]) -> bool {
        for slot in out.iter_mut() {
            if self.pos >= self.total {
                break;
            }
            let s = self.sample_at(self.pos);
            *slot = slot.saturating_add(s);
            self.pos += 1;
        }
        !self.is_finished()
    }

    /// Whether every sample of the beep has been played.
    pub fn is_finished(&self) -> bool {
        self.pos >= self.total
    }

    /// Total duration of the beep in milliseconds, silent gaps included
    /// (200 for [`Beep::One`], 320 for [`Beep::Two`]).
    pub fn duration_ms(&self) -> u32 {
        self.beep.duration_ms()
    }

    /// Which beep this player plays.
    pub fn beep(&self) -> Beep {
        self.beep
    }

    /// The sample at absolute index `n` from the start of the beep.
    fn sample_at(&self, n: u32) -> i16 {
        let Some(burst) = self.bursts[..self.burst_count]
            .iter()
            .find(|b| n >= b.start && n - b.start < b.len)
        else {
            return 0; // gap between pips
        };
        let k = n - burst.start;
        // Exact phase: (k · f mod fs) / fs cycles, no accumulated drift.
        let sr = u64::from(self.sample_rate);
        let cycles = (u64::from(k) * u64::from(self.freq_hz) % sr) as f64 / sr as f64;
        let envelope = self.envelope(k, burst.len);
        (AMPLITUDE * envelope * (TAU * cycles).sin()).round() as i16
    }

    /// Raised-cosine attack/release gain for sample `k` of a burst of `len`.
    fn envelope(&self, k: u32, len: u32) -> f64 {
        let from_edge = k.min(len - 1 - k);
        if from_edge >= self.ramp {
            1.0
        } else {
            let x = f64::from(from_edge) / f64::from(self.ramp);
            0.5 * (1.0 - (std::f64::consts::PI * x).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::goertzel;

    const RATES: [u32; 2] = [8000, 16000];

    /// Plays the whole beep into silence, `frame` samples at a time, plus
    /// one extra frame to check the tail stays silent.
    fn render(beep: Beep, rate: u32, frame: usize) -> Vec<i16> {
        let mut p = BeepPlayer::new(beep, rate);
        let mut all = Vec::new();
        let mut buf = vec![0i16; frame];
        loop {
            buf.fill(0);
            let more = p.add_to(&mut buf);
            all.extend_from_slice(&buf);
            if !more {
                break;
            }
        }
        all
    }

    /// Non-silent runs as `(start, len)` sample ranges.
    fn bursts(x: &[i16]) -> Vec<(usize, usize)> {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut last_loud: Option<usize> = None;
        for (i, &v) in x.iter().enumerate() {
            if v != 0 {
                match (last_loud, runs.last_mut()) {
                    // zero crossings can produce isolated zero samples:
                    // bridge gaps shorter than 1 ms.
                    (Some(prev), Some(run)) if i - prev <= x.len().min(16) => {
                        run.1 = i + 1 - run.0;
                    }
                    _ => runs.push((i, 1)),
                }
                last_loud = Some(i);
            }
        }
        runs
    }

    #[test]
    fn module_example() {
        let mut beep = BeepPlayer::new(Beep::One, 8000);
        let mut frame = [0i16; 160];
        let mut ticks = 0;
        while beep.add_to(&mut frame) {
            ticks += 1;
        }
        assert!(beep.is_finished());
        assert_eq!(ticks + 1, 10);
    }

    #[test]
    fn durations() {
        for rate in RATES {
            let one = BeepPlayer::new(Beep::One, rate);
            let two = BeepPlayer::new(Beep::Two, rate);
            assert_eq!(one.duration_ms(), 200);
            assert_eq!(two.duration_ms(), 320);
            assert_eq!(one.total, rate / 5);
            assert_eq!(two.total, rate * 32 / 100);
            // Rendered length is total rounded up to a whole frame; the
            // audible part is exactly total.
            let x = render(Beep::One, rate, 1);
            assert_eq!(x.len(), (rate / 5) as usize);
            let x = render(Beep::Two, rate, 1);
            assert_eq!(x.len(), (rate * 32 / 100) as usize);
        }
    }

    #[test]
    fn frame_count_matches_duration() {
        for rate in RATES {
            let frame = (rate / 50) as usize; // 20 ms
            let mut p = BeepPlayer::new(Beep::Two, rate);
            let mut buf = vec![0i16; frame];
            let mut calls = 1;
            while p.add_to(&mut buf) {
                calls += 1;
            }
            assert_eq!(calls, 16); // 320 ms / 20 ms
        }
    }

    #[test]
    fn frequency_content() {
        for rate in RATES {
            let one = render(Beep::One, rate, 160);
            let on_1000 = goertzel(&one, 1000.0, rate);
            for other in [400.0, 600.0, 700.0, 1100.0, 1400.0, 1700.0] {
                assert!(
                    goertzel(&one, other, rate) < on_1000 / 100.0,
                    "beep:1 at {rate} Hz leaks into {other} Hz"
                );
            }
            let two = render(Beep::Two, rate, 160);
            let pip = &two[..(rate * 12 / 100) as usize];
            let on_600 = goertzel(pip, 600.0, rate);
            for other in [400.0, 700.0, 1000.0, 1100.0, 1700.0] {
                assert!(
                    goertzel(pip, other, rate) < on_600 / 100.0,
                    "beep:2 at {rate} Hz leaks into {other} Hz"
                );
            }
        }
    }

    #[test]
    fn level_is_minus_12_dbfs_peak() {
        for rate in RATES {
            for beep in [Beep::One, Beep::Two] {
                let x = render(beep, rate, 160);
                let peak = x.iter().map(|v| v.unsigned_abs()).max().unwrap();
                let dbfs = 20.0 * (f64::from(peak) / 32767.0).log10();
                assert!((-12.2..=-11.99).contains(&dbfs), "{beep:?} {rate}: {dbfs}");
            }
        }
    }

    #[test]
    fn ramps_have_no_clicks() {
        for rate in RATES {
            for beep in [Beep::One, Beep::Two] {
                let x = render(beep, rate, 160);
                // First and last sample of every burst are (near) zero.
                assert_eq!(x[0], 0);
                assert!(x.last().unwrap().unsigned_abs() < 50);
                // The envelope is still small 1 ms into the sound.
                let ms = (rate / 1000) as usize;
                let early = x[..ms].iter().map(|v| v.unsigned_abs()).max().unwrap();
                assert!(early < 1000, "{beep:?} {rate}: attack too steep ({early})");
                // No step larger than the sine itself can make.
                let f = f64::from(beep.frequency_hz());
                let max_step = AMPLITUDE * TAU * f / f64::from(rate) * 1.05 + 2.0;
                for w in x.windows(2) {
                    let step = (i32::from(w[1]) - i32::from(w[0])).unsigned_abs();
                    assert!(f64::from(step) <= max_step, "{beep:?} {rate}: step {step}");
                }
            }
        }
    }

    #[test]
    fn beep_two_has_two_bursts_separated_by_silence() {
        for rate in RATES {
            let x = render(Beep::Two, rate, 160);
            let runs = bursts(&x);
            assert_eq!(runs.len(), 2, "{rate}: {runs:?}");
            let ms = |samples: usize| samples as f64 * 1000.0 / f64::from(rate);
            let (a, b) = (runs[0], runs[1]);
            assert!((ms(a.1) - 120.0).abs() < 2.0, "{rate}: {runs:?}");
            assert!((ms(b.1) - 120.0).abs() < 2.0, "{rate}: {runs:?}");
            let gap = b.0 - (a.0 + a.1);
            assert!((ms(gap) - 80.0).abs() < 2.0, "{rate}: gap {}", ms(gap));
            // The gap is true silence.
            let gap_start = (rate * 12 / 100) as usize;
            let gap_end = (rate * 20 / 100) as usize;
            assert!(x[gap_start..gap_end].iter().all(|&v| v == 0));

            let one = bursts(&render(Beep::One, rate, 160));
            assert_eq!(one.len(), 1, "{rate}: {one:?}");
        }
    }

    #[test]
    fn add_to_mixes_and_saturates() {
        for rate in RATES {
            let clean = render(Beep::One, rate, 1);
            let n = clean.len();
            // Mixing onto a constant offset adds the beep on top.
            let mut p = BeepPlayer::new(Beep::One, rate);
            let mut buf = vec![100i16; n];
            p.add_to(&mut buf);
            for (b, c) in buf.iter().zip(&clean) {
                assert_eq!(*b, 100 + c);
            }
            // Near full scale it clips instead of wrapping around.
            for base in [i16::MAX - 10, i16::MIN + 10] {
                let mut p = BeepPlayer::new(Beep::One, rate);
                let mut buf = vec![base; n];
                p.add_to(&mut buf);
                for (b, c) in buf.iter().zip(&clean) {
                    assert_eq!(*b, base.saturating_add(*c));
                    if base > 0 {
                        assert!(*b >= base - 8300, "wrapped: {b}");
                    } else {
                        assert!(*b <= base + 8300, "wrapped: {b}");
                    }
                }
                assert!(buf.contains(&(if base > 0 { i16::MAX } else { i16::MIN })));
            }
        }
    }

    #[test]
    fn finished_player_adds_nothing() {
        for rate in RATES {
            for beep in [Beep::One, Beep::Two] {
                let mut p = BeepPlayer::new(beep, rate);
                assert!(!p.is_finished());
                let mut big = vec![0i16; rate as usize]; // 1 s, longer than any beep
                assert!(!p.add_to(&mut big));
                assert!(p.is_finished());
                // Everything after the beep's end is untouched.
                let end = p.total as usize;
                assert!(big[end..].iter().all(|&v| v == 0));
                let mut frame = [1234i16; 160];
                assert!(!p.add_to(&mut frame));
                assert!(frame.iter().all(|&v| v == 1234));
            }
        }
    }

    #[test]
    fn empty_frames_do_not_advance() {
        let mut p = BeepPlayer::new(Beep::One, 8000);
        assert!(p.add_to(&mut []));
        assert_eq!(p.pos, 0);
        assert!(!p.is_finished());
    }

    #[test]
    fn frame_size_does_not_change_output() {
        for rate in RATES {
            for beep in [Beep::One, Beep::Two] {
                let reference = render(beep, rate, 1);
                for frame in [7usize, 80, 160, 320, 1000] {
                    let x = render(beep, rate, frame);
                    assert_eq!(
                        &x[..reference.len()],
                        &reference[..],
                        "{beep:?} {rate} {frame}"
                    );
                    assert!(x[reference.len()..].iter().all(|&v| v == 0));
                }
            }
        }
    }

    #[test]
    fn beeps_are_distinct() {
        assert_ne!(render(Beep::One, 8000, 160), render(Beep::Two, 8000, 160));
        assert_eq!(BeepPlayer::new(Beep::Two, 8000).beep(), Beep::Two);
    }

    #[test]
    #[should_panic(expected = "unsupported sample rate")]
    fn rejects_too_low_sample_rate() {
        let _ = BeepPlayer::new(Beep::One, 4000);
    }
}
