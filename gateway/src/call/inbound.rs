//! A call that arrives: its SDP offer negotiated and an RTP port bound
//! first (488 or 503 if that fails, before anything else happens), then
//! 180 Ringing, then its flow from the answer URL (or the built-in app's
//! document), driven by [`CallDriver`].

use std::sync::Arc;

use chorus_config::HttpMethod;
use chorus_flow::{Flow, Start};
use chorus_media::sdp::{self, LocalMedia, SessionDescription};
use chorus_xml::{Document, Method, MultiPartyCall, Role, Step, Verb};
use tokio::time::Instant;

use super::dialog::CallDialog;
use super::driver::{CallDriver, CallParts};
use super::report::CallReport;
use super::services::CallServices;
use super::table::CallControl;
use crate::media::Leg;
use crate::media::leg::LegMode;
use crate::sip::IncomingCall;

/// Answers (or refuses) an incoming call and runs its flow to the end.
pub async fn answer(services: Arc<CallServices>, incoming: IncomingCall, control: CallControl) {
    let start = match &services.settings.inbound.answer_url {
        None => Start::Document(builtin_document(&incoming.invite.to)),
        Some(url) => Start::Fetch {
            url: url.clone(),
            method: match services.settings.inbound.answer_method {
                HttpMethod::Get => Method::Get,
                HttpMethod::Post => Method::Post,
            },
        },
    };
    let Some(mut call) = prepare(services, incoming, control) else {
        return;
    };
    call.ringing();
    call.run(Flow::new(Instant::now().into_std(), start)).await;
}

/// Negotiates media for the incoming call and returns it ready to run,
/// or rejects the INVITE (488/503) and returns None.
fn prepare(
    services: Arc<CallServices>,
    incoming: IncomingCall,
    control: CallControl,
) -> Option<CallDriver> {
    let IncomingCall {
        call_uuid,
        invite,
        call,
        ..
    } = incoming;
    let offer = match std::str::from_utf8(&invite.body).map(SessionDescription::parse) {
        Ok(Ok(offer)) => offer,
        Ok(Err(error)) => {
            tracing::info!(%error, "rejecting INVITE: unusable SDP offer");
            call.reject(488, "Unusable SDP offer");
            return None;
        }
        Err(_) => {
            tracing::info!("rejecting INVITE: no SDP offer (delayed offer is not supported)");
            call.reject(488, "SDP offer required");
            return None;
        }
    };
    let socket = match services.media.bind_leg() {
        Ok(s) => s,
        Err(error) => {
            tracing::warn!(%error, "rejecting INVITE");
            call.reject(503, "No media port available");
            return None;
        }
    };
    let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
    let seed = uuid::Uuid::new_v4().as_u128();
    let local = LocalMedia {
        address: services.settings.advertised_ip,
        port,
        session_id: (seed >> 64) as u64 & 0x7fff_ffff_ffff,
        session_version: 1,
    };
    let (negotiated, answer_sdp) = match sdp::answer(&offer, &local) {
        Ok(x) => x,
        Err(error) => {
            tracing::info!(%error, "rejecting INVITE: unusable SDP offer");
            let reason = match error {
                sdp::NegotiationError::NoCommonCodec => "No common codec",
                _ => "Not Acceptable Here",
            };
            call.reject(488, reason);
            return None;
        }
    };
    tracing::debug!(codec = ?negotiated.law, pt = negotiated.payload_type, remote = %negotiated.remote_rtp, "media negotiated");
    let leg = Leg::new(socket, &negotiated, seed as u32, (seed >> 32) as u16);
    let report = CallReport::inbound(
        services.events.clone(),
        &call_uuid,
        &invite.from,
        &invite.to,
    );
    Some(CallDriver::new(CallParts {
        report,
        on_hold: LegMode::from_local(negotiated.local_direction).on_hold(),
        leg_id: services.media.next_leg_id(),
        leg: Box::new(leg),
        call: CallDialog::Inbound(call),
        services,
        call_uuid,
        party: invite,
        control,
        local,
        answer_sdp,
    }))
}

/// The built-in app: `sip:<room>@host` joins MPC `<room>` as a customer
/// who stays when left alone (a dial-in room; Plivo's default `stayAlone`
/// would release the last phone).
fn builtin_document(room: &str) -> Document {
    let join = MultiPartyCall {
        stay_alone: true,
        ..MultiPartyCall::for_room(room, Role::Customer)
    };
    Document {
        steps: vec![Step::Verb(Verb::MultiPartyCall(join))],
        warnings: Vec::new(),
    }
}
