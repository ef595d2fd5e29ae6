//! Audio to one member: `chorusctl play MPC MEMBER URL`, `chorusctl speak
//! MPC MEMBER TEXT [--voice MAN|WOMAN] [--language en-US]` and `chorusctl
//! stop-audio MPC MEMBER`; each prints a line, or the member as JSON with
//! `--json`.

use chorus_proto::v1 as pb;
use clap::Subcommand;

use crate::client::{Failure, answer, client, mpc_id};
use crate::render::{self, print};
use crate::settings::Settings;

/// The commands (flattened into chorusctl's own).
#[derive(Subcommand)]
pub enum AudioCommand {
    /// Play an audio file (WAV, MP3) or a sound document at URL to one member alone
    Play {
        mpc: String,
        member: u32,
        url: String,
    },
    /// Say TEXT to one member alone (eSpeak NG)
    Speak {
        mpc: String,
        member: u32,
        text: String,
        /// WOMAN or MAN [default: WOMAN]
        #[arg(long)]
        voice: Option<String>,
        /// e.g. en-US, fr-FR [default: en-US]
        #[arg(long)]
        language: Option<String>,
    },
    /// Stop what plays to one member alone
    StopAudio { mpc: String, member: u32 },
}

/// Runs one of them.
pub async fn run(settings: &Settings, command: AudioCommand, as_json: bool) -> Result<(), Failure> {
    let endpoint = settings.endpoint.as_str();
    let mut api = client(settings).await?;
    let (p, done) = match command {
        AudioCommand::Play { mpc, member, url } => {
            let request = pb::PlayAudioToParticipantRequest {
                mpc: Some(mpc_id(&mpc)),
                member_id: member,
                url: url.clone(),
            };
            let p = answer(endpoint, api.play_audio_to_participant(request)).await?;
            (p, format!("playing {url} to member {member} of {mpc}"))
        }
        AudioCommand::Speak {
            mpc,
            member,
            text,
            voice,
            language,
        } => {
            let request = pb::SpeakToParticipantRequest {
                mpc: Some(mpc_id(&mpc)),
                member_id: member,
                text,
                voice: voice.unwrap_or_default(),
                language: language.unwrap_or_default(),
            };
            let p = answer(endpoint, api.speak_to_participant(request)).await?;
            (p, format!("speaking to member {member} of {mpc}"))
        }
        AudioCommand::StopAudio { mpc, member } => {
            let request = pb::StopParticipantAudioRequest {
                mpc: Some(mpc_id(&mpc)),
                member_id: member,
            };
            let p = answer(endpoint, api.stop_participant_audio(request)).await?;
            (p, format!("stopped the audio to member {member} of {mpc}"))
        }
    };
    print(as_json, render::participant_json(&p), || done);
    Ok(())
}
