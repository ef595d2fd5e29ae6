//! The test phone as a callee: a [`Callee`] listens on a free loopback
//! port, takes one INVITE and rings, answers, declines or stays silent as
//! its [`CalleeOptions`] say, recording what it saw.
//!
//! Drive it in three steps: [`Callee::listen`], hand [`Callee::uri`] to
//! whatever dials (chorus, SIPp, [`super::dial`]), then
//! [`Callee::answered`] for the answered [`Call`] — the same type a dialled
//! call is, so both sides share `received_audio_since`, `send_dtmf`,
//! `wait_for_bye` and `hangup`. [`Callee::record`] tells what arrived
//! (the INVITE's headers, CANCEL, ACK) and what the phone sent.
//!
//! ```no_run
//! # async fn example(chorus: std::net::SocketAddr) {
//! use chorus_tests::phone::{Callee, CalleeOptions};
//! use std::time::Duration;
//! let mut agent = Callee::listen(CalleeOptions::answer_with_tone(700.0)).await.unwrap();
//! // ... ask chorus to dial agent.uri() ...
//! let call = agent.answered(Duration::from_secs(10)).await.unwrap();
//! assert_eq!(agent.record().header("x-ph-team"), Some("blue"));
//! call.hangup().await.unwrap();
//! # }
//! ```
//!
//! In-dialog requests are the receive loop's: BYE gets 200, a re-INVITE
//! gets 200 with the phone's answer unchanged (media carries on as it was),
//! UPDATE and the rest a bodiless 200.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use super::call::CallParts;
use super::endpoint::Endpoint;
use super::media::{Media, MediaQuirks};
use super::uas::InviteServer;
use super::{AbortOnDrop, Call, OFFERED_EVENT_PT, PhoneError};
use crate::sip::SipMessage;

/// What the called phone does with the INVITE after ringing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// 180, then after the ring time 200 OK with an SDP answer.
    Answer,
    /// After the ring time (with a 180 if it is not zero), this final
    /// status: 486, 603, 404...
    Decline(u16),
    /// 180 and nothing more: only a CANCEL ends it (200, then 487).
    Silent,
}

/// How a [`Callee`] behaves.
#[derive(Debug, Clone)]
pub struct CalleeOptions {
    /// User part of its URI and Contact.
    pub user: String,
    /// Sine sent as G.711 once answered; `None` sends silence frames.
    pub tone_hz: Option<f32>,
    /// What it does after ringing.
    pub reaction: Reaction,
    /// How long it rings (180 sent) before answering or declining; longer
    /// than the caller waits makes a phone that answers too late.
    pub ring: Duration,
    /// After the ACK, wait this long and press this key (RFC 4733).
    pub press: Option<(Duration, char)>,
}

impl Default for CalleeOptions {
    fn default() -> Self {
        CalleeOptions {
            user: "agent".into(),
            tone_hz: None,
            reaction: Reaction::Answer,
            ring: Duration::from_millis(200),
            press: None,
        }
    }
}

impl CalleeOptions {
    /// Rings 200 ms, answers, sends a sine of `hz`.
    pub fn answer_with_tone(hz: f32) -> Self {
        CalleeOptions {
            tone_hz: Some(hz),
            ..Default::default()
        }
    }

    /// Rings 200 ms, then answers `status`.
    pub fn decline(status: u16) -> Self {
        CalleeOptions {
            reaction: Reaction::Decline(status),
            ..Default::default()
        }
    }

    /// Rings until cancelled.
    pub fn silent() -> Self {
        CalleeOptions {
            reaction: Reaction::Silent,
            ..Default::default()
        }
    }
}

/// What a [`Callee`] saw and sent so far.
#[derive(Debug, Clone, Default)]
pub struct CalleeRecord {
    /// The INVITE it took (first copy).
    pub invite: Option<SipMessage>,
    /// When that INVITE arrived.
    pub invited_at: Option<Instant>,
    /// Statuses it answered the INVITE with, in order (100, 180, 200...).
    pub sent: Vec<u16>,
    /// When a CANCEL arrived, if one did.
    pub cancelled_at: Option<Instant>,
    /// When the ACK of its final response arrived.
    pub acked_at: Option<Instant>,
    /// The key it pressed after answering, and when.
    pub pressed: Option<(char, Instant)>,
}

impl CalleeRecord {
    /// A header of the INVITE (lower-case name, compact forms accepted).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.invite.as_ref()?.header(name)
    }

    /// The INVITE's Request-URI.
    pub fn request_uri(&self) -> Option<&str> {
        self.invite.as_ref()?.request_uri()
    }

    /// The INVITE's `X-PH-*` headers (names lower-cased), in order.
    pub fn x_ph_headers(&self) -> Vec<(String, String)> {
        let headers = self.invite.iter().flat_map(|i| i.headers.iter());
        headers
            .filter(|(name, _)| name.starts_with("x-ph-"))
            .cloned()
            .collect()
    }

    /// The display name of the INVITE's From, without quotes.
    pub fn from_display_name(&self) -> Option<String> {
        let from = self.header("from")?;
        let name = from.get(..from.find('<')?)?.trim().trim_matches('"');
        (!name.is_empty()).then(|| name.to_string())
    }
}

/// A phone waiting to be called; see the module docs.
pub struct Callee {
    ep: Arc<Endpoint>,
    record: watch::Receiver<CalleeRecord>,
    outcome: Option<oneshot::Receiver<Result<CallParts, PhoneError>>>,
    tasks: Vec<Arc<AbortOnDrop>>,
}

impl Callee {
    /// Binds SIP and RTP sockets on free loopback ports and starts waiting
    /// for one INVITE.
    pub async fn listen(opts: CalleeOptions) -> Result<Callee, PhoneError> {
        let active = Arc::new(AtomicBool::new(true));
        let (ep, incoming) = Endpoint::listen(&opts.user, Arc::clone(&active)).await?;
        let quirks = MediaQuirks::default();
        let media = Media::start(opts.tone_hz, OFFERED_EVENT_PT, active, 20, quirks)?;
        let (record_tx, record) = watch::channel(CalleeRecord::default());
        let (outcome_tx, outcome) = oneshot::channel();
        let receive = AbortOnDrop(tokio::spawn(Arc::clone(&ep).run()));
        let server = InviteServer::new(Arc::clone(&ep), incoming, record_tx);
        let serve = AbortOnDrop(tokio::spawn(server.serve(media, opts, outcome_tx)));
        Ok(Callee {
            ep,
            record,
            outcome: Some(outcome),
            tasks: vec![Arc::new(receive), Arc::new(serve)],
        })
    }

    /// Its SIP address.
    pub fn sip_addr(&self) -> SocketAddr {
        self.ep.local
    }

    /// Its SIP URI, for the caller to dial: `sip:<user>@127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.ep.contact.clone()
    }

    /// What it saw and sent so far.
    pub fn record(&self) -> CalleeRecord {
        self.record.borrow().clone()
    }

    /// The INVITE, once one arrives within `timeout`.
    pub async fn wait_for_invite(&self, timeout: Duration) -> Option<SipMessage> {
        self.wait_until(timeout, |r| r.invite.is_some())
            .await?
            .invite
    }

    /// Whether a CANCEL arrives within `timeout` (true at once if it did).
    pub async fn wait_for_cancel(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |r| r.cancelled_at.is_some())
            .await
            .is_some()
    }

    /// When the caller sent BYE, if it has.
    pub fn bye_at(&self) -> Option<Instant> {
        *self.ep.bye.borrow()
    }

    async fn wait_until(
        &self,
        timeout: Duration,
        done: impl FnMut(&CalleeRecord) -> bool,
    ) -> Option<CalleeRecord> {
        let mut rx = self.record.clone();
        let seen = tokio::time::timeout(timeout, rx.wait_for(done)).await;
        Some(seen.ok()?.ok()?.clone())
    }

    /// The call once answered and acknowledged, within `timeout` of now.
    /// Declining gives [`PhoneError::Rejected`], a CANCEL
    /// [`PhoneError::Cancelled`]; a second call returns `Timeout`.
    pub async fn answered(&mut self, timeout: Duration) -> Result<Call, PhoneError> {
        let waited = Err(PhoneError::Timeout {
            method: "INVITE",
            waited: timeout,
        });
        let Some(outcome) = self.outcome.as_mut() else {
            return waited;
        };
        let parts = match tokio::time::timeout(timeout, outcome).await {
            Err(_) => return waited,
            Ok(Err(_)) => return Err(PhoneError::Cancelled),
            Ok(Ok(parts)) => parts,
        };
        self.outcome = None;
        let mut parts = parts?;
        parts.tasks = self.tasks.clone();
        Ok(Call::new(parts))
    }
}
