//! What a call's dialog does, for either kind of call: the peer's
//! in-dialog requests come up as [`DialogEvent`]s (re-INVITE and UPDATE as
//! [`SessionOffer`]s, since only the call knows its media; OPTIONS, INFO and
//! the methods we refuse as [`Query`]s that answer themselves), our BYE
//! waits briefly for its answer, and each call's span follows its dialog.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rsipstack::dialog::DialogId;
use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Method, StatusCode};

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
pub(super) const ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(32);

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
/// `timer` (the session timer's headers, if the call has one).
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

pub(super) fn sdp_content_type() -> Header {
    Header::ContentType("application/sdp".into())
}
