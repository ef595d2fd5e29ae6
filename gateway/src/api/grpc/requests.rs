//! Reading gRPC requests into the operations' terms, and the operations'
//! refusals back into gRPC statuses: an MPC's address, a members choice,
//! the list filter's time bounds. Every RPC group (the MPC's own, tracks,
//! audio to one member) reads its requests through these, so a missing or
//! bad value is the same `INVALID_ARGUMENT` everywhere.

use chorus_mpc::Timestamp;
use chorus_proto::v1 as pb;
use tonic::Status;

use super::shapes;
use crate::api::ops::{MpcFilter, OpError};
use crate::mpc::{Members, MpcAddress};

/// What the request named, for error messages.
fn describe(mpc: &MpcAddress) -> String {
    match mpc {
        MpcAddress::Name(name) => format!("friendly_name {name:?}"),
        MpcAddress::Uuid(uuid) => format!("mpc_uuid {uuid:?}"),
    }
}

/// An operation's refusal as a gRPC status.
pub(super) fn refused(error: OpError, mpc: &MpcAddress) -> Status {
    match error {
        OpError::NoSuchMpc => Status::not_found(format!("MPC {} not found", describe(mpc))),
        OpError::NoSuchMember(id) => {
            Status::not_found(format!("member {id} not found in MPC {}", describe(mpc)))
        }
        OpError::Ended => Status::failed_precondition(format!(
            "MPC {} has ended: it can only be looked at",
            describe(mpc)
        )),
        OpError::Invalid(why) => Status::invalid_argument(why),
        OpError::Conflict(why) => Status::failed_precondition(why),
        OpError::Unavailable(why) => Status::unavailable(why),
        OpError::Busy(why) => Status::resource_exhausted(why),
        OpError::NoSuchCall(why) => Status::not_found(why),
    }
}

pub(super) fn address(id: Option<pb::MultiPartyCallId>) -> Result<MpcAddress, Status> {
    use pb::multi_party_call_id::Id;
    match id.and_then(|id| id.id) {
        Some(Id::FriendlyName(name)) if !name.is_empty() => Ok(MpcAddress::Name(name)),
        Some(Id::MpcUuid(uuid)) if !uuid.is_empty() => Ok(MpcAddress::Uuid(uuid)),
        _ => Err(Status::invalid_argument(
            "mpc is required: its friendly_name or mpc_uuid",
        )),
    }
}

pub(super) fn members(members: Option<pb::Members>) -> Result<Members, Status> {
    use pb::members::Members as Which;
    match members.and_then(|m| m.members) {
        Some(Which::MemberId(id)) => Ok(Members::One(id)),
        Some(Which::All(true)) => Ok(Members::All),
        _ => Err(Status::invalid_argument(
            "members is required: a member_id, or all = true",
        )),
    }
}

/// A time bound given as `<name>_gt` / `<name>_gte` (or `_lt` / `_lte`).
pub(super) fn bound(
    name: &str,
    strict: Option<prost_types::Timestamp>,
    inclusive: Option<prost_types::Timestamp>,
) -> Result<Option<(Timestamp, bool)>, Status> {
    let (t, incl) = match (strict, inclusive) {
        (None, None) => return Ok(None),
        (Some(t), None) => (t, false),
        (None, Some(t)) => (t, true),
        (Some(_), Some(_)) => {
            return Err(Status::invalid_argument(format!(
                "give {name} or {name}e, not both"
            )));
        }
    };
    let t = shapes::from_time(&t)
        .ok_or_else(|| Status::invalid_argument(format!("{name}: not a valid time after 1970")))?;
    Ok(Some((t, incl)))
}

pub(super) fn filter(r: &pb::ListMultiPartyCallsRequest) -> Result<MpcFilter, Status> {
    use crate::api::ops::Status as MpcStatus;
    let status = match pb::MultiPartyCallStatus::try_from(r.status) {
        Ok(pb::MultiPartyCallStatus::Unspecified) => None,
        Ok(pb::MultiPartyCallStatus::Initialized) => Some(MpcStatus::Initialized),
        Ok(pb::MultiPartyCallStatus::Active) => Some(MpcStatus::Active),
        Ok(pb::MultiPartyCallStatus::Ended) => Some(MpcStatus::Ended),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "status {} is not a MultiPartyCallStatus",
                r.status
            )));
        }
    };
    Ok(MpcFilter {
        name: r.friendly_name.clone(),
        status,
        termination_code: r.termination_cause_code,
        created_after: bound("creation_time_gt", r.creation_time_gt, r.creation_time_gte)?,
        created_before: bound("creation_time_lt", r.creation_time_lt, r.creation_time_lte)?,
        ended_after: bound("end_time_gt", r.end_time_gt, r.end_time_gte)?,
        ended_before: bound("end_time_lt", r.end_time_lt, r.end_time_lte)?,
    })
}
