//! One MPC as a sans-IO state machine: `handle(now, input)`, then drain
//! `poll_output()`; `poll_timeout()` says when to call `handle` with
//! [`Input::Tick`] at the latest.

mod member_audio;
mod membership;
mod tracks;

use std::collections::VecDeque;

use chorus_mixer::{Participant, hears};
use chorus_xml::{Method, MultiPartyCall, RecordFileFormat, Sound, StatusCallbackEvents};

use crate::event::{EventName, ExitCause, MemberFields, MpcFields, StatusEvent, Termination};
use crate::io::{Input, MediaCommand, MemberState, MpcState, Output};
use crate::time::Timestamp;
use crate::track::{RecordCommand, TrackStates};

/// A present member.
#[derive(Debug, Clone)]
struct Member {
    /// As reported; `coach_mode` is taken from `participant` when emitted.
    fields: MemberFields,
    spec: Box<MultiPartyCall>,
    participant: Participant,
    /// A sound plays to this member alone (see `member_audio`).
    audio: bool,
    tracks: TrackStates,
}

impl Member {
    fn is_coaching(&self) -> bool {
        self.participant.is_coaching()
    }
}

/// One multiparty call.
#[derive(Debug)]
pub struct Mpc {
    uuid: String,
    name: String,
    created: Timestamp,
    started: Option<Timestamp>,
    ended: Option<(Timestamp, Termination)>,
    max_duration: u32,
    max_participants: u32,
    events: StatusCallbackEvents,
    record_format: RecordFileFormat,
    record_min_members: usize,
    record_requested: bool,
    recording: bool,
    recording_paused: bool,
    members: Vec<Member>,
    next_member: u32,
    sequence: u64,
    outputs: VecDeque<Output>,
}

impl Mpc {
    /// The MPC `spec.name` created at `now` by a participant whose element
    /// is `spec` (its MPC-level attributes define the MPC), with `uuid`
    /// from the driver's id source. Emits MPCInitialized; the creator joins
    /// with a separate [`Input::Join`].
    pub fn new(now: Timestamp, uuid: String, spec: &MultiPartyCall) -> Self {
        let mut mpc = Self {
            uuid,
            name: spec.name.clone(),
            created: now,
            started: None,
            ended: None,
            max_duration: spec.max_duration,
            max_participants: spec.max_participants,
            events: spec.status_callback_events,
            record_format: spec.record_file_format,
            record_min_members: usize::from(spec.record_min_member_count),
            record_requested: false,
            recording: false,
            recording_paused: false,
            members: Vec::new(),
            next_member: 1,
            sequence: 0,
            outputs: VecDeque::new(),
        };
        mpc.emit(now, EventName::MpcInitialized, None, None);
        mpc
    }

    /// The MPC's friendly name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The MPC's UUID.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// Whether it started (and when).
    pub fn started(&self) -> Option<Timestamp> {
        self.started
    }

    /// Whether it ended (when, and why).
    pub fn ended(&self) -> Option<(Timestamp, Termination)> {
        self.ended
    }

    /// Present members' ids, in join order.
    pub fn members(&self) -> Vec<u32> {
        self.members.iter().map(|m| m.fields.member_id).collect()
    }

    /// The MPC and its present members as they are now (what the API
    /// shows).
    pub fn state(&self) -> MpcState {
        MpcState {
            mpc: self.fields(),
            recording: self.recording,
            recording_paused: self.recording_paused,
            members: (0..self.members.len())
                .map(|i| MemberState {
                    fields: self.member_fields(i),
                    muted: self.members[i].participant.muted,
                    held: self.members[i].participant.held,
                    start_mpc_on_enter: self.members[i].spec.start_mpc_on_enter,
                    end_mpc_on_exit: self.members[i].spec.end_mpc_on_exit,
                    tracks: self.members[i].tracks,
                })
                .collect(),
        }
    }

    fn fields(&self) -> MpcFields {
        MpcFields {
            uuid: self.uuid.clone(),
            name: self.name.clone(),
            created: self.created,
            started: self.started,
            ended: self.ended,
        }
    }

    /// Member `i`'s fields; the mixer state is the truth for coach mode
    /// (it changes).
    fn member_fields(&self, i: usize) -> MemberFields {
        MemberFields {
            coach_mode: self.members[i].participant.coach,
            ..self.members[i].fields.clone()
        }
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle` must be called (with [`Input::Tick`] if nothing else
    /// happens): the `maxDuration` deadline, counted from initialization.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.ended
            .is_none()
            .then(|| self.created.plus_secs(u64::from(self.max_duration)))
    }

    /// Applies `input` at `now`.
    pub fn handle(&mut self, now: Timestamp, input: Input) {
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.end(now, Termination::MaxDuration);
        }
        match input {
            Input::Join { call, spec } => self.join(now, call, spec),
            Input::Leave { member, cause } => self.leave(now, member, cause),
            Input::Update {
                member,
                mute,
                hold,
                coach_mode,
            } => self.update(now, member, mute, hold, coach_mode),
            Input::Record(command) => self.record(command),
            Input::Track {
                member,
                track,
                command,
            } => self.track(member, track, command),
            Input::Start => self.start(now),
            Input::End => self.end(now, Termination::Api),
            Input::Digits { member, digits } => self.digits(now, member, digits),
            Input::Speaking { member, speaking } => {
                let name = if speaking {
                    EventName::ParticipantSpeakStart
                } else {
                    EventName::ParticipantSpeakStop
                };
                if let Some(i) = self.index(member) {
                    self.emit(now, name, Some(i), None);
                }
            }
            Input::AudioPlayed { member } => self.audio(now, member, true),
            Input::AudioStopped { member } => self.audio(now, member, false),
            Input::ApiAction { completed, member } => {
                let name = if completed {
                    EventName::AddParticipantByApiActionCompleted
                } else {
                    EventName::AddParticipantByApiActionInitiated
                };
                let i = member.and_then(|m| self.index(m));
                self.emit(now, name, i, None);
            }
            Input::Tick => {}
        }
    }

    fn start(&mut self, now: Timestamp) {
        if self.started.is_some() || self.ended.is_some() {
            return;
        }
        self.started = Some(now);
        self.media(MediaCommand::Start);
        self.emit(now, EventName::MpcStart, None, None);
    }

    /// The API's recording requests; each one that changes nothing is
    /// ignored.
    fn record(&mut self, command: RecordCommand) {
        let changes = match command {
            RecordCommand::Start { format } => {
                self.record_format = format;
                !self.recording && self.ended.is_none()
            }
            RecordCommand::Stop => self.recording,
            RecordCommand::Pause => self.recording && !self.recording_paused,
            RecordCommand::Resume => self.recording && self.recording_paused,
        };
        if !changes {
            return;
        }
        match command {
            RecordCommand::Start { .. } => {
                self.recording = true;
                self.outputs.push_back(Output::Record(command));
                for i in 0..self.members.len() {
                    self.start_participant_track(i);
                }
                return;
            }
            RecordCommand::Stop => (self.recording, self.recording_paused) = (false, false),
            RecordCommand::Pause => self.recording_paused = true,
            RecordCommand::Resume => self.recording_paused = false,
        }
        self.outputs.push_back(Output::Record(command));
    }

    /// Ends the MPC: every member leaves (released), the recording stops.
    fn end(&mut self, now: Timestamp, termination: Termination) {
        if self.ended.is_some() {
            return;
        }
        while !self.members.is_empty() {
            self.remove(now, 0, ExitCause::MpcEnded);
        }
        if self.recording {
            self.record(RecordCommand::Stop);
        }
        self.ended = Some((now, termination));
        self.emit(now, EventName::MpcEnd, None, None);
    }

    fn digits(&mut self, now: Timestamp, member: u32, digits: String) {
        let Some(i) = self.index(member) else { return };
        self.emit(
            now,
            EventName::ParticipantDigitInput,
            Some(i),
            Some(digits.clone()),
        );
        let presser = &self.members[i];
        if !presser.spec.relay_dtmf_inputs {
            return;
        }
        // Exactly who would hear the presser's voice.
        let started = self.started.is_some();
        let to: Vec<u32> = self
            .members
            .iter()
            .filter(|m| m.fields.member_id != member)
            .filter(|m| hears(started, &m.participant, &presser.participant))
            .map(|m| m.fields.member_id)
            .collect();
        if !to.is_empty() {
            self.media(MediaCommand::Relay {
                from: member,
                to,
                digits,
            });
        }
    }

    fn bridge(&mut self, sound: Sound, method: Method) {
        if sound != Sound::None {
            self.media(MediaCommand::Bridge { sound, method });
        }
    }

    fn media(&mut self, command: MediaCommand) {
        self.outputs.push_back(Output::Media(command));
    }

    fn index(&self, member: u32) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.fields.member_id == member)
    }

    /// Queues an event if `statusCallbackEvents` selects it; the member is
    /// `self.members[i]`.
    fn emit(&mut self, now: Timestamp, name: EventName, i: Option<usize>, digits: Option<String>) {
        // Every event is reported (logs and metrics count them all); only
        // the groups the application asked for are sent, and numbered.
        let requested = self.events.contains(name.group());
        if requested {
            self.sequence += 1;
        }
        let event = StatusEvent {
            name,
            at: now,
            requested,
            sequence: if requested { self.sequence } else { 0 },
            mpc: self.fields(),
            member: i.map(|i| self.member_fields(i)),
            digits,
        };
        self.outputs.push_back(Output::Event(event));
    }
}
