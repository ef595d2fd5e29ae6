//! `chorus-capacity`, the engine of `bench/capacity`: the same load against
//! each server in turn, each alone on one core with the generator on the
//! other, stepping the number of legs up until the knee.
//!
//! The knee is the largest load that passes [`Report::failures`]' rule
//! (every leg up and kept, loss < 0.1 %, late packets < 0.1 %, no overrun
//! or skipped tick, every checked leg hearing exactly its room). The search
//! doubles from `start` until a step fails, then halves the gap between the
//! last pass and the first failure until it is under a tenth of the pass.
//! A failure because the generator itself fell behind is marked: the
//! server's knee is then at least the last pass, and the machine could not
//! say more.

pub mod answer_app;
pub mod servers;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::report::Report;
use crate::run::{Options, run};
use crate::target::sip::Codec;
use servers::{Kind, Server};

/// How a sweep runs.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Legs in the first step.
    pub start: usize,
    /// Never more legs than this.
    pub max: usize,
    /// Legs per room for the mixers.
    pub room_size: usize,
    /// Each step's warm-up and measured window.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Set-ups per second while a step's calls are placed.
    pub cps: f64,
    /// The server's core and the generator's.
    pub server_core: usize,
    /// Scratch directory (logs, configuration).
    pub scratch: PathBuf,
}

/// One step of a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Legs.
    pub legs: usize,
    /// Passed the rule.
    pub passed: bool,
    /// Why not.
    pub failures: Vec<String>,
    /// The server process's share of its core.
    pub cpu_share: f64,
    /// The share of its core busy (softirq included).
    pub core_share: Option<f64>,
    /// The generator's.
    pub generator_share: f64,
}

/// A server's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The server.
    pub server: String,
    /// Legs per room.
    pub room_size: usize,
    /// The knee: legs on its one core (0: even the first step failed).
    pub knee: usize,
    /// The step at the knee.
    pub at_knee: Option<Report>,
    /// The first failing step's reasons, and whether the generator was the
    /// one that could not keep up.
    pub limited_by: String,
    /// Every step.
    pub steps: Vec<Step>,
}

/// Finds `kind`'s knee.
pub fn sweep(kind: &Kind, sweep: &Sweep, log: &mut dyn FnMut(&str)) -> Row {
    let room = kind.room_size(sweep.room_size);
    // Whole rooms, and whole calls of 2 for rtpengine.
    let round = |n: usize| (n / room.max(1)).max(1) * room;
    let mut steps = Vec::new();
    let mut best: Option<Report> = None;
    let mut pass = 0;
    let mut first_fail: Option<(usize, Vec<String>)> = None;
    let mut n = round(sweep.start);
    loop {
        let (passed, report, failures) = step(kind, sweep, n, room, log);
        steps.push(Step {
            legs: n,
            passed,
            failures: failures.clone(),
            cpu_share: report.as_ref().map_or(0.0, |r| r.server.cpu_share),
            core_share: report.as_ref().and_then(|r| r.server.core_share),
            generator_share: report.as_ref().map_or(0.0, |r| r.generator.cpu_share),
        });
        if passed && n > pass {
            pass = n;
            best = report;
        } else if !passed && first_fail.as_ref().is_none_or(|(f, _)| n < *f) {
            first_fail = Some((n, failures));
        }
        let next = match &first_fail {
            None => round(n * 2),
            // Even the first step failed: come down until one passes.
            Some((fail, _)) if pass == 0 => round(fail / 2),
            Some((fail, _)) => {
                if fail - pass <= (pass / 10).max(room) {
                    break;
                }
                round(pass + (fail - pass) / 2)
            }
        };
        let tried = steps.iter().any(|s| s.legs == next);
        if tried || next > sweep.max || (pass == 0 && next < room) {
            break;
        }
        n = next;
    }
    let limited_by = match &first_fail {
        Some((legs, why)) => format!("at {legs} legs: {}", why.join("; ")),
        None => format!("not reached: passed the sweep's most, {} legs", sweep.max),
    };
    Row {
        server: kind.label(),
        room_size: room,
        knee: best.as_ref().map_or(0, |b| b.setup.ok),
        at_knee: best,
        limited_by,
        steps,
    }
}

/// One step on a fresh server.
fn step(
    kind: &Kind,
    sweep: &Sweep,
    legs: usize,
    room: usize,
    log: &mut dyn FnMut(&str),
) -> (bool, Option<Report>, Vec<String>) {
    let scratch = sweep
        .scratch
        .join(format!("{}-{legs}", kind.label().replace(' ', "-")));
    let server = match Server::start(kind, legs, sweep.server_core, &scratch) {
        Ok(s) => s,
        Err(e) => return (false, None, vec![format!("server: {e}")]),
    };
    let run_name = format!("cap{}x{legs}", std::process::id());
    let mut target = match server.target(kind, legs, Codec::Pcmu, &run_name) {
        Ok(t) => t,
        Err(e) => return (false, None, vec![format!("target: {e}")]),
    };
    let options = Options {
        legs,
        room_size: room,
        cps: sweep.cps,
        warmup: sweep.warmup,
        duration: sweep.duration,
        threads: 1,
        server_pid: Some(server.pid),
        server_core: Some(sweep.server_core),
        metrics: server.metrics,
        ..Options::default()
    };
    let result = run(target.as_mut(), &options);
    drop(target);
    drop(server);
    match result {
        Ok(mut report) => {
            // Thousands of legs per step: the results keep the summaries
            // (chorus-load --json keeps every leg).
            report.legs.clear();
            let failures = report.failures();
            log(&format!(
                "{:<20} {legs:>6} legs: {} (server process {:.0} % of its core, the core {:.0} % busy)",
                kind.label(),
                if failures.is_empty() {
                    "pass".to_string()
                } else {
                    format!("FAIL {}", failures.join("; "))
                },
                report.server.cpu_share * 100.0,
                report.server.core_share.unwrap_or(0.0) * 100.0
            ));
            (failures.is_empty(), Some(report), failures)
        }
        Err(e) => {
            log(&format!("{:<20} {legs:>6} legs: ERROR {e}", kind.label()));
            (false, None, vec![e])
        }
    }
}

/// The table: one row per server, ratios against the bare relay's knee.
pub fn table(rows: &[Row]) -> String {
    let relay = rows
        .iter()
        .find(|r| r.server == "bare relay")
        .map_or(0, |r| r.knee);
    let mut out = String::from(
        "| server | rooms of | knee: legs on one core | core µs per leg-second | mouth-to-ear p50 / p99 ms | jitter p50 / p99 ms | RSS per leg | × bare relay |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for row in rows {
        let cells = match &row.at_knee {
            Some(r) => format!(
                "{:.1} | {:.1} / {:.1} | {:.2} / {:.2} | {}",
                r.server.us_per_leg_second,
                r.latency_ms.p50,
                r.latency_ms.p99,
                r.media.jitter_ms.p50,
                r.media.jitter_ms.p99,
                if r.server.bytes_per_leg > 0.0 {
                    format!("{:.1} KiB", r.server.bytes_per_leg / 1024.0)
                } else {
                    "–".into()
                }
            ),
            None => "– | – | – | –".into(),
        };
        let ratio = if relay > 0 {
            format!("{:.2}", row.knee as f64 / relay as f64)
        } else {
            "–".into()
        };
        out.push_str(&format!(
            "| {} | {} | {} | {cells} | {ratio} |\n",
            row.server, row.room_size, row.knee
        ));
    }
    out
}
