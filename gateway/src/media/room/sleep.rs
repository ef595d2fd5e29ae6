//! A room with nothing to do sleeps through its ticks.
//!
//! After a tick in which nobody sent anything, every member heard digital
//! silence (and so was sent no packet, see [`Leg::skip_silence`]), and
//! nothing plays (no bridge sound, no wait or hold music anyone hears, no
//! sound of a member's own, no recording), the next ticks would do the same
//! again: read no socket, mix silence and send nothing. So the room hands
//! its worker a [`Doze`] card, kept inline in the worker's list of rooms,
//! and while it sleeps the worker reads only that card and the epoll marks
//! of its members' sockets, never the room itself (at a thousand rooms,
//! touching each one's memory every tick would cost more than the rest).
//! The room wakes for a tick when a member's socket has something to read,
//! when a member is owed its keepalive packet (one every two seconds), or when the
//! worker applies commands (which may change what anyone hears); waking
//! first moves each leg's RTP clock on by the ticks slept, so timestamps
//! stay true.
//!
//! This is what makes 1,000 MPCs of one silent caller cost next to nothing.
//!
//! [`Leg::skip_silence`]: crate::media::leg::Leg::skip_silence

use super::{MediaRoom, ROOM_CAPACITY};
use crate::media::readiness::{ReadySet, Slot};

/// A sleeping room's card: how long it has slept and may sleep, and which
/// sockets would wake it.
#[derive(Debug, Clone, Copy)]
pub struct Doze {
    /// Ticks slept so far.
    slept: u32,
    /// Ticks it may sleep before a member is owed a keepalive.
    budget: u32,
    slots: [Slot; ROOM_CAPACITY],
    members: usize,
}

impl Doze {
    /// Whether the room sleeps through this tick too (counted if so): no
    /// member's socket is marked and no keepalive is due.
    pub fn sleeps(&mut self, ready: &ReadySet) -> bool {
        if self.slept >= self.budget
            || self.slots[..self.members]
                .iter()
                .any(|&slot| ready.is_marked(slot))
        {
            return false;
        }
        self.slept += 1;
        true
    }
}

impl MediaRoom {
    /// After a tick: a card to sleep on, if nothing will happen in this
    /// room until a member sends something or a command comes.
    pub fn doze(&self) -> Option<Doze> {
        if !self.quiet {
            return None;
        }
        let mut slots = [Slot::default(); ROOM_CAPACITY];
        for (slot, m) in slots.iter_mut().zip(&self.members) {
            *slot = m.slot?;
        }
        let budget = self
            .members
            .iter()
            .map(|m| m.leg.silence_budget())
            .min()
            .unwrap_or(u32::MAX);
        Some(Doze {
            slept: 0,
            budget,
            slots,
            members: self.members.len(),
        })
    }

    /// Ends a sleep before the room's next tick or a command to it: every
    /// leg's clock moves on by the ticks slept.
    pub fn wake(&mut self, card: Doze) {
        if card.slept > 0 {
            for m in &mut self.members {
                m.leg.skip_silent_frames(card.slept);
            }
        }
    }

    /// At the end of a tick in which every member's frame went unsent as
    /// silence (`all_skipped`): whether the room may sleep from now on.
    pub(super) fn settle(&mut self, all_skipped: bool) {
        let anyone_hears = !self.members.is_empty()
            && (!all_skipped || !self.mixer.started() || self.anyone_held());
        let playing = self.recording.is_some() || self.bridge.iter().any(Option::is_some);
        let members_quiet = self.members.iter().all(|m| {
            m.slot.is_some()
                && m.private.is_none()
                && m.tracks.is_empty()
                && !m.vad.is_speaking()
                && m.leg.is_quiet()
        });
        self.quiet = !anyone_hears && !playing && members_quiet;
    }
}
