//! The player: turns an application's sounds into [`Clip`]s the media plane
//! plays — sound and music documents (`waitMusicUrl`, the hold music URLs,
//! `enterSound`/`exitSound` URLs) and the `<Play>` elements of a call flow.
//!
//! A sound document is fetched like an answer URL (GET or POST, no
//! parameters) and must be a `<Response>` holding only `<Play>`, `<Speak>`
//! and `<Wait>`: anything else is ignored with a warning, as Plivo does. Each
//! `<Play>` URL is downloaded and decoded ([`decode`]: WAV or MP3, any rate
//! and channel count, to mono at the room's rate); `<Wait length>` becomes
//! that much silence. An item that fails (unreachable, not audio) is left
//! out with a warning; a document that cannot be fetched or parsed is an
//! error, which callers turn into silence (the spec: "no music will be
//! played").
//!
//! `<Speak>` text is said by eSpeak NG ([`speech`]) and decoded the same
//! way. What the API plays to one member (an audio file or a sound
//! document at a URL, or a text) is made by
//! [`Player::audio_or_document`] and [`Player::speech_clip`].
//!
//! ```no_run
//! # async fn demo(http: reqwest::Client) {
//! use chorus_gateway::player::{Player, Use};
//! let player = Player::new(http, 16000, "espeak-ng".into());
//! let music = player
//!     .sound_document("http://127.0.0.1:8080/hold.xml", chorus_xml::Method::Get, Use::Music)
//!     .await;
//! # }
//! ```

pub mod decode;
mod member;
pub mod speech;

use std::sync::Arc;
use std::time::Duration;

use chorus_config::HttpMethod;
use chorus_mixer::clip::{Clip, Segment};
use chorus_xml::{DocumentError, Method, Play, SoundItem, Speak};

use crate::fetch::{FetchError, fetch_bytes, http_method};
use decode::DecodeError;
use speech::SpeechError;

/// Largest sound document.
const MAX_DOCUMENT: usize = 100 * 1024;
/// Largest audio file: 20 MB (ten minutes of 256 kbit/s MP3).
const MAX_AUDIO: usize = 20 * 1024 * 1024;
/// How long fetching a sound document may take.
const DOCUMENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long downloading one audio file may take.
const AUDIO_TIMEOUT: Duration = Duration::from_secs(30);

/// How a clip is played, which decides what `loop="0"` (forever) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Wait or hold music: the whole document loops; a `loop="0"` item
    /// repeats forever once reached.
    Music,
    /// An enter or exit sound: played once; `loop="0"` plays the item once
    /// (a bridge sound that never ends would drown the call).
    Bridge,
    /// A call flow's `<Play>`: played once; `loop="0"` repeats the item
    /// until the call moves on.
    Call,
}

/// Why a sound document gave nothing to play.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayError {
    /// The document could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document is not a `<Response>`.
    #[error("sound document: {0}")]
    Document(#[from] DocumentError),
    /// `<Speak>` text could not be said.
    #[error(transparent)]
    Speech(#[from] SpeechError),
    /// An audio file (or the speech) could not be decoded.
    #[error("{url}: {source}")]
    Decode {
        /// The audio URL (`<Speak>` for speech).
        url: String,
        /// Why.
        #[source]
        source: DecodeError,
    },
    /// The URL gave nothing to play (a document whose every item failed).
    #[error("{url}: nothing to play")]
    Silent {
        /// The URL.
        url: String,
    },
    /// The decoding thread died.
    #[error("decoding {url} panicked")]
    Panicked {
        /// The audio URL.
        url: String,
    },
}

/// Fetches, speaks, decodes and assembles clips at the media plane's rate.
#[derive(Clone)]
pub struct Player {
    http: reqwest::Client,
    sample_rate: u32,
    /// `speech.command`.
    speech: Arc<str>,
}

impl Player {
    /// A player producing clips at `sample_rate` (the rooms' rate), saying
    /// `<Speak>` text with the eSpeak NG program `speech`.
    pub fn new(http: reqwest::Client, sample_rate: u32, speech: String) -> Self {
        Self {
            http,
            sample_rate,
            speech: speech.into(),
        }
    }

    /// The rate of the clips it makes.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Fetches a sound document and everything it plays.
    pub async fn sound_document(
        &self,
        url: &str,
        method: Method,
        use_: Use,
    ) -> Result<Arc<Clip>, PlayError> {
        let body = fetch_bytes(
            &self.http,
            url,
            http_method(method),
            &[],
            DOCUMENT_TIMEOUT,
            MAX_DOCUMENT,
        )
        .await?;
        let document = chorus_xml::parse_sound_document(&String::from_utf8_lossy(&body))?;
        for warning in &document.warnings {
            tracing::warn!(%url, %warning, "sound document");
        }
        Ok(self.clip(&document.items, use_).await)
    }

    /// The clip for `items`; items that fail are left out (logged).
    pub async fn clip(&self, items: &[SoundItem], use_: Use) -> Arc<Clip> {
        let mut segments = Vec::with_capacity(items.len());
        let mut loop_from = (use_ == Use::Music).then_some(0);
        for item in items {
            let (segment, times) = match item {
                SoundItem::Play(play) => match self.audio(play).await {
                    Ok(pcm) => (Segment::Pcm(pcm), play.loop_count),
                    Err(error) => {
                        tracing::warn!(%error, "<Play> skipped");
                        continue;
                    }
                },
                SoundItem::Wait(wait) => {
                    let samples = u64::from(wait.length) * u64::from(self.sample_rate);
                    (Segment::Silence(samples as usize), 1)
                }
                SoundItem::Speak(speak) => match self.speech(speak).await {
                    Ok(pcm) => (Segment::Pcm(pcm), speak.loop_count),
                    Err(error) => {
                        tracing::warn!(%error, "<Speak> skipped");
                        continue;
                    }
                },
            };
            if times == 0 && use_ != Use::Bridge {
                // Forever: nothing after this item is ever reached.
                loop_from = Some(segments.len());
                segments.push(segment);
                break;
            }
            for _ in 0..times.max(1) {
                segments.push(segment.clone());
            }
        }
        Arc::new(Clip::new(segments, loop_from))
    }

    /// Downloads and decodes one `<Play>` URL.
    async fn audio(&self, play: &Play) -> Result<Arc<[i16]>, PlayError> {
        let url = play.url.clone();
        let bytes = fetch_bytes(
            &self.http,
            &url,
            HttpMethod::Get,
            &[],
            AUDIO_TIMEOUT,
            MAX_AUDIO,
        )
        .await?;
        let extension = extension_of(&url);
        self.decode(bytes, extension, url).await
    }

    /// Says one `<Speak>` text.
    async fn speech(&self, speak: &Speak) -> Result<Arc<[i16]>, PlayError> {
        let wav = speech::synthesize(&self.speech, speak).await?;
        self.decode(wav, Some("wav".to_owned()), "<Speak>".to_owned())
            .await
    }

    /// Decodes audio off the runtime; `url` names it in errors and logs.
    async fn decode(
        &self,
        bytes: Vec<u8>,
        extension: Option<String>,
        url: String,
    ) -> Result<Arc<[i16]>, PlayError> {
        let rate = self.sample_rate;
        let decoded =
            tokio::task::spawn_blocking(move || decode::decode(bytes, extension.as_deref(), rate))
                .await
                .map_err(|_| PlayError::Panicked { url: url.clone() })?;
        let pcm = decoded.map_err(|source| PlayError::Decode {
            url: url.clone(),
            source,
        })?;
        tracing::debug!(%url, seconds = pcm.len() as f32 / rate as f32, "audio decoded");
        Ok(Arc::from(pcm))
    }
}

/// The file extension of a URL's path (`.../hold.mp3?x=1` → `mp3`).
fn extension_of(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let name = path.rsplit('/').next()?;
    let (_, extension) = name.rsplit_once('.')?;
    Some(extension.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_comes_from_the_path_only() {
        assert_eq!(
            extension_of("http://h/a/hold.MP3?v=2").as_deref(),
            Some("mp3")
        );
        assert_eq!(
            extension_of("http://h/a/beep.wav#x").as_deref(),
            Some("wav")
        );
        assert_eq!(extension_of("http://h/music"), None);
    }
}
