//! A session timer running on one dialog (RFC 4028), inbound or outbound:
//! [`SessionClock`] says when the session expires or refreshes it.

use std::sync::{Arc, Mutex};

use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::{Header, Headers};
use tracing::Instrument;

use super::dialog::{DialogEvent, dialog_event, sdp_content_type};
use super::session_timer::SessionTimer;

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

    /// What the dialog's next state means to its call (`None` from the
    /// state channel: the dialog is gone), the clock kept: a re-INVITE or
    /// UPDATE from the peer refreshes the session, and an offer's answer
    /// carries the timer's headers.
    pub(super) fn event_of(
        &mut self,
        state: Option<DialogState>,
        local_sdp: &Arc<Mutex<String>>,
    ) -> Option<DialogEvent> {
        let Some(state) = state else {
            return Some(DialogEvent::Ended);
        };
        if matches!(state, DialogState::Updated(..)) {
            self.rearm();
        }
        dialog_event(state, self.headers(), local_sdp)
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
