//! An MPC's sounds that come from URLs: its three musics (`waitMusicUrl`,
//! `agentHoldMusicUrl`, `customerHoldMusicUrl`) and the enter/exit sound
//! documents of its members.
//!
//! [`Sounds`] is the bookkeeping; a [`SoundBank`] adds the loads in
//! flight (beside the MPC's task, on the [`Player`]) and says what each
//! finished load means for the MPC's room. Until a music loads its room
//! plays silence, and a music or sound whose URL fails stays silent, as the
//! spec says. Loaded clips are kept here for the MPC's life: the room only
//! borrows them, so the media thread never frees their samples, and an
//! enter sound shared by every member is fetched once per MPC.

use std::collections::HashMap;
use std::sync::Arc;

use chorus_mixer::clip::Clip;
use chorus_mixer::tone::Beep;
use chorus_xml::{Method, MultiPartyCall, Sound};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::media::{Music, MusicSlot, RoomMusic};
use crate::metrics::Metrics;
use crate::player::{Player, Use};

/// A sound document to fetch: URL and method.
pub type Source = (String, Method);

/// One music document to load, and the musics it becomes.
pub struct MusicLoad {
    /// Where it comes from.
    pub source: Source,
    /// Which of the room's musics it is (hold music URLs are often shared).
    pub slots: Vec<MusicSlot>,
}

/// What to do about a wanted bridge sound.
#[derive(Debug)]
pub enum BridgePlay {
    /// Play this now.
    Now(Arc<Clip>),
    /// Start loading it; it plays when loaded.
    Load,
    /// Nothing now: it is loading (and will play then), or its URL failed.
    Later,
}

enum BridgeSound {
    Loading { plays: u32 },
    Ready(Arc<Clip>),
    Failed,
}

/// An MPC's URL sounds.
#[derive(Default)]
pub struct Sounds {
    loaded_music: Vec<Arc<Clip>>,
    bridge: HashMap<Source, BridgeSound>,
}

impl Sounds {
    /// The musics an MPC created by `spec` starts with (built in without
    /// a URL, silent while a URL loads) and the loads to start.
    pub fn new(spec: &MultiPartyCall) -> (Self, RoomMusic, Vec<MusicLoad>) {
        let mut music = RoomMusic::default();
        let mut loads: Vec<MusicLoad> = Vec::new();
        let urls = [
            (
                MusicSlot::Wait,
                &spec.wait_music_url,
                spec.wait_music_method,
            ),
            (
                MusicSlot::AgentHold,
                &spec.agent_hold_music_url,
                spec.agent_hold_music_method,
            ),
            (
                MusicSlot::CustomerHold,
                &spec.customer_hold_music_url,
                spec.customer_hold_music_method,
            ),
        ];
        for (slot, url, method) in urls {
            let Some(url) = url else { continue };
            *match slot {
                MusicSlot::Wait => &mut music.wait,
                MusicSlot::AgentHold => &mut music.agent_hold,
                MusicSlot::CustomerHold => &mut music.customer_hold,
            } = Music::Silence;
            let source = (url.clone(), method);
            match loads.iter_mut().find(|l| l.source == source) {
                Some(load) => load.slots.push(slot),
                None => loads.push(MusicLoad {
                    source,
                    slots: vec![slot],
                }),
            }
        }
        (Self::default(), music, loads)
    }

    /// A music loaded: kept for the MPC's life (the room borrows it).
    pub fn music_loaded(&mut self, clip: Arc<Clip>) {
        self.loaded_music.push(clip);
    }

    /// A member's enter or exit sound document is wanted on the bridge.
    pub fn bridge(&mut self, source: &Source) -> BridgePlay {
        match self.bridge.get_mut(source) {
            Some(BridgeSound::Ready(clip)) => BridgePlay::Now(clip.clone()),
            Some(BridgeSound::Loading { plays }) => {
                *plays += 1;
                BridgePlay::Later
            }
            Some(BridgeSound::Failed) => BridgePlay::Later,
            None => {
                self.bridge
                    .insert(source.clone(), BridgeSound::Loading { plays: 1 });
                BridgePlay::Load
            }
        }
    }

    /// A bridge sound finished loading (`None`: failed); returns how many
    /// times it was asked for meanwhile.
    pub fn bridge_loaded(&mut self, source: &Source, clip: Option<Arc<Clip>>) -> u32 {
        let state = match clip {
            Some(clip) => BridgeSound::Ready(clip),
            None => BridgeSound::Failed,
        };
        match self.bridge.insert(source.clone(), state) {
            Some(BridgeSound::Loading { plays }) => plays,
            _ => 0,
        }
    }
}

/// A load that finished.
enum Loaded {
    Music {
        slots: Vec<MusicSlot>,
        clip: Option<Arc<Clip>>,
    },
    Bridge {
        source: Source,
        clip: Option<Arc<Clip>>,
    },
}

/// What a finished load means for the MPC's room.
pub enum ForRoom {
    /// These musics become `clip` (`None`: silence, its URL failed).
    Music {
        /// Which musics.
        slots: Vec<MusicSlot>,
        /// The clip.
        clip: Option<Arc<Clip>>,
    },
    /// Play `clip` on the bridge `plays` times (members who entered or
    /// left while it loaded).
    Bridge {
        /// The sound.
        clip: Arc<Clip>,
        /// How many times.
        plays: u32,
    },
    /// Nothing (a bridge sound that failed, or a load that died).
    Nothing,
}

/// An MPC's URL sounds and their loads in flight.
pub struct SoundBank {
    sounds: Sounds,
    loads: JoinSet<Loaded>,
    player: Player,
    metrics: Arc<Metrics>,
}

impl SoundBank {
    /// The sounds of an MPC created by `spec`, its music loads started
    /// (in the current span), and the musics its room starts with.
    pub fn new(spec: &MultiPartyCall, player: Player, metrics: Arc<Metrics>) -> (Self, RoomMusic) {
        let (sounds, music, music_loads) = Sounds::new(spec);
        let mut bank = Self {
            sounds,
            loads: JoinSet::new(),
            player,
            metrics,
        };
        for load in music_loads {
            let (player, metrics) = (bank.player.clone(), bank.metrics.clone());
            bank.loads.spawn(
                async move {
                    let (url, method) = &load.source;
                    let clip = load_document(&player, &metrics, url, *method, Use::Music).await;
                    Loaded::Music {
                        slots: load.slots,
                        clip,
                    }
                }
                .instrument(tracing::Span::current()),
            );
        }
        (bank, music)
    }

    /// An enter or exit sound document is wanted on the bridge: the clip
    /// to play now if it is loaded; else it plays when its load finishes.
    pub fn bridge(&mut self, source: Source) -> Option<Arc<Clip>> {
        match self.sounds.bridge(&source) {
            BridgePlay::Now(clip) => Some(clip),
            BridgePlay::Later => None,
            BridgePlay::Load => {
                let (player, metrics) = (self.player.clone(), self.metrics.clone());
                self.loads.spawn(
                    async move {
                        let (url, method) = &source;
                        let clip =
                            load_document(&player, &metrics, url, *method, Use::Bridge).await;
                        Loaded::Bridge { source, clip }
                    }
                    .instrument(tracing::Span::current()),
                );
                None
            }
        }
    }

    /// The next load to finish, and what it means for the room; pends while
    /// none is in flight. Cancel-safe.
    pub async fn next_load(&mut self) -> ForRoom {
        let Some(finished) = self.loads.join_next().await else {
            return std::future::pending().await;
        };
        match finished {
            Ok(Loaded::Music { slots, clip }) => {
                if let Some(clip) = &clip {
                    self.sounds.music_loaded(clip.clone());
                }
                ForRoom::Music { slots, clip }
            }
            Ok(Loaded::Bridge { source, clip }) => {
                let plays = self.sounds.bridge_loaded(&source, clip.clone());
                match clip {
                    Some(clip) if plays > 0 => ForRoom::Bridge { clip, plays },
                    _ => ForRoom::Nothing,
                }
            }
            Err(_) => ForRoom::Nothing,
        }
    }

    /// Drops the loads in flight (the MPC ended).
    pub fn stop(&mut self) {
        self.loads.abort_all();
    }
}

/// The built-in bridge sound for an enter/exit sound (URLs are loaded by a
/// [`SoundBank`]).
pub fn beep(sound: &Sound) -> Option<Beep> {
    match sound {
        Sound::None | Sound::Url(_) => None,
        Sound::Beep1 => Some(Beep::One),
        Sound::Beep2 => Some(Beep::Two),
    }
}

/// A sound document as a clip; `None` (silence) if it failed, logged.
async fn load_document(
    player: &Player,
    metrics: &Metrics,
    url: &str,
    method: Method,
    use_: Use,
) -> Option<Arc<Clip>> {
    let loaded = player.sound_document(url, method, use_).await;
    metrics.sound(loaded.is_ok());
    match loaded {
        Ok(clip) => {
            let seconds = clip.len() as f32 / player.sample_rate() as f32;
            tracing::info!(%url, ?use_, seconds, loops = clip.loops(), "sound document loaded");
            Some(clip)
        }
        Err(error) => {
            tracing::warn!(%url, %error, "sound document unusable; playing silence instead");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chorus_mixer::clip::Segment;
    use chorus_xml::Role;

    fn clip() -> Arc<Clip> {
        Arc::new(Clip::new(vec![Segment::Silence(8)], None))
    }

    #[test]
    fn musics_without_urls_are_built_in_and_shared_urls_load_once() {
        let spec = MultiPartyCall {
            agent_hold_music_url: Some("http://a/hold.xml".into()),
            customer_hold_music_url: Some("http://a/hold.xml".into()),
            ..MultiPartyCall::for_room("r", Role::Agent)
        };
        let (_, music, loads) = Sounds::new(&spec);
        assert!(matches!(music.wait, Music::Builtin));
        assert!(matches!(music.agent_hold, Music::Silence));
        assert!(matches!(music.customer_hold, Music::Silence));
        assert_eq!(loads.len(), 1);
        assert_eq!(
            loads[0].slots,
            [MusicSlot::AgentHold, MusicSlot::CustomerHold]
        );
    }

    #[test]
    fn a_bridge_sound_loads_once_and_plays_for_everyone_who_asked() {
        let mut sounds = Sounds::default();
        let source = ("http://a/enter.xml".to_string(), Method::Get);
        assert!(matches!(sounds.bridge(&source), BridgePlay::Load));
        assert!(matches!(sounds.bridge(&source), BridgePlay::Later));
        assert_eq!(sounds.bridge_loaded(&source, Some(clip())), 2);
        assert!(matches!(sounds.bridge(&source), BridgePlay::Now(_)));
        let broken = ("http://a/404.xml".to_string(), Method::Get);
        assert!(matches!(sounds.bridge(&broken), BridgePlay::Load));
        assert_eq!(sounds.bridge_loaded(&broken, None), 1);
        assert!(matches!(sounds.bridge(&broken), BridgePlay::Later));
    }
}
