//! Outbound calls, the SIP side: a [`Dialer`] sends an INVITE
//! ([`Invitation`]) and hands back a [`PendingInvite`], whose
//! [`PendingInvite::next`] reports each provisional response and then the
//! outcome: a [`ClientCall`] with the callee's SDP answer, or a refusal
//! with its status. [`PendingInvite::cancel`] sends CANCEL while it rings.
//!
//! rsipstack runs the INVITE transaction in a task of its own (so that a
//! CANCEL can cross it), ACKs the 200 itself, and answers digest
//! challenges (401/407) once when the invitation carries credentials.
//! The callee's in-dialog requests reach the dialog through the same
//! dispatcher as inbound calls' (a client dialog is an `InviteDialog`
//! too), and come up from [`ClientCall::next_event`] as [`DialogEvent`]s.
//! A session timer the callee's 2xx sets (RFC 4028) runs on the call: we
//! refresh it when it names us (`refresher=uac`), else the session expires
//! if the callee does not. [`Dialer::ping`] sends OPTIONS (trunk pings).

use std::sync::{Arc, Mutex};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::{InviteAsyncResult, InviteOption};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Uri};
use rsipstack::transport::SipAddr;
use tokio::task::JoinHandle;

use super::ContactAddresses;
use super::dialog::{CallSpans, DialogEvent, bye_within_wait, sdp_content_type};
use super::session_clock::SessionClock;
use super::session_timer::SessionTimer;

/// What an INVITE we send says.
#[derive(Debug, Clone, Default)]
pub struct Invitation {
    /// The callee: a `sip:` URI (`sip:user@host:port`).
    pub target: String,
    /// The From user part (our host is added).
    pub from_user: String,
    /// The From display name; `"` and `\` are dropped and it is cut at
    /// [`MAX_CALLER_NAME`] characters.
    pub caller_name: Option<String>,
    /// Extra headers, name and value as sent (`X-PH-…`).
    pub headers: Vec<(String, String)>,
    /// Our SDP offer.
    pub sdp: String,
    /// Answers a 401/407 challenge, once.
    pub credentials: Option<DigestCredentials>,
    /// The From host (a trunk's `from_domain`); else our contact address.
    pub from_host: Option<String>,
    /// Where to send it when not to the target's host (a phone behind NAT).
    pub destination: Option<std::net::SocketAddr>,
}

/// Most characters of a caller name (Plivo's `caller_name` limit).
pub const MAX_CALLER_NAME: usize = 50;

/// Digest credentials for a callee (a trunk) that challenges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// The digest username.
    pub username: String,
    /// The password.
    pub password: String,
    /// The realm, if known ahead (else the challenge's).
    pub realm: Option<String>,
}

/// An INVITE could not be sent at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InviteError {
    /// The target is not a SIP URI we can send to.
    #[error("not a SIP URI: {target:?}")]
    BadTarget {
        /// The target as given.
        target: String,
    },
    /// rsipstack could not build or start the INVITE.
    #[error("cannot send the INVITE: {0}")]
    Stack(#[source] Box<rsipstack::Error>),
}

/// What happened next to an INVITE we sent.
pub enum InviteStep {
    /// A provisional response (180, 183, …) and its body (SDP for early
    /// media, else empty).
    Provisional {
        /// The status code.
        status: u16,
        /// The body.
        body: Vec<u8>,
    },
    /// 2xx, ACKed: the call and the callee's SDP answer.
    Answered {
        /// The answered call.
        call: ClientCall,
        /// The 2xx's body.
        body: Vec<u8>,
    },
    /// A final non-2xx response: the callee (or a proxy) refused.
    Refused {
        /// The status code (3xx are not followed).
        status: u16,
    },
    /// No final response: a transaction timeout or transport failure.
    Unreachable,
}

/// Places outbound calls on signalling's endpoint; cheap to clone.
#[derive(Clone)]
pub struct Dialer {
    pub(super) dialogs: Arc<DialogLayer>,
    pub(super) contact: ContactAddresses,
    pub(super) spans: CallSpans,
}

impl Dialer {
    /// Sends the INVITE; its progress comes from [`PendingInvite::next`].
    pub fn invite(&self, invitation: Invitation) -> Result<PendingInvite, InviteError> {
        let bad_target = || InviteError::BadTarget {
            target: invitation.target.clone(),
        };
        let callee = Uri::try_from(invitation.target.as_str()).map_err(|_| bad_target())?;
        if !matches!(callee.scheme, Some(rsipstack::sip::Scheme::Sip)) {
            return Err(bad_target());
        }
        let contact = self.contact.udp_uri();
        let mut caller = contact.clone();
        caller.auth = Some(rsipstack::sip::Auth {
            user: invitation.from_user.clone(),
            password: None,
        });
        if let Some(host) = &invitation.from_host {
            caller.host_with_port =
                rsipstack::sip::HostWithPort::try_from(host.as_str()).map_err(|_| {
                    InviteError::BadTarget {
                        target: format!("from host {host}"),
                    }
                })?;
        }
        let mut headers: Vec<Header> = invitation
            .headers
            .iter()
            .map(|(name, value)| Header::Other(name.clone(), value.clone()))
            .collect();
        headers.push(sdp_content_type());
        let option = InviteOption {
            caller_display_name: invitation.caller_name.as_deref().map(display_name),
            caller,
            callee,
            offer: Some(invitation.sdp.clone().into_bytes()),
            contact,
            credential: invitation.credentials.map(|c| Credential {
                username: c.username,
                password: c.password,
                realm: c.realm,
                auth_username: None,
            }),
            headers: Some(headers),
            destination: invitation.destination.map(|addr| SipAddr {
                r#type: Some(rsipstack::sip::Transport::Udp),
                addr: addr.into(),
            }),
            ..InviteOption::default()
        };
        let (states_tx, states) = self.dialogs.new_dialog_state_channel();
        let (dialog, done) = self
            .dialogs
            .do_invite_async(option, states_tx)
            .map_err(|e| InviteError::Stack(Box::new(e)))?;
        Ok(PendingInvite {
            dialog,
            states: Some(states),
            done,
            dialer: self.clone(),
            local_sdp: invitation.sdp,
        })
    }
}

impl Dialer {
    /// Sends OPTIONS to `target` (a trunk's proxy) and waits up to `wait`
    /// for its final answer: the status, or `None` for no answer at all.
    pub async fn ping(
        &self,
        target: std::net::SocketAddr,
        wait: std::time::Duration,
    ) -> Option<u16> {
        use rsipstack::transaction::key::{TransactionKey, TransactionRole};
        use rsipstack::transaction::transaction::Transaction;
        let endpoint = &self.dialogs.endpoint;
        let uri = Uri::try_from(format!("sip:{target}").as_str()).ok()?;
        let via = endpoint.get_via(None, None).ok()?;
        let from = rsipstack::sip::typed::From {
            display_name: None,
            uri: self.contact.udp_uri(),
            params: vec![],
        }
        .with_tag(rsipstack::transaction::make_tag());
        let to = rsipstack::sip::typed::To {
            display_name: None,
            uri: uri.clone(),
            params: vec![],
        };
        let request =
            endpoint.make_request(rsipstack::sip::Method::Options, uri, via, from, to, 1, None);
        let key = TransactionKey::from_request(&request, TransactionRole::Client).ok()?;
        let mut tx = Transaction::new_client(key, request, endpoint.clone(), None);
        tx.send().await.ok()?;
        let answer = async {
            while let Some(message) = tx.receive().await {
                if let rsipstack::sip::SipMessage::Response(response) = message {
                    let code = response.status_code.code();
                    if code >= 200 {
                        return Some(code);
                    }
                }
            }
            None
        };
        tokio::time::timeout(wait, answer).await.ok().flatten()
    }
}

/// A caller name as a From display name: no quote or backslash (rsipstack
/// quotes it as it is), at most [`MAX_CALLER_NAME`] characters.
fn display_name(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '"' | '\\') && !c.is_control())
        .take(MAX_CALLER_NAME)
        .collect()
}

/// An INVITE on its way. Dropping it before the outcome leaves the
/// transaction to end by itself: call [`PendingInvite::cancel`] first.
pub struct PendingInvite {
    dialog: InviteDialog,
    /// Taken by the answered call.
    states: Option<DialogStateReceiver>,
    done: JoinHandle<InviteAsyncResult>,
    dialer: Dialer,
    local_sdp: String,
}

impl PendingInvite {
    /// The next provisional response, or the outcome. Cancel-safe. Call it
    /// no more after the outcome.
    pub async fn next(&mut self) -> InviteStep {
        loop {
            tokio::select! {
                biased;
                Some(state) = next_state(&mut self.states) => {
                    if let DialogState::Early(_, response) = state {
                        return InviteStep::Provisional {
                            status: u16::from(response.status_code.clone()),
                            body: response.body,
                        };
                    }
                }
                outcome = &mut self.done => return self.outcome(outcome),
            }
        }
    }

    fn outcome(
        &mut self,
        outcome: Result<InviteAsyncResult, tokio::task::JoinError>,
    ) -> InviteStep {
        let (id, response) = match outcome {
            Ok(Ok((id, Some(response)))) => (id, response),
            Ok(Ok((_, None))) => return InviteStep::Unreachable,
            Ok(Err(error)) => {
                tracing::info!(%error, "INVITE failed");
                return InviteStep::Unreachable;
            }
            Err(error) => {
                tracing::warn!(%error, "INVITE task failed");
                return InviteStep::Unreachable;
            }
        };
        let status = u16::from(response.status_code.clone());
        if !(200..300).contains(&status) {
            return InviteStep::Refused { status };
        }
        if !matches!(self.dialog.state(), DialogState::Confirmed(..)) {
            // Cancelled, and the 200 crossed the CANCEL: rsipstack BYEs it.
            return InviteStep::Refused { status: 487 };
        }
        self.dialer
            .spans
            .insert(id.clone(), tracing::Span::current());
        let timer = SessionTimer::from_answer(&response);
        if let Some(timer) = timer {
            tracing::debug!(interval = timer.interval.as_secs(), refresher = ?timer.refresher, "the callee set a session timer");
        }
        let mut clock = SessionClock::new(timer, false, &response.headers);
        clock.rearm();
        let call = ClientCall {
            clock,
            dialog: self.dialog.clone(),
            id,
            states: self.states.take().unwrap_or_else(|| {
                let (_, rx) = self.dialer.dialogs.new_dialog_state_channel();
                rx
            }),
            dialogs: self.dialer.dialogs.clone(),
            spans: self.dialer.spans.clone(),
            local_sdp: Arc::new(Mutex::new(std::mem::take(&mut self.local_sdp))),
        };
        InviteStep::Answered {
            call,
            body: response.body,
        }
    }

    /// Sends CANCEL (after the first provisional response if none came
    /// yet); the outcome, usually 487, still comes from
    /// [`PendingInvite::next`].
    pub async fn cancel(&self) {
        if let Err(error) = self.dialog.cancel().await {
            tracing::debug!(%error, "CANCEL failed");
        }
    }
}

/// The next dialog state, once there is a channel to read.
async fn next_state(states: &mut Option<DialogStateReceiver>) -> Option<DialogState> {
    match states {
        Some(states) => states.recv().await,
        None => std::future::pending().await,
    }
}

/// One answered outbound INVITE dialog, from our side. Dropping it
/// forgets the dialog.
pub struct ClientCall {
    dialog: InviteDialog,
    /// The confirmed dialog's id (the one rsipstack registered).
    id: DialogId,
    states: DialogStateReceiver,
    dialogs: Arc<DialogLayer>,
    spans: CallSpans,
    /// The SDP we last offered or answered with.
    local_sdp: Arc<Mutex<String>>,
    /// The session timer the callee's answer set, if any.
    clock: SessionClock,
}

impl ClientCall {
    /// Ends the call with BYE, waiting up to 2 s for its answer.
    pub async fn bye(&self) {
        bye_within_wait(&self.dialog).await;
    }

    /// The next thing the callee does; the session expires too when a
    /// session timer the callee set runs out (we refresh it when it names
    /// us the refresher). Cancel-safe.
    pub async fn next_event(&mut self) -> DialogEvent {
        loop {
            let state = tokio::select! {
                state = self.states.recv() => state,
                expired = self.clock.next(&self.dialog, &self.local_sdp) => match expired {
                    Some(event) => return event,
                    None => continue,
                },
            };
            if let Some(event) = self.clock.event_of(state, &self.local_sdp) {
                return event;
            }
        }
    }
}

impl Drop for ClientCall {
    fn drop(&mut self) {
        self.dialogs.remove_dialog(&self.id);
        self.spans.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_name_is_cut_at_50_characters_and_cannot_break_its_quotes() {
        assert_eq!(display_name("Alice \"the\" \\Boss"), "Alice the Boss");
        let long = "x".repeat(80);
        assert_eq!(display_name(&long).len(), MAX_CALLER_NAME);
    }
}
