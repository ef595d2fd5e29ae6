//! Cost of one tick per participant-frame (160 samples, everyone talking):
//! the naive O(N²) reference against the O(N) mix with portable and with
//! each SIMD kernel set, all in the same run, plus 1000 rooms of 10.
//!
//! `cargo bench -p chorus-mixer -- --warm-up-time 1 --measurement-time 3`
//! Criterion reports throughput in participant-frames per second; a summary
//! table in ns per participant-frame, with the ratios the issue asks for,
//! is printed at the end. `cargo bench -p chorus-mixer --bench mix -- table`
//! prints only the table.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chorus_mixer::reference::{NaiveMixer, ReferenceTick};
use chorus_mixer::{ChannelId, HearingMatrix, Kernels, Participant, Role, Room, RoomConfig};
use criterion::{BenchmarkId, Criterion, Throughput};

const FRAME: usize = 160;
const SIZES: [usize; 4] = [3, 10, 100, 1000];
const ROOMS: usize = 1000;
const PARTIES: usize = 10;

/// A call-centre mix: mostly customers and agents, one coaching supervisor
/// and one open supervisor in every ten.
fn role_of(k: usize) -> Participant {
    match k % 10 {
        0 | 4 | 7 => Participant::new(Role::Agent),
        2 => Participant::new(Role::Supervisor),
        8 => Participant {
            coach: false,
            ..Participant::new(Role::Supervisor)
        },
        _ => Participant::new(Role::Customer),
    }
}

fn voice(k: usize) -> Vec<i16> {
    (0..FRAME)
        .map(|i| (((i * 37 + k * 101) % 2001) as i16 - 1000) * 3)
        .collect()
}

/// An O(N) room with every participant talking.
struct FastRoom {
    room: Room,
    ids: Vec<ChannelId>,
}

impl FastRoom {
    fn new(n: usize, kernels: Kernels) -> Self {
        let mut room = Room::with_kernels(
            RoomConfig {
                frame_samples: FRAME,
                capacity: n,
            },
            kernels,
        );
        room.set_started(true);
        let ids: Vec<_> = (0..n).map(|k| room.join(role_of(k)).unwrap()).collect();
        for (k, id) in ids.iter().enumerate() {
            room.input_mut(*id).copy_from_slice(&voice(k));
        }
        Self { room, ids }
    }

    /// One tick: everyone marked talking (the samples stay in place, as if
    /// rewritten), mix, and touch each output as a sender would.
    fn tick(&mut self) -> i16 {
        for id in &self.ids {
            self.room.input_mut(*id);
        }
        self.room.mix();
        self.ids
            .iter()
            .fold(0i16, |acc, id| acc ^ self.room.output(*id)[FRAME - 1])
    }
}

/// The naive reference on the same room; the matrix is built once, outside
/// the timed loop (favouring the baseline).
struct NaiveRoom {
    tick: ReferenceTick,
    matrix: HearingMatrix,
    mixer: NaiveMixer,
    outputs: Vec<Vec<i16>>,
}

impl NaiveRoom {
    fn new(n: usize) -> Self {
        let tick = ReferenceTick {
            started: true,
            participants: (0..n).map(role_of).collect(),
            voices: (0..n).map(|k| Some(voice(k))).collect(),
            privates: vec![None; n],
            ..ReferenceTick::default()
        };
        Self {
            matrix: tick.hearing(),
            tick,
            mixer: NaiveMixer::new(FRAME),
            outputs: vec![vec![0; FRAME]; n],
        }
    }

    fn tick(&mut self) -> i16 {
        self.mixer.mix(&self.tick, &self.matrix, &mut self.outputs);
        self.outputs.iter().fold(0i16, |acc, o| acc ^ o[FRAME - 1])
    }
}

fn many_rooms(kernels: Kernels) -> Vec<FastRoom> {
    (0..ROOMS)
        .map(|_| FastRoom::new(PARTIES, kernels))
        .collect()
}

fn tick_all(rooms: &mut [FastRoom]) -> i16 {
    rooms.iter_mut().fold(0, |acc, r| acc ^ r.tick())
}

fn criterion_benches(c: &mut Criterion) {
    let detected = Kernels::detect();
    for n in SIZES {
        let mut group = c.benchmark_group(format!("mix/{n}"));
        group.throughput(Throughput::Elements(n as u64));
        if n >= 100 {
            group.sample_size(10);
        }
        let mut naive = NaiveRoom::new(n);
        group.bench_function(BenchmarkId::new("naive", n), |b| {
            b.iter(|| black_box(naive.tick()))
        });
        for kernels in [Kernels::portable(), detected] {
            let mut room = FastRoom::new(n, kernels);
            group.bench_function(BenchmarkId::new(kernels.name(), n), |b| {
                b.iter(|| black_box(room.tick()))
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group("rooms/1000x10");
    group.throughput(Throughput::Elements((ROOMS * PARTIES) as u64));
    group.sample_size(20);
    for kernels in [Kernels::portable(), detected] {
        let mut rooms = many_rooms(kernels);
        group.bench_function(kernels.name(), |b| {
            b.iter(|| black_box(tick_all(&mut rooms)))
        });
    }
    group.finish();
}

/// Median ns per participant-frame of `tick`, over batches of about 20 ms.
fn ns_per_participant(participants: usize, mut tick: impl FnMut() -> i16) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < Duration::from_millis(20) || calls == 0 {
        black_box(tick());
        calls += 1;
    }
    let mut samples: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                black_box(tick());
            }
            t.elapsed().as_nanos() as f64 / (calls as f64 * participants as f64)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn summary_table() {
    let detected = Kernels::detect();
    // Every SIMD set this CPU has, so a machine with AVX-512 also shows what
    // an AVX2-only one would run.
    let simd: Vec<Kernels> = Kernels::available()
        .filter(|k| k.name() != "portable")
        .collect();
    println!("\nns per participant-frame ({FRAME} samples, everyone talking), medians of this run");
    let names: Vec<String> = simd.iter().map(|k| format!("O(N) {}", k.name())).collect();
    println!(
        "| N | naive O(N²) | O(N) portable | {} | naive ÷ {} |",
        names.join(" | "),
        detected.name()
    );
    println!("|{}", " --- |".repeat(4 + simd.len()));
    let mut detected_at = Vec::new();
    for n in SIZES {
        let mut naive = NaiveRoom::new(n);
        let naive_ns = ns_per_participant(n, || naive.tick());
        let mut portable = FastRoom::new(n, Kernels::portable());
        let portable_ns = ns_per_participant(n, || portable.tick());
        let mut cells = Vec::new();
        let mut detected_ns = f64::NAN;
        for kernels in &simd {
            let mut room = FastRoom::new(n, *kernels);
            let ns = ns_per_participant(n, || room.tick());
            if kernels.name() == detected.name() {
                detected_ns = ns;
            }
            cells.push(format!("{ns:.1}"));
        }
        detected_at.push((n, detected_ns));
        println!(
            "| {n} | {naive_ns:.1} | {portable_ns:.1} | {} | {:.1}× |",
            cells.join(" | "),
            naive_ns / detected_ns
        );
    }
    let mut rooms = many_rooms(Kernels::portable());
    let portable_rooms = ns_per_participant(ROOMS * PARTIES, || tick_all(&mut rooms));
    let mut rooms = many_rooms(detected);
    let detected_rooms = ns_per_participant(ROOMS * PARTIES, || tick_all(&mut rooms));
    println!(
        "\n{ROOMS} rooms × {PARTIES}: portable {portable_rooms:.1}, {} {detected_rooms:.1} ns per participant-frame (tick {:.0} µs)",
        detected.name(),
        detected_rooms * (ROOMS * PARTIES) as f64 / 1000.0
    );
    let at = |n| {
        detected_at
            .iter()
            .find(|(m, _)| *m == n)
            .map_or(f64::NAN, |(_, ns)| *ns)
    };
    println!(
        "N=1000 ÷ N=10 per participant ({}): {:.2}",
        detected.name(),
        at(1000) / at(10)
    );
}

fn main() {
    // `-- table`: only the summary table (the word also filters out every
    // criterion benchmark). The table alone takes about 15 s.
    let table_only = std::env::args().any(|a| a == "table");
    let mut criterion = Criterion::default().configure_from_args();
    if !table_only {
        criterion_benches(&mut criterion);
        criterion.final_summary();
    }
    // `cargo test --benches` runs each bench once in test mode: skip the table.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        summary_table();
    }
}
