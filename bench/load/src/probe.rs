//! The server's side of a run: its CPU time and memory from `/proc`, and,
//! for chorusd, its media workers' figures from `/metrics`, read at the
//! start and end of the measured window.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

/// Clock ticks per second of `/proc/<pid>/stat`'s CPU times: 100 on every
/// Linux this runs on (`getconf CLK_TCK`).
const CLK_TCK: f64 = 100.0;

/// A process's CPU time (user + system) in seconds, from `/proc`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    Some(chorus_tests::daemon::cpu_ticks(pid)? as f64 / CLK_TCK)
}

/// One CPU's busy and total time in clock ticks, from `/proc/stat`: busy is
/// everything but idle and I/O wait, so it includes the softirq time that
/// the kernel does not charge to any process (on loopback, much of the
/// cost of every send: delivering the packet into the receiver's socket).
pub fn core_ticks(core: usize) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&format!("cpu{core}")))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is
    // already in user).
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// The share of `core` busy between two [`core_ticks`] readings.
pub fn core_share(start: Option<(u64, u64)>, end: Option<(u64, u64)>) -> Option<f64> {
    let ((b0, t0), (b1, t1)) = (start?, end?);
    (t1 > t0).then(|| (b1 - b0) as f64 / (t1 - t0) as f64)
}

/// A process's resident memory in bytes, from `/proc/<pid>/status`.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// chorusd's media figures at one moment, summed over its workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct MediaMetrics {
    /// Ticks run.
    pub ticks: f64,
    /// Seconds spent in ticks.
    pub tick_seconds: f64,
    /// Ticks that ended after the next was due.
    pub overruns: f64,
    /// Ticks skipped after falling far behind.
    pub skipped: f64,
    /// Legs in the workers' rooms, if the server reports it.
    pub legs: Option<f64>,
}

impl MediaMetrics {
    /// What happened between `self` (earlier) and `later`.
    pub fn until(&self, later: &MediaMetrics) -> MediaMetrics {
        MediaMetrics {
            ticks: later.ticks - self.ticks,
            tick_seconds: later.tick_seconds - self.tick_seconds,
            overruns: later.overruns - self.overruns,
            skipped: later.skipped - self.skipped,
            legs: later.legs,
        }
    }
}

/// Reads chorusd's `/metrics`.
pub fn media_metrics(server: SocketAddr) -> Result<MediaMetrics, String> {
    let response = crate::http::get(server, "/metrics", Duration::from_secs(5))?;
    if response.status != 200 {
        return Err(format!("/metrics answered {}", response.status));
    }
    Ok(parse_metrics(&response.body))
}

fn parse_metrics(text: &str) -> MediaMetrics {
    let mut m = MediaMetrics::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let metric = name.split('{').next().unwrap_or(name);
        match metric {
            "chorus_media_tick_seconds_count" => m.ticks += value,
            "chorus_media_tick_seconds_sum" => m.tick_seconds += value,
            "chorus_media_tick_overruns_total" => m.overruns += value,
            "chorus_media_ticks_skipped_total" => m.skipped += value,
            "chorus_media_worker_legs" => *m.legs.get_or_insert(0.0) += value,
            _ => {}
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_figures_are_summed_over_workers() {
        let text = "# HELP x\n\
            chorus_media_tick_seconds_bucket{worker=\"0\",le=\"0.001\"} 3\n\
            chorus_media_tick_seconds_sum{worker=\"0\"} 0.5\n\
            chorus_media_tick_seconds_sum{worker=\"1\"} 0.25\n\
            chorus_media_tick_seconds_count{worker=\"0\"} 10\n\
            chorus_media_tick_seconds_count{worker=\"1\"} 5\n\
            chorus_media_tick_overruns_total{worker=\"1\"} 2\n\
            chorus_media_worker_legs{worker=\"0\"} 7\n";
        let m = parse_metrics(text);
        assert_eq!((m.ticks, m.tick_seconds, m.overruns), (15.0, 0.75, 2.0));
        assert_eq!(m.legs, Some(7.0));
    }

    #[test]
    fn a_core_is_busy_between_zero_and_all_of_the_time() {
        let start = core_ticks(0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {}
        let share = core_share(start, core_ticks(0));
        assert!(share.is_none_or(|s| (0.0..=1.0).contains(&s)), "{share:?}");
        assert!(core_ticks(usize::MAX).is_none());
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).is_some());
        assert!(rss_bytes(pid).unwrap() > 0);
        assert!(cpu_seconds(u32::MAX).is_none());
    }
}
