//! Every MPC and recording event, for whoever watches them live (the
//! control API's event stream), whether or not the application asked for
//! its callback. A bounded broadcast: a watcher that falls too far behind
//! is told how many it missed rather than slowing the MPCs down.

use std::sync::Arc;

use chorus_mpc::{RecordingEvent, StatusEvent};
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
