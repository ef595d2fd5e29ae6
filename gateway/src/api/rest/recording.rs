//! The MPC recording over REST: start (`POST {mpc}/Record/` with
//! `file_format` and `recording_callback_url`/`_method`), stop (`DELETE`),
//! pause and resume (`POST …/Record/Pause/`, `…/Resume/`, 204 once done).
//! The start's settings are read here for the participant track
//! recordings too (the `tracks` module), so both take them alike.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chorus_mpc::RecordCommand;
use chorus_xml::{Method, RecordFileFormat};
use serde_json::Value;

use super::{Answer, Failure, Rest, Shared, address, body_params, json, shapes};
use crate::api::params::Params;

pub(super) async fn start_recording(
    State(rest): Shared,
    Path((_, mpc)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = body_params(&headers, &body)?;
    let (format, callback) = recording_settings(&params)?;
    let recording = rest
        .ops
        .record_start(&address(&mpc)?, format, callback)
        .await?;
    let mut answer = shapes::message("MPC recording started");
    answer["recording_id"] = Value::String(recording.uuid);
    answer["recording_url"] = Value::String(recording.url);
    Ok(json(answer))
}

pub(super) async fn stop_recording(
    State(rest): Shared,
    Path((_, mpc)): Path<(String, String)>,
) -> Answer {
    record(&rest, &mpc, RecordCommand::Stop).await
}

pub(super) async fn pause_recording(
    State(rest): Shared,
    Path((_, mpc)): Path<(String, String)>,
) -> Answer {
    record(&rest, &mpc, RecordCommand::Pause).await
}

pub(super) async fn resume_recording(
    State(rest): Shared,
    Path((_, mpc)): Path<(String, String)>,
) -> Answer {
    record(&rest, &mpc, RecordCommand::Resume).await
}

/// A recording start's `file_format` (mp3 by default) and
/// `recording_callback_url` with its method (POST by default).
pub(super) fn recording_settings(
    params: &Params,
) -> Result<(RecordFileFormat, Option<(String, Method)>), Failure> {
    let formats = [
        ("mp3", RecordFileFormat::Mp3),
        ("wav", RecordFileFormat::Wav),
    ];
    let format = params
        .one_of("file_format", &formats)?
        .unwrap_or(RecordFileFormat::Mp3);
    let methods = [("GET", Method::Get), ("POST", Method::Post)];
    let method = params
        .one_of("recording_callback_method", &methods)?
        .unwrap_or(Method::Post);
    let callback = params
        .text("recording_callback_url")?
        .map(|url| (url, method));
    Ok((format, callback))
}

/// Stop, pause or resume: 204 once done.
async fn record(rest: &Rest, mpc: &str, command: RecordCommand) -> Answer {
    rest.ops.record(&address(mpc)?, command).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
