//! A run's figures: the JSON summary (with every leg) and the human table.

use serde::Serialize;

use crate::hearing::Verdict;
use crate::probe::MediaMetrics;
use crate::stats::StreamSummary;

/// Loss at or above this share fails a run (the knee's rule: < 0.1 %).
pub const MAX_LOSS: f64 = 0.001;
/// Overrun ticks at or above this share fail a run. Not zero: a pinned
/// worker descheduled once by the hypervisor overruns one tick at any load
/// (seen here: 1 of 150 ticks at 26 % of a core), and an overrun delays a
/// tick without losing it; late packets, counted at the listener, are held
/// to [`MAX_LOSS`], and a skipped tick (a worker 100 ms behind) fails.
pub const MAX_OVERRUNS: f64 = 0.01;
/// The generator fell behind if this share of its send periods began
/// late, or one began later than a late packet's threshold.
pub const MAX_LATE_PERIODS: f64 = 0.01;

/// Percentiles of a sample, in its unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// Values in the sample.
    pub samples: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (any order).
    pub fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
        Self {
            samples: values.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: values[values.len() - 1],
        }
    }
}

/// How the calls were set up.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SetupReport {
    /// Legs asked for.
    pub requested: usize,
    /// Legs set up.
    pub ok: usize,
    /// Legs that failed, and the first few reasons.
    pub failed: usize,
    /// Up to five failure reasons.
    pub errors: Vec<String>,
    /// Set-up latency (INVITE → 200 OK), ms.
    pub latency_ms: Spread,
    /// Set-ups per second achieved, first request to last answer.
    pub achieved_cps: f64,
}

/// One leg's figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LegReport {
    /// The leg.
    pub leg: usize,
    /// Its room.
    pub room: usize,
    /// Packets it sent while measuring.
    pub sent: u64,
    /// What it received.
    #[serde(flatten)]
    pub received: StreamSummary,
}

/// The media over the measured window, over all legs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MediaReport {
    /// Packets sent.
    pub sent: u64,
    /// Packets received.
    pub received: u64,
    /// Packets the sequence numbers say were sent to us.
    pub expected: u64,
    /// Of those, lost.
    pub lost: u64,
    /// `lost / expected`.
    pub loss: f64,
    /// Packets more than 40 ms behind the one before.
    pub late: u64,
    /// Packets more than 40 ms ahead of the one before.
    pub early: u64,
    /// Legs that received nothing at all.
    pub deaf_legs: usize,
    /// RFC 3550 jitter over the legs, ms.
    pub jitter_ms: Spread,
}

/// The server's cost over the measured window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ServerReport {
    /// Its pid, if known.
    pub pid: Option<u32>,
    /// Share of one core its process used (user and system time).
    pub cpu_share: f64,
    /// Share of its core that was busy, if it ran alone on a known core:
    /// its process, plus the softirq work no process is charged for (on
    /// loopback, delivering each packet it sends), plus anything else.
    pub core_share: Option<f64>,
    /// CPU microseconds per leg per second of media: from the core's busy
    /// time or the process's, whichever is more (the core's is sampled at
    /// timer ticks, which a mostly idle core skips, so it can read low).
    pub us_per_leg_second: f64,
    /// Resident memory before the calls, bytes.
    pub rss_before: u64,
    /// Resident memory with every leg up, bytes.
    pub rss_loaded: u64,
    /// `(rss_loaded - rss_before) / legs up`.
    pub bytes_per_leg: f64,
    /// chorusd's media workers over the window, if it was read.
    pub media: Option<MediaMetrics>,
}

/// The generator's own health: if it fell behind, the server's figures are
/// not the server's alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct GeneratorReport {
    /// Share of one core it used.
    pub cpu_share: f64,
    /// Send periods (20 ms each, per media thread) while measuring.
    pub periods: u64,
    /// Of those, periods whose last send went out more than 10 ms after
    /// the next period was due.
    pub late_periods: u64,
    /// The latest a period began, ms.
    pub worst_lag_ms: f64,
}

/// Everything a run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The server's name.
    pub target: String,
    /// Legs per room.
    pub room_size: usize,
    /// The measured window, s.
    pub duration_s: f64,
    /// Set-up.
    pub setup: SetupReport,
    /// Media.
    pub media: MediaReport,
    /// Mouth-to-ear latency of the checked legs, ms.
    pub latency_ms: Spread,
    /// Legs checked by tone.
    pub checked: usize,
    /// Checked legs that heard exactly their room.
    pub correct: usize,
    /// The checked legs that did not.
    pub wrong: Vec<Verdict>,
    /// The server's cost.
    pub server: ServerReport,
    /// The generator's health.
    pub generator: GeneratorReport,
    /// Sessions the server ended during the run.
    pub ended_by_server: usize,
    /// BYEs (or deletes) unanswered at the end.
    pub teardown_unanswered: usize,
    /// Every leg.
    pub legs: Vec<LegReport>,
}

impl Report {
    /// Why this run fails the knee's rule (empty: it passes): every leg
    /// set up and kept, loss under [`MAX_LOSS`], late and early packets
    /// under the same share, overrun ticks under [`MAX_OVERRUNS`] and no
    /// skipped tick, every checked leg hearing exactly its room, and a
    /// generator that kept the pace ([`MAX_LATE_PERIODS`]).
    pub fn failures(&self) -> Vec<String> {
        let mut why = Vec::new();
        if self.setup.failed > 0 {
            why.push(format!("{} set-ups failed", self.setup.failed));
        }
        if self.ended_by_server > 0 {
            why.push(format!(
                "{} calls ended by the server",
                self.ended_by_server
            ));
        }
        if self.media.loss >= MAX_LOSS {
            why.push(format!("loss {:.3} %", self.media.loss * 100.0));
        }
        let late = (self.media.late + self.media.early) as f64 / self.media.received.max(1) as f64;
        if late >= MAX_LOSS {
            why.push(format!(
                "{} late and {} early packets",
                self.media.late, self.media.early
            ));
        }
        if self.media.deaf_legs > 0 {
            why.push(format!("{} legs heard nothing", self.media.deaf_legs));
        }
        if let Some(m) = self.server.media
            && (m.overruns >= MAX_OVERRUNS * m.ticks.max(1.0) || m.skipped > 0.0)
        {
            why.push(format!(
                "{} ticks overran, {} skipped",
                m.overruns, m.skipped
            ));
        }
        if self.correct < self.checked {
            why.push(format!(
                "{} of {} checked legs heard the wrong room",
                self.checked - self.correct,
                self.checked
            ));
        }
        let g = &self.generator;
        if g.late_periods as f64 >= MAX_LATE_PERIODS * g.periods.max(1) as f64
            || g.worst_lag_ms > crate::stats::LATE_MS
        {
            why.push(format!(
                "the generator fell behind ({} late periods, worst {:.1} ms)",
                self.generator.late_periods, self.generator.worst_lag_ms
            ));
        }
        why
    }

    /// The human table.
    pub fn table(&self) -> String {
        let s = &self.server;
        let mut out = String::new();
        let mut row = |k: &str, v: String| out.push_str(&format!("  {k:<22} {v}\n"));
        row(
            "target",
            format!("{} (rooms of {})", self.target, self.room_size),
        );
        row(
            "legs",
            format!(
                "{} of {} up, {} failed, set-up p50 {:.1} ms p99 {:.1} ms, {:.0} cps",
                self.setup.ok,
                self.setup.requested,
                self.setup.failed,
                self.setup.latency_ms.p50,
                self.setup.latency_ms.p99,
                self.setup.achieved_cps
            ),
        );
        row(
            "packets",
            format!(
                "sent {} received {} lost {} ({:.4} %) late {} early {}",
                self.media.sent,
                self.media.received,
                self.media.lost,
                self.media.loss * 100.0,
                self.media.late,
                self.media.early
            ),
        );
        row(
            "jitter",
            format!(
                "p50 {:.2} ms p99 {:.2} ms max {:.2} ms",
                self.media.jitter_ms.p50, self.media.jitter_ms.p99, self.media.jitter_ms.max
            ),
        );
        row(
            "mouth-to-ear",
            format!(
                "p50 {:.1} ms p99 {:.1} ms ({} onsets)",
                self.latency_ms.p50, self.latency_ms.p99, self.latency_ms.samples
            ),
        );
        row(
            "rooms",
            format!(
                "{} of {} checked legs heard exactly their room",
                self.correct, self.checked
            ),
        );
        let core = s
            .core_share
            .map(|c| format!(" ({:.1} % of its core busy)", c * 100.0))
            .unwrap_or_default();
        row(
            "server",
            format!(
                "{:.1} % of a core{core}, {:.2} µs CPU per leg-second, {:.0} bytes RSS per leg",
                s.cpu_share * 100.0,
                s.us_per_leg_second,
                s.bytes_per_leg
            ),
        );
        if let Some(m) = s.media {
            row(
                "media ticks",
                format!(
                    "{} ticks, mean {:.1} µs, {} overruns, {} skipped",
                    m.ticks,
                    if m.ticks > 0.0 {
                        m.tick_seconds / m.ticks * 1e6
                    } else {
                        0.0
                    },
                    m.overruns,
                    m.skipped
                ),
            );
        }
        row(
            "generator",
            format!(
                "{:.1} % of a core, {} late periods",
                self.generator.cpu_share * 100.0,
                self.generator.late_periods
            ),
        );
        let failures = self.failures();
        row(
            "verdict",
            if failures.is_empty() {
                "PASS".into()
            } else {
                format!("FAIL: {}", failures.join("; "))
            },
        );
        out
    }
}
