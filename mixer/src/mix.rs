//! The O(N) mix and its outputs.
//!
//! Under Plivo's rule a listener that hears the room hears one of two sums:
//! everyone (agents and supervisors), or everyone but coaching supervisors
//! (customers). So a tick sums each audible talker once into one of two i32
//! accumulators, adds the bridge, and gives each listener its base sum minus
//! its own voice. Listeners who add nothing of their own (no audible voice,
//! no private audio) hear exactly their base: they share one output buffer
//! and one [`MixGroup`], which is what lets the gateway encode once per group.

use crate::hearing::{HoldMusic, Role};
use crate::kernel::body;
use crate::room::{ChannelId, Feed, Room};

/// The outputs that whole groups of listeners share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Shared {
    /// Before the start: the wait music.
    Wait = 0,
    /// Held agents and supervisors.
    AgentHold = 1,
    /// Held customers.
    CustomerHold = 2,
    /// Agents and supervisors (and customers while no coach talks); it is
    /// also the recording mix.
    Everyone = 3,
    /// Customers while a coaching supervisor talks.
    CustomerSide = 4,
}

impl Shared {
    pub(crate) const COUNT: usize = 5;
}

/// Where the last mix put a slot's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    /// No participant in the slot: silence.
    Vacant,
    /// A buffer shared with every listener in the same group.
    Shared(Shared),
    /// The slot's own output buffer.
    Own,
}

/// Listeners with equal groups received byte-identical output in the last
/// mix, so the gateway encodes once per group and codec. Only meaningful
/// within one tick; different groups may still happen to be equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MixGroup(Group);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Group {
    Silent,
    Shared(Shared),
    Own(u32),
}

impl MixGroup {
    /// Whether other listeners may share this output (false for a
    /// participant with a mix of its own).
    pub fn is_shared(self) -> bool {
        !matches!(self.0, Group::Own(_))
    }
}

/// A room sum that listeners hear, in i32 and clipped to i16.
#[derive(Clone, Copy)]
struct Base<'a> {
    sum: &'a [i32],
    clipped: &'a [i16],
    /// No sample saturated, so `clipped` equals `sum` and the i16 kernels
    /// (saturating subtract/add of one more i16) are exact.
    exact: bool,
}

/// What a listener hears before its private audio is added.
enum Heard<'a> {
    /// Wait or hold music (`None`: none was written this tick).
    Music(Option<&'a [i16]>),
    /// The room: a base sum, minus the listener's voice when it is in it.
    Room {
        base: Base<'a>,
        own: Option<&'a [i16]>,
    },
}

/// Talkers waiting to be summed four at a time: one pass over the i32 sum
/// (twice the bytes of a voice) per four voices.
struct Batch<'a> {
    voices: [&'a [i16]; 4],
    len: usize,
    /// Whether `sum` holds anything yet this tick; the first pass writes it
    /// instead of zeroing it and adding.
    started: bool,
}

impl<'a> Batch<'a> {
    const EMPTY: Self = Batch {
        voices: [&[]; 4],
        len: 0,
        started: false,
    };

    #[inline(always)]
    fn push(&mut self, sum: &mut [i32], voice: &'a [i16]) {
        self.voices[self.len] = voice;
        self.len += 1;
        if self.len == 4 {
            if self.started {
                body::accumulate4(sum, self.voices);
            } else {
                body::sum4(sum, self.voices);
            }
            self.started = true;
            self.len = 0;
        }
    }

    /// Adds the remaining voices; returns whether any voice was summed.
    #[inline(always)]
    fn flush(&mut self, sum: &mut [i32]) -> bool {
        for voice in &self.voices[..self.len] {
            if self.started {
                body::accumulate(sum, voice);
            } else {
                body::widen(sum, voice);
            }
            self.started = true;
        }
        self.len = 0;
        self.started
    }
}

impl Room {
    /// Mixes one tick from what was written since the last mix; unwritten
    /// inputs are silence. O(N), allocation-free, and total: no participant
    /// state makes it panic.
    pub fn mix(&mut self) {
        // The whole pass, not each kernel, is dispatched: the loops below
        // are compiled once per instruction set with the sample kernels
        // inlined, so a tick makes one indirect call instead of one per
        // participant per kernel.
        (self.kernels.mix_pass())(self)
    }

    /// What the participant heard in the last mix (saturated i16); silence
    /// for an id not in the room at that mix.
    pub fn output(&self, id: ChannelId) -> &[i16] {
        match self.slots.get(id.0).map_or(Route::Vacant, |s| s.route) {
            Route::Vacant => &self.silence,
            Route::Shared(group) => self.shared_output(group),
            Route::Own => &self.own_outputs[id.0 * self.frame..][..self.frame],
        }
    }

    /// The participant's group in the last mix: equal groups, equal outputs.
    pub fn output_group(&self, id: ChannelId) -> MixGroup {
        MixGroup(
            match self.slots.get(id.0).map_or(Route::Vacant, |s| s.route) {
                Route::Vacant => Group::Silent,
                Route::Shared(group) => Group::Shared(group),
                // Slot indices are below MAX_CAPACITY, so they fit in u32.
                Route::Own => Group::Own(id.0 as u32),
            },
        )
    }

    /// The full mix for the MPC recording: every audible talker, coaching
    /// supervisors included, plus bridge sounds; silence before the start.
    pub fn recording_mix(&self) -> &[i16] {
        if self.mixed_started {
            self.shared_output(Shared::Everyone)
        } else {
            &self.silence
        }
    }

    /// The participant's own voice in the last mix (silence if it sent
    /// nothing), whatever its mute or hold state: the per-participant
    /// recording tap. Read it before writing the next tick's input.
    pub fn track(&self, id: ChannelId) -> &[i16] {
        match self.slots.get(id.0) {
            Some(slot) if slot.participant.is_some() && slot.voice.mixed => {
                &self.voices[id.0 * self.frame..][..self.frame]
            }
            _ => &self.silence,
        }
    }

    fn shared_output(&self, group: Shared) -> &[i16] {
        &self.shared_outputs[group as usize * self.frame..][..self.frame]
    }
}

/// One tick of [`Room::mix`]; `#[inline(always)]` so that each instruction
/// set's pass (see `kernel::Kernels::mix_pass`) gets its own copy, with the
/// sample loops of `kernel::body` inlined and vectorised for it.
#[inline(always)]
pub(crate) fn mix_pass(room: &mut Room) {
    for f in &mut room.feed_freshness {
        f.latch();
    }
    for slot in room.slots.iter_mut() {
        slot.voice.latch();
        slot.private.latch();
    }
    room.mixed_started = room.started;
    let coach_talked = room.started && sum_talkers(room);

    let Room {
        frame,
        started,

        slots,
        voices,
        privates,
        own_outputs,
        feeds,
        feed_freshness,
        shared_outputs,
        sum_customer_side,
        sum_everyone,
        silence,
        ..
    } = room;
    let (frame, started) = (*frame, *started);
    let samples = move |i: usize| i * frame..(i + 1) * frame;
    let feed = |which: Feed| {
        feed_freshness[which as usize]
            .mixed
            .then(|| &feeds[samples(which as usize)])
    };
    let customer_sum = &sum_customer_side[..];
    let everyone_sum = if coach_talked {
        &sum_everyone[..]
    } else {
        customer_sum
    };

    // The base mixes first: every talker's mix-minus reads them. The
    // everyone mix is made whenever the room runs: it is the recording.
    let mut everyone_exact = false;
    let mut customer_exact = false;
    if started {
        let out = &mut shared_outputs[samples(Shared::Everyone as usize)];
        everyone_exact = !body::clip(out, everyone_sum);
    }
    if coach_talked {
        let out = &mut shared_outputs[samples(Shared::CustomerSide as usize)];
        customer_exact = !body::clip(out, customer_sum);
    }
    let everyone = Base {
        sum: everyone_sum,
        clipped: &shared_outputs[samples(Shared::Everyone as usize)],
        exact: everyone_exact,
    };
    let customer_side = Base {
        sum: customer_sum,
        clipped: &shared_outputs[samples(Shared::CustomerSide as usize)],
        exact: customer_exact,
    };
    let mut needed = [false; Shared::COUNT];

    for (i, slot) in slots.iter_mut().enumerate() {
        let Some(p) = slot.participant else {
            slot.route = Route::Vacant;
            continue;
        };
        let (group, heard) = if !started {
            (Shared::Wait, Heard::Music(feed(Feed::WaitMusic)))
        } else if p.held {
            match p.role.hold_music() {
                HoldMusic::Agent => (Shared::AgentHold, Heard::Music(feed(Feed::AgentHold))),
                HoldMusic::Customer => {
                    (Shared::CustomerHold, Heard::Music(feed(Feed::CustomerHold)))
                }
            }
        } else {
            // An audible talker's voice is always in its own base sum:
            // customers and open talkers are in both, coaches in everyone.
            let own = (slot.voice.mixed && p.is_audible()).then(|| &voices[samples(i)]);
            if p.role == Role::Customer && coach_talked {
                (
                    Shared::CustomerSide,
                    Heard::Room {
                        base: customer_side,
                        own,
                    },
                )
            } else {
                (
                    Shared::Everyone,
                    Heard::Room {
                        base: everyone,
                        own,
                    },
                )
            }
        };
        let private = slot.private.mixed.then(|| &privates[samples(i)]);
        let out = &mut own_outputs[samples(i)];
        slot.route = match (heard, private) {
            (Heard::Music(_) | Heard::Room { own: None, .. }, None) => {
                needed[group as usize] = true;
                Route::Shared(group)
            }
            (Heard::Music(music), Some(private)) => {
                body::add_saturating(out, music.unwrap_or(silence), private);
                Route::Own
            }
            (
                Heard::Room {
                    base,
                    own: Some(voice),
                },
                None,
            ) => {
                if base.exact {
                    body::sub_saturating(out, base.clipped, voice);
                } else {
                    body::mix_minus(out, base.sum, voice);
                }
                Route::Own
            }
            (Heard::Room { base, own: None }, Some(private)) => {
                if base.exact {
                    body::add_saturating(out, base.clipped, private);
                } else {
                    body::mix_plus(out, base.sum, private);
                }
                Route::Own
            }
            (
                Heard::Room {
                    base,
                    own: Some(voice),
                },
                Some(private),
            ) => {
                body::mix_minus_plus(out, base.sum, voice, private);
                Route::Own
            }
        };
    }

    for (group, music) in [
        (Shared::Wait, Feed::WaitMusic),
        (Shared::AgentHold, Feed::AgentHold),
        (Shared::CustomerHold, Feed::CustomerHold),
    ] {
        if needed[group as usize] {
            let music = feed(music).unwrap_or(silence);
            shared_outputs[samples(group as usize)].copy_from_slice(music);
        }
    }
}

/// Sums every audible talker (and the bridge) into the two accumulators;
/// returns whether a coaching supervisor talked, in which case
/// `sum_everyone` holds the everyone sum (else `sum_customer_side` does).
#[inline(always)]
fn sum_talkers(room: &mut Room) -> bool {
    let Room {
        frame,
        slots,
        voices,
        feeds,
        feed_freshness,
        sum_customer_side,
        sum_everyone,
        ..
    } = room;
    let frame = *frame;
    let mut open = Batch::EMPTY;
    let mut coaches = Batch::EMPTY;
    let mut coach_talked = false;
    for (i, slot) in slots.iter().enumerate() {
        let Some(p) = slot.participant else { continue };
        if !(slot.voice.mixed && p.is_audible()) {
            continue;
        }
        let voice = &voices[i * frame..(i + 1) * frame];
        if p.is_coaching() {
            coach_talked = true;
            coaches.push(sum_everyone, voice);
        } else {
            open.push(sum_customer_side, voice);
        }
    }
    if !open.flush(sum_customer_side) {
        sum_customer_side.fill(0);
    }
    coaches.flush(sum_everyone);
    if feed_freshness[Feed::Bridge as usize].mixed {
        let bridge = &feeds[Feed::Bridge as usize * frame..][..frame];
        body::accumulate(sum_customer_side, bridge);
    }
    if coach_talked {
        body::add_sums(sum_everyone, sum_customer_side);
    }
    coach_talked
}
