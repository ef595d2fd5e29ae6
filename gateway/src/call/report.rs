//! What the event stream hears of a call: `Initiated`, `Ringing`,
//! `Answered` and `Hangup` (Plivo's call status events) on the
//! [`EventBus`], with why the call ended. The driver notes the first
//! reason it sees ([`CallReport::ending`]): the caller's BYE or CANCEL, an
//! RTP or session timeout, or how the call flow ended it (a `<Hangup>`, the
//! document's end, an unusable answer document, shutdown). Causes carry
//! Plivo's code where Plivo's list has the cause; chorus's own (timeouts,
//! an unusable document, shutdown) have none.

use std::sync::Arc;

use chorus_flow::{HangupCause, RejectStatus};
use chorus_mpc::Timestamp;

use super::status_callback::{CallStatusEvent, CallStatusSink};
use crate::mpc::{CallEvent, CallEventName, EventBus, HangupInfo, Watched, wall_clock};

/// Why a call ended: the caller or the media said so, or the call flow
/// ended it (its [`Action::Hangup`](chorus_flow::Action::Hangup) or
/// [`Action::Reject`](chorus_flow::Action::Reject)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hangup {
    /// The caller hung up (BYE or CANCEL).
    ByCaller,
    /// The callee of a call chorus placed hung up (BYE).
    ByCallee,
    /// A call chorus placed ended before it joined anything (its dial's
    /// cause: no answer, busy, lost race, …).
    Dial(HangupInfo),
    /// Nothing came from the caller for the RTP timeout.
    RtpTimeout,
    /// The caller let the SIP session expire (RFC 4028).
    SessionExpired,
    /// The flow hung up the answered call.
    Flow(HangupCause),
    /// The flow refused the unanswered call.
    Refused(RejectStatus),
}

impl Hangup {
    /// The cause, its Plivo code if Plivo lists it, and its source.
    pub fn info(self) -> HangupInfo {
        let (cause, code, source) = match self {
            Self::Dial(info) => return info,
            Self::ByCaller => ("Normal Hangup", Some(4000), "Caller"),
            Self::ByCallee => ("Normal Hangup", Some(4000), "Callee"),
            Self::RtpTimeout => ("RTP Timeout", None, "chorus"),
            Self::SessionExpired => ("Session Timer Expired", None, "chorus"),
            Self::Flow(HangupCause::Hangup) => ("Normal Hangup", Some(4000), "Answer XML"),
            Self::Refused(RejectStatus::Declined) => ("Rejected", None, "Answer XML"),
            Self::Refused(RejectStatus::Busy) => ("Busy Line", None, "Answer XML"),
            Self::Flow(HangupCause::EndOfFlow) | Self::Refused(RejectStatus::Unanswered) => {
                ("End Of XML Instructions", Some(4010), "chorus")
            }
            Self::Flow(HangupCause::AppFailed) | Self::Refused(RejectStatus::AppFailed) => {
                ("Unusable Answer Document", None, "Error")
            }
            Self::Flow(HangupCause::Shutdown) | Self::Refused(RejectStatus::Unavailable) => {
                ("chorusd Stopping", None, "chorus")
            }
        };
        HangupInfo {
            cause,
            code,
            source,
        }
    }
}

/// A call's events, as it goes.
pub struct CallReport {
    bus: EventBus,
    /// `inbound` or `outbound`.
    direction: &'static str,
    call_uuid: String,
    from: String,
    to: String,
    /// The MPC the call is or last was in.
    mpc: Option<(String, String)>,
    /// The first reason the call is ending, once there is one.
    ending: Option<Hangup>,
    /// When it was initiated, rang and was answered.
    initiated: Timestamp,
    ringing_at: Option<Timestamp>,
    answered_at: Option<Timestamp>,
    /// `call_status_callback_url`, for a call added by the API.
    callback: Option<CallStatusSink>,
    /// Callbacks queued so far.
    sequence: u64,
}

impl CallReport {
    /// An inbound call's report; says `Initiated`.
    pub fn inbound(bus: EventBus, call_uuid: &str, from: &str, to: &str) -> Self {
        Self::initiated(bus, "inbound", call_uuid, from, to, None)
    }

    /// The report of a call chorus places, its events also posted to
    /// `callback` if given; says `Initiated`.
    pub fn outbound(
        bus: EventBus,
        call_uuid: &str,
        from: &str,
        to: &str,
        callback: Option<CallStatusSink>,
    ) -> Self {
        Self::initiated(bus, "outbound", call_uuid, from, to, callback)
    }

    fn initiated(
        bus: EventBus,
        direction: &'static str,
        call_uuid: &str,
        from: &str,
        to: &str,
        callback: Option<CallStatusSink>,
    ) -> Self {
        let mut report = Self {
            bus,
            direction,
            call_uuid: call_uuid.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            mpc: None,
            ending: None,
            initiated: wall_clock(),
            ringing_at: None,
            answered_at: None,
            callback,
            sequence: 0,
        };
        report.publish(CallEventName::Initiated, None);
        report
    }

    /// The call rings (said once).
    pub fn ringing(&mut self) {
        if self.ringing_at.is_none() {
            self.ringing_at = Some(wall_clock());
            self.publish(CallEventName::Ringing, None);
        }
    }

    /// The call was answered.
    pub fn answered(&mut self) {
        self.answered_at = Some(wall_clock());
        self.publish(CallEventName::Answered, None);
    }

    /// The call is in this MPC now.
    pub fn in_mpc(&mut self, uuid: &str, name: &str) {
        self.mpc = Some((uuid.to_owned(), name.to_owned()));
    }

    /// Notes why the call is ending, unless an earlier reason was noted.
    pub fn ending(&mut self, why: Hangup) {
        self.ending.get_or_insert(why);
    }

    /// The call is over: says `Hangup` with the reason noted first (the
    /// flow notes one whenever it ends a call, so none means its end).
    pub fn hung_up(&mut self) {
        let why = self
            .ending
            .clone()
            .unwrap_or(Hangup::Flow(HangupCause::EndOfFlow));
        self.publish(CallEventName::Hangup, Some(why.info()));
    }

    fn publish(&mut self, name: CallEventName, hangup: Option<HangupInfo>) {
        let event = Arc::new(CallEvent {
            name,
            at: wall_clock(),
            call_uuid: self.call_uuid.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            direction: self.direction,
            mpc: self.mpc.clone(),
            hangup,
        });
        if let Some(callback) = &self.callback {
            self.sequence += 1;
            callback.push(CallStatusEvent {
                event: event.clone(),
                sequence: self.sequence,
                initiated: self.initiated,
                ringing: self.ringing_at,
                answered: self.answered_at,
            });
        }
        self.bus.publish(Watched::Call(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_says_each_step_and_the_first_reason_it_ended() {
        let bus = EventBus::default();
        let mut watcher = bus.subscribe();
        let mut report = CallReport::inbound(bus, "c1", "alice", "room");
        report.ringing();
        report.answered();
        report.in_mpc("u1", "room");
        report.ending(Hangup::RtpTimeout);
        report.ending(Hangup::ByCaller);
        report.hung_up();
        let mut seen = Vec::new();
        while let Ok(Watched::Call(event)) = watcher.try_recv() {
            seen.push(event);
        }
        let names: Vec<_> = seen.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["Initiated", "Ringing", "Answered", "Hangup"]);
        let hangup = seen[3].hangup.as_ref().unwrap();
        assert_eq!((hangup.cause, hangup.code), ("RTP Timeout", None));
        assert_eq!(seen[3].mpc, Some(("u1".into(), "room".into())));
        assert_eq!(seen[0].mpc, None, "not in an MPC yet");
    }

    #[test]
    fn a_document_that_runs_out_is_plivos_end_of_xml_instructions_answered_or_not() {
        for ended in [
            Hangup::Flow(HangupCause::EndOfFlow),
            Hangup::Refused(RejectStatus::Unanswered),
        ] {
            let info = ended.info();
            assert_eq!(
                (info.cause, info.code),
                ("End Of XML Instructions", Some(4010))
            );
        }
        assert_eq!(
            Hangup::Flow(HangupCause::Hangup).info().source,
            "Answer XML"
        );
        assert_eq!(Hangup::ByCaller.info().source, "Caller");
    }
}
