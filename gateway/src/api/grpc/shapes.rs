//! chorus's MPC states and events as `chorus.v1` messages, and the
//! messages' times back as chorus timestamps. Fields an event does not
//! carry (a member's mute and hold, the MPC's recording and member count)
//! stay unset rather than reading as `false` or `0`.

use chorus_mpc::{
    MemberFields, MemberState, MpcFields, MpcState, RecordingEvent, RecordingFields, StatusEvent,
    Timestamp,
};
use chorus_proto::v1 as pb;
use chorus_xml::Role;

use crate::api::ops::Status;
use crate::mpc::CallEvent;

/// A chorus timestamp (ms since the epoch) as a protobuf one.
pub fn time(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: i64::try_from(t.0 / 1000).unwrap_or(i64::MAX),
        nanos: i32::try_from(t.0 % 1000 * 1_000_000).unwrap_or(0),
    }
}

/// A protobuf timestamp as a chorus one; `None` if it is before the epoch
/// or not a valid timestamp.
pub fn from_time(t: &prost_types::Timestamp) -> Option<Timestamp> {
    let secs = u64::try_from(t.seconds).ok()?;
    let nanos = u64::try_from(t.nanos).ok().filter(|n| *n < 1_000_000_000)?;
    Some(Timestamp(secs.checked_mul(1000)? + nanos / 1_000_000))
}

/// The API's status as the proto's enum.
pub fn status(status: Status) -> pb::MultiPartyCallStatus {
    match status {
        Status::Initialized => pb::MultiPartyCallStatus::Initialized,
        Status::Active => pb::MultiPartyCallStatus::Active,
        Status::Ended => pb::MultiPartyCallStatus::Ended,
    }
}

fn role(role: Role) -> pb::Role {
    match role {
        Role::Agent => pb::Role::Agent,
        Role::Supervisor => pb::Role::Supervisor,
        Role::Customer => pb::Role::Customer,
    }
}

/// The MPC as an event reports it.
fn mpc_fields(m: &MpcFields) -> pb::MultiPartyCall {
    let state = match (m.ended, m.started) {
        (Some(_), _) => Status::Ended,
        (None, Some(_)) => Status::Active,
        (None, None) => Status::Initialized,
    };
    pb::MultiPartyCall {
        mpc_uuid: m.uuid.clone(),
        friendly_name: m.name.clone(),
        status: status(state).into(),
        creation_time: Some(time(m.created)),
        start_time: m.started.map(time),
        end_time: m.ended.map(|(t, _)| time(t)),
        termination_cause: m.ended.map(|(_, c)| c.cause().to_owned()),
        termination_cause_code: m.ended.map(|(_, c)| c.code()),
        recording: None,
        participant_count: None,
    }
}

/// One MPC as the API answers with it.
pub fn mpc(state: &MpcState) -> pb::MultiPartyCall {
    pb::MultiPartyCall {
        status: status(Status::of(state)).into(),
        recording: Some(state.recording),
        participant_count: Some(u32::try_from(state.members.len()).unwrap_or(u32::MAX)),
        ..mpc_fields(&state.mpc)
    }
}

/// A member as an event reports it.
fn member_fields(f: &MemberFields) -> pb::Participant {
    pb::Participant {
        member_id: f.member_id,
        call_uuid: f.call_uuid.clone(),
        from: f.from.clone(),
        member_address: f.to.clone(),
        direction: f.direction.to_owned(),
        role: role(f.role).into(),
        coach_mode: f.coach_mode,
        join_time: Some(time(f.joined)),
        mute: None,
        hold: None,
        start_mpc_on_enter: None,
        end_mpc_on_exit: None,
        exit_time: f.exited.map(|(t, _)| time(t)),
        exit_cause: f.exited.map(|(_, c)| c.as_str().to_owned()),
    }
}

/// A present member as the API answers with it.
pub fn participant(m: &MemberState) -> pb::Participant {
    pb::Participant {
        mute: Some(m.muted),
        hold: Some(m.held),
        start_mpc_on_enter: Some(m.start_mpc_on_enter),
        end_mpc_on_exit: Some(m.end_mpc_on_exit),
        ..member_fields(&m.fields)
    }
}

/// Every present member of `state`.
pub fn participants(state: &MpcState) -> Vec<pb::Participant> {
    state.members.iter().map(participant).collect()
}

/// An MPC or participant event.
pub fn status_event(e: &StatusEvent) -> pb::Event {
    pb::Event {
        name: e.name.as_str().to_owned(),
        timestamp: Some(time(e.at)),
        sequence_number: e.sequence,
        mpc_uuid: e.mpc.uuid.clone(),
        friendly_name: e.mpc.name.clone(),
        mpc: Some(mpc_fields(&e.mpc)),
        participant: e.member.as_ref().map(member_fields),
        digits: e.digits.clone(),
        recording: None,
        call: None,
    }
}

/// A recording event.
pub fn recording_event(e: &RecordingEvent) -> pb::Event {
    let r = &e.recording;
    pb::Event {
        name: e.name_str().to_owned(),
        timestamp: Some(time(e.at)),
        sequence_number: e.sequence,
        mpc_uuid: r.mpc_uuid.clone(),
        friendly_name: r.mpc_name.clone(),
        mpc: None,
        participant: None,
        digits: None,
        recording: Some(recording(r, e.ended)),
        call: None,
    }
}

/// A call event.
pub fn call_event(e: &CallEvent) -> pb::Event {
    let (mpc_uuid, friendly_name) = e.mpc.clone().unwrap_or_default();
    let hangup = e.hangup.as_ref();
    pb::Event {
        name: e.name.as_str().to_owned(),
        timestamp: Some(time(e.at)),
        sequence_number: 0,
        mpc_uuid,
        friendly_name,
        mpc: None,
        participant: None,
        digits: None,
        recording: None,
        call: Some(pb::Call {
            call_uuid: e.call_uuid.clone(),
            from: e.from.clone(),
            to: e.to.clone(),
            direction: e.direction.to_owned(),
            hangup_cause: hangup.map_or("", |h| h.cause).to_owned(),
            hangup_cause_code: hangup.and_then(|h| h.code),
            hangup_source: hangup.map_or("", |h| h.source).to_owned(),
        }),
    }
}

/// A recording; `ended` once it did (when, and its whole seconds).
pub fn recording(r: &RecordingFields, ended: Option<(Timestamp, u64)>) -> pb::Recording {
    pb::Recording {
        recording_uuid: r.uuid.clone(),
        format: r.format.as_str().to_owned(),
        url: r.url.clone(),
        resource_url: r.resource_url.clone(),
        start_time: Some(time(r.started)),
        end_time: ended.map(|(t, _)| time(t)),
        duration_seconds: ended.map(|(_, secs)| secs),
        member_id: r.participant.as_ref().map(|p| p.member_id),
        participant_call_uuid: r.participant.as_ref().map(|p| p.call_uuid.clone()),
        record_track_type: match r.participant.as_ref().map(|p| p.track) {
            None => pb::RecordTrackType::Unspecified,
            Some(chorus_mpc::Track::Inbound) => pb::RecordTrackType::Inbound,
            Some(chorus_mpc::Track::Outbound) => pb::RecordTrackType::Outbound,
        }
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_go_there_and_back_to_the_millisecond() {
        let t = Timestamp(1_767_225_600_123);
        let proto = time(t);
        assert_eq!((proto.seconds, proto.nanos), (1_767_225_600, 123_000_000));
        assert_eq!(from_time(&proto), Some(t));
        let before_epoch = prost_types::Timestamp {
            seconds: -1,
            nanos: 0,
        };
        assert_eq!(from_time(&before_epoch), None);
        let bad_nanos = prost_types::Timestamp {
            seconds: 1,
            nanos: 1_000_000_000,
        };
        assert_eq!(from_time(&bad_nanos), None);
    }
}
