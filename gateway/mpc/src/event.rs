//! Status callback events: what happened, and every field Plivo sends for it.

use chorus_xml::{Role, StatusCallbackEvent};

use crate::time::Timestamp;

/// The name of a status callback event (`EventName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventName {
    /// The MPC was created (its first participant arrived).
    MpcInitialized,
    /// The MPC started: participants hear each other.
    MpcStart,
    /// The MPC ended.
    MpcEnd,
    /// A participant joined.
    ParticipantJoin,
    /// A participant left.
    ParticipantExit,
    /// A participant was muted.
    ParticipantMute,
    /// A participant was unmuted.
    ParticipantUnmute,
    /// A participant was put on hold.
    ParticipantHold,
    /// A participant was taken off hold.
    ParticipantUnhold,
    /// A supervisor started coaching.
    ParticipantCoachModeStart,
    /// A supervisor stopped coaching.
    ParticipantCoachModeStop,
    /// A participant started speaking.
    ParticipantSpeakStart,
    /// A participant stopped speaking.
    ParticipantSpeakStop,
    /// A participant pressed digits.
    ParticipantDigitInput,
    /// A sound (the API's play or speak) started playing to one member.
    ParticipantAudioPlayed,
    /// A member's sound stopped: finished, stopped by the API, replaced, or
    /// the member left.
    ParticipantAudioStopped,
    /// An Add Participant request for this MPC was accepted.
    AddParticipantByApiActionInitiated,
    /// That request is done: its participant joined (the event names
    /// it) or nobody answered.
    AddParticipantByApiActionCompleted,
}

impl EventName {
    /// Every event, in declaration order.
    pub const ALL: [EventName; 18] = [
        Self::MpcInitialized,
        Self::MpcStart,
        Self::MpcEnd,
        Self::ParticipantJoin,
        Self::ParticipantExit,
        Self::ParticipantMute,
        Self::ParticipantUnmute,
        Self::ParticipantHold,
        Self::ParticipantUnhold,
        Self::ParticipantCoachModeStart,
        Self::ParticipantCoachModeStop,
        Self::ParticipantSpeakStart,
        Self::ParticipantSpeakStop,
        Self::ParticipantDigitInput,
        Self::ParticipantAudioPlayed,
        Self::ParticipantAudioStopped,
        Self::AddParticipantByApiActionInitiated,
        Self::AddParticipantByApiActionCompleted,
    ];

    /// As sent in `EventName`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MpcInitialized => "MPCInitialized",
            Self::MpcStart => "MPCStart",
            Self::MpcEnd => "MPCEnd",
            Self::ParticipantJoin => "ParticipantJoin",
            Self::ParticipantExit => "ParticipantExit",
            Self::ParticipantMute => "ParticipantMute",
            Self::ParticipantUnmute => "ParticipantUnmute",
            Self::ParticipantHold => "ParticipantHold",
            Self::ParticipantUnhold => "ParticipantUnhold",
            Self::ParticipantCoachModeStart => "ParticipantCoachModeStart",
            Self::ParticipantCoachModeStop => "ParticipantCoachModeStop",
            Self::ParticipantSpeakStart => "ParticipantSpeakStart",
            Self::ParticipantSpeakStop => "ParticipantSpeakStop",
            Self::ParticipantDigitInput => "ParticipantDigitInput",
            Self::ParticipantAudioPlayed => "ParticipantAudioPlayed",
            Self::ParticipantAudioStopped => "ParticipantAudioStopped",
            Self::AddParticipantByApiActionInitiated => "AddParticipantByAPIActionInitiated",
            Self::AddParticipantByApiActionCompleted => "AddParticipantByAPIActionCompleted",
        }
    }

    /// The `statusCallbackEvents` group that selects this event.
    pub fn group(self) -> StatusCallbackEvent {
        match self {
            Self::MpcInitialized | Self::MpcStart | Self::MpcEnd => {
                StatusCallbackEvent::MpcStateChanges
            }
            Self::ParticipantSpeakStart | Self::ParticipantSpeakStop => {
                StatusCallbackEvent::ParticipantSpeakEvents
            }
            Self::ParticipantDigitInput => StatusCallbackEvent::ParticipantDigitInputEvents,
            Self::ParticipantAudioPlayed | Self::ParticipantAudioStopped => {
                StatusCallbackEvent::ParticipantAudioEvents
            }
            Self::AddParticipantByApiActionInitiated | Self::AddParticipantByApiActionCompleted => {
                StatusCallbackEvent::AddParticipantApiEvents
            }
            _ => StatusCallbackEvent::ParticipantStateChanges,
        }
    }
}

/// Why an MPC ended (`MPCTerminationCause`, `MPCTerminationCauseCode`).
///
/// The spec refers to a Plivo list that is not among chorus's sources; these
/// causes and codes are chorus's own, one per way an MPC can end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Termination {
    /// Ended through the API.
    Api,
    /// A participant with `endMpcOnExit` left.
    EndMpcOnExit,
    /// `maxDuration` seconds passed since the MPC was initialized.
    MaxDuration,
    /// Its last participant left.
    NoParticipants,
}

impl Termination {
    /// As sent in `MPCTerminationCause`.
    pub fn cause(self) -> &'static str {
        match self {
            Self::Api => "MPC Ended Via API",
            Self::EndMpcOnExit => "Participant With endMpcOnExit Exited",
            Self::MaxDuration => "Max Duration Reached",
            Self::NoParticipants => "No Participants Left",
        }
    }

    /// As sent in `MPCTerminationCauseCode`.
    pub fn code(self) -> u32 {
        match self {
            Self::Api => 2000,
            Self::EndMpcOnExit => 2010,
            Self::MaxDuration => 2020,
            Self::NoParticipants => 2030,
        }
    }
}

/// Why a participant left (`ParticipantExitCause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitCause {
    /// Its call hung up.
    Hangup,
    /// Removed through the API.
    Kicked,
    /// The MPC ended around it (including being left alone without
    /// `stayAlone`, which ends the MPC).
    MpcEnded,
    /// Its call was transferred to another document.
    Transferred,
}

impl ExitCause {
    /// As sent in `ParticipantExitCause`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hangup => "Participant Call Hangup",
            Self::Kicked => "Kicked Out of Multiparty Call",
            Self::MpcEnded => "Multiparty Call Ended",
            Self::Transferred => "Participant Call Transferred",
        }
    }
}

/// The MPC's part of every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpcFields {
    /// `MPCUUID`.
    pub uuid: String,
    /// `MPCName`.
    pub name: String,
    /// `MPCCreationTime`.
    pub created: Timestamp,
    /// `MPCStartTime`, once started.
    pub started: Option<Timestamp>,
    /// `MPCEndTime`, `MPCTerminationCause(Code)`, once ended.
    pub ended: Option<(Timestamp, Termination)>,
}

/// The participant's part of a participant event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFields {
    /// `MemberID`: a numeric string, unique within the MPC.
    pub member_id: u32,
    /// `ParticipantCallUUID`.
    pub call_uuid: String,
    /// `ParticipantCallFrom`.
    pub from: String,
    /// `ParticipantCallTo`.
    pub to: String,
    /// `ParticipantCallDirection`: `inbound` or `outbound`.
    pub direction: &'static str,
    /// `ParticipantRole`.
    pub role: Role,
    /// `ParticipantCoachMode`.
    pub coach_mode: bool,
    /// `ParticipantJoinTime`.
    pub joined: Timestamp,
    /// `ParticipantExitTime`, `ParticipantExitCause`, once it left.
    pub exited: Option<(Timestamp, ExitCause)>,
}

impl MemberFields {
    /// `MemberAddress`: the member's own address, the caller of an inbound
    /// call (the destination of a dialled one), not the room it dialled.
    pub fn address(&self) -> &str {
        match self.direction {
            "inbound" => &self.from,
            _ => &self.to,
        }
    }
}

/// Seconds billed for `secs` of a call: whole minutes, rounded up (chorus
/// charges nothing; this is the duration a bill would count).
pub fn billed_secs(secs: u64) -> u64 {
    secs.div_ceil(60) * 60
}

/// One status callback event, in the order and with the sequence number it
/// is to be delivered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// `EventName`.
    pub name: EventName,
    /// `EventTimestamp`.
    pub at: Timestamp,
    /// Whether the application asked for this event's group
    /// (`statusCallbackEvents`): only those are sent as callbacks.
    pub requested: bool,
    /// `SequenceNumber`: 1, 2, … per MPC, over the requested events; 0 for
    /// the others.
    pub sequence: u64,
    /// The MPC as it was when the event happened.
    pub mpc: MpcFields,
    /// The participant, for participant events.
    pub member: Option<MemberFields>,
    /// `DigitInput`, for ParticipantDigitInput.
    pub digits: Option<String>,
}

impl StatusEvent {
    /// Every field as Plivo names it, in a fixed order, for a form body or
    /// query string. Fields that do not apply yet are sent empty, as Plivo
    /// sends null ones (e.g. `MPCEndTime` before the end).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mpc = &self.mpc;
        let text = |t: Option<Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        let ended = mpc.ended.map(|(t, _)| t);
        let termination = mpc.ended.map(|(_, cause)| cause);
        // Duration from the start (0 if it never started); billed per
        // started minute. chorus bills nothing.
        let duration = ended.map(|end| end.secs_since(mpc.started.unwrap_or(end)));
        let mut fields = vec![
            ("EventName", self.name.as_str().to_owned()),
            ("EventTimestamp", self.at.to_string()),
            ("SequenceNumber", self.sequence.to_string()),
            ("MPCUUID", mpc.uuid.clone()),
            ("MPCName", mpc.name.clone()),
            ("MPCCreationTime", mpc.created.to_string()),
            ("MPCStartTime", text(mpc.started)),
            ("MPCEndTime", text(ended)),
            (
                "MPCDuration",
                duration.map(|d| d.to_string()).unwrap_or_default(),
            ),
            (
                "MPCBilledDuration",
                duration
                    .map(billed_secs)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ),
            (
                "MPCBilledAmount",
                duration.map(|_| "0.00000".to_owned()).unwrap_or_default(),
            ),
            (
                "MPCTerminationCause",
                termination
                    .map(|t| t.cause().to_owned())
                    .unwrap_or_default(),
            ),
            (
                "MPCTerminationCauseCode",
                termination
                    .map(|t| t.code().to_string())
                    .unwrap_or_default(),
            ),
        ];
        if let Some(m) = &self.member {
            fields.extend([
                ("MemberID", m.member_id.to_string()),
                ("MemberAddress", m.address().to_owned()),
                ("ParticipantCallUUID", m.call_uuid.clone()),
                ("ParticipantCallFrom", m.from.clone()),
                ("ParticipantCallTo", m.to.clone()),
                ("ParticipantCallDirection", m.direction.to_owned()),
                ("ParticipantRole", m.role.as_str().to_owned()),
                ("ParticipantCoachMode", m.coach_mode.to_string()),
                ("ParticipantJoinTime", m.joined.to_string()),
                ("ParticipantExitTime", text(m.exited.map(|(t, _)| t))),
                (
                    "ParticipantExitCause",
                    m.exited
                        .map(|(_, c)| c.as_str().to_owned())
                        .unwrap_or_default(),
                ),
            ]);
        }
        if let Some(digits) = &self.digits {
            fields.push(("DigitInput", digits.clone()));
        }
        fields
    }
}
