//! `chorusctl record … --member ID [--track inbound|outbound|all]`: the
//! same start, stop, pause and resume as the MPC recording's, applied to
//! one member's track recordings (`StartParticipantRecording`,
//! `ChangeParticipantRecording`). `--track` defaults to `all`, Plivo's
//! default: both files, changed together.

use chorus_proto::v1 as pb;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::client::{Client, Failure, answer, mpc_id};
use crate::render::{self, print};

/// Whose tracks a `record` command is about (none: the MPC recording).
#[derive(Args)]
pub(crate) struct Participant {
    /// Record this member's tracks instead of the MPC's mix
    #[arg(long)]
    pub(crate) member: Option<u32>,
    /// Which of the member's tracks: its voice (inbound), what it heard
    /// (outbound), or both
    #[arg(long, value_enum, default_value = "all", requires = "member")]
    track: TrackArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum TrackArg {
    Inbound,
    Outbound,
    All,
}

impl From<TrackArg> for pb::RecordTrackType {
    fn from(track: TrackArg) -> Self {
        match track {
            TrackArg::Inbound => Self::Inbound,
            TrackArg::Outbound => Self::Outbound,
            TrackArg::All => Self::All,
        }
    }
}

fn recording_json(r: &pb::Recording) -> Value {
    let mut value = render::recording_json(r);
    value["member_id"] = json!(r.member_id);
    value["record_track_type"] = json!(r.record_track_type().as_str_name());
    value
}

/// Starts recording `member`'s tracks of MPC `mpc` in `format`.
pub(crate) async fn start(
    (endpoint, api): (&str, &mut Client),
    (mpc, member, who): (&str, u32, &Participant),
    format: String,
    as_json: bool,
) -> Result<(), Failure> {
    let request = pb::StartParticipantRecordingRequest {
        mpc: Some(mpc_id(mpc)),
        member_id: member,
        file_format: format,
        recording_callback_url: None,
        recording_callback_method: String::new(),
        record_track_type: pb::RecordTrackType::from(who.track).into(),
    };
    let started = answer(endpoint, api.start_participant_recording(request)).await?;
    let objects: Vec<Value> = started.recordings.iter().map(recording_json).collect();
    print(as_json, json!({ "recordings": objects }), || {
        let lines: Vec<String> = (started.recordings.iter())
            .map(|r| {
                let track = r.record_track_type().as_str_name();
                let track = track
                    .trim_start_matches("RECORD_TRACK_TYPE_")
                    .to_lowercase();
                format!(
                    "member {member} {track} recording {} started: {}",
                    r.recording_uuid, r.url
                )
            })
            .collect();
        lines.join("\n")
    });
    Ok(())
}

/// Stops, pauses or resumes `member`'s tracks of MPC `mpc`.
pub(crate) async fn change(
    (endpoint, api): (&str, &mut Client),
    (mpc, member, who): (&str, u32, &Participant),
    (change, done): (pb::change_recording_request::Change, &str),
    as_json: bool,
) -> Result<(), Failure> {
    let request = pb::ChangeParticipantRecordingRequest {
        mpc: Some(mpc_id(mpc)),
        member_id: member,
        change: change.into(),
        record_track_type: pb::RecordTrackType::from(who.track).into(),
    };
    let m = answer(endpoint, api.change_participant_recording(request)).await?;
    print(as_json, render::mpc_json(&m), || {
        format!(
            "MPC {}: member {member}'s track recording {done}",
            m.friendly_name
        )
    });
    Ok(())
}
