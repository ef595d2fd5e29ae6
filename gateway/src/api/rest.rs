//! The Plivo-compatible REST facade, under
//! `/v1/Account/{auth_id}/MultiPartyCall/`: list, get, start (`POST` with
//! `status=active`) and end (`DELETE`) MPCs addressed as
//! `name_<friendly name>` or `uuid_<uuid>`; list, get, update (`mute`,
//! `hold`, `coach_mode`; one member or `all`) and kick members; start
//! (`POST Record/`), stop (`DELETE Record/`), pause and resume the MPC
//! recording; start, stop, pause and resume a member's track recordings
//! (`Participant/{member}/Record/`, the `tracks` module); play or say
//! something to one member (`Member/{id}/Play/`, `Member/{id}/Speak/`, see
//! `member_audio`). Paths work with and without their trailing slash.
//!
//! Every request needs HTTP Basic credentials `auth_id:auth_token` and the
//! path's `auth_id` must be ours; with no `api.auth_token` configured every
//! request gets 401 (never an open API). Answers and errors have Plivo's
//! shapes (the `shapes` module); a refused request changes nothing. Endpoints of
//! Plivo's MPC API that chorus does not serve answer 404 with an error that
//! says so; add participant is checked (`add_participant`) and answered
//! 501 until chorus dials out.

// audio to one member
mod add_participant;
mod member_audio;
mod participants;
mod recording;
mod shapes;
mod tracks;

use participants::{get_member, kick_member, list_members, update_member};
use recording::{pause_recording, resume_recording, start_recording, stop_recording};

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use base64::Engine as _;
use chorus_config::ApiConfig;
use chorus_mpc::Timestamp;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::ops::{MpcFilter, OpError, Operations, Page, Status};
use super::params::{BadParam, Params};
use super::secret::same_secret;
use super::tls::ApiTls;
use crate::mpc::{Members, MpcAddress, wall_clock};

/// What every handler shares.
struct Rest {
    ops: Operations,
    auth_id: String,
    token: Option<String>,
}

type Shared = State<Arc<Rest>>;

/// A handler's failure: its status and Plivo error body.
struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, axum::Json(shapes::error(&self.1))).into_response()
    }
}

impl From<OpError> for Failure {
    fn from(error: OpError) -> Self {
        let status = match error {
            OpError::NoSuchMpc | OpError::NoSuchMember(_) | OpError::NoSuchCall(_) => {
                StatusCode::NOT_FOUND
            }
            OpError::Ended | OpError::Conflict(_) => StatusCode::CONFLICT,
            OpError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            OpError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        Self(status, error.to_string())
    }
}

impl From<BadParam> for Failure {
    fn from(error: BadParam) -> Self {
        Self(StatusCode::BAD_REQUEST, error.0)
    }
}

type Answer = Result<Response, Failure>;

/// Serves the REST API on `listener` until `stop`: HTTPS only with `tls`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ops: Operations,
    api: &ApiConfig,
    tls: Option<Arc<ApiTls>>,
    stop: CancellationToken,
) {
    let rest = Arc::new(Rest {
        ops,
        auth_id: api.auth_id.clone(),
        token: api.auth_token.clone(),
    });
    let app = router(rest.clone()).layer(middleware::from_fn_with_state(rest, authenticate));
    let served = match tls {
        Some(tls) => {
            axum::serve(tls.listener(listener, stop.clone()), app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        }
    };
    if let Err(error) = served {
        tracing::error!(%error, "REST API server failed");
    }
}

fn router(rest: Arc<Rest>) -> Router {
    const BASE: &str = "/v1/Account/{auth_id}/MultiPartyCall";
    let routes: [(String, MethodRouter<Arc<Rest>>); 10] = [
        (format!("{BASE}/"), get(list_mpcs)),
        (
            format!("{BASE}/{{mpc}}/"),
            get(get_mpc).post(start_mpc).delete(end_mpc),
        ),
        (
            format!("{BASE}/{{mpc}}/Participant/"),
            get(list_members).post(add_participant::add),
        ),
        (
            format!("{BASE}/{{mpc}}/Record/"),
            post(start_recording).delete(stop_recording),
        ),
        (
            format!("{BASE}/{{mpc}}/Record/Pause/"),
            post(pause_recording),
        ),
        (
            format!("{BASE}/{{mpc}}/Record/Resume/"),
            post(resume_recording),
        ),
        (
            format!("{BASE}/{{mpc}}/Participant/{{member}}/"),
            get(get_member).post(update_member).delete(kick_member),
        ),
        // participant track recordings
        (
            format!("{BASE}/{{mpc}}/Participant/{{member}}/Record/"),
            post(tracks::start).delete(tracks::stop),
        ),
        (
            format!("{BASE}/{{mpc}}/Participant/{{member}}/Record/Pause/"),
            post(tracks::pause),
        ),
        (
            format!("{BASE}/{{mpc}}/Participant/{{member}}/Record/Resume/"),
            post(tracks::resume),
        ),
    ];
    let mut router = Router::new();
    // audio to one member
    let routes = routes.into_iter().chain(member_audio::routes(BASE));
    for (path, methods) in routes {
        router = router
            .route(path.trim_end_matches('/'), methods.clone())
            .route(&path, methods);
    }
    router.fallback(not_served).with_state(rest)
}

/// HTTP Basic `auth_id:auth_token`, and the path's account must be ours.
async fn authenticate(State(rest): Shared, request: Request, next: Next) -> Response {
    let Some(token) = &rest.token else {
        return Failure(
            StatusCode::UNAUTHORIZED,
            "the API is closed until api.auth_token is set (CHORUS_API__AUTH_TOKEN)".to_owned(),
        )
        .into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    let expected = format!("{}:{token}", rest.auth_id);
    let account = request.uri().path().split('/').nth(3).unwrap_or("");
    let ok = given.is_some_and(|g| same_secret(g.as_bytes(), expected.as_bytes()))
        && account == rest.auth_id;
    if !ok {
        return Failure(StatusCode::UNAUTHORIZED, "authentication failed".to_owned())
            .into_response();
    }
    next.run(request).await
}

async fn not_served(uri: Uri) -> Failure {
    Failure(
        StatusCode::NOT_FOUND,
        format!("chorus does not serve {} (yet)", uri.path()),
    )
}

/// `name_<friendly name>` or `uuid_<uuid>`.
fn address(text: &str) -> Result<MpcAddress, Failure> {
    match (text.strip_prefix("name_"), text.strip_prefix("uuid_")) {
        (Some(name), _) if !name.is_empty() => Ok(MpcAddress::Name(name.to_owned())),
        (_, Some(uuid)) if !uuid.is_empty() => Ok(MpcAddress::Uuid(uuid.to_owned())),
        _ => Err(Failure(
            StatusCode::NOT_FOUND,
            format!("{text:?} is not an MPC: use name_<friendly name> or uuid_<MPC UUID>"),
        )),
    }
}

/// A member id, or `all` where `all` is allowed.
fn members(text: &str, all_allowed: bool) -> Result<Members, Failure> {
    match text.parse::<u32>() {
        Ok(id) => Ok(Members::One(id)),
        Err(_) if all_allowed && text == "all" => Ok(Members::All),
        Err(_) => Err(Failure(
            StatusCode::NOT_FOUND,
            format!("{text:?} is not a member id"),
        )),
    }
}

fn body_params(headers: &HeaderMap, body: &Bytes) -> Result<Params, Failure> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    Ok(Params::from_body(content_type, body)?)
}

fn page(params: &Params) -> Result<Page, Failure> {
    let limit = params.integer("limit")?.unwrap_or(20);
    let offset = params.integer("offset")?.unwrap_or(0);
    Ok(Page {
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
    })
}

fn json(value: Value) -> Response {
    axum::Json(value).into_response()
}

async fn list_mpcs(State(rest): Shared, Path(auth_id): Path<String>, uri: Uri) -> Answer {
    let params = Params::from_query(uri.query().unwrap_or(""))?;
    let statuses = Status::ALL.map(|s| (s.as_str(), s));
    let status = params.one_of("status", &statuses)?;
    let bound = |name: &str, inclusive| -> Result<Option<(Timestamp, bool)>, Failure> {
        Ok(params.time(name)?.map(|t| (t, inclusive)))
    };
    let filter = MpcFilter {
        name: params.text("friendly_name")?,
        status,
        termination_code: params
            .integer("termination_cause_code")?
            .map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
        created_after: bound("creation_time__gt", false)?.or(bound("creation_time__gte", true)?),
        created_before: bound("creation_time__lt", false)?.or(bound("creation_time__lte", true)?),
        ended_after: bound("end_time__gt", false)?.or(bound("end_time__gte", true)?),
        ended_before: bound("end_time__lt", false)?.or(bound("end_time__lte", true)?),
    };
    let page = page(&params)?;
    let listed = rest.ops.list(&filter, page).await?;
    let now = wall_clock();
    let objects = listed
        .mpcs
        .iter()
        .map(|s| shapes::mpc(&auth_id, s, now))
        .collect();
    let path = shapes::mpc_base(&auth_id);
    Ok(json(shapes::list(&path, page, listed.total, objects)))
}

async fn get_mpc(State(rest): Shared, Path((auth_id, mpc)): Path<(String, String)>) -> Answer {
    let state = rest.ops.get(&address(&mpc)?).await?;
    let mut body = shapes::mpc(&auth_id, &state, wall_clock());
    body["api_id"] = Value::String(shapes::api_id());
    Ok(json(body))
}

async fn start_mpc(
    State(rest): Shared,
    Path((_, mpc)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let params = body_params(&headers, &body)?;
    match params.text("status")? {
        Some(s) if s.eq_ignore_ascii_case("active") => {}
        other => {
            return Err(Failure(
                StatusCode::BAD_REQUEST,
                format!("status must be active to start an MPC, got {other:?}"),
            ));
        }
    }
    rest.ops.start(&address(&mpc)?).await?;
    Ok(json(shapes::message("MPC started")))
}

async fn end_mpc(State(rest): Shared, Path((_, mpc)): Path<(String, String)>) -> Answer {
    rest.ops.end(&address(&mpc)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
