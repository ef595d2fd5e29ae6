//! An MPC's clock: the wall clock read once, when the MPC is created, and
//! advanced by the monotonic clock from then on.
//!
//! The engine takes one kind of time for both its timestamps (callback
//! fields) and its `maxDuration` deadline. Reading the wall clock at every
//! input would let a clock step (NTP, an operator) move the deadline — a
//! step back of an hour would keep an MPC alive an hour longer. So the
//! engine's `now` is the creation's wall time plus monotonic time elapsed
//! (tokio's clock, which tests can pause and advance): deadlines are
//! monotonic, and timestamps are wall time as of the MPC's creation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chorus_mpc::Timestamp;
use tokio::time::Instant;

/// The system's wall clock, as the engine takes it.
pub fn wall_clock() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    Timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Wall time at a monotonic instant, and what follows from it.
#[derive(Debug, Clone, Copy)]
pub(super) struct MpcClock {
    wall: Timestamp,
    mono: Instant,
}

impl MpcClock {
    /// A clock that reads `wall` now.
    pub(super) fn starting_at(wall: Timestamp) -> Self {
        Self {
            wall,
            mono: Instant::now(),
        }
    }

    /// The engine's `now`.
    pub(super) fn now(&self) -> Timestamp {
        let elapsed = self.mono.elapsed().as_millis();
        Timestamp(
            self.wall
                .0
                .saturating_add(u64::try_from(elapsed).unwrap_or(u64::MAX)),
        )
    }

    /// The monotonic instant at which the engine's clock reads `at`.
    pub(super) fn instant_of(&self, at: Timestamp) -> Instant {
        self.mono + Duration::from_millis(at.0.saturating_sub(self.wall.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_clock_advances_with_monotonic_time_only() {
        let clock = MpcClock::starting_at(Timestamp(1_000_000));
        assert_eq!(clock.now(), Timestamp(1_000_000));
        tokio::time::advance(Duration::from_secs(300)).await;
        assert_eq!(clock.now(), Timestamp(1_300_000));
        let deadline = clock.instant_of(Timestamp(1_600_000));
        assert_eq!(deadline - Instant::now(), Duration::from_secs(300));
    }
}
