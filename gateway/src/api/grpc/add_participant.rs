//! `AddParticipant` over gRPC: the parameter map read by the same rules as
//! REST's body (`ops::add_participant`), the calls placed in the answer.

use chorus_proto::v1 as pb;
use tonic::Response;

use super::Answer;
use super::requests::{address, refused};
use crate::api::ops::Operations;
use crate::api::params::Params;

pub(super) async fn add(
    ops: &Operations,
    r: pb::AddParticipantRequest,
) -> Answer<pb::AddParticipantResponse> {
    let mpc = address(r.mpc)?;
    let params = Params::from_pairs(r.params);
    let added = ops
        .add_participant(&mpc, &params)
        .await
        .map_err(|e| refused(e, &mpc))?;
    Ok(Response::new(pb::AddParticipantResponse {
        message: added.message().to_owned(),
        calls: added
            .calls
            .into_iter()
            .map(|c| pb::AddedCall {
                to: c.to,
                from: c.from,
                call_uuid: c.call_uuid,
            })
            .collect(),
    }))
}
