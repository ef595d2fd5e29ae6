//! The registry: MPC names to their tasks' mailboxes. Its lock is held for
//! a lookup or an insertion, never across an engine step.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chorus_mpc::{CallInfo, MpcState, Rejection};
use chorus_xml::MultiPartyCall;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::mailbox::{
    Command, Control, ControlError, Controlled, JoinError, JoinReply, JoinRequest,
};
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

    /// The live MPC at `address`: its UUID and mailbox.
    fn find(&self, address: &MpcAddress) -> Option<(String, mpsc::UnboundedSender<Command>)> {
        let map = self.lock();
        let listed = match address {
            MpcAddress::Name(name) => map.get(name),
            MpcAddress::Uuid(uuid) => map.values().find(|l| &l.uuid == uuid),
        }?;
        Some((listed.uuid.clone(), listed.commands.clone()))
    }
}

/// How many ended MPCs the registry remembers for the API.
pub const HISTORY: usize = 1000;

/// The final states of the last [`HISTORY`] MPCs that ended, newest last.
#[derive(Clone, Default)]
struct History(Arc<Mutex<VecDeque<MpcState>>>);

impl History {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<MpcState>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, state: MpcState) {
        let mut ended = self.lock();
        if ended.len() == HISTORY {
            ended.pop_front();
        }
        ended.push_back(state);
    }

    /// The newest ended MPC at `address`.
    fn find(&self, address: &MpcAddress) -> Option<MpcState> {
        self.lock()
            .iter()
            .rev()
            .find(|state| address.is(state))
            .cloned()
    }
}

/// How the API names an MPC: Plivo's `name_<friendly name>` or
/// `uuid_<MPC UUID>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpcAddress {
    /// By friendly name (the live one, else the newest that ended).
    Name(String),
    /// By UUID.
    Uuid(String),
}

impl MpcAddress {
    fn is(&self, state: &MpcState) -> bool {
        match self {
            Self::Name(name) => &state.mpc.name == name,
            Self::Uuid(uuid) => &state.mpc.uuid == uuid,
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
    history: History,
    services: Arc<MpcServices>,
    tasks: TaskTracker,
}

impl MpcRegistry {
    /// An empty registry whose MPCs use `services`.
    pub fn new(services: MpcServices) -> Self {
        Self {
            listing: Listing::default(),
            history: History::default(),
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
        let (listing, history) = (self.listing.clone(), self.history.clone());
        let (name, listed_uuid) = (spec.name.clone(), uuid.clone());
        let deregister = Box::new(move |last: MpcState| {
            history.push(last);
            listing.remove(&name, &listed_uuid);
        });
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

    /// Has the MPC at `address` carry out `control` (the API); answers with
    /// its state after. An ended MPC can only be shown.
    pub async fn control(
        &self,
        address: &MpcAddress,
        control: Control,
    ) -> Result<Controlled, ControlError> {
        if let Some((_, commands)) = self.listing.find(address) {
            let (reply, replied) = oneshot::channel();
            let command = Command::Control {
                control: control.clone(),
                reply,
            };
            if commands.send(command).is_ok()
                && let Ok(answer) = replied.await
            {
                return answer;
            }
            // It ended between the lookup and the answer: see its history.
        }
        match (self.history.find(address), control) {
            (Some(state), Control::Show) => Ok(Controlled {
                state,
                recording: None,
                tracks: Vec::new(),
            }),
            (Some(_), _) => Err(ControlError::Ended),
            (None, _) => Err(ControlError::NoSuchMpc),
        }
    }

    /// Every MPC this host knows: the live ones as they are now, then the
    /// last `HISTORY` (1000) that ended, newest first.
    pub async fn list(&self) -> Vec<MpcState> {
        let live: Vec<(String, String)> = self
            .listing
            .lock()
            .iter()
            .map(|(name, listed)| (name.clone(), listed.uuid.clone()))
            .collect();
        let mut states = Vec::new();
        for (_, uuid) in live {
            if let Ok(shown) = self.control(&MpcAddress::Uuid(uuid), Control::Show).await {
                states.push(shown.state);
            }
        }
        states.sort_by_key(|s| std::cmp::Reverse(s.mpc.created));
        // An MPC that ended while it was being asked is in both.
        let shown: Vec<String> = states.iter().map(|s| s.mpc.uuid.clone()).collect();
        let ended: Vec<MpcState> = self.history.lock().iter().rev().cloned().collect();
        states.extend(ended.into_iter().filter(|e| !shown.contains(&e.mpc.uuid)));
        states
    }

    /// Waits up to `limit` for every MPC task to end — their last callbacks
    /// delivered — (call once no call is left, so every MPC has ended); true
    /// if all did.
    pub async fn drain(&self, limit: Duration) -> bool {
        self.tasks.close();
        tokio::time::timeout(limit, self.tasks.wait()).await.is_ok()
    }

    /// Every MPC and recording event from now on, as it happens.
    pub fn watch(&self) -> tokio::sync::broadcast::Receiver<super::watch::Watched> {
        self.services.events.subscribe()
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
