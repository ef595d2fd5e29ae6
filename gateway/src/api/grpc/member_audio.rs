//! Audio to one member over gRPC: `PlayAudioToParticipant`,
//! `SpeakToParticipant` and `StopParticipantAudio`, each answering with
//! the member as it is after, over the same operations as REST.

use chorus_mpc::MpcState;
use chorus_proto::v1 as pb;
use tonic::Response;

use super::requests::{address, refused};
use super::{Answer, shapes};
use crate::api::ops::{OpError, Operations, Speech};
use crate::mpc::MpcAddress;

pub(super) async fn play(
    ops: &Operations,
    r: pb::PlayAudioToParticipantRequest,
) -> Answer<pb::Participant> {
    let mpc = address(r.mpc)?;
    let done = ops.play_to_member(&mpc, r.member_id, &r.url).await;
    answer(done, &mpc, r.member_id)
}

pub(super) async fn speak(
    ops: &Operations,
    r: pb::SpeakToParticipantRequest,
) -> Answer<pb::Participant> {
    let mpc = address(r.mpc)?;
    let given = |v: String| (!v.is_empty()).then_some(v);
    let speech = Speech {
        text: r.text,
        voice: given(r.voice),
        language: given(r.language),
    };
    let done = ops.speak_to_member(&mpc, r.member_id, speech).await;
    answer(done, &mpc, r.member_id)
}

pub(super) async fn stop(
    ops: &Operations,
    r: pb::StopParticipantAudioRequest,
) -> Answer<pb::Participant> {
    let mpc = address(r.mpc)?;
    let done = ops.stop_member_audio(&mpc, r.member_id).await;
    answer(done, &mpc, r.member_id)
}

/// The member after the change, or the refusal.
fn answer(
    done: Result<MpcState, OpError>,
    mpc: &MpcAddress,
    member: u32,
) -> Answer<pb::Participant> {
    let state = done.map_err(|e| refused(e, mpc))?;
    let found = state.members.iter().find(|m| m.fields.member_id == member);
    // It was present a moment ago; it may have just left.
    let found = found.ok_or_else(|| refused(OpError::NoSuchMember(member), mpc))?;
    Ok(Response::new(shapes::participant(found)))
}
