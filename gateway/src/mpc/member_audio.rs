//! Audio to one member: a sound (already loaded by the API's operations,
//! off this task) played to one member alone, on top of what it hears.
//!
//! Each sound gets a token, kept in the member's seat and given to the
//! media plane: when the room reports a sound ended by itself, the report
//! counts only if that sound is still the member's (it may have been
//! replaced or stopped meanwhile). The engine pairs the events
//! (ParticipantAudioPlayed, then ParticipantAudioStopped when the sound
//! ends, is stopped or replaced, or the member leaves); this module tells
//! it when, and moves the sound in and out of the room.

use std::sync::atomic::{AtomicU64, Ordering};

use chorus_mpc::Input;

use super::mailbox::MemberSound;
use super::services::MpcServices;
use super::task::Live;

/// Tokens of member sounds, unique on this host.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

impl Live {
    /// Plays `sound` to present member `member` alone (replacing its sound:
    /// Stopped, then Played), or stops its sound (`None`).
    pub(super) fn member_audio(
        &mut self,
        services: &MpcServices,
        member: u32,
        sound: Option<MemberSound>,
    ) {
        let Some(seat) = self.seats.get_mut(&member) else {
            return;
        };
        let leg_id = seat.leg_id;
        let (sent, input) = match sound {
            Some(MemberSound(clip)) => {
                let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
                seat.audio = Some(token);
                let sent = services.media.play_to_leg(leg_id, clip, token);
                (sent, Input::AudioPlayed { member })
            }
            None => {
                if seat.audio.take().is_none() {
                    return;
                }
                let sent = services.media.stop_leg_audio(leg_id);
                (sent, Input::AudioStopped { member })
            }
        };
        match sent {
            Ok(()) => self.feed(services, input),
            Err(error) => {
                tracing::warn!(%error, member, %leg_id, "could not change the member's sound");
                if let Some(seat) = self.seats.get_mut(&member) {
                    seat.audio = None;
                }
                self.feed(services, Input::AudioStopped { member });
            }
        }
    }

    /// The room says `member`'s sound `token` played to its end.
    pub(super) fn audio_ended(&mut self, services: &MpcServices, member: u32, token: u64) {
        let Some(seat) = self.seats.get_mut(&member) else {
            return;
        };
        if seat.audio != Some(token) {
            // A sound since replaced or stopped: already reported.
            return;
        }
        seat.audio = None;
        tracing::debug!(member, "the member's sound ended");
        self.feed(services, Input::AudioStopped { member });
    }
}
