//! Built-in default wait and hold music, synthesised (no recordings).
//!
//! A [`MusicPlayer`] is an endless, gentle melody used when a conference has
//! no `waitSound` / hold music URL of its own. Each tick, call
//! [`MusicPlayer::fill`] with the frame to send; it overwrites the frame with
//! the next samples and keeps its position, so consecutive frames of any
//! length join seamlessly.
//!
//! ```
//! // (compiled as the unit test `tests::module_example`)
//! use chorus_mixer::music::{MusicPlayer, Tune};
//! let mut music = MusicPlayer::new(Tune::Wait, 8000);
//! let mut frame = [0i16; 160]; // 20 ms at 8 kHz
//! music.fill(&mut frame); // send it; next tick, fill again
//! assert!(frame.iter().all(|s| s.unsigned_abs() < 8192)); // below −12 dBFS
//! ```
//!
//! # What they sound like
//!
//! Both tunes are a loop of eight notes. Each note is a sine plus its 2nd
//! harmonic at 30 % amplitude (a soft, slightly "electric piano" timbre),
//! shaped by a 15 ms raised-cosine attack, an exponential decay (time
//! constant 300 ms) and a 30 ms raised-cosine release into silence at the end
//! of the note, so notes are separated by a few milliseconds of near-silence
//! and never click. Peak level is **−18 dBFS**.
//!
//! * [`Tune::Wait`] (waiting for the conference to start): a bright rising
//!   and falling C-major arpeggio, **C5 E5 G5 C6 G5 E5 D5 G4**, 375 ms per
//!   note — the loop is **3.0 s**.
//! * [`Tune::Hold`] (a participant on hold): a slower, lower A-minor
//!   lullaby, **A4 C5 E5 D5 C5 A4 G4 E4**, 400 ms per note — the loop is
//!   **3.2 s**.
//!
//! # Properties
//!
//! Pure compute: no IO, no clock reads. The sine and envelope tables a tune
//! is played from are built once per tune and sample rate and shared by
//! every player of it (a process-wide cache, filled by
//! [`MusicPlayer::new`]): a room has three players, and a daemon thousands
//! of rooms, so per player they would be most of a room's memory.
//! [`MusicPlayer::fill`] never allocates.
//! The oscillator is a 32-bit integer phase accumulator reset at every note
//! start (where the envelope is zero), so the output is deterministic and
//! repeats exactly, sample for sample, every loop.

use std::sync::{Arc, Mutex, PoisonError};

/// Peak level of the music: −18 dBFS, i.e. `32767 · 10^(−18/20)`.
const PEAK: f32 = 32767.0 * 0.125_892_54;

/// Amplitude of the 2nd harmonic relative to the fundamental.
const HARMONIC: f32 = 0.3;

/// Amplitude of the fundamental, so that fundamental + harmonic ≤ [`PEAK`].
const FUNDAMENTAL: f32 = PEAK / (1.0 + HARMONIC);

/// Attack length of a note, in milliseconds (raised cosine).
const ATTACK_MS: u32 = 15;

/// Release length at the end of a note, in milliseconds (raised cosine).
const RELEASE_MS: u32 = 30;

/// Time constant of the exponential decay after the attack, in seconds.
const DECAY_S: f64 = 0.3;

/// log2 of the sine table length.
const SINE_BITS: u32 = 10;

/// Sine table length (one full cycle).
const SINE_LEN: usize = 1 << SINE_BITS;

/// Bits of the phase accumulator below the table index: interpolation.
const FRAC_BITS: u32 = 32 - SINE_BITS;

/// The tables a tune is played from at one sample rate.
#[derive(Debug)]
struct Tables {
    /// One sine cycle, `SINE_LEN + 1` entries (last = first, for
    /// interpolation without wrapping).
    sine: Box<[f32]>,
    /// Gain of each sample of a note, `note_len` entries, already scaled by
    /// the fundamental's amplitude.
    envelope: Box<[f32]>,
}

impl Tables {
    /// The tables of `tune` at `sample_rate`, built on first use and shared
    /// from then on.
    fn shared(tune: Tune, sample_rate: u32) -> Arc<Self> {
        type Cache = Vec<(Tune, u32, Arc<Tables>)>;
        static CACHE: Mutex<Cache> = Mutex::new(Vec::new());
        // A panic elsewhere while holding the lock leaves the list intact.
        let mut cache = CACHE.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((.., tables)) = cache
            .iter()
            .find(|(t, rate, _)| *t == tune && *rate == sample_rate)
        {
            return tables.clone();
        }
        let tables = Arc::new(Self::build(tune, sample_rate));
        cache.push((tune, sample_rate, tables.clone()));
        tables
    }

    fn build(tune: Tune, sample_rate: u32) -> Self {
        let sr = f64::from(sample_rate);
        let sine = (0..=SINE_LEN)
            .map(|i| (std::f64::consts::TAU * i as f64 / SINE_LEN as f64).sin() as f32)
            .collect();
        let note_len = note_samples(tune, sample_rate);
        let attack = ms_to_samples(ATTACK_MS, sample_rate).max(1);
        let release = ms_to_samples(RELEASE_MS, sample_rate).max(1);
        let envelope = (0..note_len)
            .map(|k| {
                let raised = |x: f64| 0.5 * (1.0 - (std::f64::consts::PI * x).cos());
                let rise = if k < attack {
                    raised(f64::from(k) / f64::from(attack))
                } else {
                    1.0
                };
                let decay = (-f64::from(k.saturating_sub(attack)) / (DECAY_S * sr)).exp();
                let to_end = note_len - 1 - k;
                let fall = if to_end < release {
                    raised(f64::from(to_end) / f64::from(release))
                } else {
                    1.0
                };
                (rise * decay * fall) as f32 * FUNDAMENTAL
            })
            .collect();
        Self { sine, envelope }
    }
}

fn ms_to_samples(ms: u32, sample_rate: u32) -> u32 {
    (u64::from(ms) * u64::from(sample_rate) / 1000) as u32
}

/// Samples in one note of `tune`.
fn note_samples(tune: Tune, sample_rate: u32) -> u32 {
    ms_to_samples(tune.note_ms(), sample_rate)
}

/// Which built-in melody to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tune {
    /// Waiting for the conference to start: C-major arpeggio
    /// C5 E5 G5 C6 G5 E5 D5 G4, 375 ms per note (3.0 s loop).
    Wait,
    /// On hold: A-minor lullaby A4 C5 E5 D5 C5 A4 G4 E4, 400 ms per note
    /// (3.2 s loop).
    Hold,
}

impl Tune {
    /// The notes as MIDI note numbers (69 = A4 = 440 Hz).
    const fn notes(self) -> [u8; 8] {
        match self {
            Tune::Wait => [72, 76, 79, 84, 79, 76, 74, 67],
            Tune::Hold => [69, 72, 76, 74, 72, 69, 67, 64],
        }
    }

    /// Duration of every note, in milliseconds.
    const fn note_ms(self) -> u32 {
        match self {
            Tune::Wait => 375,
            Tune::Hold => 400,
        }
    }
}

/// An endless, gentle synthesised melody; [`fill`](Self::fill) overwrites
/// `out` with the next samples.
///
/// See the [module documentation](self) for what each [`Tune`] sounds like.
#[derive(Debug, Clone)]
pub struct MusicPlayer {
    tune: Tune,
    sample_rate: u32,
    /// Its tune's tables at its rate, shared.
    tables: Arc<Tables>,
    /// Per-note phase increment of the fundamental (2^32 = one cycle).
    phase_inc: [u32; 8],
    /// Samples per note.
    note_len: u32,
    /// Index of the current note.
    note: usize,
    /// Position inside the current note.
    pos: u32,
    /// Phase of the fundamental.
    phase: u32,
}

impl MusicPlayer {
    /// Creates a player at the start of `tune`, producing samples at
    /// `sample_rate` Hz (8000 and 16000 are the rates chorus uses).
    ///
    /// # Panics
    ///
    /// Panics if `sample_rate` is below 8000 Hz or above 384 000 Hz.
    pub fn new(tune: Tune, sample_rate: u32) -> Self {
        crate::assert_sample_rate("MusicPlayer", sample_rate);
        let sr = f64::from(sample_rate);
        let phase_inc = tune.notes().map(|midi| {
            let freq = 440.0 * 2f64.powf((f64::from(midi) - 69.0) / 12.0);
            (freq / sr * 4_294_967_296.0).round() as u32
        });

        Self {
            tune,
            sample_rate,
            tables: Tables::shared(tune, sample_rate),
            phase_inc,
            note_len: note_samples(tune, sample_rate),
            note: 0,
            pos: 0,
            phase: 0,
        }
    }

    /// Overwrites `out` with the next `out.len()` samples of the melody.
    ///
    /// Consecutive calls continue exactly where the previous one stopped,
    /// whatever the frame lengths; an empty `out` does nothing.
    pub fn fill(&mut self, out: &mut [i16]) {
        for slot in out.iter_mut() {
            let env = self.tables.envelope[self.pos as usize];
            let fundamental = self.sine_at(self.phase);
            let harmonic = self.sine_at(self.phase.wrapping_mul(2));
            *slot = (env * (fundamental + HARMONIC * harmonic)).round() as i16;

            self.phase = self.phase.wrapping_add(self.phase_inc[self.note]);
            self.pos += 1;
            if self.pos == self.note_len {
                self.pos = 0;
                self.phase = 0;
                self.note = (self.note + 1) % self.phase_inc.len();
            }
        }
    }

    /// Rewinds to the start of the tune.
    pub fn reset(&mut self) {
        self.note = 0;
        self.pos = 0;
        self.phase = 0;
    }

    /// Which tune this player plays.
    pub fn tune(&self) -> Tune {
        self.tune
    }

    /// The sample rate given to [`new`](Self::new).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Length of one loop of the tune, in samples: the output repeats with
    /// exactly this period.
    pub fn loop_len(&self) -> usize {
        self.note_len as usize * self.phase_inc.len()
    }

    /// Linearly interpolated sine of `phase` (2^32 = one cycle).
    fn sine_at(&self, phase: u32) -> f32 {
        let index = (phase >> FRAC_BITS) as usize;
        let frac = (phase & ((1 << FRAC_BITS) - 1)) as f32 / (1u32 << FRAC_BITS) as f32;
        let a = self.tables.sine[index];
        let b = self.tables.sine[index + 1];
        a + (b - a) * frac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::goertzel;
    use std::f64::consts::TAU;

    const RATES: [u32; 2] = [8000, 16000];
    const TUNES: [Tune; 2] = [Tune::Wait, Tune::Hold];

    fn render(tune: Tune, rate: u32, len: usize) -> Vec<i16> {
        let mut p = MusicPlayer::new(tune, rate);
        let mut x = vec![0i16; len];
        p.fill(&mut x);
        x
    }

    fn midi_hz(midi: u8) -> f64 {
        440.0 * 2f64.powf((f64::from(midi) - 69.0) / 12.0)
    }

    #[test]
    fn players_of_one_tune_and_rate_share_their_tables() {
        let a = MusicPlayer::new(Tune::Hold, 8000);
        let b = MusicPlayer::new(Tune::Hold, 8000);
        assert!(Arc::ptr_eq(&a.tables, &b.tables));
        let other_rate = MusicPlayer::new(Tune::Hold, 16000);
        let other_tune = MusicPlayer::new(Tune::Wait, 8000);
        assert!(!Arc::ptr_eq(&a.tables, &other_rate.tables));
        assert!(!Arc::ptr_eq(&a.tables, &other_tune.tables));
        assert_eq!(other_rate.tables.envelope.len(), 6400, "400 ms at 16 kHz");
    }

    #[test]
    fn module_example() {
        let mut music = MusicPlayer::new(Tune::Wait, 8000);
        let mut frame = [0i16; 160];
        music.fill(&mut frame);
        assert!(frame.iter().all(|s| s.unsigned_abs() < 8192));
    }

    #[test]
    fn loop_lengths() {
        assert_eq!(MusicPlayer::new(Tune::Wait, 8000).loop_len(), 24_000);
        assert_eq!(MusicPlayer::new(Tune::Wait, 16000).loop_len(), 48_000);
        assert_eq!(MusicPlayer::new(Tune::Hold, 8000).loop_len(), 25_600);
        assert_eq!(MusicPlayer::new(Tune::Hold, 16000).loop_len(), 51_200);
    }

    #[test]
    fn peak_below_minus_12_dbfs_and_near_minus_18() {
        for rate in RATES {
            for tune in TUNES {
                let p = MusicPlayer::new(tune, rate);
                let x = render(tune, rate, p.loop_len());
                let peak = x.iter().map(|v| v.unsigned_abs()).max().unwrap();
                let dbfs = 20.0 * (f64::from(peak) / 32767.0).log10();
                assert!(dbfs < -12.0, "{tune:?} {rate}: {dbfs}");
                assert!(dbfs <= -18.0 + 0.05, "{tune:?} {rate}: {dbfs}");
                assert!(dbfs > -24.0, "{tune:?} {rate}: too quiet {dbfs}");
            }
        }
    }

    #[test]
    fn never_silent_longer_than_a_note_gap() {
        for rate in RATES {
            for tune in TUNES {
                let p = MusicPlayer::new(tune, rate);
                let x = render(tune, rate, 2 * p.loop_len() + 777);
                // Longest run of samples quieter than −60 dBFS.
                let mut run = 0usize;
                let mut longest = 0usize;
                for &v in &x {
                    if v.unsigned_abs() < 33 {
                        run += 1;
                        longest = longest.max(run);
                    } else {
                        run = 0;
                    }
                }
                let ms = longest as f64 * 1000.0 / f64::from(rate);
                // The gap between notes is the tail of the release plus the
                // start of the attack: a few milliseconds.
                assert!(ms < 10.0, "{tune:?} {rate}: silent for {ms} ms");
                // And every 100 ms window has real signal in it.
                let win = (rate / 10) as usize;
                for w in x.chunks(win) {
                    let peak = w.iter().map(|v| v.unsigned_abs()).max().unwrap();
                    assert!(peak > 300, "{tune:?} {rate}: quiet window");
                }
            }
        }
    }

    #[test]
    fn loops_seamlessly() {
        for rate in RATES {
            for tune in TUNES {
                let p = MusicPlayer::new(tune, rate);
                let period = p.loop_len();
                let x = render(tune, rate, 3 * period + 123);
                for n in 0..x.len() - period {
                    assert_eq!(x[n], x[n + period], "{tune:?} {rate}: sample {n}");
                }
                // The period is not shorter: the first half differs.
                assert_ne!(x[..period / 2], x[period / 2..period]);
                // The seam is no louder than any other note boundary.
                assert!(x[period - 1].unsigned_abs() < 33 && x[period].unsigned_abs() < 33);
            }
        }
    }

    #[test]
    fn wait_and_hold_differ() {
        for rate in RATES {
            let wait = render(Tune::Wait, rate, 3 * rate as usize);
            let hold = render(Tune::Hold, rate, 3 * rate as usize);
            assert_ne!(wait, hold);
            assert_ne!(Tune::Wait.notes(), Tune::Hold.notes());
            assert_ne!(
                MusicPlayer::new(Tune::Wait, rate).loop_len(),
                MusicPlayer::new(Tune::Hold, rate).loop_len()
            );
        }
    }

    #[test]
    fn each_note_has_its_pitch_and_harmonic() {
        for rate in RATES {
            for tune in TUNES {
                let p = MusicPlayer::new(tune, rate);
                let len = p.note_len as usize;
                let x = render(tune, rate, p.loop_len());
                for (i, &midi) in tune.notes().iter().enumerate() {
                    // Analyse the loud first part of the note.
                    let note = &x[i * len..i * len + len / 2];
                    let f = midi_hz(midi);
                    let fundamental = goertzel(note, f, rate);
                    let harmonic = goertzel(note, 2.0 * f, rate);
                    let ratio = (harmonic / fundamental).sqrt();
                    assert!(
                        (ratio - 0.3).abs() < 0.05,
                        "{tune:?} {rate} note {i}: {ratio}"
                    );
                    // A semitone away there is much less energy.
                    for off in [f * 0.94, f * 1.06] {
                        assert!(goertzel(note, off, rate) < fundamental / 10.0);
                    }
                }
            }
        }
    }

    #[test]
    fn frames_are_continuous() {
        for rate in RATES {
            for tune in TUNES {
                let mut p = MusicPlayer::new(tune, rate);
                let total = p.loop_len() + 5000;
                let reference = render(tune, rate, total);
                // Odd frame sizes, including empty ones and ones crossing
                // note and loop boundaries.
                let sizes = [160usize, 0, 1, 7, 320, 2999, 160, 3, 4096];
                let mut chunked = Vec::with_capacity(total);
                let mut buf = vec![0i16; 4096];
                let mut i = 0;
                while chunked.len() < total {
                    let n = sizes[i % sizes.len()].min(total - chunked.len());
                    buf[..n].fill(-1);
                    p.fill(&mut buf[..n]);
                    chunked.extend_from_slice(&buf[..n]);
                    i += 1;
                }
                assert_eq!(chunked, reference, "{tune:?} {rate}");

                // No step larger than the waveform can make: for
                // a·(sin θ + 0.3 sin 2θ) the slope is at most 1.6·a·ω, plus
                // the envelope's own slope (at most PEAK·π/2 per attack).
                let len = p.note_len as usize;
                let attack = f64::from(ATTACK_MS * rate / 1000);
                let env_step = f64::from(PEAK) * std::f64::consts::FRAC_PI_2 / attack;
                for (n, w) in reference.windows(2).enumerate() {
                    let midi = tune.notes()[(n / len) % 8].max(tune.notes()[((n + 1) / len) % 8]);
                    let omega = TAU * midi_hz(midi) / f64::from(rate);
                    let bound = 1.6 * f64::from(FUNDAMENTAL) * omega + env_step + 2.0;
                    let step = f64::from((i32::from(w[1]) - i32::from(w[0])).unsigned_abs());
                    assert!(
                        step <= bound,
                        "{tune:?} {rate}: step {step} > {bound} at {n}"
                    );
                }
            }
        }
    }

    #[test]
    fn fill_overwrites_and_reset_rewinds() {
        let mut p = MusicPlayer::new(Tune::Hold, 16000);
        let mut a = [i16::MAX; 320];
        p.fill(&mut a);
        assert_eq!(a.to_vec(), render(Tune::Hold, 16000, 320));
        p.reset();
        let mut b = [0i16; 320];
        p.fill(&mut b);
        assert_eq!(a, b);
        assert_eq!(p.tune(), Tune::Hold);
        assert_eq!(p.sample_rate(), 16000);
    }

    #[test]
    fn rates_sound_the_same() {
        // 16 kHz and 8 kHz render the same melody: compare the level of the
        // first note's fundamental.
        let f = midi_hz(Tune::Wait.notes()[0]);
        let a = render(Tune::Wait, 8000, 1500);
        let b = render(Tune::Wait, 16000, 3000);
        let (pa, pb) = (goertzel(&a, f, 8000), goertzel(&b, f, 16000));
        assert!((pa / pb - 1.0).abs() < 0.05, "{pa} vs {pb}");
    }

    #[test]
    #[should_panic(expected = "unsupported sample rate")]
    fn rejects_too_low_sample_rate() {
        let _ = MusicPlayer::new(Tune::Wait, 4000);
    }
}
