//! Calls per second for dialling out (`sip.max_cps`): a [`Pacer`] hands
//! out one start every `1 / max_cps` seconds, first come first served.
//! A dial that cannot start at once waits its turn in a bounded queue
//! ([`Slot::queued`] says so, for Add Participant's "add participant
//! action queued"); a full queue refuses at once ([`QueueFull`]) rather than
//! grow, so a burst of API requests costs bounded memory.
//!
//! ```
//! # async fn demo() {
//! use chorus_gateway::sip::pacer::Pacer;
//! let pacer = Pacer::new(10, 100); // 10 dials a second, 100 may wait
//! let slot = pacer.reserve().expect("room in the queue");
//! if slot.queued() { /* answer "queued" */ }
//! slot.wait().await; // now place the INVITE
//! # }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Paces dial starts; cheap to clone.
#[derive(Clone)]
pub struct Pacer(Arc<Mutex<Schedule>>);

struct Schedule {
    /// Time between two starts.
    spacing: Duration,
    /// The earliest time the next reservation may start.
    next: Instant,
    /// Reservations not yet started, at most `bound`.
    waiting: usize,
    bound: usize,
}

/// The queue is full: the dial is refused, nothing waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the dial queue is full ({0} dials waiting)")]
pub struct QueueFull(pub usize);

/// One dial's turn.
pub struct Slot {
    at: Instant,
    queued: bool,
    pacer: Pacer,
}

impl Pacer {
    /// `max_cps` starts a second (at least 1), with at most `bound` dials
    /// waiting for their turn.
    pub fn new(max_cps: u32, bound: usize) -> Self {
        let spacing = Duration::from_secs(1) / max_cps.max(1);
        Self(Arc::new(Mutex::new(Schedule {
            spacing,
            next: Instant::now(),
            waiting: 0,
            bound,
        })))
    }

    /// Takes the next turn: now if one is free, else a later one in the
    /// queue; refused if `bound` dials already wait.
    pub fn reserve(&self) -> Result<Slot, QueueFull> {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let at = s.next.max(now);
        let queued = at > now;
        if queued {
            if s.waiting >= s.bound {
                return Err(QueueFull(s.waiting));
            }
            s.waiting += 1;
        }
        s.next = at + s.spacing;
        Ok(Slot {
            at,
            queued,
            pacer: self.clone(),
        })
    }
}

impl Slot {
    /// The dial waits for its turn (Plivo's "queued").
    pub fn queued(&self) -> bool {
        self.queued
    }

    /// Waits until this dial may start.
    pub async fn wait(self) {
        tokio::time::sleep_until(self.at).await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // Started or abandoned, it no longer waits (its turn is not given
        // back: the pace stays the configured one either way).
        if self.queued {
            let mut s = self.pacer.0.lock().unwrap_or_else(|e| e.into_inner());
            s.waiting -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn starts_are_spread_at_the_configured_rate_in_order() {
        let pacer = Pacer::new(4, 10);
        let t0 = Instant::now();
        let mut starts = Vec::new();
        let mut tasks = Vec::new();
        for n in 0..6u32 {
            let slot = pacer.reserve().unwrap();
            assert_eq!(slot.queued(), n > 0, "only the first starts at once");
            tasks.push(tokio::spawn(async move {
                slot.wait().await;
                (n, Instant::now())
            }));
        }
        for task in tasks {
            starts.push(task.await.unwrap());
        }
        for (n, at) in starts {
            assert_eq!(at - t0, Duration::from_millis(250) * n, "dial {n}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_refuses_and_frees_as_dials_start() {
        let pacer = Pacer::new(1, 2);
        let first = pacer.reserve().unwrap();
        assert!(!first.queued());
        let a = pacer.reserve().unwrap();
        let b = pacer.reserve().unwrap();
        assert_eq!(pacer.reserve().err(), Some(QueueFull(2)));
        a.wait().await;
        let c = pacer.reserve().expect("a started: room again");
        assert!(c.queued());
        drop((first, b, c));
        // Idle for a while: the next dial starts at once again.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!pacer.reserve().unwrap().queued());
    }
}
