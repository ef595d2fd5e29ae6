//! A media worker: one thread owning a shard of the rooms and all their legs.
//!
//! Every 20 ms it reads each leg's socket, plays out each jitter buffer into
//! the room's mixer, mixes, encodes and sends. Commands from the control plane
//! arrive on a wait-free SPSC ring and are applied between ticks; leaving legs
//! and digits go back on another ring. With no legs the thread parks, so an
//! idle worker costs no CPU; the control plane unparks it after a command.
//! Between ticks it parks with a timeout, so commands never wait for a tick.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chorus_mixer::{ChannelId, Room};
use rtrb::{Consumer, Producer};
use tokio::sync::Notify;

use super::leg::{FRAME_8K, Leg, LegId};
use super::resample::{downsample_2x, upsample_2x};

/// Identifies a room (one MPC's media) inside the media plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomKey(pub u64);

/// Control plane → worker.
pub enum Command {
    /// Put a leg into a room (created on first use).
    Join {
        /// The room.
        room: RoomKey,
        /// The leg's id.
        leg_id: LegId,
        /// The leg itself, moved into the worker.
        leg: Box<Leg>,
    },
    /// Take a leg out of its room and hand it back.
    Leave {
        /// The leg's id.
        leg_id: LegId,
    },
    /// Apply a renegotiated session to a leg.
    Renegotiate {
        /// The leg's id.
        leg_id: LegId,
        /// The new session.
        negotiated: Box<chorus_media::sdp::Negotiated>,
    },
    /// Hand every leg back and end the thread.
    Shutdown,
}

/// Worker → control plane.
pub enum Event {
    /// A leg left its room; drop it on the control plane.
    Left {
        /// The leg's id.
        leg_id: LegId,
        /// The leg, to be dropped (closing its socket) off the media thread.
        leg: Box<Leg>,
    },
    /// The peer sent an RFC 4733 digit.
    Digit {
        /// The leg's id.
        leg_id: LegId,
        /// 0-9, *, #, A-D.
        digit: char,
    },
}

const TICK: Duration = Duration::from_millis(20);

struct Member {
    leg_id: LegId,
    channel: ChannelId,
    leg: Box<Leg>,
    /// Last input sample, for smooth 8→16 kHz interpolation across frames.
    last_sample: i16,
}

struct WorkerRoom {
    key: RoomKey,
    mixer: Room,
    members: Vec<Member>,
}

/// The state one worker thread owns.
pub struct Worker {
    commands: Consumer<Command>,
    events: Producer<Event>,
    wake_control: Arc<Notify>,
    rooms: Vec<WorkerRoom>,
    /// Mixer frame length: 160 at 8 kHz, 320 at 16 kHz.
    mix_frame: usize,
    pcm: Box<[i16]>,
    started: Instant,
}

impl Worker {
    /// A worker mixing at `sample_rate` (8000 or 16000).
    pub fn new(
        commands: Consumer<Command>,
        events: Producer<Event>,
        wake_control: Arc<Notify>,
        sample_rate: u32,
    ) -> Self {
        let mix_frame = (sample_rate / 50) as usize;
        Self {
            commands,
            events,
            wake_control,
            rooms: Vec::with_capacity(64),
            mix_frame,
            pcm: vec![0; FRAME_8K].into_boxed_slice(),
            started: Instant::now(),
        }
    }

    /// Runs until [`Command::Shutdown`].
    pub fn run(mut self) {
        let mut next_tick = Instant::now();
        loop {
            if !self.apply_commands() {
                return;
            }
            if self.rooms.is_empty() {
                std::thread::park();
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
            if now - next_tick > TICK * 5 {
                // We fell far behind (suspended, overloaded): resynchronise
                // instead of bursting out the missed ticks.
                next_tick = now;
            }
            next_tick += TICK;
            self.tick();
        }
    }

    /// Applies queued commands; false once told to shut down.
    fn apply_commands(&mut self) -> bool {
        let mut signalled = false;
        while let Ok(command) = self.commands.pop() {
            match command {
                Command::Join { room, leg_id, leg } => self.join(room, leg_id, leg),
                Command::Leave { leg_id } => {
                    if let Some(leg) = self.leave(leg_id) {
                        self.emit(Event::Left { leg_id, leg });
                        signalled = true;
                    }
                }
                Command::Renegotiate { leg_id, negotiated } => {
                    if let Some(m) = self.member_mut(leg_id) {
                        m.leg.renegotiate(&negotiated);
                    }
                }
                Command::Shutdown => {
                    let ids: Vec<LegId> = self
                        .rooms
                        .iter()
                        .flat_map(|r| r.members.iter().map(|m| m.leg_id))
                        .collect();
                    for leg_id in ids {
                        if let Some(leg) = self.leave(leg_id) {
                            self.emit(Event::Left { leg_id, leg });
                        }
                    }
                    self.wake_control.notify_one();
                    return false;
                }
            }
        }
        if signalled {
            self.wake_control.notify_one();
        }
        true
    }

    fn emit(&mut self, event: Event) {
        // The event ring is sized far beyond one tick's worth of events; if
        // the control plane ever stalls that long, dropping a digit is better
        // than blocking the media thread. A dropped Left leaks nothing: the
        // leg is dropped here instead, a rare syscall off the fast path.
        let _ = self.events.push(event);
    }

    fn join(&mut self, key: RoomKey, leg_id: LegId, leg: Box<Leg>) {
        let index = match self.rooms.iter().position(|r| r.key == key) {
            Some(i) => i,
            None => {
                self.rooms.push(WorkerRoom {
                    key,
                    mixer: Room::new(self.mix_frame),
                    members: Vec::with_capacity(16),
                });
                self.rooms.len() - 1
            }
        };
        let room = &mut self.rooms[index];
        let channel = room.mixer.join();
        room.members.push(Member {
            leg_id,
            channel,
            leg,
            last_sample: 0,
        });
    }

    fn leave(&mut self, leg_id: LegId) -> Option<Box<Leg>> {
        for (ri, room) in self.rooms.iter_mut().enumerate() {
            if let Some(mi) = room.members.iter().position(|m| m.leg_id == leg_id) {
                let member = room.members.swap_remove(mi);
                room.mixer.leave(member.channel);
                if room.members.is_empty() {
                    self.rooms.swap_remove(ri);
                }
                return Some(member.leg);
            }
        }
        None
    }

    fn member_mut(&mut self, leg_id: LegId) -> Option<&mut Member> {
        self.rooms
            .iter_mut()
            .flat_map(|r| r.members.iter_mut())
            .find(|m| m.leg_id == leg_id)
    }

    /// One 20 ms step for every room of this worker.
    fn tick(&mut self) {
        let now_ms = self.started.elapsed().as_millis() as u64;
        let wide = self.mix_frame != FRAME_8K;
        let mut digits = false;
        for room in &mut self.rooms {
            for m in &mut room.members {
                let events = &mut self.events;
                let leg_id = m.leg_id;
                m.leg.receive(now_ms, |digit| {
                    let _ = events.push(Event::Digit { leg_id, digit });
                    digits = true;
                });
                let channel = room.mixer.channel_mut(m.channel);
                if !m.leg.play_out(now_ms, &mut self.pcm) {
                    channel.set_silent();
                } else if wide {
                    upsample_2x(&self.pcm, &mut m.last_sample, channel.input_mut());
                } else {
                    channel.input_mut().copy_from_slice(&self.pcm);
                }
            }
            room.mixer.mix();
            for m in &mut room.members {
                let heard = room.mixer.channel(m.channel).output();
                if wide {
                    downsample_2x(heard, &mut self.pcm);
                    m.leg.send(&self.pcm);
                } else {
                    m.leg.send(heard);
                }
            }
        }
        if digits {
            self.wake_control.notify_one();
        }
    }
}
