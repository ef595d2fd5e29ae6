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
//! so that a graceful stop can hang them all up and a transfer can reach
//! one.

mod dialog;
mod driver;
mod inbound;
pub mod outbound;
mod params;
pub mod report;
mod services;
mod status_callback;
mod table;

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::Instrument;

use crate::sip::IncomingCall;
pub use services::{CallServices, CallSettings, RtpTimeouts};
pub use table::{CallControl, CallTable};

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
