//! The mixer's one audited unsafe module: x86_64 kernels compiled with wider
//! instruction sets and selected at run time.
//!
//! Each instruction set gets a module of `#[target_feature]` functions whose
//! bodies are the shared loops in `kernel::body`, and the whole mix pass
//! (`mix::mix_pass`), inlined so LLVM vectorises them for that feature. Calling such a function on a CPU without the
//! feature is undefined behaviour, hence `unsafe` at each call. The argument
//! is the same everywhere: the safe shims below are private to their module
//! and reachable only through the `Kernels` value that module's `kernels()`
//! builds, and `kernels()` is called only after `is_x86_feature_detected!`
//! confirmed every feature the module enables. The wrapped code is safe Rust
//! (zipped or bounds-checked slices), so the CPU feature is the only
//! precondition.
#![allow(unsafe_code)]

use super::Kernels;

/// SSE2 kernels (every x86_64 CPU; listed for completeness and comparison).
pub(super) fn sse2() -> Option<Kernels> {
    is_x86_feature_detected!("sse2").then(sse2::kernels)
}

/// AVX2 kernels, if detected.
pub(super) fn avx2() -> Option<Kernels> {
    is_x86_feature_detected!("avx2").then(avx2::kernels)
}

/// AVX-512 kernels: F for 512-bit registers, BW for 16-bit lanes (widening
/// and saturating packs), VL for the narrower forms LLVM mixes in.
pub(super) fn avx512bw() -> Option<Kernels> {
    (is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl"))
    .then(avx512bw::kernels)
}

/// Generates one instruction set's module: `#[target_feature]` copies of the
/// loops, and `kernels()` that wraps them in safe shims. `kernels()` must only
/// be called once `$feature` is detected (see the module docs).
macro_rules! kernels_for {
    ($module:ident, $feature:literal) => {
        mod $module {
            use crate::kernel::{Kernels, body};
            use crate::room::Room;

            #[target_feature(enable = $feature)]
            fn mix_pass(room: &mut Room) {
                crate::mix::mix_pass(room)
            }

            #[target_feature(enable = $feature)]
            fn accumulate(sum: &mut [i32], voice: &[i16]) {
                body::accumulate(sum, voice)
            }

            #[target_feature(enable = $feature)]
            fn accumulate4(sum: &mut [i32], voices: [&[i16]; 4]) {
                body::accumulate4(sum, voices)
            }

            #[target_feature(enable = $feature)]
            fn add_sums(sum: &mut [i32], other: &[i32]) {
                body::add_sums(sum, other)
            }

            #[target_feature(enable = $feature)]
            fn clip(out: &mut [i16], sum: &[i32]) -> bool {
                body::clip(out, sum)
            }

            #[target_feature(enable = $feature)]
            fn mix_minus(out: &mut [i16], sum: &[i32], own: &[i16]) {
                body::mix_minus(out, sum, own)
            }

            #[target_feature(enable = $feature)]
            fn mix_plus(out: &mut [i16], sum: &[i32], extra: &[i16]) {
                body::mix_plus(out, sum, extra)
            }

            #[target_feature(enable = $feature)]
            fn mix_minus_plus(out: &mut [i16], sum: &[i32], own: &[i16], extra: &[i16]) {
                body::mix_minus_plus(out, sum, own, extra)
            }

            #[target_feature(enable = $feature)]
            fn add_saturating(out: &mut [i16], a: &[i16], b: &[i16]) {
                body::add_saturating(out, a, b)
            }

            #[target_feature(enable = $feature)]
            fn sub_saturating(out: &mut [i16], a: &[i16], b: &[i16]) {
                body::sub_saturating(out, a, b)
            }

            /// Only called by the detecting functions of the parent module,
            /// after the features were detected.
            pub(super) fn kernels() -> Kernels {
                Kernels {
                    name: stringify!($module),
                    // SAFETY: this shim is only reachable through the Kernels
                    // built here, which exist only after `$feature` was
                    // detected on this CPU.
                    accumulate: |sum, voice| unsafe { accumulate(sum, voice) },
                    // SAFETY: as above, the feature was detected first.
                    accumulate4: |sum, voices| unsafe { accumulate4(sum, voices) },
                    // SAFETY: as above, the feature was detected first.
                    add_sums: |sum, other| unsafe { add_sums(sum, other) },
                    // SAFETY: as above, the feature was detected first.
                    clip: |out, sum| unsafe { clip(out, sum) },
                    // SAFETY: as above, the feature was detected first.
                    mix_minus: |out, sum, own| unsafe { mix_minus(out, sum, own) },
                    // SAFETY: as above, the feature was detected first.
                    mix_plus: |out, sum, extra| unsafe { mix_plus(out, sum, extra) },
                    // SAFETY: as above, the feature was detected first.
                    mix_minus_plus: |out, sum, own, extra| unsafe {
                        mix_minus_plus(out, sum, own, extra)
                    },
                    // SAFETY: as above, the feature was detected first.
                    add_saturating: |out, a, b| unsafe { add_saturating(out, a, b) },
                    // SAFETY: as above, the feature was detected first.
                    sub_saturating: |out, a, b| unsafe { sub_saturating(out, a, b) },
                    // SAFETY: as above, the feature was detected first.
                    mix_pass: |room| unsafe { mix_pass(room) },
                }
            }
        }
    };
}

kernels_for!(sse2, "sse2");
kernels_for!(avx2, "avx2");
kernels_for!(avx512bw, "avx512f,avx512bw,avx512vl");
