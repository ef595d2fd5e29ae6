//! Every live call, inbound or outbound, by call UUID: what a graceful
//! stop hangs up and what a transfer (Add Participant's `call_uuid`)
//! reaches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chorus_xml::MultiPartyCall;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Every live call, by call UUID, with what can be asked of it from
/// outside: hang up (a graceful stop), or move to an MPC (a transfer).
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct CallTable {
    calls: Arc<Mutex<HashMap<String, LiveCall>>>,
}

/// What the table keeps of one call.
struct LiveCall {
    hang_up: CancellationToken,
    transfers: mpsc::UnboundedSender<Box<MultiPartyCall>>,
    /// Its `From` and `To`, for a transfer's answer.
    parties: (String, String),
}

/// A call's side of its table entry.
pub struct CallControl {
    /// Cancelled to make it hang up.
    pub hang_up: CancellationToken,
    /// The MPCs it is asked to move to.
    pub transfers: mpsc::UnboundedReceiver<Box<MultiPartyCall>>,
}

impl CallTable {
    /// Registers a call from `from` to `to`.
    pub fn insert(&self, call_uuid: &str, from: &str, to: &str) -> CallControl {
        let hang_up = CancellationToken::new();
        let (transfers, asked) = mpsc::unbounded_channel();
        let call = LiveCall {
            hang_up: hang_up.clone(),
            transfers,
            parties: (from.to_owned(), to.to_owned()),
        };
        self.lock().insert(call_uuid.to_owned(), call);
        CallControl {
            hang_up,
            transfers: asked,
        }
    }

    /// Forgets a call that ended.
    pub fn remove(&self, call_uuid: &str) {
        self.lock().remove(call_uuid);
    }

    /// Asks a live call to leave whatever it does and join `spec`'s MPC;
    /// its `From` and `To`, or `None` if no such call is live.
    pub fn transfer(&self, call_uuid: &str, spec: MultiPartyCall) -> Option<(String, String)> {
        let calls = self.lock();
        let call = calls.get(call_uuid)?;
        call.transfers.send(Box::new(spec)).ok()?;
        Some(call.parties.clone())
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
        for call in self.lock().values() {
            call.hang_up.cancel();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveCall>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}
