//! Tone generation and analysis: proving which participants a phone heard.
//!
//! Each participant sends its own sine; what another participant received is
//! cut into 100 ms windows and each frequency's level is measured with a
//! Hann-windowed Goertzel filter. Through real G.711 a wanted tone reads about
//! −6 to −10 dBFS and absent ones stay at −45 dBFS or below in every window
//! (the noise of the whole chain). So the two verdicts are asymmetric:
//! - *heard*: above −35 dBFS in at least 30 % of the windows, which tolerates
//!   gaps, beeps and the start-up of a mix;
//! - *silent*: no window at all reaches −40 dBFS ([`ABSENT_DBFS`]), so a tone
//!   that leaks into a single window of a call is caught.

use std::f64::consts::PI;
use std::fmt::Write as _;

/// Sample rate of everything the test phone records (narrowband G.711).
pub const RATE: u32 = 8000;
/// A window counts as "tone present" above this level.
pub const PRESENT_DBFS: f64 = -35.0;
/// `hears` wants the tone in at least this fraction of the windows.
pub const HEARD_FRACTION: f64 = 0.3;
/// A tone is silent only if no window reaches this level: 30 dB under a
/// −10 dBFS tone, 5 dB over the highest level an absent tone reached through
/// G.711 in any of the suite's calls.
pub const ABSENT_DBFS: f64 = -40.0;
/// Levels are clamped here so that silence prints as a number, not `-inf`.
const FLOOR_DBFS: f64 = -150.0;

/// Level of `freq` in `window`, in dB relative to a full-scale sine.
///
/// A Hann window keeps a neighbouring tone's leakage far below the
/// detection threshold even when the frequency does not fall on a bin.
/// Returns −150 for an empty or silent window.
pub fn goertzel_dbfs(window: &[i16], rate: u32, freq: f32) -> f64 {
    let n = window.len();
    if n == 0 || rate == 0 {
        return FLOOR_DBFS;
    }
    let omega = 2.0 * PI * f64::from(freq) / f64::from(rate);
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    let mut window_sum = 0.0f64;
    for (i, &sample) in window.iter().enumerate() {
        let w = if n > 1 {
            0.5 - 0.5 * (2.0 * PI * i as f64 / (n - 1) as f64).cos()
        } else {
            1.0
        };
        window_sum += w;
        let s0 = f64::from(sample) * w + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    if window_sum <= 0.0 {
        return FLOOR_DBFS;
    }
    // A sine of amplitude A gives |X| = A * sum(w) / 2.
    let amplitude = 2.0 * power.sqrt() / window_sum;
    let db = 20.0 * (amplitude / 32767.0).log10();
    if db.is_finite() {
        db.max(FLOOR_DBFS)
    } else {
        FLOOR_DBFS
    }
}

/// Per-window levels of `freq` over consecutive 100 ms windows (a trailing
/// partial window is ignored).
pub fn window_levels(pcm: &[i16], rate: u32, freq: f32) -> Vec<f64> {
    let size = (rate / 10).max(1) as usize;
    pcm.chunks_exact(size)
        .map(|w| goertzel_dbfs(w, rate, freq))
        .collect()
}

/// RMS level of `pcm` in dBFS (a full-scale square wave is 0 dBFS); about
/// −150 for silence or an empty slice.
pub fn rms_dbfs(pcm: &[i16]) -> f64 {
    let power: f64 = pcm
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / pcm.len().max(1) as f64;
    10.0 * (power.max(1e-9) / (32768.0 * 32768.0)).log10()
}

/// Fraction of 100 ms windows in which `freq` is above −35 dBFS
/// (0.0 when `pcm` is shorter than one window).
pub fn presence(pcm: &[i16], rate: u32, freq: f32) -> f64 {
    let levels = window_levels(pcm, rate, freq);
    if levels.is_empty() {
        return 0.0;
    }
    let hits = levels.iter().filter(|&&l| l > PRESENT_DBFS).count();
    hits as f64 / levels.len() as f64
}

/// Whether 8 kHz `pcm` contains `freq` in at least 30 % of its windows.
pub fn hears(pcm: &[i16], freq: f32) -> bool {
    presence(pcm, RATE, freq) >= HEARD_FRACTION
}

/// Panics with a per-frequency table unless every `present` frequency is
/// heard and no `absent` frequency reaches [`ABSENT_DBFS`] in any window of
/// the 8 kHz `pcm`.
pub fn assert_hears(label: &str, pcm: &[i16], present: &[f32], absent: &[f32]) {
    assert_hears_above_floor(label, pcm, present, absent, ABSENT_DBFS);
}

/// [`assert_hears`] for audio with a higher noise floor than G.711 (a lossy
/// recording): an `absent` frequency may reach no window at `absent_dbfs`.
pub fn assert_hears_above_floor(
    label: &str,
    pcm: &[i16],
    present: &[f32],
    absent: &[f32],
    absent_dbfs: f64,
) {
    let mut wrong = false;
    let mut table = String::new();
    let _ = writeln!(
        table,
        "{:>8}  {:>8}  {:>8}  {:>11}  {:>9}  verdict",
        "freq Hz", "expected", "presence", "median dBFS", "max dBFS"
    );
    let rows = present
        .iter()
        .map(|f| (*f, true))
        .chain(absent.iter().map(|f| (*f, false)));
    for (freq, expected) in rows {
        let mut levels = window_levels(pcm, RATE, freq);
        let p = presence(pcm, RATE, freq);
        levels.sort_by(f64::total_cmp);
        let median = levels.get(levels.len() / 2).copied().unwrap_or(FLOOR_DBFS);
        let max = levels.last().copied().unwrap_or(FLOOR_DBFS);
        let ok = if expected {
            p >= HEARD_FRACTION
        } else {
            max < absent_dbfs
        };
        wrong |= !ok;
        let _ = writeln!(
            table,
            "{:>8.0}  {:>8}  {:>8.2}  {:>11.1}  {:>9.1}  {}",
            freq,
            if expected { "heard" } else { "silent" },
            p,
            median,
            max,
            if ok { "ok" } else { "WRONG" }
        );
    }
    if wrong {
        panic!(
            "{label}: unexpected tones in {:.2} s of audio ({} samples); \
             heard = above {PRESENT_DBFS} dBFS in >= {HEARD_FRACTION} of 100 ms windows, \
             silent = no window at {absent_dbfs} dBFS or above\n{table}",
            pcm.len() as f64 / f64::from(RATE),
            pcm.len()
        );
    }
}

/// Phase-continuous sine generator, so consecutive 20 ms frames join without
/// clicks (a click would smear energy into every frequency being measured).
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    phase: f64,
    step: f64,
    amplitude: f64,
}

impl ToneGenerator {
    /// A sine of `freq` Hz at `amplitude_dbfs` (0 = full scale) sampled at `rate`.
    pub fn new(freq: f32, rate: u32, amplitude_dbfs: f64) -> Self {
        ToneGenerator {
            phase: 0.0,
            step: 2.0 * PI * f64::from(freq) / f64::from(rate.max(1)),
            amplitude: 32767.0 * 10f64.powf(amplitude_dbfs / 20.0),
        }
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for sample in out {
            let v = (self.phase.sin() * self.amplitude).round();
            *sample = v.clamp(-32768.0, 32767.0) as i16;
            self.phase += self.step;
            if self.phase >= 2.0 * PI {
                self.phase -= 2.0 * PI;
            }
        }
    }
}

/// `n` samples of a sine of `freq` Hz at `amplitude_dbfs`.
pub fn sine(freq: f32, rate: u32, amplitude_dbfs: f64, n: usize) -> Vec<i16> {
    let mut out = vec![0; n];
    ToneGenerator::new(freq, rate, amplitude_dbfs).fill(&mut out);
    out
}

/// A 16-bit PCM WAV file holding `pcm` (`channels` interleaved) at `rate`.
pub fn wav_bytes(pcm: &[i16], channels: u16, rate: u32) -> Vec<u8> {
    let data_len = (pcm.len() * 2) as u32;
    let block = 2 * channels;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(block)).to_le_bytes()); // byte rate
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chorus_media::g711::Law;

    const OTHERS: [f32; 3] = [400.0, 1100.0, 1700.0];

    fn mix(a: &[i16], b: &[i16]) -> Vec<i16> {
        a.iter().zip(b).map(|(x, y)| x.saturating_add(*y)).collect()
    }

    #[test]
    fn full_scale_sine_reads_zero_dbfs() {
        let s = sine(700.0, RATE, 0.0, 800);
        let level = goertzel_dbfs(&s, RATE, 700.0);
        assert!((level - 0.0).abs() < 0.5, "level {level}");
        let level = goertzel_dbfs(&sine(700.0, RATE, -10.0, 800), RATE, 700.0);
        assert!((level + 10.0).abs() < 0.5, "level {level}");
    }

    #[test]
    fn pure_sine_is_heard_only_at_its_frequency() {
        let s = sine(700.0, RATE, -10.0, 8000);
        assert!(hears(&s, 700.0));
        for f in OTHERS {
            assert!(!hears(&s, f), "{f} Hz heard in a 700 Hz sine");
            assert!(goertzel_dbfs(&s[..800], RATE, f) < -44.0);
        }
        assert_hears("pure", &s, &[700.0], &OTHERS);
    }

    #[test]
    fn mix_is_heard_at_both() {
        let m = mix(
            &sine(400.0, RATE, -10.0, 8000),
            &sine(1100.0, RATE, -10.0, 8000),
        );
        assert_hears("mix", &m, &[400.0, 1100.0], &[700.0, 1700.0]);
    }

    #[test]
    fn silence_hears_nothing() {
        let s = vec![0i16; 8000];
        assert_hears("silence", &s, &[], &[400.0, 700.0, 1100.0, 1700.0]);
        assert_eq!(presence(&[], RATE, 700.0), 0.0);
        assert_eq!(goertzel_dbfs(&[], RATE, 700.0), FLOOR_DBFS);
    }

    #[test]
    fn short_bursts_below_thirty_percent_are_not_heard() {
        let mut s = vec![0i16; 8000];
        let burst = sine(700.0, RATE, -10.0, 1600);
        s[..1600].copy_from_slice(&burst);
        assert!((presence(&s, RATE, 700.0) - 0.2).abs() < 0.01);
        assert!(!hears(&s, 700.0));
    }

    #[test]
    #[should_panic(expected = "WRONG")]
    fn a_tone_leaking_into_a_few_windows_is_not_silent() {
        // 2 of 20 windows: far below "heard", but a leak all the same.
        let mut s = sine(400.0, RATE, -10.0, 16_000);
        let leak = sine(700.0, RATE, -30.0, 1600);
        for (x, l) in s[8000..9600].iter_mut().zip(&leak) {
            *x = x.saturating_add(*l);
        }
        assert!(!hears(&s, 700.0));
        assert_hears("leak", &s, &[400.0], &[700.0]);
    }

    #[test]
    fn a_higher_floor_admits_codec_noise_only() {
        let mut s = sine(400.0, RATE, -10.0, 8000);
        let noise = sine(700.0, RATE, -38.0, 8000);
        for (x, n) in s.iter_mut().zip(&noise) {
            *x = x.saturating_add(*n);
        }
        assert_hears_above_floor("codec", &s, &[400.0], &[700.0], -35.0);
        let loud = std::panic::catch_unwind(|| {
            assert_hears_above_floor("codec", &s, &[400.0], &[700.0], -40.0)
        });
        assert!(loud.is_err(), "-38 dBFS is not silent under a -40 floor");
    }

    #[test]
    #[should_panic(expected = "WRONG")]
    fn assert_hears_panics_with_a_table() {
        assert_hears("x", &sine(700.0, RATE, -10.0, 8000), &[400.0], &[]);
    }

    #[test]
    fn g711_round_trip_keeps_verdicts() {
        let m = mix(
            &sine(400.0, RATE, -10.0, 8000),
            &sine(1100.0, RATE, -10.0, 8000),
        );
        for law in [Law::Ulaw, Law::Alaw] {
            let mut encoded = vec![0u8; m.len()];
            law.encode(&m, &mut encoded);
            let mut decoded = vec![0i16; m.len()];
            law.decode(&encoded, &mut decoded);
            assert_hears("g711", &decoded, &[400.0, 1100.0], &[700.0, 1700.0]);
            let level = goertzel_dbfs(&decoded[..800], RATE, 400.0);
            assert!((level + 10.0).abs() < 1.0, "level {level}");
        }
    }
}
