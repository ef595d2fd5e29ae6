//! Audio to one member, as Plivo's REST API has it:
//! `POST …/{mpc}/Member/{member_id}/Play/` with `url` (an audio file or a
//! sound document) and `POST …/Member/{member_id}/Speak/` with `text`
//! (`voice` default `WOMAN`, `language` default `en-US`) answer 202
//! `{"api_id", "message": "play queued into MPC" | "speak queued into
//! MPC", "mpcMemberId": ["<id>"], "mpcName"}`, Plivo's documented answer;
//! `DELETE` on either path stops what plays to the member and answers 204,
//! also when nothing was playing (a stop is idempotent, as Plivo's is).
//! One member id per request (Plivo also takes lists and `all`: not yet).
//! A URL that cannot be fetched or decoded is 400 before anything plays.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, post};
use chorus_mpc::MpcState;
use serde_json::json;

use super::{Answer, Failure, Rest, Shared, address, body_params, members, shapes};
use crate::api::ops::Speech;
use crate::mpc::Members;

/// The routes under `base` (`…/MultiPartyCall`).
pub(super) fn routes(base: &str) -> [(String, MethodRouter<std::sync::Arc<Rest>>); 2] {
    [
        (
            format!("{base}/{{mpc}}/Member/{{member}}/Play/"),
            post(play).delete(stop),
        ),
        (
            format!("{base}/{{mpc}}/Member/{{member}}/Speak/"),
            post(speak).delete(stop),
        ),
    ]
}

type MemberPath = Path<(String, String, String)>;

fn member_id(text: &str) -> Result<u32, Failure> {
    match members(text, false)? {
        Members::One(id) => Ok(id),
        Members::All => unreachable!("all is not allowed here"),
    }
}

/// Plivo's 202 answer to a play or speak.
fn queued(what: &str, state: &MpcState, member: u32) -> Answer {
    let body = json!({
        "api_id": shapes::api_id(),
        "message": format!("{what} queued into MPC"),
        "mpcMemberId": [member.to_string()],
        "mpcName": state.mpc.name,
    });
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

fn required(value: Option<String>, name: &str) -> Result<String, Failure> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Failure(StatusCode::BAD_REQUEST, format!("{name} is required")))
}

async fn play(
    State(rest): Shared,
    Path((_, mpc, member)): MemberPath,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = body_params(&headers, &body)?;
    let url = required(params.text("url")?, "url")?;
    let id = member_id(&member)?;
    let state = rest.ops.play_to_member(&address(&mpc)?, id, &url).await?;
    queued("play", &state, id)
}

async fn speak(
    State(rest): Shared,
    Path((_, mpc, member)): MemberPath,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = body_params(&headers, &body)?;
    let speech = Speech {
        text: required(params.text("text")?, "text")?,
        voice: params.text("voice")?,
        language: params.text("language")?,
    };
    let id = member_id(&member)?;
    let state = rest
        .ops
        .speak_to_member(&address(&mpc)?, id, speech)
        .await?;
    queued("speak", &state, id)
}

async fn stop(State(rest): Shared, Path((_, mpc, member)): MemberPath) -> Answer {
    let id = member_id(&member)?;
    rest.ops.stop_member_audio(&address(&mpc)?, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
