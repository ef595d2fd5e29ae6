//! Callback delivery (status and recording callbacks): a [`CallbackQueue`]
//! per MPC and URL posts its events in order, retrying with backoff, so a
//! slow or dead callback URL delays nothing but that MPC's later callbacks to
//! it (never a media tick, never another MPC, never the MPC's own engine).
//!
//! The queue belongs to its MPC's task, which drives it from its select loop
//! with [`CallbackQueue::deliver_next`] (cancel-safe: the attempt in flight
//! lives in the queue, so losing a select race does not restart it).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chorus_mpc::{RecordingEvent, StatusEvent};
use chorus_xml::Method;

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

/// Where one queue's events go.
struct Target {
    http: reqwest::Client,
    url: String,
    method: Method,
    metrics: Arc<Metrics>,
}

/// One MPC's events of one kind for one URL, delivered in order.
pub struct CallbackQueue<E> {
    target: Arc<Target>,
    pending: VecDeque<E>,
    in_flight: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<E: CallbackEvent> CallbackQueue<E> {
    /// An empty queue for `url`, posting with `http` by `method` and
    /// counting outcomes on `metrics`.
    pub fn new(http: reqwest::Client, url: String, method: Method, metrics: Arc<Metrics>) -> Self {
        Self {
            target: Arc::new(Target {
                http,
                url,
                method,
                metrics,
            }),
            pending: VecDeque::new(),
            in_flight: None,
        }
    }

    /// Queues an event behind the others.
    pub fn push(&mut self, event: E) {
        self.pending.push_back(event);
    }

    /// True when everything queued was delivered (or dropped).
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_none() && self.pending.is_empty()
    }

    /// Delivers (or, after every retry, drops) the oldest event; pends for
    /// ever when the queue is idle. Cancel-safe.
    pub async fn deliver_next(&mut self) {
        if self.in_flight.is_none() {
            let Some(event) = self.pending.pop_front() else {
                return std::future::pending().await;
            };
            let target = self.target.clone();
            self.in_flight = Some(Box::pin(async move {
                let delivered = deliver(&target, &event).await;
                target.metrics.callback(
                    E::KIND,
                    if delivered {
                        Callback::Delivered
                    } else {
                        Callback::Dropped
                    },
                );
            }));
        }
        if let Some(attempt) = &mut self.in_flight {
            attempt.await;
        }
        self.in_flight = None;
    }
}

/// Sends one event, retrying; logs it with its payload if every attempt
/// failed. True if it was delivered.
async fn deliver<E: CallbackEvent>(target: &Target, event: &E) -> bool {
    let Target {
        http,
        url,
        method,
        metrics,
    } = target;
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
