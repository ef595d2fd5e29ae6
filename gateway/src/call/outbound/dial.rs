//! One outbound call (a UAC leg): [`dial`] binds an RTP port, offers PCMU,
//! PCMA and telephone-event in an INVITE to a `sip:` URI, follows the
//! provisional responses (keeping a 183's SDP as early media), and ends
//! with an answered [`OutboundCall`] or a [`DialFailure`] with Plivo's
//! cause. The ring timeout and a [`DialCanceller`] end an unanswered dial
//! with CANCEL; after the answer the canceller (or
//! [`OutboundCall::hang_up`]) ends it with BYE, and
//! [`OutboundCall::ended`] says how it ended while answering the callee's
//! in-dialog requests.

use std::net::IpAddr;
use std::time::Duration;

use chorus_media::sdp::{self, LocalMedia, Negotiated, SessionDescription};
use tokio_util::sync::CancellationToken;

use super::cause::{DialCause, DialFailure};
use crate::call::dialog::read_offer;
use crate::media::{Leg, LegId, MediaPlane};
use crate::sip::uac::{Dialer, DigestCredentials, Invitation, InviteStep};
use crate::sip::{ClientCall, DialogEvent, SessionOffer};

/// How long a cancelled INVITE may wait for its final response.
const CANCEL_WAIT: Duration = Duration::from_secs(4);

/// The telephone-event payload type we offer.
const OFFERED_EVENT_PT: u8 = 101;

/// What to dial with.
#[derive(Debug, Clone)]
pub struct DialOptions {
    /// The From user.
    pub from: String,
    /// The From display name (`caller_name`, ≤ 50 characters).
    pub caller_name: Option<String>,
    /// Extra headers (`X-PH-…`), name and value.
    pub sip_headers: Vec<(String, String)>,
    /// How long it may ring before we CANCEL.
    pub ring_timeout: Duration,
    /// For a callee that challenges (401/407).
    pub credentials: Option<DigestCredentials>,
    /// The From host (a trunk's `from_domain`); else our address.
    pub from_host: Option<String>,
    /// Where to send the INVITE when not to its Request-URI (a phone
    /// behind NAT: where its REGISTER came from).
    pub destination: Option<std::net::SocketAddr>,
    /// The address put in our SDP (`sip.advertised_address`).
    pub advertised_ip: IpAddr,
    /// Ends the dial (CANCEL) or the call (BYE) from outside.
    pub canceller: DialCanceller,
    /// Told each provisional status as it comes (180, 183, …).
    pub progress: Option<tokio::sync::mpsc::UnboundedSender<u16>>,
}

/// Ends a dial or its call from outside (another destination answered, an
/// API asked); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct DialCanceller {
    token: CancellationToken,
    lost_race: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl DialCanceller {
    /// Cancels: CANCEL before the answer (cause [`DialCause::Canceled`]),
    /// BYE after it.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Cancels because another destination answered first
    /// ([`DialCause::LostRace`]).
    pub fn lost_race(&self) {
        self.lost_race
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.token.cancel();
    }

    /// Whether it was used.
    pub(super) fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Waits until it is used.
    pub(super) async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// Why it was used: lost race, or cancelled.
    pub(super) fn cause(&self) -> DialCause {
        if self.lost_race.load(std::sync::atomic::Ordering::Relaxed) {
            DialCause::LostRace
        } else {
            DialCause::Canceled
        }
    }
}

/// How an answered outbound call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEnd {
    /// The callee hung up (BYE), or the dialog ended under us.
    ByCallee,
    /// We hung up through the [`DialCanceller`].
    Cancelled,
}

/// An answered outbound call.
pub struct OutboundCall {
    call: ClientCall,
    leg: Option<Box<Leg>>,
    leg_id: LegId,
    negotiated: Negotiated,
    local: LocalMedia,
    answer_sdp: String,
    early_media: Option<Negotiated>,
    provisional: Vec<u16>,
    canceller: DialCanceller,
}

/// Places a call to `target` (a `sip:` URI) and waits until it is
/// answered or fails.
pub async fn dial(
    dialer: &Dialer,
    media: &MediaPlane,
    target: &str,
    options: DialOptions,
) -> Result<OutboundCall, DialFailure> {
    let failed = |cause, status, provisional: &[u16]| DialFailure {
        cause,
        status,
        provisional: provisional.to_vec(),
    };
    let Ok(socket) = media.bind_leg() else {
        tracing::warn!("cannot dial: no media port available");
        return Err(failed(DialCause::Failed, None, &[]));
    };
    let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
    let seed = uuid::Uuid::new_v4().as_u128();
    let local = LocalMedia {
        address: options.advertised_ip,
        port,
        session_id: (seed >> 64) as u64 & 0x7fff_ffff_ffff,
        session_version: 1,
    };
    let offer = sdp::offer(&local, OFFERED_EVENT_PT);
    let invitation = Invitation {
        target: target.to_owned(),
        from_user: options.from.clone(),
        caller_name: options.caller_name.clone(),
        headers: options.sip_headers.clone(),
        sdp: offer.clone(),
        credentials: options.credentials.clone(),
        from_host: options.from_host.clone(),
        destination: options.destination,
    };
    let mut pending = match dialer.invite(invitation) {
        Ok(p) => p,
        Err(error) => {
            tracing::info!(%error, "cannot dial");
            return Err(failed(DialCause::Failed, None, &[]));
        }
    };
    let mut provisional = Vec::new();
    let mut early_media = None;
    // What ended the ringing, if we did: the outcome still comes (487).
    let mut cancelled: Option<DialCause> = None;
    let ring_deadline = tokio::time::sleep(options.ring_timeout);
    tokio::pin!(ring_deadline);
    // Once cancelled, how long the callee has to end the INVITE (487):
    // one that never answers is given up on rather than waited for
    // through the transaction's 32 s.
    let gave_up = tokio::time::sleep(Duration::from_secs(365 * 86_400));
    tokio::pin!(gave_up);
    let step = loop {
        let step = tokio::select! {
            step = pending.next() => step,
            () = &mut ring_deadline, if cancelled.is_none() => {
                tracing::info!(after = ?options.ring_timeout, "no answer; cancelling");
                cancelled = Some(DialCause::NoAnswer);
                pending.cancel().await;
                gave_up.as_mut().reset(tokio::time::Instant::now() + CANCEL_WAIT);
                continue;
            }
            () = options.canceller.token.cancelled(), if cancelled.is_none() => {
                cancelled = Some(options.canceller.cause());
                pending.cancel().await;
                gave_up.as_mut().reset(tokio::time::Instant::now() + CANCEL_WAIT);
                continue;
            }
            () = &mut gave_up, if cancelled.is_some() => {
                tracing::info!("no final answer to our CANCEL; giving the dial up");
                InviteStep::Unreachable
            }
        };
        match step {
            InviteStep::Provisional { status, body } => {
                tracing::debug!(status, "provisional response");
                provisional.push(status);
                if let Some(progress) = &options.progress {
                    let _ = progress.send(status);
                }
                if let Some(negotiated) = read_answer(&body) {
                    early_media = Some(negotiated);
                }
            }
            other => break other,
        }
    };
    match step {
        InviteStep::Provisional { .. } => unreachable!("the loop only ends on an outcome"),
        InviteStep::Refused { status } => {
            let cause = cancelled.unwrap_or_else(|| DialCause::of_status(status));
            tracing::info!(status, cause = cause.info().cause, "dial failed");
            Err(failed(cause, Some(status), &provisional))
        }
        InviteStep::Unreachable => Err(failed(
            cancelled.unwrap_or(DialCause::Unreachable),
            None,
            &provisional,
        )),
        InviteStep::Answered { call, body } => {
            let Some(negotiated) = read_answer(&body) else {
                tracing::info!("the callee's SDP answer is unusable; hanging up");
                call.bye().await;
                return Err(failed(DialCause::Failed, Some(200), &provisional));
            };
            if let Some(cause) = cancelled {
                // Answered as our CANCEL went out: the race is lost anyway.
                call.bye().await;
                return Err(failed(cause, Some(200), &provisional));
            }
            tracing::info!(codec = ?negotiated.law, remote = %negotiated.remote_rtp, "outbound call answered");
            let leg = Leg::new(socket, &negotiated, seed as u32, (seed >> 32) as u16);
            Ok(OutboundCall {
                call,
                leg: Some(Box::new(leg)),
                leg_id: media.next_leg_id(),
                negotiated,
                local,
                answer_sdp: offer,
                early_media,
                provisional,
                canceller: options.canceller,
            })
        }
    }
}

/// The negotiated media of an SDP answer to our offer; `None` for an
/// empty or unusable body.
fn read_answer(body: &[u8]) -> Option<Negotiated> {
    let text = std::str::from_utf8(body)
        .ok()
        .filter(|t| !t.trim().is_empty())?;
    let parsed = SessionDescription::parse(text).ok()?;
    sdp::negotiated_from_answer(&parsed).ok()
}

impl OutboundCall {
    /// The leg, for a room to take (see [`MediaPlane::join`]); `None` once
    /// taken.
    pub fn take_leg(&mut self) -> Option<Box<Leg>> {
        self.leg.take()
    }

    /// The id the leg goes into a room with.
    pub fn leg_id(&self) -> LegId {
        self.leg_id
    }

    /// The media both sides agreed on.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// The media of a 183's SDP (early media), if one came.
    pub fn early_media(&self) -> Option<&Negotiated> {
        self.early_media.as_ref()
    }

    /// Every provisional status seen before the answer, in order.
    pub fn provisional(&self) -> &[u16] {
        &self.provisional
    }

    /// What a call driver takes over: the dialog, the leg (if not taken),
    /// its id, our side of the session and the SDP we offered.
    pub(super) fn into_parts(
        self,
    ) -> (
        ClientCall,
        Option<Box<Leg>>,
        LegId,
        LocalMedia,
        String,
        Negotiated,
    ) {
        (
            self.call,
            self.leg,
            self.leg_id,
            self.local,
            self.answer_sdp,
            self.negotiated,
        )
    }

    /// Hangs up with BYE.
    pub async fn hang_up(self) {
        self.call.bye().await;
    }

    /// Waits for the call to end, answering the callee's in-dialog
    /// requests (a re-INVITE or UPDATE renegotiates the leg while this
    /// call holds it) and draining the held leg; a cancel from the
    /// [`DialCanceller`] hangs up with BYE. Cancel-safe.
    pub async fn ended(&mut self) -> CallEnd {
        let mut drain = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                event = self.call.next_event() => match event {
                    DialogEvent::Ended | DialogEvent::SessionExpired => return CallEnd::ByCallee,
                    DialogEvent::Offer(offer) => self.renegotiate(offer).await,
                    DialogEvent::Query(query) => query.answer().await,
                },
                () = self.canceller.token.cancelled() => {
                    self.call.bye().await;
                    return CallEnd::Cancelled;
                }
                _ = drain.tick() => {
                    if let Some(leg) = self.leg.as_mut() {
                        leg.drain();
                    }
                }
            }
        }
    }

    /// Answers a re-INVITE or UPDATE from the callee.
    async fn renegotiate(&mut self, offer: SessionOffer) {
        let Some((offer, parsed)) = read_offer(offer, &self.answer_sdp).await else {
            return;
        };
        let Some(leg) = self.leg.as_mut() else {
            // In a room: renegotiating there is the room's caller's job,
            // which is not wired yet.
            return offer.refuse(488).await;
        };
        let mut local = self.local;
        local.session_version += 1;
        let Ok((negotiated, answer_sdp)) = sdp::answer(&parsed, &local) else {
            return offer.refuse(488).await;
        };
        tracing::info!(method = offer.method, direction = ?negotiated.remote_direction, "session renegotiated");
        leg.renegotiate(&negotiated);
        self.local = local;
        self.negotiated = negotiated;
        self.answer_sdp = answer_sdp.clone();
        offer.answer(answer_sdp).await;
    }
}
