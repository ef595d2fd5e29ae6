//! After a run: did each checked leg hear exactly its room, and how long
//! did each tone take from its sender's mouth to this leg's ear?
//!
//! Each captured packet is decoded and every tone's level measured in it
//! (the Hann-windowed Goertzel of the end-to-end tests). A tone the leg
//! should hear must be present (above [`PRESENT_DBFS`]) in at least
//! [`MIN_PRESENT_SHARE`] of the packets (its pulse is on half the time);
//! any other tone must never reach `ABSENT_DBFS` in a single packet, so one
//! packet of another room's audio is caught. Latency is timed at each
//! onset: the first packet carrying a tone after a pause, against the
//! send time of that tone's most recent onset.

use chorus_media::g711::Law;
use chorus_tests::tone::{ABSENT_DBFS, goertzel_dbfs};
use serde::Serialize;

use crate::media::MediaLeg;
use crate::plan::{PULSE_FRAMES, TONES};
use crate::target::Hearing;

/// A tone this loud in a packet is present.
pub const PRESENT_DBFS: f64 = -35.0;
/// Share of packets an expected tone must be present in.
pub const MIN_PRESENT_SHARE: f64 = 0.2;
/// Packets below `ABSENT_DBFS` before a rise counts as an onset.
const QUIET_BEFORE_ONSET: usize = 3;

/// What one checked leg heard.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verdict {
    /// The leg.
    pub leg: usize,
    /// Its room.
    pub room: usize,
    /// Tones it should have heard and did not (Hz).
    pub missing: Vec<u32>,
    /// Tones it should not have heard and did (Hz).
    pub foreign: Vec<u32>,
    /// Packets analysed.
    pub packets: usize,
    /// Mouth-to-ear latencies of the onsets it heard, ms.
    pub latencies_ms: Vec<f64>,
}

impl Verdict {
    /// Heard exactly its room.
    pub fn correct(&self) -> bool {
        self.missing.is_empty() && self.foreign.is_empty() && self.packets > 0
    }
}

/// Judges `listener`, a leg of `room` (every leg of its room, itself
/// included), for a server that should make it hear `hearing`.
pub fn judge(listener: &MediaLeg, room: &[&MediaLeg], hearing: Hearing, law: Law) -> Verdict {
    let speakers: Vec<&MediaLeg> = room
        .iter()
        .copied()
        .filter(|s| match hearing {
            Hearing::Others => s.plan.index != listener.plan.index,
            Hearing::Itself => s.plan.index == listener.plan.index,
        })
        .collect();
    let capture = listener.capture.as_deref().unwrap_or(&[]);
    // Levels of every tone in every packet, in arrival order.
    let mut pcm = Vec::new();
    let levels: Vec<(u64, [f64; TONES.len()])> = capture
        .iter()
        .map(|p| {
            pcm.resize(p.payload.len(), 0);
            law.decode(&p.payload, &mut pcm);
            let mut l = [0.0; TONES.len()];
            for (level, &tone) in l.iter_mut().zip(&TONES) {
                *level = goertzel_dbfs(&pcm, 8000, tone as f32);
            }
            (p.arrival_ns, l)
        })
        .collect();
    let mut verdict = Verdict {
        leg: listener.plan.index,
        room: listener.plan.room,
        packets: levels.len(),
        ..Verdict::default()
    };
    for (t, &tone) in TONES.iter().enumerate() {
        let speaker = speakers.iter().find(|s| s.plan.tone == tone);
        let present = levels.iter().filter(|(_, l)| l[t] > PRESENT_DBFS).count();
        match speaker {
            Some(speaker) => {
                if (present as f64) < MIN_PRESENT_SHARE * levels.len() as f64 || levels.is_empty() {
                    verdict.missing.push(tone);
                }
                let onsets = speaker.onsets.as_deref().unwrap_or(&[]);
                verdict.latencies_ms.extend(latencies(&levels, t, onsets));
            }
            None => {
                if levels.iter().any(|(_, l)| l[t] >= ABSENT_DBFS) {
                    verdict.foreign.push(tone);
                }
            }
        }
    }
    verdict
}

/// Mouth-to-ear latency of each onset of tone `t` heard in `levels`,
/// against the sender's onset send times.
fn latencies(levels: &[(u64, [f64; TONES.len()])], t: usize, onsets: &[u64]) -> Vec<f64> {
    // An onset more than half a pulse period before the rise is not its.
    let window_ns = u64::from(PULSE_FRAMES) * 20_000_000 / 2;
    let mut out = Vec::new();
    let mut quiet = 0;
    for &(arrival, l) in levels {
        if l[t] < ABSENT_DBFS {
            quiet += 1;
            continue;
        }
        if l[t] > PRESENT_DBFS && quiet >= QUIET_BEFORE_ONSET {
            let sent = onsets.iter().rev().find(|&&o| o <= arrival);
            if let Some(&sent) = sent.filter(|&&o| arrival - o < window_ns) {
                out.push((arrival - sent) as f64 / 1e6);
            }
        }
        quiet = 0;
    }
    out
}
