//! Calls: one tokio task per call drives its XML call flow.
//!
//! The flow's decisions are [`chorus_flow`]'s (a sans-IO interpreter);
//! [`inbound`] is its driver for calls that arrive: it negotiates SDP, rings,
//! performs each of the flow's actions (fetch a document, answer, play, join
//! an MPC, reject or hang up) and tells the flow what happened, serving the
//! caller's in-dialog requests (re-INVITE, UPDATE, OPTIONS, BYE) all along.
//! [`outbound`] places calls (a UAC leg); nothing in chorusd dials yet.
//! [`serve`] starts a task for each call signalling hands over, in the call's
//! span; [`CallTable`] knows every live call so that a graceful stop can
//! hang them all up.

pub mod inbound;
pub mod outbound;
mod params;
pub mod report;
mod services;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use chorus_media::sdp::SessionDescription;

use crate::sip::{IncomingCall, SessionOffer};
use inbound::InboundCall;
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
                if let Some(call) = InboundCall::prepare(services, incoming, hang_up) {
                    call.run().await;
                }
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
