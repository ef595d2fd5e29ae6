//! Who hears whom: Plivo's multiparty-call hearing rule, as a predicate and as
//! the explicit N×N matrix the naive reference mix and the tests use.
//!
//! The fast mix in [`crate::Room::mix`] never builds the matrix: with this rule
//! a listener hears one of only two sums (everyone, or everyone but coaching
//! supervisors), so it sums once and subtracts the listener's own voice.

/// A participant's role in a multiparty call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An agent: hears everyone, including coaching supervisors.
    Agent,
    /// A supervisor: hears everyone; heard by customers only with coach mode off.
    Supervisor,
    /// A customer: never hears a supervisor in coach mode.
    Customer,
}

impl Role {
    /// Which hold music a held participant of this role hears: agents and
    /// supervisors share the agent hold music.
    pub fn hold_music(self) -> HoldMusic {
        match self {
            Role::Agent | Role::Supervisor => HoldMusic::Agent,
            Role::Customer => HoldMusic::Customer,
        }
    }
}

/// The two hold-music streams of a room (Plivo's `agentHoldMusicUrl` and
/// `customerHoldMusicUrl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldMusic {
    /// Heard by held agents and supervisors.
    Agent,
    /// Heard by held customers.
    Customer,
}

/// The state of one participant that decides what it hears and who hears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Participant {
    /// The participant's role.
    pub role: Role,
    /// A muted participant is heard by nobody (it still hears the room).
    pub muted: bool,
    /// A held participant is heard by nobody and hears only its hold music.
    pub held: bool,
    /// Coach mode; only meaningful for supervisors (ignored for other roles).
    pub coach: bool,
}

impl Participant {
    /// Not muted, not held, coach mode on for supervisors (Plivo's default
    /// `coachMode=true`, which only supervisors carry).
    pub fn new(role: Role) -> Self {
        Self {
            role,
            muted: false,
            held: false,
            coach: role == Role::Supervisor,
        }
    }

    /// A supervisor in coach mode: heard by agents and supervisors only.
    pub fn is_coaching(&self) -> bool {
        self.role == Role::Supervisor && self.coach
    }

    /// Whether this participant's voice reaches anyone at all (once started).
    pub fn is_audible(&self) -> bool {
        !self.muted && !self.held
    }
}

/// The rule from the notes: `listener` hears `speaker` iff the room has
/// started, the speaker is neither muted nor held, the listener is not held,
/// and not (the speaker is a coaching supervisor and the listener a customer).
///
/// That the two are different participants is the caller's business.
pub fn hears(started: bool, listener: &Participant, speaker: &Participant) -> bool {
    started
        && speaker.is_audible()
        && !listener.held
        && !(speaker.is_coaching() && listener.role == Role::Customer)
}

/// Whether `listener` hears bridge sounds (enter/exit beeps): everyone who
/// hears the room, i.e. the room has started and the listener is not held.
pub fn hears_bridge(started: bool, listener: &Participant) -> bool {
    started && !listener.held
}

/// The explicit hearing matrix of a room: `hears(l, s)` for every pair.
///
/// O(N²) by construction; it is the definition the fast mix is tested against,
/// not something a tick should build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HearingMatrix {
    len: usize,
    /// Row-major: `cells[l * len + s]`.
    cells: Vec<bool>,
}

impl HearingMatrix {
    /// Applies [`hears`] to every ordered pair of distinct participants.
    pub fn build(started: bool, participants: &[Participant]) -> Self {
        let len = participants.len();
        let mut cells = Vec::with_capacity(len * len);
        for (l, listener) in participants.iter().enumerate() {
            for (s, speaker) in participants.iter().enumerate() {
                cells.push(l != s && hears(started, listener, speaker));
            }
        }
        Self { len, cells }
    }

    /// Number of participants (rows and columns).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a room without participants.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether participant `listener` hears participant `speaker` (indices into
    /// the slice given to [`HearingMatrix::build`]; out of range is `false`).
    pub fn hears(&self, listener: usize, speaker: usize) -> bool {
        listener < self.len && speaker < self.len && self.cells[listener * self.len + speaker]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> Participant {
        Participant::new(Role::Agent)
    }
    fn customer() -> Participant {
        Participant::new(Role::Customer)
    }
    fn supervisor(coach: bool) -> Participant {
        Participant {
            coach,
            ..Participant::new(Role::Supervisor)
        }
    }

    #[test]
    fn defaults_follow_plivo() {
        assert!(supervisor(true) == Participant::new(Role::Supervisor));
        assert!(!agent().coach && !customer().coach);
        assert!(!agent().muted && !agent().held);
    }

    #[test]
    fn coaching_supervisor_is_heard_by_agents_and_supervisors_not_customers() {
        let coach = supervisor(true);
        assert!(hears(true, &agent(), &coach));
        assert!(hears(true, &supervisor(false), &coach));
        assert!(hears(true, &supervisor(true), &coach));
        assert!(!hears(true, &customer(), &coach));
    }

    #[test]
    fn supervisor_with_coach_off_is_heard_by_all() {
        let open = supervisor(false);
        for listener in [agent(), customer(), supervisor(true)] {
            assert!(hears(true, &listener, &open));
        }
    }

    #[test]
    fn coach_flag_means_nothing_for_other_roles() {
        let loud_agent = Participant {
            coach: true,
            ..agent()
        };
        assert!(hears(true, &customer(), &loud_agent));
    }

    #[test]
    fn muted_or_held_speakers_are_heard_by_nobody() {
        for speaker in [agent(), customer(), supervisor(false)] {
            let muted = Participant {
                muted: true,
                ..speaker
            };
            let held = Participant {
                held: true,
                ..speaker
            };
            for listener in [agent(), customer(), supervisor(true)] {
                assert!(!hears(true, &listener, &muted));
                assert!(!hears(true, &listener, &held));
            }
        }
    }

    #[test]
    fn held_listener_hears_no_one_and_muted_listener_hears_everyone() {
        let held = Participant {
            held: true,
            ..agent()
        };
        let muted = Participant {
            muted: true,
            ..customer()
        };
        assert!(!hears(true, &held, &customer()));
        assert!(!hears_bridge(true, &held));
        assert!(hears(true, &muted, &agent()));
        assert!(hears_bridge(true, &muted));
    }

    #[test]
    fn nobody_hears_anyone_before_start() {
        assert!(!hears(false, &agent(), &customer()));
        assert!(!hears_bridge(false, &agent()));
    }

    #[test]
    fn hold_music_by_role() {
        assert_eq!(Role::Agent.hold_music(), HoldMusic::Agent);
        assert_eq!(Role::Supervisor.hold_music(), HoldMusic::Agent);
        assert_eq!(Role::Customer.hold_music(), HoldMusic::Customer);
    }

    #[test]
    fn matrix_matches_rule_and_excludes_self() {
        let room = [agent(), customer(), supervisor(true), supervisor(false)];
        let m = HearingMatrix::build(true, &room);
        assert_eq!(m.len(), 4);
        for l in 0..4 {
            assert!(!m.hears(l, l));
            for s in 0..4 {
                if l != s {
                    assert_eq!(m.hears(l, s), hears(true, &room[l], &room[s]));
                }
            }
        }
        assert!(!m.hears(1, 2), "customer must not hear the coach");
        assert!(m.hears(0, 2) && m.hears(3, 2));
        assert!(!m.hears(9, 0));
        assert!(HearingMatrix::build(false, &room).cells.iter().all(|c| !c));
    }
}
