//! Why an outbound call was not answered ([`DialFailure`]), as Plivo
//! names it. A cause carries Plivo's code only where Plivo's hangup-cause
//! list was read to have it (1000 Canceled, 2000 Invalid Destination
//! Address, 2010 Destination Out Of Service); the others use Plivo's names
//! without a code until someone checks the list's 3xxx section.

use crate::mpc::HangupInfo;

/// Why a dial ended before an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialCause {
    /// 486 or 600: the callee is busy.
    Busy,
    /// The ring timeout passed (we sent CANCEL), or 408/480.
    NoAnswer,
    /// 603 or another refusal that names no better cause.
    Rejected,
    /// 404, 484 or 604: nobody there.
    InvalidDestination,
    /// 5xx other than 500: the destination cannot take calls now.
    OutOfService,
    /// A 3xx: redirects are not followed.
    Redirected,
    /// A 401/407 we could not answer (no or wrong credentials).
    AuthFailed,
    /// No final response at all (transport failure, timeout).
    Unreachable,
    /// Cancelled through the [`DialCanceller`](super::DialCanceller).
    Canceled,
    /// Cancelled because another destination answered first.
    LostRace,
    /// Our offer could not be sent or the answer could not be used.
    Failed,
    /// Answered, but the callee did not press `confirm_key` in time.
    ConfirmTimeout,
}

impl DialCause {
    /// Whether a trunk failed the call (it did not answer, could not take
    /// it, or refused our credentials), so the next trunk may take it.
    pub fn is_trunk_failure(self) -> bool {
        matches!(
            self,
            Self::Unreachable | Self::OutOfService | Self::AuthFailed
        )
    }

    /// The cause of a final non-2xx status.
    pub fn of_status(status: u16) -> Self {
        match status {
            300..=399 => Self::Redirected,
            401 | 407 => Self::AuthFailed,
            404 | 484 | 604 => Self::InvalidDestination,
            408 | 480 | 487 => Self::NoAnswer,
            486 | 600 => Self::Busy,
            501..=599 => Self::OutOfService,
            _ => Self::Rejected,
        }
    }

    /// The cause's name, its Plivo code where known, and its source.
    pub fn info(self) -> HangupInfo {
        let (cause, code, source) = match self {
            Self::Busy => ("Busy Line", None, "Call recipient"),
            Self::NoAnswer => ("No Answer", None, "Plivo"),
            Self::Rejected => ("Rejected", None, "Call recipient"),
            Self::InvalidDestination => ("Invalid Destination Address", Some(2000), "Carrier"),
            Self::OutOfService => ("Destination Out Of Service", Some(2010), "Carrier"),
            Self::Redirected => ("Redirected", None, "Call recipient"),
            Self::AuthFailed => ("Authentication Failed", None, "Carrier"),
            Self::Unreachable => ("Destination Unreachable", None, "chorus"),
            Self::Canceled => ("Canceled", Some(1000), "API Request"),
            Self::LostRace => ("LOST RACE", None, "Plivo"),
            Self::Failed => ("Outbound Call Failed", None, "Error"),
            // Seed 001 gives the code; the name is chorus's.
            Self::ConfirmTimeout => ("Confirm Key Timeout", Some(9110), "Plivo"),
        };
        HangupInfo {
            cause,
            code,
            source,
        }
    }
}

/// A dial that did not become a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dial failed: {} (SIP status {status:?})", cause.info().cause)]
pub struct DialFailure {
    /// Why.
    pub cause: DialCause,
    /// The final SIP status, if one came (487 after our CANCEL).
    pub status: Option<u16>,
    /// Every provisional status seen before, in order.
    pub provisional: Vec<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_map_to_plivo_causes() {
        assert_eq!(DialCause::of_status(486), DialCause::Busy);
        assert_eq!(DialCause::of_status(600), DialCause::Busy);
        assert_eq!(DialCause::of_status(603), DialCause::Rejected);
        assert_eq!(DialCause::of_status(302), DialCause::Redirected);
        assert_eq!(DialCause::of_status(404), DialCause::InvalidDestination);
        assert_eq!(DialCause::of_status(480), DialCause::NoAnswer);
        assert_eq!(DialCause::of_status(503), DialCause::OutOfService);
        assert_eq!(DialCause::of_status(500), DialCause::Rejected);
        assert_eq!(DialCause::of_status(407), DialCause::AuthFailed);
        assert_eq!(DialCause::Busy.info().cause, "Busy Line");
        assert_eq!(DialCause::Canceled.info().code, Some(1000));
    }
}
