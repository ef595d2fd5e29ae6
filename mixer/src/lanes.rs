//! The block kernels of a mix: what a tick does to [`BLOCK`] samples at a
//! time, as the methods of [`Lanes`]. [`Portable`] is plain loops; the x86
//! module implements the same trait with SSE2, AVX2 and AVX-512BW
//! intrinsics.

/// Samples per block: one 512-bit register of i16 (two AVX2, four SSE2), and
/// a divisor of the 160- and 320-sample frames of 20 ms at 8 and 16 kHz.
/// Rooms pad other frame lengths up to whole blocks.
pub(crate) const BLOCK: usize = 80;

/// One block of samples.
pub(crate) type Block = [i16; BLOCK];

/// One block of a sum, in i32: ten full-scale voices cannot wrap, and
/// saturation to i16 happens once, at the end, per listener.
pub(crate) type Acc = [i32; BLOCK];

/// The block kernels of one instruction set: i16 blocks in, i32 sums kept
/// in registers, saturated i16 blocks out.
///
/// A value of an implementing type is a token: the x86 ones can only be
/// made once their CPU feature was detected, which is what lets their
/// methods be safe. Every method is `#[inline(always)]` so that the mix pass
/// compiled for an instruction set (see `kernel/x86.rs`) holds the whole
/// block loop with no calls in it.
///
/// Saturation is a plain clip, not a soft limiter: it is exact
/// (bit-identical to the naive sum) for any room that is not clipping, and a
/// loud room pins at ±full scale instead of wrapping to the opposite sign.
/// The i32 sums themselves cannot wrap: a room holds at most
/// [`crate::MAX_CAPACITY`] voices, plus one bridge and one private feed.
pub(crate) trait Lanes: Copy {
    /// One block of a sum in i32.
    type Sum: Copy;

    /// One block saturated to i16, kept in registers.
    type Clipped: Copy;

    /// A silent sum.
    fn zero(self) -> Self::Sum;

    /// `block`, widened.
    fn widen(self, block: &Block) -> Self::Sum;

    /// A sum kept in memory.
    fn load(self, sum: &Acc) -> Self::Sum;

    /// Keeps a sum in memory.
    fn store(self, out: &mut Acc, sum: Self::Sum);

    /// `sum + block`.
    fn add(self, sum: Self::Sum, block: &Block) -> Self::Sum;

    /// `sum - block`.
    fn sub(self, sum: Self::Sum, block: &Block) -> Self::Sum;

    /// `out = saturate(sum)`.
    fn clip(self, out: &mut Block, sum: Self::Sum);

    /// [`Lanes::clip`], also returning the result and whether it is exact
    /// (no sample saturated).
    fn clip_keep(self, out: &mut Block, sum: Self::Sum) -> (Self::Clipped, bool);

    /// `out = saturate(a - b)` on i16 lanes: a listener's mix-minus, when the
    /// room sum `a` it is taken from is exact. The difference is computed
    /// exactly before saturating (as `vpsubsw` does), so this equals the i32
    /// path, with twice the lanes per register and no widening or packing.
    fn sub_saturating(self, out: &mut Block, a: Self::Clipped, b: &Block);
}

/// Plain loops, for any target; LLVM vectorises what it can.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

impl Lanes for Portable {
    type Sum = Acc;
    type Clipped = Block;

    #[inline(always)]
    fn zero(self) -> Acc {
        [0; BLOCK]
    }

    #[inline(always)]
    fn widen(self, block: &Block) -> Acc {
        block.map(i32::from)
    }

    #[inline(always)]
    fn load(self, sum: &Acc) -> Acc {
        *sum
    }

    #[inline(always)]
    fn store(self, out: &mut Acc, sum: Acc) {
        *out = sum;
    }

    #[inline(always)]
    fn add(self, sum: Acc, block: &Block) -> Acc {
        std::array::from_fn(|j| sum[j] + i32::from(block[j]))
    }

    #[inline(always)]
    fn sub(self, sum: Acc, block: &Block) -> Acc {
        std::array::from_fn(|j| sum[j] - i32::from(block[j]))
    }

    #[inline(always)]
    fn clip(self, out: &mut Block, sum: Acc) {
        for (o, s) in out.iter_mut().zip(sum) {
            *o = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
        }
    }

    #[inline(always)]
    fn clip_keep(self, out: &mut Block, sum: Acc) -> (Block, bool) {
        self.clip(out, sum);
        (*out, sum.iter().all(|s| i16::try_from(*s).is_ok()))
    }

    #[inline(always)]
    fn sub_saturating(self, out: &mut Block, a: Block, b: &Block) {
        for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
            *o = a.saturating_sub(*b);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Blocks that reach both rails and every sign combination.
    fn blocks() -> [Block; 3] {
        let edge = [i16::MIN, i16::MAX, -1, 0, 1, 12_345, -12_345, 30_000];
        [
            std::array::from_fn(|j| edge[j % edge.len()]),
            std::array::from_fn(|j| edge[(j / edge.len() + j) % edge.len()]),
            std::array::from_fn(|j| (j as i16 - 16).wrapping_mul(2_047)),
        ]
    }

    fn saturate(x: i64) -> i16 {
        x.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16
    }

    /// Checks one kernel set against plain arithmetic, loud sums included:
    /// sums beyond i16 clip to the rail of their sign, never wrap.
    pub(crate) fn check_lanes<L: Lanes>(lanes: L) {
        let [a, b, c] = blocks();
        let mut out: Block = [0; BLOCK];
        let expect =
            |f: &dyn Fn(usize) -> i64| -> Block { std::array::from_fn(|j| saturate(f(j))) };
        let x = |v: &Block, j: usize| i64::from(v[j]);

        lanes.clip(&mut out, lanes.zero());
        assert_eq!(out, [0; BLOCK]);
        lanes.clip(&mut out, lanes.widen(&a));
        assert_eq!(out, a);
        let sum = lanes.add(lanes.add(lanes.widen(&a), &b), &c);
        lanes.clip(&mut out, sum);
        assert_eq!(out, expect(&|j| x(&a, j) + x(&b, j) + x(&c, j)));
        lanes.clip(&mut out, lanes.sub(sum, &b));
        assert_eq!(out, expect(&|j| x(&a, j) + x(&c, j)));
        lanes.clip(&mut out, lanes.sub(lanes.sub(lanes.zero(), &a), &a));
        assert_eq!(out, expect(&|j| -2 * x(&a, j)));
        let mut loud = lanes.zero();
        for _ in 0..10 {
            loud = lanes.add(loud, &[i16::MIN; BLOCK]);
        }
        lanes.clip(&mut out, loud);
        assert_eq!(out, [i16::MIN; BLOCK]);
        lanes.clip(&mut out, lanes.sub(lanes.zero(), &[i16::MIN; BLOCK]));
        assert_eq!(out, [i16::MAX; BLOCK]);

        let mut kept = [0; BLOCK];
        let (clipped_a, exact) = lanes.clip_keep(&mut kept, lanes.widen(&a));
        assert!(exact);
        assert_eq!(kept, a);
        let (clipped_b, _) = lanes.clip_keep(&mut kept, lanes.widen(&b));
        let (clipped_sum, exact) = lanes.clip_keep(&mut out, sum);
        assert!(!exact);
        assert_eq!(out, expect(&|j| x(&a, j) + x(&b, j) + x(&c, j)));
        for lane in [0, 7, 8, 15, 16, 31, 32, 63, 64, 79] {
            let mut one = [0; BLOCK];
            one[lane] = 1;
            let over = lanes.add(lanes.widen(&[i16::MAX; BLOCK]), &one);
            assert!(!lanes.clip_keep(&mut out, over).1, "lane {lane}");
            let under = lanes.sub(lanes.widen(&[i16::MIN; BLOCK]), &one);
            assert!(!lanes.clip_keep(&mut out, under).1, "lane {lane}");
        }
        let mut stored = [0; BLOCK];
        lanes.store(&mut stored, sum);
        assert_eq!(
            stored,
            std::array::from_fn(|j| (x(&a, j) + x(&b, j) + x(&c, j)) as i32)
        );
        lanes.clip(&mut out, lanes.load(&stored));
        assert_eq!(out, expect(&|j| x(&a, j) + x(&b, j) + x(&c, j)));
        lanes.sub_saturating(&mut out, clipped_a, &b);
        assert_eq!(out, expect(&|j| x(&a, j) - x(&b, j)));
        lanes.sub_saturating(&mut out, clipped_b, &c);
        assert_eq!(out, expect(&|j| x(&b, j) - x(&c, j)));
        lanes.sub_saturating(&mut out, clipped_sum, &a);
        assert_eq!(
            out,
            expect(&|j| i64::from(saturate(x(&a, j) + x(&b, j) + x(&c, j))) - x(&a, j))
        );
    }

    #[test]
    fn portable_lanes_saturate_instead_of_wrapping() {
        check_lanes(Portable);
    }
}
