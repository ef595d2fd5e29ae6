//! An MPC's sounds that come from URLs: its three musics (`waitMusicUrl`,
//! `agentHoldMusicUrl`, `customerHoldMusicUrl`) and the enter/exit sound
//! documents of its members.
//!
//! This is the bookkeeping only; the registry starts the loads (off its
//! lock, on the [`Player`](crate::player::Player)) and hands what they give
//! to the MPC's room. Until a music loads its room plays silence, and a
//! music or sound whose URL fails stays silent, as the spec says. Loaded
//! clips are kept here for the MPC's life: the room only borrows them, so
//! the media thread never frees their samples, and an enter sound shared by
//! every member is fetched once per MPC.

use std::collections::HashMap;
use std::sync::Arc;

use chorus_mixer::clip::Clip;
use chorus_xml::{Method, MultiPartyCall};

use crate::media::{Music, MusicSlot, RoomMusic};

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
    /// What the room plays now, for a room created later.
    pub music: RoomMusic,
    loaded_music: Vec<Arc<Clip>>,
    bridge: HashMap<Source, BridgeSound>,
}

impl Sounds {
    /// The musics of an MPC created by `spec` (built in without a URL,
    /// silent while a URL loads) and the loads to start.
    pub fn new(spec: &MultiPartyCall) -> (Self, Vec<MusicLoad>) {
        let mut sounds = Self::default();
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
            *sounds.music_mut(slot) = Music::Silence;
            let source = (url.clone(), method);
            match loads.iter_mut().find(|l| l.source == source) {
                Some(load) => load.slots.push(slot),
                None => loads.push(MusicLoad {
                    source,
                    slots: vec![slot],
                }),
            }
        }
        (sounds, loads)
    }

    /// A music load finished: `clip`, or `None` if it failed (silence).
    pub fn music_loaded(&mut self, slots: &[MusicSlot], clip: Option<Arc<Clip>>) {
        for &slot in slots {
            *self.music_mut(slot) = clip.clone().map_or(Music::Silence, Music::Clip);
        }
        self.loaded_music.extend(clip);
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

    fn music_mut(&mut self, slot: MusicSlot) -> &mut Music {
        match slot {
            MusicSlot::Wait => &mut self.music.wait,
            MusicSlot::AgentHold => &mut self.music.agent_hold,
            MusicSlot::CustomerHold => &mut self.music.customer_hold,
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
        let (mut sounds, loads) = Sounds::new(&spec);
        assert!(matches!(sounds.music.wait, Music::Builtin));
        assert!(matches!(sounds.music.agent_hold, Music::Silence));
        assert_eq!(loads.len(), 1);
        assert_eq!(
            loads[0].slots,
            [MusicSlot::AgentHold, MusicSlot::CustomerHold]
        );
        sounds.music_loaded(&loads[0].slots, Some(clip()));
        assert!(matches!(sounds.music.customer_hold, Music::Clip(_)));
        sounds.music_loaded(&[MusicSlot::Wait], None);
        assert!(matches!(sounds.music.wait, Music::Silence));
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
