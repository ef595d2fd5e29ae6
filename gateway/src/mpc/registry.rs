//! The registry: MPC names to their tasks' mailboxes. Its lock is held for
//! a lookup or an insertion, never across an engine step.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chorus_mpc::{CallInfo, Rejection};
use chorus_xml::MultiPartyCall;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::mailbox::{Command, JoinError, JoinReply, JoinRequest};
use super::membership::Membership;
use super::services::MpcServices;
use super::task::MpcTask;
use crate::media::{Leg, LegId};

/// A live MPC in the registry: its UUID and its task's mailbox.
struct Listed {
    uuid: String,
    commands: mpsc::UnboundedSender<Command>,
}

/// The registry's map, shared with the tasks so that an ending MPC takes
/// itself off it.
#[derive(Clone, Default)]
struct Listing(Arc<Mutex<HashMap<String, Listed>>>);

impl Listing {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Listed>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets MPC `name` if it is still the one with `uuid`.
    fn remove(&self, name: &str, uuid: &str) {
        let mut map = self.lock();
        if map.get(name).is_some_and(|l| l.uuid == uuid) {
            map.remove(name);
        }
    }
}

/// How often a join is retried when it reaches an MPC that ended meanwhile
/// (each retry finds or starts the MPC's successor).
const JOIN_ATTEMPTS: usize = 3;

/// All MPCs of this host, by friendly name. Cheap to clone.
#[derive(Clone)]
pub struct MpcRegistry {
    listing: Listing,
    services: Arc<MpcServices>,
    tasks: TaskTracker,
}

impl MpcRegistry {
    /// An empty registry whose MPCs use `services`.
    pub fn new(services: MpcServices) -> Self {
        Self {
            listing: Listing::default(),
            services: Arc::new(services),
            tasks: TaskTracker::new(),
        }
    }

    /// Puts `leg` (of `call`) into the MPC that `spec` names, starting it if
    /// needed.
    pub async fn join(
        &self,
        spec: &MultiPartyCall,
        call: CallInfo,
        leg_id: LegId,
        mut leg: Box<Leg>,
    ) -> Result<Membership, JoinError> {
        for _ in 0..JOIN_ATTEMPTS {
            let (uuid, commands) = self.find_or_start(spec);
            let (reply, replied) = oneshot::channel();
            let request = JoinRequest {
                call: call.clone(),
                spec: Box::new(spec.clone()),
                leg_id,
                leg,
                reply,
            };
            if let Err(refused) = commands.send(Command::Join(Box::new(request))) {
                // The task ended between the lookup and the send.
                let Command::Join(request) = refused.0 else {
                    unreachable!("a join was sent")
                };
                leg = request.leg;
                continue;
            }
            match replied.await {
                Ok(JoinReply::Joined {
                    member,
                    events,
                    released,
                }) => {
                    return Ok(Membership {
                        name: spec.name.clone(),
                        mpc_uuid: uuid,
                        member,
                        leg_id,
                        events,
                        mpc: commands,
                        released,
                    });
                }
                Ok(JoinReply::Refused(error)) => return Err(error),
                Ok(JoinReply::Ended(back)) => leg = back,
                Err(_) => {
                    return Err(JoinError::Lost {
                        name: spec.name.clone(),
                    });
                }
            }
        }
        Err(JoinError::Rejected {
            name: spec.name.clone(),
            reason: Rejection::Ended,
            leg,
        })
    }

    /// The task of the MPC `spec` names, started if there is none.
    fn find_or_start(&self, spec: &MultiPartyCall) -> (String, mpsc::UnboundedSender<Command>) {
        let mut map = self.listing.lock();
        if let Some(listed) = map.get(&spec.name)
            && !listed.commands.is_closed()
        {
            return (listed.uuid.clone(), listed.commands.clone());
        }
        let uuid = uuid::Uuid::new_v4().to_string();
        let (commands, mailbox) = mpsc::unbounded_channel();
        // A root span: the MPC outlives the call that started it.
        let span = tracing::info_span!(parent: None, "mpc", mpc = %spec.name, mpc_uuid = %uuid);
        let (listing, name, listed_uuid) = (self.listing.clone(), spec.name.clone(), uuid.clone());
        let deregister = Box::new(move || listing.remove(&name, &listed_uuid));
        let task = MpcTask::new(
            spec,
            uuid.clone(),
            mailbox,
            self.services.clone(),
            deregister,
        );
        self.tasks.spawn(task.run().instrument(span));
        map.insert(
            spec.name.clone(),
            Listed {
                uuid: uuid.clone(),
                commands: commands.clone(),
            },
        );
        (uuid, commands)
    }

    /// Waits up to `limit` for every MPC task to end — their last callbacks
    /// delivered — (call once no call is left, so every MPC has ended); true
    /// if all did.
    pub async fn drain(&self, limit: Duration) -> bool {
        self.tasks.close();
        tokio::time::timeout(limit, self.tasks.wait()).await.is_ok()
    }

    /// How many MPCs are live.
    pub fn len(&self) -> usize {
        self.listing.lock().len()
    }

    /// True when no MPC is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many MPC tasks are still running (live MPCs, and ended ones
    /// delivering their last callbacks).
    pub fn tasks(&self) -> usize {
        self.tasks.len()
    }
}
