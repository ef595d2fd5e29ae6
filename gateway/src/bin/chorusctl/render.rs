//! What chorusctl prints: aligned tables for people, JSON for scripts (one
//! object per answer, one line per event). Times read as in Plivo's
//! callbacks (`2026-01-01 12:00:00+00:00`); JSON keys are the `.proto`
//! field names.

use chorus_mpc::Timestamp;
use chorus_proto::v1 as pb;
use serde_json::{Value, json};

/// One answer: `value` as a JSON line with `--json`, else `table`.
pub(crate) fn print(json_output: bool, value: serde_json::Value, table: impl FnOnce() -> String) {
    if json_output {
        println!("{value}");
    } else {
        println!("{}", table());
    }
}

fn time(t: Option<&prost_types::Timestamp>) -> Option<String> {
    let t = t?;
    let ms = u64::try_from(t.seconds).ok()?.checked_mul(1000)?;
    let ms = ms + u64::try_from(t.nanos).ok()? / 1_000_000;
    Some(Timestamp(ms).to_string())
}

fn status(value: i32) -> &'static str {
    match pb::MultiPartyCallStatus::try_from(value) {
        Ok(pb::MultiPartyCallStatus::Initialized) => "Initialized",
        Ok(pb::MultiPartyCallStatus::Active) => "Active",
        Ok(pb::MultiPartyCallStatus::Ended) => "Ended",
        _ => "",
    }
}

fn role(value: i32) -> &'static str {
    match pb::Role::try_from(value) {
        Ok(pb::Role::Agent) => "Agent",
        Ok(pb::Role::Supervisor) => "Supervisor",
        Ok(pb::Role::Customer) => "Customer",
        _ => "",
    }
}

/// An MPC as JSON.
pub fn mpc_json(m: &pb::MultiPartyCall) -> Value {
    json!({
        "mpc_uuid": m.mpc_uuid,
        "friendly_name": m.friendly_name,
        "status": status(m.status),
        "creation_time": time(m.creation_time.as_ref()),
        "start_time": time(m.start_time.as_ref()),
        "end_time": time(m.end_time.as_ref()),
        "termination_cause": m.termination_cause,
        "termination_cause_code": m.termination_cause_code,
        "recording": m.recording,
        "participant_count": m.participant_count,
    })
}

/// A member as JSON.
pub fn participant_json(p: &pb::Participant) -> Value {
    json!({
        "member_id": p.member_id,
        "call_uuid": p.call_uuid,
        "from": p.from,
        "member_address": p.member_address,
        "direction": p.direction,
        "role": role(p.role),
        "coach_mode": p.coach_mode,
        "mute": p.mute,
        "hold": p.hold,
        "join_time": time(p.join_time.as_ref()),
        "start_mpc_on_enter": p.start_mpc_on_enter,
        "end_mpc_on_exit": p.end_mpc_on_exit,
        "exit_time": time(p.exit_time.as_ref()),
        "exit_cause": p.exit_cause,
    })
}

/// An event as JSON.
pub fn event_json(e: &pb::Event) -> Value {
    let recording = e.recording.as_ref().map(recording_json);
    json!({
        "name": e.name,
        "timestamp": time(e.timestamp.as_ref()),
        "sequence_number": e.sequence_number,
        "mpc_uuid": e.mpc_uuid,
        "friendly_name": e.friendly_name,
        "mpc": e.mpc.as_ref().map(mpc_json),
        "participant": e.participant.as_ref().map(participant_json),
        "digits": e.digits,
        "recording": recording,
        "call": e.call.as_ref().map(call_json),
    })
}

/// A call event's call as JSON.
fn call_json(c: &pb::Call) -> Value {
    json!({
        "call_uuid": c.call_uuid,
        "from": c.from,
        "to": c.to,
        "direction": c.direction,
        "hangup_cause": c.hangup_cause,
        "hangup_cause_code": c.hangup_cause_code,
        "hangup_source": c.hangup_source,
    })
}

/// A recording as JSON.
pub fn recording_json(r: &pb::Recording) -> Value {
    json!({
        "recording_uuid": r.recording_uuid,
        "format": r.format,
        "url": r.url,
        "resource_url": r.resource_url,
        "start_time": time(r.start_time.as_ref()),
        "end_time": time(r.end_time.as_ref()),
        "duration_seconds": r.duration_seconds,
    })
}

/// Rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn yes(flag: Option<bool>) -> String {
    match flag {
        Some(true) => "yes".to_owned(),
        Some(false) => "no".to_owned(),
        None => String::new(),
    }
}

/// MPCs as a table.
pub fn mpc_table(mpcs: &[pb::MultiPartyCall]) -> String {
    let rows: Vec<Vec<String>> = mpcs
        .iter()
        .map(|m| {
            vec![
                m.friendly_name.clone(),
                status(m.status).to_owned(),
                m.participant_count
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                time(m.creation_time.as_ref()).unwrap_or_default(),
                time(m.end_time.as_ref()).unwrap_or_default(),
                m.mpc_uuid.clone(),
            ]
        })
        .collect();
    table(
        &["NAME", "STATUS", "MEMBERS", "CREATED", "ENDED", "MPC UUID"],
        &rows,
    )
}

/// One MPC, a field a line.
pub fn mpc_details(m: &pb::MultiPartyCall) -> String {
    let fields = [
        ("friendly_name", m.friendly_name.clone()),
        ("mpc_uuid", m.mpc_uuid.clone()),
        ("status", status(m.status).to_owned()),
        (
            "participants",
            m.participant_count
                .map(|n| n.to_string())
                .unwrap_or_default(),
        ),
        ("recording", yes(m.recording)),
        (
            "creation_time",
            time(m.creation_time.as_ref()).unwrap_or_default(),
        ),
        (
            "start_time",
            time(m.start_time.as_ref()).unwrap_or_default(),
        ),
        ("end_time", time(m.end_time.as_ref()).unwrap_or_default()),
        (
            "termination_cause",
            m.termination_cause.clone().unwrap_or_default(),
        ),
    ];
    let rows: Vec<Vec<String>> = fields
        .into_iter()
        .map(|(k, v)| vec![format!("{k}:"), v])
        .collect();
    let text = table(&["", ""], &rows);
    text.lines().skip(1).collect::<Vec<_>>().join("\n")
}

/// Members as a table.
pub fn participant_table(members: &[pb::Participant]) -> String {
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|p| {
            vec![
                p.member_id.to_string(),
                role(p.role).to_owned(),
                yes(p.mute),
                yes(p.hold),
                if p.coach_mode { "yes" } else { "no" }.to_owned(),
                p.from.clone(),
                time(p.join_time.as_ref()).unwrap_or_default(),
                p.call_uuid.clone(),
            ]
        })
        .collect();
    table(
        &[
            "MEMBER",
            "ROLE",
            "MUTE",
            "HOLD",
            "COACH",
            "FROM",
            "JOINED",
            "CALL UUID",
        ],
        &rows,
    )
}

/// One event on one line.
pub fn event_line(e: &pb::Event) -> String {
    let mut line = format!(
        "{}  {:<26} mpc={}",
        time(e.timestamp.as_ref()).unwrap_or_default(),
        e.name,
        e.friendly_name
    );
    if let Some(p) = &e.participant {
        line.push_str(&format!(" member={}", p.member_id));
        if let Some(cause) = &p.exit_cause {
            line.push_str(&format!(" exit_cause={cause:?}"));
        }
    }
    if let Some(m) = &e.mpc
        && let Some(cause) = &m.termination_cause
    {
        line.push_str(&format!(" termination_cause={cause:?}"));
    }
    if let Some(digits) = &e.digits {
        line.push_str(&format!(" digits={digits}"));
    }
    if let Some(r) = &e.recording {
        line.push_str(&format!(" recording={} url={}", r.recording_uuid, r.url));
    }
    if let Some(c) = &e.call {
        line.push_str(&format!(
            " call={} from={:?} to={:?}",
            c.call_uuid, c.from, c.to
        ));
        if !c.hangup_cause.is_empty() {
            line.push_str(&format!(
                " cause={:?} source={:?}",
                c.hangup_cause, c.hangup_source
            ));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_their_columns() {
        let text = table(
            &["A", "LONGER"],
            &[
                vec!["wide-cell".into(), "x".into()],
                vec!["y".into(), "z".into()],
            ],
        );
        assert_eq!(text, "A          LONGER\nwide-cell  x\ny          z");
    }
}
