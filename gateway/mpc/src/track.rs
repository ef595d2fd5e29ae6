//! What drives a recording ([`RecordCommand`], for the MPC recording and
//! for participant tracks alike), and participant track recordings: which
//! side of a member's call a file holds, and the state of a member's two
//! tracks.
//!
//! A member has at most two tracks at a time: [`Track::Inbound`], its own
//! voice as chorus received it, and [`Track::Outbound`], what it heard (a
//! chorus extension: Plivo has no record of what one participant heard).
//! Each is started, paused, resumed and stopped on its own with the same
//! [`RecordCommand`]s as the MPC recording; the API's `all` is
//! both. The engine applies the rules ([`crate::io::Input::Track`]); the
//! driver writes the files and reports them as recording events with
//! [`TrackFields`].

use chorus_xml::RecordFileFormat;

/// A recording change: of the MPC recording, or of a participant track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCommand {
    /// Start recording.
    Start {
        /// mp3 or wav.
        format: RecordFileFormat,
    },
    /// Stop and finalise it.
    Stop,
    /// Leave what follows out of the file until resumed.
    Pause,
    /// Record again after a pause.
    Resume,
}

/// One side of a member's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    /// The member's own voice, as received (silence while it sent nothing).
    Inbound,
    /// What the member heard, exactly as it was sent to it.
    Outbound,
}

impl Track {
    /// Both, inbound first.
    pub const BOTH: [Track; 2] = [Track::Inbound, Track::Outbound];

    /// As the API and the `RecordTrackType` field name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

/// `record_track_type`: one track or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RecordTrackType {
    /// The inbound track.
    Inbound,
    /// The outbound track.
    Outbound,
    /// Both, as two files started, paused, resumed and stopped together
    /// (the SDKs' default).
    #[default]
    All,
}

impl RecordTrackType {
    /// Every value with its API name.
    pub const NAMES: [(&'static str, RecordTrackType); 3] = [
        ("inbound", Self::Inbound),
        ("outbound", Self::Outbound),
        ("all", Self::All),
    ];

    /// The tracks it means, inbound first.
    pub fn tracks(self) -> &'static [Track] {
        match self {
            Self::Inbound => &Track::BOTH[..1],
            Self::Outbound => &Track::BOTH[1..],
            Self::All => &Track::BOTH,
        }
    }

    /// `inbound`, `outbound` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::All => "all",
        }
    }
}

/// A member's tracks: for each, `None` (not recorded) or `Some(paused)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackStates([Option<bool>; 2]);

impl TrackStates {
    /// `Some(paused)` while `track` is recorded.
    pub fn get(self, track: Track) -> Option<bool> {
        self.0[track as usize]
    }

    /// The tracks being recorded.
    pub fn recorded(self) -> impl Iterator<Item = Track> {
        Track::BOTH
            .into_iter()
            .filter(move |t| self.get(*t).is_some())
    }

    /// Why `command` does not fit `track` now, if it does not: starting a
    /// recorded track, or stopping, pausing or resuming one that is not
    /// (or that is already paused, or not paused).
    pub fn refusal(self, track: Track, command: RecordCommand) -> Option<&'static str> {
        use RecordCommand::{Pause, Resume, Start, Stop};
        match (command, self.get(track)) {
            (Start { .. }, Some(_)) => Some("the participant's track is already being recorded"),
            (Stop | Pause | Resume, None) => Some("the participant's track is not being recorded"),
            (Pause, Some(true)) => Some("the participant's track recording is already paused"),
            (Resume, Some(false)) => Some("the participant's track recording is not paused"),
            _ => None,
        }
    }

    /// Applies `command` to `track` if it fits; true if anything changed.
    pub fn apply(&mut self, track: Track, command: RecordCommand) -> bool {
        use RecordCommand::{Pause, Resume, Start, Stop};
        if self.refusal(track, command).is_some() {
            return false;
        }
        self.0[track as usize] = match command {
            Start { .. } | Resume => Some(false),
            Pause => Some(true),
            Stop => None,
        };
        true
    }
}

/// What a participant track recording's events add to the MPC recording's
/// fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFields {
    /// `MemberID`.
    pub member_id: u32,
    /// `ParticipantCallUUID`.
    pub call_uuid: String,
    /// `RecordTrackType`: the side this file holds.
    pub track: Track,
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecordCommand::{Pause, Resume, Start, Stop};

    const START: RecordCommand = Start {
        format: RecordFileFormat::Wav,
    };

    #[test]
    fn each_track_goes_through_start_pause_resume_stop_on_its_own() {
        let mut s = TrackStates::default();
        assert!(s.apply(Track::Outbound, START));
        assert_eq!(
            (s.get(Track::Inbound), s.get(Track::Outbound)),
            (None, Some(false))
        );
        assert!(!s.apply(Track::Outbound, START), "already recorded");
        assert!(!s.apply(Track::Inbound, Pause), "not recorded");
        assert!(!s.apply(Track::Outbound, Resume), "not paused");
        assert!(s.apply(Track::Outbound, Pause));
        assert!(!s.apply(Track::Outbound, Pause), "already paused");
        assert_eq!(s.get(Track::Outbound), Some(true));
        assert!(s.apply(Track::Outbound, Resume));
        assert!(s.apply(Track::Inbound, START));
        assert_eq!(s.recorded().collect::<Vec<_>>(), Track::BOTH);
        assert!(s.apply(Track::Outbound, Stop));
        assert!(!s.apply(Track::Outbound, Stop), "already stopped");
        assert_eq!(s.recorded().collect::<Vec<_>>(), [Track::Inbound]);
    }

    #[test]
    fn all_means_both_tracks_inbound_first() {
        assert_eq!(RecordTrackType::All.tracks(), Track::BOTH);
        assert_eq!(RecordTrackType::Inbound.tracks(), [Track::Inbound]);
        assert_eq!(RecordTrackType::Outbound.tracks(), [Track::Outbound]);
        assert_eq!(RecordTrackType::default(), RecordTrackType::All);
    }
}
