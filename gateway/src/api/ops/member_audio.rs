//! Audio to one member: play a URL (an audio file or a sound document) or
//! say a text to one member alone, or stop it. The sound is loaded here,
//! before the answer and off the MPC's task, so a URL that cannot be
//! fetched or decoded is refused (and nothing changes); the MPC then plays
//! it (see `crate::mpc`), replacing the member's sound if one plays.

use std::sync::Arc;

use chorus_mixer::clip::Clip;
use chorus_mpc::MpcState;
use chorus_xml::Speak;

use super::{OpError, Operations};
use crate::mpc::{Control, MemberSound, MpcAddress};
use crate::player::PlayError;
use crate::player::speech::MAX_TEXT;

/// A text to say, as Plivo's Speak API takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speech {
    /// What to say (required, at most 3000 characters).
    pub text: String,
    /// `WOMAN` (default) or `MAN`.
    pub voice: Option<String>,
    /// e.g. `en-US` (default), `fr-FR`.
    pub language: Option<String>,
}

impl Operations {
    /// Plays the audio file or sound document at `url` to `member` alone.
    pub async fn play_to_member(
        &self,
        mpc: &MpcAddress,
        member: u32,
        url: &str,
    ) -> Result<MpcState, OpError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(OpError::Invalid(format!(
                "url must be an http(s) URL, got {url:?}"
            )));
        }
        let load = self.player.audio_or_document(url);
        self.play_loaded(mpc, member, load).await
    }

    /// Says `speech` to `member` alone.
    pub async fn speak_to_member(
        &self,
        mpc: &MpcAddress,
        member: u32,
        speech: Speech,
    ) -> Result<MpcState, OpError> {
        let text = speech.text.trim();
        if text.is_empty() {
            return Err(OpError::Invalid("text is required".to_owned()));
        }
        let characters = text.chars().count();
        if characters > MAX_TEXT {
            return Err(OpError::Invalid(format!(
                "text of {characters} characters is longer than {MAX_TEXT}"
            )));
        }
        let nonempty = |v: Option<String>, default: &str| {
            v.filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let speak = Speak {
            text: text.to_owned(),
            voice: nonempty(speech.voice, "WOMAN"),
            language: nonempty(speech.language, "en-US"),
            loop_count: 1,
        };
        let load = self.player.speech_clip(&speak);
        self.play_loaded(mpc, member, load).await
    }

    /// Stops what plays to `member` alone; nothing playing is fine.
    pub async fn stop_member_audio(
        &self,
        mpc: &MpcAddress,
        member: u32,
    ) -> Result<MpcState, OpError> {
        self.member_audio(mpc, member, None).await
    }

    /// Loads a sound once the member is known to be there, then plays it.
    async fn play_loaded(
        &self,
        mpc: &MpcAddress,
        member: u32,
        load: impl Future<Output = Result<Arc<Clip>, PlayError>>,
    ) -> Result<MpcState, OpError> {
        self.member(mpc, member).await?;
        let clip = load.await.map_err(refused)?;
        self.member_audio(mpc, member, Some(MemberSound(clip)))
            .await
    }

    async fn member_audio(
        &self,
        mpc: &MpcAddress,
        member: u32,
        sound: Option<MemberSound>,
    ) -> Result<MpcState, OpError> {
        self.control(mpc, Control::MemberAudio { member, sound })
            .await
    }
}

/// A sound that could not be loaded: the request's fault (its URL), or
/// chorus's (no text-to-speech program, a decoder that died).
fn refused(error: PlayError) -> OpError {
    match error {
        PlayError::Speech(_) | PlayError::Panicked { .. } => {
            OpError::Unavailable(error.to_string())
        }
        _ => OpError::Invalid(format!("url: {error}")),
    }
}
