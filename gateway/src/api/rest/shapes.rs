//! Plivo's response shapes for MPCs and their participants. Every field
//! Plivo sends is present; one with no value is `null`. Billing fields are
//! what chorus knows: it bills nothing, so amounts are `"0.00000"`, and
//! billed durations are the durations rounded up to whole minutes, as in
//! the status callbacks.

use chorus_mpc::{MemberState, MpcState, Timestamp, billed_secs};
use serde_json::{Value, json};

use crate::api::ops::{Page, Status};

/// `/v1/Account/{auth_id}/MultiPartyCall/`.
pub fn mpc_base(auth_id: &str) -> String {
    format!("/v1/Account/{auth_id}/MultiPartyCall/")
}

/// A new `api_id` (Plivo sends one with every response).
pub fn api_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// One MPC, as `GET /{mpc}/` and list items show it; `now` for the
/// duration of a live one.
pub fn mpc(auth_id: &str, state: &MpcState, now: Timestamp) -> Value {
    let m = &state.mpc;
    let uri = format!("{}uuid_{}/", mpc_base(auth_id), m.uuid);
    let end = m.ended.map(|(t, _)| t);
    let duration = m.started.map(|s| end.unwrap_or(now).secs_since(s));
    json!({
        "billed_amount": "0.00000",
        "billed_duration": duration.map(billed_secs),
        "creation_time": time(Some(m.created)),
        "duration": duration,
        "end_time": time(end),
        "friendly_name": m.name,
        "mpc_uuid": m.uuid,
        "participants": format!("{uri}Participant/"),
        "recording": if state.recording { "recording" } else { "not-recording" },
        "resource_uri": uri,
        "start_time": time(m.started),
        "status": Status::of(state).as_str(),
        "stay_alone": Value::Null,
        "sub_account": Value::Null,
        "termination_cause": m.ended.map(|(_, t)| t.cause()),
        "termination_cause_code": m.ended.map(|(_, t)| t.code()),
    })
}

/// One present participant of `state`.
pub fn participant(auth_id: &str, state: &MpcState, member: &MemberState, now: Timestamp) -> Value {
    let f = &member.fields;
    let exit = f.exited.map(|(t, _)| t);
    let duration = exit.unwrap_or(now).secs_since(f.joined);
    json!({
        "billed_amount": "0.00000",
        "billed_duration": billed_secs(duration),
        "call_uuid": f.call_uuid,
        "coach_mode": f.coach_mode,
        "duration": duration,
        "end_mpc_on_exit": member.end_mpc_on_exit,
        "exit_cause": f.exited.map(|(_, c)| c.as_str()),
        "exit_time": time(exit),
        "hold": member.held,
        "join_time": time(Some(f.joined)),
        "member_address": f.address(),
        "member_id": f.member_id.to_string(),
        "mpc_uuid": state.mpc.uuid,
        "mute": member.muted,
        "resource_uri": format!(
            "{}uuid_{}/Participant/{}/",
            mpc_base(auth_id),
            state.mpc.uuid,
            f.member_id
        ),
        "role": f.role.as_str(),
        "start_mpc_on_enter": member.start_mpc_on_enter,
    })
}

/// A list response: `api_id`, `meta` (with an offset `next`/`previous`
/// the SDKs follow) and `objects`.
pub fn list(path: &str, page: Page, total: usize, objects: Vec<Value>) -> Value {
    let link = |offset: usize| format!("{path}?limit={}&offset={offset}", page.limit);
    let next = (page.offset + page.limit < total).then(|| link(page.offset + page.limit));
    let previous = (page.offset > 0).then(|| link(page.offset.saturating_sub(page.limit)));
    json!({
        "api_id": api_id(),
        "meta": {
            "count": total,
            "limit": page.limit,
            "next": next,
            "offset": page.offset,
            "previous": previous,
        },
        "objects": objects,
    })
}

/// `{"api_id", "message"}` (and Plivo's `request_uuid`).
pub fn message(text: &str) -> Value {
    json!({ "api_id": api_id(), "message": text, "request_uuid": api_id() })
}

/// The answer to a member update: Plivo's one acknowledgement per
/// changed setting, keyed by the parameter, e.g. `"mute": "MPC: sales
/// mute/unmute member(s) succeeded"`.
pub fn updated(mpc_name: &str, mute: bool, hold: bool, coach_mode: bool) -> Value {
    let mut body = json!({ "api_id": api_id() });
    let acknowledgements = [
        (mute, "mute", "mute/unmute member(s)"),
        (hold, "hold", "hold/unhold member(s)"),
        (coach_mode, "coach_mode", "coach_mode enable/disable"),
    ];
    for (given, key, what) in acknowledgements {
        if given {
            body[key] = Value::String(format!("MPC: {mpc_name} {what} succeeded"));
        }
    }
    body
}

/// Add Participant's answer: the calls it places (`to`, `from`,
/// `call_uuid`), and whether it started or queued them.
pub fn added(added: &crate::call::outbound::Added) -> Value {
    let calls: Vec<Value> = added
        .calls
        .iter()
        .map(|c| json!({ "to": c.to, "from": c.from, "call_uuid": c.call_uuid }))
        .collect();
    json!({ "api_id": api_id(), "calls": calls, "message": added.message(), "request_uuid": api_id() })
}

/// An error body: `{"api_id", "error"}`, and an empty `objects`: Plivo's
/// Python SDK reads a list call's error body as a list, and without
/// `objects` it crashes instead of raising its error.
pub fn error(text: &str) -> Value {
    json!({ "api_id": api_id(), "error": text, "objects": [] })
}
