//! How the media workers are doing: each worker stamps a heartbeat every
//! time round its loop (every tick, and every [`IDLE_HEARTBEAT`] when it
//! has no room), times its ticks and counts the ones that overran. The
//! daemon pets systemd's watchdog only while every heartbeat is recent
//! ([`Liveness::stalled`]), so a stuck or dead media thread gets the
//! service restarted instead of being hidden by a healthy control plane;
//! the figures are exported for Prometheus ([`Liveness::render`]), with
//! the datagrams its legs dropped for coming from a stranger, counted as
//! they arrive (a port under attack shows while the call is live).
//!
//! Everything a worker writes here is a relaxed atomic: wait-free, no lock,
//! no allocation.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::metrics::{Histogram, render_counter, render_header, render_histogram};

/// How often an idle worker (no room) wakes to stamp its heartbeat.
pub const IDLE_HEARTBEAT: Duration = Duration::from_millis(500);

/// One worker's figures.
#[derive(Debug)]
pub struct WorkerStats {
    epoch: Instant,
    /// Milliseconds from `epoch` to the worker's last time round its loop.
    heartbeat_ms: AtomicU64,
    /// How long each tick's work took.
    pub tick: Histogram,
    /// Ticks that ended after the next one was due.
    pub overruns: AtomicU64,
    /// Ticks not run at all: the worker fell more than five ticks behind
    /// (suspended, starved) and resynchronised.
    pub skipped: AtomicU64,
    /// Datagrams the worker's legs dropped because they came from a source
    /// other than the leg's peer (see [`super::leg::source`]).
    pub foreign: AtomicU64,
    /// Room ticks not needed: the room slept through them, having nothing
    /// to do (see [`super::room::Doze`]).
    pub slept: AtomicU64,
}

impl WorkerStats {
    /// Figures of a worker that starts now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            heartbeat_ms: AtomicU64::new(0),
            tick: Histogram::default(),
            overruns: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            foreign: AtomicU64::new(0),
            slept: AtomicU64::new(0),
        }
    }

    /// The worker is alive at `now` (called by the worker itself).
    pub fn beat(&self, now: Instant) {
        let ms = now.saturating_duration_since(self.epoch).as_millis();
        self.heartbeat_ms
            .store(u64::try_from(ms).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// How long since the worker's last heartbeat, at `now`.
    pub fn silent_for(&self, now: Instant) -> Duration {
        let last = self.epoch + Duration::from_millis(self.heartbeat_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }
}

impl Default for WorkerStats {
    fn default() -> Self {
        Self::new()
    }
}

/// Picks one of a worker's counters.
type Counter = fn(&WorkerStats) -> &AtomicU64;

/// Every worker's figures; cheap to clone.
#[derive(Debug, Clone)]
pub struct Liveness {
    workers: Arc<[Arc<WorkerStats>]>,
}

impl Liveness {
    pub(super) fn new(workers: Vec<Arc<WorkerStats>>) -> Self {
        Self {
            workers: workers.into(),
        }
    }

    /// The workers that have not gone round their loop for longer than
    /// `max_silence` (stuck in a tick, or dead).
    pub fn stalled(&self, max_silence: Duration) -> Vec<usize> {
        let now = Instant::now();
        (0..self.workers.len())
            .filter(|&i| self.workers[i].silent_for(now) > max_silence)
            .collect()
    }

    /// The workers' figures in Prometheus text.
    pub fn render(&self, out: &mut String) {
        let label = |i: usize| format!("worker=\"{i}\"");
        render_header(
            out,
            "chorus_media_tick_seconds",
            "histogram",
            "How long each media worker's 20 ms tick took.",
        );
        for (i, w) in self.workers.iter().enumerate() {
            render_histogram(out, "chorus_media_tick_seconds", &label(i), &w.tick);
        }
        let counters: [(&str, &str, Counter); 4] = [
            (
                "chorus_media_tick_overruns_total",
                "Media ticks that ended after the next tick was due.",
                |w| &w.overruns,
            ),
            (
                "chorus_media_ticks_skipped_total",
                "Media ticks skipped after a worker fell more than five ticks behind.",
                |w| &w.skipped,
            ),
            (
                "chorus_media_foreign_datagrams_total",
                "Datagrams dropped on arrival for coming from a source other than their \
                 leg's peer, counted live (chorus_rtp_packets_total counts them again, as \
                 outcome foreign, when each leg is released).",
                |w| &w.foreign,
            ),
            (
                "chorus_media_room_ticks_slept_total",
                "Room ticks a media worker did not need: the room slept through them, \
                 nobody in it sending anything or hearing anything but silence.",
                |w| &w.slept,
            ),
        ];
        for (name, help, counter) in counters {
            render_header(out, name, "counter", help);
            for (i, w) in self.workers.iter().enumerate() {
                render_counter(out, name, &label(i), counter(w));
            }
        }
        render_header(
            out,
            "chorus_media_worker_silence_seconds",
            "gauge",
            "Time since each media worker last went round its loop.",
        );
        let now = Instant::now();
        for (i, w) in self.workers.iter().enumerate() {
            let _ = writeln!(
                out,
                "chorus_media_worker_silence_seconds{{{}}} {}",
                label(i),
                w.silent_for(now).as_secs_f64()
            );
        }
    }
}
