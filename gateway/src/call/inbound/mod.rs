//! One inbound call, from INVITE to the end of its XML call flow.
//!
//! Order of events: SDP negotiation and an RTP port first (488 or 503 if that
//! fails, before anything else happens), then 180 Ringing, then the flow
//! ([`chorus_flow::Flow`]) from the answer URL (or the built-in app's
//! document): this driver performs each action the flow asks for, one at a
//! time, and tells it what came of it. The flow decides when to answer,
//! what comes next, and how the call ends (its crate doc has the rules);
//! the driver owns the IO — the dialog, the leg, fetches, the MPC — and
//! serves the caller's in-dialog requests while any action runs.

mod membership;
mod play;
mod session;
mod silence;

use std::sync::Arc;

use chorus_config::HttpMethod;
use chorus_flow::{Action, Flow, Input, Start};
use chorus_media::sdp::{self, LocalMedia, SessionDescription};
use chorus_xml::{Document, Method, MultiPartyCall, Role, Step, Verb};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use silence::SilenceWatch;

use super::params::answer_params;
use super::report::{CallReport, Hangup};
use super::services::CallServices;
use crate::fetch::{fetch_document, http_method};
use crate::media::leg::LegMode;
use crate::media::{Leg, LegActivity, LegId};
use crate::metrics::{Metrics, Rtp};
use crate::mpc::Membership;
use crate::sip::{IncomingCall, Invite, ServerCall};

/// Why the driver stopped waiting for an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The caller sent BYE or CANCEL, the transaction timed out, or the call
    /// already got its final response.
    Remote,
    /// chorusd is stopping.
    Shutdown,
}

impl End {
    /// What the flow is told.
    fn input(self) -> Input {
        match self {
            Self::Remote => Input::HungUp,
            Self::Shutdown => Input::Shutdown,
        }
    }
}

/// Where the call's media is right now.
enum Media {
    /// Not in a room: the leg is ours.
    Idle(Box<Leg>),
    /// In an MPC: the media worker has the leg.
    InMpc(Membership),
    /// Handed over and not returned (only while tearing down).
    Gone,
}

/// An inbound call's state while its flow runs.
pub struct InboundCall {
    services: Arc<CallServices>,
    call: ServerCall,
    call_uuid: String,
    invite: Invite,
    hang_up: CancellationToken,
    media: Media,
    leg_id: LegId,
    local: LocalMedia,
    answer_sdp: String,
    /// What the leg took from the peer, for the RTP timeout.
    activity: LegActivity,
    /// The session is on hold or inactive (the longer RTP timeout).
    on_hold: bool,
    /// Watches for silence once the call is answered.
    silence: Option<SilenceWatch>,
    /// When the leg is drained and the silence checked next.
    next_media_check: Instant,
    /// What the event stream hears of the call, and why it ended.
    report: CallReport,
}

impl InboundCall {
    /// Negotiates media for the incoming call and returns it ready to run,
    /// or rejects the INVITE (488/503) and returns None.
    pub fn prepare(
        services: Arc<CallServices>,
        incoming: IncomingCall,
        hang_up: CancellationToken,
    ) -> Option<Self> {
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
        Some(Self {
            report,
            activity: leg.activity(),
            on_hold: LegMode::from_local(negotiated.local_direction).on_hold(),
            silence: None,
            next_media_check: Instant::now(),
            leg_id: services.media.next_leg_id(),
            services,
            call,
            call_uuid,
            invite,
            hang_up,
            media: Media::Idle(Box::new(leg)),
            local,
            answer_sdp,
        })
    }

    /// Runs the call flow to its end and releases everything.
    pub async fn run(mut self) {
        self.call.ringing();
        self.report.ringing();
        let start = match &self.services.settings.inbound.answer_url {
            None => Start::Document(builtin_document(&self.invite.to)),
            Some(url) => Start::Fetch {
                url: url.clone(),
                method: match self.services.settings.inbound.answer_method {
                    HttpMethod::Get => Method::Get,
                    HttpMethod::Post => Method::Post,
                },
            },
        };
        let mut flow = Flow::new(Instant::now().into_std(), start);
        loop {
            let input = match flow.poll_action() {
                Some(action) => self.perform(action).await,
                None if flow.is_over() => break,
                None => match flow.poll_timeout() {
                    // Nothing to do but wait for the flow's timer (a
                    // <Wait>), serving the dialog meanwhile.
                    Some(at) => {
                        let wait = tokio::time::sleep_until(Instant::from_std(at));
                        Some(match self.serve_until(wait).await {
                            Ok(()) => Input::Tick,
                            Err(end) => end.input(),
                        })
                    }
                    // Every action the flow waits on is answered before
                    // the next poll, so this is a flow bug: end the call
                    // cleanly rather than leave the caller hanging.
                    None => {
                        tracing::error!("the call flow waits for nothing; ending the call");
                        Some(Input::Shutdown)
                    }
                },
            };
            if let Some(input) = input {
                if input == Input::HungUp {
                    tracing::info!("call over");
                    self.report.ending(Hangup::ByCaller);
                }
                flow.handle(Instant::now().into_std(), input);
            }
        }
        self.leave_mpc().await;
        if let Media::Idle(leg) = &self.media {
            count_rtp(&self.services.metrics, leg);
        }
        self.report.hung_up();
    }

    /// Carries out one action of the flow; what came of it, if the flow
    /// waits for something.
    async fn perform(&mut self, action: Action) -> Option<Input> {
        let outcome = match action {
            Action::Fetch {
                url,
                method,
                status,
                params,
            } => self.fetch(url, method, status.as_str(), params).await,
            Action::Answer => Ok(self.answer().err().map(End::input)),
            Action::Play(item) => self.say(item).await.map(|()| Some(Input::Played)),
            Action::Join(spec) => self
                .multi_party_call(&spec)
                .await
                .map(|then| Some(Input::Left(then))),
            Action::Warn(warning) => {
                tracing::warn!(%warning, "answer document");
                Ok(None)
            }
            Action::Skip(error) => {
                tracing::warn!(%error, "skipping invalid element");
                Ok(None)
            }
            Action::Reject { status } => {
                tracing::info!(
                    status = status.code(),
                    reason = status.reason(),
                    "ending the call before answer"
                );
                self.call.reject(status.code(), status.reason());
                self.report.ending(Hangup::Refused(status));
                Ok(None)
            }
            Action::Hangup { reason } => {
                tracing::info!(why = reason.as_str(), "hanging up");
                self.report.ending(Hangup::Flow(reason));
                self.call.bye().await;
                Ok(None)
            }
        };
        outcome.unwrap_or_else(|end| Some(end.input()))
    }

    /// Fetches and parses a document while serving the dialog; `more` goes
    /// with the call's parameters (the MPC's, for an `onExitActionUrl`).
    async fn fetch(
        &mut self,
        url: String,
        method: Method,
        status: &str,
        more: Vec<(String, String)>,
    ) -> Result<Option<Input>, End> {
        let mut params = answer_params(&self.invite, &self.call_uuid, status);
        params.extend(more);
        let http = self.services.http.clone();
        let timeout = self.services.settings.inbound.answer_timeout;
        let method = http_method(method);
        let fetch = async move { fetch_document(&http, &url, method, &params, timeout).await };
        let text = match self.serve_until(fetch).await? {
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(%error, "answer URL failed; ending the call");
                return Ok(Some(Input::Unusable));
            }
        };
        Ok(Some(match chorus_xml::parse_response(&text) {
            Ok(document) => Input::Fetched(document),
            Err(error) => {
                tracing::warn!(%error, "answer document is not a valid <Response>; ending the call");
                Input::Unusable
            }
        }))
    }
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

/// Adds a released leg's counters to the RTP metrics.
fn count_rtp(metrics: &Metrics, leg: &Leg) {
    let c = leg.counters();
    for (kind, n) in [
        (Rtp::Received, c.received),
        (Rtp::Malformed, c.malformed),
        (Rtp::Rtcp, c.rtcp),
        (Rtp::UnknownPayload, c.unknown_payload),
        (Rtp::Foreign, c.foreign),
        (Rtp::Sent, c.sent),
    ] {
        metrics.rtp(kind, n);
    }
}
