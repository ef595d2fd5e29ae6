//! `POST {mpc}/Participant/`: Add Participant (seed 001). The parameters
//! are read and checked by the operations layer (`ops::add_participant`),
//! which answers before dialling.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;

use super::{Answer, Shared, address, body_params, shapes};

/// `POST {mpc}/Participant/`: a bad request gets 400 and Plivo's error
/// shape; a good one starts its calls and gets 201 with their UUIDs.
pub(super) async fn add(
    State(rest): Shared,
    Path((_, mpc)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = body_params(&headers, &body)?;
    let added = rest.ops.add_participant(&address(&mpc)?, &params).await?;
    Ok((StatusCode::CREATED, axum::Json(shapes::added(&added))).into_response())
}
