//! The MPC registry: the multiparty calls of this host, each an MPC engine
//! ([`chorus_mpc::Mpc`]) whose outputs this module carries out.
//!
//! An MPC is created when the first `<MultiPartyCall>` naming it arrives
//! (its room opened on the least loaded media worker, its status callback
//! task, its `maxDuration` timer) and forgotten when its engine ends it,
//! which closes its room. Every input (a join, a hangup, digits, speech, the
//! timer) goes through the engine under the registry's lock, and its
//! outputs are applied at once: media commands to the media plane, status
//! events to the MPC's callback task, the recording to start or stop (the
//! `recording` module), released members to their call tasks (which
//! continue their documents, see [`MpcRegistry::take_release`]). Sounds and
//! music from URLs load in the background (the `sounds` module) and reach
//! the room when ready.

mod recording;
mod sounds;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chorus_config::RecordingConfig;
use chorus_mixer::tone::Beep;
use chorus_mpc::{
    CallInfo, ExitCause, Input, MediaCommand, Mpc, Output, RecordCommand, Rejection, StatusEvent,
    Then, Timestamp,
};
use chorus_xml::{MultiPartyCall, Sound};
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::events::spawn_callbacks;
use crate::media::{Entrance, Leg, LegEvent, LegId, MediaError, MediaPlane, RoomHandle};
use crate::metrics::Metrics;
use crate::player::Player;
use recording::RecordingCallback;
use sounds::Sounds;

/// A live MPC on this host.
struct MpcEntry {
    /// The MPC's room, closed when the entry is dropped (the MPC ended).
    room: RoomHandle,
    engine: Mpc,
    /// Musics and bridge sounds from URLs.
    sounds: Sounds,
    /// Member id → leg, for the members in the room.
    legs: HashMap<u32, LegId>,
    /// Where status events go; `None` without a `statusCallbackUrl`.
    callbacks: Option<mpsc::UnboundedSender<StatusEvent>>,
    /// Where recording events go (`recordingCallbackUrl`).
    recording_callback: RecordingCallback,
}

/// A participant's place in an MPC, returned by [`MpcRegistry::join`].
pub struct Membership {
    /// The MPC's friendly name.
    pub name: String,
    /// The MPC's UUID.
    pub mpc_uuid: String,
    /// The participant's member id in the MPC.
    pub member: u32,
    /// The participant's leg.
    pub leg_id: LegId,
    /// Digits, speech changes, and the leg itself when it leaves.
    pub events: mpsc::UnboundedReceiver<LegEvent>,
}

/// Why a participant could not join.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The MPC did not let the participant in (full, or ended); the leg is
    /// handed back.
    #[error("MPC {name:?} is {reason}")]
    Rejected {
        /// The MPC's name.
        name: String,
        /// Why.
        reason: Rejection,
        /// The leg, still the caller's.
        leg: Box<Leg>,
    },
    /// The media plane refused the leg.
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// All MPCs of this host, by friendly name. Cheap to clone.
#[derive(Clone)]
pub struct MpcRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    media: Arc<MediaPlane>,
    http: reqwest::Client,
    player: Player,
    metrics: Arc<Metrics>,
    recording: RecordingConfig,
    mpcs: Mutex<HashMap<String, MpcEntry>>,
    /// What released members' calls do next, until they ask.
    releases: Mutex<HashMap<LegId, Then>>,
    /// The MPCs' callback delivery tasks.
    deliveries: TaskTracker,
}

/// The wall clock, as the engine takes it.
fn now() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
}

impl MpcRegistry {
    /// An empty registry placing rooms on `media`, posting callbacks with
    /// `http`, loading sounds with `player` (whose rate is the rooms'),
    /// counting on `metrics` and writing recordings as `recording` says.
    pub fn new(
        media: Arc<MediaPlane>,
        http: reqwest::Client,
        player: Player,
        metrics: Arc<Metrics>,
        recording: RecordingConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                media,
                http,
                player,
                metrics,
                recording,
                mpcs: Mutex::new(HashMap::new()),
                releases: Mutex::new(HashMap::new()),
                deliveries: TaskTracker::new(),
            }),
        }
    }

    /// Puts `leg` (of `call`) into the MPC that `spec` names, creating it if
    /// needed.
    pub fn join(
        &self,
        spec: &MultiPartyCall,
        call: CallInfo,
        leg_id: LegId,
        leg: Box<Leg>,
    ) -> Result<Membership, JoinError> {
        let now = now();
        let mut mpcs = self.lock();
        if !mpcs.contains_key(&spec.name) {
            let entry = self.create(now, spec);
            mpcs.insert(spec.name.clone(), entry);
        }
        let entry = mpcs.get_mut(&spec.name).expect("inserted above");
        entry.engine.handle(
            now,
            Input::Join {
                call,
                spec: Box::new(spec.clone()),
            },
        );
        let outputs: Vec<Output> = std::iter::from_fn(|| entry.engine.poll_output()).collect();
        let rejection = outputs.iter().find_map(|o| match o {
            Output::Rejected { reason, .. } => Some(*reason),
            _ => None,
        });
        if let Some(reason) = rejection {
            return Err(JoinError::Rejected {
                name: spec.name.clone(),
                reason,
                leg,
            });
        }
        let (member, participant) = outputs
            .iter()
            .find_map(|o| match o {
                Output::Media(MediaCommand::Join {
                    member,
                    participant,
                }) => Some((*member, *participant)),
                _ => None,
            })
            .expect("an accepted join puts the member in the room");
        let enter = outputs.iter().find_map(|o| match o {
            Output::Media(MediaCommand::Bridge { sound, method }) => Some((sound.clone(), *method)),
            _ => None,
        });
        let entrance = Entrance {
            participant,
            start: outputs.contains(&Output::Media(MediaCommand::Start)),
            sound: enter.as_ref().and_then(|(sound, _)| beep(sound)),
        };
        entry.legs.insert(member, leg_id);
        self.apply(entry, outputs, None);
        let joined = self
            .inner
            .media
            .join(entry.room.place(), leg_id, leg, entrance);
        let events = match joined {
            Ok(events) => events,
            Err(error) => {
                // The engine has the member; the room does not. Take it
                // out again as if its call had ended.
                entry.legs.remove(&member);
                let leave = Input::Leave {
                    member,
                    cause: ExitCause::Hangup,
                };
                self.feed(&mut mpcs, &spec.name, now, leave);
                return Err(error.into());
            }
        };
        if let Some((Sound::Url(url), method)) = enter {
            self.play_sound(spec.name.clone(), entry, (url, method));
        }
        tracing::info!(
            mpc = %spec.name,
            mpc_uuid = %entry.engine.uuid(),
            member,
            %leg_id,
            members = entry.legs.len(),
            "participant joined"
        );
        Ok(Membership {
            name: spec.name.clone(),
            mpc_uuid: entry.engine.uuid().to_owned(),
            member,
            leg_id,
            events,
        })
    }

    /// The participant's call ended (`cause` Hangup) or left for another
    /// document (Transferred): the engine takes it out, and the leg comes
    /// back on [`Membership::events`].
    pub fn leave(&self, membership: &Membership, cause: ExitCause) {
        self.handle(
            &membership.name,
            &membership.mpc_uuid,
            Input::Leave {
                member: membership.member,
                cause,
            },
        );
    }

    /// Digits pressed by a member.
    pub fn digits(&self, membership: &Membership, digit: char) {
        self.handle(
            &membership.name,
            &membership.mpc_uuid,
            Input::Digits {
                member: membership.member,
                digits: digit.to_string(),
            },
        );
    }

    /// A member started or stopped speaking.
    pub fn speaking(&self, membership: &Membership, speaking: bool) {
        self.handle(
            &membership.name,
            &membership.mpc_uuid,
            Input::Speaking {
                member: membership.member,
                speaking,
            },
        );
    }

    /// What the call of a leg the MPC released does next; `None` if it was
    /// not released (its call hung up, or it is still in the MPC).
    pub fn take_release(&self, leg_id: LegId) -> Option<Then> {
        self.inner
            .releases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&leg_id)
    }

    /// A new MPC for `spec`: engine, room placement, callbacks, timer.
    fn create(&self, now: Timestamp, spec: &MultiPartyCall) -> MpcEntry {
        let uuid = uuid::Uuid::new_v4().to_string();
        let engine = Mpc::new(now, uuid.clone(), spec);
        let callbacks = spec.status_callback_url.as_ref().map(|url| {
            spawn_callbacks(
                &self.inner.deliveries,
                self.inner.http.clone(),
                url.clone(),
                spec.status_callback_method,
                self.inner.metrics.clone(),
            )
        });
        if let Some(deadline) = engine.poll_timeout() {
            let registry = self.clone();
            let (name, wait) = (spec.name.clone(), deadline.0.saturating_sub(now.0));
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(wait)).await;
                registry.handle(&name, &uuid, Input::Tick);
            });
        }
        let (sounds, music, music_loads) = Sounds::new(spec);
        let mut entry = MpcEntry {
            room: self.inner.media.open_room(&music),
            engine,
            sounds,
            legs: HashMap::new(),
            callbacks,
            recording_callback: spec
                .recording_callback_url
                .clone()
                .map(|url| (url, spec.recording_callback_method)),
        };
        for load in music_loads {
            self.load_music(spec.name.clone(), entry.engine.uuid().to_owned(), load);
        }
        let outputs: Vec<Output> = std::iter::from_fn(|| entry.engine.poll_output()).collect();
        self.apply(&mut entry, outputs, None);
        entry
    }

    /// Feeds one input to the MPC `name` (if it is still the one with
    /// `uuid`) and applies the outputs.
    fn handle(&self, name: &str, uuid: &str, input: Input) {
        let mut mpcs = self.lock();
        if mpcs.get(name).is_some_and(|e| e.engine.uuid() == uuid) {
            self.feed(&mut mpcs, name, now(), input);
        }
    }

    /// Feeds one input to the MPC `name` (which must exist), applies the
    /// outputs, and forgets the MPC if it ended.
    fn feed(&self, mpcs: &mut HashMap<String, MpcEntry>, name: &str, now: Timestamp, input: Input) {
        let Some(entry) = mpcs.get_mut(name) else {
            return;
        };
        let subject = match &input {
            Input::Leave { member, .. } => Some(*member),
            _ => None,
        };
        entry.engine.handle(now, input);
        let outputs: Vec<Output> = std::iter::from_fn(|| entry.engine.poll_output()).collect();
        self.apply(entry, outputs, subject);
        if let Some((_, termination)) = entry.engine.ended() {
            tracing::info!(mpc = %name, mpc_uuid = %entry.engine.uuid(), cause = termination.cause(), "MPC ended");
            mpcs.remove(name);
        }
    }

    /// Carries out an engine's outputs (a join's entrance is done by
    /// `join`). `subject` is the member whose leaving caused them: it gets
    /// the exit sound.
    fn apply(&self, entry: &mut MpcEntry, outputs: Vec<Output>, subject: Option<u32>) {
        let exit_sound = outputs.iter().find_map(|o| match o {
            Output::Media(MediaCommand::Bridge { sound, method }) if subject.is_some() => {
                Some((sound.clone(), *method))
            }
            _ => None,
        });
        // Releases first: a released member's call learns what to do next
        // when its leg comes back, which can happen as soon as the leave
        // below reaches the media worker.
        for output in &outputs {
            if let Output::Released { member, then, .. } = output
                && let Some(leg_id) = entry.legs.get(member)
            {
                self.inner
                    .releases
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(*leg_id, then.clone());
            }
        }
        for output in outputs {
            match output {
                Output::Event(event) => {
                    // Every event is logged and counted, whether or not the
                    // application asked for its callback.
                    tracing::info!(
                        mpc_uuid = %event.mpc.uuid,
                        event = event.name.as_str(),
                        sequence = event.requested.then_some(event.sequence),
                        member = event.member.as_ref().map(|m| m.member_id),
                        "MPC event"
                    );
                    self.inner.metrics.event(event.name);
                    if let Some(callbacks) = &entry.callbacks
                        && event.requested
                    {
                        let _ = callbacks.send(event);
                    }
                }
                Output::Media(MediaCommand::Leave { member }) => {
                    let Some(leg_id) = entry.legs.remove(&member) else {
                        continue;
                    };
                    let exit = exit_sound.as_ref().filter(|_| subject == Some(member));
                    if let Err(error) = self
                        .inner
                        .media
                        .leave(leg_id, exit.and_then(|(s, _)| beep(s)))
                    {
                        tracing::warn!(%error, %leg_id, "could not take the leg out of its room");
                    }
                    if let Some((Sound::Url(url), method)) = exit {
                        let name = entry.engine.name().to_owned();
                        self.play_sound(name, entry, (url.clone(), *method));
                    }
                }
                Output::Media(MediaCommand::Update {
                    member,
                    participant,
                }) => {
                    if let Some(leg_id) = entry.legs.get(&member)
                        && let Err(error) = self.inner.media.update(*leg_id, participant)
                    {
                        tracing::warn!(%error, %leg_id, "could not update the participant");
                    }
                }
                Output::Media(MediaCommand::Relay { from, to, digits }) => {
                    tracing::info!(from, ?to, %digits, "relaying DTMF");
                    for leg_id in to.iter().filter_map(|m| entry.legs.get(m)) {
                        for digit in digits.chars() {
                            if let Err(error) = self.inner.media.send_digit(*leg_id, digit) {
                                tracing::warn!(%error, %leg_id, "could not relay a digit");
                            }
                        }
                    }
                }
                Output::Record(RecordCommand::Start { format }) => {
                    self.start_recording(entry, format);
                }
                Output::Record(RecordCommand::Stop) => self.stop_recording(entry),
                // Joins are applied by `join`; starts without a join (the
                // API) and bridge sounds other than enter/exit do not exist
                // yet.
                Output::Joined { .. }
                | Output::Released { .. }
                | Output::Rejected { .. }
                | Output::Media(MediaCommand::Join { .. })
                | Output::Media(MediaCommand::Start)
                | Output::Media(MediaCommand::Bridge { .. }) => {}
            }
        }
    }

    /// Waits up to `limit` for every MPC's callback queue to be delivered
    /// (call once no call is left, so every MPC has ended); true if all were.
    pub async fn drain_callbacks(&self, limit: Duration) -> bool {
        self.inner.deliveries.close();
        tokio::time::timeout(limit, self.inner.deliveries.wait())
            .await
            .is_ok()
    }

    /// How many MPCs are live.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no MPC is live.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MpcEntry>> {
        self.inner.mpcs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The built-in bridge sound for an enter/exit sound (URLs are loaded by
/// [`MpcRegistry::play_sound`]).
fn beep(sound: &Sound) -> Option<Beep> {
    match sound {
        Sound::None | Sound::Url(_) => None,
        Sound::Beep1 => Some(Beep::One),
        Sound::Beep2 => Some(Beep::Two),
    }
}
