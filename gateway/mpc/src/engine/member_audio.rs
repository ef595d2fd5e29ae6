//! Sounds played to one member (the API's play and speak): the engine
//! keeps whether one plays to each member, so ParticipantAudioPlayed and
//! ParticipantAudioStopped always pair up. The driver feeds
//! [`Input::AudioPlayed`](crate::io::Input::AudioPlayed) when a sound starts
//! (a sound that replaces another one is a Stopped then a Played) and
//! [`Input::AudioStopped`](crate::io::Input::AudioStopped) when it ends or the
//! API stops it; a member who leaves while its sound plays gets its Stopped
//! before its ParticipantExit.

use super::Mpc;
use crate::event::EventName;
use crate::time::Timestamp;

impl Mpc {
    /// A sound started (`playing`) or stopped for `member`.
    pub(super) fn audio(&mut self, now: Timestamp, member: u32, playing: bool) {
        let Some(i) = self.index(member) else { return };
        self.audio_ends_with(now, i);
        if playing {
            self.members[i].audio = true;
            self.emit(now, EventName::ParticipantAudioPlayed, Some(i), None);
        }
    }

    /// Member `i`'s sound, if one plays, stops now.
    pub(super) fn audio_ends_with(&mut self, now: Timestamp, i: usize) {
        if std::mem::take(&mut self.members[i].audio) {
            self.emit(now, EventName::ParticipantAudioStopped, Some(i), None);
        }
    }
}
