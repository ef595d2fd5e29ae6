//! The MPC registry: which multiparty calls exist on this host, and where
//! their media lives.
//!
//! An MPC's room is created on the least loaded media worker when its first
//! participant joins and forgotten when its last one leaves. The Plivo rules
//! (states, roles, callbacks) build on this in the MPC engine; this layer only
//! places legs into rooms.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::media::{Leg, LegEvent, LegId, MediaError, MediaPlane, RoomKey};

/// A live MPC on this host.
#[derive(Debug, Clone)]
struct MpcEntry {
    key: RoomKey,
    worker: usize,
    uuid: String,
    members: Vec<LegId>,
}

/// A participant's place in an MPC, returned by [`MpcRegistry::join`].
pub struct Membership {
    /// The MPC's friendly name.
    pub name: String,
    /// The MPC's UUID (stable while it has members).
    pub mpc_uuid: String,
    /// The participant's leg.
    pub leg_id: LegId,
    /// Digits from the leg, and the leg itself when it leaves.
    pub events: mpsc::UnboundedReceiver<LegEvent>,
}

/// All MPCs of this host, by friendly name.
pub struct MpcRegistry {
    media: Arc<MediaPlane>,
    mpcs: Mutex<HashMap<String, MpcEntry>>,
    next_key: AtomicU64,
}

impl MpcRegistry {
    /// An empty registry placing rooms on `media`.
    pub fn new(media: Arc<MediaPlane>) -> Self {
        Self {
            media,
            mpcs: Mutex::new(HashMap::new()),
            next_key: AtomicU64::new(1),
        }
    }

    /// Puts `leg` into the MPC called `name`, creating the MPC if needed.
    pub fn join(&self, name: &str, leg_id: LegId, leg: Leg) -> Result<Membership, MediaError> {
        let mut mpcs = self.lock();
        let entry = mpcs.entry(name.to_owned()).or_insert_with(|| MpcEntry {
            key: RoomKey(self.next_key.fetch_add(1, Ordering::Relaxed)),
            worker: self.media.pick_worker(),
            uuid: uuid::Uuid::new_v4().to_string(),
            members: Vec::new(),
        });
        let events = self.media.join(entry.worker, entry.key, leg_id, leg)?;
        entry.members.push(leg_id);
        tracing::info!(mpc = name, mpc_uuid = %entry.uuid, %leg_id, members = entry.members.len(), "participant joined");
        Ok(Membership {
            name: name.to_owned(),
            mpc_uuid: entry.uuid.clone(),
            leg_id,
            events,
        })
    }

    /// Takes the participant out of its MPC; the leg comes back on
    /// [`Membership::events`]. The MPC is forgotten with its last member.
    pub fn leave(&self, membership: &Membership) -> Result<(), MediaError> {
        let mut mpcs = self.lock();
        if let Some(entry) = mpcs.get_mut(&membership.name) {
            entry.members.retain(|m| *m != membership.leg_id);
            tracing::info!(mpc = %membership.name, leg_id = %membership.leg_id, members = entry.members.len(), "participant left");
            if entry.members.is_empty() {
                mpcs.remove(&membership.name);
            }
        }
        self.media.leave(membership.leg_id)
    }

    /// Number of participants in the MPC called `name` (0 if none).
    pub fn member_count(&self, name: &str) -> usize {
        self.lock().get(name).map_or(0, |e| e.members.len())
    }

    /// Number of live MPCs.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no MPC is live.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MpcEntry>> {
        self.mpcs.lock().unwrap_or_else(|e| e.into_inner())
    }
}
