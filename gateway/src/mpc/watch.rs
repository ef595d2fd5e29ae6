//! Every MPC, recording and call event, for whoever watches them live (the
//! control API's event stream), whether or not the application asked for
//! its callback. A bounded broadcast: a watcher that falls too far behind
//! is told how many it missed rather than slowing the MPCs down. The bus
//! lives here because MPCs publish most of it; calls publish
//! [`CallEvent`]s on it too (see `crate::call`).

use std::sync::Arc;

use chorus_mpc::{RecordingEvent, StatusEvent, Timestamp};
use tokio::sync::broadcast;

/// Events a watcher may fall behind by before it misses some.
const BACKLOG: usize = 1024;

/// One event, as watchers see it.
#[derive(Debug, Clone)]
pub enum Watched {
    /// An MPC or participant event (the status callback's events).
    Mpc(Arc<StatusEvent>),
    /// A recording event (the recording callback's events).
    Recording(Arc<RecordingEvent>),
    /// A call's progress: the events of Plivo's call status callbacks.
    Call(Arc<CallEvent>),
}

/// A call's progress, as Plivo's call status callbacks name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEventName {
    /// The call reached chorus (an INVITE it will serve).
    Initiated,
    /// The caller hears ringing (180).
    Ringing,
    /// The call was answered (200).
    Answered,
    /// The call is over.
    Hangup,
}

impl CallEventName {
    /// Plivo's `EventName`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiated => "Initiated",
            Self::Ringing => "Ringing",
            Self::Answered => "Answered",
            Self::Hangup => "Hangup",
        }
    }
}

/// Why and by whom a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HangupInfo {
    /// `PlivoHangupCause`, e.g. `Normal Hangup`.
    pub cause: &'static str,
    /// `PlivoHangupCauseCode`: Plivo's code where Plivo lists the cause.
    pub code: Option<u32>,
    /// `PlivoHangupSource`: `Caller`, `Answer XML`, `Error` or `chorus`.
    pub source: &'static str,
}

/// One step of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// What happened.
    pub name: CallEventName,
    /// When.
    pub at: Timestamp,
    /// `CallUUID`.
    pub call_uuid: String,
    /// `From`: the caller.
    pub from: String,
    /// `To`: what it dialled.
    pub to: String,
    /// `inbound` (answered by chorus) or `outbound`.
    pub direction: &'static str,
    /// The MPC the call is in (UUID, friendly name), if any; for a hangup,
    /// the last one it was in.
    pub mpc: Option<(String, String)>,
    /// For a hangup: why.
    pub hangup: Option<HangupInfo>,
}

/// Where events are published; cheap to clone.
#[derive(Debug, Clone)]
pub struct EventBus(broadcast::Sender<Watched>);

impl Default for EventBus {
    fn default() -> Self {
        Self(broadcast::channel(BACKLOG).0)
    }
}

impl EventBus {
    /// Hands `event` to every watcher (none: it is dropped).
    pub fn publish(&self, event: Watched) {
        let _ = self.0.send(event);
    }

    /// A new watcher: every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Watched> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chorus_mpc::{EventName, MpcFields, Timestamp};

    #[tokio::test]
    async fn watchers_get_what_is_published_after_they_subscribe() {
        let bus = EventBus::default();
        let event = |name| {
            Watched::Mpc(Arc::new(StatusEvent {
                name,
                at: Timestamp(0),
                requested: false,
                sequence: 0,
                mpc: MpcFields {
                    uuid: "u".into(),
                    name: "n".into(),
                    created: Timestamp(0),
                    started: None,
                    ended: None,
                },
                member: None,
                digits: None,
            }))
        };
        bus.publish(event(EventName::MpcInitialized));
        let mut watcher = bus.subscribe();
        bus.publish(event(EventName::MpcStart));
        let Watched::Mpc(got) = watcher.recv().await.unwrap() else {
            panic!("not an MPC event")
        };
        assert_eq!(got.name, EventName::MpcStart);
    }
}
