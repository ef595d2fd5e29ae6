//! Status callback delivery: one task per MPC posts its events in order,
//! retrying with backoff, so a slow or dead callback URL delays nothing but
//! that MPC's later callbacks (never a media tick, never another MPC).

use std::sync::Arc;
use std::time::Duration;

use chorus_mpc::StatusEvent;
use chorus_xml::Method;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::metrics::{Callback, Metrics};

/// Delays before the retries of a callback that failed (no answer within
/// [`ATTEMPT_TIMEOUT`], or a non-2xx status): four attempts in all.
pub const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(8),
];

/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the delivery task of one MPC's status callbacks to `url` on
/// `tasks` (so a stopping daemon can wait for the queues to drain); events
/// sent on the returned channel are delivered in order. The task ends when
/// the sender is dropped and its queue is delivered.
pub fn spawn_status_callbacks(
    tasks: &TaskTracker,
    http: reqwest::Client,
    url: String,
    method: Method,
    metrics: Arc<Metrics>,
) -> mpsc::UnboundedSender<StatusEvent> {
    let (tx, mut rx) = mpsc::unbounded_channel::<StatusEvent>();
    tasks.spawn(async move {
        while let Some(event) = rx.recv().await {
            let delivered = deliver(&http, &url, method, &event, &metrics).await;
            metrics.callback(if delivered {
                Callback::Delivered
            } else {
                Callback::Dropped
            });
        }
    });
    tx
}

/// Sends one event, retrying; logs it with its payload if every attempt
/// failed. True if it was delivered.
async fn deliver(
    http: &reqwest::Client,
    url: &str,
    method: Method,
    event: &StatusEvent,
    metrics: &Metrics,
) -> bool {
    let fields = event.fields();
    let mut last_error = String::new();
    for (attempt, delay) in std::iter::once(Duration::ZERO)
        .chain(RETRY_DELAYS)
        .enumerate()
    {
        if attempt > 0 {
            metrics.callback(Callback::Retried);
        }
        tokio::time::sleep(delay).await;
        let request = match method {
            Method::Get => http.get(url).query(&fields),
            Method::Post => http.post(url).form(&fields),
        };
        match request.timeout(ATTEMPT_TIMEOUT).send().await {
            Ok(response) if response.status().is_success() => {
                tracing::debug!(
                    event = event.name.as_str(),
                    sequence = event.sequence,
                    "status callback delivered"
                );
                return true;
            }
            Ok(response) => last_error = format!("HTTP {}", response.status().as_u16()),
            Err(error) => last_error = error.to_string(),
        }
        tracing::info!(%url, event = event.name.as_str(), error = %last_error, "status callback failed; retrying");
    }
    tracing::warn!(
        %url,
        event = event.name.as_str(),
        error = %last_error,
        payload = ?fields,
        "status callback not delivered after every retry"
    );
    false
}
