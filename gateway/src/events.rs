//! Callback delivery (status and recording callbacks): one task per MPC and
//! URL posts its events in order, retrying with backoff, so a slow or dead
//! callback URL delays nothing but that MPC's later callbacks to it (never a
//! media tick, never another MPC).

use std::sync::Arc;
use std::time::Duration;

use chorus_mpc::{RecordingEvent, StatusEvent};
use chorus_xml::Method;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::metrics::{Callback, CallbackKind, Metrics};

/// An event sent to one of the application's callback URLs.
pub trait CallbackEvent: Send + Sync + 'static {
    /// Which URL it goes to (and which counters it feeds).
    const KIND: CallbackKind;
    /// Its `EventName`.
    fn name(&self) -> &'static str;
    /// Its `SequenceNumber`.
    fn sequence(&self) -> u64;
    /// Every field, for a form body or query string.
    fn fields(&self) -> Vec<(&'static str, String)>;
}

impl CallbackEvent for StatusEvent {
    const KIND: CallbackKind = CallbackKind::Status;
    fn name(&self) -> &'static str {
        self.name.as_str()
    }
    fn sequence(&self) -> u64 {
        self.sequence
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        StatusEvent::fields(self)
    }
}

impl CallbackEvent for RecordingEvent {
    const KIND: CallbackKind = CallbackKind::Recording;
    fn name(&self) -> &'static str {
        self.name.as_str()
    }
    fn sequence(&self) -> u64 {
        self.sequence
    }
    fn fields(&self) -> Vec<(&'static str, String)> {
        RecordingEvent::fields(self)
    }
}

/// Delays before the retries of a callback that failed (no answer within
/// [`ATTEMPT_TIMEOUT`], or a non-2xx status): four attempts in all.
pub const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(8),
];

/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the delivery task of one MPC's callbacks of one kind to `url` on
/// `tasks` (so a stopping daemon can wait for the queues to drain); events
/// sent on the returned channel are delivered in order. The task ends when
/// the sender is dropped and its queue is delivered.
pub fn spawn_callbacks<E: CallbackEvent>(
    tasks: &TaskTracker,
    http: reqwest::Client,
    url: String,
    method: Method,
    metrics: Arc<Metrics>,
) -> mpsc::UnboundedSender<E> {
    let (tx, mut rx) = mpsc::unbounded_channel::<E>();
    tasks.spawn(async move {
        while let Some(event) = rx.recv().await {
            let delivered = deliver(&http, &url, method, &event, &metrics).await;
            metrics.callback(
                E::KIND,
                if delivered {
                    Callback::Delivered
                } else {
                    Callback::Dropped
                },
            );
        }
    });
    tx
}

/// Sends one event, retrying; logs it with its payload if every attempt
/// failed. True if it was delivered.
async fn deliver<E: CallbackEvent>(
    http: &reqwest::Client,
    url: &str,
    method: Method,
    event: &E,
    metrics: &Metrics,
) -> bool {
    let fields = event.fields();
    let mut last_error = String::new();
    for (attempt, delay) in std::iter::once(Duration::ZERO)
        .chain(RETRY_DELAYS)
        .enumerate()
    {
        if attempt > 0 {
            metrics.callback(E::KIND, Callback::Retried);
        }
        tokio::time::sleep(delay).await;
        let request = match method {
            Method::Get => http.get(url).query(&fields),
            Method::Post => http.post(url).form(&fields),
        };
        match request.timeout(ATTEMPT_TIMEOUT).send().await {
            Ok(response) if response.status().is_success() => {
                tracing::debug!(
                    kind = E::KIND.as_str(),
                    event = event.name(),
                    sequence = event.sequence(),
                    "callback delivered"
                );
                return true;
            }
            Ok(response) => last_error = format!("HTTP {}", response.status().as_u16()),
            Err(error) => last_error = error.to_string(),
        }
        tracing::info!(%url, kind = E::KIND.as_str(), event = event.name(), error = %last_error, "callback failed; retrying");
    }
    tracing::warn!(
        %url,
        kind = E::KIND.as_str(),
        event = event.name(),
        error = %last_error,
        payload = ?fields,
        "callback not delivered after every retry"
    );
    false
}
