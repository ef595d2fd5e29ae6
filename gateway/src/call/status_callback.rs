//! `call_status_callback_url`: the events of a call chorus placed for Add
//! Participant (`Initiated`, `Ringing`, `Answered`, `Hangup`), posted in
//! order with seed 001's fields by a task of the call's own, through the
//! same retrying [`CallbackQueue`] as MPC callbacks. The task ends once the
//! call's report is dropped and everything queued was delivered (or
//! dropped after its retries).

use std::sync::Arc;

use chorus_mpc::Timestamp;
use chorus_xml::Method;
use tokio::sync::mpsc;

use crate::events::{CallbackEvent, CallbackQueue};
use crate::metrics::{CallbackKind, Metrics};
use crate::mpc::{CallEvent, CallEventName};

/// One call status callback: the event and the call's times so far.
#[derive(Debug, Clone)]
pub struct CallStatusEvent {
    /// The event, as watchers see it.
    pub event: Arc<CallEvent>,
    /// Its place in the call's callbacks, from 1.
    pub sequence: u64,
    /// When the call was initiated.
    pub initiated: Timestamp,
    /// When it started ringing, if it did.
    pub ringing: Option<Timestamp>,
    /// When it was answered, if it was.
    pub answered: Option<Timestamp>,
}

impl CallbackEvent for CallStatusEvent {
    const KIND: CallbackKind = CallbackKind::CallStatus;
    fn name(&self) -> &'static str {
        self.event.name.as_str()
    }
    fn sequence(&self) -> u64 {
        self.sequence
    }
    /// Seed 001's fields; a value that does not apply yet is empty (Plivo's
    /// "null"). Billing fields (`Rate`, `TotalAmount`) are not sent: chorus
    /// bills nothing; `BilledDuration` is the time in the call.
    fn fields(&self) -> Vec<(&'static str, String)> {
        let e = &self.event;
        let time = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        let over = e.name == CallEventName::Hangup;
        let duration = over.then(|| {
            self.answered
                .map_or(0, |answered| e.at.secs_since(answered))
                .to_string()
        });
        let ring_time = self.ringing.map(|rang| {
            self.answered
                .or(over.then_some(e.at))
                .map_or(0, |end| end.secs_since(rang))
        });
        let hangup = e.hangup.as_ref();
        vec![
            ("EventName", e.name.as_str().to_owned()),
            ("SequenceNumber", self.sequence.to_string()),
            ("CallUUID", e.call_uuid.clone()),
            ("From", e.from.clone()),
            ("To", e.to.clone()),
            ("Direction", e.direction.to_owned()),
            (
                "MPCUUID",
                e.mpc
                    .as_ref()
                    .map(|(uuid, _)| uuid.clone())
                    .unwrap_or_default(),
            ),
            ("InitiationTime", self.initiated.to_string()),
            ("AnswerTime", time(self.answered)),
            (
                "HangupTime",
                if over {
                    e.at.to_string()
                } else {
                    String::new()
                },
            ),
            (
                "RingTime",
                ring_time.map(|s| s.to_string()).unwrap_or_default(),
            ),
            ("Duration", duration.clone().unwrap_or_default()),
            ("BilledDuration", duration.unwrap_or_default()),
            (
                "PlivoHangupCause",
                hangup.map(|h| h.cause.to_owned()).unwrap_or_default(),
            ),
            (
                "PlivoHangupCauseCode",
                hangup
                    .and_then(|h| h.code)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            ),
            (
                "PlivoHangupSource",
                hangup.map(|h| h.source.to_owned()).unwrap_or_default(),
            ),
        ]
    }
}

/// Where a call's status callbacks are queued; dropping it lets the
/// delivery task finish what is queued and end.
pub struct CallStatusSink(mpsc::UnboundedSender<CallStatusEvent>);

impl CallStatusSink {
    /// Starts the delivery task for `url`.
    pub fn start(
        http: reqwest::Client,
        url: String,
        method: Method,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<CallStatusEvent>();
        let mut queue = CallbackQueue::new(http, url, method, metrics);
        tokio::spawn(async move {
            let mut open = true;
            while open || !queue.is_idle() {
                tokio::select! {
                    event = rx.recv(), if open => match event {
                        Some(event) => queue.push(event),
                        None => open = false,
                    },
                    () = queue.deliver_next(), if !queue.is_idle() => {}
                }
            }
        });
        Self(tx)
    }

    /// Queues one event.
    pub fn push(&self, event: CallStatusEvent) {
        let _ = self.0.send(event);
    }
}
