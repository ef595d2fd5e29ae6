//! The naive O(N²) mix: the definition [`crate::Room::mix`] must match sample
//! for sample. Each listener sums, one by one, every speaker the
//! [`HearingMatrix`] says it hears, then adds bridge, music and private audio
//! and clips once. Used by the property tests and as the benchmark baseline.

use crate::hearing::{HearingMatrix, HoldMusic, Participant, hears_bridge};

/// One tick of a room written out in full: dense participants `0..n`, and
/// for every stream `None` for silence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceTick {
    /// Whether the room has started.
    pub started: bool,
    /// The participants, in listener/speaker index order.
    pub participants: Vec<Participant>,
    /// Each participant's voice (`None`: silent this tick).
    pub voices: Vec<Option<Vec<i16>>>,
    /// Audio played to one participant only.
    pub privates: Vec<Option<Vec<i16>>>,
    /// Bridge sounds.
    pub bridge: Option<Vec<i16>>,
    /// Wait music.
    pub wait_music: Option<Vec<i16>>,
    /// Hold music for agents and supervisors.
    pub agent_hold_music: Option<Vec<i16>>,
    /// Hold music for customers.
    pub customer_hold_music: Option<Vec<i16>>,
}

impl ReferenceTick {
    /// The hearing matrix of this tick's participants.
    pub fn hearing(&self) -> HearingMatrix {
        HearingMatrix::build(self.started, &self.participants)
    }

    fn hold_music(&self, which: HoldMusic) -> Option<&[i16]> {
        match which {
            HoldMusic::Agent => self.agent_hold_music.as_deref(),
            HoldMusic::Customer => self.customer_hold_music.as_deref(),
        }
    }
}

/// The naive mixer; owns one i32 scratch frame so that a benchmark measures
/// mixing, not allocation.
#[derive(Debug, Clone)]
pub struct NaiveMixer {
    sum: Vec<i32>,
}

impl NaiveMixer {
    /// A mixer for frames of `frame_samples`.
    pub fn new(frame_samples: usize) -> Self {
        Self {
            sum: vec![0; frame_samples],
        }
    }

    /// What every participant of `tick` hears, into `outputs[l]` (one frame
    /// each). `matrix` must be `tick.hearing()`; it is passed in so that
    /// callers can build it once per state change.
    pub fn mix(&mut self, tick: &ReferenceTick, matrix: &HearingMatrix, outputs: &mut [Vec<i16>]) {
        for (l, (listener, out)) in tick.participants.iter().zip(outputs).enumerate() {
            self.sum.fill(0);
            if !tick.started {
                add(&mut self.sum, tick.wait_music.as_deref());
            } else if listener.held {
                add(&mut self.sum, tick.hold_music(listener.role.hold_music()));
            } else {
                for (s, voice) in tick.voices.iter().enumerate() {
                    if matrix.hears(l, s) {
                        add(&mut self.sum, voice.as_deref());
                    }
                }
                if hears_bridge(tick.started, listener) {
                    add(&mut self.sum, tick.bridge.as_deref());
                }
            }
            add(
                &mut self.sum,
                tick.privates.get(l).and_then(Option::as_deref),
            );
            clip(out, &self.sum);
        }
    }

    /// The recording mix: every audible talker regardless of coach mode, plus
    /// the bridge; silence before the start.
    pub fn recording(&mut self, tick: &ReferenceTick, out: &mut [i16]) {
        self.sum.fill(0);
        if tick.started {
            for (p, voice) in tick.participants.iter().zip(&tick.voices) {
                if p.is_audible() {
                    add(&mut self.sum, voice.as_deref());
                }
            }
            add(&mut self.sum, tick.bridge.as_deref());
        }
        clip(out, &self.sum);
    }
}

fn add(sum: &mut [i32], samples: Option<&[i16]>) {
    for (s, x) in sum.iter_mut().zip(samples.unwrap_or_default()) {
        *s += i32::from(*x);
    }
}

fn clip(out: &mut [i16], sum: &[i32]) {
    for (o, s) in out.iter_mut().zip(sum) {
        *o = (*s).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
}
