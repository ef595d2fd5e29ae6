//! The operations every control API shares: typed requests in, typed
//! results and errors out. REST and gRPC only translate; the
//! checks that make a request valid live here, so no adapter can let a bad
//! one through, and a refused request changes nothing.

use chorus_mpc::{
    MemberState, MpcState, RecordCommand, RecordTrackType, RecordingFields, Timestamp,
};
use chorus_xml::{Method, RecordFileFormat};

use super::params::{BadParam, Params};
use crate::call::outbound::{AddError, Added, OutboundCalls};
use crate::mpc::{Control, ControlError, Members, MpcAddress, MpcRegistry, Watched};
use crate::player::Player;

mod add_participant;
// audio to one member
mod member_audio;
pub use member_audio::Speech;

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// No such MPC, live or among the last ones that ended.
    #[error("MPC not found")]
    NoSuchMpc,
    /// No such live call.
    #[error("{0}")]
    NoSuchCall(String),
    /// No such present member.
    #[error("member {0} not found in this MPC")]
    NoSuchMember(u32),
    /// The MPC has ended: it can only be looked at.
    #[error("the MPC has ended")]
    Ended,
    /// The request itself is wrong (a missing or out-of-range value).
    #[error("{0}")]
    Invalid(String),
    /// The request does not fit the MPC's state now (e.g. pausing a
    /// recording that is not running).
    #[error("{0}")]
    Conflict(String),
    /// chorus cannot do it now, through no fault of the request (e.g. the
    /// text-to-speech program is missing).
    #[error("{0}")]
    Unavailable(String),
    /// Too much is waiting already (the dial queue is full): try later.
    #[error("{0}")]
    Busy(String),
}

impl From<ControlError> for OpError {
    fn from(error: ControlError) -> Self {
        match error {
            ControlError::NoSuchMpc => Self::NoSuchMpc,
            ControlError::NoSuchMember(id) => Self::NoSuchMember(id),
            ControlError::Ended => Self::Ended,
            ControlError::Conflict(why) => Self::Conflict(why.to_owned()),
        }
    }
}

/// MPC status as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created, not started (its members hear wait music).
    Initialized,
    /// Started.
    Active,
    /// Over.
    Ended,
}

impl Status {
    /// The MPC's status now.
    pub fn of(state: &MpcState) -> Self {
        match (state.mpc.ended, state.mpc.started) {
            (Some(_), _) => Self::Ended,
            (None, Some(_)) => Self::Active,
            (None, None) => Self::Initialized,
        }
    }

    /// `Initialized`, `Active` or `Ended`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initialized => "Initialized",
            Self::Active => "Active",
            Self::Ended => "Ended",
        }
    }

    /// Every status, in a call's order.
    pub const ALL: [Status; 3] = [Self::Initialized, Self::Active, Self::Ended];
}

/// Which MPCs a listing shows. Times are bounds on the MPC's creation or
/// end time, `(bound, inclusive)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MpcFilter {
    /// Only MPCs of this friendly name.
    pub name: Option<String>,
    /// Only MPCs with this status.
    pub status: Option<Status>,
    /// Only ended MPCs with this `termination_cause_code`.
    pub termination_code: Option<u32>,
    /// Creation time after / before.
    pub created_after: Option<(Timestamp, bool)>,
    /// Creation time before.
    pub created_before: Option<(Timestamp, bool)>,
    /// End time after (ended MPCs only).
    pub ended_after: Option<(Timestamp, bool)>,
    /// End time before (ended MPCs only).
    pub ended_before: Option<(Timestamp, bool)>,
}

impl MpcFilter {
    fn keeps(&self, state: &MpcState) -> bool {
        let after = |t: Timestamp, bound: Option<(Timestamp, bool)>| {
            bound.is_none_or(|(b, incl)| if incl { t >= b } else { t > b })
        };
        let before = |t: Timestamp, bound: Option<(Timestamp, bool)>| {
            bound.is_none_or(|(b, incl)| if incl { t <= b } else { t < b })
        };
        let ended = state.mpc.ended.map(|(t, _)| t);
        let end_bounded = self.ended_after.is_some() || self.ended_before.is_some();
        let code = state.mpc.ended.map(|(_, t)| t.code());
        self.name.as_ref().is_none_or(|n| n == &state.mpc.name)
            && self.status.is_none_or(|s| s == Status::of(state))
            && self.termination_code.is_none_or(|c| code == Some(c))
            && after(state.mpc.created, self.created_after)
            && before(state.mpc.created, self.created_before)
            && (!end_bounded
                || ended
                    .is_some_and(|t| after(t, self.ended_after) && before(t, self.ended_before)))
    }
}

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many, `1..=MAX_LIMIT`.
    pub limit: usize,
    /// After skipping this many.
    pub offset: usize,
}

/// The largest page (Plivo's).
pub const MAX_LIMIT: usize = 20;

impl Page {
    /// This page of `all`, and how many there are in all.
    pub fn cut<T>(self, all: Vec<T>) -> (Vec<T>, usize) {
        let total = all.len();
        (
            all.into_iter().skip(self.offset).take(self.limit).collect(),
            total,
        )
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: MAX_LIMIT,
            offset: 0,
        }
    }
}

/// One page of MPCs and how many matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The page.
    pub mpcs: Vec<MpcState>,
    /// Matches in all pages.
    pub total: usize,
}

/// A change to members: each `Some` is applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberChange {
    /// Mute or unmute.
    pub mute: Option<bool>,
    /// Hold or unhold.
    pub hold: Option<bool>,
    /// Coach mode on or off (one supervisor at a time).
    pub coach_mode: Option<bool>,
}

/// The operations, over this host's MPCs. Cheap to clone.
#[derive(Clone)]
pub struct Operations {
    mpcs: MpcRegistry,
    /// Loads what the API plays to a member (off the MPC's task).
    player: Player,
    /// Places Add Participant's calls.
    outbound: OutboundCalls,
}

impl Operations {
    /// Operations on `mpcs`, loading sounds with `player` and placing
    /// calls with `outbound`.
    pub fn new(mpcs: MpcRegistry, player: Player, outbound: OutboundCalls) -> Self {
        Self {
            mpcs,
            player,
            outbound,
        }
    }

    /// Add Participant (seed 001's parameters, by their Plivo names):
    /// checks the request, then starts dialling (or queues the dials under
    /// `sip.max_cps`, or moves the live call) and says which calls it
    /// places; the MPC is created when the first of them joins, if it does
    /// not exist then.
    pub async fn add_participant(
        &self,
        mpc: &MpcAddress,
        params: &Params,
    ) -> Result<Added, OpError> {
        let name = match mpc {
            MpcAddress::Name(name) => name.clone(),
            uuid => self.get(uuid).await?.mpc.name,
        };
        let request = add_participant::add_participant(&name, params)
            .map_err(|BadParam(why)| OpError::Invalid(why))?;
        self.outbound.add(request).map_err(|error| match error {
            AddError::Route(_) => OpError::Invalid(error.to_string()),
            AddError::QueueFull(_) => OpError::Busy(error.to_string()),
            AddError::NoSuchCall(_) => OpError::NoSuchCall(error.to_string()),
        })
    }

    /// Every MPC and recording event from now on, as it happens (see
    /// [`crate::mpc::EventBus`]: one that falls behind is told how many it
    /// missed).
    pub fn watch(&self) -> tokio::sync::broadcast::Receiver<Watched> {
        self.mpcs.watch()
    }

    /// The MPCs that `filter` keeps, newest first, paged.
    pub async fn list(&self, filter: &MpcFilter, page: Page) -> Result<Listed, OpError> {
        if !(1..=MAX_LIMIT).contains(&page.limit) {
            return Err(OpError::Invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {}",
                page.limit
            )));
        }
        let all: Vec<MpcState> = self
            .mpcs
            .list()
            .await
            .into_iter()
            .filter(|s| filter.keeps(s))
            .collect();
        let (mpcs, total) = page.cut(all);
        Ok(Listed { mpcs, total })
    }

    /// One MPC.
    pub async fn get(&self, mpc: &MpcAddress) -> Result<MpcState, OpError> {
        self.control(mpc, Control::Show).await
    }

    /// Starts an initialized MPC; starting an active one changes nothing.
    pub async fn start(&self, mpc: &MpcAddress) -> Result<MpcState, OpError> {
        self.control(mpc, Control::Start).await
    }

    /// Ends an MPC (its members leave, `MPCEnd` is sent).
    pub async fn end(&self, mpc: &MpcAddress) -> Result<MpcState, OpError> {
        self.control(mpc, Control::End).await
    }

    /// One present member.
    pub async fn member(&self, mpc: &MpcAddress, id: u32) -> Result<MemberState, OpError> {
        let state = self.get(mpc).await?;
        state
            .members
            .into_iter()
            .find(|m| m.fields.member_id == id)
            .ok_or(OpError::NoSuchMember(id))
    }

    /// Changes one member or all: at least one change, and coach mode only
    /// for one member (it is a supervisor's own setting).
    pub async fn update(
        &self,
        mpc: &MpcAddress,
        members: Members,
        change: MemberChange,
    ) -> Result<MpcState, OpError> {
        if change == MemberChange::default() {
            return Err(OpError::Invalid(
                "give at least one of coach_mode, mute, hold".to_owned(),
            ));
        }
        if members == Members::All && change.coach_mode.is_some() {
            return Err(OpError::Invalid(
                "coach_mode cannot be changed for all members at once".to_owned(),
            ));
        }
        let control = Control::Update {
            members,
            mute: change.mute,
            hold: change.hold,
            coach_mode: change.coach_mode,
        };
        self.control(mpc, control).await
    }

    /// Starts recording the MPC's mix in `format`, reporting to `callback`
    /// (else the MPC's `recordingCallbackUrl`); answers with the
    /// recording's id and URL.
    pub async fn record_start(
        &self,
        mpc: &MpcAddress,
        format: RecordFileFormat,
        callback: Option<(String, Method)>,
    ) -> Result<RecordingFields, OpError> {
        check_callback(callback.as_ref())?;
        let control = Control::Record {
            command: RecordCommand::Start { format },
            callback,
        };
        self.mpcs
            .control(mpc, control)
            .await?
            .recording
            .ok_or_else(|| OpError::Conflict("the recording could not start".to_owned()))
    }

    /// Stops, pauses or resumes the MPC's recording (`command` is not a
    /// start: see [`Operations::record_start`]).
    pub async fn record(
        &self,
        mpc: &MpcAddress,
        command: RecordCommand,
    ) -> Result<MpcState, OpError> {
        if matches!(command, RecordCommand::Start { .. }) {
            return Err(OpError::Invalid(
                "use record_start to start a recording".to_owned(),
            ));
        }
        let control = Control::Record {
            command,
            callback: None,
        };
        self.control(mpc, control).await
    }

    // ---- participant track recordings

    /// Starts recording `tracks` of `member` in `format` (one file per
    /// track), reporting to `callback` (else the MPC's
    /// `recordingCallbackUrl`); answers with each started recording's id
    /// and URL, inbound first.
    pub async fn track_start(
        &self,
        mpc: &MpcAddress,
        (member, tracks): (u32, RecordTrackType),
        format: RecordFileFormat,
        callback: Option<(String, Method)>,
    ) -> Result<Vec<RecordingFields>, OpError> {
        check_callback(callback.as_ref())?;
        let control = Control::Track {
            member,
            tracks,
            command: RecordCommand::Start { format },
            callback,
        };
        let started = self.mpcs.control(mpc, control).await?.tracks;
        match started.len() == tracks.tracks().len() {
            true => Ok(started),
            false => Err(OpError::Conflict(
                "the participant recording could not start".to_owned(),
            )),
        }
    }

    /// Stops, pauses or resumes `tracks` of `member` (`command` is not a
    /// start: see [`Operations::track_start`]).
    pub async fn track(
        &self,
        mpc: &MpcAddress,
        (member, tracks): (u32, RecordTrackType),
        command: RecordCommand,
    ) -> Result<MpcState, OpError> {
        if matches!(command, RecordCommand::Start { .. }) {
            return Err(OpError::Invalid(
                "use track_start to start a participant recording".to_owned(),
            ));
        }
        let control = Control::Track {
            member,
            tracks,
            command,
            callback: None,
        };
        self.control(mpc, control).await
    }

    async fn control(&self, mpc: &MpcAddress, control: Control) -> Result<MpcState, OpError> {
        Ok(self.mpcs.control(mpc, control).await?.state)
    }

    /// Takes one member or all out of the MPC (`ExitCause::Kicked`).
    pub async fn kick(&self, mpc: &MpcAddress, members: Members) -> Result<MpcState, OpError> {
        self.control(mpc, Control::Kick { members }).await
    }
}

/// A recording callback URL must be http(s).
fn check_callback(callback: Option<&(String, Method)>) -> Result<(), OpError> {
    match callback {
        Some((url, _)) if !(url.starts_with("http://") || url.starts_with("https://")) => {
            Err(OpError::Invalid(format!(
                "recording_callback_url must be an http(s) URL, got {url:?}"
            )))
        }
        _ => Ok(()),
    }
}
