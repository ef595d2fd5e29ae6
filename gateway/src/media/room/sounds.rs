//! The sounds a room plays itself, to everyone who hears them: its three
//! musics (wait, agent hold, customer hold; chorus's built-in tune, the
//! application's clip, or silence) and the bridge (beeps and enter/exit
//! clips, a few at once). Each tick [`MediaRoom::play_room_sounds`] fills
//! only the buffers someone will hear; the mixer decides who hears them.
//! A music that is replaced goes back as a [`RetiredMusic`], so the media
//! thread frees nothing. Apart from the tick because what plays is chosen
//! by the control plane, and the tick only reads it.

use std::sync::Arc;

use chorus_mixer::HoldMusic;
use chorus_mixer::clip::{Clip, ClipPlayer};
use chorus_mixer::music::{MusicPlayer, Tune};
use chorus_mixer::tone::{Beep, BeepPlayer};

use super::MediaRoom;

/// What a room plays as one of its musics.
#[derive(Debug, Clone, Default)]
pub enum Music {
    /// chorus's synthesised tune (no URL given).
    #[default]
    Builtin,
    /// Nothing (the URL is loading, or failed: Plivo plays no music then).
    Silence,
    /// The application's music, looping.
    Clip(Arc<Clip>),
}

/// The three musics of a room.
#[derive(Debug, Clone, Default)]
pub struct RoomMusic {
    /// For everyone until the MPC starts (`waitMusicUrl`).
    pub wait: Music,
    /// For held agents and supervisors (`agentHoldMusicUrl`).
    pub agent_hold: Music,
    /// For held customers (`customerHoldMusicUrl`).
    pub customer_hold: Music,
}

/// Which of a room's musics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MusicSlot {
    /// Wait music.
    Wait,
    /// Agent (and supervisor) hold music.
    AgentHold,
    /// Customer hold music.
    CustomerHold,
}

/// A music being played.
pub(super) enum MusicSource {
    Builtin(MusicPlayer),
    Silence,
    Clip(ClipPlayer),
}

impl MusicSource {
    pub(super) fn new(music: &Music, tune: Tune, sample_rate: u32) -> Self {
        match music {
            Music::Builtin => Self::Builtin(MusicPlayer::new(tune, sample_rate)),
            Music::Silence => Self::Silence,
            Music::Clip(clip) => Self::Clip(ClipPlayer::new(clip.clone())),
        }
    }

    fn fill(&mut self, out: &mut [i16]) {
        match self {
            Self::Builtin(player) => player.fill(out),
            Self::Silence => out.fill(0),
            Self::Clip(player) => {
                player.fill(out);
            }
        }
    }
}

/// A music a room no longer plays, to be dropped off the media thread (the
/// built-in tune's tables are freed with it).
pub struct RetiredMusic(#[allow(dead_code)] MusicSource);

/// A sound being played on the bridge.
pub(super) enum BridgePlayer {
    Beep(BeepPlayer),
    Clip(ClipPlayer),
}

impl BridgePlayer {
    /// Mixes the next samples in; false once finished.
    fn add_to(&mut self, out: &mut [i16]) -> bool {
        match self {
            Self::Beep(beep) => beep.add_to(out),
            Self::Clip(clip) => clip.add_to(out),
        }
    }
}

impl MediaRoom {
    /// Plays a beep to everyone who hears the bridge.
    pub fn play_bridge(&mut self, beep: Beep) {
        self.add_bridge_sound(BridgePlayer::Beep(BeepPlayer::new(beep, self.sample_rate)));
    }

    /// Plays a clip (an enter or exit sound URL) to everyone who hears the
    /// bridge.
    pub fn play_bridge_clip(&mut self, clip: Arc<Clip>) {
        self.add_bridge_sound(BridgePlayer::Clip(ClipPlayer::new(clip)));
    }

    /// Replaces one of the room's musics with a loaded clip, or with
    /// silence (`None`: its URL failed). Never allocates; the music it
    /// replaces is given back, to be dropped off the media thread.
    pub fn set_music(&mut self, slot: MusicSlot, clip: Option<Arc<Clip>>) -> RetiredMusic {
        let source = match clip {
            Some(clip) => MusicSource::Clip(ClipPlayer::new(clip)),
            None => MusicSource::Silence,
        };
        let current = match slot {
            MusicSlot::Wait => &mut self.wait_music,
            MusicSlot::AgentHold => &mut self.agent_hold_music,
            MusicSlot::CustomerHold => &mut self.customer_hold_music,
        };
        RetiredMusic(std::mem::replace(current, source))
    }

    /// Starts a bridge sound if fewer than [`MAX_BRIDGE_SOUNDS`](super::MAX_BRIDGE_SOUNDS) play.
    fn add_bridge_sound(&mut self, sound: BridgePlayer) {
        if let Some(slot) = self.bridge.iter_mut().find(|b| b.is_none()) {
            *slot = Some(sound);
        }
    }

    /// Whether a member is on hold (and so hears hold music).
    pub(super) fn anyone_held(&self) -> bool {
        self.members
            .iter()
            .any(|m| self.mixer.participant(m.channel).is_some_and(|p| p.held))
    }

    /// Fills the music and bridge buffers that someone will hear this tick.
    pub(super) fn play_room_sounds(&mut self) {
        if !self.mixer.started() {
            self.wait_music.fill(self.mixer.wait_music_mut());
        }
        if self.anyone_held() {
            self.agent_hold_music
                .fill(self.mixer.hold_music_mut(HoldMusic::Agent));
            self.customer_hold_music
                .fill(self.mixer.hold_music_mut(HoldMusic::Customer));
        }
        if self.bridge.iter().any(Option::is_some) {
            let bridge = self.mixer.bridge_mut();
            bridge.fill(0);
            for slot in &mut self.bridge {
                if let Some(sound) = slot
                    && !sound.add_to(bridge)
                {
                    *slot = None;
                }
            }
        }
    }
}
