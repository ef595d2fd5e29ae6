//! The mixer's one audited unsafe module: the block kernels written with
//! x86_64 SIMD intrinsics, and the mix pass compiled for each instruction set.
//!
//! Each instruction set has a token type ([`Sse2`], [`Avx2`], [`Avx512`])
//! implementing `Lanes`, and a `#[target_feature]` copy of the whole mix
//! pass (`mix::mix_pass` with that token, its kernels inlined). The
//! argument for every `unsafe` here is the same: a token is a private
//! zero-sized value made only by its `detect()` after
//! `is_x86_feature_detected!` confirmed every feature its intrinsics need,
//! so holding one proves the CPU runs them. Loads and stores take their
//! pointers from `&[i16; N]` arrays of exactly the width they access.
//!
//! Explicit intrinsics rather than auto-vectorised loops: with a dynamic
//! talker count LLVM split the i32 block sums into scalars and left the
//! additions scalar (one `movsx`/`add` per sample), so the same loops ran
//! at about the portable speed on every instruction set.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::lanes::{Acc, BLOCK, Block, Lanes};
use crate::room::{Kernels, Room};

/// SSE2 kernels (every x86_64 CPU has SSE2; listed for comparison).
pub(super) fn sse2() -> Option<Kernels> {
    Sse2::detect().map(|_| Kernels {
        name: "sse2",
        // SAFETY: SSE2 was detected just now.
        mix_pass: |room| unsafe { sse2_pass(room) },
    })
}

/// AVX2 kernels, if detected.
pub(super) fn avx2() -> Option<Kernels> {
    Avx2::detect().map(|_| Kernels {
        name: "avx2",
        // SAFETY: AVX2 was detected just now.
        mix_pass: |room| unsafe { avx2_pass(room) },
    })
}

/// AVX-512 kernels: F for 512-bit registers and the saturating down-convert,
/// BW for 16-bit lanes, VL for the 256-bit forms LLVM mixes in.
pub(super) fn avx512bw() -> Option<Kernels> {
    Avx512::detect().map(|_| Kernels {
        name: "avx512bw",
        // SAFETY: AVX-512 F, BW and VL were detected just now.
        mix_pass: |room| unsafe { avx512_pass(room) },
    })
}

#[target_feature(enable = "sse2")]
fn sse2_pass(room: &mut Room) {
    crate::mix::mix_pass(room, Sse2(()))
}

#[target_feature(enable = "avx2")]
fn avx2_pass(room: &mut Room) {
    crate::mix::mix_pass(room, Avx2(()))
}

#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl")]
fn avx512_pass(room: &mut Room) {
    crate::mix::mix_pass(room, Avx512(()))
}

/// Proof that the CPU has SSE2: 8 lanes of i32 per register.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sse2(());

impl Sse2 {
    pub(crate) fn detect() -> Option<Self> {
        is_x86_feature_detected!("sse2").then_some(Self(()))
    }
}

impl Lanes for Sse2 {
    type Sum = [__m128i; BLOCK / 4];
    type Clipped = [__m128i; BLOCK / 8];

    #[inline(always)]
    fn zero(self) -> Self::Sum {
        // SAFETY: the token proves SSE2 (see the module docs).
        [unsafe { _mm_setzero_si128() }; BLOCK / 4]
    }

    #[inline(always)]
    fn widen(self, block: &Block) -> Self::Sum {
        self.add(self.zero(), block)
    }

    #[inline(always)]
    fn load(self, sum: &Acc) -> Self::Sum {
        let parts = sum.as_chunks::<4>().0;
        // SAFETY: SSE2 (token); each load reads the 16 bytes of its part.
        std::array::from_fn(|k| unsafe { _mm_loadu_si128(parts[k].as_ptr().cast()) })
    }

    #[inline(always)]
    fn store(self, out: &mut Acc, sum: Self::Sum) {
        for (part, s) in out.as_chunks_mut::<4>().0.iter_mut().zip(sum) {
            // SAFETY: SSE2 (token); the store writes the 16 bytes of `part`.
            unsafe { _mm_storeu_si128(part.as_mut_ptr().cast(), s) }
        }
    }

    #[inline(always)]
    fn add(self, mut sum: Self::Sum, block: &Block) -> Self::Sum {
        for (pair, part) in sum.chunks_exact_mut(2).zip(block.as_chunks::<8>().0) {
            let (low, high) = self.widen8(part);
            // SAFETY: SSE2 (token).
            unsafe {
                pair[0] = _mm_add_epi32(pair[0], low);
                pair[1] = _mm_add_epi32(pair[1], high);
            }
        }
        sum
    }

    #[inline(always)]
    fn sub(self, mut sum: Self::Sum, block: &Block) -> Self::Sum {
        for (pair, part) in sum.chunks_exact_mut(2).zip(block.as_chunks::<8>().0) {
            let (low, high) = self.widen8(part);
            // SAFETY: SSE2 (token).
            unsafe {
                pair[0] = _mm_sub_epi32(pair[0], low);
                pair[1] = _mm_sub_epi32(pair[1], high);
            }
        }
        sum
    }

    #[inline(always)]
    fn clip(self, out: &mut Block, sum: Self::Sum) {
        store_128(out, self.pack(sum));
    }

    #[inline(always)]
    fn clip_keep(self, out: &mut Block, sum: Self::Sum) -> (Self::Clipped, bool) {
        let clipped = self.pack(sum);
        store_128(out, clipped);
        // SAFETY: SSE2 (token).
        let exact = unsafe {
            let (max, min) = (
                _mm_set1_epi32(i16::MAX.into()),
                _mm_set1_epi32(i16::MIN.into()),
            );
            let outside = sum.iter().fold(_mm_setzero_si128(), |acc, s| {
                let beyond = _mm_or_si128(_mm_cmpgt_epi32(*s, max), _mm_cmplt_epi32(*s, min));
                _mm_or_si128(acc, beyond)
            });
            _mm_movemask_epi8(outside) == 0
        };
        (clipped, exact)
    }

    #[inline(always)]
    fn sub_saturating(self, out: &mut Block, a: Self::Clipped, b: &Block) {
        let b = b.as_chunks::<8>().0;
        for (k, o) in out.as_chunks_mut::<8>().0.iter_mut().enumerate() {
            // SAFETY: SSE2 (token); the load and the store cover one 16-byte
            // part each.
            unsafe {
                let d = _mm_subs_epi16(a[k], _mm_loadu_si128(b[k].as_ptr().cast()));
                _mm_storeu_si128(o.as_mut_ptr().cast(), d)
            }
        }
    }
}

impl Sse2 {
    /// Eight samples as two registers of four i32.
    #[inline(always)]
    fn widen8(self, part: &[i16; 8]) -> (__m128i, __m128i) {
        // SAFETY: SSE2 (token); the load reads the 16 bytes of `part`.
        unsafe {
            let v = _mm_loadu_si128(part.as_ptr().cast());
            // Sign-extend: put each i16 in the high half, shift down.
            let low = _mm_srai_epi32(_mm_unpacklo_epi16(v, v), 16);
            let high = _mm_srai_epi32(_mm_unpackhi_epi16(v, v), 16);
            (low, high)
        }
    }

    /// Saturates pairs of i32 registers into i16 registers, in order.
    #[inline(always)]
    fn pack(self, sum: [__m128i; BLOCK / 4]) -> [__m128i; BLOCK / 8] {
        // SAFETY: SSE2 (token).
        std::array::from_fn(|k| unsafe { _mm_packs_epi32(sum[2 * k], sum[2 * k + 1]) })
    }
}

/// Stores i16 registers into a block.
#[inline(always)]
fn store_128(out: &mut Block, clipped: [__m128i; BLOCK / 8]) {
    for (part, v) in out.as_chunks_mut::<8>().0.iter_mut().zip(clipped) {
        // SAFETY: SSE2 (every x86_64 CPU); the store writes the 16 bytes of
        // `part`.
        unsafe { _mm_storeu_si128(part.as_mut_ptr().cast(), v) }
    }
}

/// Proof that the CPU has AVX2: 8 lanes of i32 per register.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

impl Avx2 {
    pub(crate) fn detect() -> Option<Self> {
        is_x86_feature_detected!("avx2").then_some(Self(()))
    }
}

impl Lanes for Avx2 {
    type Sum = [__m256i; BLOCK / 8];
    type Clipped = [__m256i; BLOCK / 16];

    #[inline(always)]
    fn zero(self) -> Self::Sum {
        // SAFETY: the token proves AVX2 (see the module docs).
        [unsafe { _mm256_setzero_si256() }; BLOCK / 8]
    }

    #[inline(always)]
    fn widen(self, block: &Block) -> Self::Sum {
        let parts = block.as_chunks::<8>().0;
        // SAFETY: AVX2 (token); each load reads the 16 bytes of its part.
        std::array::from_fn(|k| unsafe {
            _mm256_cvtepi16_epi32(_mm_loadu_si128(parts[k].as_ptr().cast()))
        })
    }

    #[inline(always)]
    fn load(self, sum: &Acc) -> Self::Sum {
        let parts = sum.as_chunks::<8>().0;
        // SAFETY: AVX2 (token); each load reads the 32 bytes of its part.
        std::array::from_fn(|k| unsafe { _mm256_loadu_si256(parts[k].as_ptr().cast()) })
    }

    #[inline(always)]
    fn store(self, out: &mut Acc, sum: Self::Sum) {
        for (part, s) in out.as_chunks_mut::<8>().0.iter_mut().zip(sum) {
            // SAFETY: AVX2 (token); the store writes the 32 bytes of `part`.
            unsafe { _mm256_storeu_si256(part.as_mut_ptr().cast(), s) }
        }
    }

    #[inline(always)]
    fn add(self, sum: Self::Sum, block: &Block) -> Self::Sum {
        let wide = self.widen(block);
        // SAFETY: AVX2 (token).
        std::array::from_fn(|k| unsafe { _mm256_add_epi32(sum[k], wide[k]) })
    }

    #[inline(always)]
    fn sub(self, sum: Self::Sum, block: &Block) -> Self::Sum {
        let wide = self.widen(block);
        // SAFETY: AVX2 (token).
        std::array::from_fn(|k| unsafe { _mm256_sub_epi32(sum[k], wide[k]) })
    }

    #[inline(always)]
    fn clip(self, out: &mut Block, sum: Self::Sum) {
        // SAFETY: AVX2 (token).
        unsafe { store_256(out, self.pack(sum)) }
    }

    #[inline(always)]
    fn clip_keep(self, out: &mut Block, sum: Self::Sum) -> (Self::Clipped, bool) {
        let clipped = self.pack(sum);
        // SAFETY: AVX2 (token).
        let exact = unsafe {
            store_256(out, clipped);
            // The block's extremes, then two compares: fewer registers
            // than comparing every sum (which spilled).
            let high = sum.iter().fold(sum[0], |m, s| _mm256_max_epi32(m, *s));
            let low = sum.iter().fold(sum[0], |m, s| _mm256_min_epi32(m, *s));
            let outside = _mm256_or_si256(
                _mm256_cmpgt_epi32(high, _mm256_set1_epi32(i16::MAX.into())),
                _mm256_cmpgt_epi32(_mm256_set1_epi32(i16::MIN.into()), low),
            );
            _mm256_testz_si256(outside, outside) == 1
        };
        (clipped, exact)
    }

    #[inline(always)]
    fn sub_saturating(self, out: &mut Block, a: Self::Clipped, b: &Block) {
        // SAFETY: AVX2 (token).
        unsafe { subs_256(out, a, b) }
    }
}

impl Avx2 {
    /// Saturates pairs of i32 registers into i16 registers, in order.
    #[inline(always)]
    fn pack(self, sum: [__m256i; BLOCK / 8]) -> [__m256i; BLOCK / 16] {
        // SAFETY: AVX2 (token).
        std::array::from_fn(|k| unsafe {
            // packs works within 128-bit halves: [a0..3 b0..3 a4..7 b4..7];
            // the permute puts the quarters back in order.
            let packed = _mm256_packs_epi32(sum[2 * k], sum[2 * k + 1]);
            _mm256_permute4x64_epi64(packed, 0b11_01_10_00)
        })
    }
}

/// Proof that the CPU has AVX-512 F, BW and VL: 16 lanes of i32 per register.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx512(());

impl Avx512 {
    pub(crate) fn detect() -> Option<Self> {
        (is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl"))
        .then_some(Self(()))
    }
}

impl Lanes for Avx512 {
    type Sum = [__m512i; BLOCK / 16];
    type Clipped = [__m256i; BLOCK / 16];

    #[inline(always)]
    fn zero(self) -> Self::Sum {
        // SAFETY: the token proves AVX-512F (see the module docs).
        [unsafe { _mm512_setzero_si512() }; BLOCK / 16]
    }

    #[inline(always)]
    fn widen(self, block: &Block) -> Self::Sum {
        let parts = block.as_chunks::<16>().0;
        // SAFETY: AVX-512F (token); each load reads the 32 bytes of its part.
        std::array::from_fn(|k| unsafe {
            _mm512_cvtepi16_epi32(_mm256_loadu_si256(parts[k].as_ptr().cast()))
        })
    }

    #[inline(always)]
    fn load(self, sum: &Acc) -> Self::Sum {
        let parts = sum.as_chunks::<16>().0;
        // SAFETY: AVX-512F (token); each load reads the 64 bytes of its part.
        std::array::from_fn(|k| unsafe { _mm512_loadu_si512(parts[k].as_ptr().cast()) })
    }

    #[inline(always)]
    fn store(self, out: &mut Acc, sum: Self::Sum) {
        for (part, s) in out.as_chunks_mut::<16>().0.iter_mut().zip(sum) {
            // SAFETY: AVX-512F (token); the store writes the 64 bytes of `part`.
            unsafe { _mm512_storeu_si512(part.as_mut_ptr().cast(), s) }
        }
    }

    #[inline(always)]
    fn add(self, sum: Self::Sum, block: &Block) -> Self::Sum {
        let wide = self.widen(block);
        // SAFETY: AVX-512F (token).
        std::array::from_fn(|k| unsafe { _mm512_add_epi32(sum[k], wide[k]) })
    }

    #[inline(always)]
    fn sub(self, sum: Self::Sum, block: &Block) -> Self::Sum {
        let wide = self.widen(block);
        // SAFETY: AVX-512F (token).
        std::array::from_fn(|k| unsafe { _mm512_sub_epi32(sum[k], wide[k]) })
    }

    #[inline(always)]
    fn clip(self, out: &mut Block, sum: Self::Sum) {
        // SAFETY: AVX-512F implies AVX2.
        unsafe { store_256(out, self.pack(sum)) }
    }

    #[inline(always)]
    fn clip_keep(self, out: &mut Block, sum: Self::Sum) -> (Self::Clipped, bool) {
        let clipped = self.pack(sum);
        // SAFETY: AVX-512F, which implies AVX2 (token).
        let exact = unsafe {
            store_256(out, clipped);
            // The block's extremes, then two compares (as for AVX2).
            let high = sum.iter().fold(sum[0], |m, s| _mm512_max_epi32(m, *s));
            let low = sum.iter().fold(sum[0], |m, s| _mm512_min_epi32(m, *s));
            _mm512_cmpgt_epi32_mask(high, _mm512_set1_epi32(i16::MAX.into()))
                | _mm512_cmplt_epi32_mask(low, _mm512_set1_epi32(i16::MIN.into()))
                == 0
        };
        (clipped, exact)
    }

    #[inline(always)]
    fn sub_saturating(self, out: &mut Block, a: Self::Clipped, b: &Block) {
        // 256-bit: a block is 160 bytes, so 512-bit accesses would straddle
        // cache lines in every other block. SAFETY: AVX-512F implies AVX2.
        unsafe { subs_256(out, a, b) }
    }
}

impl Avx512 {
    /// Saturates each i32 register into an i16 register (in registers: the
    /// down-convert straight to memory is slow on Zen 4).
    #[inline(always)]
    fn pack(self, sum: [__m512i; BLOCK / 16]) -> [__m256i; BLOCK / 16] {
        // SAFETY: AVX-512F (token).
        std::array::from_fn(|k| unsafe { _mm512_cvtsepi32_epi16(sum[k]) })
    }
}

/// Stores i16 registers into a block.
///
/// # Safety
/// The CPU must have AVX2.
#[inline(always)]
unsafe fn store_256(out: &mut Block, clipped: [__m256i; BLOCK / 16]) {
    for (part, v) in out.as_chunks_mut::<16>().0.iter_mut().zip(clipped) {
        // SAFETY: AVX2 (the caller's promise); the store writes the 32 bytes
        // of `part`.
        unsafe { _mm256_storeu_si256(part.as_mut_ptr().cast(), v) }
    }
}

/// `out = saturate(a - b)` in 16-sample (32-byte) steps.
///
/// # Safety
/// The CPU must have AVX2.
#[inline(always)]
unsafe fn subs_256(out: &mut Block, a: [__m256i; BLOCK / 16], b: &Block) {
    let b = b.as_chunks::<16>().0;
    for (k, o) in out.as_chunks_mut::<16>().0.iter_mut().enumerate() {
        // SAFETY: AVX2 (the caller's promise); the load and the store cover
        // one 32-byte part each.
        unsafe {
            let d = _mm256_subs_epi16(a[k], _mm256_loadu_si256(b[k].as_ptr().cast()));
            _mm256_storeu_si256(o.as_mut_ptr().cast(), d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::tests::check_lanes;

    #[test]
    fn every_detected_set_saturates_like_plain_arithmetic() {
        if let Some(lanes) = Sse2::detect() {
            check_lanes(lanes);
        }
        if let Some(lanes) = Avx2::detect() {
            check_lanes(lanes);
        }
        if let Some(lanes) = Avx512::detect() {
            check_lanes(lanes);
        }
    }
}
