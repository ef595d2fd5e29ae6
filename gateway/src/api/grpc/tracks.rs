//! Participant track recordings over gRPC: `StartParticipantRecording` and
//! `ChangeParticipantRecording` (stop, pause, resume), in Plivo's words,
//! over [`Operations::track_start`] and [`Operations::track`]. An unset
//! `record_track_type` is `ALL`, Plivo's default. The recording settings
//! and changes are read here for the MPC recording's RPCs too.

use chorus_mpc::RecordTrackType;
use chorus_proto::v1 as pb;
use tonic::{Response, Status};

use chorus_mpc::RecordCommand;
use chorus_xml::{Method, RecordFileFormat};

use super::requests::{address, refused};
use super::{Answer, shapes};
use crate::api::ops::Operations;

fn track_type(value: i32) -> Result<RecordTrackType, Status> {
    match pb::RecordTrackType::try_from(value) {
        Ok(pb::RecordTrackType::Unspecified | pb::RecordTrackType::All) => Ok(RecordTrackType::All),
        Ok(pb::RecordTrackType::Inbound) => Ok(RecordTrackType::Inbound),
        Ok(pb::RecordTrackType::Outbound) => Ok(RecordTrackType::Outbound),
        Err(_) => Err(Status::invalid_argument(format!(
            "record_track_type {value} is not a RecordTrackType"
        ))),
    }
}

pub(super) async fn start(
    ops: &Operations,
    r: pb::StartParticipantRecordingRequest,
) -> Answer<pb::StartParticipantRecordingResponse> {
    let mpc = address(r.mpc)?;
    let tracks = track_type(r.record_track_type)?;
    let (format, callback) = recording_settings(
        &r.file_format,
        r.recording_callback_url,
        &r.recording_callback_method,
    )?;
    let started = ops
        .track_start(&mpc, (r.member_id, tracks), format, callback)
        .await
        .map_err(|e| refused(e, &mpc))?;
    Ok(Response::new(pb::StartParticipantRecordingResponse {
        recordings: started.iter().map(|f| shapes::recording(f, None)).collect(),
    }))
}

pub(super) async fn change(
    ops: &Operations,
    r: pb::ChangeParticipantRecordingRequest,
) -> Answer<pb::MultiPartyCall> {
    let mpc = address(r.mpc)?;
    let tracks = track_type(r.record_track_type)?;
    let command = recording_change(r.change)?;
    let state = ops
        .track(&mpc, (r.member_id, tracks), command)
        .await
        .map_err(|e| refused(e, &mpc))?;
    Ok(Response::new(shapes::mpc(&state)))
}

/// A recording start's format (mp3 by default) and callback (POST by
/// default).
pub(super) fn recording_settings(
    file_format: &str,
    url: Option<String>,
    method: &str,
) -> Result<(RecordFileFormat, Option<(String, Method)>), Status> {
    let format = match file_format.to_ascii_lowercase().as_str() {
        "" | "mp3" => RecordFileFormat::Mp3,
        "wav" => RecordFileFormat::Wav,
        other => {
            return Err(Status::invalid_argument(format!(
                "file_format must be mp3 or wav, got {other:?}"
            )));
        }
    };
    let method = match method.to_ascii_uppercase().as_str() {
        "" | "POST" => Method::Post,
        "GET" => Method::Get,
        other => {
            return Err(Status::invalid_argument(format!(
                "recording_callback_method must be GET or POST, got {other:?}"
            )));
        }
    };
    Ok((format, url.map(|url| (url, method))))
}

/// A recording's stop, pause or resume.
pub(super) fn recording_change(change: i32) -> Result<RecordCommand, Status> {
    use pb::change_recording_request::Change;
    match Change::try_from(change) {
        Ok(Change::Stop) => Ok(RecordCommand::Stop),
        Ok(Change::Pause) => Ok(RecordCommand::Pause),
        Ok(Change::Resume) => Ok(RecordCommand::Resume),
        _ => Err(Status::invalid_argument(
            "change must be STOP, PAUSE or RESUME",
        )),
    }
}
