//! Calls: one tokio task per call drives its XML call flow.
//!
//! The flow's decisions are [`chorus_flow`]'s (a sans-IO interpreter); a
//! call driver performs each of the flow's actions (fetch a document,
//! answer, play, join an MPC, reject or hang up), tells the flow what
//! happened, and serves the peer's in-dialog requests (re-INVITE, UPDATE,
//! OPTIONS, BYE) all along, over either kind of dialog. A call that
//! arrives is negotiated and rung first (`inbound`); [`outbound`] places
//! calls for Add Participant ([`outbound::OutboundCalls`]) and hands the
//! one that answers first to a driver, already answered.
//! [`serve`] starts a task for each call signalling hands over, in the
//! call's span; [`CallTable`] knows every live call, inbound or outbound,
//! so that a graceful stop can hang them all up.

mod dialog;
mod driver;
mod inbound;
pub mod outbound;
mod params;
pub mod report;
mod services;
mod status_callback;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use chorus_media::sdp::SessionDescription;

use crate::sip::{IncomingCall, SessionOffer};
pub use services::{CallServices, CallSettings, RtpTimeouts};

/// Reads a re-INVITE's or UPDATE's offer, for either kind of call: `Some`
/// to negotiate; `None` once it was answered with `current_sdp` (it offered
/// nothing: our session again) or refused with 400 (not SDP).
async fn read_offer(
    offer: SessionOffer,
    current_sdp: &str,
) -> Option<(SessionOffer, SessionDescription)> {
    if offer.body.is_empty() {
        offer.answer(current_sdp.to_owned()).await;
        return None;
    }
    let parsed = std::str::from_utf8(&offer.body)
        .ok()
        .and_then(|text| SessionDescription::parse(text).ok());
    match parsed {
        Some(parsed) => Some((offer, parsed)),
        None => {
            offer.refuse(400).await;
            None
        }
    }
}

/// Starts a task for every call that arrives on `calls`, until the channel
/// closes.
pub async fn serve(
    mut calls: mpsc::UnboundedReceiver<IncomingCall>,
    services: Arc<CallServices>,
    table: CallTable,
) {
    while let Some(incoming) = calls.recv().await {
        let span = incoming.span.clone();
        let hang_up = table.insert(&incoming.call_uuid);
        let (services, table) = (services.clone(), table.clone());
        tokio::spawn(
            async move {
                let call_uuid = incoming.call_uuid.clone();
                tracing::info!(
                    from = incoming.invite.from,
                    uri = incoming.invite.uri,
                    "incoming call"
                );
                services.metrics.call();
                inbound::answer(services, incoming, hang_up).await;
                table.remove(&call_uuid);
                tracing::info!("call ended");
            }
            .instrument(span),
        );
    }
}

/// Every live call, by call UUID, with the token that asks it to hang up.
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct CallTable {
    calls: Arc<Mutex<HashMap<String, CancellationToken>>>,
}

impl CallTable {
    /// Registers a call; the token is cancelled to make it hang up.
    pub fn insert(&self, call_uuid: &str) -> CancellationToken {
        let token = CancellationToken::new();
        self.lock().insert(call_uuid.to_owned(), token.clone());
        token
    }

    /// Forgets a call that ended.
    pub fn remove(&self, call_uuid: &str) {
        self.lock().remove(call_uuid);
    }

    /// Number of live calls.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no call is live.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Asks every live call to hang up.
    pub fn hang_up_all(&self) {
        for token in self.lock().values() {
            token.cancel();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}
