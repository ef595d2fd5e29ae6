//! Counters of what the daemon does, served as Prometheus text at
//! `GET /metrics` on `metrics.listen`.
//!
//! The MPC events counted here are the same ones that are logged and sent as
//! status callbacks (every event, whether or not the application asked for
//! its callback). Counters are relaxed atomics bumped on the control plane.
//! The media workers keep their own [`Histogram`]s and counters (relaxed
//! atomics too: wait-free, no lock, no allocation), which the media plane
//! renders with [`render_histogram`] and [`render_counter`].
//!
//! ```
//! use chorus_gateway::metrics::{Callback, CallbackKind, Metrics};
//! let metrics = Metrics::default();
//! metrics.event(chorus_mpc::EventName::ParticipantJoin);
//! metrics.callback(CallbackKind::Status, Callback::Delivered);
//! let text = metrics.render(0, 0);
//! assert!(text.contains("chorus_mpc_events_total{event=\"ParticipantJoin\"} 1"));
//! ```

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chorus_mpc::EventName;
use tokio_util::sync::CancellationToken;

/// Which of the application's callback URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// An MPC's `statusCallbackUrl`.
    Status,
    /// An MPC's `recordingCallbackUrl`.
    Recording,
    /// An added participant's `call_status_callback_url`.
    CallStatus,
}

impl CallbackKind {
    /// Every kind, in counter order.
    pub const ALL: [CallbackKind; 3] = [Self::Status, Self::Recording, Self::CallStatus];

    /// `status`, `recording` or `call_status`, as in logs and metric names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Recording => "recording",
            Self::CallStatus => "call_status",
        }
    }
}

/// What became of one callback attempt or delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    /// Delivered (2xx).
    Delivered,
    /// An attempt failed and will be retried.
    Retried,
    /// Every attempt failed; the payload was logged.
    Dropped,
}

/// Labels of [`Callback`], in declaration order.
const CALLBACKS: [&str; 3] = ["delivered", "retried", "dropped"];

/// The daemon's counters.
#[derive(Default)]
pub struct Metrics {
    calls: AtomicU64,
    events: [AtomicU64; EventName::ALL.len()],
    /// By [`CallbackKind`], then [`Callback`].
    callbacks: [[AtomicU64; CALLBACKS.len()]; CallbackKind::ALL.len()],
    /// Sound documents: [failed, loaded].
    sounds: [AtomicU64; 2],
    /// MPC recordings: [failed, completed].
    recordings: [AtomicU64; 2],
    /// By [`Rtp`].
    rtp: [AtomicU64; RTP.len()],
}

/// What became of the RTP datagrams of a call's leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rtp {
    /// Valid RTP from the peer.
    Received,
    /// Not RTP at all (dropped).
    Malformed,
    /// RTCP (ignored).
    Rtcp,
    /// A payload type that was not negotiated (dropped).
    UnknownPayload,
    /// From a source other than the peer's (dropped).
    Foreign,
    /// RTP sent to the peer.
    Sent,
}

/// Labels of [`Rtp`], in declaration order.
const RTP: [&str; 6] = [
    "received",
    "malformed",
    "rtcp",
    "unknown_payload",
    "foreign",
    "sent",
];

impl Metrics {
    /// An inbound call arrived (an INVITE that got as far as its flow).
    pub fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// An MPC event happened.
    pub fn event(&self, name: EventName) {
        // EventName::ALL is in declaration order, so the discriminant indexes it.
        self.events[name as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A callback was delivered, retried or dropped.
    pub fn callback(&self, kind: CallbackKind, outcome: Callback) {
        self.callbacks[kind as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// An MPC recording was completed (`true`) or failed.
    pub fn recording(&self, completed: bool) {
        self.recordings[usize::from(completed)].fetch_add(1, Ordering::Relaxed);
    }

    /// A sound or music document loaded (`true`) or failed.
    pub fn sound(&self, loaded: bool) {
        self.sounds[usize::from(loaded)].fetch_add(1, Ordering::Relaxed);
    }

    /// `n` datagrams of a released leg went `kind`.
    pub fn rtp(&self, kind: Rtp, n: u64) {
        self.rtp[kind as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the two gauges given.
    pub fn render(&self, active_calls: usize, active_mpcs: usize) -> String {
        let mut out = String::with_capacity(2048);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
            render_header(&mut out, name, kind, help);
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        metric(
            "chorus_calls_total",
            "counter",
            "Inbound calls received.",
            &[(String::new(), get(&self.calls))],
        );
        metric(
            "chorus_calls_active",
            "gauge",
            "Calls in progress.",
            &[(String::new(), active_calls as u64)],
        );
        metric(
            "chorus_mpcs_active",
            "gauge",
            "Multiparty calls in progress.",
            &[(String::new(), active_mpcs as u64)],
        );
        let events: Vec<(String, u64)> = EventName::ALL
            .iter()
            .zip(&self.events)
            .map(|(name, c)| (format!("{{event=\"{}\"}}", name.as_str()), get(c)))
            .collect();
        metric(
            "chorus_mpc_events_total",
            "counter",
            "MPC events, as logged and (when asked for) sent as status callbacks.",
            &events,
        );
        for kind in CallbackKind::ALL {
            let callbacks: Vec<(String, u64)> = CALLBACKS
                .iter()
                .zip(&self.callbacks[kind as usize])
                .map(|(label, c)| (format!("{{outcome=\"{label}\"}}"), get(c)))
                .collect();
            metric(
                &format!("chorus_{}_callbacks_total", kind.as_str()),
                "counter",
                &format!(
                    "Deliveries, retries and drops (after every retry) of {} callbacks.",
                    kind.as_str()
                ),
                &callbacks,
            );
        }
        // [failed, succeeded] counters, each with its outcome label.
        let outcomes = |counters: &[AtomicU64; 2], succeeded: &str| {
            [(succeeded, &counters[1]), ("failed", &counters[0])]
                .map(|(label, c)| (format!("{{outcome=\"{label}\"}}"), get(c)))
        };
        metric(
            "chorus_sound_documents_total",
            "counter",
            "Music and enter/exit sound documents loaded or failed (silence).",
            &outcomes(&self.sounds, "loaded"),
        );
        metric(
            "chorus_recordings_total",
            "counter",
            "MPC recordings completed or failed.",
            &outcomes(&self.recordings, "completed"),
        );
        let rtp: Vec<(String, u64)> = RTP
            .iter()
            .zip(&self.rtp)
            .map(|(label, c)| (format!("{{outcome=\"{label}\"}}"), get(c)))
            .collect();
        metric(
            "chorus_rtp_packets_total",
            "counter",
            "RTP datagrams of calls' legs by what became of them (counted as each leg is released).",
            &rtp,
        );
        out
    }
}

/// Upper bounds of the [`Histogram`] buckets, in seconds: a media tick has
/// 20 ms, so the buckets resolve what fits in it and by how much it overran.
pub const TICK_BUCKETS: [f64; 10] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.1,
];

/// A histogram of durations over [`TICK_BUCKETS`], updated with relaxed
/// atomics: [`Histogram::observe`] is wait-free and never allocates, so a
/// media thread may call it in its tick.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at or under each bound (not cumulative; the last slot
    /// counts those over every bound).
    buckets: [AtomicU64; TICK_BUCKETS.len() + 1],
    sum_ns: AtomicU64,
}

impl Histogram {
    /// Counts one duration.
    pub fn observe(&self, duration: Duration) {
        let secs = duration.as_secs_f64();
        let slot = TICK_BUCKETS
            .iter()
            .position(|&bound| secs <= bound)
            .unwrap_or(TICK_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let ns = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }
}

/// Writes the `# HELP`/`# TYPE` header of a metric.
pub fn render_header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Writes one histogram's samples (`_bucket`, `_sum`, `_count`) with
/// `labels` (e.g. `worker="0"`); the header is written once per metric by
/// [`render_header`].
pub fn render_histogram(out: &mut String, name: &str, labels: &str, histogram: &Histogram) {
    let mut cumulative = 0;
    for (bound, bucket) in TICK_BUCKETS.iter().zip(&histogram.buckets) {
        cumulative += bucket.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    let total = histogram.count();
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {total}");
    let sum = histogram.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
    let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
    let _ = writeln!(out, "{name}_count{{{labels}}} {total}");
}

/// Writes one counter sample with `labels`.
pub fn render_counter(out: &mut String, name: &str, labels: &str, counter: &AtomicU64) {
    let _ = writeln!(
        out,
        "{name}{{{labels}}} {}",
        counter.load(Ordering::Relaxed)
    );
}

/// Serves `GET /metrics` on `listener` (bound before the daemon reports
/// ready, so a taken port is a start-up error) until `stop`; each request
/// answers what `render` returns (the daemon's closure over its counters and
/// gauges).
pub async fn serve<R>(listener: tokio::net::TcpListener, render: R, stop: CancellationToken)
where
    R: Fn() -> String + Clone + Send + Sync + 'static,
{
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let text = render();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                )
            }
        }),
    );
    let shutdown = async move { stop.cancelled().await };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(%error, "metrics endpoint stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_and_outcome_has_its_own_line() {
        let m = Metrics::default();
        m.call();
        m.event(EventName::MpcStart);
        m.event(EventName::MpcStart);
        m.callback(CallbackKind::Status, Callback::Retried);
        m.callback(CallbackKind::Recording, Callback::Delivered);
        m.callback(CallbackKind::CallStatus, Callback::Dropped);
        m.sound(false);
        m.recording(true);
        m.rtp(Rtp::Foreign, 7);
        let text = m.render(3, 1);
        for line in [
            "chorus_calls_total 1",
            "chorus_calls_active 3",
            "chorus_mpcs_active 1",
            "chorus_mpc_events_total{event=\"MPCStart\"} 2",
            "chorus_mpc_events_total{event=\"ParticipantDigitInput\"} 0",
            "chorus_status_callbacks_total{outcome=\"retried\"} 1",
            "chorus_status_callbacks_total{outcome=\"delivered\"} 0",
            "chorus_recording_callbacks_total{outcome=\"delivered\"} 1",
            "chorus_recording_callbacks_total{outcome=\"retried\"} 0",
            "chorus_call_status_callbacks_total{outcome=\"dropped\"} 1",
            "chorus_sound_documents_total{outcome=\"failed\"} 1",
            "chorus_recordings_total{outcome=\"completed\"} 1",
            "chorus_recordings_total{outcome=\"failed\"} 0",
            "chorus_rtp_packets_total{outcome=\"foreign\"} 7",
            "chorus_rtp_packets_total{outcome=\"sent\"} 0",
            "# TYPE chorus_mpc_events_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(
            samples,
            3 + EventName::ALL.len() + 3 * CallbackKind::ALL.len() + 2 + 2 + RTP.len()
        );
    }

    #[test]
    fn a_histogram_renders_cumulative_buckets_its_sum_and_count() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(80));
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(1));
        let mut text = String::new();
        render_histogram(&mut text, "t", "worker=\"0\"", &h);
        for line in [
            "t_bucket{worker=\"0\",le=\"0.0001\"} 1",
            "t_bucket{worker=\"0\",le=\"0.00025\"} 1",
            "t_bucket{worker=\"0\",le=\"0.0005\"} 2",
            "t_bucket{worker=\"0\",le=\"0.02\"} 2",
            "t_bucket{worker=\"0\",le=\"0.04\"} 3",
            "t_bucket{worker=\"0\",le=\"0.1\"} 3",
            "t_bucket{worker=\"0\",le=\"+Inf\"} 4",
            "t_sum{worker=\"0\"} 1.03038",
            "t_count{worker=\"0\"} 4",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
