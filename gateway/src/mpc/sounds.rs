//! An MPC's sounds that come from URLs: its three musics (`waitMusicUrl`,
//! `agentHoldMusicUrl`, `customerHoldMusicUrl`) and the enter/exit sound
//! documents of its members.
//!
//! [`Sounds`] is the bookkeeping; the registry methods below start the
//! loads (off its lock, on the [`Player`](crate::player::Player)) and hand
//! what they give to the MPC's room. Until a music loads its room plays silence, and a
//! music or sound whose URL fails stays silent, as the spec says. Loaded
//! clips are kept here for the MPC's life: the room only borrows them, so
//! the media thread never frees their samples, and an enter sound shared by
//! every member is fetched once per MPC.

use std::collections::HashMap;
use std::sync::Arc;

use chorus_mixer::clip::Clip;
use chorus_xml::{Method, MultiPartyCall};

use super::{MpcEntry, MpcRegistry};
use crate::media::{Music, MusicSlot, RoomMusic};
use crate::player::Use;

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

impl MpcRegistry {
    /// Loads a music document in the background and gives it to the room.
    pub(super) fn load_music(&self, name: String, uuid: String, load: MusicLoad) {
        let registry = self.clone();
        tokio::spawn(async move {
            let (url, method) = &load.source;
            let clip = registry.load(url, *method, Use::Music).await;
            let mut mpcs = registry.lock();
            let Some(entry) = mpcs.get_mut(&name).filter(|e| e.engine.uuid() == uuid) else {
                return;
            };
            if let Some(clip) = &clip {
                entry.sounds.music_loaded(clip.clone());
            }
            for &slot in &load.slots {
                if let Err(error) =
                    registry
                        .inner
                        .media
                        .set_music(entry.room.place(), slot, clip.clone())
                {
                    tracing::warn!(%error, ?slot, "could not change the room's music");
                }
            }
        });
    }

    /// Plays an enter or exit sound document on the MPC's bridge: now if
    /// it is loaded, else once it is.
    pub(super) fn play_sound(&self, name: String, entry: &mut MpcEntry, source: Source) {
        match entry.sounds.bridge(&source) {
            BridgePlay::Now(clip) => self.play_bridge_clip(entry, clip),
            BridgePlay::Later => {}
            BridgePlay::Load => {
                let registry = self.clone();
                let uuid = entry.engine.uuid().to_owned();
                tokio::spawn(async move {
                    let clip = registry.load(&source.0, source.1, Use::Bridge).await;
                    let mut mpcs = registry.lock();
                    let Some(entry) = mpcs.get_mut(&name).filter(|e| e.engine.uuid() == uuid)
                    else {
                        return;
                    };
                    let plays = entry.sounds.bridge_loaded(&source, clip.clone());
                    for _ in 0..plays {
                        if let Some(clip) = &clip {
                            registry.play_bridge_clip(entry, clip.clone());
                        }
                    }
                });
            }
        }
    }

    fn play_bridge_clip(&self, entry: &MpcEntry, clip: Arc<Clip>) {
        if let Err(error) = self.inner.media.play_bridge_clip(entry.room.place(), clip) {
            tracing::warn!(%error, "could not play a sound on the bridge");
        }
    }

    /// A sound document as a clip; `None` (silence) if it failed, logged.
    async fn load(&self, url: &str, method: Method, use_: Use) -> Option<Arc<Clip>> {
        let loaded = self.inner.player.sound_document(url, method, use_).await;
        self.inner.metrics.sound(loaded.is_ok());
        match loaded {
            Ok(clip) => {
                tracing::info!(%url, ?use_, seconds = clip.len() as f32 / self.inner.player.sample_rate() as f32, loops = clip.loops(), "sound document loaded");
                Some(clip)
            }
            Err(error) => {
                tracing::warn!(%url, %error, "sound document unusable; playing silence instead");
                None
            }
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
