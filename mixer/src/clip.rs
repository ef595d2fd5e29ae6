//! Decoded audio to play: a [`Clip`] is what an application's sound or music
//! document (`<Play>`, `<Wait>`) turned into, and a [`ClipPlayer`] plays it
//! tick by tick without allocating.
//!
//! A clip is a list of [`Segment`]s at the room's sample rate: decoded PCM
//! (shared, so a `<Play loop="3">` is one buffer referenced three times) or
//! a run of silence (`<Wait length>`, which costs no memory). A clip may
//! loop from one of its segments onward — music loops from the start, and a
//! `<Play loop="0">` repeats itself forever — or end, as a bridge sound does.
//!
//! ```
//! use std::sync::Arc;
//! use chorus_mixer::clip::{Clip, ClipPlayer, Segment};
//! let tone: Arc<[i16]> = Arc::from(vec![100i16; 3]);
//! let clip = Arc::new(Clip::new(vec![Segment::Pcm(tone), Segment::Silence(2)], None));
//! let mut player = ClipPlayer::new(clip);
//! let mut out = [7i16; 4];
//! assert!(player.fill(&mut out));
//! assert_eq!(out, [100, 100, 100, 0]);
//! assert!(!player.fill(&mut out)); // the last silent sample, then the end
//! assert_eq!(out, [0, 0, 0, 0]);
//! ```
//!
//! Dropping a player only drops an [`Arc`]: whoever built the clip keeps a
//! reference as long as it may be played, so the media thread never frees
//! the samples.

use std::sync::Arc;

/// One piece of a clip.
#[derive(Debug, Clone)]
pub enum Segment {
    /// Decoded samples at the room's rate.
    Pcm(Arc<[i16]>),
    /// This many samples of silence.
    Silence(usize),
}

impl Segment {
    fn len(&self) -> usize {
        match self {
            Segment::Pcm(pcm) => pcm.len(),
            Segment::Silence(n) => *n,
        }
    }
}

/// A sequence of segments, played once or looping from one of them.
#[derive(Debug, Clone)]
pub struct Clip {
    /// Segments, empty ones removed.
    segments: Box<[Segment]>,
    /// Where playback continues after the last segment; `None`: it ends.
    loop_from: Option<usize>,
}

impl Clip {
    /// A clip of `segments` that, after its last segment, continues from
    /// segment `loop_from` (`None`: ends). Empty segments are dropped; a
    /// `loop_from` past the end, or a loop over nothing but empty segments,
    /// makes a clip that ends.
    pub fn new(segments: Vec<Segment>, loop_from: Option<usize>) -> Self {
        let mut kept = Vec::with_capacity(segments.len());
        let mut loop_at = None;
        for (i, segment) in segments.into_iter().enumerate() {
            if loop_from == Some(i) {
                loop_at = Some(kept.len());
            }
            if segment.len() > 0 {
                kept.push(segment);
            }
        }
        // A loop over nothing would spin: only loop over something audible
        // or silent that has a length.
        let loop_from = loop_at.filter(|&i| i < kept.len());
        Self {
            segments: kept.into_boxed_slice(),
            loop_from,
        }
    }

    /// Samples from the start to the end of the last segment (one pass,
    /// whether or not it loops).
    pub fn len(&self) -> usize {
        self.segments.iter().map(Segment::len).sum()
    }

    /// True when the clip has no samples at all.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Whether the clip plays forever.
    pub fn loops(&self) -> bool {
        self.loop_from.is_some()
    }
}

/// Plays a [`Clip`] from its start.
#[derive(Debug, Clone)]
pub struct ClipPlayer {
    clip: Arc<Clip>,
    segment: usize,
    offset: usize,
}

impl ClipPlayer {
    /// A player at the start of `clip`.
    pub fn new(clip: Arc<Clip>) -> Self {
        Self {
            clip,
            segment: 0,
            offset: 0,
        }
    }

    /// Overwrites `out` with the next samples (silence after the end).
    /// Returns `true` while some of the clip remains after this call.
    pub fn fill(&mut self, out: &mut [i16]) -> bool {
        self.play(out, |slot, s| *slot = s, |rest| rest.fill(0))
    }

    /// Adds (saturating) the next samples into `out`, leaving it untouched
    /// past the end. Returns `true` while some of the clip remains after
    /// this call.
    pub fn add_to(&mut self, out: &mut [i16]) -> bool {
        self.play(out, |slot, s| *slot = slot.saturating_add(s), |_| {})
    }

    /// Whether every sample has been played (never, for a looping clip).
    pub fn is_finished(&self) -> bool {
        self.segment >= self.clip.segments.len()
    }

    /// Walks the segments, handing each sample to `put` and each silent or
    /// finished stretch to `quiet`.
    fn play(
        &mut self,
        mut out: &mut [i16],
        put: impl Fn(&mut i16, i16),
        quiet: impl Fn(&mut [i16]),
    ) -> bool {
        while !out.is_empty() {
            let Some(segment) = self.clip.segments.get(self.segment) else {
                quiet(out);
                break;
            };
            let take = (segment.len() - self.offset).min(out.len());
            let (now, rest) = std::mem::take(&mut out).split_at_mut(take);
            match segment {
                Segment::Pcm(pcm) => {
                    for (slot, &s) in now.iter_mut().zip(&pcm[self.offset..]) {
                        put(slot, s);
                    }
                }
                Segment::Silence(_) => quiet(now),
            }
            out = rest;
            self.offset += take;
            if self.offset == segment.len() {
                self.offset = 0;
                self.segment += 1;
                if self.segment == self.clip.segments.len()
                    && let Some(from) = self.clip.loop_from
                {
                    self.segment = from;
                }
            }
        }
        !self.is_finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm(values: &[i16]) -> Segment {
        Segment::Pcm(Arc::from(values))
    }

    fn played(clip: Clip, frame: usize, frames: usize) -> Vec<i16> {
        let mut player = ClipPlayer::new(Arc::new(clip));
        let mut all = Vec::new();
        let mut out = vec![9i16; frame];
        for _ in 0..frames {
            player.fill(&mut out);
            all.extend_from_slice(&out);
        }
        all
    }

    #[test]
    fn plays_segments_in_order_across_frame_boundaries() {
        let clip = Clip::new(vec![pcm(&[1, 2, 3]), Segment::Silence(2), pcm(&[4])], None);
        assert_eq!(clip.len(), 6);
        assert_eq!(played(clip, 4, 3), [1, 2, 3, 0, 0, 4, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn loops_from_the_given_segment_forever() {
        let clip = Clip::new(vec![pcm(&[1]), pcm(&[2, 3])], Some(1));
        assert!(clip.loops());
        assert_eq!(played(clip, 3, 3), [1, 2, 3, 2, 3, 2, 3, 2, 3]);
        let music = Clip::new(vec![pcm(&[5, 6]), Segment::Silence(1)], Some(0));
        assert_eq!(played(music, 2, 3), [5, 6, 0, 5, 6, 0]);
    }

    #[test]
    fn empty_segments_and_empty_loops_end_instead_of_spinning() {
        let clip = Clip::new(vec![Segment::Silence(0), pcm(&[])], Some(0));
        assert!(clip.is_empty() && !clip.loops());
        let mut player = ClipPlayer::new(Arc::new(clip));
        let mut out = [5i16; 3];
        assert!(!player.fill(&mut out));
        assert_eq!(out, [0, 0, 0]);
        // A loop point on an empty segment moves to the next real one.
        let clip = Clip::new(vec![pcm(&[1]), Segment::Silence(0), pcm(&[2])], Some(1));
        assert_eq!(played(clip, 2, 2), [1, 2, 2, 2]);
    }

    #[test]
    fn add_to_mixes_and_reports_the_end_on_the_last_samples() {
        let mut player = ClipPlayer::new(Arc::new(Clip::new(vec![pcm(&[i16::MAX, -5])], None)));
        let mut out = [10i16, 10, 10];
        assert!(!player.add_to(&mut out));
        assert_eq!(out, [i16::MAX, 5, 10]);
        assert!(player.is_finished());
    }
}
