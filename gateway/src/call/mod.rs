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
use chorus_xml::MultiPartyCall;

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
        let control = table.insert(
            &incoming.call_uuid,
            &incoming.invite.from,
            &incoming.invite.to,
        );
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
                inbound::answer(services, incoming, control).await;
                table.remove(&call_uuid);
                tracing::info!("call ended");
            }
            .instrument(span),
        );
    }
}

/// Every live call, by call UUID, with what can be asked of it from
/// outside: hang up (a graceful stop), or move to an MPC (a transfer).
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct CallTable {
    calls: Arc<Mutex<HashMap<String, LiveCall>>>,
}

/// What the table keeps of one call.
struct LiveCall {
    hang_up: CancellationToken,
    transfers: mpsc::UnboundedSender<Box<MultiPartyCall>>,
    /// Its `From` and `To`, for a transfer's answer.
    parties: (String, String),
}

/// A call's side of its table entry.
pub struct CallControl {
    /// Cancelled to make it hang up.
    pub hang_up: CancellationToken,
    /// The MPCs it is asked to move to.
    pub transfers: mpsc::UnboundedReceiver<Box<MultiPartyCall>>,
}

impl CallTable {
    /// Registers a call from `from` to `to`.
    pub fn insert(&self, call_uuid: &str, from: &str, to: &str) -> CallControl {
        let hang_up = CancellationToken::new();
        let (transfers, asked) = mpsc::unbounded_channel();
        let call = LiveCall {
            hang_up: hang_up.clone(),
            transfers,
            parties: (from.to_owned(), to.to_owned()),
        };
        self.lock().insert(call_uuid.to_owned(), call);
        CallControl {
            hang_up,
            transfers: asked,
        }
    }

    /// Forgets a call that ended.
    pub fn remove(&self, call_uuid: &str) {
        self.lock().remove(call_uuid);
    }

    /// Asks a live call to leave whatever it does and join `spec`'s MPC;
    /// its `From` and `To`, or `None` if no such call is live.
    pub fn transfer(&self, call_uuid: &str, spec: MultiPartyCall) -> Option<(String, String)> {
        let calls = self.lock();
        let call = calls.get(call_uuid)?;
        call.transfers.send(Box::new(spec)).ok()?;
        Some(call.parties.clone())
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
        for call in self.lock().values() {
            call.hang_up.cancel();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveCall>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}
