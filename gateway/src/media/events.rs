//! The way back from the media threads: each worker's event ring, drained
//! by one control-plane task, each event routed to the call its leg belongs
//! to (or, for what a worker hands back to be freed, dropped here). Apart
//! from [`MediaPlane`]'s commands because it runs on its own, for as long as
//! the plane lives, and is the only reader of the event rings.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::Notify;

use super::room::LegSignal;
use super::worker::Event;
use super::{EVENT_POLL, LegEvent, MediaPlane, QUIET_EVENT_POLL};

impl MediaPlane {
    /// Rooms open on every worker (counted until they are handed back).
    fn rooms_open(&self) -> usize {
        self.workers
            .iter()
            .map(|w| w.rooms.load(Ordering::Relaxed))
            .sum()
    }

    fn on_event(&self, worker: usize, event: Event) {
        match event {
            // Dropped here, on the control plane: the writer thread sees
            // the tap gone, drains the ring and finalises the file.
            Event::RecordingStopped(tap) => drop(tap),
            Event::Closed(room) => {
                self.workers[worker].rooms.fetch_sub(1, Ordering::Relaxed);
                drop(room);
            }
            Event::MusicRetired(music) => drop(music),
            Event::SoundRetired(sound) => drop(sound),
            Event::Signal { leg_id, signal } => {
                let event = match signal {
                    LegSignal::Digit(digit) => LegEvent::Digit(digit),
                    LegSignal::Speaking(on) => LegEvent::Speaking(on),
                    LegSignal::AudioEnded(token) => LegEvent::AudioEnded(token),
                };
                if let Some(route) = self.lock_legs().get(&leg_id) {
                    let _ = route.events.send(event);
                }
            }
            Event::Left { leg_id, leg } => {
                self.workers[worker].legs.fetch_sub(1, Ordering::Relaxed);
                // If the call is gone, the send fails and the leg drops here,
                // on the control plane, closing its socket.
                if let Some(route) = self.lock_legs().remove(&leg_id) {
                    let _ = route.events.send(LegEvent::Left(leg));
                }
            }
        }
    }
}

/// Drains the workers' event rings every [`EVENT_POLL`] while events come
/// (backing off to [`QUIET_EVENT_POLL`] while none do) and a room is open,
/// and sleeps until one opens otherwise (an idle daemon polls nothing).
/// Polled rather than woken: a media thread must not take the locks and
/// syscalls of waking a task.
pub(super) async fn route_events(
    plane: std::sync::Weak<MediaPlane>,
    mut rings: Vec<rtrb::Consumer<Event>>,
    activity: Arc<Notify>,
) {
    let mut wait = EVENT_POLL;
    loop {
        let Some(plane) = plane.upgrade() else { return };
        let mut any = false;
        for (worker, ring) in rings.iter_mut().enumerate() {
            while let Ok(event) = ring.pop() {
                plane.on_event(worker, event);
                any = true;
            }
        }
        wait = match any {
            true => EVENT_POLL,
            false => (wait * 2).min(QUIET_EVENT_POLL),
        };
        // A room's last event is its Closed: with none open, nothing more
        // can come until the next one opens.
        let idle = plane.rooms_open() == 0;
        drop(plane);
        if idle {
            activity.notified().await;
            wait = EVENT_POLL;
        } else {
            tokio::time::sleep(wait).await;
        }
    }
}
