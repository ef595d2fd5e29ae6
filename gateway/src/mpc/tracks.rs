//! An MPC's participant track recordings, on the driver's side: each
//! started track is a [`Recording`] of its own (own UUID, file, URL and
//! callbacks; see [`super::recording`]) fed by one member's track on the
//! media thread.
//!
//! The API asks through [`super::Control::Track`]: the request is checked
//! against the engine's state for every track it names ([`refusal`]), so
//! `record_track_type=all` changes both tracks or neither; then the engine
//! decides ([`chorus_mpc::Input::Track`]) and its
//! [`chorus_mpc::Output::Track`]s are carried out by [`ParticipantTracks::apply`].
//! The engine also starts tracks for `recordParticipantTrack` and stops a
//! leaving member's. Events go to the callback the API gave with the
//! start, else to the MPC's `recordingCallbackUrl`.

use chorus_mpc::{Mpc, MpcState, RecordCommand, RecordingFields, Track, TrackFields};
use chorus_xml::Method;

use super::clock::MpcClock;
use super::recording::{Feed, Recording};
use super::services::MpcServices;
use crate::media::{LegId, TrackChange};

/// Why the API's request for `tracks` of `member` does not fit the MPC
/// now, if it does not (the request then changes nothing).
pub(super) fn refusal(
    state: &MpcState,
    member: u32,
    tracks: &[Track],
    command: RecordCommand,
) -> Option<&'static str> {
    let states = state
        .members
        .iter()
        .find(|m| m.fields.member_id == member)?
        .tracks;
    tracks.iter().find_map(|t| states.refusal(*t, command))
}

/// The track recordings of one MPC, running or finishing.
#[derive(Default)]
pub(super) struct ParticipantTracks {
    /// Newest last: a member's running recording of a track is the last
    /// one of that member and track (the engine starts a track again only
    /// after stopping it).
    recordings: Vec<Recording>,
    /// Where the tracks the API is starting report (set for one request).
    requested_callback: Option<(String, Method)>,
}

impl ParticipantTracks {
    /// The API's callback for the tracks its current request starts.
    pub(super) fn set_requested_callback(&mut self, callback: Option<(String, Method)>) {
        self.requested_callback = callback;
    }

    /// Carries out the engine's `command` for `track` of `member`, whose
    /// leg and call are `seat`; `mpc_callback` is the MPC's recording
    /// callback, used when the API gave none. Answers with a started
    /// recording's fields.
    pub(super) fn apply(
        &mut self,
        (services, engine, clock): (&MpcServices, &Mpc, &MpcClock),
        (member, track, command): (u32, Track, RecordCommand),
        (leg_id, call_uuid): (LegId, &str),
        mpc_callback: Option<(String, Method)>,
    ) -> Option<RecordingFields> {
        if let RecordCommand::Start { format } = command {
            self.recordings.retain(|r| !r.is_done());
            let fields = TrackFields {
                member_id: member,
                call_uuid: call_uuid.to_owned(),
                track,
            };
            let callback = self.requested_callback.clone().or(mpc_callback);
            let feed = Feed::Track(leg_id, fields);
            let recording = Recording::start(services, engine, feed, format, callback, clock);
            let started = recording.fields().clone();
            self.recordings.push(recording);
            return Some(started);
        }
        let change = match command {
            RecordCommand::Pause => TrackChange::Pause(true),
            RecordCommand::Resume => TrackChange::Pause(false),
            _ => TrackChange::Stop,
        };
        if let Err(error) = services.media.change_track(leg_id, track, change) {
            // The leg is gone, and its tracks with it.
            tracing::debug!(%error, member, track = track.as_str(), "track change not delivered");
        }
        let uuid = self.latest(member, track).map(|f| f.uuid.clone());
        if let RecordCommand::Pause | RecordCommand::Resume = command
            && let Some(recording) = self
                .recordings
                .iter_mut()
                .find(|r| Some(&r.fields().uuid) == uuid.as_ref())
        {
            recording.paused(clock.now(), command == RecordCommand::Pause);
        }
        None
    }

    /// The newest recording of `track` of `member`: the running one, if
    /// the track is recorded.
    pub(super) fn latest(&self, member: u32, track: Track) -> Option<&RecordingFields> {
        self.recordings
            .iter()
            .rev()
            .map(Recording::fields)
            .find(|f| {
                f.participant
                    .as_ref()
                    .is_some_and(|p| p.member_id == member && p.track == track)
            })
    }

    /// True once every file is final and every callback about it is out.
    pub(super) fn is_done(&self) -> bool {
        self.recordings.iter().all(Recording::is_done)
    }

    /// Waits for the next writer's answer or delivers the next callback
    /// (see [`Recording::progress`]).
    pub(super) async fn progress(&mut self, services: &MpcServices, clock: &MpcClock) {
        Recording::progress(&mut self.recordings, services, clock).await
    }
}
