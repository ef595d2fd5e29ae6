//! The block kernels of a mix and their runtime dispatch.
//!
//! A tick works in blocks of samples (see `mix.rs`): it sums every talker's
//! block into i32 sums held in registers, saturates them into the shared
//! mixes, and derives each listener's block from those. The block kernels
//! are the methods of `lanes::Lanes`: plain loops in `lanes::Portable`, and
//! SSE2, AVX2 and AVX-512BW intrinsics in the x86 module. What is dispatched
//! is the whole tick: the x86 module compiles `mix::mix_pass` once per
//! instruction set with that set's kernels inlined, and [`Kernels::detect`]
//! picks the widest one the CPU has, once, storing a plain function pointer,
//! so a tick pays one indirect call and no detection. [`Room::new`], which
//! picks them, lives here too: the room itself only holds and runs its
//! [`Kernels`], so imports run kernel → mix → room and never back.

use crate::lanes::Portable;
use crate::room::{Kernels, Room};

#[cfg(target_arch = "x86_64")]
mod x86;

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

    /// The pass with the plain-loop kernels, compiled for the baseline
    /// target; runs everywhere.
    pub fn portable() -> Self {
        Self {
            name: "portable",
            mix_pass: |room| crate::mix::mix_pass(room, Portable),
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
}

impl Room {
    /// A room with every buffer allocated, mixing with [`Kernels::detect`].
    ///
    /// # Panics
    /// If `capacity` exceeds [`crate::MAX_CAPACITY`].
    pub fn new(config: crate::RoomConfig) -> Self {
        Self::with_kernels(config, Kernels::detect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
