//! Add Participant carried out: [`OutboundCalls::add`] checks where each
//! destination goes, takes a dial turn for each under `sip.max_cps`, answers
//! at once with the calls' UUIDs, and races the destinations in a task: each
//! waits its `delay_dial` and its turn, rings for its `ring_timeout`, and
//! the first to answer joins the MPC (as its own call, running the
//! request's `<MultiPartyCall>` and whatever its `onExitActionUrl` says
//! next); the others get CANCEL (or BYE, if they answered too) with cause
//! `LOST RACE`, and those still waiting to be dialled never are. Every
//! destination's events go to the event stream and, if the request names
//! one, to its `call_status_callback_url`. A request with `call_uuid`
//! instead moves that live call ([`CallTable::transfer`]): it leaves
//! whatever it does (its MPC with `Participant Call Transferred`) and
//! joins.

use std::sync::Arc;
use std::time::Duration;

use chorus_xml::MultiPartyCall;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::cause::DialFailure;
use super::dial::{DialCanceller, DialOptions, OutboundCall};
use super::race::{Race, fork};
use super::request::{AddParticipant, Destination, Dial, Joining};
use super::route::{Route, RouteError, Routing};
use super::trunks::Channel;
use crate::call::report::{CallReport, Hangup};
use crate::call::services::CallServices;
use crate::call::status_callback::CallStatusSink;
use crate::call::table::CallTable;
use crate::mpc::{Control, MpcAddress, MpcRegistry};
use crate::sip::Invite;
use crate::sip::pacer::{Pacer, QueueFull, Slot};
use crate::sip::uac::Dialer;

/// Places the calls Add Participant asks for; cheap to clone.
#[derive(Clone)]
pub struct OutboundCalls(Arc<Shared>);

pub(super) struct Shared {
    pub(super) services: Arc<CallServices>,
    dialer: Dialer,
    table: CallTable,
    pacer: Pacer,
    /// Where destinations go.
    routing: Routing,
}

/// What an accepted request started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// One call per destination, in the request's order.
    pub calls: Vec<AddedCall>,
    /// Some dial waits for its turn under `sip.max_cps`.
    pub queued: bool,
}

impl Added {
    /// Plivo's `message`: `add participant action initiated`, or `…queued`
    /// when a dial waits for its turn.
    pub fn message(&self) -> &'static str {
        if self.queued {
            "add participant action queued"
        } else {
            "add participant action initiated"
        }
    }
}

/// One call an accepted request places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedCall {
    /// The destination, as given.
    pub to: String,
    /// The caller id.
    pub from: String,
    /// The call's UUID (its events and callbacks carry it).
    pub call_uuid: String,
}

/// Why a request was not carried out (nothing was dialled).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    /// A destination goes nowhere.
    #[error(transparent)]
    Route(#[from] RouteError),
    /// Too many dials wait under `sip.max_cps`.
    #[error("{0}; try again later")]
    QueueFull(#[from] QueueFull),
    /// No live call has this `call_uuid`.
    #[error("call {0} not found (it is not live)")]
    NoSuchCall(String),
}

impl OutboundCalls {
    /// Places calls with `dialer` at most `max_cps` a second, with at most
    /// `queue` dials waiting, wherever `routing` says.
    pub fn new(
        services: Arc<CallServices>,
        dialer: Dialer,
        table: CallTable,
        routing: Routing,
        (max_cps, queue): (u32, usize),
    ) -> Self {
        Self(Arc::new(Shared {
            services,
            dialer,
            table,
            pacer: Pacer::new(max_cps, queue),
            routing,
        }))
    }

    /// Starts what `request` asks for; answers before anything is dialled.
    pub fn add(&self, request: AddParticipant) -> Result<Added, AddError> {
        let dial = match request.joining {
            Joining::Dial(dial) => dial,
            Joining::Transfer { call_uuid } => {
                // The call leaves whatever it does (exit cause
                // `Participant Call Transferred` if in an MPC) and joins.
                let mpc = MpcAddress::Name(request.spec.name.clone());
                let (from, to) = self
                    .0
                    .table
                    .transfer(&call_uuid, request.spec)
                    .ok_or_else(|| AddError::NoSuchCall(call_uuid.clone()))?;
                self.0.api_actions(mpc, &[(false, None), (true, None)]);
                let call = AddedCall {
                    to,
                    from,
                    call_uuid,
                };
                return Ok(Added {
                    calls: vec![call],
                    queued: false,
                });
            }
        };
        let routes = dial
            .destinations
            .iter()
            .map(|d| self.0.routing.route(&d.to))
            .collect::<Result<Vec<_>, _>>()?;
        // Every turn is taken before anything starts: a full queue refuses
        // the whole request, and the turns taken are handed back (dropped).
        let slots = dial
            .destinations
            .iter()
            .map(|_| self.0.pacer.reserve())
            .collect::<Result<Vec<_>, _>>()?;
        let added = Added {
            queued: slots.iter().any(Slot::queued),
            calls: dial
                .destinations
                .iter()
                .map(|d| AddedCall {
                    to: d.to.clone(),
                    from: dial.from.clone(),
                    call_uuid: uuid::Uuid::new_v4().to_string(),
                })
                .collect(),
        };
        let mpc = MpcAddress::Name(request.spec.name.clone());
        self.0.api_actions(mpc, &[(false, None)]);
        let race = Arc::new(Race::new(dial.destinations.len()));
        let request = Arc::new(RaceRequest {
            spec: request.spec,
            dial,
        });
        for (i, ((slot, route), call)) in
            slots.into_iter().zip(routes).zip(&added.calls).enumerate()
        {
            let leg = RaceLeg {
                index: i,
                call_uuid: call.call_uuid.clone(),
                route,
                slot,
            };
            let (shared, race, request) = (self.0.clone(), race.clone(), request.clone());
            let span = tracing::info_span!("call", uuid = %call.call_uuid);
            tokio::spawn(tracing::Instrument::instrument(
                shared.destination(race, request, leg),
                span,
            ));
        }
        Ok(added)
    }
}

/// What every destination of one request shares.
pub(super) struct RaceRequest {
    pub(super) spec: MultiPartyCall,
    pub(super) dial: Dial,
}

/// One destination's part in a race.
struct RaceLeg {
    index: usize,
    call_uuid: String,
    route: Route,
    slot: Slot,
}

impl Shared {
    /// The MPC's `AddParticipantByAPIAction…` events, in order (completed,
    /// member), if it is live (an MPC this request creates gets only the
    /// completion); off the caller's task.
    fn api_actions(&self, mpc: MpcAddress, actions: &[(bool, Option<u32>)]) {
        let (mpcs, actions) = (self.services.mpcs.clone(), actions.to_vec());
        tokio::spawn(async move {
            for (completed, member) in actions {
                api_action(&mpcs, &mpc, completed, member).await;
            }
        });
    }

    /// One destination, and the request's completion if it was the last
    /// and nobody won (a winner completes it once it has joined).
    async fn destination(
        self: Arc<Self>,
        race: Arc<Race>,
        request: Arc<RaceRequest>,
        leg: RaceLeg,
    ) {
        self.dial_destination(&race, &request, leg).await;
        if race.finished() {
            let mpc = MpcAddress::Name(request.spec.name.clone());
            self.api_actions(mpc, &[(true, None)]);
        }
    }

    /// One destination: wait, dial, and join the MPC if it answers first.
    async fn dial_destination(&self, race: &Race, request: &RaceRequest, leg: RaceLeg) {
        let RaceLeg {
            index,
            call_uuid,
            route,
            slot,
        } = leg;
        let destination = &request.dial.destinations[index];
        let delay = Duration::from_secs(destination.delay_dial.into());
        let turn = async move {
            tokio::time::sleep(delay).await;
            slot.wait().await;
        };
        tokio::select! {
            () = turn => {}
            () = race.won.cancelled() => {
                tracing::info!(to = %destination.to, "another destination answered first; not dialled");
                return;
            }
        }
        let control = self
            .table
            .insert(&call_uuid, &request.dial.from, &destination.to);
        let dial = &request.dial;
        let callback = dial.call_status_callback.as_ref().map(|(url, method)| {
            CallStatusSink::start(
                self.services.http.clone(),
                url.clone(),
                *method,
                self.services.metrics.clone(),
            )
        });
        let mut report = CallReport::outbound(
            self.services.events.clone(),
            &call_uuid,
            &dial.from,
            &destination.to,
            callback,
        );
        tracing::info!(to = %destination.to, ?route, "dialling");
        let canceller = race.cancellers[index].clone();
        let outcome = self
            .ring(
                destination,
                dial,
                &route,
                &canceller,
                &control.hang_up,
                &mut report,
            )
            .await;
        match outcome {
            Err(failure) => {
                tracing::info!(to = %destination.to, cause = failure.cause.info().cause, "not answered");
                report.ending(Hangup::Dial(failure.cause.info()));
                report.hung_up();
            }
            Ok((call, _channel)) => {
                // `_channel` holds the trunk's channel until the call ends.
                report.answered();
                let party = Invite {
                    from: dial.from.clone(),
                    to: destination.to.clone(),
                    caller_name: dial.caller_name.clone(),
                    custom_headers: x_ph_headers(destination),
                    uri: call_target(&route),
                    body: Vec::new(),
                };
                let driver = self.driver(call, call_uuid.clone(), party, control, report);
                self.answered(driver, race, index, request).await;
            }
        }
        self.table.remove(&call_uuid);
        tracing::info!("call ended");
    }

    /// Rings every target of one destination until one answers (the others
    /// are cancelled) or all fail; says `Ringing` on the first 180/183.
    async fn ring(
        &self,
        destination: &Destination,
        dial: &Dial,
        route: &Route,
        canceller: &DialCanceller,
        hang_up: &CancellationToken,
        report: &mut CallReport,
    ) -> Result<(OutboundCall, Option<Channel>), DialFailure> {
        let (progress, mut provisional) = mpsc::unbounded_channel();
        let options = DialOptions {
            from: dial.from.clone(),
            caller_name: Some(dial.caller_name.clone()),
            sip_headers: x_ph_headers(destination),
            ring_timeout: Duration::from_secs(destination.ring_timeout.into()),
            credentials: None,
            advertised_ip: self.services.settings.advertised_ip,
            canceller: canceller.clone(),
            progress: Some(progress),
            from_host: None,
            destination: None,
        };
        let dialling = async {
            match route {
                Route::Direct(targets) => fork(&self.dialer, &self.services, targets, options)
                    .await
                    .map(|call| (call, None)),
                Route::Trunk(number) => {
                    let trunks = &self.routing.trunks;
                    let (call, channel) = trunks
                        .dial(&self.dialer, &self.services, number, options)
                        .await?;
                    Ok((call, Some(channel)))
                }
            }
        };
        tokio::pin!(dialling);
        loop {
            tokio::select! {
                outcome = &mut dialling => return outcome,
                Some(status) = provisional.recv() => if matches!(status, 180 | 183) {
                    report.ringing();
                },
                () = hang_up.cancelled(), if !canceller.is_cancelled() => canceller.cancel(),
            }
        }
    }
}

/// One `AddParticipantByAPIAction…` event to `mpc`, if it is live (an
/// MPC that does not exist, or has ended, gets none).
pub(super) async fn api_action(
    mpcs: &MpcRegistry,
    mpc: &MpcAddress,
    completed: bool,
    member: Option<u32>,
) {
    let _ = mpcs
        .control(mpc, Control::ApiAction { completed, member })
        .await;
}

/// `X-PH-<name>` headers of a destination's `sip_headers`.
fn x_ph_headers(destination: &Destination) -> Vec<(String, String)> {
    destination
        .sip_headers
        .iter()
        .map(|(name, value)| (format!("X-PH-{name}"), value.clone()))
        .collect()
}

/// The URI (or number) a destination was dialled at, for logs and answer
/// parameters.
fn call_target(route: &Route) -> String {
    match route {
        Route::Direct(targets) => targets.first().map(|t| t.uri.clone()).unwrap_or_default(),
        Route::Trunk(number) => number.clone(),
    }
}
