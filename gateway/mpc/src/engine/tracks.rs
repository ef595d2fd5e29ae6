//! The engine's participant track rules.
//!
//! - The API starts, pauses, resumes and stops each track of a present
//!   member ([`crate::io::Input::Track`]); a request that does not fit the
//!   track's state changes nothing (the driver refuses it first).
//! - `recordParticipantTrack="true"`: the member's inbound track starts
//!   when the MPC recording starts, or when the member joins while the MPC
//!   is recorded, in the MPC's `recordFileFormat`. From then on it is a
//!   track like any other: pausing, resuming or stopping the MPC recording
//!   leaves it alone (the API changes it on its own).
//! - A member's tracks stop when it leaves, for whatever reason (the MPC
//!   ending included), before the room lets go of its leg.

use super::Mpc;
use crate::io::Output;
use crate::track::{RecordCommand, Track};

impl Mpc {
    /// The API's request for one track of `member`.
    pub(super) fn track(&mut self, member: u32, track: Track, command: RecordCommand) {
        if self.ended.is_some() {
            return;
        }
        let Some(i) = self.index(member) else { return };
        if self.members[i].tracks.apply(track, command) {
            self.outputs.push_back(Output::Track {
                member,
                track,
                command,
            });
        }
    }

    /// Member `i`'s inbound track, if its element asked for it and the MPC
    /// is recorded.
    pub(super) fn start_participant_track(&mut self, i: usize) {
        if self.recording && self.members[i].spec.record_participant_track {
            let member = self.members[i].fields.member_id;
            let start = RecordCommand::Start {
                format: self.record_format,
            };
            self.track(member, Track::Inbound, start);
        }
    }

    /// Stops every track of member `i` (it is leaving).
    pub(super) fn stop_tracks(&mut self, i: usize) {
        let member = self.members[i].fields.member_id;
        let recorded: Vec<Track> = self.members[i].tracks.recorded().collect();
        for track in recorded {
            self.track(member, track, RecordCommand::Stop);
        }
    }
}
