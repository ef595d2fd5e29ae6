//! The O(N) mix and its outputs.
//!
//! Under Plivo's rule a listener that hears the room hears one of two sums:
//! everyone (agents and supervisors), or everyone but coaching supervisors
//! (customers). So a tick sums each audible talker once into one of two i32
//! accumulators, adds the bridge, and gives each listener its base sum minus
//! its own voice. Listeners who add nothing of their own (no audible voice,
//! no private audio) hear exactly their base: they share one output buffer
//! and one [`MixGroup`], which is what lets the gateway encode once per group.
//!
//! A tick first plans (who talks into which sum, which listeners need a mix
//! of their own, from what), then sums block by block with the sums held in
//! registers across all talkers, and finally gives each listener its mix,
//! usually one i16 saturating subtract per block from the shared mix.

use crate::hearing::{HoldMusic, Role};
use crate::lanes::{BLOCK, Block, Lanes};
use crate::plan::{Feed, Heard, Job, MixMinus, Route, Shared};
use crate::room::{ChannelId, Freshness, Room};

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

impl Room {
    /// Mixes one tick from what was written since the last mix; unwritten
    /// inputs are silence. O(N), allocation-free, and total: no participant
    /// state makes it panic.
    pub fn mix(&mut self) {
        // The whole pass, not each kernel, is dispatched: the loops below
        // are compiled once per instruction set with the sample kernels
        // inlined, so a tick makes one indirect call instead of one per
        // participant per kernel.
        (self.kernels.mix_pass)(self)
    }

    /// What the participant heard in the last mix (saturated i16); silence
    /// for an id not in the room at that mix.
    #[inline]
    pub fn output(&self, id: ChannelId) -> &[i16] {
        match self.slots.get(id.0).map_or(Route::Vacant, |s| s.route) {
            Route::Vacant => &self.silence,
            Route::Shared(group) => self.shared_output(self.resolve(group)),
            Route::Own => self.own_outputs.frame(id.0),
        }
    }

    /// The participant's group in the last mix: equal groups, equal outputs.
    #[inline]
    pub fn output_group(&self, id: ChannelId) -> MixGroup {
        MixGroup(
            match self.slots.get(id.0).map_or(Route::Vacant, |s| s.route) {
                Route::Vacant => Group::Silent,
                Route::Shared(group) => Group::Shared(self.resolve(group)),
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
            Some(slot) if slot.participant.is_some() && slot.inputs.mixed(Freshness::VOICE) => {
                self.voices.frame(id.0)
            }
            _ => &self.silence,
        }
    }

    fn shared_output(&self, group: Shared) -> &[i16] {
        self.shared_outputs.frame(group as usize)
    }

    /// Customers are planned on the customer side; while no coach talks
    /// that is everyone's mix.
    #[inline]
    fn resolve(&self, group: Shared) -> Shared {
        match group {
            Shared::CustomerSide if !self.mixed_coach_talked => Shared::Everyone,
            _ => group,
        }
    }
}

/// One tick of [`Room::mix`]; `#[inline(always)]` so that each instruction
/// set's pass (see the kernel module) gets its own copy, with the
/// block kernels of its [`Lanes`] inlined.
#[inline(always)]
pub(crate) fn mix_pass<L: Lanes>(room: &mut Room, lanes: L) {
    let mut changed = room.plan_stale | room.feed_freshness.latch();
    for slot in room.slots.iter_mut() {
        changed |= slot.inputs.latch();
    }
    room.mixed_started = room.started;
    if changed {
        room.needed = plan(room);
        room.plan_stale = false;
    }
    let needed = room.needed;
    mix_blocks(room, lanes);
    let Room {
        blocks,
        feeds,
        feed_freshness,
        shared_outputs,
        ..
    } = room;
    let frame = |i: usize| *blocks * i..*blocks * (i + 1);
    for (group, music) in [
        (Shared::Wait, Feed::WaitMusic),
        (Shared::AgentHold, Feed::AgentHold),
        (Shared::CustomerHold, Feed::CustomerHold),
    ] {
        if needed & (1 << group as u8) != 0 {
            let out = &mut shared_outputs.blocks_mut()[frame(group as usize)];
            if feed_freshness.mixed(music as usize) {
                out.copy_from_slice(&feeds.blocks()[frame(music as usize)]);
            } else {
                out.fill([0; BLOCK]);
            }
        }
    }
}

/// Fills the room's talker lists and jobs for this tick and sets every
/// slot's route; returns which shared outputs are listened to, bit
/// `1 << Shared as u8` each. Only called when something it reads changed.
#[inline(always)]
fn plan(room: &mut Room) -> u8 {
    let Room {
        started,
        slots,
        feed_freshness,
        open_talkers,
        coach_talkers,
        mix_minus,
        jobs,
        mixed_coach_talked,
        ..
    } = room;
    let started = *started;
    let music = |feed: Feed| {
        if feed_freshness.mixed(feed as usize) {
            Heard::Music(feed)
        } else {
            Heard::Silence
        }
    };
    // One pass over the slots. Whether customers hear the customer-side sum
    // or everyone's depends on whether a coach talks, known only at the end,
    // so customers are planned on the customer side and `mixed_coach_talked`
    // resolves it when outputs are made and read.
    // Counts in locals, stored once: the lists are never longer than the
    // slots, which is their capacity. A bit per shared output, not a
    // [bool; N]: byte stores into an array then read whole stalled store
    // forwarding, measurably.
    let (mut open, mut coaches, mut minus, mut own_mixes) = (0, 0, 0, 0);
    let mut needed = 0u8;
    for (i, slot) in slots.iter_mut().enumerate() {
        let Some(p) = slot.participant else {
            slot.route = Route::Vacant;
            continue;
        };
        let (group, heard, own) = if !started {
            (Shared::Wait, music(Feed::WaitMusic), false)
        } else if p.held {
            let feed = Feed::from(p.role.hold_music());
            let group = match p.role.hold_music() {
                HoldMusic::Agent => Shared::AgentHold,
                HoldMusic::Customer => Shared::CustomerHold,
            };
            (group, music(feed), false)
        } else {
            // An audible talker's voice is always in the sum it hears:
            // customers and open talkers are in both, coaches in everyone.
            let own = slot.inputs.mixed(Freshness::VOICE) && p.is_audible();
            if own {
                if p.is_coaching() {
                    coach_talkers.items[coaches] = i;
                    coaches += 1;
                } else {
                    open_talkers.items[open] = i;
                    open += 1;
                }
            }
            if p.role == Role::Customer {
                (Shared::CustomerSide, Heard::CustomerSide, own)
            } else {
                (Shared::Everyone, Heard::Everyone, own)
            }
        };
        let private = slot.inputs.mixed(Freshness::PRIVATE);
        slot.route = if own && !private {
            mix_minus.items[minus] = MixMinus {
                slot: i,
                customer: heard == Heard::CustomerSide,
            };
            minus += 1;
            Route::Own
        } else if own || private {
            jobs.items[own_mixes] = Job {
                slot: i,
                heard,
                own,
                private,
            };
            own_mixes += 1;
            Route::Own
        } else {
            needed |= 1 << group as u8;
            Route::Shared(group)
        };
    }
    (open_talkers.len, coach_talkers.len) = (open, coaches);
    *mixed_coach_talked = coaches > 0;
    (mix_minus.len, jobs.len) = (minus, own_mixes);
    needed
}

/// Makes the room's outputs from the plan, one block at a time: the block's
/// sums are made with every talker added to registers, saturated into the
/// shared mixes, and every listener with a mix of its own is served from
/// those registers before the next block. A talker whose shared mix did not
/// saturate in this block takes its voice out with one i16 saturating
/// subtract, which equals the i32 path; otherwise the i32 sum is used.
#[inline(always)]
fn mix_blocks<L: Lanes>(room: &mut Room, lanes: L) {
    let Room {
        blocks,
        started,
        voices,
        privates,
        own_outputs,
        feeds,
        feed_freshness,
        shared_outputs,
        open_talkers,
        coach_talkers,
        mix_minus,
        jobs,
        sums,
        ..
    } = room;
    let (blocks, started) = (*blocks, *started);
    let inputs = Inputs {
        blocks,
        voices: voices.blocks(),
        privates: privates.blocks(),
        feeds: feeds.blocks(),
    };
    let (own_outputs, shared_outputs) = (own_outputs.blocks_mut(), shared_outputs.blocks_mut());
    let (open_talkers, coach_talkers) = (open_talkers.as_slice(), coach_talkers.as_slice());
    let (mix_minus, jobs) = (mix_minus.as_slice(), jobs.as_slice());
    let coach_talked = !coach_talkers.is_empty();
    let bridge = started && feed_freshness.mixed(Feed::Bridge as usize);

    for b in 0..blocks {
        let at = |frame: usize| frame * blocks + b;
        if !started {
            // Before the start everyone hears music: only jobs (private
            // audio) need a mix of their own, and none hears a room sum.
            for job in jobs {
                serve(lanes, job, [lanes.zero(); 2], &inputs, b, own_outputs);
            }
            continue;
        }
        let mut customer_side = lanes.zero();
        for &t in open_talkers {
            customer_side = lanes.add(customer_side, inputs.voice(t, b));
        }
        if bridge {
            customer_side = lanes.add(customer_side, inputs.feed(Feed::Bridge, b));
        }
        // Each sum is saturated into its shared mix as soon as it is
        // complete and goes to memory only if a listener needs it in i32 (a
        // saturated mix, or a job): the clipped mixes are what the talkers'
        // loop below uses, and holding both i32 sums as well spilled on
        // AVX2 (two sums and two clipped mixes are 30 registers of 16).
        let in_i32 = |exact: bool| !exact || !jobs.is_empty();
        let customer_clip = coach_talked.then(|| {
            let out = &mut shared_outputs[at(Shared::CustomerSide as usize)];
            let clip = lanes.clip_keep(out, customer_side);
            if in_i32(clip.1) {
                lanes.store(&mut sums[1], customer_side);
            }
            clip
        });
        let mut everyone = customer_side;
        for &t in coach_talkers {
            everyone = lanes.add(everyone, inputs.voice(t, b));
        }
        // The everyone mix is made whenever the room runs: it is the
        // recording. Customers hear it too while no coach talks.
        let everyone_clip =
            lanes.clip_keep(&mut shared_outputs[at(Shared::Everyone as usize)], everyone);
        if in_i32(everyone_clip.1) {
            lanes.store(&mut sums[0], everyone);
        }
        // Where customers' mix is: the customer side, or everyone's.
        let (customer_sums, customer_clip) = match customer_clip {
            Some(clip) => (1, clip),
            None => (0, everyone_clip),
        };
        for m in mix_minus {
            let (side, (clipped, exact)) = if m.customer {
                (customer_sums, customer_clip)
            } else {
                (0, everyone_clip)
            };
            let (out, own) = (&mut own_outputs[at(m.slot)], inputs.voice(m.slot, b));
            if exact {
                lanes.sub_saturating(out, clipped, own);
            } else {
                lanes.clip(out, lanes.sub(lanes.load(&sums[side]), own));
            }
        }
        for job in jobs {
            let heard = [lanes.load(&sums[0]), lanes.load(&sums[customer_sums])];
            serve(lanes, job, heard, &inputs, b, own_outputs);
        }
    }
}

/// A tick's input blocks: frame `i` is blocks `[i * blocks..][..blocks]`.
struct Inputs<'a> {
    blocks: usize,
    voices: &'a [Block],
    privates: &'a [Block],
    feeds: &'a [Block],
}

impl Inputs<'_> {
    #[inline(always)]
    fn voice(&self, slot: usize, b: usize) -> &Block {
        &self.voices[slot * self.blocks + b]
    }

    #[inline(always)]
    fn private(&self, slot: usize, b: usize) -> &Block {
        &self.privates[slot * self.blocks + b]
    }

    #[inline(always)]
    fn feed(&self, feed: Feed, b: usize) -> &Block {
        &self.feeds[feed as usize * self.blocks + b]
    }
}

/// Block `b` of a [`Job`]: what it hears (of the everyone and the
/// customer-side sums), its voice out, its private audio in, saturated.
#[inline(always)]
fn serve<L: Lanes>(
    lanes: L,
    job: &Job,
    [everyone, customer_side]: [L::Sum; 2],
    inputs: &Inputs<'_>,
    b: usize,
    own_outputs: &mut [Block],
) {
    let mut sum = match job.heard {
        Heard::Everyone => everyone,
        Heard::CustomerSide => customer_side,
        Heard::Music(feed) => lanes.widen(inputs.feed(feed, b)),
        Heard::Silence => lanes.zero(),
    };
    if job.own {
        sum = lanes.sub(sum, inputs.voice(job.slot, b));
    }
    if job.private {
        sum = lanes.add(sum, inputs.private(job.slot, b));
    }
    lanes.clip(&mut own_outputs[job.slot * inputs.blocks + b], sum);
}
