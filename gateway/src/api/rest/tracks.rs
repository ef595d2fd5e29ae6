//! Participant track recordings over REST:
//! `POST|DELETE {mpc}/Participant/{member_id}/Record/`, `POST …/Record/Pause/`
//! and `POST …/Record/Resume/`, each with `record_track_type` `inbound`,
//! `outbound` or `all` (the default: both files, changed together), or as
//! Plivo's Node SDK names them, `participant` (inbound) and `both`. A start
//! also takes `file_format` and `recording_callback_url`/`_method` (the
//! SDK's `callback_url`, `transcript` and `transcription_url` are ignored)
//! and answers Plivo's `recording_id`/`recording_url` — the inbound file's
//! for `all` — plus chorus's `recordings` array with every file started.
//! Stop, pause and resume answer 204, like the MPC recording's.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chorus_mpc::{RecordCommand, RecordTrackType};
use serde_json::{Value, json};

use super::recording::recording_settings;
use super::{Answer, Failure, Rest, Shared, address, body_params, members};
use crate::api::params::Params;
use crate::mpc::Members;

type Address = Path<(String, String, String)>;

/// `record_track_type` as chorus names it, and as Plivo's Node SDK does
/// (it refuses anything but `participant`, `both` and `all`): the
/// participant's own track is the inbound one, and both is all.
const TRACK_NAMES: [(&str, RecordTrackType); 5] = [
    RecordTrackType::NAMES[0],
    RecordTrackType::NAMES[1],
    RecordTrackType::NAMES[2],
    ("participant", RecordTrackType::Inbound),
    ("both", RecordTrackType::All),
];

/// The member and the tracks a request names.
fn target(member: &str, params: &Params) -> Result<(u32, RecordTrackType), Failure> {
    let Members::One(id) = members(member, false)? else {
        unreachable!("all is not allowed here")
    };
    let tracks = params
        .one_of("record_track_type", &TRACK_NAMES)?
        .unwrap_or_default();
    Ok((id, tracks))
}

pub(super) async fn start(
    State(rest): Shared,
    Path((_, mpc, member)): Address,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = body_params(&headers, &body)?;
    let target = target(&member, &params)?;
    let (format, callback) = recording_settings(&params)?;
    let started = rest
        .ops
        .track_start(&address(&mpc)?, target, format, callback)
        .await?;
    let mut answer = super::shapes::message("MPC participant recording started");
    if let Some(first) = started.first() {
        answer["recording_id"] = Value::String(first.uuid.clone());
        answer["recording_url"] = Value::String(first.url.clone());
    }
    answer["recordings"] = started
        .iter()
        .map(|r| {
            let track = r.participant.as_ref().map(|p| p.track.as_str());
            json!({"record_track_type": track, "recording_id": r.uuid, "recording_url": r.url})
        })
        .collect();
    Ok(axum::Json(answer).into_response())
}

pub(super) async fn stop(
    State(rest): Shared,
    path: Address,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    change(&rest, path, (&headers, &body), RecordCommand::Stop).await
}

pub(super) async fn pause(
    State(rest): Shared,
    path: Address,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    change(&rest, path, (&headers, &body), RecordCommand::Pause).await
}

pub(super) async fn resume(
    State(rest): Shared,
    path: Address,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    change(&rest, path, (&headers, &body), RecordCommand::Resume).await
}

/// Stop, pause or resume: 204 once done.
async fn change(
    rest: &Rest,
    Path((_, mpc, member)): Address,
    (headers, body): (&HeaderMap, &Bytes),
    command: RecordCommand,
) -> Answer {
    let params = body_params(headers, body)?;
    let target = target(&member, &params)?;
    rest.ops.track(&address(&mpc)?, target, command).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
