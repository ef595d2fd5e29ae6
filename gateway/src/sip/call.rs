//! An inbound call as the rest of chorus sees it: [`IncomingCall`] carries
//! what the INVITE said ([`Invite`]) and a [`ServerCall`] to answer it with,
//! in chorus's own words (status codes, SDP text, [`DialogEvent`]s). Nothing
//! here leaks an rsipstack type.
//!
//! The INVITE's transaction (100 Trying, our final response, the ACK or a
//! CANCEL) runs in its own task, started by the dispatcher; a `ServerCall`
//! drives it through the dialog. In-dialog requests come up as
//! [`DialogEvent`]s (see `sip::dialog`), and its session timer runs on a
//! `SessionClock`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Request, StatusCode};
use tokio_util::sync::CancellationToken;

use super::dialog::{
    ACK_TIMEOUT, CallSpans, DialogEvent, bye_within_wait, confirmed_within, sdp_content_type,
};
use super::session_clock::SessionClock;
use super::session_timer::SessionTimer;
use super::states::CallStates;
use super::tcp::LinkCall;
use super::uri::user_or_uri;

/// A new call, ready for its call flow.
pub struct IncomingCall {
    /// The call UUID chorus gave it when the INVITE arrived (its log lines,
    /// the transaction's included, carry it in a `call` span).
    pub call_uuid: String,
    /// The `call` span the INVITE's transaction already runs in.
    pub span: tracing::Span,
    /// What the INVITE said.
    pub invite: Invite,
    /// How to answer it.
    pub call: ServerCall,
}

/// What an INVITE said that a call flow needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The caller: the From URI's user part, or the whole URI without one.
    pub from: String,
    /// The dialled user (the Request-URI's user part): the MPC name for the
    /// built-in app.
    pub to: String,
    /// The From display name, else the caller.
    pub caller_name: String,
    /// `X-PH-*` headers, name as sent.
    pub custom_headers: Vec<(String, String)>,
    /// The request URI, for logs.
    pub uri: String,
    /// The body: the SDP offer (empty for a delayed offer).
    pub body: Vec<u8>,
}

impl Invite {
    /// Reads an INVITE.
    pub(super) fn of(invite: &Request) -> Self {
        let from_header = invite.from_header().ok().and_then(|h| h.typed().ok());
        let from = from_header
            .as_ref()
            .map(|f| user_or_uri(&f.uri))
            .unwrap_or_default();
        let caller_name = from_header
            .and_then(|f| f.display_name)
            .map(|n| n.trim_matches('"').to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| from.clone());
        let custom_headers = invite
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Other(name, value)
                    if name.len() > 5 && name[..5].eq_ignore_ascii_case("x-ph-") =>
                {
                    Some((name.clone(), value.clone()))
                }
                _ => None,
            })
            .collect();
        Self {
            from,
            to: user_or_uri(&invite.uri),
            caller_name,
            custom_headers,
            uri: invite.uri.to_string(),
            body: invite.body.clone(),
        }
    }
}

/// The caller went away before we could answer (CANCEL, timeout, BYE).
#[derive(Debug, thiserror::Error)]
#[error("the caller has gone: {0}")]
pub struct CallerGone(#[source] Box<rsipstack::Error>);

/// What a live call holds on to: its place among `sip.max_calls`, and the
/// TCP connection it came over, if any. Both are let go when it drops.
pub(super) struct CallHold {
    live: Arc<AtomicUsize>,
    link: Option<LinkCall>,
    /// Cancelled when the call's TCP connection closes; never for UDP.
    transport_closed: CancellationToken,
}

impl CallHold {
    /// Counts one more call in `live`, over `link` if it came over TCP.
    pub(super) fn new(live: Arc<AtomicUsize>, link: Option<LinkCall>) -> Self {
        live.fetch_add(1, Ordering::Relaxed);
        let transport_closed = link.as_ref().map(LinkCall::closed).unwrap_or_default();
        Self {
            live,
            link,
            transport_closed,
        }
    }
}

impl Drop for CallHold {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
        self.link.take();
    }
}

/// One inbound INVITE dialog, from our side. Dropping it forgets the dialog.
pub struct ServerCall {
    dialog: InviteDialog,
    states: CallStates,
    dialogs: Arc<DialogLayer>,
    spans: CallSpans,
    hold: CallHold,
    /// The session timer (armed by the answer).
    clock: SessionClock,
    /// The SDP we last answered with (a re-INVITE refresh offers it again).
    local_sdp: Arc<Mutex<String>>,
}

impl ServerCall {
    pub(super) fn new(
        dialog: InviteDialog,
        states: CallStates,
        dialogs: Arc<DialogLayer>,
        spans: CallSpans,
        hold: CallHold,
        timer: SessionTimer,
    ) -> Self {
        let clock = SessionClock::new(Some(timer), true, &dialog.initial_request().headers);
        Self {
            dialog,
            states,
            dialogs,
            spans,
            hold,
            clock,
            local_sdp: Arc::default(),
        }
    }

    /// Sends 180 Ringing.
    pub fn ringing(&self) {
        let _ = self.dialog.ringing(None, None);
    }

    /// Sends 200 OK with our SDP answer and the session timer's headers,
    /// and starts the timer.
    pub fn accept(&mut self, sdp: &str) -> Result<(), CallerGone> {
        let mut headers = self.clock.headers();
        headers.push(sdp_content_type());
        self.dialog
            .accept(Some(headers), Some(sdp.as_bytes().to_vec()))
            .map_err(|error| CallerGone(Box::new(error)))?;
        *self.local_sdp.lock().unwrap_or_else(|e| e.into_inner()) = sdp.to_owned();
        self.clock.rearm();
        Ok(())
    }

    /// Ends the call before answer with a final `code` and `reason`.
    pub fn reject(&self, code: u16, reason: &str) {
        if let Err(error) = self
            .dialog
            .reject(Some(StatusCode::from(code)), Some(reason.to_owned()))
        {
            tracing::debug!(%error, "reject failed");
        }
    }

    /// Ends an answered call with BYE, waiting up to `BYE_WAIT` (2 s) for its
    /// answer: a peer that vanished would otherwise hold the call (and a
    /// graceful stop) for the BYE transaction's 32 s timeout.
    ///
    /// RFC 3261 §15: the BYE waits for the ACK of our 200 OK (or for the
    /// INVITE transaction to give up on it, 64·T1), so it can never reach
    /// the caller before the 180 and 200 that the INVITE's own task sends.
    pub async fn bye(&self) {
        if !confirmed_within(&self.dialog, ACK_TIMEOUT).await {
            tracing::debug!("no ACK for our 200 OK; no BYE");
            return;
        }
        bye_within_wait(&self.dialog).await;
    }

    /// The next thing the caller does; the call is over too when the TCP
    /// connection it came over closes. Cancel-safe: nothing is answered
    /// here, so a select that drops this future loses nothing.
    pub async fn next_event(&mut self) -> DialogEvent {
        loop {
            let state = tokio::select! {
                state = self.states.recv() => state,
                () = self.hold.transport_closed.cancelled() => {
                    tracing::info!("the caller's TCP connection closed; the call is over");
                    return DialogEvent::Ended;
                }
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

    fn id(&self) -> DialogId {
        self.dialog.id()
    }
}

impl Drop for ServerCall {
    fn drop(&mut self) {
        // rsipstack keeps every dialog until told.
        let id = self.id();
        self.dialogs.remove_dialog(&id);
        self.spans.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parties_and_custom_headers() {
        let raw = "INVITE sip:room7@127.0.0.1 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n\
            From: \"Alice\" <sip:alice@127.0.0.1>;tag=1\r\n\
            To: <sip:room7@127.0.0.1>\r\n\
            Call-ID: c1\r\nCSeq: 1 INVITE\r\n\
            X-PH-Ticket: 42\r\nX-Other: no\r\nContent-Length: 0\r\n\r\n";
        let rsipstack::sip::SipMessage::Request(req) =
            rsipstack::sip::SipMessage::try_from(raw).unwrap()
        else {
            panic!("not a request")
        };
        let invite = Invite::of(&req);
        assert_eq!(invite.from, "alice");
        assert_eq!(invite.to, "room7");
        assert_eq!(invite.caller_name, "Alice");
        assert_eq!(
            invite.custom_headers,
            vec![("X-PH-Ticket".to_owned(), "42".to_owned())]
        );
        assert!(invite.body.is_empty());
    }
}
