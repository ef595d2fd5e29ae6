//! 8 kHz ↔ 16 kHz conversion for G.711 legs when the mixer runs wideband.
//!
//! G.711 carries 8 kHz audio, so upsampling adds no information: linear
//! interpolation is enough, and averaging pairs on the way down is a cheap
//! low-pass that keeps the mixer's 4–8 kHz content from aliasing.

/// Doubles the rate: `out.len()` must be `2 * input.len()`. `last` carries
/// the previous frame's final sample so frame edges interpolate smoothly.
pub fn upsample_2x(input: &[i16], last: &mut i16, out: &mut [i16]) {
    let mut prev = i32::from(*last);
    for (pair, x) in out.chunks_exact_mut(2).zip(input) {
        let x = i32::from(*x);
        pair[0] = ((prev + x) / 2) as i16;
        pair[1] = x as i16;
        prev = x;
    }
    *last = prev as i16;
}

/// Halves the rate: `out.len()` must be `input.len() / 2`.
pub fn downsample_2x(input: &[i16], out: &mut [i16]) {
    for (o, pair) in out.iter_mut().zip(input.chunks_exact(2)) {
        *o = ((i32::from(pair[0]) + i32::from(pair[1])) / 2) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_a_low_tone() {
        let tone: Vec<i16> = (0..160)
            .map(|n| {
                (8000.0 * (2.0 * std::f32::consts::PI * 400.0 * n as f32 / 8000.0).sin()) as i16
            })
            .collect();
        let mut last = 0;
        let mut wide = vec![0; 320];
        upsample_2x(&tone, &mut last, &mut wide);
        let mut narrow = vec![0; 160];
        downsample_2x(&wide, &mut narrow);
        let err: i64 = tone[1..]
            .iter()
            .zip(&narrow[1..])
            .map(|(a, b)| i64::from((a - b).abs()))
            .max()
            .unwrap();
        assert!(err < 1000, "max error {err}");
        assert_eq!(last, tone[159]);
    }
}
