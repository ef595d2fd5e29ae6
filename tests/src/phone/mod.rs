//! A hand-written SIP test phone over UDP on 127.0.0.1.
//!
//! Deliberately independent of the daemon's SIP stack: plain SIP text in,
//! plain SIP text out, so a bug shared by both sides cannot hide. A dialled
//! [`Call`] sends a sine (or silence) as G.711, records everything it hears
//! with arrival times, answers the far end's BYE/OPTIONS/INFO, and stops all
//! of its tasks and threads when dropped. A [`Callee`] waits to be called
//! instead, rings, answers (or declines, or stays silent) and, once
//! answered, is a [`Call`] too.

mod answer;
mod call;
#[cfg(test)]
mod callee_tests;
mod endpoint;
mod media;
mod message;
mod probes;
#[cfg(test)]
mod tests;
mod uas;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use chorus_media::sdp::{self, LocalMedia};
use tokio::task::JoinHandle;

pub use answer::{Callee, CalleeOptions, CalleeRecord, Reaction};
pub use call::Call;
use endpoint::{ClientTx, Endpoint, branch, token};
pub use media::ReceivedPacket;
use media::{Media, MediaQuirks, SendParams};
use message::Request;
pub use probes::{TcpReply, invite_then_cancel, options, send_raw, send_raw_tcp};

/// Payload type the phone offers for RFC 4733 telephone-event.
pub const OFFERED_EVENT_PT: u8 = 101;
/// How long in-dialog requests (BYE, re-INVITE, CANCEL) wait for a final answer.
const IN_DIALOG_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a phone operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    /// A local socket or thread could not be set up.
    #[error("phone socket: {0}")]
    Io(#[from] std::io::Error),
    /// No final response arrived in time.
    #[error("no final response to {method} within {waited:?}")]
    Timeout {
        /// The request that went unanswered.
        method: &'static str,
        /// How long the phone waited.
        waited: Duration,
    },
    /// The INVITE got a final response >= 300 (which the phone acknowledged).
    #[error("call rejected: {status} {reason} (provisional {provisional:?})")]
    Rejected {
        /// Final status code.
        status: u16,
        /// Reason phrase.
        reason: String,
        /// Provisional statuses received before it.
        provisional: Vec<u16>,
    },
    /// The 2xx answer's SDP did not parse (the phone sent BYE).
    #[error("unparseable SDP answer ({source}): {sdp:?}")]
    AnswerUnparseable {
        /// What the SDP parser reported.
        #[source]
        source: sdp::SdpError,
        /// The answer body.
        sdp: String,
    },
    /// The 2xx answer's SDP parsed but has no usable audio (the phone sent BYE).
    #[error("unusable SDP answer ({source}): {sdp:?}")]
    AnswerNotNegotiable {
        /// What negotiation reported.
        #[source]
        source: sdp::NegotiationError,
        /// The answer body.
        sdp: String,
    },
    /// Not one of 0-9, *, #, A-D.
    #[error("invalid DTMF digit {0:?}")]
    InvalidDigit(char),
    /// The answer did not accept telephone-event.
    #[error("no telephone-event payload type negotiated")]
    NoTelephoneEvent,
    /// The digit was queued but media was not flowing (held or ended call).
    #[error("DTMF digit {0:?} was not sent: media is not flowing")]
    DtmfNotSent(char),
    /// Not one of sendrecv, sendonly, recvonly, inactive.
    #[error("invalid SDP direction {0:?}")]
    InvalidDirection(String),
    /// A called phone: the caller sent CANCEL before the answer (the phone
    /// answered it 200 and the INVITE 487).
    #[error("the caller cancelled before the call was answered")]
    Cancelled,
    /// A called phone: the INVITE's offer had no usable audio (the phone
    /// answered 488).
    #[error("unusable SDP offer: {0:?}")]
    OfferNotAcceptable(String),
}

/// How [`dial`] places a call.
#[derive(Debug, Clone)]
pub struct DialOptions {
    /// User part of From and Contact.
    pub from_user: String,
    /// Sine sent as G.711 at −10 dBFS; `None` sends silence frames.
    pub tone_hz: Option<f32>,
    /// Send this SDP body verbatim instead of the phone's own offer.
    pub sdp_override: Option<String>,
    /// Extra headers added to the INVITE.
    pub extra_headers: Vec<(String, String)>,
    /// How long to wait for the INVITE's final response.
    pub answer_timeout: Duration,
    /// Packet time in ms: offered as `a=ptime` and used for every packet
    /// the phone sends (audio and RFC 4733 updates), like a phone that
    /// packetises at its own ptime whatever the answer says.
    pub ptime_ms: u32,
    /// How long the phone waits after the 200 OK before it ACKs (a slow or
    /// far phone): chorus must not send BYE before that ACK.
    pub ack_delay: Duration,
    /// Wait this long after the answer before sending the first RTP packet
    /// (a slow phone; lets a test put someone else's packets first).
    pub first_rtp_delay: Duration,
    /// Send and receive RTP on another socket than the one whose port the
    /// SDP offer gives, as a phone behind NAT appears to the far end.
    pub behind_nat: bool,
}

impl Default for DialOptions {
    fn default() -> Self {
        DialOptions {
            from_user: "tester".into(),
            tone_hz: None,
            sdp_override: None,
            extra_headers: Vec::new(),
            answer_timeout: Duration::from_secs(10),
            ptime_ms: 20,
            ack_delay: Duration::ZERO,
            first_rtp_delay: Duration::ZERO,
            behind_nat: false,
        }
    }
}

impl DialOptions {
    /// Defaults, sending a sine of `hz`.
    pub fn with_tone(hz: f32) -> Self {
        DialOptions {
            tone_hz: Some(hz),
            ..Default::default()
        }
    }
}

/// Result of [`invite_then_cancel`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelOutcome {
    /// Provisional statuses of the INVITE.
    pub provisional: Vec<u16>,
    /// Final status of the CANCEL; 0 if the INVITE completed before the
    /// CANCEL could be sent.
    pub cancel_status: u16,
    /// Final status of the INVITE (487 when the cancel worked).
    pub invite_status: u16,
}

/// Aborts a background task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The dialog identifiers every request of one call shares.
#[derive(Debug, Clone)]
struct DialogIds {
    call_id: String,
    /// Full From value with our tag.
    from: String,
    /// Full To value; gains the remote tag once answered.
    to: String,
    /// Request-URI of the INVITE.
    request_uri: String,
}

impl DialogIds {
    fn new(ep: &Endpoint, from_user: &str, to_user: &str) -> Self {
        let request_uri = format!("sip:{to_user}@{}", ep.peer());
        DialogIds {
            call_id: format!("{}@127.0.0.1", token()),
            from: format!("<sip:{from_user}@{}>;tag={}", ep.local, ep.local_tag),
            to: format!("<{request_uri}>"),
            request_uri,
        }
    }

    fn request<'a>(
        &'a self,
        method: &'a str,
        uri: &'a str,
        branch: &'a str,
        to: &'a str,
        cseq: u32,
    ) -> Request<'a> {
        Request {
            method,
            uri,
            branch,
            from: &self.from,
            to,
            call_id: &self.call_id,
            cseq,
            contact: None,
            extra: &[],
            sdp: None,
        }
    }
}

/// The phone's own SDP offer for `port`, with an explicit direction line
/// and `a=ptime:{ptime_ms}`.
fn local_offer(port: u16, session_id: u64, version: u64, direction: &str, ptime_ms: u32) -> String {
    let local = LocalMedia {
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
        session_id,
        session_version: version,
    };
    let offer = sdp::offer(&local, OFFERED_EVENT_PT);
    let mut out = String::with_capacity(offer.len() + 16);
    for line in offer.lines().map(str::trim_end) {
        if matches!(
            line,
            "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive"
        ) {
            continue;
        }
        if line.starts_with("a=ptime:") {
            out.push_str(&format!("a=ptime:{ptime_ms}\r\n"));
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!("a={direction}\r\n"));
    out
}

/// Negotiated parameters from an answer body.
fn negotiate(body: &str) -> Result<sdp::Negotiated, PhoneError> {
    let parsed =
        sdp::SessionDescription::parse(body).map_err(|source| PhoneError::AnswerUnparseable {
            source,
            sdp: body.to_string(),
        })?;
    sdp::negotiated_from_answer(&parsed).map_err(|source| PhoneError::AnswerNotNegotiable {
        source,
        sdp: body.to_string(),
    })
}

fn send_params(n: &sdp::Negotiated) -> SendParams {
    SendParams {
        remote: n.remote_rtp,
        law: n.law,
        payload_type: n.payload_type,
        telephone_event: n.telephone_event,
    }
}

/// Places a call to `to_user` at `chorus` and waits for the final response.
///
/// On 2xx the phone ACKs, starts sending media to the answered address and
/// returns the [`Call`]; on >= 300 it ACKs and returns
/// [`PhoneError::Rejected`].
pub async fn dial(
    chorus: SocketAddr,
    to_user: &str,
    opts: DialOptions,
) -> Result<Call, PhoneError> {
    let active = Arc::new(AtomicBool::new(true));
    let ep = Endpoint::bind(chorus, &opts.from_user, Arc::clone(&active)).await?;
    let task = Arc::new(AbortOnDrop(tokio::spawn(Arc::clone(&ep).run())));
    let quirks = MediaQuirks {
        first_rtp_delay: opts.first_rtp_delay,
        behind_nat: opts.behind_nat,
    };
    let media = Media::start(
        opts.tone_hz,
        OFFERED_EVENT_PT,
        active,
        opts.ptime_ms,
        quirks,
    )?;
    let session_id = u64::from_str_radix(&token(), 16).unwrap_or(1) >> 1;
    let offer = match &opts.sdp_override {
        Some(sdp) => sdp.clone(),
        None => local_offer(media.local.port(), session_id, 1, "sendrecv", opts.ptime_ms),
    };
    *endpoint::lock(&ep.answer_sdp) = offer.clone();
    let mut ids = DialogIds::new(&ep, &opts.from_user, to_user);
    let invite_branch = branch();
    let mut invite = ids.request("INVITE", &ids.request_uri, &invite_branch, &ids.to, 1);
    invite.contact = Some(&ep.contact);
    invite.extra = &opts.extra_headers;
    invite.sdp = Some(&offer);
    let bytes = invite.to_bytes(ep.local);
    let mut tx = ClientTx::start(&ep, &invite_branch, "INVITE", bytes).await;
    let mut provisional = Vec::new();
    let deadline = Instant::now() + opts.answer_timeout;
    let Some(resp) = tx.final_response(deadline, &mut provisional).await else {
        return Err(PhoneError::Timeout {
            method: "INVITE",
            waited: opts.answer_timeout,
        });
    };
    drop(tx);
    let status = resp.status().unwrap_or(0);
    let to = resp.header("to").unwrap_or(&ids.to).to_string();
    if status >= 300 {
        // Non-2xx ACK: same branch and Request-URI as the INVITE (RFC 3261 17.1.1.3).
        let ack = ids.request("ACK", &ids.request_uri, &invite_branch, &to, 1);
        ep.send_ack(1, ack.to_bytes(ep.local)).await;
        return Err(PhoneError::Rejected {
            status,
            reason: resp.reason().unwrap_or("").to_string(),
            provisional,
        });
    }
    ids.to = to;
    let remote_target = resp
        .contact_uri()
        .unwrap_or_else(|| ids.request_uri.clone());
    let ack_branch = branch();
    let ack = ids.request("ACK", &remote_target, &ack_branch, &ids.to, 1);
    tokio::time::sleep(opts.ack_delay).await;
    ep.send_ack(1, ack.to_bytes(ep.local)).await;
    let negotiated = match negotiate(&resp.body) {
        Ok(n) => n,
        Err(e) => {
            let bye_branch = branch();
            let bye = ids.request("BYE", &remote_target, &bye_branch, &ids.to, 2);
            ep.send(&bye.to_bytes(ep.local)).await;
            return Err(e);
        }
    };
    media.start_sending(send_params(&negotiated));
    Ok(Call::new(call::CallParts {
        ep,
        tasks: vec![task],
        media,
        negotiated,
        provisional,
        ids,
        remote_target,
        session_id,
        answer: resp,
    }))
}
