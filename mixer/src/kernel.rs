//! The per-sample kernels of a mix and their runtime dispatch.
//!
//! Every kernel is one plain slice loop (in [`body`]) that LLVM
//! auto-vectorises. [`Kernels::portable`] calls the loops as compiled for the
//! baseline target (on x86_64 that already means SSE2). The x86 module compiles
//! the same loops again inside `#[target_feature]` functions for SSE2, AVX2
//! and AVX-512BW, and [`Kernels::detect`] picks the widest one the CPU has,
//! once, storing plain function pointers so a tick pays no detection cost.
//!
//! Slices are zipped, never indexed: unequal lengths shorten the work to the
//! shortest slice instead of panicking, and no kernel's safety depends on
//! lengths (the only unsafe is calling a function whose CPU feature was
//! detected).

use std::fmt;

use crate::room::Room;

#[cfg(target_arch = "x86_64")]
mod x86;

/// `out = saturate(sum - own + extra)`.
type MixMinusPlus = fn(&mut [i16], &[i32], &[i16], &[i16]);
/// `sum += a + b + c + d`.
type Accumulate4 = fn(&mut [i32], [&[i16]; 4]);

/// A set of mixing kernels bound to one instruction set.
///
/// All samples are summed in i32: ten full-scale voices cannot wrap, and
/// saturation to i16 happens once, at the end, per listener.
#[derive(Clone, Copy)]
pub struct Kernels {
    name: &'static str,
    accumulate: fn(&mut [i32], &[i16]),
    accumulate4: Accumulate4,
    add_sums: fn(&mut [i32], &[i32]),
    clip: fn(&mut [i16], &[i32]) -> bool,
    mix_minus: fn(&mut [i16], &[i32], &[i16]),
    mix_plus: fn(&mut [i16], &[i32], &[i16]),
    mix_minus_plus: MixMinusPlus,
    add_saturating: fn(&mut [i16], &[i16], &[i16]),
    sub_saturating: fn(&mut [i16], &[i16], &[i16]),
    /// A whole `Room::mix` pass with these loops inlined into it.
    mix_pass: fn(&mut Room),
}

impl fmt::Debug for Kernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Kernels").field(&self.name).finish()
    }
}

impl Default for Kernels {
    fn default() -> Self {
        Self::detect()
    }
}

impl Kernels {
    /// The widest kernels this CPU runs: AVX-512BW, AVX2, SSE2, else portable.
    pub fn detect() -> Self {
        Self::avx512bw()
            .or_else(Self::avx2)
            .or_else(Self::sse2)
            .unwrap_or_else(Self::portable)
    }

    /// The plain loops compiled for the baseline target; runs everywhere.
    pub fn portable() -> Self {
        Self {
            name: "portable",
            accumulate: body::accumulate,
            accumulate4: body::accumulate4,
            add_sums: body::add_sums,
            clip: body::clip,
            mix_minus: body::mix_minus,
            mix_plus: body::mix_plus,
            mix_minus_plus: body::mix_minus_plus,
            add_saturating: body::add_saturating,
            sub_saturating: body::sub_saturating,
            mix_pass: crate::mix::mix_pass,
        }
    }

    /// SSE2 kernels, if this is an x86_64 CPU that has SSE2 (all do).
    pub fn sse2() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        return x86::sse2();
        #[cfg(not(target_arch = "x86_64"))]
        None
    }

    /// AVX2 kernels, if the CPU has AVX2.
    pub fn avx2() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        return x86::avx2();
        #[cfg(not(target_arch = "x86_64"))]
        None
    }

    /// AVX-512 (F, BW, VL) kernels, if the CPU has them.
    pub fn avx512bw() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        return x86::avx512bw();
        #[cfg(not(target_arch = "x86_64"))]
        None
    }

    /// Every kernel set this CPU can run, portable first (for tests and benches).
    pub fn available() -> impl Iterator<Item = Kernels> {
        [
            Some(Self::portable()),
            Self::sse2(),
            Self::avx2(),
            Self::avx512bw(),
        ]
        .into_iter()
        .flatten()
    }

    /// `portable`, `sse2`, `avx2` or `avx512bw`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The room's tick, compiled for this instruction set.
    pub(crate) fn mix_pass(&self) -> fn(&mut Room) {
        self.mix_pass
    }

    /// `sum[i] += voice[i]`.
    pub fn accumulate(&self, sum: &mut [i32], voice: &[i16]) {
        (self.accumulate)(sum, voice)
    }

    /// `sum[i] += a[i] + b[i] + c[i] + d[i]`: four talkers per pass over the
    /// i32 sum, which is twice the bytes of a voice.
    pub fn accumulate4(&self, sum: &mut [i32], voices: [&[i16]; 4]) {
        (self.accumulate4)(sum, voices)
    }

    /// `sum[i] += other[i]`.
    pub fn add_sums(&self, sum: &mut [i32], other: &[i32]) {
        (self.add_sums)(sum, other)
    }

    /// `out[i] = saturate(sum[i])`; returns whether any sample saturated.
    pub fn clip(&self, out: &mut [i16], sum: &[i32]) -> bool {
        (self.clip)(out, sum)
    }

    /// `out[i] = saturate(sum[i] - own[i])`: everyone but the listener.
    pub fn mix_minus(&self, out: &mut [i16], sum: &[i32], own: &[i16]) {
        (self.mix_minus)(out, sum, own)
    }

    /// `out[i] = saturate(sum[i] + extra[i])`: the room plus private audio.
    pub fn mix_plus(&self, out: &mut [i16], sum: &[i32], extra: &[i16]) {
        (self.mix_plus)(out, sum, extra)
    }

    /// `out[i] = saturate(sum[i] - own[i] + extra[i])`.
    pub fn mix_minus_plus(&self, out: &mut [i16], sum: &[i32], own: &[i16], extra: &[i16]) {
        (self.mix_minus_plus)(out, sum, own, extra)
    }

    /// `out[i] = saturate(a[i] + b[i])`: music plus private audio, or an
    /// unclipped room mix plus private audio.
    pub fn add_saturating(&self, out: &mut [i16], a: &[i16], b: &[i16]) {
        (self.add_saturating)(out, a, b)
    }

    /// `out[i] = saturate(a[i] - b[i])`: mix-minus from an unclipped room mix.
    ///
    /// Exact when `a` is a sum that did not saturate: the difference is then
    /// computed exactly before saturating, as in [`Kernels::mix_minus`], but
    /// on i16 lanes (twice as many per vector, half the bytes read).
    pub fn sub_saturating(&self, out: &mut [i16], a: &[i16], b: &[i16]) {
        (self.sub_saturating)(out, a, b)
    }
}

/// The loop bodies, shared by every instruction set.
///
/// `#[inline(always)]` makes each `#[target_feature]` wrapper compile its own
/// copy with that feature's vector width. Saturation is a plain clip, not a
/// soft limiter: it is exact (bit-identical to the naive sum) for any room
/// that is not clipping, and a loud room pins at ±full scale instead of
/// wrapping to the opposite sign. The i32 sums themselves cannot wrap: a room
/// holds at most [`crate::MAX_CAPACITY`] voices, and wrapping arithmetic only
/// keeps debug builds panic-free for callers of the public kernels.
pub(crate) mod body {
    #[inline(always)]
    fn saturate(x: i32) -> i16 {
        x.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
    }

    #[inline(always)]
    pub(crate) fn accumulate(sum: &mut [i32], voice: &[i16]) {
        for (s, v) in sum.iter_mut().zip(voice) {
            *s = s.wrapping_add(i32::from(*v));
        }
    }

    #[inline(always)]
    pub(crate) fn accumulate4(sum: &mut [i32], [a, b, c, d]: [&[i16]; 4]) {
        for ((((s, a), b), c), d) in sum.iter_mut().zip(a).zip(b).zip(c).zip(d) {
            let four = i32::from(*a) + i32::from(*b) + i32::from(*c) + i32::from(*d);
            *s = s.wrapping_add(four);
        }
    }

    /// `sum[i] = a[i] + b[i] + c[i] + d[i]`: the first batch of a tick
    /// writes the sum instead of zeroing it first.
    #[inline(always)]
    pub(crate) fn sum4(sum: &mut [i32], [a, b, c, d]: [&[i16]; 4]) {
        for ((((s, a), b), c), d) in sum.iter_mut().zip(a).zip(b).zip(c).zip(d) {
            *s = i32::from(*a) + i32::from(*b) + i32::from(*c) + i32::from(*d);
        }
    }

    /// `sum[i] = voice[i]`, widened.
    #[inline(always)]
    pub(crate) fn widen(sum: &mut [i32], voice: &[i16]) {
        for (s, v) in sum.iter_mut().zip(voice) {
            *s = i32::from(*v);
        }
    }

    #[inline(always)]
    pub(crate) fn add_sums(sum: &mut [i32], other: &[i32]) {
        for (s, o) in sum.iter_mut().zip(other) {
            *s = s.wrapping_add(*o);
        }
    }

    #[inline(always)]
    pub(crate) fn clip(out: &mut [i16], sum: &[i32]) -> bool {
        // Min/max reductions vectorise; a per-sample "did it clip" flag
        // would not as well.
        let (mut low, mut high) = (0i32, 0i32);
        for (o, s) in out.iter_mut().zip(sum) {
            *o = saturate(*s);
            low = low.min(*s);
            high = high.max(*s);
        }
        low < i32::from(i16::MIN) || high > i32::from(i16::MAX)
    }

    #[inline(always)]
    pub(crate) fn mix_minus(out: &mut [i16], sum: &[i32], own: &[i16]) {
        for ((o, s), v) in out.iter_mut().zip(sum).zip(own) {
            *o = saturate(s.wrapping_sub(i32::from(*v)));
        }
    }

    #[inline(always)]
    pub(crate) fn mix_plus(out: &mut [i16], sum: &[i32], extra: &[i16]) {
        for ((o, s), e) in out.iter_mut().zip(sum).zip(extra) {
            *o = saturate(s.wrapping_add(i32::from(*e)));
        }
    }

    #[inline(always)]
    pub(crate) fn mix_minus_plus(out: &mut [i16], sum: &[i32], own: &[i16], extra: &[i16]) {
        for (((o, s), v), e) in out.iter_mut().zip(sum).zip(own).zip(extra) {
            *o = saturate(s.wrapping_sub(i32::from(*v)).wrapping_add(i32::from(*e)));
        }
    }

    #[inline(always)]
    pub(crate) fn add_saturating(out: &mut [i16], a: &[i16], b: &[i16]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = x.saturating_add(*y);
        }
    }

    #[inline(always)]
    pub(crate) fn sub_saturating(out: &mut [i16], a: &[i16], b: &[i16]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = x.saturating_sub(*y);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_available_set_agrees_with_portable_on_odd_lengths() {
        let p = Kernels::portable();
        for len in [0usize, 1, 7, 15, 16, 17, 31, 33, 63, 64, 65, 160, 161] {
            let voice: Vec<i16> = (0..len).map(|i| (i as i16).wrapping_mul(4099)).collect();
            let extra: Vec<i16> = (0..len).map(|i| (i as i16).wrapping_mul(-7919)).collect();
            let sum: Vec<i32> = (0..len).map(|i| (i as i32 - 80) * 1234).collect();
            for k in Kernels::available() {
                let (mut a, mut b) = (sum.clone(), sum.clone());
                p.accumulate(&mut a, &voice);
                k.accumulate(&mut b, &voice);
                assert_eq!(a, b, "{}", k.name());
                let four = [&voice[..], &extra[..], &voice[..], &extra[..]];
                p.accumulate4(&mut a, four);
                k.accumulate4(&mut b, four);
                assert_eq!(a, b, "{}", k.name());
                p.add_sums(&mut a, &sum);
                k.add_sums(&mut b, &sum);
                assert_eq!(a, b, "{}", k.name());
                let (mut x, mut y) = (vec![0i16; len], vec![0i16; len]);
                assert_eq!(p.clip(&mut x, &a), k.clip(&mut y, &a), "{}", k.name());
                assert_eq!(x, y, "{}", k.name());
                p.mix_minus(&mut x, &a, &voice);
                k.mix_minus(&mut y, &a, &voice);
                assert_eq!(x, y, "{}", k.name());
                p.mix_plus(&mut x, &a, &extra);
                k.mix_plus(&mut y, &a, &extra);
                assert_eq!(x, y, "{}", k.name());
                p.mix_minus_plus(&mut x, &a, &voice, &extra);
                k.mix_minus_plus(&mut y, &a, &voice, &extra);
                assert_eq!(x, y, "{}", k.name());
                p.add_saturating(&mut x, &voice, &extra);
                k.add_saturating(&mut y, &voice, &extra);
                assert_eq!(x, y, "{}", k.name());
                p.sub_saturating(&mut x, &voice, &extra);
                k.sub_saturating(&mut y, &voice, &extra);
                assert_eq!(x, y, "{}", k.name());
            }
        }
    }

    #[test]
    fn clip_saturates_instead_of_wrapping() {
        for k in Kernels::available() {
            let mut out = [0i16; 3];
            assert!(k.clip(&mut out, &[300_000, -300_000, 5]));
            assert_eq!(out, [i16::MAX, i16::MIN, 5]);
            assert!(!k.clip(&mut out, &[32_767, -32_768, 5]));
            k.sub_saturating(&mut out, &[30_000, -30_000, 1], &[-30_000, 30_000, 1]);
            assert_eq!(out, [i16::MAX, i16::MIN, 0]);
            k.add_saturating(&mut out, &[30_000, -30_000, 1], &[30_000, -30_000, 1]);
            assert_eq!(out, [i16::MAX, i16::MIN, 2]);
        }
    }

    #[test]
    fn detect_picks_the_widest() {
        let best = Kernels::available().last().unwrap();
        assert_eq!(Kernels::detect().name(), best.name());
        assert_eq!(
            format!("{:?}", Kernels::portable()),
            "Kernels(\"portable\")"
        );
    }
}
