//! One load run, start to end: set the calls up at the paced rate, warm up,
//! measure, tear down, judge.

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chorus_media::g711::Law;

use crate::hearing;
use crate::media::{self, MediaLeg, Shared, phase};
use crate::plan::Plan;
use crate::probe::{self, MediaMetrics};
use crate::report::{
    GeneratorReport, LegReport, MediaReport, Report, ServerReport, SetupReport, Spread,
};
use crate::target::Target;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Legs in all.
    pub legs: usize,
    /// Legs per room.
    pub room_size: usize,
    /// Set-ups started per second.
    pub cps: f64,
    /// Media before measuring (joins, beeps and jitter buffers settle).
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// The codec.
    pub law: Law,
    /// Media threads.
    pub threads: usize,
    /// About this many legs (whole rooms) are checked by tone.
    pub check: usize,
    /// Send nothing: an idle load (members that never speak).
    pub silent: bool,
    /// The server's process, for its CPU time and memory.
    pub server_pid: Option<u32>,
    /// The core the server runs alone on, for the core's busy time
    /// (softirq included, see [`probe::core_ticks`]).
    pub server_core: Option<usize>,
    /// chorusd's metrics listener.
    pub metrics: Option<SocketAddr>,
    /// How long the last set-ups may take.
    pub setup_timeout: Duration,
    /// Print a progress line every second (to stderr).
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            legs: 30,
            room_size: 3,
            cps: 100.0,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(10),
            law: Law::Ulaw,
            threads: 1,
            check: 60,
            silent: false,
            server_pid: None,
            server_core: None,
            metrics: None,
            setup_timeout: Duration::from_secs(35),
            progress: false,
        }
    }
}

/// Runs `options` against `target`.
pub fn run(target: &mut dyn Target, options: &Options) -> Result<Report, String> {
    let plan = Plan::new(options.legs, options.room_size)?;
    raise_file_limit();
    let sockets = (0..plan.legs)
        .map(|_| UdpSocket::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("binding the legs' RTP sockets: {e}"))?;
    let pid = options.server_pid;
    let rss_before = pid.and_then(probe::rss_bytes).unwrap_or(0);

    let (setup, remotes) = set_up(target, &plan, &sockets, options)?;

    let checked_rooms = checked_rooms(&plan, options.check);
    let threads = options.threads.max(1);
    let mut shares: Vec<Vec<MediaLeg>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, socket) in sockets.into_iter().enumerate() {
        let Some(remote) = remotes[i] else { continue };
        let leg = plan.leg(i);
        let checked = checked_rooms.contains(&leg.room) && !options.silent;
        let media_leg = MediaLeg::new(leg, socket, remote, checked)
            .map_err(|e| format!("leg {i}: connecting to {remote}: {e}"))?;
        shares[leg.room % threads].push(media_leg);
    }
    let up = setup.ok;

    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        phase: Arc::new(AtomicU8::new(phase::WARMUP)),
        law: options.law,
        silent: options.silent,
    });
    let handles: Vec<_> = shares
        .into_iter()
        .map(|legs| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || media::run(legs, &shared))
        })
        .collect();

    wait_serving(target, options.warmup, None);
    let rss_loaded = pid.and_then(probe::rss_bytes).unwrap_or(0);
    let metrics_start = options.metrics.and_then(|m| probe::media_metrics(m).ok());
    let cpu_start = pid.and_then(probe::cpu_seconds);
    let core_start = options.server_core.and_then(probe::core_ticks);
    let self_start = probe::cpu_seconds(std::process::id());
    let started = Instant::now();
    shared.phase.store(phase::MEASURE, Ordering::Relaxed);
    wait_serving(
        target,
        options.duration,
        options.progress.then_some((up, started)),
    );
    shared.phase.store(phase::DRAIN, Ordering::Relaxed);
    let window = started.elapsed().as_secs_f64();
    let cpu_end = pid.and_then(probe::cpu_seconds);
    let core_end = options.server_core.and_then(probe::core_ticks);
    let self_end = probe::cpu_seconds(std::process::id());
    let metrics_end = options.metrics.and_then(|m| probe::media_metrics(m).ok());
    std::thread::sleep(Duration::from_millis(100));
    shared.phase.store(phase::END, Ordering::Relaxed);

    let mut legs = Vec::new();
    let mut generator = GeneratorReport::default();
    for handle in handles {
        let (share, thread) = handle.join().map_err(|_| "a media thread panicked")?;
        legs.extend(share);
        generator.periods += thread.periods;
        generator.late_periods += thread.late_periods;
        generator.worst_lag_ms = generator.worst_lag_ms.max(thread.worst_lag_ms);
    }
    legs.sort_by_key(|l| l.plan.index);
    let teardown = target.finish(Duration::from_secs(10));

    let share = |start: Option<f64>, end: Option<f64>| match (start, end) {
        (Some(a), Some(b)) if window > 0.0 => (b - a) / window,
        _ => 0.0,
    };
    generator.cpu_share = share(self_start, self_end);
    let cpu_share = share(cpu_start, cpu_end);
    let core_share = probe::core_share(core_start, core_end);
    let server = ServerReport {
        pid,
        cpu_share,
        core_share,
        // The core is never less busy than a process pinned to it; its
        // figure can read low on a mostly idle core, whose time the kernel
        // samples at ticks it skips while idle.
        us_per_leg_second: if up > 0 {
            core_share.unwrap_or(0.0).max(cpu_share) * 1e6 / up as f64
        } else {
            0.0
        },
        rss_before,
        rss_loaded,
        bytes_per_leg: if up > 0 {
            rss_loaded.saturating_sub(rss_before) as f64 / up as f64
        } else {
            0.0
        },
        media: match (metrics_start, metrics_end) {
            (Some(a), Some(b)) => Some(a.until(&b)),
            _ => None::<MediaMetrics>,
        },
    };

    let verdicts = judge_rooms(&legs, &plan, &checked_rooms, target, options.law);
    let latencies = verdicts
        .iter()
        .flat_map(|v| v.latencies_ms.iter().copied())
        .collect();
    let checked = verdicts.len();
    let correct = verdicts.iter().filter(|v| v.correct()).count();
    Ok(Report {
        target: target.name().to_string(),
        room_size: plan.room_size,
        duration_s: window,
        setup,
        media: media_report(&legs, options.silent),
        latency_ms: Spread::of(latencies),
        checked,
        correct,
        wrong: verdicts.into_iter().filter(|v| !v.correct()).collect(),
        server,
        generator,
        ended_by_server: teardown.ended_by_server,
        teardown_unanswered: teardown.unanswered,
        legs: legs
            .iter()
            .map(|l| LegReport {
                leg: l.plan.index,
                room: l.plan.room,
                sent: l.sent,
                received: l.stats.summary(),
            })
            .collect(),
    })
}

/// Starts every set-up at the paced rate and collects the answers: the
/// report and each leg's server address (`None`: failed).
fn set_up(
    target: &mut dyn Target,
    plan: &Plan,
    sockets: &[UdpSocket],
    options: &Options,
) -> Result<(SetupReport, Vec<Option<SocketAddr>>), String> {
    let mut report = SetupReport {
        requested: plan.legs,
        ..SetupReport::default()
    };
    let mut remotes = vec![None; plan.legs];
    let mut latencies = Vec::new();
    let mut take = |setups: Vec<crate::target::Setup>, report: &mut SetupReport| {
        for s in setups {
            match s.result {
                Ok(remote) => {
                    remotes[s.leg] = Some(remote);
                    report.ok += 1;
                    latencies.push(s.latency.as_secs_f64() * 1e3);
                }
                Err(why) => {
                    report.failed += 1;
                    if report.errors.len() < 5 {
                        report.errors.push(format!("leg {}: {why}", s.leg));
                    }
                }
            }
        }
    };
    let start = Instant::now();
    let gap = Duration::from_secs_f64(1.0 / options.cps.max(0.001));
    let mut last_progress = start;
    for leg in plan.legs() {
        let due = start + gap * leg.index as u32;
        loop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            let setups = target.poll(due - now);
            take(setups, &mut report);
        }
        let rtp = sockets[leg.index].local_addr().map_err(|e| e.to_string())?;
        if let Err(why) = target.begin(&leg, rtp) {
            take(
                vec![crate::target::Setup {
                    leg: leg.index,
                    result: Err(why),
                    latency: Duration::ZERO,
                }],
                &mut report,
            );
        }
        if options.progress && last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            eprintln!(
                "setting up: {} begun, {} up, {} failed",
                leg.index + 1,
                report.ok,
                report.failed
            );
        }
    }
    let deadline = Instant::now() + options.setup_timeout;
    while report.ok + report.failed < plan.legs && Instant::now() < deadline {
        let setups = target.poll(Duration::from_millis(50));
        take(setups, &mut report);
    }
    let missing = plan.legs - report.ok - report.failed;
    if missing > 0 {
        report.failed += missing;
        report
            .errors
            .push(format!("{missing} set-ups unanswered in time"));
    }
    report.achieved_cps = report.ok as f64 / start.elapsed().as_secs_f64().max(1e-9);
    report.latency_ms = Spread::of(latencies);
    Ok((report, remotes))
}

/// Serves the target for `wait`, printing progress if asked.
fn wait_serving(target: &mut dyn Target, wait: Duration, progress: Option<(usize, Instant)>) {
    let end = Instant::now() + wait;
    let mut last = Instant::now();
    while Instant::now() < end {
        target.service();
        std::thread::sleep(
            end.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100)),
        );
        if let Some((up, started)) = progress
            && last.elapsed() >= Duration::from_secs(1)
        {
            last = Instant::now();
            eprintln!(
                "measuring: {:.0} s of {:.0} s, {up} legs",
                started.elapsed().as_secs_f64(),
                (end - started).as_secs_f64()
            );
        }
    }
}

/// Whole rooms, spread over the load, holding about `check` legs.
fn checked_rooms(plan: &Plan, check: usize) -> BTreeSet<usize> {
    let rooms = plan.rooms();
    let wanted = check.div_ceil(plan.room_size).min(rooms);
    (0..wanted).map(|i| i * rooms / wanted.max(1)).collect()
}

fn judge_rooms(
    legs: &[MediaLeg],
    plan: &Plan,
    checked: &BTreeSet<usize>,
    target: &dyn Target,
    law: Law,
) -> Vec<hearing::Verdict> {
    let mut verdicts = Vec::new();
    for &room in checked {
        let members: Vec<&MediaLeg> = legs
            .iter()
            .filter(|l| plan.room(room).contains(&l.plan.index))
            .collect();
        for listener in members.iter().filter(|l| l.capture.is_some()) {
            verdicts.push(hearing::judge(listener, &members, target.hearing(), law));
        }
    }
    verdicts
}

fn media_report(legs: &[MediaLeg], silent: bool) -> MediaReport {
    let mut m = MediaReport::default();
    let mut jitters = Vec::new();
    for leg in legs {
        let s = leg.stats.summary();
        m.sent += leg.sent;
        m.received += s.received;
        m.expected += s.expected;
        m.lost += s.lost;
        m.late += s.late;
        m.early += s.early;
        // An idle load may rightly hear nothing.
        if s.received == 0 && !silent {
            m.deaf_legs += 1;
        }
        jitters.push(s.jitter_ms);
    }
    m.loss = m.lost as f64 / m.expected.max(1) as f64;
    m.jitter_ms = Spread::of(jitters);
    m
}

/// Thousands of legs want thousands of sockets: lift the soft limit on
/// open files to the hard one.
fn raise_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
