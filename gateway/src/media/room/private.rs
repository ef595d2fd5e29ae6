//! A sound one member hears alone (the API's play and speak to a member),
//! mixed on top of what it hears from the room.
//!
//! A member's [`PrivateSound`] lives in its room slot. Each tick,
//! [`PrivateSound::mix_over`] copies the member's group mix into the room's
//! scratch frame and adds the sound's next samples: that member's mix is
//! then its own and is encoded for it alone, while everyone else keeps the
//! shared encode. When the sound has played its last sample,
//! [`PrivateSound::take_end`] gives its token once, for the room to report
//! (the control plane then sends ParticipantAudioStopped). The player is
//! never dropped here: a finished one waits silent in its slot until the
//! next change, and a replaced or stopped one goes back to the control
//! plane as a [`RetiredSound`], so the media thread frees nothing.

use std::sync::Arc;

use chorus_mixer::clip::{Clip, ClipPlayer};

use super::{LegId, LegSignal, MediaRoom};

impl MediaRoom {
    /// Plays `clip` to one member alone, on top of what it hears, from the
    /// next tick; gives back the sound it replaces (or `clip` itself if the
    /// leg is not here), to be dropped off the media thread.
    pub fn play_private(
        &mut self,
        leg_id: LegId,
        clip: Arc<Clip>,
        token: u64,
    ) -> Option<RetiredSound> {
        let sound = PrivateSound::new(clip, token);
        match self.member_mut(leg_id) {
            Some(m) => m.private.replace(sound).map(PrivateSound::retire),
            None => Some(sound.retire()),
        }
    }

    /// Stops a member's own sound; gives it back, to be dropped off the
    /// media thread.
    pub fn stop_private(&mut self, leg_id: LegId) -> Option<RetiredSound> {
        let m = self.member_mut(leg_id)?;
        m.private.take().map(PrivateSound::retire)
    }

    /// Reports each member's sound that played to its end this tick.
    pub(super) fn report_private_ends(&mut self, signal: &mut impl FnMut(LegId, LegSignal)) {
        for m in &mut self.members {
            if let Some(token) = m.private.as_mut().and_then(PrivateSound::take_end) {
                signal(m.leg_id, LegSignal::AudioEnded(token));
            }
        }
    }
}

/// A sound playing (or played) to one member.
pub struct PrivateSound {
    player: ClipPlayer,
    /// Names this sound to the control plane, so a late end report of a
    /// sound already replaced is recognised and ignored.
    token: u64,
    /// Its end was reported.
    reported: bool,
}

impl PrivateSound {
    /// `clip` from its start, known to the control plane as `token`.
    pub fn new(clip: Arc<Clip>, token: u64) -> Self {
        Self {
            player: ClipPlayer::new(clip),
            token,
            reported: false,
        }
    }

    /// The member's frame this tick: `group_mix` with the sound's next
    /// samples added, in `scratch` (at least as long); `None` once the
    /// sound has ended (the member hears its group mix again, shared).
    pub fn mix_over<'a>(&mut self, group_mix: &[i16], scratch: &'a mut [i16]) -> Option<&'a [i16]> {
        if self.player.is_finished() {
            return None;
        }
        let frame = &mut scratch[..group_mix.len()];
        frame.copy_from_slice(group_mix);
        self.player.add_to(frame);
        Some(frame)
    }

    /// The sound's token, once, after it has played to its end.
    pub fn take_end(&mut self) -> Option<u64> {
        if self.player.is_finished() && !self.reported {
            self.reported = true;
            return Some(self.token);
        }
        None
    }

    /// Hands the sound back, to be dropped off the media thread.
    pub fn retire(self) -> RetiredSound {
        RetiredSound(self.player)
    }
}

/// A member's sound the room no longer plays, to be dropped off the media
/// thread (it may hold the last reference to the clip's samples).
pub struct RetiredSound(#[allow(dead_code)] ClipPlayer);

impl RetiredSound {
    /// A clip that never played (its member was gone), to be dropped off
    /// the media thread all the same.
    pub fn unplayed(clip: Arc<Clip>) -> Self {
        Self(ClipPlayer::new(clip))
    }
}

#[cfg(test)]
mod tests {
    use chorus_mixer::clip::Segment;

    use super::*;

    fn sound(samples: &[i16]) -> PrivateSound {
        let clip = Clip::new(vec![Segment::Pcm(Arc::from(samples))], None);
        PrivateSound::new(Arc::new(clip), 7)
    }

    #[test]
    fn the_sound_is_added_on_top_of_the_group_mix_until_it_ends() {
        let mut s = sound(&[100, 200, 300, 400, 500, 600]);
        let mut scratch = [0i16; 8];
        let group = [1i16, 2, 3, 4];
        assert_eq!(
            s.mix_over(&group, &mut scratch),
            Some(&[101, 202, 303, 404][..])
        );
        assert_eq!(s.take_end(), None, "not over yet");
        // The last samples, then the group mix alone for the rest.
        assert_eq!(
            s.mix_over(&group, &mut scratch),
            Some(&[501, 602, 3, 4][..])
        );
        assert_eq!(s.mix_over(&group, &mut scratch), None);
        assert_eq!(group, [1, 2, 3, 4], "the shared mix is never touched");
    }

    #[test]
    fn the_end_is_reported_once_with_the_sounds_token() {
        let mut s = sound(&[1, 2]);
        let mut scratch = [0i16; 4];
        s.mix_over(&[0; 4], &mut scratch);
        assert_eq!(s.take_end(), Some(7));
        assert_eq!(s.take_end(), None);
    }

    #[test]
    fn loud_sounds_saturate_instead_of_wrapping() {
        let mut s = sound(&[i16::MAX, i16::MIN]);
        let mut scratch = [0i16; 2];
        let heard = s.mix_over(&[1000, -1000], &mut scratch);
        assert_eq!(heard, Some(&[i16::MAX, i16::MIN][..]));
    }
}
