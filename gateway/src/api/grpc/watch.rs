//! The live event stream behind `WatchEvents`: one task a watcher, fed
//! from the event bus, filtered to the MPC it asked for. Apart from the RPCs
//! because it outlives the call that opened it (it runs until the watcher
//! goes away or chorusd stops) and has its own back-pressure rule.

use chorus_proto::v1 as pb;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::shapes;
use crate::mpc::{MpcAddress, Watched};

/// Events a watcher's connection may hold before it falls behind the bus.
pub(super) const STREAM_BUFFER: usize = 64;

/// Whether a watcher that asked for `only` wants `event`.
fn wanted(event: &pb::Event, only: Option<&MpcAddress>) -> bool {
    match only {
        None => true,
        Some(MpcAddress::Name(name)) => &event.friendly_name == name,
        Some(MpcAddress::Uuid(uuid)) => &event.mpc_uuid == uuid,
    }
}

/// Hands a watcher its events until it goes away or chorusd stops. A
/// watcher that reads too slowly falls behind the bus and is told how many
/// events it missed.
pub(super) async fn forward(
    mut events: broadcast::Receiver<Watched>,
    only: Option<MpcAddress>,
    tx: mpsc::Sender<Result<pb::WatchEventsResponse, Status>>,
    stop: CancellationToken,
) {
    use pb::watch_events_response::Item;
    loop {
        let got = tokio::select! {
            () = stop.cancelled() => return,
            () = tx.closed() => return,
            got = events.recv() => got,
        };
        let item = match got {
            Ok(Watched::Mpc(e)) => Item::Event(shapes::status_event(&e)),
            Ok(Watched::Recording(e)) => Item::Event(shapes::recording_event(&e)),
            Ok(Watched::Call(e)) => Item::Event(shapes::call_event(&e)),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "a gRPC event watcher fell behind");
                Item::Missed(missed)
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Item::Event(e) = &item
            && !wanted(e, only.as_ref())
        {
            continue;
        }
        let response = pb::WatchEventsResponse { item: Some(item) };
        if tx.send(Ok(response)).await.is_err() {
            return;
        }
    }
}
