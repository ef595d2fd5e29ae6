//! Voice activity detection per participant, for Plivo's
//! `participant-speak-events` (`ConferenceMemberSpeakStart` / `…Stop`).
//!
//! A [`Vad`] is an energy detector with hysteresis and hangover. Keep one per
//! participant and, every 20 ms tick, feed it either the participant's
//! decoded frame with [`Vad::process`] or, when no packet arrived this tick,
//! call [`Vad::silent`]. Each returns `Some(event)` exactly when the speaking
//! state changes.
//!
//! ```
//! // (compiled as the unit test `tests::module_example`)
//! use chorus_mixer::vad::{Vad, VadConfig, VadEvent};
//! let mut vad = Vad::new(VadConfig::default());
//! let loud = [8000i16, -8000].repeat(80); // 20 ms at 8 kHz, ≈ −12 dBFS
//! assert_eq!(vad.process(&loud), None); // 1st loud frame: not yet
//! assert_eq!(vad.process(&loud), Some(VadEvent::SpeakStart)); // 2nd: speech
//! for _ in 0..24 {
//!     assert_eq!(vad.silent(), None); // hangover
//! }
//! assert_eq!(vad.silent(), Some(VadEvent::SpeakStop)); // 25th quiet frame
//! ```
//!
//! # Rules
//!
//! The level of a frame is its RMS relative to full scale (see
//! [`Vad::level_dbfs`]). While **not speaking**, `start_frames` *consecutive*
//! frames at or above `start_dbfs` declare speech ([`VadEvent::SpeakStart`] on
//! the last of them); any frame below `start_dbfs` restarts that count, so a
//! single click does not trigger. While **speaking**, `hangover_frames`
//! *consecutive* frames below `stop_dbfs` (or absent) end it
//! ([`VadEvent::SpeakStop`] on the last of them); any frame at or above
//! `stop_dbfs` restarts that count, so short pauses inside a sentence stay
//! one segment. Levels between `stop_dbfs` and `start_dbfs` never change
//! the state (hysteresis).
//!
//! Events therefore strictly alternate, starting with `SpeakStart`. The
//! detector is pure and deterministic: the same frames give the same events.
//! No IO, no clock, no allocation.

use std::fmt;

/// Level reported for digital silence, an empty frame, or an absent frame.
pub const SILENCE_DBFS: f32 = -100.0;

/// Lowest threshold accepted by [`VadConfig::validate`], in dBFS.
pub const MIN_THRESHOLD_DBFS: f32 = -90.0;

/// Highest threshold accepted by [`VadConfig::validate`], in dBFS.
pub const MAX_THRESHOLD_DBFS: f32 = 0.0;

/// Tuning of a [`Vad`]. Frame counts are in ticks of 20 ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// Level (RMS dBFS) at or above which a frame counts as speech while
    /// not speaking. Default −40.
    pub start_dbfs: f32,
    /// Level (RMS dBFS) below which a frame counts as quiet while speaking;
    /// at most `start_dbfs` (hysteresis). Default −45.
    pub stop_dbfs: f32,
    /// Consecutive frames at or above `start_dbfs` needed to declare speech.
    /// Default 2 (40 ms).
    pub start_frames: u32,
    /// Consecutive frames below `stop_dbfs` (or absent) needed to end
    /// speech. Default 25 (500 ms).
    pub hangover_frames: u32,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            start_dbfs: -40.0,
            stop_dbfs: -45.0,
            start_frames: 2,
            hangover_frames: 25,
        }
    }
}

impl VadConfig {
    /// Checks that thresholds are finite and within
    /// [`MIN_THRESHOLD_DBFS`]`..=`[`MAX_THRESHOLD_DBFS`], that
    /// `stop_dbfs <= start_dbfs`, and that both frame counts are at least 1.
    ///
    /// # Errors
    ///
    /// The first problem found, as a [`VadConfigError`].
    pub fn validate(&self) -> Result<(), VadConfigError> {
        let range = MIN_THRESHOLD_DBFS..=MAX_THRESHOLD_DBFS;
        if !range.contains(&self.start_dbfs) {
            return Err(VadConfigError::ThresholdOutOfRange {
                field: "start_dbfs",
                value: self.start_dbfs,
            });
        }
        if !range.contains(&self.stop_dbfs) {
            return Err(VadConfigError::ThresholdOutOfRange {
                field: "stop_dbfs",
                value: self.stop_dbfs,
            });
        }
        if self.stop_dbfs > self.start_dbfs {
            return Err(VadConfigError::StopAboveStart {
                start_dbfs: self.start_dbfs,
                stop_dbfs: self.stop_dbfs,
            });
        }
        if self.start_frames == 0 {
            return Err(VadConfigError::ZeroFrames {
                field: "start_frames",
            });
        }
        if self.hangover_frames == 0 {
            return Err(VadConfigError::ZeroFrames {
                field: "hangover_frames",
            });
        }
        Ok(())
    }
}

/// Why a [`VadConfig`] is invalid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VadConfigError {
    /// A threshold is NaN, infinite, or outside −90..=0 dBFS.
    ThresholdOutOfRange {
        /// Name of the offending field (`"start_dbfs"` or `"stop_dbfs"`).
        field: &'static str,
        /// The value given.
        value: f32,
    },
    /// `stop_dbfs` is above `start_dbfs`, which would make the detector
    /// oscillate.
    StopAboveStart {
        /// The configured start threshold.
        start_dbfs: f32,
        /// The configured stop threshold.
        stop_dbfs: f32,
    },
    /// A frame count is zero.
    ZeroFrames {
        /// Name of the offending field (`"start_frames"` or
        /// `"hangover_frames"`).
        field: &'static str,
    },
}

impl fmt::Display for VadConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VadConfigError::ThresholdOutOfRange { field, value } => write!(
                f,
                "VAD {field} is {value} dBFS, expected a value between \
                 {MIN_THRESHOLD_DBFS} and {MAX_THRESHOLD_DBFS}"
            ),
            VadConfigError::StopAboveStart {
                start_dbfs,
                stop_dbfs,
            } => write!(
                f,
                "VAD stop_dbfs ({stop_dbfs}) must not be above start_dbfs ({start_dbfs})"
            ),
            VadConfigError::ZeroFrames { field } => {
                write!(f, "VAD {field} must be at least 1")
            }
        }
    }
}

impl std::error::Error for VadConfigError {}

/// A change of a participant's speaking state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// The participant started speaking.
    SpeakStart,
    /// The participant stopped speaking (after the hangover).
    SpeakStop,
}

/// Energy-based voice activity detector for one participant.
///
/// See the [module documentation](self) for the rules.
#[derive(Debug, Clone)]
pub struct Vad {
    config: VadConfig,
    speaking: bool,
    /// Consecutive frames at/above start (not speaking) or below stop
    /// (speaking).
    count: u32,
    level_dbfs: f32,
}

impl Vad {
    /// Creates a detector in the not-speaking state.
    ///
    /// # Panics
    ///
    /// Panics if `config` fails [`VadConfig::validate`]; use
    /// [`try_new`](Self::try_new) for untrusted configuration.
    pub fn new(config: VadConfig) -> Self {
        match Self::try_new(config) {
            Ok(vad) => vad,
            Err(e) => panic!("invalid VadConfig: {e}"),
        }
    }

    /// Creates a detector in the not-speaking state, or says why `config`
    /// is invalid.
    ///
    /// # Errors
    ///
    /// Whatever [`VadConfig::validate`] reports.
    pub fn try_new(config: VadConfig) -> Result<Self, VadConfigError> {
        config.validate()?;
        Ok(Self {
            config,
            speaking: false,
            count: 0,
            level_dbfs: SILENCE_DBFS,
        })
    }

    /// Feed one frame (20 ms) of the participant's audio; returns an event
    /// when the speaking state changes. Any frame length works (the level
    /// is an RMS); an empty frame counts as silence.
    pub fn process(&mut self, frame: &[i16]) -> Option<VadEvent> {
        self.level_dbfs = rms_dbfs(frame);
        self.step()
    }

    /// Feed a frame of silence/absence (no packet this tick) — counts toward
    /// hangover, and interrupts a run of loud frames.
    pub fn silent(&mut self) -> Option<VadEvent> {
        self.level_dbfs = SILENCE_DBFS;
        self.step()
    }

    /// Whether the participant is currently speaking.
    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// RMS level of the last frame in dBFS, relative to a full-scale
    /// *square* wave: `20·log10(rms / 32768)`. So a full-scale square wave
    /// is 0 dBFS and a full-scale sine is −3.01 dBFS. Digital silence, an
    /// empty frame, [`silent`](Self::silent), or no frame yet give
    /// [`SILENCE_DBFS`] (−100); no level is reported below that.
    pub fn level_dbfs(&self) -> f32 {
        self.level_dbfs
    }

    /// The configuration given at construction.
    pub fn config(&self) -> VadConfig {
        self.config
    }

    /// Returns to the not-speaking state without emitting an event (e.g.
    /// when the participant leaves or is muted and the caller reports the
    /// stop itself).
    pub fn reset(&mut self) {
        self.speaking = false;
        self.count = 0;
        self.level_dbfs = SILENCE_DBFS;
    }

    /// Advances the state machine with `self.level_dbfs`.
    fn step(&mut self) -> Option<VadEvent> {
        let level = self.level_dbfs;
        if self.speaking {
            if level < self.config.stop_dbfs {
                self.count += 1;
                if self.count >= self.config.hangover_frames {
                    self.speaking = false;
                    self.count = 0;
                    return Some(VadEvent::SpeakStop);
                }
            } else {
                self.count = 0;
            }
        } else if level >= self.config.start_dbfs {
            self.count += 1;
            if self.count >= self.config.start_frames {
                self.speaking = true;
                self.count = 0;
                return Some(VadEvent::SpeakStart);
            }
        } else {
            self.count = 0;
        }
        None
    }
}

/// RMS level of `frame` in dBFS (full-scale square wave = 0 dBFS), floored
/// at [`SILENCE_DBFS`].
fn rms_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return SILENCE_DBFS;
    }
    // Each square is at most 2^30, so u64 holds 2^34 samples: no overflow.
    let energy: u64 = frame
        .iter()
        .map(|&s| {
            let a = u64::from(s.unsigned_abs());
            a * a
        })
        .sum();
    if energy == 0 {
        return SILENCE_DBFS;
    }
    let mean_square = energy as f64 / frame.len() as f64;
    let dbfs = 10.0 * (mean_square / (32768.0 * 32768.0)).log10();
    (dbfs as f32).max(SILENCE_DBFS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A 20 ms frame of a 1 kHz sine at `rate`, with RMS level `dbfs`,
    /// starting at phase `n0` samples.
    fn tone(dbfs: f32, rate: u32, n0: usize) -> Vec<i16> {
        let len = (rate / 50) as usize;
        let amp = 32768.0 * 10f64.powf(f64::from(dbfs) / 20.0) * std::f64::consts::SQRT_2;
        (n0..n0 + len)
            .map(|n| {
                let t = n as f64 / f64::from(rate);
                (amp * (std::f64::consts::TAU * 1000.0 * t).sin()).round() as i16
            })
            .collect()
    }

    fn run(vad: &mut Vad, frames: &[Vec<i16>]) -> Vec<(usize, VadEvent)> {
        frames
            .iter()
            .enumerate()
            .filter_map(|(i, f)| vad.process(f).map(|e| (i, e)))
            .collect()
    }

    #[test]
    fn module_example() {
        let mut vad = Vad::new(VadConfig::default());
        let loud = [8000i16, -8000].repeat(80);
        assert_eq!(vad.process(&loud), None);
        assert_eq!(vad.process(&loud), Some(VadEvent::SpeakStart));
        for _ in 0..24 {
            assert_eq!(vad.silent(), None);
        }
        assert_eq!(vad.silent(), Some(VadEvent::SpeakStop));
    }

    #[test]
    fn level_convention() {
        let mut vad = Vad::new(VadConfig::default());
        assert_eq!(vad.level_dbfs(), SILENCE_DBFS);
        vad.process(&[i16::MIN; 160]);
        assert!(vad.level_dbfs().abs() < 0.001, "{}", vad.level_dbfs());
        // Full-scale sine: −3.01 dBFS.
        vad.process(
            &tone(-3.0103, 8000, 0)
                .iter()
                .map(|&s| s.max(-32767))
                .collect::<Vec<_>>(),
        );
        assert!(
            (vad.level_dbfs() + 3.01).abs() < 0.02,
            "{}",
            vad.level_dbfs()
        );
        for rate in [8000, 16000] {
            vad.process(&tone(-20.0, rate, 3));
            assert!(
                (vad.level_dbfs() + 20.0).abs() < 0.05,
                "{}",
                vad.level_dbfs()
            );
        }
        vad.process(&[0; 160]);
        assert_eq!(vad.level_dbfs(), SILENCE_DBFS);
        vad.process(&[]);
        assert_eq!(vad.level_dbfs(), SILENCE_DBFS);
        vad.process(&[1; 160]);
        assert!((vad.level_dbfs() + 90.31).abs() < 0.01);
        vad.silent();
        assert_eq!(vad.level_dbfs(), SILENCE_DBFS);
    }

    #[test]
    fn silence_never_triggers() {
        let mut vad = Vad::new(VadConfig::default());
        for i in 0..1000 {
            assert_eq!(vad.process(&[0; 160]), None);
            assert_eq!(vad.silent(), None);
            // Low background noise at −60 dBFS neither.
            assert_eq!(vad.process(&tone(-60.0, 8000, i * 160)), None);
        }
        assert!(!vad.is_speaking());
    }

    #[test]
    fn tone_triggers_after_start_frames() {
        for rate in [8000, 16000] {
            for start_frames in [1, 2, 5] {
                let config = VadConfig {
                    start_frames,
                    ..VadConfig::default()
                };
                let mut vad = Vad::new(config);
                for i in 0..start_frames - 1 {
                    assert_eq!(vad.process(&tone(-20.0, rate, i as usize * 160)), None);
                    assert!(!vad.is_speaking());
                }
                assert_eq!(
                    vad.process(&tone(-20.0, rate, 0)),
                    Some(VadEvent::SpeakStart)
                );
                assert!(vad.is_speaking());
                // Staying loud emits nothing more.
                for _ in 0..100 {
                    assert_eq!(vad.process(&tone(-20.0, rate, 0)), None);
                }
            }
        }
    }

    #[test]
    fn one_frame_click_does_not_trigger() {
        let mut vad = Vad::new(VadConfig::default());
        let mut click = vec![0i16; 160];
        click[10] = i16::MAX;
        click[11] = i16::MIN;
        click[12] = i16::MAX;
        let loud = tone(-10.0, 8000, 0);
        for _ in 0..50 {
            assert_eq!(vad.process(&click), None);
            assert_eq!(vad.process(&[0; 160]), None);
            assert_eq!(vad.process(&loud), None); // a full loud frame, alone
            assert_eq!(vad.process(&[0; 160]), None);
            assert_eq!(vad.process(&click), None);
            assert_eq!(vad.silent(), None); // an absent frame breaks the run
        }
        assert!(!vad.is_speaking());
    }

    #[test]
    fn short_dips_stay_one_segment() {
        let config = VadConfig::default();
        let mut vad = Vad::new(config);
        let loud = tone(-20.0, 8000, 0);
        let quiet = vec![0i16; 160];
        let mut frames = vec![loud.clone(); 10];
        for dip in [1, 5, 24, 3] {
            frames.extend(std::iter::repeat_n(quiet.clone(), dip));
            frames.extend(std::iter::repeat_n(loud.clone(), 4));
        }
        let events = run(&mut vad, &frames);
        assert_eq!(events, vec![(1, VadEvent::SpeakStart)]);
        assert!(vad.is_speaking());
        // Absent packets count as quiet too, but short gaps don't end it.
        for _ in 0..24 {
            assert_eq!(vad.silent(), None);
        }
        assert_eq!(vad.process(&loud), None);
        assert!(vad.is_speaking());
    }

    #[test]
    fn speak_stop_exactly_after_hangover() {
        for hangover in [1, 2, 25, 50] {
            let config = VadConfig {
                hangover_frames: hangover,
                ..VadConfig::default()
            };
            let mut vad = Vad::new(config);
            let loud = tone(-20.0, 16000, 0);
            assert_eq!(vad.process(&loud), None);
            assert_eq!(vad.process(&loud), Some(VadEvent::SpeakStart));
            for i in 1..hangover {
                let event = if i % 2 == 0 {
                    vad.silent()
                } else {
                    vad.process(&[0; 320])
                };
                assert_eq!(event, None, "hangover {hangover}, frame {i}");
                assert!(vad.is_speaking());
            }
            assert_eq!(vad.process(&[0; 320]), Some(VadEvent::SpeakStop));
            assert!(!vad.is_speaking());
            assert_eq!(vad.silent(), None);
        }
    }

    #[test]
    fn hysteresis_keeps_state_between_thresholds() {
        let config = VadConfig::default(); // start −40, stop −45
        let between = tone(-42.5, 8000, 0);
        let loud = tone(-30.0, 8000, 0);

        // Not speaking: levels between stop and start never start speech.
        let mut vad = Vad::new(config);
        for _ in 0..200 {
            assert_eq!(vad.process(&between), None);
        }
        assert!(!vad.is_speaking());
        // And they break a run of loud frames.
        assert_eq!(vad.process(&loud), None);
        assert_eq!(vad.process(&between), None);
        assert_eq!(vad.process(&loud), None);
        assert!(!vad.is_speaking());

        // Speaking: levels between stop and start never end speech, and
        // reset the hangover count.
        assert_eq!(vad.process(&loud), Some(VadEvent::SpeakStart));
        for _ in 0..200 {
            assert_eq!(vad.process(&between), None);
        }
        assert!(vad.is_speaking());
        for _ in 0..24 {
            assert_eq!(vad.silent(), None);
        }
        assert_eq!(vad.process(&between), None);
        for _ in 0..24 {
            assert_eq!(vad.silent(), None);
        }
        assert_eq!(vad.silent(), Some(VadEvent::SpeakStop));
    }

    #[test]
    fn thresholds_are_inclusive_at_start_exclusive_at_stop() {
        let config = VadConfig {
            start_dbfs: -40.0,
            stop_dbfs: -40.0,
            start_frames: 1,
            hangover_frames: 1,
        };
        let mut vad = Vad::new(config);
        // A constant frame has an exactly known level.
        let at = |dbfs: f64| vec![(32768.0 * 10f64.powf(dbfs / 20.0)).round() as i16; 160];
        assert_eq!(vad.process(&at(-39.9)), Some(VadEvent::SpeakStart));
        assert_eq!(vad.process(&at(-39.9)), None);
        assert_eq!(vad.process(&at(-40.1)), Some(VadEvent::SpeakStop));
    }

    #[test]
    fn validate_config() {
        assert_eq!(VadConfig::default().validate(), Ok(()));
        let d = VadConfig::default();
        let bad = [
            (
                VadConfig {
                    stop_dbfs: -30.0,
                    ..d
                },
                VadConfigError::StopAboveStart {
                    start_dbfs: -40.0,
                    stop_dbfs: -30.0,
                },
            ),
            (
                VadConfig {
                    start_dbfs: 3.0,
                    ..d
                },
                VadConfigError::ThresholdOutOfRange {
                    field: "start_dbfs",
                    value: 3.0,
                },
            ),
            (
                VadConfig {
                    stop_dbfs: -91.0,
                    ..d
                },
                VadConfigError::ThresholdOutOfRange {
                    field: "stop_dbfs",
                    value: -91.0,
                },
            ),
            (
                VadConfig {
                    start_frames: 0,
                    ..d
                },
                VadConfigError::ZeroFrames {
                    field: "start_frames",
                },
            ),
            (
                VadConfig {
                    hangover_frames: 0,
                    ..d
                },
                VadConfigError::ZeroFrames {
                    field: "hangover_frames",
                },
            ),
        ];
        for (config, expected) in bad {
            assert_eq!(config.validate(), Err(expected));
            assert_eq!(Vad::try_new(config).err(), Some(expected));
            assert!(!expected.to_string().is_empty());
        }
        for nan in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            assert!(
                VadConfig {
                    start_dbfs: nan,
                    ..d
                }
                .validate()
                .is_err()
            );
            assert!(
                VadConfig {
                    stop_dbfs: nan,
                    ..d
                }
                .validate()
                .is_err()
            );
        }
        // Edges are accepted.
        let edge = VadConfig {
            start_dbfs: 0.0,
            stop_dbfs: -90.0,
            start_frames: 1,
            hangover_frames: 1,
        };
        assert_eq!(edge.validate(), Ok(()));
        let e: Box<dyn std::error::Error> = Box::new(VadConfigError::ZeroFrames {
            field: "start_frames",
        });
        assert_eq!(e.to_string(), "VAD start_frames must be at least 1");
    }

    #[test]
    #[should_panic(expected = "invalid VadConfig")]
    fn new_panics_on_invalid_config() {
        let _ = Vad::new(VadConfig {
            start_frames: 0,
            ..VadConfig::default()
        });
    }

    #[test]
    fn reset_returns_to_quiet() {
        let mut vad = Vad::new(VadConfig {
            start_frames: 1,
            ..VadConfig::default()
        });
        assert_eq!(
            vad.process(&tone(-20.0, 8000, 0)),
            Some(VadEvent::SpeakStart)
        );
        vad.reset();
        assert!(!vad.is_speaking());
        assert_eq!(
            vad.config(),
            VadConfig {
                start_frames: 1,
                ..VadConfig::default()
            }
        );
        assert_eq!(
            vad.process(&tone(-20.0, 8000, 0)),
            Some(VadEvent::SpeakStart)
        );
    }

    /// A tick: `None` = no packet ([`Vad::silent`]), otherwise a frame.
    fn tick() -> impl Strategy<Value = Option<Vec<i16>>> {
        prop_oneof![
            1 => Just(None),
            2 => prop::collection::vec(any::<i16>(), 0..400).prop_map(Some),
            // Constant frames land anywhere on the dB scale, including
            // near the thresholds.
            3 => (any::<i16>(), 0usize..400).prop_map(|(v, n)| Some(vec![v; n])),
            2 => (0i16..400, 1usize..400).prop_map(|(v, n)| Some(vec![v; n])),
        ]
    }

    fn config() -> impl Strategy<Value = VadConfig> {
        (-90.0f32..=0.0, 0.0f32..=20.0, 1u32..6, 1u32..30).prop_map(
            |(start_dbfs, gap, start_frames, hangover_frames)| VadConfig {
                start_dbfs,
                stop_dbfs: (start_dbfs - gap).max(-90.0),
                start_frames,
                hangover_frames,
            },
        )
    }

    proptest! {
        #[test]
        fn events_alternate_and_are_deterministic(
            config in config(),
            ticks in prop::collection::vec(tick(), 0..200),
        ) {
            prop_assert_eq!(config.validate(), Ok(()));
            let play = |vad: &mut Vad| -> Vec<(usize, VadEvent)> {
                let mut events = Vec::new();
                for (i, t) in ticks.iter().enumerate() {
                    let e = match t {
                        Some(frame) => vad.process(frame),
                        None => vad.silent(),
                    };
                    let level = vad.level_dbfs();
                    assert!((SILENCE_DBFS..=0.0).contains(&level), "level {level}");
                    match e {
                        Some(VadEvent::SpeakStart) => assert!(vad.is_speaking()),
                        Some(VadEvent::SpeakStop) => assert!(!vad.is_speaking()),
                        None => {}
                    }
                    if let Some(e) = e {
                        events.push((i, e));
                    }
                }
                events
            };
            let first = play(&mut Vad::new(config));
            let second = play(&mut Vad::new(config));
            prop_assert_eq!(&first, &second);
            for (k, (_, e)) in first.iter().enumerate() {
                let expected = if k % 2 == 0 { VadEvent::SpeakStart } else { VadEvent::SpeakStop };
                prop_assert_eq!(*e, expected);
            }
            // Events are at least start_frames / hangover_frames apart.
            for w in first.windows(2) {
                let (a, b) = (w[0].0, w[1].0);
                let min_gap = match w[1].1 {
                    VadEvent::SpeakStop => config.hangover_frames,
                    VadEvent::SpeakStart => config.start_frames,
                } as usize;
                prop_assert!(b - a >= min_gap);
            }
        }
    }
}
