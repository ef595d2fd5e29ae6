//! The plan of a tick, as the room keeps it between mixes: where each
//! listener's output comes from ([`Route`], [`Shared`]), what a listener
//! with a mix of its own hears ([`Heard`], [`Job`], [`MixMinus`]), and the
//! room-wide feeds ([`Feed`]). `mix.rs` makes the plan; `room.rs` holds it.

use crate::hearing::HoldMusic;

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

/// What a listener with a mix of its own hears before its own voice is
/// taken out and its private audio added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Heard {
    /// The everyone sum (agents, supervisors, customers without a coach).
    Everyone,
    /// The sum without coaching supervisors.
    CustomerSide,
    /// Wait or hold music.
    Music(Feed),
    /// Nothing (music that was not written this tick).
    Silence,
}

/// A talker with nothing private: it hears a shared mix minus its own voice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MixMinus {
    pub(crate) slot: usize,
    /// Hears the customer side (resolved to everyone's mix when no coach
    /// talked), else everyone's mix.
    pub(crate) customer: bool,
}

impl MixMinus {
    /// What an unused entry of the room's list holds.
    pub(crate) const NONE: MixMinus = MixMinus {
        slot: 0,
        customer: false,
    };
}

/// Any other listener that gets its own output this tick: private audio, or
/// a talker's own voice out and private audio in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Job {
    pub(crate) slot: usize,
    pub(crate) heard: Heard,
    /// Subtract the listener's voice (it is in the sum it hears).
    pub(crate) own: bool,
    /// Add the listener's private audio.
    pub(crate) private: bool,
}

impl Job {
    /// What an unused entry of the room's job list holds.
    pub(crate) const NONE: Job = Job {
        slot: 0,
        heard: Heard::Silence,
        own: false,
        private: false,
    };
}

/// Index of each room-wide feed in `Room::feeds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feed {
    Bridge = 0,
    WaitMusic = 1,
    AgentHold = 2,
    CustomerHold = 3,
}

impl From<HoldMusic> for Feed {
    fn from(which: HoldMusic) -> Self {
        match which {
            HoldMusic::Agent => Feed::AgentHold,
            HoldMusic::Customer => Feed::CustomerHold,
        }
    }
}
