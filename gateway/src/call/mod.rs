//! Calls: one tokio task per call runs its XML call flow.
//!
//! [`inbound::InboundCall`] answers an INVITE: negotiates SDP, rings, fetches
//! the answer URL (or uses the built-in app), then executes the `<Response>`
//! one element at a time, serving in-dialog requests (re-INVITE, OPTIONS,
//! BYE) all along. [`CallTable`] knows every live call so a graceful stop can
//! hang them all up.

pub mod answer;
pub mod inbound;
mod params;

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

/// Every live call, by call UUID, with the token that asks it to hang up.
#[derive(Default)]
pub struct CallTable {
    calls: Mutex<HashMap<String, CancellationToken>>,
}

impl CallTable {
    /// Registers a call; the token is cancelled to make it hang up.
    pub fn insert(&self, call_uuid: &str) -> CancellationToken {
        let token = CancellationToken::new();
        self.lock().insert(call_uuid.to_owned(), token.clone());
        token
    }

    /// Forgets a call that ended.
    pub fn remove(&self, call_uuid: &str) {
        self.lock().remove(call_uuid);
    }

    /// Number of live calls.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no call is live.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Asks every live call to hang up.
    pub fn hang_up_all(&self) {
        for token in self.lock().values() {
            token.cancel();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}
