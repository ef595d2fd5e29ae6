//! Packet loss concealment for decoded PCM.
//!
//! When the jitter buffer reports a lost frame the caller asks [`Concealer`]
//! for a replacement. We repeat the last good frame under a linear gain ramp
//! that starts at full level and reaches silence 60 ms after the loss began
//! (three 20 ms frames; the ramp length is 3 × `frame_samples`, so it is 60 ms
//! for any frame size chosen as 20 ms). The ramp is applied per sample, so
//! there are no steps in level between concealed frames.
//!
//! Packets need not be one frame long: [`Concealer::extend`] records good
//! audio of any length as a continuation of what came before, keeping the
//! newest `frame_samples` as the history to repeat, and
//! [`Concealer::conceal`] fills any length (a lost packet's worth).
//!
//! A good frame after concealment simply resumes: [`Concealer::good`] only
//! observes the frame (it cannot modify the caller's buffer), and because
//! concealment has faded in the meantime the transition is either from a
//! similar waveform (short loss) or from silence (long loss), neither of
//! which clicks noticeably on narrowband telephony.

/// Number of frames over which a concealment fades to silence.
const FADE_FRAMES: usize = 3;

/// Repeats-and-fades the last good frame (see the module docs).
#[derive(Debug, Clone)]
pub struct Concealer {
    last: Vec<i16>,
    have_last: bool,
    /// Samples concealed since the last good frame.
    concealed: usize,
    fade_len: usize,
}

impl Concealer {
    /// Allocates the history for frames of `frame_samples` samples.
    pub fn new(frame_samples: usize) -> Self {
        let frame_samples = frame_samples.max(1);
        Concealer {
            last: vec![0; frame_samples],
            have_last: false,
            concealed: 0,
            fade_len: frame_samples * FADE_FRAMES,
        }
    }

    /// Records a correctly received, decoded frame. Shorter frames are padded
    /// with silence; longer ones keep their first `frame_samples` samples.
    pub fn good(&mut self, pcm: &[i16]) {
        let n = pcm.len().min(self.last.len());
        self.last[..n].copy_from_slice(&pcm[..n]);
        self.last[n..].fill(0);
        self.have_last = true;
        self.concealed = 0;
    }

    /// Records good samples that continue the ones recorded before (a
    /// packet of any length): the history becomes the newest
    /// `frame_samples` of them, and the fade starts again.
    pub fn extend(&mut self, pcm: &[i16]) {
        let frame = self.last.len();
        if pcm.len() >= frame {
            self.last.copy_from_slice(&pcm[pcm.len() - frame..]);
        } else {
            self.last.copy_within(pcm.len().., 0);
            self.last[frame - pcm.len()..].copy_from_slice(pcm);
        }
        self.have_last = true;
        self.concealed = 0;
    }

    /// Fills `out` with a concealment frame. With no good frame yet, or once
    /// the fade has completed, that is silence.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if !self.have_last {
            out.fill(0);
            return;
        }
        let frame = self.last.len();
        for (i, o) in out.iter_mut().enumerate() {
            let position = self.concealed + i;
            if position >= self.fade_len {
                *o = 0;
                continue;
            }
            let remaining = (self.fade_len - position) as i64;
            let sample = i64::from(self.last[position % frame]);
            *o = (sample * remaining / self.fade_len as i64) as i16;
        }
        self.concealed = self.concealed.saturating_add(out.len()).min(self.fade_len);
    }

    /// True once concealment has faded completely to silence.
    pub fn is_silent(&self) -> bool {
        !self.have_last || self.concealed >= self.fade_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_before_any_good_frame() {
        let mut c = Concealer::new(160);
        let mut out = [7i16; 160];
        c.conceal(&mut out);
        assert!(out.iter().all(|&s| s == 0));
        assert!(c.is_silent());
    }

    #[test]
    fn repeats_with_fade_and_reaches_silence_after_60_ms() {
        let mut c = Concealer::new(160);
        c.good(&[10_000; 160]);
        let mut frames = [[0i16; 160]; 4];
        for f in frames.iter_mut() {
            c.conceal(f);
        }
        // Starts at full level and decreases monotonically.
        assert_eq!(frames[0][0], 10_000);
        let flat: Vec<i16> = frames.iter().flatten().copied().collect();
        assert!(flat.windows(2).all(|w| w[1] <= w[0]));
        assert!(
            frames[2][159] > 0 && frames[2][159] < 100,
            "{}",
            frames[2][159]
        );
        assert!(frames[3].iter().all(|&s| s == 0), "silent after 60 ms");
        assert!(c.is_silent());
    }

    #[test]
    fn repeats_the_waveform_and_preserves_sign() {
        let mut c = Concealer::new(4);
        c.good(&[100, -100, 200, -200]);
        let mut out = [0i16; 4];
        c.conceal(&mut out);
        assert_eq!(out, [100, -91, 166, -150]);
    }

    #[test]
    fn extend_keeps_the_newest_frame_of_a_continuing_stream() {
        let mut c = Concealer::new(4);
        c.extend(&[1, 2]);
        c.extend(&[3, 4, 5]);
        let mut out = [0i16; 1];
        c.conceal(&mut out);
        assert_eq!(out, [2], "history is 2, 3, 4, 5: starts at 2, full level");
        c.extend(&[10, 20, 30, 40, 50, 60]);
        c.conceal(&mut out);
        assert_eq!(out, [30], "a long packet leaves its last 4 samples");
        assert!(!c.is_silent());
    }

    #[test]
    fn concealing_a_30_ms_packet_fades_like_one_and_a_half_frames() {
        let mut c = Concealer::new(160);
        c.extend(&[8000; 240]);
        let mut lost = [0i16; 240];
        c.conceal(&mut lost);
        assert_eq!(lost[0], 8000);
        assert_eq!(lost[239], (8000 * (480 - 239) / 480) as i16);
        let mut next = [0i16; 240];
        c.conceal(&mut next);
        assert_eq!(next[239], 8000 / 480, "the fade's last step");
        c.conceal(&mut next);
        assert!(
            next.iter().all(|&s| s == 0),
            "silent 60 ms after the loss began"
        );
    }

    #[test]
    fn good_frame_resets_the_fade() {
        let mut c = Concealer::new(160);
        c.good(&[i16::MIN; 160]);
        let mut out = [0i16; 160];
        for _ in 0..5 {
            c.conceal(&mut out);
        }
        c.good(&[1000; 100]); // short frame is padded
        c.conceal(&mut out);
        assert_eq!(out[0], 1000);
        assert_eq!(out[150], 0);
        assert!(!c.is_silent());
    }
}
