//! `chorusctl record start MPC [--format mp3|wav]` and `record
//! stop|pause|resume MPC`: the MPC recording over `StartRecording` and
//! `ChangeRecording`. With `--member ID` each hands over to the `tracks`
//! module, for that member's track recordings instead of the MPC's mix.

use chorus_proto::v1 as pb;
use clap::Subcommand;

use crate::client::{Failure, answer, client, mpc_id};
use crate::render::{self, print};
use crate::settings::Settings;
use crate::tracks;

#[derive(Subcommand)]
pub(crate) enum RecordCommand {
    /// Start recording an MPC's mix (or a member's tracks)
    Start {
        mpc: String,
        /// mp3 or wav
        #[arg(long, default_value = "mp3")]
        format: String,
        // participant track recordings
        #[command(flatten)]
        participant: tracks::Participant,
    },
    /// Stop it (the file is finished)
    Stop {
        mpc: String,
        #[command(flatten)]
        participant: tracks::Participant,
    },
    /// Pause it (paused time is left out of the file)
    Pause {
        mpc: String,
        #[command(flatten)]
        participant: tracks::Participant,
    },
    /// Resume it
    Resume {
        mpc: String,
        #[command(flatten)]
        participant: tracks::Participant,
    },
}

pub(crate) async fn run(
    settings: &Settings,
    command: RecordCommand,
    as_json: bool,
) -> Result<(), Failure> {
    use pb::change_recording_request::Change;
    let endpoint = settings.endpoint.as_str();
    let mut api = client(settings).await?;
    let (mpc, change, done, participant) = match command {
        RecordCommand::Start {
            mpc,
            format,
            participant,
        } => {
            // participant track recordings
            if let Some(member) = participant.member {
                let who = (mpc.as_str(), member, &participant);
                return tracks::start((endpoint, &mut api), who, format, as_json).await;
            }
            let request = pb::StartRecordingRequest {
                mpc: Some(mpc_id(&mpc)),
                file_format: format,
                recording_callback_url: None,
                recording_callback_method: String::new(),
            };
            let r = answer(endpoint, api.start_recording(request)).await?;
            print(as_json, render::recording_json(&r), || {
                format!("recording {} started: {}", r.recording_uuid, r.url)
            });
            return Ok(());
        }
        RecordCommand::Stop { mpc, participant } => (mpc, Change::Stop, "stopped", participant),
        RecordCommand::Pause { mpc, participant } => (mpc, Change::Pause, "paused", participant),
        RecordCommand::Resume { mpc, participant } => (mpc, Change::Resume, "resumed", participant),
    };
    // participant track recordings
    if let Some(member) = participant.member {
        let who = (mpc.as_str(), member, &participant);
        return tracks::change((endpoint, &mut api), who, (change, done), as_json).await;
    }
    let request = pb::ChangeRecordingRequest {
        mpc: Some(mpc_id(&mpc)),
        change: change.into(),
    };
    let m = answer(endpoint, api.change_recording(request)).await?;
    print(as_json, render::mpc_json(&m), || {
        format!("MPC {}: recording {done}", m.friendly_name)
    });
    Ok(())
}
