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

use crate::mpc::{CallEvent, CallEventName, EventBus, HangupInfo, Watched, wall_clock};

/// Why a call ended: the caller or the media said so, or the call flow
/// ended it (its [`Action::Hangup`](chorus_flow::Action::Hangup) or
/// [`Action::Reject`](chorus_flow::Action::Reject)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hangup {
    /// The caller hung up (BYE or CANCEL).
    ByCaller,
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
            Self::ByCaller => ("Normal Hangup", Some(4000), "Caller"),
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
    call_uuid: String,
    from: String,
    to: String,
    /// The MPC the call is or last was in.
    mpc: Option<(String, String)>,
    /// The first reason the call is ending, once there is one.
    ending: Option<Hangup>,
}

impl CallReport {
    /// An inbound call's report; says `Initiated`.
    pub fn inbound(bus: EventBus, call_uuid: &str, from: &str, to: &str) -> Self {
        let report = Self {
            bus,
            call_uuid: call_uuid.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            mpc: None,
            ending: None,
        };
        report.publish(CallEventName::Initiated, None);
        report
    }

    /// The caller hears ringing.
    pub fn ringing(&self) {
        self.publish(CallEventName::Ringing, None);
    }

    /// The call was answered.
    pub fn answered(&self) {
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
    pub fn hung_up(&self) {
        let why = self.ending.unwrap_or(Hangup::Flow(HangupCause::EndOfFlow));
        self.publish(CallEventName::Hangup, Some(why.info()));
    }

    fn publish(&self, name: CallEventName, hangup: Option<HangupInfo>) {
        self.bus.publish(Watched::Call(Arc::new(CallEvent {
            name,
            at: wall_clock(),
            call_uuid: self.call_uuid.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            direction: "inbound",
            mpc: self.mpc.clone(),
            hangup,
        })));
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
