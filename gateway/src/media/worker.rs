//! A media worker: one thread owning a shard of the rooms and all their legs.
//!
//! Every 20 ms it polls its epoll for the legs' sockets that something
//! arrived on (see [`super::readiness`]) and ticks each of its rooms (see
//! [`super::room`]), but for rooms asleep with nothing to do, which cost it
//! only a look at their [`Doze`] card. Commands from
//! the control plane arrive on a wait-free SPSC ring and are applied between
//! ticks; leaving legs, closed rooms, digits and speech changes go back on
//! another ring, which the control plane polls: the worker never wakes (and
//! so never waits for) anyone. Rooms are built by the control plane and
//! handed back to it when closed, so their buffers are never allocated or
//! freed here. With no rooms the thread parks, waking only to stamp its
//! heartbeat, so an idle worker costs next to no CPU; the control plane
//! unparks it after a command. Between ticks it parks with a timeout, so
//! commands never wait for a tick. Each tick is timed, and a tick that ends
//! after the next one was due is counted as an overrun (see
//! [`super::health`]). How each command is applied is in `apply`.

mod apply;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chorus_mixer::Participant;
use chorus_mixer::tone::Beep;
use rtrb::{Consumer, Producer};

use super::health::{IDLE_HEARTBEAT, WorkerStats};
use super::leg::{Leg, LegId};
use super::readiness::Readiness;
use super::room::private::RetiredSound;
use super::room::tracks::TrackChange;
use super::room::{Doze, LegSignal, MediaRoom, MusicSlot, RetiredMusic};
use chorus_mixer::clip::Clip;
use chorus_recorder::Tap;

/// Identifies a room (one MPC's media) inside the media plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomKey(pub u64);

/// Control plane → worker.
pub enum Command {
    /// Take charge of a new room (built by the control plane).
    Open {
        /// Its key.
        room: RoomKey,
        /// The room.
        media_room: Box<MediaRoom>,
    },
    /// Hand a room back (any legs still in it leave first).
    Close {
        /// Its key.
        room: RoomKey,
    },
    /// Put a leg into an open room (it comes straight back if the room is
    /// full or not open).
    Join {
        /// The room.
        room: RoomKey,
        /// The leg's id.
        leg_id: LegId,
        /// The leg itself, moved into the worker.
        leg: Box<Leg>,
        /// Role, mute, hold, coach mode.
        participant: Participant,
        /// Start the MPC with this join (`startMpcOnEnter`).
        start: bool,
        /// Bridge sound for the entrance, if any.
        enter: Option<Beep>,
    },
    /// Take a leg out of its room and hand it back.
    Leave {
        /// The leg's id.
        leg_id: LegId,
        /// Bridge sound for the exit, if any.
        exit: Option<Beep>,
    },
    /// Change a participant's role, mute, hold or coach mode.
    Update {
        /// The leg's id.
        leg_id: LegId,
        /// The new state.
        participant: Participant,
    },
    /// Replace one of a room's musics with a loaded clip, or silence.
    Music {
        /// The room (ignored if it is gone).
        room: RoomKey,
        /// Which music.
        slot: MusicSlot,
        /// The clip; `None`: silence.
        clip: Option<Arc<Clip>>,
    },
    /// Start a room's MPC without a join (the API): its members hear each
    /// other instead of the wait music.
    Start {
        /// The room (ignored if it is gone).
        room: RoomKey,
    },
    /// Play a clip on a room's bridge (an enter or exit sound URL).
    BridgeClip {
        /// The room (ignored if it is gone).
        room: RoomKey,
        /// The sound.
        clip: Arc<Clip>,
    },
    /// Start feeding a room's recording mix to a recording.
    Record {
        /// The room (the tap comes straight back if it is gone).
        room: RoomKey,
        /// The recording's end on the media side.
        tap: Tap,
    },
    /// Pause (true) or resume feeding a room's recording.
    PauseRecording {
        /// The room (ignored if it is gone).
        room: RoomKey,
        /// Paused or not.
        paused: bool,
    },
    /// Stop feeding a room's recording: its tap comes back.
    StopRecording {
        /// The room.
        room: RoomKey,
    },
    /// Send a digit to a leg's peer as RFC 4733 events (DTMF relay).
    SendDigit {
        /// The leg's id.
        leg_id: LegId,
        /// The digit.
        digit: char,
    },
    /// Apply a renegotiated session to a leg.
    Renegotiate {
        /// The leg's id.
        leg_id: LegId,
        /// The new session.
        negotiated: Box<chorus_media::sdp::Negotiated>,
    },
    // audio to one member
    /// Play a clip to one member alone (replacing its sound, if any), or
    /// stop its sound (`None`).
    PrivateSound {
        /// The member's leg (ignored if it is in no room here).
        leg_id: LegId,
        /// The clip and its token (see [`LegSignal::AudioEnded`]).
        sound: Option<(Arc<Clip>, u64)>,
    },
    /// Change one of a member's track recordings (a stopped or refused
    /// tap comes back as [`Event::RecordingStopped`]).
    Track {
        /// The member's leg.
        leg_id: LegId,
        /// Which track.
        track: chorus_mpc::Track,
        /// What to do.
        change: TrackChange,
    },
    /// Hand every leg back and end the thread.
    Shutdown,
}

/// Worker → control plane.
pub enum Event {
    /// A leg left its room (or could not enter a full one); the control
    /// plane gives it back to its call or drops it.
    Left {
        /// The leg's id.
        leg_id: LegId,
        /// The leg, to be dropped (closing its socket) off the media thread.
        leg: Box<Leg>,
    },
    /// A recording's tap, no longer fed (stopped, or its room is gone);
    /// dropping it, off the media thread, ends the recording.
    RecordingStopped(Tap),
    /// A music a room no longer plays, to be dropped off the media thread.
    MusicRetired(RetiredMusic),
    /// A member's own sound, replaced, stopped or left with its member, to
    /// be dropped off the media thread.
    SoundRetired(RetiredSound),
    /// A closed room, to be dropped (with its buffers and any recording
    /// tap, which ends the recording) off the media thread.
    Closed(Box<MediaRoom>),
    /// Something the peer did: a digit, speech starting or stopping.
    Signal {
        /// The leg's id.
        leg_id: LegId,
        /// What happened.
        signal: LegSignal,
    },
}

const TICK: Duration = Duration::from_millis(20);
/// How far behind a worker may fall before it skips ticks instead of
/// bursting them out.
const MAX_BEHIND: Duration = Duration::from_millis(100);
/// Rooms a worker holds without growing its list (more still work).
const MAX_ROOMS: usize = 4096;

/// The state one worker thread owns.
pub struct Worker {
    commands: Consumer<Command>,
    events: Producer<Event>,
    stats: Arc<WorkerStats>,
    rooms: Vec<(RoomKey, Box<MediaRoom>)>,
    /// Beside each room (same index), its card while it sleeps (see
    /// [`super::room::Doze`]): kept here, not in the room, so that sleeping
    /// rooms cost a tick no trip to their memory.
    dozing: Vec<Option<Doze>>,
    /// Which of its legs' sockets have something to read.
    readiness: Readiness,
    started: Instant,
}

impl Worker {
    /// A worker taking commands from `commands`, reporting on `events` (the
    /// control plane polls it), keeping its figures in `stats` and watching
    /// up to `legs` sockets for readiness (more are read every tick). Fails
    /// only if the kernel will not make an epoll.
    pub fn new(
        commands: Consumer<Command>,
        events: Producer<Event>,
        stats: Arc<WorkerStats>,
        legs: usize,
    ) -> std::io::Result<Self> {
        Ok(Self {
            commands,
            events,
            stats,
            // Opening a room pushes here: sized so that it never grows on
            // this thread in practice (16 bytes a room).
            rooms: Vec::with_capacity(MAX_ROOMS),
            dozing: Vec::with_capacity(MAX_ROOMS),
            readiness: Readiness::new(legs)?,
            started: Instant::now(),
        })
    }

    /// Runs until [`Command::Shutdown`]; the caller drops the worker.
    pub fn run(&mut self) {
        let mut next_tick = Instant::now();
        loop {
            self.stats.beat(Instant::now());
            if !self.apply_commands() {
                return;
            }
            if self.rooms.is_empty() {
                std::thread::park_timeout(IDLE_HEARTBEAT);
                next_tick = Instant::now();
                continue;
            }
            let now = Instant::now();
            if next_tick > now {
                // Parked, not asleep: a command (a leg leaving, say) unparks
                // us and is applied at once instead of at the next tick.
                std::thread::park_timeout(next_tick - now);
                continue;
            }
            let behind = now - next_tick;
            if behind > MAX_BEHIND {
                // We fell far behind (suspended, starved): skip the missed
                // ticks instead of bursting them out, and count them.
                let missed = behind.as_nanos() / TICK.as_nanos();
                let missed = u64::try_from(missed).unwrap_or(u64::MAX);
                self.stats.skipped.fetch_add(missed, Ordering::Relaxed);
                next_tick = now;
            }
            next_tick += TICK;
            self.tick();
            let done = Instant::now();
            self.stats.tick.observe(done - now);
            if done > next_tick {
                self.stats.overruns.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn emit(&mut self, event: Event) {
        // The event ring is sized far beyond one tick's worth of events; if
        // the control plane ever stalls that long, dropping a digit is better
        // than blocking the media thread. A dropped Left leaks nothing: the
        // leg is dropped here instead, a rare syscall off the fast path.
        let _ = self.events.push(event);
    }

    /// One 20 ms step for every room of this worker.
    fn tick(&mut self) {
        let now_ms = self.started.elapsed().as_millis() as u64;
        let events = &mut self.events;
        self.readiness.poll();
        let ready = self.readiness.ready();
        let (mut foreign, mut slept) = (0, 0);
        for ((_, room), dozing) in self.rooms.iter_mut().zip(&mut self.dozing) {
            if let Some(card) = dozing {
                if card.sleeps(ready) {
                    slept += 1;
                    continue;
                }
                room.wake(*card);
            }
            foreign += room.tick(now_ms, ready, |leg_id, signal| {
                let _ = events.push(Event::Signal { leg_id, signal });
            });
            *dozing = room.doze();
        }
        if foreign > 0 {
            self.stats.foreign.fetch_add(foreign, Ordering::Relaxed);
        }
        if slept > 0 {
            self.stats.slept.fetch_add(slept, Ordering::Relaxed);
        }
    }
}
