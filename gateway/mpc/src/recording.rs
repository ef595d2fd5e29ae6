//! Recording callback events (`recordingCallbackUrl`): what happened to the
//! MPC recording, with every field Plivo sends for it.
//!
//! The engine decides when the recording starts and stops
//! ([`crate::RecordCommand`]); how it ends (a finished file, or a failure)
//! is known only to the driver that writes it, so the driver builds these.

use chorus_xml::RecordFileFormat;

use crate::time::Timestamp;
use crate::track::TrackFields;

/// The name of a recording callback event (`EventName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordingEventName {
    /// The recording started.
    Initiated,
    /// The recording was paused (API).
    Paused,
    /// The recording was resumed (API).
    Resumed,
    /// The file is complete.
    Completed,
    /// The recording could not be made or finished.
    Failed,
}

impl RecordingEventName {
    /// As sent in `EventName` for a participant track recording.
    pub fn participant_str(self) -> &'static str {
        match self {
            Self::Initiated => "ParticipantRecordingInitiated",
            Self::Paused => "ParticipantRecordingPaused",
            Self::Resumed => "ParticipantRecordingResumed",
            Self::Completed => "ParticipantRecordingCompleted",
            Self::Failed => "ParticipantRecordingFailed",
        }
    }

    /// As sent in `EventName` for the MPC recording.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiated => "MPCRecordingInitiated",
            Self::Paused => "MPCRecordingPaused",
            Self::Resumed => "MPCRecordingResumed",
            Self::Completed => "MPCRecordingCompleted",
            Self::Failed => "MPCRecordingFailed",
        }
    }
}

/// One MPC recording: what every event about it reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingFields {
    /// `MPCUUID`.
    pub mpc_uuid: String,
    /// `MPCName`.
    pub mpc_name: String,
    /// `RecordingUUID`.
    pub uuid: String,
    /// `RecordingFormat`.
    pub format: RecordFileFormat,
    /// `RecordingURL`: where the file can be fetched.
    pub url: String,
    /// `RecordingResourceURL`: where the recording's details can be read
    /// (empty while chorus has no recordings API).
    pub resource_url: String,
    /// `RecordingStartTime`.
    pub started: Timestamp,
    /// For a participant track recording: whose, and which track.
    pub participant: Option<TrackFields>,
}

/// One recording callback event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingEvent {
    /// `EventName`.
    pub name: RecordingEventName,
    /// `EventTimestamp`.
    pub at: Timestamp,
    /// `SequenceNumber`: 1, 2, … per recording callback URL of an MPC.
    pub sequence: u64,
    /// The recording.
    pub recording: RecordingFields,
    /// `RecordingEndTime` and `RecordingDuration` (whole seconds), once
    /// the recording ended.
    pub ended: Option<(Timestamp, u64)>,
}

impl RecordingEvent {
    /// `EventName`: `MPCRecording…`, or `ParticipantRecording…` for a track.
    pub fn name_str(&self) -> &'static str {
        match self.recording.participant {
            Some(_) => self.name.participant_str(),
            None => self.name.as_str(),
        }
    }

    /// Every field as Plivo names it, in the spec's order. Fields that do
    /// not apply yet (the end of a recording in progress) are sent empty.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let r = &self.recording;
        let mut fields = vec![
            ("EventName", self.name_str().to_owned()),
            ("EventTimestamp", self.at.to_string()),
            ("MPCName", r.mpc_name.clone()),
            ("MPCUUID", r.mpc_uuid.clone()),
            (
                "RecordingDuration",
                self.ended
                    .map(|(_, secs)| secs.to_string())
                    .unwrap_or_default(),
            ),
            (
                "RecordingEndTime",
                self.ended.map(|(t, _)| t.to_string()).unwrap_or_default(),
            ),
            ("RecordingFormat", r.format.as_str().to_owned()),
            ("RecordingResourceURL", r.resource_url.clone()),
            ("RecordingStartTime", r.started.to_string()),
            ("RecordingURL", r.url.clone()),
            ("RecordingUUID", r.uuid.clone()),
            ("SequenceNumber", self.sequence.to_string()),
        ];
        if let Some(p) = &r.participant {
            fields.extend([
                ("MemberID", p.member_id.to_string()),
                ("ParticipantCallUUID", p.call_uuid.clone()),
                ("RecordTrackType", p.track.as_str().to_owned()),
            ]);
        }
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completed_recording_reports_every_field_of_the_spec() {
        let event = RecordingEvent {
            name: RecordingEventName::Completed,
            at: Timestamp(1_594_279_567_000),
            sequence: 2,
            recording: RecordingFields {
                mpc_uuid: "m-1".into(),
                mpc_name: "support".into(),
                uuid: "r-1".into(),
                format: RecordFileFormat::Wav,
                url: "https://media.example.com/r-1.wav".into(),
                resource_url: String::new(),
                started: Timestamp(1_594_279_507_000),
                participant: None,
            },
            ended: Some((Timestamp(1_594_279_566_000), 59)),
        };
        let fields = event.fields();
        let expected = [
            ("EventName", "MPCRecordingCompleted"),
            ("EventTimestamp", "2020-07-09 07:26:07+00:00"),
            ("MPCName", "support"),
            ("MPCUUID", "m-1"),
            ("RecordingDuration", "59"),
            ("RecordingEndTime", "2020-07-09 07:26:06+00:00"),
            ("RecordingFormat", "wav"),
            ("RecordingResourceURL", ""),
            ("RecordingStartTime", "2020-07-09 07:25:07+00:00"),
            ("RecordingURL", "https://media.example.com/r-1.wav"),
            ("RecordingUUID", "r-1"),
            ("SequenceNumber", "2"),
        ];
        let got: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(got, expected);
        let initiated = RecordingEvent {
            name: RecordingEventName::Initiated,
            ended: None,
            ..event
        };
        let fields = initiated.fields();
        let get = |key| fields.iter().find(|(k, _)| *k == key).unwrap().1.as_str();
        assert_eq!(get("EventName"), "MPCRecordingInitiated");
        assert_eq!(
            (get("RecordingDuration"), get("RecordingEndTime")),
            ("", "")
        );
    }

    #[test]
    fn a_participant_track_recording_names_its_member_call_and_track() {
        let event = RecordingEvent {
            name: RecordingEventName::Paused,
            at: Timestamp(1_594_279_567_000),
            sequence: 2,
            recording: RecordingFields {
                mpc_uuid: "m-1".into(),
                mpc_name: "support".into(),
                uuid: "r-2".into(),
                format: RecordFileFormat::Mp3,
                url: "file:///r/r-2.mp3".into(),
                resource_url: String::new(),
                started: Timestamp(1_594_279_507_000),
                participant: Some(TrackFields {
                    member_id: 3,
                    call_uuid: "c-3".into(),
                    track: crate::Track::Outbound,
                }),
            },
            ended: None,
        };
        let fields = event.fields();
        let get = |key| fields.iter().find(|(k, _)| *k == key).unwrap().1.as_str();
        assert_eq!(get("EventName"), "ParticipantRecordingPaused");
        assert_eq!(get("MemberID"), "3");
        assert_eq!(get("ParticipantCallUUID"), "c-3");
        assert_eq!(get("RecordTrackType"), "outbound");
        assert_eq!(get("RecordingUUID"), "r-2");
    }
}
