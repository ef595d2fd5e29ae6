//! The MPC's members over REST: `GET {mpc}/Participant/` (filtered by
//! `call_uuid`, paged), and `GET`, `POST` (`mute`, `hold`, `coach_mode`)
//! and `DELETE` (kick) of `{mpc}/Participant/{member}/`, where update and
//! kick also take `all`. Apart from the MPC's own handlers because each
//! one reads a member choice as well as the MPC's address.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::Value;

use super::{Answer, Shared, address, body_params, json, members, page, shapes};
use crate::api::ops::MemberChange;
use crate::api::params::Params;
use crate::mpc::{Members, wall_clock};

pub(super) async fn list_members(
    State(rest): Shared,
    Path((auth_id, mpc)): Path<(String, String)>,
    uri: Uri,
) -> Answer {
    let params = Params::from_query(uri.query().unwrap_or(""))?;
    let page = page(&params)?;
    let call_uuid = params.text("call_uuid")?;
    let state = rest.ops.get(&address(&mpc)?).await?;
    let now = wall_clock();
    let all: Vec<Value> = state
        .members
        .iter()
        .filter(|m| call_uuid.as_ref().is_none_or(|c| c == &m.fields.call_uuid))
        .map(|m| shapes::participant(&auth_id, &state, m, now))
        .collect();
    let (objects, total) = page.cut(all);
    let path = format!(
        "{}uuid_{}/Participant/",
        shapes::mpc_base(&auth_id),
        state.mpc.uuid
    );
    Ok(json(shapes::list(&path, page, total, objects)))
}

pub(super) async fn get_member(
    State(rest): Shared,
    Path((auth_id, mpc, member)): Path<(String, String, String)>,
) -> Answer {
    let Members::One(id) = members(&member, false)? else {
        unreachable!("all is not allowed here")
    };
    let address = address(&mpc)?;
    let state = rest.ops.get(&address).await?;
    let found = rest.ops.member(&address, id).await?;
    let mut body = shapes::participant(&auth_id, &state, &found, wall_clock());
    body["api_id"] = Value::String(shapes::api_id());
    Ok(json(body))
}

pub(super) async fn update_member(
    State(rest): Shared,
    Path((_, mpc, member)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = body_params(&headers, &body)?;
    let change = MemberChange {
        mute: params.boolean("mute")?,
        hold: params.boolean("hold")?,
        coach_mode: params.boolean("coach_mode")?,
    };
    let members = members(&member, true)?;
    let state = rest.ops.update(&address(&mpc)?, members, change).await?;
    Ok(json(shapes::updated(
        &state.mpc.name,
        change.mute.is_some(),
        change.hold.is_some(),
        change.coach_mode.is_some(),
    )))
}

pub(super) async fn kick_member(
    State(rest): Shared,
    Path((_, mpc, member)): Path<(String, String, String)>,
) -> Answer {
    rest.ops
        .kick(&address(&mpc)?, members(&member, true)?)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
