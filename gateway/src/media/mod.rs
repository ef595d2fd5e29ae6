//! The media plane: worker threads (shard-per-core) that own rooms and legs.
//!
//! The control plane (tokio) talks to it only through [`MediaPlane`]:
//! [`MediaPlane::open_room`] builds a room (here, not on the media thread)
//! and hands it to the least loaded worker (rooms and legs placed on it,
//! counted as soon as they are sent), [`MediaPlane::bind_leg`] reserves a
//! port before the SDP answer, [`MediaPlane::join`] moves a ready leg into a
//! room, [`MediaPlane::leave`] takes it out, and dropping the [`RoomHandle`]
//! closes the room, whose buffers come back here to be freed. Each worker's
//! commands travel on a wait-free SPSC ring; the control side serialises its
//! producers with a mutex, which only control-plane tasks ever touch. What
//! comes back (left legs, digits, speech, closed rooms) travels on another
//! ring per worker, which a control-plane task polls every [`EVENT_POLL`]
//! while events flow (backing off to [`QUIET_EVENT_POLL`] while none do)
//! and any room is open, routing each event to its call through a
//! per-leg channel: the media threads never lock and never wake anyone.
//! [`MediaPlane::liveness`] tells whether every worker is still going round
//! its loop (see [`health`]).
//!
//! A worker reads only the sockets its epoll says something arrived on
//! ([`readiness`]), a listener hearing digital silence is sent a keepalive
//! every two seconds rather than every frame ([`leg::Leg::skip_silence`]),
//! and a room in which nobody sends and nobody hears anything sleeps
//! through its ticks ([`room::Doze`]): idle calls cost next to nothing.

mod commands;
mod events;
pub mod health;
pub mod leg;
pub mod ports;
pub mod readiness;
pub mod resample;
pub mod room;
pub mod worker;

use std::collections::HashMap;
use std::net::{IpAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chorus_mixer::Participant;
use chorus_mixer::tone::Beep;
use tokio::sync::{Notify, mpsc};

use events::route_events;
pub use health::Liveness;
use health::WorkerStats;
pub use leg::{Leg, LegActivity, LegId};
pub use ports::{PortPool, PortsExhausted};
use room::MediaRoom;
pub use room::tracks::TrackChange;
pub use room::{Music, MusicSlot, RoomMusic, RoomSettings};
pub use worker::RoomKey;
use worker::{Command, Worker};

/// An open room: where it lives, for the commands about it. Dropping it
/// closes the room (legs still in it are handed back first).
pub struct RoomHandle {
    plane: Arc<MediaPlane>,
    place: (usize, RoomKey),
}

impl RoomHandle {
    /// The room's worker and key.
    pub fn place(&self) -> (usize, RoomKey) {
        self.place
    }
}

impl Drop for RoomHandle {
    fn drop(&mut self) {
        let (worker, room) = self.place;
        if let Err(error) = self.plane.send(worker, Command::Close { room }) {
            tracing::error!(%error, "could not close a room");
        }
    }
}

/// What the media plane tells a call about its leg.
pub enum LegEvent {
    /// An RFC 4733 digit from the peer.
    Digit(char),
    /// The peer started (true) or stopped (false) speaking.
    Speaking(bool),
    /// The leg left its room and is handed back to the call (which may put
    /// it into another room, or drop it to close its socket).
    Left(Box<Leg>),
    /// The sound played to this leg alone with this token (see
    /// [`MediaPlane::play_to_leg`]) played to its end.
    AudioEnded(u64),
}

/// How a participant enters a room.
#[derive(Debug, Clone, Copy)]
pub struct Entrance {
    /// Role, mute, hold, coach mode.
    pub participant: Participant,
    /// The entrance starts the MPC (`startMpcOnEnter`).
    pub start: bool,
    /// Bridge sound to play, if any.
    pub sound: Option<Beep>,
}

/// Capacity of each command and event ring: far more than a tick's worth.
const RING: usize = 4096;

/// How often the control plane drains the workers' event rings while
/// events come: the longest a digit, a speech change or a leaving leg waits
/// before its call hears of it, while others came just before.
pub const EVENT_POLL: Duration = Duration::from_millis(5);
/// The same after polls found nothing (each empty poll doubles the wait up
/// to this): one tick, the pace at which rooms make events, so that a
/// thousand quiet rooms do not wake the daemon two hundred times a second.
pub const QUIET_EVENT_POLL: Duration = Duration::from_millis(20);

struct WorkerHandle {
    commands: Mutex<rtrb::Producer<Command>>,
    thread: std::thread::Thread,
    join: Mutex<Option<JoinHandle<()>>>,
    /// Rooms sent to it and not yet handed back.
    rooms: AtomicUsize,
    /// Legs sent to it and not yet handed back.
    legs: AtomicUsize,
}

impl WorkerHandle {
    /// What the worker carries: its rooms and its legs, each counted from
    /// the moment it is sent (a room costs a mix per tick even before
    /// anyone joins it).
    fn load(&self) -> usize {
        self.rooms.load(Ordering::Relaxed) + self.legs.load(Ordering::Relaxed)
    }
}

/// Handle to the media workers, shared by every call task.
pub struct MediaPlane {
    workers: Vec<WorkerHandle>,
    settings: RoomSettings,
    ports: PortPool,
    next_leg: AtomicU64,
    next_room: AtomicU64,
    /// Where each leg lives and who hears about it.
    legs: Mutex<HashMap<LegId, LegRoute>>,
    /// Wakes the event poller when the first room opens.
    activity: Arc<Notify>,
    liveness: Liveness,
}

struct LegRoute {
    worker: usize,
    events: mpsc::UnboundedSender<LegEvent>,
}

/// A command could not be delivered to a worker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The worker's command ring is full (the worker is stuck).
    #[error("media worker {worker} is not keeping up (command ring full)")]
    Backlog {
        /// Index of the worker.
        worker: usize,
    },
    /// The leg is not (or no longer) in the media plane.
    #[error("{0} is not in the media plane")]
    UnknownLeg(LegId),
}

impl MediaPlane {
    /// Starts `workers` media threads whose rooms mix and send as
    /// `settings` say, with RTP ports taken from `port_min..=port_max` on
    /// `ip`.
    pub fn start(
        workers: usize,
        settings: RoomSettings,
        ip: IpAddr,
        port_min: u16,
        port_max: u16,
    ) -> std::io::Result<Arc<Self>> {
        let mut handles = Vec::with_capacity(workers);
        let mut event_rings = Vec::with_capacity(workers);
        let mut stats = Vec::with_capacity(workers);
        for index in 0..workers {
            let (cmd_tx, cmd_rx) = rtrb::RingBuffer::new(RING);
            let (evt_tx, evt_rx) = rtrb::RingBuffer::new(RING);
            let worker_stats = Arc::new(WorkerStats::new());
            // A worker never holds more legs than there are ports.
            let ports = usize::from(port_max.saturating_sub(port_min)) + 1;
            let worker = Worker::new(cmd_rx, evt_tx, worker_stats.clone(), ports)?;
            let join = std::thread::Builder::new()
                .name(format!("chorus-media-{index}"))
                .spawn(move || {
                    let mut worker = worker;
                    worker.run();
                })?;
            handles.push(WorkerHandle {
                commands: Mutex::new(cmd_tx),
                thread: join.thread().clone(),
                join: Mutex::new(Some(join)),
                rooms: AtomicUsize::new(0),
                legs: AtomicUsize::new(0),
            });
            event_rings.push(evt_rx);
            stats.push(worker_stats);
        }
        let activity = Arc::new(Notify::new());
        let plane = Arc::new(Self {
            workers: handles,
            settings,
            ports: PortPool::new(ip, port_min, port_max),
            next_leg: AtomicU64::new(1),
            next_room: AtomicU64::new(1),
            legs: Mutex::new(HashMap::new()),
            activity: activity.clone(),
            liveness: Liveness::new(stats),
        });
        tokio::spawn(route_events(Arc::downgrade(&plane), event_rings, activity));
        Ok(plane)
    }

    /// Every worker's heartbeat and tick figures.
    pub fn liveness(&self) -> Liveness {
        self.liveness.clone()
    }

    /// Reserves an RTP socket for a new leg (its port goes in the SDP answer).
    pub fn bind_leg(&self) -> Result<UdpSocket, PortsExhausted> {
        self.ports.bind()
    }

    /// A fresh leg id.
    pub fn next_leg_id(&self) -> LegId {
        LegId(self.next_leg.fetch_add(1, Ordering::Relaxed))
    }

    /// Opens a room playing `music` on the least loaded worker; it closes
    /// when the handle is dropped. The room's buffers are allocated here,
    /// on the control plane.
    pub fn open_room(self: &Arc<Self>, music: &RoomMusic) -> RoomHandle {
        let worker = (0..self.workers.len())
            .min_by_key(|&i| self.workers[i].load())
            .unwrap_or(0);
        let room = RoomKey(self.next_room.fetch_add(1, Ordering::Relaxed));
        let media_room = Box::new(MediaRoom::new(&self.settings, music));
        match self.send(worker, Command::Open { room, media_room }) {
            Ok(()) => {
                self.workers[worker].rooms.fetch_add(1, Ordering::Relaxed);
                self.activity.notify_one();
            }
            // Joins to it then come straight back, as to a full room.
            Err(error) => tracing::error!(%error, "could not open a room"),
        }
        RoomHandle {
            plane: self.clone(),
            place: (worker, room),
        }
    }

    /// Moves `leg` into `room` on `worker` as `participant`, starting the
    /// MPC if `start` and playing `enter` on the bridge. Events about the
    /// leg arrive on the returned receiver until [`LegEvent::Left`] (which
    /// comes at once if the room is full or closed).
    pub fn join(
        &self,
        (worker, room): (usize, RoomKey),
        leg_id: LegId,
        leg: Box<Leg>,
        entrance: Entrance,
    ) -> Result<mpsc::UnboundedReceiver<LegEvent>, MediaError> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock_legs()
            .insert(leg_id, LegRoute { worker, events: tx });
        let command = Command::Join {
            room,
            leg_id,
            leg,
            participant: entrance.participant,
            start: entrance.start,
            enter: entrance.sound,
        };
        if let Err(e) = self.send(worker, command) {
            self.lock_legs().remove(&leg_id);
            return Err(e);
        }
        self.workers[worker].legs.fetch_add(1, Ordering::Relaxed);
        Ok(rx)
    }

    /// Takes a leg out of its room, playing `exit` to those who stay;
    /// [`LegEvent::Left`] follows.
    pub fn leave(&self, leg_id: LegId, exit: Option<Beep>) -> Result<(), MediaError> {
        let worker = self.worker_of(leg_id)?;
        self.send(worker, Command::Leave { leg_id, exit })
    }

    /// Stops every worker (their legs are released) and waits for them.
    pub fn shutdown(&self) {
        for (i, _) in self.workers.iter().enumerate() {
            let _ = self.send(i, Command::Shutdown);
        }
        for w in &self.workers {
            let join = w.join.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(join) = join {
                let _ = join.join();
            }
        }
    }

    fn worker_of(&self, leg_id: LegId) -> Result<usize, MediaError> {
        self.lock_legs()
            .get(&leg_id)
            .map(|r| r.worker)
            .ok_or(MediaError::UnknownLeg(leg_id))
    }

    fn send(&self, worker: usize, command: Command) -> Result<(), MediaError> {
        let handle = &self.workers[worker];
        handle
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(command)
            .map_err(|_| MediaError::Backlog { worker })?;
        handle.thread.unpark();
        Ok(())
    }

    fn lock_legs(&self) -> std::sync::MutexGuard<'_, HashMap<LegId, LegRoute>> {
        self.legs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn plane(workers: usize) -> Arc<MediaPlane> {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (min, max) = chorus_tests::ports::udp_range(2);
        MediaPlane::start(workers, RoomSettings::default(), ip, min, max).unwrap()
    }

    #[tokio::test]
    async fn a_burst_of_new_rooms_is_spread_over_the_workers() {
        let plane = plane(2);
        // Nobody has joined any of them yet: each still costs its worker a
        // mix per tick, so they must not all land on the first worker.
        let rooms: Vec<RoomHandle> = (0..10)
            .map(|_| plane.open_room(&RoomMusic::default()))
            .collect();
        let on_first = rooms.iter().filter(|r| r.place().0 == 0).count();
        assert_eq!(on_first, 5, "10 new rooms over 2 workers");
        drop(rooms);
        plane.shutdown();
    }

    #[tokio::test]
    async fn a_worker_that_stops_going_round_its_loop_is_reported_stalled() {
        let plane = plane(2);
        let liveness = plane.liveness();
        let max_silence = health::IDLE_HEARTBEAT * 2;
        // Idle workers still beat.
        tokio::time::sleep(max_silence + health::IDLE_HEARTBEAT).await;
        assert_eq!(liveness.stalled(max_silence), Vec::<usize>::new());
        // Worker 1's thread ends (as if it had died); worker 0 goes on.
        plane.send(1, Command::Shutdown).unwrap();
        tokio::time::sleep(max_silence + health::IDLE_HEARTBEAT).await;
        assert_eq!(liveness.stalled(max_silence), vec![1]);
        plane.shutdown();
    }
}
