//! One MPC's task: its mailbox, its engine and timer, and the loop that
//! serves them with the MPC's sound loads, callback deliveries and
//! recording until the MPC has ended and its last callbacks are out.

use std::collections::HashMap;
use std::sync::Arc;

use chorus_mixer::clip::Clip;
use chorus_mpc::{ExitCause, Input, MediaCommand, Mpc, MpcState, Output, StatusEvent, Then};
use chorus_xml::{Method, MultiPartyCall, RecordFileFormat, Sound};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::clock::MpcClock;
use super::mailbox::{Command, JoinError, JoinReply, JoinRequest};
use super::recording::Recording;
use super::services::MpcServices;
use super::sounds::{ForRoom, SoundBank, Source, beep};
use super::tracks::ParticipantTracks;
use crate::events::CallbackQueue;
use crate::media::{Entrance, LegId, RoomHandle};

/// Takes an ended MPC off the registry, keeping its final state for the
/// API (the registry's narrow handle).
pub(super) type Deregister = Box<dyn FnOnce(MpcState) + Send>;

/// A member's seat: its leg, its call, and where its next step goes.
pub(super) struct Seat {
    pub(super) leg_id: LegId,
    pub(super) call_uuid: String,
    pub(super) released: Option<oneshot::Sender<Then>>,
    /// The token of the sound playing to this member alone.
    pub(super) audio: Option<u64>,
}

/// Everything one MPC owns.
pub(super) struct MpcTask {
    spec: Box<MultiPartyCall>,
    mailbox: mpsc::UnboundedReceiver<Command>,
    services: Arc<MpcServices>,
    uuid: String,
    deregister: Option<Deregister>,
}

/// The MPC while it runs (built inside its task, in its span).
pub(super) struct Live {
    pub(super) engine: Mpc,
    pub(super) clock: MpcClock,
    /// Closed (dropped) as soon as the MPC ends.
    pub(super) room: Option<RoomHandle>,
    pub(super) sounds: SoundBank,
    pub(super) seats: HashMap<u32, Seat>,
    pub(super) status: Option<CallbackQueue<StatusEvent>>,
    pub(super) recording_callback: Option<(String, Method)>,
    pub(super) recording: Option<Recording>,
    /// The MPC-level recording settings, from the element that created it.
    record_settings: (RecordFileFormat, Option<String>),
    /// Participant track recordings.
    pub(super) tracks: ParticipantTracks,
    /// `startRecordingAudio` and `stopRecordingAudio` of the element that
    /// created the MPC (MPC level, like the other recording settings).
    pub(super) recording_audio: [Option<Source>; 2],
}

impl MpcTask {
    /// The task of a new MPC defined by `spec`; nothing happens until
    /// [`MpcTask::run`].
    /// `deregister` is called once, when the MPC ends.
    pub(super) fn new(
        spec: &MultiPartyCall,
        uuid: String,
        mailbox: mpsc::UnboundedReceiver<Command>,
        services: Arc<MpcServices>,
        deregister: Deregister,
    ) -> Self {
        Self {
            spec: Box::new(spec.clone()),
            mailbox,
            services,
            uuid,
            deregister: Some(deregister),
        }
    }

    /// Serves the MPC until it has ended and its last callbacks are out.
    pub(super) async fn run(mut self) {
        let mut live = Live::create(&self.spec, self.uuid.clone(), &self.services);
        let outputs = live.drain();
        live.apply(&self.services, outputs, None);
        loop {
            // A live engine always has a deadline (maxDuration).
            let deadline = live.engine.poll_timeout().map(|t| live.clock.instant_of(t));
            let ended = deadline.is_none();
            tokio::select! {
                command = self.mailbox.recv(), if !ended => match command {
                    Some(command) => live.on_command(&self.services, command),
                    None => {
                        // Nothing can reach this MPC any more (only its
                        // registry entry and members hold its mailbox).
                        tracing::warn!("MPC unreachable; ending its task");
                        break;
                    }
                },
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if !ended => {
                    live.feed(&self.services, Input::Tick);
                }
                loaded = live.sounds.next_load() => live.on_loaded(&self.services, loaded),
                () = deliver(&mut live.status) => {}
                () = Recording::progress(live.recording.as_mut_slice(), &self.services, &live.clock) => {}
                () = live.tracks.progress(&self.services, &live.clock) => {}
            }
            if live.engine.ended().is_some() && live.room.is_some() {
                self.close(&mut live);
            }
            if live.room.is_none() && live.is_quiet() {
                break;
            }
        }
        tracing::debug!("MPC task done");
    }

    /// The MPC ended: off the registry, room closed, sound loads dropped,
    /// and calls still knocking sent on to its successor.
    fn close(&mut self, live: &mut Live) {
        if let Some((_, termination)) = live.engine.ended() {
            tracing::info!(cause = termination.cause(), "MPC ended");
        }
        if let Some(deregister) = self.deregister.take() {
            deregister(live.engine.state());
        }
        live.room = None;
        live.sounds.stop();
        self.mailbox.close();
        while let Ok(command) = self.mailbox.try_recv() {
            if let Command::Join(request) = command {
                let _ = request.reply.send(JoinReply::Ended(request.leg));
            }
        }
    }
}

impl Live {
    fn create(spec: &MultiPartyCall, uuid: String, services: &MpcServices) -> Self {
        let clock = MpcClock::starting_at((services.wall_clock)());
        let engine = Mpc::new(clock.now(), uuid, spec);
        let status = spec.status_callback_url.as_ref().map(|url| {
            CallbackQueue::new(
                services.http.clone(),
                url.clone(),
                spec.status_callback_method,
                services.metrics.clone(),
            )
        });
        let (sounds, music) =
            SoundBank::new(spec, services.player.clone(), services.metrics.clone());
        Self {
            engine,
            clock,
            room: Some(services.media.open_room(&music)),
            sounds,
            seats: HashMap::new(),
            status,
            recording_callback: spec
                .recording_callback_url
                .clone()
                .map(|url| (url, spec.recording_callback_method)),
            recording: None,
            record_settings: (spec.record_file_format, spec.recording_callback_url.clone()),
            tracks: ParticipantTracks::default(),
            recording_audio: match spec.recording_audio.as_deref() {
                Some(audio) => [
                    (audio.start.clone()).map(|url| (url, audio.start_method)),
                    (audio.stop.clone()).map(|url| (url, audio.stop_method)),
                ],
                None => [None, None],
            },
        }
    }

    /// True once nothing is left to deliver or finish.
    fn is_quiet(&self) -> bool {
        self.status.as_ref().is_none_or(CallbackQueue::is_idle)
            && self.recording.as_ref().is_none_or(Recording::is_done)
            && self.tracks.is_done()
    }

    pub(super) fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.engine.poll_output()).collect()
    }

    fn on_command(&mut self, services: &MpcServices, command: Command) {
        match command {
            Command::Join(request) => self.join(services, *request),
            Command::Input(input) => self.feed(services, input),
            Command::Control { control, reply } => {
                let _ = reply.send(self.control(services, control));
            }
            Command::AudioEnded { member, token } => self.audio_ended(services, member, token),
        }
    }

    /// Feeds one input and carries out the outputs; a leaving member is
    /// their subject (it gets the exit sound).
    pub(super) fn feed(&mut self, services: &MpcServices, input: Input) {
        let subject = match &input {
            Input::Leave { member, .. } => Some(*member),
            _ => None,
        };
        self.engine.handle(self.clock.now(), input);
        let outputs = self.drain();
        self.apply(services, outputs, subject);
    }

    fn join(&mut self, services: &MpcServices, request: JoinRequest) {
        let JoinRequest {
            call,
            spec,
            leg_id,
            leg,
            reply,
        } = request;
        let call_uuid = call.call_uuid.clone();
        // The rule: recording settings are MPC level, set by the element
        // that created the MPC; a later member's `record="true"` turns the
        // recording on, but its own format or callback URL cannot change
        // them, and saying so beats dropping them without a word.
        let later = (spec.record_file_format, spec.recording_callback_url.clone());
        if spec.record && later != self.record_settings {
            tracing::warn!(
                %call_uuid,
                format = later.0.as_str(),
                callback = later.1.as_deref().unwrap_or(""),
                "a later member's recordFileFormat/recordingCallbackUrl are ignored: \
                 the MPC's recording settings come from the element that created it"
            );
        }
        self.engine
            .handle(self.clock.now(), Input::Join { call, spec });
        let outputs = self.drain();
        let rejection = outputs.iter().find_map(|o| match o {
            Output::Rejected { reason, .. } => Some(*reason),
            _ => None,
        });
        if let Some(reason) = rejection {
            let name = self.engine.name().to_owned();
            let _ = reply.send(JoinReply::Refused(JoinError::Rejected {
                name,
                reason,
                leg,
            }));
            self.apply(services, outputs, None);
            return;
        }
        let Some((member, participant)) = outputs.iter().find_map(|o| match o {
            Output::Media(MediaCommand::Join {
                member,
                participant,
            }) => Some((*member, *participant)),
            _ => None,
        }) else {
            unreachable!("an accepted join puts the member in the room")
        };
        let enter = outputs.iter().find_map(|o| match o {
            Output::Media(MediaCommand::Bridge { sound, method }) => Some((sound.clone(), *method)),
            _ => None,
        });
        let entrance = Entrance {
            participant,
            start: outputs.contains(&Output::Media(MediaCommand::Start)),
            sound: enter.as_ref().and_then(|(sound, _)| beep(sound)),
        };
        let (release, released) = oneshot::channel();
        self.seats.insert(
            member,
            Seat {
                leg_id,
                call_uuid: call_uuid.clone(),
                released: Some(release),
                audio: None,
            },
        );
        self.apply(services, outputs, None);
        let Some(room) = &self.room else {
            unreachable!("a live MPC has its room")
        };
        let events = match services.media.join(room.place(), leg_id, leg, entrance) {
            Ok(events) => events,
            Err(error) => {
                // The engine has the member; the room does not. Take it
                // out again as if its call had ended.
                self.seats.remove(&member);
                let leave = Input::Leave {
                    member,
                    cause: ExitCause::Hangup,
                };
                self.feed(services, leave);
                let _ = reply.send(JoinReply::Refused(error.into()));
                return;
            }
        };
        if let Some((Sound::Url(url), method)) = enter {
            self.play_sound(services, (url, method));
        }
        tracing::info!(
            member,
            %call_uuid,
            %leg_id,
            members = self.seats.len(),
            "participant joined"
        );
        let joined = JoinReply::Joined {
            member,
            events,
            released,
        };
        if reply.send(joined).is_err() {
            // The call stopped waiting (it is gone): take the member out
            // again, as if it had hung up; its leg is dropped when it comes
            // back.
            let leave = Input::Leave {
                member,
                cause: ExitCause::Hangup,
            };
            self.feed(services, leave);
        }
    }

    /// Hands a finished sound load to the room.
    fn on_loaded(&mut self, services: &MpcServices, loaded: ForRoom) {
        let Some(room) = &self.room else { return };
        match loaded {
            ForRoom::Music { slots, clip } => {
                for slot in slots {
                    if let Err(error) = services.media.set_music(room.place(), slot, clip.clone()) {
                        tracing::warn!(%error, ?slot, "could not change the room's music");
                    }
                }
            }
            ForRoom::Bridge { clip, plays } => {
                for _ in 0..plays {
                    self.play_bridge_clip(services, clip.clone());
                }
            }
            ForRoom::Nothing => {}
        }
    }

    /// Plays an enter or exit sound document on the bridge: now if it is
    /// loaded, else once it is.
    pub(super) fn play_sound(&mut self, services: &MpcServices, source: Source) {
        if let Some(clip) = self.sounds.bridge(source) {
            self.play_bridge_clip(services, clip);
        }
    }

    fn play_bridge_clip(&self, services: &MpcServices, clip: Arc<Clip>) {
        let Some(room) = &self.room else { return };
        if let Err(error) = services.media.play_bridge_clip(room.place(), clip) {
            tracing::warn!(%error, "could not play a sound on the bridge");
        }
    }
}

/// Delivers the next callback of `queue`; pends while there is none.
async fn deliver<E: crate::events::CallbackEvent>(queue: &mut Option<CallbackQueue<E>>) {
    match queue {
        Some(queue) if !queue.is_idle() => queue.deliver_next().await,
        _ => std::future::pending().await,
    }
}
