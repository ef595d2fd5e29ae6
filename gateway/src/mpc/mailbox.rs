//! What calls send an MPC's task, and what it answers.

use std::sync::Arc;

use chorus_mixer::clip::Clip;
use chorus_mpc::{
    CallInfo, Input, MpcState, RecordCommand, RecordTrackType, RecordingFields, Rejection, Then,
};
use chorus_xml::Method;
use chorus_xml::MultiPartyCall;
use tokio::sync::{mpsc, oneshot};

use crate::media::{Leg, LegEvent, LegId, MediaError};

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
    /// The MPC's task died while taking the leg (a bug: it is logged).
    #[error("MPC {name:?} stopped while the participant joined")]
    Lost {
        /// The MPC's name.
        name: String,
    },
}

/// What calls ask of an MPC.
pub(super) enum Command {
    /// Take a leg in.
    Join(Box<JoinRequest>),
    /// Something a member's call saw, for the engine as it is: the member
    /// hung up or moved on ([`Input::Leave`]), pressed digits, started or
    /// stopped speaking.
    Input(Input),
    /// The API: look at the MPC or change it.
    Control {
        control: Control,
        reply: oneshot::Sender<Result<Controlled, ControlError>>,
    },
    /// The sound `token` played to `member` alone ended by itself.
    AudioEnded { member: u32, token: u64 },
}

/// What the API asks of an MPC; each answers with the MPC as it is after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Only look.
    Show,
    /// Start an initialized MPC (its members start hearing each other).
    Start,
    /// End it.
    End,
    /// Change members: each `Some` is applied.
    Update {
        /// Whom.
        members: Members,
        /// Mute or unmute.
        mute: Option<bool>,
        /// Hold or unhold.
        hold: Option<bool>,
        /// Coach mode on or off (supervisors only).
        coach_mode: Option<bool>,
    },
    /// Take members out (`ExitCause::Kicked`).
    Kick {
        /// Whom.
        members: Members,
    },
    /// Start, stop, pause or resume the MPC recording; a start may name
    /// the recording callback (else the MPC's `recordingCallbackUrl`).
    Record {
        /// What to do.
        command: RecordCommand,
        /// Where its events go, for a start.
        callback: Option<(String, Method)>,
    },
    // audio to one member
    /// Play a loaded sound to one member alone (replacing its sound), or
    /// stop its sound (`None`; nothing playing is fine).
    MemberAudio {
        /// Whom.
        member: u32,
        /// What.
        sound: Option<MemberSound>,
    },
    /// Participant track recordings: start, stop, pause or resume tracks
    /// of one member; a start may name the callback (else the MPC's
    /// `recordingCallbackUrl`).
    Track {
        /// The member.
        member: u32,
        /// Which tracks.
        tracks: RecordTrackType,
        /// What to do to each.
        command: RecordCommand,
        /// Where their events go, for a start.
        callback: Option<(String, Method)>,
    },
    /// An Add Participant request for this MPC was accepted, or is done
    /// (with the member it brought, if one joined): its
    /// `AddParticipantByAPIAction…` event.
    ApiAction {
        /// Done rather than accepted.
        completed: bool,
        /// The member it brought.
        member: Option<u32>,
    },
}

/// The MPC after a [`Control`], and its recording if it has one going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controlled {
    /// The MPC as it is now.
    pub state: MpcState,
    /// Its current (or last) recording.
    pub recording: Option<RecordingFields>,
    /// For [`Control::Track`]: the member's newest recording of each track
    /// named (those a start started), inbound first.
    pub tracks: Vec<RecordingFields>,
}

/// A loaded sound for one member. Equal only to itself (the same clip),
/// so a [`Control`] carrying it still compares.
#[derive(Debug, Clone)]
pub struct MemberSound(pub Arc<Clip>);

impl PartialEq for MemberSound {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for MemberSound {}

/// One member, or every present one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// Member `id`.
    One(u32),
    /// All present members.
    All,
}

/// Why the API could not do what it asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No MPC by that name or UUID, live or ended.
    #[error("no such MPC")]
    NoSuchMpc,
    /// The MPC has no present member with that id.
    #[error("no member {0} in this MPC")]
    NoSuchMember(u32),
    /// The MPC has ended: it can only be looked at.
    #[error("the MPC has ended")]
    Ended,
    /// The request does not fit the MPC's state (e.g. pausing a recording
    /// that is not running); the text says why.
    #[error("{0}")]
    Conflict(&'static str),
}

/// A call executing `<MultiPartyCall>` for this MPC.
pub(super) struct JoinRequest {
    pub(super) call: CallInfo,
    pub(super) spec: Box<MultiPartyCall>,
    pub(super) leg_id: LegId,
    pub(super) leg: Box<Leg>,
    pub(super) reply: oneshot::Sender<JoinReply>,
}

/// How a join went.
pub(super) enum JoinReply {
    /// In: the member id, the leg's events, and where the MPC will say what
    /// the call does next if it releases the member.
    Joined {
        member: u32,
        events: mpsc::UnboundedReceiver<LegEvent>,
        released: oneshot::Receiver<Then>,
    },
    /// Not let in.
    Refused(JoinError),
    /// The MPC had ended: try its successor with this leg.
    Ended(Box<Leg>),
}
