//! Helpers shared by the unit tests of the sound sources.

use std::f64::consts::TAU;

/// Goertzel power of `freq` in `x`, normalised so a full-scale sine of that
/// exact frequency gives about 1.0.
pub(crate) fn goertzel(x: &[i16], freq: f64, rate: u32) -> f64 {
    let w = TAU * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s = f64::from(v) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    let n = x.len() as f64;
    power / (n * n / 4.0)
}
