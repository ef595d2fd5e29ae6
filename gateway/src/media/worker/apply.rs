//! How a worker applies the control plane's commands, between ticks: each
//! finds its room or leg, and one addressed to a room or leg that is gone
//! is ignored, or its payload (a leg, a tap, a clip) handed straight back
//! as an [`Event`] to be dropped off the media thread. Apart from the loop
//! because the loop's contract (timing, parking, overruns) does not depend
//! on what the commands are.

use chorus_mixer::Participant;
use chorus_mixer::tone::Beep;

use super::{Command, Event, RoomKey, Worker};
use crate::media::leg::{Leg, LegId};
use crate::media::room::MediaRoom;
use crate::media::room::private::RetiredSound;

impl Worker {
    /// Applies queued commands; false once told to shut down.
    pub(super) fn apply_commands(&mut self) -> bool {
        if self.commands.is_empty() {
            return true;
        }
        // Whatever they are, they may change what someone hears: every
        // sleeping room ticks again (and goes back to sleep if not).
        for ((_, room), dozing) in self.rooms.iter_mut().zip(&mut self.dozing) {
            if let Some(card) = dozing.take() {
                room.wake(card);
            }
        }
        while let Ok(command) = self.commands.pop() {
            match command {
                Command::Open { room, media_room } => {
                    self.rooms.push((room, media_room));
                    self.dozing.push(None);
                }
                Command::Close { room } => {
                    if let Some(index) = self.rooms.iter().position(|(k, _)| *k == room) {
                        let (_, mut closed) = self.rooms.swap_remove(index);
                        // Awake, as every room is while commands apply.
                        self.dozing.swap_remove(index);
                        loop {
                            let Some(leg_id) = closed.leg_ids().next() else {
                                break;
                            };
                            for tap in closed.stop_tracks(leg_id).into_iter().flatten() {
                                self.emit(Event::RecordingStopped(tap));
                            }
                            if let Some(mut leg) = closed.leave(leg_id) {
                                leg.unwatch(&mut self.readiness);
                                self.emit(Event::Left { leg_id, leg });
                            }
                        }
                        self.emit(Event::Closed(closed));
                    }
                }
                Command::Join {
                    room,
                    leg_id,
                    leg,
                    participant,
                    start,
                    enter,
                } => {
                    let entrance = (participant, start, enter);
                    if let Err(leg) = self.join(room, leg_id, leg, entrance) {
                        self.emit(Event::Left { leg_id, leg });
                    }
                }
                Command::Leave { leg_id, exit } => {
                    if let Some(leg) = self.leave(leg_id, exit) {
                        self.emit(Event::Left { leg_id, leg });
                    }
                }
                Command::Update {
                    leg_id,
                    participant,
                } => {
                    if let Some((_, room)) = self.room_of(leg_id) {
                        room.update(leg_id, participant);
                    }
                }
                Command::Music { room, slot, clip } => {
                    if let Some((_, r)) = self.rooms.iter_mut().find(|(k, _)| *k == room) {
                        let retired = r.set_music(slot, clip);
                        self.emit(Event::MusicRetired(retired));
                    }
                }
                Command::Start { room } => {
                    if let Some((_, r)) = self.rooms.iter_mut().find(|(k, _)| *k == room) {
                        r.start();
                    }
                }
                Command::BridgeClip { room, clip } => {
                    if let Some((_, r)) = self.rooms.iter_mut().find(|(k, _)| *k == room) {
                        r.play_bridge_clip(clip);
                    }
                }
                Command::Record { room, tap } => {
                    let old = match self.rooms.iter_mut().find(|(k, _)| *k == room) {
                        Some((_, r)) => r.record(tap),
                        None => Some(tap),
                    };
                    if let Some(old) = old {
                        self.emit(Event::RecordingStopped(old));
                    }
                }
                Command::PauseRecording { room, paused } => {
                    if let Some((_, r)) = self.rooms.iter_mut().find(|(k, _)| *k == room) {
                        r.pause_recording(paused);
                    }
                }
                Command::StopRecording { room } => {
                    let tap = self
                        .rooms
                        .iter_mut()
                        .find(|(k, _)| *k == room)
                        .and_then(|(_, r)| r.stop_recording());
                    if let Some(tap) = tap {
                        self.emit(Event::RecordingStopped(tap));
                    }
                }
                Command::SendDigit { leg_id, digit } => {
                    // Dropped without a word (no logging on the media
                    // thread; the control plane logged the relay) if the
                    // peer negotiated no telephone-event or too many wait.
                    if let Some(m) = self.room_of(leg_id).and_then(|(_, r)| r.member_mut(leg_id)) {
                        let _ = m.leg.send_digit(digit);
                    }
                }
                Command::Renegotiate { leg_id, negotiated } => {
                    if let Some(m) = self.room_of(leg_id).and_then(|(_, r)| r.member_mut(leg_id)) {
                        m.leg.renegotiate(&negotiated);
                    }
                }
                Command::PrivateSound { leg_id, sound } => {
                    let retired = match (self.room_of(leg_id), sound) {
                        (Some((_, r)), Some((clip, token))) => r.play_private(leg_id, clip, token),
                        (Some((_, r)), None) => r.stop_private(leg_id),
                        (None, Some((clip, _))) => Some(RetiredSound::unplayed(clip)),
                        (None, None) => None,
                    };
                    if let Some(retired) = retired {
                        self.emit(Event::SoundRetired(retired));
                    }
                }
                Command::Track {
                    leg_id,
                    track,
                    change,
                } => {
                    let back = match self.room_of(leg_id) {
                        Some((_, room)) => room.change_track(leg_id, track, change),
                        None => change.into_tap(),
                    };
                    if let Some(tap) = back {
                        self.emit(Event::RecordingStopped(tap));
                    }
                }
                Command::Shutdown => {
                    let ids: Vec<LegId> =
                        self.rooms.iter().flat_map(|(_, r)| r.leg_ids()).collect();
                    for leg_id in ids {
                        if let Some(leg) = self.leave(leg_id, None) {
                            self.emit(Event::Left { leg_id, leg });
                        }
                    }
                    return false;
                }
            }
        }
        true
    }

    fn join(
        &mut self,
        key: RoomKey,
        leg_id: LegId,
        mut leg: Box<Leg>,
        (participant, start, enter): (Participant, bool, Option<Beep>),
    ) -> Result<(), Box<Leg>> {
        let Some((_, room)) = self.rooms.iter_mut().find(|(k, _)| *k == key) else {
            return Err(leg);
        };
        leg.watch(&mut self.readiness);
        if let Err(mut leg) = room.join(leg_id, leg, participant) {
            leg.unwatch(&mut self.readiness);
            return Err(leg);
        }
        if start {
            room.start();
        }
        if let Some(beep) = enter {
            room.play_bridge(beep);
        }
        Ok(())
    }

    fn leave(&mut self, leg_id: LegId, exit: Option<Beep>) -> Option<Box<Leg>> {
        let (_, room) = self.rooms.iter_mut().find(|(_, r)| r.has(leg_id))?;
        let sound = room.stop_private(leg_id);
        for tap in room.stop_tracks(leg_id).into_iter().flatten() {
            let _ = self.events.push(Event::RecordingStopped(tap));
        }
        let mut leg = room.leave(leg_id);
        if let Some(leg) = &mut leg {
            leg.unwatch(&mut self.readiness);
        }
        if let Some(beep) = exit.filter(|_| !room.is_empty()) {
            room.play_bridge(beep);
        }
        if let Some(sound) = sound {
            self.emit(Event::SoundRetired(sound));
        }
        leg
    }

    fn room_of(&mut self, leg_id: LegId) -> Option<&mut (RoomKey, Box<MediaRoom>)> {
        self.rooms.iter_mut().find(|(_, r)| r.has(leg_id))
    }
}
