//! The gRPC facade: `chorus.v1.MultiPartyCalls` (`proto/chorus/v1/mpc.proto`)
//! over the same [`Operations`] as REST, plus the live event stream
//! (`WatchEvents`), standard health (`grpc.health.v1.Health`) and server
//! reflection (so `grpcurl` works without the `.proto`).
//!
//! Every `MultiPartyCalls` RPC needs the metadata `authorization: Bearer
//! <api.auth_token>`; with no token configured every one is refused
//! (`UNAUTHENTICATED`: never an open API). Health and reflection answer
//! without a token: they tell only whether chorusd serves and the public
//! schema, and load balancers probe health without secrets. HTTP/2 over
//! TLS when `api.tls_cert` is set ([`super::tls`]), else plain: keep
//! `api.grpc_listen` on loopback or a private network then.
//!
//! Errors: an unknown MPC or member is `NOT_FOUND`, changing an ended MPC
//! `FAILED_PRECONDITION`, a missing or out-of-range value
//! `INVALID_ARGUMENT`; each message says which.

// audio to one member
mod add_participant;
mod member_audio;
mod requests;
mod shapes;
mod tracks;
mod watch;

use requests::{address, filter, members, refused};
use tracks::{recording_change, recording_settings};
use watch::{STREAM_BUFFER, forward};

use std::sync::Arc;

use chorus_config::ApiConfig;
use chorus_proto::v1 as pb;
use pb::multi_party_calls_server::{MultiPartyCalls, MultiPartyCallsServer};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use super::ops::{MemberChange, OpError, Operations, Page};
use super::secret::same_secret;
use super::tls::ApiTls;

/// The service's full name, as health reports it.
const SERVICE: &str = "chorus.v1.MultiPartyCalls";

/// Serves the gRPC API on `listener` until `stop`: over TLS only with
/// `tls`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ops: Operations,
    api: &ApiConfig,
    tls: Option<Arc<ApiTls>>,
    stop: CancellationToken,
) {
    let mut server = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        server = match server.tls_config(tls.grpc()) {
            Ok(server) => server,
            Err(error) => {
                tracing::error!(%error, "gRPC API cannot serve TLS; not serving gRPC");
                return;
            }
        };
    }
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(SERVICE, tonic_health::ServingStatus::Serving)
        .await;
    // v1 and the older v1alpha, which some grpcurl releases still ask for.
    let describe = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = match (describe().build_v1(), describe().build_v1alpha()) {
        (Ok(v1), Ok(v1alpha)) => (v1, v1alpha),
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "gRPC reflection cannot describe the API; not serving gRPC");
            return;
        }
    };
    let token = BearerToken(api.auth_token.as_deref().map(Arc::from));
    let mpcs = MultiPartyCallsServer::with_interceptor(
        MpcService {
            ops,
            stop: stop.clone(),
        },
        move |request| token.check(request),
    );
    let served = server
        .add_service(health_service)
        .add_service(reflection.0)
        .add_service(reflection.1)
        .add_service(mpcs)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop.cancelled_owned())
        .await;
    if let Err(error) = served {
        tracing::error!(%error, "gRPC API server failed");
    }
}

/// `authorization: Bearer <token>` on every request.
#[derive(Clone)]
struct BearerToken(Option<Arc<str>>);

impl BearerToken {
    fn check(&self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(token) = &self.0 else {
            return Err(Status::unauthenticated(
                "the API is closed until api.auth_token is set (CHORUS_API__AUTH_TOKEN)",
            ));
        };
        let Some(given) = request.metadata().get("authorization") else {
            return Err(Status::unauthenticated(
                "missing metadata authorization: Bearer <api.auth_token>",
            ));
        };
        let given = given
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if same_secret(given.trim().as_bytes(), token.as_bytes()) {
            Ok(request)
        } else {
            Err(Status::unauthenticated("authentication failed"))
        }
    }
}

struct MpcService {
    ops: Operations,
    stop: CancellationToken,
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl MultiPartyCalls for MpcService {
    async fn list_multi_party_calls(
        &self,
        request: Request<pb::ListMultiPartyCallsRequest>,
    ) -> Answer<pb::ListMultiPartyCallsResponse> {
        let r = request.into_inner();
        let filter = filter(&r)?;
        let page = Page {
            limit: match r.limit {
                0 => Page::default().limit,
                n => usize::try_from(n).unwrap_or(usize::MAX),
            },
            offset: usize::try_from(r.offset).unwrap_or(usize::MAX),
        };
        let listed = self.ops.list(&filter, page).await.map_err(|e| match e {
            OpError::Invalid(why) => Status::invalid_argument(why),
            other => Status::internal(other.to_string()),
        })?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Response::new(pb::ListMultiPartyCallsResponse {
            multi_party_calls: listed.mpcs.iter().map(shapes::mpc).collect(),
            total_count: count(listed.total),
            limit: count(page.limit),
            offset: count(page.offset),
        }))
    }

    async fn get_multi_party_call(
        &self,
        request: Request<pb::GetMultiPartyCallRequest>,
    ) -> Answer<pb::MultiPartyCall> {
        let mpc = address(request.into_inner().mpc)?;
        let state = self.ops.get(&mpc).await.map_err(|e| refused(e, &mpc))?;
        Ok(Response::new(shapes::mpc(&state)))
    }

    async fn start_multi_party_call(
        &self,
        request: Request<pb::StartMultiPartyCallRequest>,
    ) -> Answer<pb::MultiPartyCall> {
        let mpc = address(request.into_inner().mpc)?;
        let state = self.ops.start(&mpc).await.map_err(|e| refused(e, &mpc))?;
        Ok(Response::new(shapes::mpc(&state)))
    }

    async fn end_multi_party_call(
        &self,
        request: Request<pb::EndMultiPartyCallRequest>,
    ) -> Answer<pb::MultiPartyCall> {
        let mpc = address(request.into_inner().mpc)?;
        let state = self.ops.end(&mpc).await.map_err(|e| refused(e, &mpc))?;
        Ok(Response::new(shapes::mpc(&state)))
    }

    async fn list_participants(
        &self,
        request: Request<pb::ListParticipantsRequest>,
    ) -> Answer<pb::ListParticipantsResponse> {
        let r = request.into_inner();
        let mpc = address(r.mpc)?;
        let state = self.ops.get(&mpc).await.map_err(|e| refused(e, &mpc))?;
        let participants = state
            .members
            .iter()
            .filter(|m| {
                r.call_uuid
                    .as_ref()
                    .is_none_or(|c| c == &m.fields.call_uuid)
            })
            .map(shapes::participant)
            .collect();
        Ok(Response::new(pb::ListParticipantsResponse { participants }))
    }

    async fn get_participant(
        &self,
        request: Request<pb::GetParticipantRequest>,
    ) -> Answer<pb::Participant> {
        let r = request.into_inner();
        let mpc = address(r.mpc)?;
        let member = self
            .ops
            .member(&mpc, r.member_id)
            .await
            .map_err(|e| refused(e, &mpc))?;
        Ok(Response::new(shapes::participant(&member)))
    }

    async fn update_participants(
        &self,
        request: Request<pb::UpdateParticipantsRequest>,
    ) -> Answer<pb::UpdateParticipantsResponse> {
        let r = request.into_inner();
        let mpc = address(r.mpc)?;
        let change = MemberChange {
            mute: r.mute,
            hold: r.hold,
            coach_mode: r.coach_mode,
        };
        let state = self
            .ops
            .update(&mpc, members(r.members)?, change)
            .await
            .map_err(|e| refused(e, &mpc))?;
        Ok(Response::new(pb::UpdateParticipantsResponse {
            participants: shapes::participants(&state),
        }))
    }

    async fn kick_participants(
        &self,
        request: Request<pb::KickParticipantsRequest>,
    ) -> Answer<pb::KickParticipantsResponse> {
        let r = request.into_inner();
        let mpc = address(r.mpc)?;
        let state = self
            .ops
            .kick(&mpc, members(r.members)?)
            .await
            .map_err(|e| refused(e, &mpc))?;
        Ok(Response::new(pb::KickParticipantsResponse {
            participants: shapes::participants(&state),
        }))
    }

    async fn start_recording(
        &self,
        request: Request<pb::StartRecordingRequest>,
    ) -> Answer<pb::Recording> {
        let r = request.into_inner();
        let mpc = address(r.mpc)?;
        let (format, callback) = recording_settings(
            &r.file_format,
            r.recording_callback_url,
            &r.recording_callback_method,
        )?;
        let fields = self
            .ops
            .record_start(&mpc, format, callback)
            .await
            .map_err(|e| refused(e, &mpc))?;
        Ok(Response::new(shapes::recording(&fields, None)))
    }

    async fn change_recording(
        &self,
        request: Request<pb::ChangeRecordingRequest>,
    ) -> Answer<pb::MultiPartyCall> {
        let r = request.into_inner();
        let mpc = address(r.mpc)?;
        let command = recording_change(r.change)?;
        let state = self
            .ops
            .record(&mpc, command)
            .await
            .map_err(|e| refused(e, &mpc))?;
        Ok(Response::new(shapes::mpc(&state)))
    }

    // participant track recordings
    async fn start_participant_recording(
        &self,
        request: Request<pb::StartParticipantRecordingRequest>,
    ) -> Answer<pb::StartParticipantRecordingResponse> {
        tracks::start(&self.ops, request.into_inner()).await
    }

    async fn change_participant_recording(
        &self,
        request: Request<pb::ChangeParticipantRecordingRequest>,
    ) -> Answer<pb::MultiPartyCall> {
        tracks::change(&self.ops, request.into_inner()).await
    }

    async fn add_participant(
        &self,
        request: Request<pb::AddParticipantRequest>,
    ) -> Answer<pb::AddParticipantResponse> {
        add_participant::add(&self.ops, request.into_inner()).await
    }

    type WatchEventsStream = ReceiverStream<Result<pb::WatchEventsResponse, Status>>;

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Answer<Self::WatchEventsStream> {
        let only = match request.into_inner().mpc {
            None => None,
            Some(id) => Some(address(Some(id))?),
        };
        let events = self.ops.watch();
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        tokio::spawn(forward(events, only, tx, self.stop.clone()));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    // audio to one member
    async fn play_audio_to_participant(
        &self,
        request: Request<pb::PlayAudioToParticipantRequest>,
    ) -> Answer<pb::Participant> {
        member_audio::play(&self.ops, request.into_inner()).await
    }

    async fn speak_to_participant(
        &self,
        request: Request<pb::SpeakToParticipantRequest>,
    ) -> Answer<pb::Participant> {
        member_audio::speak(&self.ops, request.into_inner()).await
    }

    async fn stop_participant_audio(
        &self,
        request: Request<pb::StopParticipantAudioRequest>,
    ) -> Answer<pb::Participant> {
        member_audio::stop(&self.ops, request.into_inner()).await
    }
}

#[cfg(test)]
mod tests;
