//! What the API plays to one member: an audio file or a sound document at
//! a URL, or a text said by eSpeak NG. Unlike a music or bridge sound, a
//! failure is an error the API answers with, not silence.

use std::sync::Arc;

use chorus_config::HttpMethod;
use chorus_mixer::clip::{Clip, Segment};
use chorus_xml::Speak;

use super::{AUDIO_TIMEOUT, MAX_AUDIO, PlayError, Player, Use, extension_of};
use crate::fetch::fetch_bytes;

impl Player {
    /// The clip at `url`: a sound document (`<Play>`, `<Speak>`, `<Wait>`;
    /// told apart from audio by its first bytes, since servers label both
    /// loosely) played as a call's `<Play>` is, or a WAV or MP3 file played
    /// once. Nothing playable in it is an error.
    pub async fn audio_or_document(&self, url: &str) -> Result<Arc<Clip>, PlayError> {
        let bytes = fetch_bytes(
            &self.http,
            url,
            HttpMethod::Get,
            &[],
            AUDIO_TIMEOUT,
            MAX_AUDIO,
        )
        .await?;
        let clip = if looks_like_xml(&bytes) {
            let document = chorus_xml::parse_sound_document(&String::from_utf8_lossy(&bytes))?;
            for warning in &document.warnings {
                tracing::warn!(%url, %warning, "sound document");
            }
            self.clip(&document.items, Use::Call).await
        } else {
            let pcm = self
                .decode(bytes, extension_of(url), url.to_owned())
                .await?;
            Arc::new(Clip::new(vec![Segment::Pcm(pcm)], None))
        };
        if clip.is_empty() {
            return Err(PlayError::Silent {
                url: url.to_owned(),
            });
        }
        Ok(clip)
    }

    /// `speak.text` said once.
    pub async fn speech_clip(&self, speak: &Speak) -> Result<Arc<Clip>, PlayError> {
        let pcm = self.speech(speak).await?;
        Ok(Arc::new(Clip::new(vec![Segment::Pcm(pcm)], None)))
    }
}

/// Whether a body is XML (a sound document) rather than audio: its first
/// non-blank character, after any byte order mark, is `<`. WAV starts with
/// `RIFF`, MP3 with `ID3` or a frame sync byte.
fn looks_like_xml(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'<')
}

#[cfg(test)]
mod tests {
    use super::looks_like_xml;

    #[test]
    fn documents_and_audio_are_told_apart_by_their_first_bytes() {
        assert!(looks_like_xml(b"<Response><Play>x</Play></Response>"));
        assert!(looks_like_xml(b"\xEF\xBB\xBF\n  <?xml version=\"1.0\"?>"));
        assert!(!looks_like_xml(b"RIFF\x24\x00\x00\x00WAVEfmt "));
        assert!(!looks_like_xml(b"ID3\x04\x00"));
        assert!(!looks_like_xml(b"\xFF\xFB\x90"));
        assert!(!looks_like_xml(b""));
    }
}
