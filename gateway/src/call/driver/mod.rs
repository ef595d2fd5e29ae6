//! A call while its XML call flow runs, whichever side began it.
//!
//! [`CallDriver::run`] performs each action the flow
//! ([`chorus_flow::Flow`]) asks for, one at a time, and tells it what came
//! of it. The flow decides when to answer, what comes next, and how the call
//! ends (its crate doc has the rules); the driver owns the IO — the dialog
//! ([`CallDialog`]), the leg, fetches, the MPC — and serves the peer's
//! in-dialog requests while any action runs. An inbound call arrives here
//! negotiated and ringing ([`super::inbound`]); an outbound one answered
//! ([`super::outbound`]), with a flow that never answers again.

mod confirm;
mod membership;
mod play;
mod session;
mod silence;

use std::sync::Arc;

use chorus_flow::{Action, Flow, Input};
use chorus_media::sdp::LocalMedia;
use chorus_xml::{Document, Method, MultiPartyCall, Step, Verb};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use silence::SilenceWatch;

pub use confirm::Confirmation;

use super::dialog::CallDialog;
use super::params::answer_params;
use super::report::{CallReport, Hangup};
use super::services::CallServices;
use super::table::CallControl;
use crate::fetch::{fetch_document, http_method};
use crate::media::{Leg, LegActivity, LegId};
use crate::metrics::{Metrics, Rtp};
use crate::mpc::Membership;
use crate::sip::Invite;

/// Why the driver stopped waiting for an action.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// The caller sent BYE or CANCEL, the transaction timed out, or the call
    /// already got its final response.
    Remote,
    /// chorusd is stopping.
    Shutdown,
    /// The call is moved to this MPC (it left the one it was in).
    Transfer(Box<MultiPartyCall>),
}

impl End {
    /// What the flow is told.
    fn input(self) -> Input {
        match self {
            Self::Remote => Input::HungUp,
            Self::Shutdown => Input::Shutdown,
            Self::Transfer(spec) => Input::Transferred(Document {
                steps: vec![Step::Verb(Verb::MultiPartyCall(*spec))],
                warnings: Vec::new(),
            }),
        }
    }
}

/// Where the call's media is right now.
enum Media {
    /// Not in a room: the leg is ours.
    Idle(Box<Leg>),
    /// In an MPC: the media worker has the leg.
    InMpc(Membership),
    /// Handed over and not returned (only while tearing down).
    Gone,
}

/// What a [`CallDriver`] is built from: a call with its media negotiated.
pub struct CallParts {
    /// What the call uses of the rest of chorus.
    pub services: Arc<CallServices>,
    /// Its dialog.
    pub call: CallDialog,
    /// Its call UUID.
    pub call_uuid: String,
    /// Who called whom, as its INVITE said (the caller's, or ours).
    pub party: Invite,
    /// What can be asked of it from outside (hang up, transfer).
    pub control: CallControl,
    /// Its leg, not in a room.
    pub leg: Box<Leg>,
    /// The id the leg joins rooms with.
    pub leg_id: LegId,
    /// Our side of the session.
    pub local: LocalMedia,
    /// The SDP we answered (or offered) with.
    pub answer_sdp: String,
    /// The session is on hold or inactive.
    pub on_hold: bool,
    /// Its events so far.
    pub report: CallReport,
}

/// A call's state while its flow runs.
pub struct CallDriver {
    services: Arc<CallServices>,
    call: CallDialog,
    call_uuid: String,
    party: Invite,
    hang_up: CancellationToken,
    /// MPCs the call is asked to move to (Add Participant's `call_uuid`).
    transfers: mpsc::UnboundedReceiver<Box<MultiPartyCall>>,
    media: Media,
    leg_id: LegId,
    local: LocalMedia,
    answer_sdp: String,
    /// What the leg took from the peer, for the RTP timeout.
    activity: LegActivity,
    /// The session is on hold or inactive (the longer RTP timeout).
    on_hold: bool,
    /// Watches for silence once the call is answered: `Some` exactly when
    /// it is (by the flow, or before the flow began for a call we placed).
    silence: Option<SilenceWatch>,
    /// When the leg is drained and the silence checked next.
    next_media_check: Instant,
    /// What the event stream hears of the call, and why it ended.
    report: CallReport,
    /// Digits to send once the call is in its first MPC (`send_digits`).
    digits_to_send: Option<String>,
    /// Told the MPC UUID and member id once the call is in its first MPC.
    joined: Option<oneshot::Sender<(String, u32)>>,
}

impl CallDriver {
    /// A driver for a call whose media is negotiated: an inbound call not
    /// answered yet, or an outbound one that is (its RTP timeout runs from
    /// now).
    pub fn new(parts: CallParts) -> Self {
        let CallParts {
            services,
            call,
            call_uuid,
            party,
            control,
            leg,
            leg_id,
            local,
            answer_sdp,
            on_hold,
            report,
        } = parts;
        let answered = matches!(call, CallDialog::Outbound(_));
        let activity = leg.activity();
        let silence = answered.then(|| {
            SilenceWatch::new(
                activity.clone(),
                services.settings.rtp_timeouts,
                Instant::now(),
            )
        });
        Self {
            services,
            call,
            call_uuid,
            party,
            hang_up: control.hang_up,
            transfers: control.transfers,
            media: Media::Idle(leg),
            leg_id,
            local,
            answer_sdp,
            activity,
            on_hold,
            silence,
            next_media_check: Instant::now(),
            report,
            digits_to_send: None,
            joined: None,
        }
    }

    /// Says (MPC UUID, member id) once the call is in its first MPC; the
    /// sender drops unanswered if it never gets in.
    pub fn on_join(&mut self) -> oneshot::Receiver<(String, u32)> {
        let (tx, rx) = oneshot::channel();
        self.joined = Some(tx);
        rx
    }

    /// Sends `digits` (`0`–`9`, `*`, `#`; `w`/`W` wait 0.5/1 s)
    /// to the peer once the call is in its first MPC.
    pub fn send_digits_on_join(&mut self, digits: String) {
        self.digits_to_send = Some(digits);
    }

    /// Whether the call came to us (or we placed it).
    fn is_inbound(&self) -> bool {
        matches!(self.call, CallDialog::Inbound(_))
    }

    /// `inbound` or `outbound`, as Plivo's parameters say.
    fn direction(&self) -> &'static str {
        if self.is_inbound() {
            "inbound"
        } else {
            "outbound"
        }
    }

    /// 180 Ringing to the caller, and `Ringing` to the event stream.
    pub fn ringing(&mut self) {
        self.call.ringing();
        self.report.ringing();
    }

    /// Ends the call before its flow ran, for `why`: BYE (unless the peer
    /// hung up already), then `Hangup`.
    pub async fn abandon(mut self, why: Hangup) {
        let peer_gone = matches!(why, Hangup::ByCaller | Hangup::ByCallee);
        self.report.ending(why);
        if !peer_gone {
            self.call.bye().await;
        }
        if let Media::Idle(leg) = &self.media {
            count_rtp(&self.services.metrics, leg);
        }
        self.report.hung_up();
    }

    /// Runs the call's flow to its end and releases everything.
    pub async fn run(mut self, mut flow: Flow) {
        loop {
            let input = match flow.poll_action() {
                Some(action) => self.perform(action).await,
                None if flow.is_over() => break,
                None => match flow.poll_timeout() {
                    // Nothing to do but wait for the flow's timer (a
                    // <Wait>), serving the dialog meanwhile.
                    Some(at) => {
                        let wait = tokio::time::sleep_until(Instant::from_std(at));
                        Some(match self.serve_until(wait).await {
                            Ok(()) => Input::Tick,
                            Err(end) => end.input(),
                        })
                    }
                    // Every action the flow waits on is answered before
                    // the next poll, so this is a flow bug: end the call
                    // cleanly rather than leave the caller hanging.
                    None => {
                        tracing::error!("the call flow waits for nothing; ending the call");
                        Some(Input::Shutdown)
                    }
                },
            };
            if let Some(input) = input {
                if input == Input::HungUp {
                    tracing::info!("call over");
                    self.report.ending(if self.is_inbound() {
                        Hangup::ByCaller
                    } else {
                        Hangup::ByCallee
                    });
                }
                flow.handle(Instant::now().into_std(), input);
            }
        }
        self.leave_mpc(chorus_mpc::ExitCause::Hangup).await;
        if let Media::Idle(leg) = &self.media {
            count_rtp(&self.services.metrics, leg);
        }
        self.report.hung_up();
    }

    /// Carries out one action of the flow; what came of it, if the flow
    /// waits for something.
    async fn perform(&mut self, action: Action) -> Option<Input> {
        let outcome = match action {
            Action::Fetch {
                url,
                method,
                status,
                params,
            } => self.fetch(url, method, status.as_str(), params).await,
            Action::Answer => Ok(self.answer().err().map(End::input)),
            Action::Play(item) => self.say(item).await.map(|()| Some(Input::Played)),
            Action::Join(spec) => self
                .multi_party_call(&spec)
                .await
                .map(|then| Some(Input::Left(then))),
            Action::Warn(warning) => {
                tracing::warn!(%warning, "answer document");
                Ok(None)
            }
            Action::Skip(error) => {
                tracing::warn!(%error, "skipping invalid element");
                Ok(None)
            }
            Action::Reject { status } => {
                tracing::info!(
                    status = status.code(),
                    reason = status.reason(),
                    "ending the call before answer"
                );
                self.call.reject(status.code(), status.reason()).await;
                self.report.ending(Hangup::Refused(status));
                Ok(None)
            }
            Action::Hangup { reason } => {
                tracing::info!(why = reason.as_str(), "hanging up");
                self.report.ending(Hangup::Flow(reason));
                self.call.bye().await;
                Ok(None)
            }
        };
        outcome.unwrap_or_else(|end| Some(end.input()))
    }

    /// Fetches and parses a document while serving the dialog; `more` goes
    /// with the call's parameters (the MPC's, for an `onExitActionUrl`).
    async fn fetch(
        &mut self,
        url: String,
        method: Method,
        status: &str,
        more: Vec<(String, String)>,
    ) -> Result<Option<Input>, End> {
        let mut params = answer_params(&self.party, self.direction(), &self.call_uuid, status);
        params.extend(more);
        let http = self.services.http.clone();
        let timeout = self.services.settings.inbound.answer_timeout;
        let method = http_method(method);
        let fetch = async move { fetch_document(&http, &url, method, &params, timeout).await };
        let text = match self.serve_until(fetch).await? {
            Ok(text) => text,
            Err(error) => {
                tracing::warn!(%error, "answer URL failed; ending the call");
                return Ok(Some(Input::Unusable));
            }
        };
        Ok(Some(match chorus_xml::parse_response(&text) {
            Ok(document) => Input::Fetched(document),
            Err(error) => {
                tracing::warn!(%error, "answer document is not a valid <Response>; ending the call");
                Input::Unusable
            }
        }))
    }
}

/// Adds a released leg's counters to the RTP metrics.
fn count_rtp(metrics: &Metrics, leg: &Leg) {
    let c = leg.counters();
    for (kind, n) in [
        (Rtp::Received, c.received),
        (Rtp::Malformed, c.malformed),
        (Rtp::Rtcp, c.rtcp),
        (Rtp::UnknownPayload, c.unknown_payload),
        (Rtp::Foreign, c.foreign),
        (Rtp::Sent, c.sent),
    ] {
        metrics.rtp(kind, n);
    }
}
