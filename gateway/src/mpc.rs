//! The MPC registry: which multiparty calls exist on this host, and where
//! their media lives.
//!
//! An MPC's room is created on the least loaded media worker when its first
//! participant joins and forgotten when its last one leaves. The first
//! participant's MPC-level attributes (`maxParticipants`) define the MPC;
//! each participant's own attributes (role, coach mode, mute, hold,
//! `startMpcOnEnter`, enter/exit sounds) shape what the room's mixer does.
//! The full Plivo state machine (callbacks, `endMpcOnExit`, `stayAlone`,
//! `maxDuration`) builds on this in the MPC engine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chorus_mixer::tone::Beep;
use chorus_mixer::{Participant, Role};
use chorus_xml::{MultiPartyCall, Sound};
use tokio::sync::mpsc;

use crate::media::{Entrance, Leg, LegEvent, LegId, MediaError, MediaPlane, RoomKey};

/// A live MPC on this host.
#[derive(Debug, Clone)]
struct MpcEntry {
    key: RoomKey,
    worker: usize,
    uuid: String,
    max_participants: usize,
    started: bool,
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
    /// The participant's state in the mixer.
    pub participant: Participant,
    /// Played to the others when this participant leaves.
    pub exit_sound: Option<Beep>,
    /// Digits, speech changes, and the leg itself when it leaves.
    pub events: mpsc::UnboundedReceiver<LegEvent>,
}

/// Why a participant could not join.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The MPC already has `maxParticipants` members; the leg is handed back.
    #[error("MPC {name:?} is full ({max} participants)")]
    Full {
        /// The MPC's name.
        name: String,
        /// Its maxParticipants.
        max: usize,
        /// The leg, still the caller's.
        leg: Box<Leg>,
    },
    /// The media plane refused the leg.
    #[error(transparent)]
    Media(#[from] MediaError),
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

    /// Puts `leg` into the MPC that `spec` names, creating it if needed.
    pub fn join(
        &self,
        spec: &MultiPartyCall,
        leg_id: LegId,
        leg: Box<Leg>,
    ) -> Result<Membership, JoinError> {
        let mut mpcs = self.lock();
        let entry = mpcs.entry(spec.name.clone()).or_insert_with(|| MpcEntry {
            key: RoomKey(self.next_key.fetch_add(1, Ordering::Relaxed)),
            worker: self.media.pick_worker(),
            uuid: uuid::Uuid::new_v4().to_string(),
            max_participants: spec.max_participants as usize,
            started: false,
            members: Vec::new(),
        });
        if entry.members.len() >= entry.max_participants {
            let (name, max) = (spec.name.clone(), entry.max_participants);
            if entry.members.is_empty() {
                mpcs.remove(&spec.name);
            }
            return Err(JoinError::Full { name, max, leg });
        }
        let participant = participant_of(spec);
        let starts = spec.start_mpc_on_enter && !entry.started;
        entry.started |= spec.start_mpc_on_enter;
        // Plivo: no enter or exit sound for a supervisor in coach mode.
        let silent_entry = participant.role == Role::Supervisor && participant.coach;
        let entrance = Entrance {
            participant,
            start: starts,
            sound: if silent_entry {
                None
            } else {
                bridge_sound(&spec.enter_sound)
            },
        };
        let events = self
            .media
            .join(entry.worker, entry.key, leg_id, leg, entrance)?;
        entry.members.push(leg_id);
        tracing::info!(
            mpc = %spec.name,
            mpc_uuid = %entry.uuid,
            %leg_id,
            members = entry.members.len(),
            started = entry.started,
            "participant joined"
        );
        Ok(Membership {
            name: spec.name.clone(),
            mpc_uuid: entry.uuid.clone(),
            leg_id,
            participant,
            exit_sound: if silent_entry {
                None
            } else {
                bridge_sound(&spec.exit_sound)
            },
            events,
        })
    }

    /// Takes the participant out of its MPC, playing its exit sound to the
    /// others; the leg comes back on [`Membership::events`]. The MPC is
    /// forgotten with its last member.
    pub fn leave(&self, membership: &Membership) -> Result<(), MediaError> {
        let mut mpcs = self.lock();
        if let Some(entry) = mpcs.get_mut(&membership.name) {
            entry.members.retain(|m| *m != membership.leg_id);
            tracing::info!(mpc = %membership.name, leg_id = %membership.leg_id, members = entry.members.len(), "participant left");
            if entry.members.is_empty() {
                mpcs.remove(&membership.name);
            }
        }
        self.media.leave(membership.leg_id, membership.exit_sound)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MpcEntry>> {
        self.mpcs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The mixer state a `<MultiPartyCall>` element asks for.
fn participant_of(spec: &MultiPartyCall) -> Participant {
    let role = match spec.role {
        chorus_xml::Role::Agent => Role::Agent,
        chorus_xml::Role::Supervisor => Role::Supervisor,
        chorus_xml::Role::Customer => Role::Customer,
    };
    Participant {
        role,
        muted: spec.mute,
        held: spec.hold,
        // chorus-xml already forces coach mode off for non-supervisors.
        coach: spec.coach_mode,
    }
}

/// The built-in bridge sound for an enter/exit attribute.
fn bridge_sound(sound: &Sound) -> Option<Beep> {
    match sound {
        Sound::None => None,
        Sound::Beep1 => Some(Beep::One),
        Sound::Beep2 => Some(Beep::Two),
        Sound::Url(url) => {
            tracing::warn!(%url, "sound URLs are not played yet; no bridge sound");
            None
        }
    }
}
