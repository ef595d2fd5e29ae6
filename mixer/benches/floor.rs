//! The floor under the O(N) mix: only the kernel passes a 10-party tick
//! cannot avoid (sum ten voices, clip the sum once, ten mix-minus outputs),
//! with one base (no coaching supervisor) and none of the room's
//! bookkeeping. If this is above a per-participant target, the target needs
//! a different algorithm (fewer passes), not a faster mix.
//!
//! `cargo bench -p chorus-mixer --bench floor -- --warm-up-time 1 --measurement-time 3`
//! Criterion's throughput line reads in participant-frames per second.

use std::hint::black_box;

use chorus_mixer::Kernels;
use criterion::{Criterion, Throughput};

const FRAME: usize = 160;
const PARTIES: usize = 10;

fn floor(c: &mut Criterion) {
    let voices: Vec<Vec<i16>> = (0..PARTIES)
        .map(|k| {
            (0..FRAME)
                .map(|i| (((i * 37 + k * 101) % 2001) as i16 - 1000) * 3)
                .collect()
        })
        .collect();
    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Elements(PARTIES as u64));
    for kernels in Kernels::available() {
        let mut sum = vec![0i32; FRAME];
        let mut base = vec![0i16; FRAME];
        let mut outputs = vec![vec![0i16; FRAME]; PARTIES];
        group.bench_function(kernels.name(), |b| {
            b.iter(|| {
                sum.fill(0);
                kernels.accumulate4(&mut sum, [&voices[0], &voices[1], &voices[2], &voices[3]]);
                kernels.accumulate4(&mut sum, [&voices[4], &voices[5], &voices[6], &voices[7]]);
                kernels.accumulate(&mut sum, &voices[8]);
                kernels.accumulate(&mut sum, &voices[9]);
                black_box(kernels.clip(&mut base, &sum));
                for (out, voice) in outputs.iter_mut().zip(&voices) {
                    kernels.sub_saturating(out, &base, voice);
                }
                black_box(&outputs);
            })
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    floor(&mut c);
    c.final_summary();
}
