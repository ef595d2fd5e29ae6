//! The control plane's commands about a room already open or a leg already
//! in one: its musics and bridge clips, its recording, a member's track
//! recordings and the sound it hears alone, DTMF relay, a participant's
//! changes and a renegotiated session. Each finds the worker and pushes one
//! [`Command`] on its ring; none waits for an answer, and a room or leg
//! that is gone by the time the worker reads it ignores it (a tap it
//! carried comes back to be dropped). Apart from [`MediaPlane`]'s set-up
//! and placement (`open_room`, `join`, `leave`) because these never move
//! anything between workers or change what a worker carries.

use std::sync::Arc;

use chorus_mixer::Participant;
use chorus_mixer::clip::Clip;
use chorus_recorder::Tap;

use super::worker::{Command, RoomKey};
use super::{LegId, MediaError, MediaPlane, MusicSlot, TrackChange};

impl MediaPlane {
    /// Replaces one of a room's musics with a loaded clip, or silence
    /// (`None`); a room that is gone ignores it.
    pub fn set_music(
        &self,
        (worker, room): (usize, RoomKey),
        slot: MusicSlot,
        clip: Option<Arc<Clip>>,
    ) -> Result<(), MediaError> {
        self.send(worker, Command::Music { room, slot, clip })
    }

    /// Starts a room's MPC (the API's start; a joining member's start
    /// travels with its join); a room that is gone ignores it.
    pub fn start_room(&self, (worker, room): (usize, RoomKey)) -> Result<(), MediaError> {
        self.send(worker, Command::Start { room })
    }

    /// Plays a clip on a room's bridge; a room that is gone ignores it.
    pub fn play_bridge_clip(
        &self,
        (worker, room): (usize, RoomKey),
        clip: Arc<Clip>,
    ) -> Result<(), MediaError> {
        self.send(worker, Command::BridgeClip { room, clip })
    }

    /// Feeds a room's recording mix to `tap` (see [`chorus_recorder`]);
    /// if the room is gone the tap is dropped at once, ending the recording.
    pub fn record(&self, (worker, room): (usize, RoomKey), tap: Tap) -> Result<(), MediaError> {
        self.send(worker, Command::Record { room, tap })
    }

    /// Pauses (true) or resumes a room's recording: paused time is left
    /// out of the file.
    pub fn pause_recording(
        &self,
        (worker, room): (usize, RoomKey),
        paused: bool,
    ) -> Result<(), MediaError> {
        self.send(worker, Command::PauseRecording { room, paused })
    }

    /// Stops feeding a room's recording; the recording then ends.
    pub fn stop_recording(&self, (worker, room): (usize, RoomKey)) -> Result<(), MediaError> {
        self.send(worker, Command::StopRecording { room })
    }

    // audio to one member
    /// Plays `clip` to one leg alone, on top of what it hears, replacing
    /// its sound if one plays; [`LegEvent::AudioEnded`](super::LegEvent::AudioEnded) with `token`
    /// follows when it has played to its end.
    pub fn play_to_leg(
        &self,
        leg_id: LegId,
        clip: Arc<Clip>,
        token: u64,
    ) -> Result<(), MediaError> {
        let worker = self.worker_of(leg_id)?;
        let sound = Some((clip, token));
        self.send(worker, Command::PrivateSound { leg_id, sound })
    }

    /// Stops the sound a leg hears alone, if any.
    pub fn stop_leg_audio(&self, leg_id: LegId) -> Result<(), MediaError> {
        let worker = self.worker_of(leg_id)?;
        let sound = None;
        self.send(worker, Command::PrivateSound { leg_id, sound })
    }

    /// Changes one of a member's track recordings (see
    /// [`super::room::tracks`]); a tap that stops being fed comes back here and
    /// is dropped, ending its recording.
    pub fn change_track(
        &self,
        leg_id: LegId,
        track: chorus_mpc::Track,
        change: TrackChange,
    ) -> Result<(), MediaError> {
        let worker = self.worker_of(leg_id)?;
        self.send(
            worker,
            Command::Track {
                leg_id,
                track,
                change,
            },
        )
    }

    /// Sends a digit to a leg's peer as RFC 4733 events (DTMF relay); it is
    /// dropped if the peer did not negotiate telephone-event.
    pub fn send_digit(&self, leg_id: LegId, digit: char) -> Result<(), MediaError> {
        let worker = self.worker_of(leg_id)?;
        self.send(worker, Command::SendDigit { leg_id, digit })
    }

    /// Changes a participant's role, mute, hold or coach mode.
    pub fn update(&self, leg_id: LegId, participant: Participant) -> Result<(), MediaError> {
        let worker = self.worker_of(leg_id)?;
        self.send(
            worker,
            Command::Update {
                leg_id,
                participant,
            },
        )
    }

    /// Applies a renegotiated session to a leg in a room.
    pub fn renegotiate(
        &self,
        leg_id: LegId,
        negotiated: chorus_media::sdp::Negotiated,
    ) -> Result<(), MediaError> {
        let worker = self.worker_of(leg_id)?;
        let negotiated = Box::new(negotiated);
        self.send(worker, Command::Renegotiate { leg_id, negotiated })
    }
}
