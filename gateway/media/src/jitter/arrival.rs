//! Arrival times from the kernel's receive timestamps.
//!
//! A tick reads everything that arrived since the last one, so stamping
//! each packet with the tick's time makes every packet up to a tick late,
//! and the delay estimator adds a whole spurious packet of delay for it.
//! The kernel stamps each datagram as it arrives (`SO_TIMESTAMPNS`), but
//! on the wall clock (`CLOCK_REALTIME`), while ticks run on a monotonic
//! clock. The two are bridged by age: read the wall clock once when the
//! tick's receive starts; a datagram stamped `age` before that arrived
//! `age` before the tick's time.

use std::time::Duration;

/// Oldest age believed. The worker ticks every 20 ms and gives up catching
/// up once 100 ms behind, so even a stalled worker leaves a datagram in its
/// socket for a fraction of a second; a stamp older than this means the
/// wall clock was stepped between the kernel's stamp and our read. Such an
/// age is cut to this bound (a stamp *after* the read means a step the
/// other way, or a datagram that arrived during the read: age 0).
pub const MAX_ARRIVAL_AGE_MS: u64 = 1000;

/// When a datagram stamped `stamp` (wall clock) arrived, on the monotonic
/// milliseconds of `now_ms`, given the wall clock `wall_now` read at
/// `now_ms`: `now_ms − (wall_now − stamp)`, the age rounded to the nearest
/// millisecond and clamped to `0..=`[`MAX_ARRIVAL_AGE_MS`]. Without a stamp
/// (the option unsupported, or the datagram carried none) it arrived now,
/// as far as we can tell.
pub fn arrival_ms(now_ms: u64, wall_now: Duration, stamp: Option<Duration>) -> u64 {
    let Some(stamp) = stamp else {
        return now_ms;
    };
    let age = wall_now.saturating_sub(stamp);
    let age_ms = (age.as_micros().saturating_add(500) / 1000).min(u128::from(MAX_ARRIVAL_AGE_MS));
    now_ms.saturating_sub(age_ms as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WALL: Duration = Duration::from_secs(1_700_000_000);

    #[test]
    fn the_age_on_the_wall_clock_is_taken_off_the_tick_time() {
        let at = |age_us: u64| arrival_ms(10_000, WALL, Some(WALL - Duration::from_micros(age_us)));
        assert_eq!(at(0), 10_000);
        assert_eq!(at(19_400), 9_981, "19.4 ms ago");
        assert_eq!(at(19_600), 9_980, "rounded to the nearest ms");
        assert_eq!(at(MAX_ARRIVAL_AGE_MS * 1000), 10_000 - MAX_ARRIVAL_AGE_MS);
    }

    #[test]
    fn stepped_clocks_and_missing_stamps_are_bounded() {
        // Stamped "in the future": arrived during the read, or the clock
        // stepped back since.
        assert_eq!(
            arrival_ms(500, WALL, Some(WALL + Duration::from_secs(3))),
            500
        );
        // Stamped an hour ago: the clock stepped forward.
        let hour = Duration::from_secs(3600);
        assert_eq!(
            arrival_ms(5000, WALL, Some(WALL - hour)),
            5000 - MAX_ARRIVAL_AGE_MS
        );
        // Early in the worker's life the tick time cannot go below zero.
        assert_eq!(
            arrival_ms(30, WALL, Some(WALL - Duration::from_millis(50))),
            0
        );
        assert_eq!(arrival_ms(777, WALL, None), 777);
        assert_eq!(arrival_ms(777, Duration::ZERO, Some(WALL)), 777);
    }
}
