//! One inbound call, from INVITE to the end of its XML call flow.
//!
//! Order of events: SDP negotiation and an RTP port first (488 or 503 if that
//! fails, before anything else happens), then 180 Ringing while the answer
//! URL is fetched, then the document's elements in order. The call is
//! answered (200 OK) by the first element that needs media; `<Hangup>` before
//! that rejects it instead. When the document runs out, the call hangs up, as
//! Plivo's do.
//!
//! Rule for a document that cannot be used (the answer URL fails, or returns
//! something that is not a `<Response>`): the call is ended cleanly with a
//! logged reason — rejected with 500 before answer (there is nothing to run)
//! or sent a BYE after it. An element with an invalid attribute is skipped
//! with a precise error and the flow goes on with the next element.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chorus_config::HttpMethod;
use chorus_media::sdp::{self, LocalMedia, SessionDescription};
use chorus_xml::{HangupReason, MultiPartyCall, Role, SoundItem, Step, Verb};
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Method as SipMethod, Request, StatusCode};
use tokio_util::sync::CancellationToken;

use super::answer::{fetch_document, http_method};
use super::params::CallParties;
use crate::gateway::Gateway;
use crate::media::{Leg, LegEvent, LegId};
use crate::mpc::{JoinError, Membership};
use chorus_mpc::{CallInfo, ExitCause, Then};

mod play;
use play::leg_back;

/// Why the call flow stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The caller sent BYE or CANCEL, the transaction timed out, or the call
    /// already got its final response.
    Remote,
    /// chorusd is stopping.
    Shutdown,
    /// The application's document could not be fetched or parsed.
    AppFailed,
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
    gw: Arc<Gateway>,
    dialog: InviteDialog,
    states: DialogStateReceiver,
    call_uuid: String,
    parties: CallParties,
    hang_up: CancellationToken,
    media: Media,
    leg_id: LegId,
    local: LocalMedia,
    answer_sdp: String,
    answered: bool,
}

impl InboundCall {
    /// Negotiates media for `invite` and returns the call ready to run, or
    /// rejects the INVITE (488/503) and returns None.
    pub fn prepare(
        gw: Arc<Gateway>,
        dialog: InviteDialog,
        states: DialogStateReceiver,
        invite: &Request,
        call_uuid: String,
        hang_up: CancellationToken,
    ) -> Option<Self> {
        let offer = match std::str::from_utf8(&invite.body).map(SessionDescription::parse) {
            Ok(Ok(offer)) => offer,
            Ok(Err(error)) => {
                tracing::info!(%error, "rejecting INVITE: unusable SDP offer");
                reject(&dialog, StatusCode::NotAcceptableHere, "Unusable SDP offer");
                return None;
            }
            Err(_) => {
                tracing::info!("rejecting INVITE: no SDP offer (delayed offer is not supported)");
                reject(&dialog, StatusCode::NotAcceptableHere, "SDP offer required");
                return None;
            }
        };
        let socket = match gw.media.bind_leg() {
            Ok(s) => s,
            Err(error) => {
                tracing::warn!(%error, "rejecting INVITE");
                reject(
                    &dialog,
                    StatusCode::ServiceUnavailable,
                    "No media port available",
                );
                return None;
            }
        };
        let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
        let seed = uuid::Uuid::new_v4().as_u128();
        let local = LocalMedia {
            address: gw.config.sip.advertised_ip(),
            port,
            session_id: (seed >> 64) as u64 & 0x7fff_ffff_ffff,
            session_version: 1,
        };
        let (negotiated, answer_sdp) = match sdp::answer(&offer, &local) {
            Ok(x) => x,
            Err(error) => {
                tracing::info!(%error, "rejecting INVITE: no common codec");
                reject(&dialog, StatusCode::NotAcceptableHere, "No common codec");
                return None;
            }
        };
        tracing::debug!(codec = ?negotiated.law, pt = negotiated.payload_type, remote = %negotiated.remote_rtp, "media negotiated");
        let leg = Leg::new(socket, &negotiated, seed as u32, (seed >> 32) as u16);
        Some(Self {
            leg_id: gw.media.next_leg_id(),
            gw,
            dialog,
            states,
            call_uuid,
            parties: CallParties::of(invite),
            hang_up,
            media: Media::Idle(Box::new(leg)),
            local,
            answer_sdp,
            answered: false,
        })
    }

    /// Runs the call flow to its end and releases everything.
    pub async fn run(mut self) {
        let _ = self.dialog.ringing(None, None);
        let outcome = self.run_flow().await;
        match outcome {
            Ok(()) => {
                self.end_call("end of the call flow", StatusCode::TemporarilyUnavailable)
                    .await
            }
            Err(End::Shutdown) => {
                self.end_call("chorusd is stopping", StatusCode::ServiceUnavailable)
                    .await
            }
            Err(End::AppFailed) => {
                self.end_call(
                    "the application's document is unusable",
                    StatusCode::ServerInternalError,
                )
                .await
            }
            Err(End::Remote) => tracing::info!("call over"),
        }
        self.leave_mpc().await;
        self.gw.dialogs.remove_dialog(&self.dialog.id());
    }

    async fn run_flow(&mut self) -> Result<(), End> {
        let document = match &self.gw.config.inbound.answer_url {
            None => builtin_document(&self.parties.to),
            Some(url) => {
                let params = self.parties.answer_params(&self.call_uuid, "ringing");
                let method = self.gw.config.inbound.answer_method;
                self.fetch(url.clone(), method, params).await?
            }
        };
        let mut steps: VecDeque<Step> = document.into();
        while let Some(step) = steps.pop_front() {
            let verb = match step {
                Step::Verb(verb) => verb,
                Step::Invalid(error) => {
                    tracing::warn!(%error, "skipping invalid element");
                    continue;
                }
            };
            match verb {
                Verb::MultiPartyCall(mpc) => {
                    // Released by the MPC: go on with the next element, or
                    // with the onExitActionUrl document.
                    if let Some(Then::Fetch { url, method }) = self.multi_party_call(&mpc).await? {
                        let params = self.parties.answer_params(&self.call_uuid, self.status());
                        steps = self.fetch(url, http_method(method), params).await?.into();
                    }
                }
                Verb::Wait(wait) => {
                    self.answer()?;
                    let pause = tokio::time::sleep(Duration::from_secs(u64::from(wait.length)));
                    self.serve_until(pause).await?;
                }
                Verb::Hangup(hangup) => {
                    if !self.answered {
                        let (code, why) = match hangup.reason {
                            Some(HangupReason::Busy) => (StatusCode::BusyHere, "Busy"),
                            _ => (StatusCode::Decline, "Rejected"),
                        };
                        tracing::info!(status = %code, "call rejected by <Hangup>");
                        reject(&self.dialog, code, why);
                        return Err(End::Remote);
                    }
                    return Ok(());
                }
                Verb::Redirect(redirect) => {
                    let params = self.parties.answer_params(&self.call_uuid, self.status());
                    let method = http_method(redirect.method);
                    steps = self
                        .fetch(redirect.url.clone(), method, params)
                        .await?
                        .into();
                }
                Verb::Play(play) => self.say(SoundItem::Play(play)).await?,
                Verb::Speak(speak) => self.say(SoundItem::Speak(speak)).await?,
            }
        }
        Ok(())
    }

    /// Fetches and parses a document; [`End::AppFailed`] (logged) when it is
    /// unusable.
    async fn fetch(
        &mut self,
        url: String,
        method: HttpMethod,
        params: Vec<(String, String)>,
    ) -> Result<Vec<Step>, End> {
        let http = self.gw.http.clone();
        let timeout = self.gw.config.inbound.answer_timeout;
        let fetch = async move { fetch_document(&http, &url, method, &params, timeout).await };
        let text = match self.serve_until(fetch).await? {
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(%error, "answer URL failed; ending the call");
                return Err(End::AppFailed);
            }
        };
        match chorus_xml::parse_response(&text) {
            Ok(doc) => {
                for warning in &doc.warnings {
                    tracing::warn!(%warning, "answer document");
                }
                Ok(doc.steps)
            }
            Err(error) => {
                tracing::warn!(%error, "answer document is not a valid <Response>; ending the call");
                Err(End::AppFailed)
            }
        }
    }

    /// Joins the MPC and stays until the caller hangs up or the MPC
    /// releases the participant; then says what the flow does next (`None`:
    /// the next element).
    async fn multi_party_call(&mut self, mpc: &MultiPartyCall) -> Result<Option<Then>, End> {
        self.answer()?;
        let Media::Idle(leg) = std::mem::replace(&mut self.media, Media::Gone) else {
            return Ok(None);
        };
        let call = CallInfo {
            call_uuid: self.call_uuid.clone(),
            from: self.parties.from.clone(),
            to: self.parties.to.clone(),
            inbound: true,
        };
        let membership = match self.gw.mpcs.join(mpc, call, self.leg_id, leg) {
            Ok(m) => m,
            Err(JoinError::Rejected { name, reason, leg }) => {
                // The call goes on with the next element, as after leaving.
                tracing::warn!(mpc = %name, %reason, "not let into the MPC; continuing with the next element");
                self.media = Media::Idle(leg);
                return Ok(None);
            }
            Err(error) => {
                tracing::error!(%error, mpc = %mpc.name, "could not join the MPC");
                return Ok(None);
            }
        };
        tracing::info!(mpc = %mpc.name, mpc_uuid = %membership.mpc_uuid, role = ?mpc.role, "joined MPC");
        self.media = Media::InMpc(membership);
        loop {
            let Media::InMpc(membership) = &mut self.media else {
                return Ok(None);
            };
            tokio::select! {
                event = membership.events.recv() => match event {
                    Some(LegEvent::Digit(digit)) => {
                        tracing::info!(%digit, "DTMF digit");
                        self.gw.mpcs.digits(membership, digit);
                    }
                    Some(LegEvent::Speaking(speaking)) => {
                        if speaking {
                            tracing::debug!("participant speaking");
                        } else {
                            tracing::debug!("participant stopped speaking");
                        }
                        self.gw.mpcs.speaking(membership, speaking);
                    }
                    Some(LegEvent::Left(leg)) => {
                        tracing::debug!(counters = ?leg.counters(), "leg taken out of the MPC");
                        self.media = Media::Idle(leg);
                        let then = self.gw.mpcs.take_release(self.leg_id);
                        tracing::info!(?then, "left the MPC");
                        return Ok(then);
                    }
                    None => return Ok(None),
                },
                state = self.states.recv() => self.on_dialog_state(state).await?,
                () = self.hang_up.cancelled() => return Err(End::Shutdown),
            }
        }
    }

    /// Waits for `work` while answering in-dialog requests; stops early if
    /// the call ends.
    async fn serve_until<F: Future>(&mut self, work: F) -> Result<F::Output, End> {
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return Ok(out),
                state = self.states.recv() => self.on_dialog_state(state).await?,
                () = self.hang_up.cancelled() => return Err(End::Shutdown),
            }
        }
    }

    /// Handles one dialog event; Err when the call is over.
    async fn on_dialog_state(&mut self, state: Option<DialogState>) -> Result<(), End> {
        match state {
            None | Some(DialogState::Terminated(..)) => {
                if let Some(DialogState::Terminated(_, reason)) = &state {
                    tracing::debug!(?reason, "dialog terminated");
                }
                Err(End::Remote)
            }
            Some(DialogState::Updated(_, request, handle)) => {
                let (status, body) = self.renegotiate(&request);
                let headers = body.as_ref().map(|_| vec![sdp_content_type()]);
                let _ = handle.respond(status, headers, body).await;
                Ok(())
            }
            Some(DialogState::Options(_, _, handle) | DialogState::Info(_, _, handle)) => {
                let _ = handle.reply(StatusCode::OK).await;
                Ok(())
            }
            Some(
                DialogState::Refer(_, _, handle)
                | DialogState::Message(_, _, handle)
                | DialogState::Notify(_, _, handle)
                | DialogState::Publish(_, _, handle),
            ) => {
                let _ = handle.reply(StatusCode::MethodNotAllowed).await;
                Ok(())
            }
            Some(_) => Ok(()),
        }
    }

    /// Answers a re-INVITE or UPDATE: a new offer renegotiates media (hold,
    /// resume, new address); none gets our current session back.
    fn renegotiate(&mut self, request: &Request) -> (StatusCode, Option<Vec<u8>>) {
        if request.body.is_empty() {
            return (StatusCode::OK, Some(self.answer_sdp.clone().into_bytes()));
        }
        let offer = std::str::from_utf8(&request.body)
            .ok()
            .and_then(|text| SessionDescription::parse(text).ok());
        let Some(offer) = offer else {
            return (StatusCode::BadRequest, None);
        };
        self.local.session_version += 1;
        let Ok((negotiated, answer_sdp)) = sdp::answer(&offer, &self.local) else {
            self.local.session_version -= 1;
            return (StatusCode::NotAcceptableHere, None);
        };
        let method = if request.method == SipMethod::Update {
            "UPDATE"
        } else {
            "re-INVITE"
        };
        tracing::info!(method, direction = ?negotiated.remote_direction, "session renegotiated");
        match &mut self.media {
            Media::Idle(leg) => leg.renegotiate(&negotiated),
            Media::InMpc(m) => {
                let _ = self.gw.media.renegotiate(m.leg_id, negotiated);
            }
            Media::Gone => {}
        }
        self.answer_sdp = answer_sdp;
        (StatusCode::OK, Some(self.answer_sdp.clone().into_bytes()))
    }

    /// Sends 200 OK with our SDP answer, once.
    fn answer(&mut self) -> Result<(), End> {
        if self.answered {
            return Ok(());
        }
        let body = self.answer_sdp.clone().into_bytes();
        if let Err(error) = self
            .dialog
            .accept(Some(vec![sdp_content_type()]), Some(body))
        {
            tracing::warn!(%error, "could not answer; the caller has gone");
            return Err(End::Remote);
        }
        self.answered = true;
        tracing::info!("call answered");
        Ok(())
    }

    fn status(&self) -> &'static str {
        if self.answered {
            "in-progress"
        } else {
            "ringing"
        }
    }

    /// Ends the call from our side: BYE once answered, `unanswered` before.
    async fn end_call(&mut self, why: &str, unanswered: StatusCode) {
        if self.answered {
            tracing::info!(why, "hanging up");
            if let Err(error) = self.dialog.bye().await {
                tracing::debug!(%error, "BYE failed");
            }
        } else {
            tracing::info!(why, status = %unanswered, "ending the call before answer");
            reject(&self.dialog, unanswered, why);
        }
    }

    /// Takes the leg out of its MPC and waits (briefly) for it to come back.
    async fn leave_mpc(&mut self) {
        let Media::InMpc(membership) = &mut self.media else {
            return;
        };
        self.gw.mpcs.leave(membership, ExitCause::Hangup);
        if let Some(leg) = leg_back(&mut membership.events).await {
            tracing::debug!(counters = ?leg.counters(), "leg released");
            self.media = Media::Idle(leg);
        }
    }
}

/// The built-in app: `sip:<room>@host` joins MPC `<room>` as a customer
/// who stays when left alone (a dial-in room; Plivo's default `stayAlone`
/// would release the last phone).
fn builtin_document(room: &str) -> Vec<Step> {
    vec![Step::Verb(Verb::MultiPartyCall(MultiPartyCall {
        stay_alone: true,
        ..MultiPartyCall::for_room(room, Role::Customer)
    }))]
}

fn sdp_content_type() -> Header {
    Header::ContentType("application/sdp".into())
}

fn reject(dialog: &InviteDialog, code: StatusCode, reason: &str) {
    if let Err(error) = dialog.reject(Some(code), Some(reason.to_owned())) {
        tracing::debug!(%error, "reject failed");
    }
}
