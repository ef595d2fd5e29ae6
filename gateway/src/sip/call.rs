//! An inbound call as the rest of chorus sees it: [`IncomingCall`] carries
//! what the INVITE said ([`Invite`]) and a [`ServerCall`] to answer it with,
//! in chorus's own words (status codes, SDP text, [`DialogEvent`]s). Nothing
//! here leaks an rsipstack type.
//!
//! The INVITE's transaction (100 Trying, our final response, the ACK or a
//! CANCEL) runs in its own task, started by the dispatcher; a `ServerCall`
//! drives it through the dialog. In-dialog requests come up as
//! [`DialogEvent`]s: re-INVITE and UPDATE as [`SessionOffer`]s, since only
//! the call knows its media; OPTIONS, INFO and the methods we refuse as
//! [`Query`]s that answer themselves.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Headers, Method, Request, StatusCode, Uri};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::session_timer::SessionTimer;
use super::tcp::LinkCall;

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

pub(super) fn user_or_uri(uri: &Uri) -> String {
    match &uri.auth {
        Some(auth) if !auth.user.is_empty() => auth.user.clone(),
        _ => uri.to_string(),
    }
}

/// The caller went away before we could answer (CANCEL, timeout, BYE).
#[derive(Debug, thiserror::Error)]
#[error("the caller has gone: {0}")]
pub struct CallerGone(#[source] Box<rsipstack::Error>);

/// Something the caller did in the dialog.
pub enum DialogEvent {
    /// The call is over: BYE, CANCEL, a timeout, our own final response
    /// or BYE went through, or its TCP connection closed.
    Ended,
    /// The session timer ran out: the caller did not refresh in time, or
    /// did not answer our refresh (RFC 4028). Hang up with BYE.
    SessionExpired,
    /// A re-INVITE or UPDATE: answer it with [`SessionOffer::answer`] or
    /// [`SessionOffer::refuse`].
    Offer(SessionOffer),
    /// A request that needs no decision: call [`Query::answer`].
    Query(Query),
}

/// An in-dialog request answered the same way in every call: OPTIONS and
/// INFO get 200, REFER, MESSAGE, NOTIFY and PUBLISH 405.
pub struct Query {
    status: StatusCode,
    handle: rsipstack::dialog::dialog::TransactionHandle,
}

impl Query {
    /// Sends the answer.
    pub async fn answer(self) {
        let _ = self.handle.reply(self.status).await;
    }
}

/// A re-INVITE or UPDATE waiting for its answer.
pub struct SessionOffer {
    /// `re-INVITE` or `UPDATE`, for logs.
    pub method: &'static str,
    /// The new offer (empty: the peer asks for our current session).
    pub body: Vec<u8>,
    handle: rsipstack::dialog::dialog::TransactionHandle,
    /// The session timer's headers, for the 2xx.
    timer: Vec<Header>,
    /// Where the SDP we answer with is kept, for our own refreshes.
    local_sdp: Arc<Mutex<String>>,
}

impl SessionOffer {
    /// Accepts it with our SDP answer.
    pub async fn answer(self, sdp: String) {
        let mut headers = self.timer;
        headers.push(sdp_content_type());
        *self.local_sdp.lock().unwrap_or_else(|e| e.into_inner()) = sdp.clone();
        let _ = self
            .handle
            .respond(StatusCode::OK, Some(headers), Some(sdp.into_bytes()))
            .await;
    }

    /// Refuses it with `code` (400 for an unreadable offer, 488 for one we
    /// cannot accept).
    pub async fn refuse(self, code: u16) {
        let _ = self
            .handle
            .respond(StatusCode::from(code), None, None)
            .await;
    }
}

/// How long a BYE waits for its answer: a live peer answers at once, and
/// its retransmissions (0.5, 1 s) fit.
pub const BYE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a 2xx waits for its ACK before the transaction gives up
/// (64·T1, RFC 3261 §13.3.1.4).
const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(32);

/// Sends BYE and waits up to [`BYE_WAIT`] for its answer: a peer that
/// vanished would otherwise hold the call for the BYE transaction's 32 s.
pub(super) async fn bye_within_wait(dialog: &InviteDialog) {
    match tokio::time::timeout(BYE_WAIT, dialog.bye()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, "BYE failed"),
        Err(_) => {
            tracing::info!(waited = ?BYE_WAIT, "no answer to BYE; the call is over anyway")
        }
    }
}

/// Waits up to `within` for the ACK of our 200 OK: true once the dialog is
/// confirmed, false if it ends first, was never answered, or the time runs
/// out.
pub(super) async fn confirmed_within(dialog: &InviteDialog, within: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match dialog.state() {
            DialogState::Confirmed(..) => return true,
            DialogState::WaitAck(..) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            _ => return false,
        }
    }
}

/// Each live call's span, by dialog, so that the tasks serving its
/// in-dialog requests log in it too.
#[derive(Clone, Default)]
pub(super) struct CallSpans(Arc<Mutex<HashMap<DialogId, tracing::Span>>>);

impl CallSpans {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<DialogId, tracing::Span>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn insert(&self, dialog: DialogId, span: tracing::Span) {
        self.lock().insert(dialog, span);
    }

    /// The call's span, or none for a dialog that is not (or no longer) a
    /// call's.
    pub(super) fn of(&self, dialog: &DialogId) -> tracing::Span {
        self.lock()
            .get(dialog)
            .cloned()
            .unwrap_or_else(tracing::Span::none)
    }

    pub(super) fn remove(&self, dialog: &DialogId) {
        self.lock().remove(dialog);
    }
}

/// What a dialog's state change means to the call, inbound or outbound:
/// `None` for changes it need not hear of. An offer's answer carries
/// `timer` (the session timer's headers; none on outbound calls).
pub(super) fn dialog_event(
    state: DialogState,
    timer: Vec<Header>,
    local_sdp: &Arc<Mutex<String>>,
) -> Option<DialogEvent> {
    match state {
        DialogState::Terminated(_, reason) => {
            tracing::debug!(?reason, "dialog terminated");
            Some(DialogEvent::Ended)
        }
        DialogState::Updated(_, request, handle) => {
            let method = if request.method == Method::Update {
                "UPDATE"
            } else {
                "re-INVITE"
            };
            Some(DialogEvent::Offer(SessionOffer {
                method,
                body: request.body,
                handle,
                timer,
                local_sdp: local_sdp.clone(),
            }))
        }
        DialogState::Options(_, _, handle) | DialogState::Info(_, _, handle) => {
            Some(DialogEvent::Query(Query {
                status: StatusCode::OK,
                handle,
            }))
        }
        DialogState::Refer(_, _, handle)
        | DialogState::Message(_, _, handle)
        | DialogState::Notify(_, _, handle)
        | DialogState::Publish(_, _, handle) => Some(DialogEvent::Query(Query {
            status: StatusCode::MethodNotAllowed,
            handle,
        })),
        _ => None,
    }
}

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
    states: DialogStateReceiver,
    dialogs: Arc<DialogLayer>,
    spans: CallSpans,
    hold: CallHold,
    /// The session timer (armed by the answer).
    clock: SessionClock,
    /// The SDP we last answered with (a re-INVITE refresh offers it again).
    local_sdp: Arc<Mutex<String>>,
}

/// A session timer running on one dialog (RFC 4028), either side's: when
/// it is due, we refresh (UPDATE if the peer allows it, else a re-INVITE
/// offering our SDP again), or the peer failed to and the session has
/// expired. A refresh from the peer (any re-INVITE or UPDATE) rearms it.
pub(super) struct SessionClock {
    timer: Option<SessionTimer>,
    /// We send the refreshes (else the peer does).
    we_refresh: bool,
    /// The peer's `Allow` lists UPDATE: our refreshes are UPDATEs.
    peer_allows_update: bool,
    /// `caller` or `callee`, for the log.
    peer: &'static str,
    /// When it acts next.
    due: Option<tokio::time::Instant>,
    /// Our refresh under way: true once the peer answered it.
    refreshing: Option<tokio::sync::oneshot::Receiver<bool>>,
}

impl SessionClock {
    /// A clock for `timer` (`None`: no timer), on the side that answered
    /// the INVITE or the side that sent it, with the peer's headers (its
    /// INVITE or its 2xx: its `Allow`). Not armed yet.
    pub(super) fn new(timer: Option<SessionTimer>, we_answered: bool, peer: &Headers) -> Self {
        Self {
            we_refresh: timer.is_some_and(|t| t.we_refresh(we_answered)),
            peer_allows_update: allows(peer, "UPDATE"),
            peer: if we_answered { "caller" } else { "callee" },
            timer,
            due: None,
            refreshing: None,
        }
    }

    /// The headers our answers to the peer's refreshes (and our own
    /// refreshes) carry.
    pub(super) fn headers(&self) -> Vec<Header> {
        self.timer.map_or_else(Vec::new, |t| t.headers())
    }

    /// The session was refreshed (or just started): the timer starts over.
    pub(super) fn rearm(&mut self) {
        if let Some(timer) = self.timer {
            self.due = Some(tokio::time::Instant::now() + timer.due_after(self.we_refresh));
        }
    }

    /// Waits for the clock: `Some(SessionExpired)` once the session has
    /// expired (the peer did not refresh in time, or did not take our
    /// refresh), `None` when it started or finished a refresh of ours.
    /// Pends for ever when there is nothing to wait for. Cancel-safe.
    pub(super) async fn next(
        &mut self,
        dialog: &InviteDialog,
        local_sdp: &Mutex<String>,
    ) -> Option<DialogEvent> {
        let due = self.due;
        tokio::select! {
            () = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                self.due = None;
                if !self.we_refresh {
                    tracing::info!(
                        interval = self.timer.map(|t| t.interval.as_secs()),
                        "the {} did not refresh its session in time",
                        self.peer
                    );
                    return Some(DialogEvent::SessionExpired);
                }
                let (done, refreshed) = tokio::sync::oneshot::channel();
                self.refreshing = Some(refreshed);
                let dialog = dialog.clone();
                let headers = self.headers();
                let allows_update = self.peer_allows_update;
                let sdp = local_sdp.lock().unwrap_or_else(|e| e.into_inner()).clone();
                tokio::spawn(
                    async move {
                        let _ = done.send(refresh(dialog, headers, allows_update, sdp).await);
                    }
                    .instrument(tracing::Span::current()),
                );
                None
            }
            refreshed = answer_of(&mut self.refreshing) => {
                self.refreshing = None;
                if !refreshed {
                    return Some(DialogEvent::SessionExpired);
                }
                self.rearm();
                None
            }
        }
    }
}

/// How long our refresh waits for its answer.
const REFRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(32);

impl ServerCall {
    pub(super) fn new(
        dialog: InviteDialog,
        states: DialogStateReceiver,
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

    /// Sends 200 OK with our SDP answer.
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
            let Some(state) = state else {
                return DialogEvent::Ended;
            };
            if matches!(state, DialogState::Updated(..)) {
                // A re-INVITE or UPDATE refreshes the session.
                self.clock.rearm();
            }
            if let Some(event) = dialog_event(state, self.clock.headers(), &self.local_sdp) {
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

/// Sends one refresh: UPDATE without a body if the caller allows it, else
/// a re-INVITE offering our current SDP again. True if the caller is
/// still there: any answer but 408 and 481 (RFC 4028 §10).
async fn refresh(
    dialog: InviteDialog,
    mut headers: Vec<Header>,
    update: bool,
    sdp: String,
) -> bool {
    let sent = if update {
        tokio::time::timeout(REFRESH_WAIT, dialog.update(Some(headers), None)).await
    } else {
        headers.push(sdp_content_type());
        tokio::time::timeout(
            REFRESH_WAIT,
            dialog.reinvite(Some(headers), Some(sdp.into_bytes())),
        )
        .await
    };
    let method = if update { "UPDATE" } else { "re-INVITE" };
    match sent {
        Ok(Ok(Some(response))) => {
            let code = u16::from(response.status_code.clone());
            let alive = !matches!(code, 408 | 481);
            tracing::debug!(method, code, alive, "session refresh answered");
            alive
        }
        Ok(Ok(None)) => true, // not confirmed yet: nothing to refresh
        Ok(Err(error)) => {
            tracing::info!(method, %error, "session refresh failed");
            false
        }
        Err(_) => {
            tracing::info!(method, "no answer to our session refresh");
            false
        }
    }
}

/// Whether a message's `Allow` lists `method`.
fn allows(headers: &Headers, method: &str) -> bool {
    headers.iter().any(|header| {
        let text = header.to_string();
        text.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("allow")
                && value
                    .split(',')
                    .any(|m| m.trim().eq_ignore_ascii_case(method))
        })
    })
}

/// The outcome of our refresh, if one is under way.
async fn answer_of(refreshing: &mut Option<tokio::sync::oneshot::Receiver<bool>>) -> bool {
    match refreshing {
        Some(answer) => answer.await.unwrap_or(false),
        None => std::future::pending().await,
    }
}

pub(super) fn sdp_content_type() -> Header {
    Header::ContentType("application/sdp".into())
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
