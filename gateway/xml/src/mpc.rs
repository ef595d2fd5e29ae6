//! The `<MultiPartyCall>` verb: every attribute of the Plivo spec, typed,
//! with defaults applied.

use crate::attrs::{scan_attrs, set, warn_children};
use crate::error::{CONTENT, ElementError, InvalidReason, Warning};
use crate::parse;
use crate::tree::Element;
use crate::values::{Method, RecordFileFormat, Role, Sound, StatusCallbackEvents};

/// Maximum length of an MPC friendly name, in characters.
pub const MAX_MPC_NAME_CHARS: usize = 128;

/// `<MultiPartyCall role="…" …>name</MultiPartyCall>`.
///
/// Field docs give the XML attribute, the allowed values and the default.
/// Attribute names are case-sensitive; values (keywords) are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiPartyCall {
    /// The MPC friendly name: the element content, trimmed. Required,
    /// 1..=[`MAX_MPC_NAME_CHARS`] characters, no control characters.
    pub name: String,

    // ---- MPC level: applied when this participant creates the MPC.
    /// `maxDuration`: seconds, 300..=28800, default 14400.
    pub max_duration: u32,
    /// `maxParticipants`: 2..=10, default 10.
    pub max_participants: u32,
    /// `waitMusicUrl`: sound document played while waiting for the start;
    /// `None` = the built-in wait music.
    pub wait_music_url: Option<String>,
    /// `waitMusicMethod`, default GET.
    pub wait_music_method: Method,
    /// `agentHoldMusicUrl`: hold music for agents (and supervisors);
    /// `None` = the built-in hold music.
    pub agent_hold_music_url: Option<String>,
    /// `agentHoldMusicMethod`, default GET.
    pub agent_hold_music_method: Method,
    /// `customerHoldMusicUrl`: hold music for customers; `None` = built-in.
    pub customer_hold_music_url: Option<String>,
    /// `customerHoldMusicMethod`, default GET.
    pub customer_hold_music_method: Method,
    /// `record`: start recording when this participant joins, default false.
    pub record: bool,
    /// `recordFileFormat`: mp3 | wav, default mp3.
    pub record_file_format: RecordFileFormat,
    /// `recordingCallbackUrl`, default none.
    pub recording_callback_url: Option<String>,
    /// `recordingCallbackMethod`, default GET.
    pub recording_callback_method: Method,
    /// `recordMinMemberCount`: 1 | 2, default 1.
    pub record_min_member_count: u8,
    /// `statusCallbackUrl`, default none.
    pub status_callback_url: Option<String>,
    /// `statusCallbackMethod`, default POST.
    pub status_callback_method: Method,
    /// `statusCallbackEvents`, default
    /// `mpc-state-changes,participant-state-changes`.
    pub status_callback_events: StatusCallbackEvents,

    // ---- Participant level.
    /// `role`: agent | supervisor | customer (case-insensitive). Required.
    pub role: Role,
    /// `stayAlone`, default false.
    pub stay_alone: bool,
    /// `coachMode`: the *effective* value. The attribute defaults to true but
    /// only applies to supervisors, so this is always false for Agent and
    /// Customer (the attribute is still validated for them).
    pub coach_mode: bool,
    /// `mute`, default false.
    pub mute: bool,
    /// `hold`, default false.
    pub hold: bool,
    /// `startMpcOnEnter`, default true.
    pub start_mpc_on_enter: bool,
    /// `endMpcOnExit`, default false.
    pub end_mpc_on_exit: bool,
    /// `enterSound`: none | beep:1 | beep:2 | URL, default beep:1.
    pub enter_sound: Sound,
    /// `enterSoundMethod`, default GET.
    pub enter_sound_method: Method,
    /// `exitSound`: none | beep:1 | beep:2 | URL, default beep:2.
    pub exit_sound: Sound,
    /// `exitSoundMethod`, default GET.
    pub exit_sound_method: Method,
    /// `onExitActionUrl`: document fetched when the participant leaves the
    /// MPC (not on hangup or transfer), default none.
    pub on_exit_action_url: Option<String>,
    /// `onExitActionMethod`, default POST.
    pub on_exit_action_method: Method,
    /// `relayDTMFInputs`, default false.
    pub relay_dtmf_inputs: bool,

    // ---- Participant track recordings.
    /// `recordParticipantTrack`, default false: while the MPC is recorded,
    /// this participant's own voice (its inbound track) is recorded to a
    /// file of its own, in the MPC's `recordFileFormat`, reported to the
    /// MPC's `recordingCallbackUrl`.
    pub record_participant_track: bool,
    /// `startRecordingAudio`, `stopRecordingAudio` and their methods;
    /// `None` when none is given (the default).
    pub recording_audio: Option<Box<RecordingAudio>>,
}

/// The sound documents (Play/Speak/Wait) the whole MPC hears once on the
/// bridge when its recording starts or stops. Boxed in [`MultiPartyCall`]:
/// rarely given, and every verb stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingAudio {
    /// `startRecordingAudio`, default none.
    pub start: Option<String>,
    /// `startRecordingAudioMethod`, default GET.
    pub start_method: Method,
    /// `stopRecordingAudio`, default none.
    pub stop: Option<String>,
    /// `stopRecordingAudioMethod`, default GET.
    pub stop_method: Method,
}

impl Default for RecordingAudio {
    fn default() -> Self {
        Self {
            start: None,
            start_method: Method::Get,
            stop: None,
            stop_method: Method::Get,
        }
    }
}

impl MultiPartyCall {
    /// The element name.
    pub const ELEMENT: &'static str = "MultiPartyCall";

    /// A participant of MPC `name` with `role` and every attribute at its
    /// default — exactly what `<MultiPartyCall role="…">name</MultiPartyCall>`
    /// parses to. `name` is used as given (not trimmed nor validated).
    pub fn for_room(name: &str, role: Role) -> Self {
        Self {
            name: name.to_owned(),
            max_duration: 14_400,
            max_participants: 10,
            wait_music_url: None,
            wait_music_method: Method::Get,
            agent_hold_music_url: None,
            agent_hold_music_method: Method::Get,
            customer_hold_music_url: None,
            customer_hold_music_method: Method::Get,
            record: false,
            record_file_format: RecordFileFormat::Mp3,
            recording_callback_url: None,
            recording_callback_method: Method::Get,
            record_min_member_count: 1,
            status_callback_url: None,
            status_callback_method: Method::Post,
            status_callback_events: StatusCallbackEvents::default(),
            role,
            stay_alone: false,
            coach_mode: role == Role::Supervisor,
            mute: false,
            hold: false,
            start_mpc_on_enter: true,
            end_mpc_on_exit: false,
            enter_sound: Sound::Beep1,
            enter_sound_method: Method::Get,
            exit_sound: Sound::Beep2,
            exit_sound_method: Method::Get,
            on_exit_action_url: None,
            on_exit_action_method: Method::Post,
            relay_dtmf_inputs: false,
            record_participant_track: false,
            recording_audio: None,
        }
    }

    /// What `<MultiPartyCall {attrs}>{name}</MultiPartyCall>` parses to,
    /// with its warnings: the same rules, defaults and errors for APIs that
    /// take these settings as parameters (Add Participant). `attrs` use the
    /// element's attribute names (`maxDuration`, `relayDTMFInputs`…).
    pub fn from_attributes(
        name: &str,
        attrs: Vec<(String, String)>,
    ) -> Result<(Self, Vec<Warning>), ElementError> {
        let el = Element {
            name: Self::ELEMENT.to_owned(),
            attrs,
            text: name.to_owned(),
            children: Vec::new(),
        };
        let mut warnings = Vec::new();
        let parsed = parse(&el, &mut warnings)?;
        Ok((parsed, warnings))
    }

    /// The hold music URL heard by this participant's role when on hold:
    /// agent hold music for Agent and Supervisor, customer hold music for
    /// Customer.
    pub fn hold_music(&self) -> (Option<&str>, Method) {
        match self.role {
            Role::Agent | Role::Supervisor => (
                self.agent_hold_music_url.as_deref(),
                self.agent_hold_music_method,
            ),
            Role::Customer => (
                self.customer_hold_music_url.as_deref(),
                self.customer_hold_music_method,
            ),
        }
    }
}

/// Interprets a `<MultiPartyCall>` element. Problems are checked in this
/// order: attributes in document order, then the required `role`, then the
/// content (name); the first one found is returned.
pub(crate) fn parse(
    el: &Element,
    warnings: &mut Vec<Warning>,
) -> Result<MultiPartyCall, ElementError> {
    const NAME: &str = MultiPartyCall::ELEMENT;
    warn_children(NAME, el, warnings);

    // The role is filled in once known; start from the defaults.
    let mut m = MultiPartyCall::for_room("", Role::Customer);
    let mut role = None;
    let mut coach_mode = true;
    let mut audio = RecordingAudio::default();
    let url = |v: &str| parse::url(v).map(Some);

    scan_attrs(NAME, el, warnings, |name, v| match name {
        "maxDuration" => set(&mut m.max_duration, parse::integer(v, 300, 28_800)),
        "maxParticipants" => set(&mut m.max_participants, parse::integer(v, 2, 10)),
        "waitMusicUrl" => set(&mut m.wait_music_url, url(v)),
        "waitMusicMethod" => set(&mut m.wait_music_method, parse::method(v)),
        "agentHoldMusicUrl" => set(&mut m.agent_hold_music_url, url(v)),
        "agentHoldMusicMethod" => set(&mut m.agent_hold_music_method, parse::method(v)),
        "customerHoldMusicUrl" => set(&mut m.customer_hold_music_url, url(v)),
        "customerHoldMusicMethod" => set(&mut m.customer_hold_music_method, parse::method(v)),
        "record" => set(&mut m.record, parse::boolean(v)),
        "recordFileFormat" => set(&mut m.record_file_format, parse::record_file_format(v)),
        "recordingCallbackUrl" => set(&mut m.recording_callback_url, url(v)),
        "recordingCallbackMethod" => set(&mut m.recording_callback_method, parse::method(v)),
        "recordMinMemberCount" => set(
            &mut m.record_min_member_count,
            parse::integer(v, 1, 2).map(|n| u8::try_from(n).unwrap_or(1)),
        ),
        "statusCallbackUrl" => set(&mut m.status_callback_url, url(v)),
        "statusCallbackMethod" => set(&mut m.status_callback_method, parse::method(v)),
        "statusCallbackEvents" => set(
            &mut m.status_callback_events,
            parse::status_callback_events(v),
        ),
        "role" => set(&mut role, parse::role(v).map(Some)),
        "stayAlone" => set(&mut m.stay_alone, parse::boolean(v)),
        "coachMode" => set(&mut coach_mode, parse::boolean(v)),
        "mute" => set(&mut m.mute, parse::boolean(v)),
        "hold" => set(&mut m.hold, parse::boolean(v)),
        "startMpcOnEnter" => set(&mut m.start_mpc_on_enter, parse::boolean(v)),
        "endMpcOnExit" => set(&mut m.end_mpc_on_exit, parse::boolean(v)),
        "enterSound" => set(&mut m.enter_sound, parse::sound(v)),
        "enterSoundMethod" => set(&mut m.enter_sound_method, parse::method(v)),
        "exitSound" => set(&mut m.exit_sound, parse::sound(v)),
        "exitSoundMethod" => set(&mut m.exit_sound_method, parse::method(v)),
        "onExitActionUrl" => set(&mut m.on_exit_action_url, url(v)),
        "onExitActionMethod" => set(&mut m.on_exit_action_method, parse::method(v)),
        "relayDTMFInputs" => set(&mut m.relay_dtmf_inputs, parse::boolean(v)),
        "recordParticipantTrack" => set(&mut m.record_participant_track, parse::boolean(v)),
        "startRecordingAudio" => set(&mut audio.start, url(v)),
        "startRecordingAudioMethod" => set(&mut audio.start_method, parse::method(v)),
        "stopRecordingAudio" => set(&mut audio.stop, url(v)),
        "stopRecordingAudioMethod" => set(&mut audio.stop_method, parse::method(v)),
        _ => None,
    })?;

    let role = role.ok_or_else(|| ElementError::new(NAME, "role", "", InvalidReason::Missing))?;
    m.role = role;
    m.coach_mode = role == Role::Supervisor && coach_mode;
    m.recording_audio = (audio != RecordingAudio::default()).then(|| Box::new(audio));
    m.name = mpc_name(&el.text)?;
    Ok(m)
}

/// Validates the MPC friendly name (trimmed content).
fn mpc_name(text: &str) -> Result<String, ElementError> {
    let name = text.trim();
    let fail = |reason| {
        Err(ElementError::new(
            MultiPartyCall::ELEMENT,
            CONTENT,
            name,
            reason,
        ))
    };
    if name.is_empty() {
        fail(InvalidReason::Missing)
    } else if name.chars().count() > MAX_MPC_NAME_CHARS {
        fail(InvalidReason::TooLong {
            max: MAX_MPC_NAME_CHARS,
        })
    } else if name.chars().any(char::is_control) {
        fail(InvalidReason::ControlCharacter)
    } else {
        Ok(name.to_owned())
    }
}
