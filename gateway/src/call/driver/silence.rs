//! The RTP timeout (`media.rtp_timeout`, `media.rtp_hold_timeout`): an
//! answered call whose peer sends nothing at all (no RTP, no RTCP) for that
//! long has gone (a crashed phone, a NAT binding that expired, a scanner
//! that never meant to talk) and is hung up with BYE.
//!
//! [`SilenceWatch`] looks at the leg's [`LegActivity`] counter every
//! [`CHECK_EVERY`]; the call drains its leg's socket first while it holds
//! the leg itself (in a room, the media worker reads it).

use std::time::Duration;

use tokio::time::Instant;

use crate::call::services::RtpTimeouts;
use crate::media::LegActivity;

/// How often the call looks at its leg's activity.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Watches one answered call's leg for silence.
#[derive(Debug)]
pub struct SilenceWatch {
    activity: LegActivity,
    timeouts: RtpTimeouts,
    seen: u64,
    since: Instant,
}

impl SilenceWatch {
    /// Starts watching at `now` (the answer): silence counts from there.
    pub fn new(activity: LegActivity, timeouts: RtpTimeouts, now: Instant) -> Self {
        Self {
            seen: activity.count(),
            activity,
            timeouts,
            since: now,
        }
    }

    /// How long the peer has been silent, once that is past the timeout
    /// that applies (`on_hold`: the hold one); `None` while all is well.
    pub fn check(&mut self, now: Instant, on_hold: bool) -> Option<Duration> {
        let count = self.activity.count();
        if count != self.seen {
            self.seen = count;
            self.since = now;
            return None;
        }
        let limit = match on_hold {
            true => self.timeouts.hold,
            false => self.timeouts.active,
        };
        let silent = now.duration_since(self.since);
        (!limit.is_zero() && silent >= limit).then_some(silent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: RtpTimeouts = RtpTimeouts {
        active: Duration::from_secs(60),
        hold: Duration::from_secs(3600),
    };

    #[test]
    fn silence_past_the_timeout_is_reported_and_any_datagram_resets_it() {
        let activity = LegActivity::default();
        let t0 = Instant::now();
        let mut watch = SilenceWatch::new(activity.clone(), TIMEOUTS, t0);
        assert_eq!(watch.check(t0 + Duration::from_secs(59), false), None);
        activity.bump();
        assert_eq!(watch.check(t0 + Duration::from_secs(59), false), None);
        assert_eq!(watch.check(t0 + Duration::from_secs(118), false), None);
        assert_eq!(
            watch.check(t0 + Duration::from_secs(119), false),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn a_held_call_gets_the_hold_timeout_and_zero_turns_a_timeout_off() {
        let t0 = Instant::now();
        let mut watch = SilenceWatch::new(LegActivity::default(), TIMEOUTS, t0);
        assert_eq!(watch.check(t0 + Duration::from_secs(600), true), None);
        assert!(watch.check(t0 + Duration::from_secs(3600), true).is_some());
        let off = RtpTimeouts {
            active: Duration::ZERO,
            ..TIMEOUTS
        };
        let mut watch = SilenceWatch::new(LegActivity::default(), off, t0);
        assert_eq!(watch.check(t0 + Duration::from_secs(86_400), false), None);
    }
}
