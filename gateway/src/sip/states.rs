//! One dialog-state channel for every inbound call, routed to each call by
//! dialog id.
//!
//! rsipstack reports a dialog's states (ACK received, re-INVITE, BYE, ...)
//! on a channel its creator gives it. A channel per call costs its first
//! block up front, 32 states of about 300 bytes: some 10 KB a call for a
//! channel that carries a handful of messages in a call's life. So every
//! inbound dialog is given one shared sender, a task routes each state to
//! its call's [`CallStates`], which carry boxed states (a pointer each),
//! and a call's route goes when its `CallStates` is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::{DialogState, DialogStateSender};
use tokio::sync::mpsc;

type Routes = Arc<Mutex<HashMap<DialogId, mpsc::UnboundedSender<Box<DialogState>>>>>;

/// The shared sender and the routes to each call.
#[derive(Clone)]
pub(super) struct StateRouter {
    sender: DialogStateSender,
    routes: Routes,
}

impl StateRouter {
    /// A router whose task runs until every sender (rsipstack's dialogs
    /// and this router) is gone. Must be called inside the runtime.
    pub(super) fn start() -> Self {
        let (sender, mut states) = mpsc::unbounded_channel::<DialogState>();
        let routes = Routes::default();
        let table = routes.clone();
        tokio::spawn(async move {
            while let Some(state) = states.recv().await {
                let id = state.id().clone();
                let route = lock(&table).get(&id).cloned();
                // A state for a call that is gone has nobody to go to.
                if let Some(route) = route
                    && route.send(Box::new(state)).is_err()
                {
                    lock(&table).remove(&id);
                }
            }
        });
        Self { sender, routes }
    }

    /// The sender to give a new dialog.
    pub(super) fn sender(&self) -> DialogStateSender {
        self.sender.clone()
    }

    /// Routes the states of dialog `id` to the call that takes the result.
    pub(super) fn route(&self, id: DialogId) -> CallStates {
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.routes).insert(id.clone(), tx);
        CallStates {
            rx,
            id,
            routes: self.routes.clone(),
        }
    }
}

fn lock(
    routes: &Routes,
) -> std::sync::MutexGuard<'_, HashMap<DialogId, mpsc::UnboundedSender<Box<DialogState>>>> {
    // The map stays whole whatever a panicking holder was doing.
    routes.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One call's dialog states; dropping it removes the route.
pub struct CallStates {
    rx: mpsc::UnboundedReceiver<Box<DialogState>>,
    id: DialogId,
    routes: Routes,
}

impl CallStates {
    /// The next state; `None` once the router is gone.
    pub async fn recv(&mut self) -> Option<DialogState> {
        self.rx.recv().await.map(|state| *state)
    }
}

impl Drop for CallStates {
    fn drop(&mut self) {
        lock(&self.routes).remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rsipstack::dialog::dialog::TerminatedReason;

    use super::*;

    fn id(call: &str) -> DialogId {
        DialogId {
            call_id: call.into(),
            local_tag: "a".into(),
            remote_tag: "b".into(),
        }
    }

    fn ended(call: &str) -> DialogState {
        DialogState::Terminated(id(call), TerminatedReason::UacBye)
    }

    async fn next(states: &mut CallStates) -> Option<DialogState> {
        tokio::time::timeout(Duration::from_secs(2), states.recv())
            .await
            .ok()
            .flatten()
    }

    #[tokio::test]
    async fn each_call_gets_its_own_dialogs_states_and_a_dropped_call_its_route_removed() {
        let router = StateRouter::start();
        let mut one = router.route(id("one"));
        let mut two = router.route(id("two"));
        let sender = router.sender();
        sender.send(ended("two")).unwrap();
        sender.send(ended("nobody")).unwrap();
        sender.send(ended("one")).unwrap();
        assert_eq!(
            next(&mut one).await.map(|s| s.id().clone()),
            Some(id("one"))
        );
        assert_eq!(
            next(&mut two).await.map(|s| s.id().clone()),
            Some(id("two"))
        );
        assert_eq!(lock(&router.routes).len(), 2);
        drop(one);
        assert_eq!(lock(&router.routes).len(), 1, "a dropped call's route goes");
        sender.send(ended("one")).unwrap();
        sender.send(ended("two")).unwrap();
        assert!(next(&mut two).await.is_some(), "the router went on");
    }
}
