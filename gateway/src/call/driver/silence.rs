//! The RTP timeout (`media.rtp_timeout`, `media.rtp_hold_timeout`): an
//! answered call whose peer sends nothing at all (no RTP, no RTCP) for that
//! long has gone (a crashed phone, a NAT binding that expired, a scanner
//! that never meant to talk) and is hung up with BYE.
//!
//! [`SilenceWatch`] looks at the leg's [`LegActivity`] counter every
//! [`SilenceWatch::period`]: an eighth of the timeout, within 1 to 10 s, so
//! a call is hung up after its timeout and at most an eighth more of
//! silence, and a thousand quiet calls wake the daemon about a hundred
//! times a second, not a thousand. While the call holds its leg itself it
//! drains the leg's socket every [`CHECK_EVERY`] (in a room, the media
//! worker reads it). Every call's looks fall on one shared grid
//! ([`on_grid`]), so that the runtime wakes once for many calls instead of
//! once for each.

use std::time::Duration;

use tokio::time::Instant;

use crate::call::services::RtpTimeouts;
use crate::media::LegActivity;

/// How often a call drains a leg it holds, and the shortest period
/// between looks at its activity.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// The longest period between looks at a leg's activity.
const LONGEST_PERIOD: Duration = Duration::from_secs(10);
/// The grid every call's looks are rounded up to.
const GRID: Duration = Duration::from_millis(250);

/// `at`, rounded up to the next point of a grid every [`GRID`] that all
/// calls share (counted from the first call to this).
pub fn on_grid(at: Instant) -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    let since = at.saturating_duration_since(origin).as_nanos();
    let grid = GRID.as_nanos();
    let rounded = since.div_ceil(grid) * grid;
    origin + Duration::from_nanos(u64::try_from(rounded).unwrap_or(u64::MAX))
}

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

    /// How long to wait before the next [`SilenceWatch::check`]: an eighth
    /// of the timeout that applies, within [`CHECK_EVERY`] and 10 s (10 s
    /// if it is off).
    pub fn period(&self, on_hold: bool) -> Duration {
        match self.limit(on_hold) {
            // Off: nothing to look for but a change of timeout (hold).
            Duration::ZERO => LONGEST_PERIOD,
            limit => (limit / 8).clamp(CHECK_EVERY, LONGEST_PERIOD),
        }
    }

    fn limit(&self, on_hold: bool) -> Duration {
        match on_hold {
            true => self.timeouts.hold,
            false => self.timeouts.active,
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
        let limit = self.limit(on_hold);
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

    #[test]
    fn looks_are_rounded_up_onto_a_shared_grid() {
        let t0 = Instant::now();
        let a = on_grid(t0 + Duration::from_millis(1001));
        let b = on_grid(t0 + Duration::from_millis(1200));
        assert_eq!(a, b, "both round up to the same point");
        assert!(a >= t0 + Duration::from_millis(1200));
        assert!(a < t0 + Duration::from_millis(1001) + GRID);
        assert_eq!(on_grid(a), a, "a point on the grid stays");
    }

    #[test]
    fn activity_is_looked_at_every_eighth_of_the_timeout_within_1_to_10_s() {
        let short = RtpTimeouts {
            active: Duration::from_secs(2),
            hold: Duration::ZERO,
        };
        let t0 = Instant::now();
        let watch = SilenceWatch::new(LegActivity::default(), TIMEOUTS, t0);
        assert_eq!(watch.period(false), Duration::from_millis(7500));
        assert_eq!(watch.period(true), Duration::from_secs(10));
        let watch = SilenceWatch::new(LegActivity::default(), short, t0);
        assert_eq!(watch.period(false), Duration::from_secs(1));
        assert_eq!(watch.period(true), Duration::from_secs(10), "off");
    }
}
