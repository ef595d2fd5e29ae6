//! What goes in and out of the engine: the inputs a driver feeds it, the
//! outputs it acts on, and the state the API shows. Plain data; the rules
//! are in the engine.

use chorus_mixer::Participant;
use chorus_xml::{Method, MultiPartyCall, Sound};

use crate::event::{ExitCause, MemberFields, MpcFields, StatusEvent};
use crate::track::{RecordCommand, Track, TrackStates};

/// The call a participant arrives on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// Its call UUID.
    pub call_uuid: String,
    /// Caller.
    pub from: String,
    /// Callee (the member's address).
    pub to: String,
    /// `inbound` (answered by chorus) or `outbound` (dialled by chorus).
    pub inbound: bool,
}

/// What happens to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A call executes `<MultiPartyCall>` for this MPC.
    Join {
        /// The call.
        call: CallInfo,
        /// The element, attributes and all.
        spec: Box<MultiPartyCall>,
    },
    /// A member leaves: its call hung up or was transferred, or the API
    /// kicked it. (Leaving because the MPC ended is the engine's doing.)
    Leave {
        /// The member.
        member: u32,
        /// Hangup, Transferred or Kicked.
        cause: ExitCause,
    },
    /// The API changes a member: each `Some` is applied.
    Update {
        /// The member.
        member: u32,
        /// Mute or unmute.
        mute: Option<bool>,
        /// Hold or unhold.
        hold: Option<bool>,
        /// Coach mode on or off (supervisors only; ignored for others).
        coach_mode: Option<bool>,
    },
    /// The API starts, stops, pauses or resumes the MPC recording
    /// (requests that make no sense now, like pausing a paused recording,
    /// change nothing: the driver refuses them first).
    Record(RecordCommand),
    /// The API starts, stops, pauses or resumes one of a member's track
    /// recordings (the driver refuses requests that do not fit first, as
    /// for [`Input::Record`]).
    Track {
        /// The member.
        member: u32,
        /// Which track.
        track: Track,
        /// What to do.
        command: RecordCommand,
    },
    /// The API starts the MPC.
    Start,
    /// The API ends the MPC.
    End,
    /// A member pressed digits (RFC 4733 events, already assembled).
    Digits {
        /// The member.
        member: u32,
        /// The digits, e.g. `"1"` or `"12#"`.
        digits: String,
    },
    /// Voice activity of a member changed.
    Speaking {
        /// The member.
        member: u32,
        /// Started (true) or stopped speaking.
        speaking: bool,
    },
    /// A sound started playing to one member only (the API's play or
    /// speak; it replaces the member's sound if one was playing).
    AudioPlayed {
        /// The member.
        member: u32,
    },
    /// The member's sound stopped (finished, or stopped by the API); no
    /// event if none was playing.
    AudioStopped {
        /// The member.
        member: u32,
    },
    /// An Add Participant request for this MPC was accepted, or is done
    /// (`member`: the participant it brought, if one joined).
    ApiAction {
        /// Done (`AddParticipantByAPIActionCompleted`) rather than accepted.
        completed: bool,
        /// The member it brought, if any.
        member: Option<u32>,
    },
    /// Time passed; nothing else happened.
    Tick,
}

/// What the driver has to do for the MPC to be that state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Deliver a status callback (already filtered by
    /// `statusCallbackEvents`, numbered in delivery order).
    Event(StatusEvent),
    /// A joining call became member `member`.
    Joined {
        /// The call.
        call_uuid: String,
        /// Its member id in this MPC.
        member: u32,
    },
    /// A call could not join; its flow goes on with the next element.
    Rejected {
        /// The call.
        call_uuid: String,
        /// Why.
        reason: Rejection,
    },
    /// A media change.
    Media(MediaCommand),
    /// A member left the MPC and its call goes on (not sent for members
    /// whose call hung up or was transferred: there is nothing to go on).
    Released {
        /// The member.
        member: u32,
        /// Its call.
        call_uuid: String,
        /// What the call does next.
        then: Then,
    },
    /// Start or stop the MPC recording.
    Record(RecordCommand),
    /// Start, stop, pause or resume one of a member's track recordings.
    Track {
        /// The member.
        member: u32,
        /// Which track.
        track: Track,
        /// What to do.
        command: RecordCommand,
    },
}

/// Why a call could not join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The MPC has `maxParticipants` members.
    Full {
        /// Its maxParticipants.
        max: u32,
    },
    /// The MPC has ended.
    Ended,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full { max } => write!(f, "full ({max} participants)"),
            Self::Ended => f.write_str("ended"),
        }
    }
}

/// A change for the MPC's media room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaCommand {
    /// Add a member to the room.
    Join {
        /// The member.
        member: u32,
        /// Its state for the mixer.
        participant: Participant,
    },
    /// A member's new state.
    Update {
        /// The member.
        member: u32,
        /// Its state for the mixer.
        participant: Participant,
    },
    /// Remove a member.
    Leave {
        /// The member.
        member: u32,
    },
    /// The MPC started: members hear each other instead of wait music.
    Start,
    /// Play a sound on the bridge (enter and exit sounds).
    Bridge {
        /// What to play.
        sound: Sound,
        /// How to fetch it, for a URL.
        method: Method,
    },
    /// Send digits (as RFC 4733 events) to members.
    Relay {
        /// Who pressed them.
        from: u32,
        /// Who receives them: exactly the members who hear `from`.
        to: Vec<u32>,
        /// The digits.
        digits: String,
    },
}

/// What a released member's call does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// Continue with the element after `<MultiPartyCall>`.
    NextElement,
    /// Fetch `onExitActionUrl` and execute that document instead.
    Fetch {
        /// The URL.
        url: String,
        /// GET or POST.
        method: Method,
        /// The MPC's parameters of the request, beside the call's (seed
        /// 000): `MPCUUID`, `MPCFriendlyName`, `MemberID`,
        /// `ParticipantCallUUID`, `ParticipantJoinTime`,
        /// `ParticipantEndTime`, `ParticipantRole`.
        params: Vec<(String, String)>,
    },
}

/// An MPC as the API shows it: see `Mpc::state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpcState {
    /// The MPC's fields, as in its events.
    pub mpc: MpcFields,
    /// Its recording is on.
    pub recording: bool,
    /// Its recording is paused.
    pub recording_paused: bool,
    /// Its present members, in join order.
    pub members: Vec<MemberState>,
}

/// A present member as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// Its fields, as in its events.
    pub fields: MemberFields,
    /// Muted: heard by nobody.
    pub muted: bool,
    /// Held: heard by nobody, hearing only its hold music.
    pub held: bool,
    /// Its `startMpcOnEnter`.
    pub start_mpc_on_enter: bool,
    /// Its `endMpcOnExit`.
    pub end_mpc_on_exit: bool,
    /// Its track recordings.
    pub tracks: TrackStates,
}
