//! The per-sample kernels of a mix, written as plain slice loops the compiler
//! auto-vectorises. Explicit SIMD with runtime dispatch replaces these bodies
//! later without changing their signatures.

/// `sum[i] += input[i]` for every sample.
pub fn accumulate(sum: &mut [i32], input: &[i16]) {
    for (s, x) in sum.iter_mut().zip(input) {
        *s += i32::from(*x);
    }
}

/// `out[i] = saturate(sum[i] - own[i])`: everyone but the listener.
///
/// Saturation (not a soft limiter) for now: it is exact for rooms that are not
/// clipping and never wraps around for rooms that are.
pub fn subtract_and_clip(sum: &[i32], own: &[i16], out: &mut [i16]) {
    for ((o, s), x) in out.iter_mut().zip(sum).zip(own) {
        *o = saturate(*s - i32::from(*x));
    }
}

/// `out[i] = saturate(sum[i])`: a listener who did not talk hears everyone.
pub fn clip_to_i16(sum: &[i32], out: &mut [i16]) {
    for (o, s) in out.iter_mut().zip(sum) {
        *o = saturate(*s);
    }
}

#[inline]
fn saturate(x: i32) -> i16 {
    x.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}
