//! Audio to one member over gRPC: `PlayAudioToParticipant` and
//! `StopParticipantAudio` (and `chorusctl play`, `chorusctl stop-audio`,
//! the built binary) against the real daemon with real phones, the clip
//! served by a real HTTP server; ParticipantAudioPlayed and
//! ParticipantAudioStopped arrive on `WatchEvents`.

mod common;
mod grpc_common;

use std::process::Stdio;
use std::time::Duration;

use chorus_proto::v1 as pb;
use chorus_tests::daemon::{API_TOKEN, Chorusd};
use chorus_tests::http::{AppServer, Reply};
use chorus_tests::tone::{assert_hears, sine, wav_bytes};
use common::{join_mpc, listen, start_with_settings};
use grpc_common::{authed, client, named};
use tonic::Code;

const ALICE: f32 = 400.0;
const BOB: f32 = 700.0;
const CLIP: f32 = 1700.0;
const WAIT: Duration = Duration::from_secs(5);

fn room() -> Option<pb::MultiPartyCallId> {
    named("grpc-played")
}

/// Reads `stream` until `last`, keeping the audio events: (name, member).
async fn audio_events_until(
    stream: &mut tonic::Streaming<pb::WatchEventsResponse>,
    last: &str,
) -> Vec<(String, u32)> {
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(WAIT, stream.message())
            .await
            .unwrap_or_else(|_| panic!("no {last}; got {events:?}"))
            .expect("the stream goes on")
            .expect("the stream is not over");
        let Some(pb::watch_events_response::Item::Event(e)) = next.item else {
            panic!("unexpected {next:?}");
        };
        if e.name.starts_with("ParticipantAudio") {
            let member = e.participant.map_or(0, |p| p.member_id);
            events.push((e.name.clone(), member));
        }
        if e.name == last {
            return events;
        }
    }
}

const ATTRIBUTES: &str = r#"role="agent" stayAlone="true" enterSound="none""#;

/// chorusd, and an app serving `/long.wav`: 20 s of [`CLIP`].
async fn start() -> (AppServer, Chorusd) {
    let pcm = sine(CLIP, 8000, -12.0, 20 * 8000);
    let long = Reply::bytes("audio/wav", wav_bytes(&pcm, 1, 8000));
    let app = AppServer::start(vec![("/long.wav".to_owned(), long)]).await;
    let chorus = start_with_settings(&app.url("/answer"), &[]).await;
    (app, chorus)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_plays_to_one_member_stops_it_and_streams_both_events() {
    let (app, chorus) = start().await;
    let alice = join_mpc(&app, &chorus, "grpc-played", ATTRIBUTES, Some(ALICE)).await;
    let bob = join_mpc(&app, &chorus, "grpc-played", ATTRIBUTES, Some(BOB)).await;
    let mut api = client(&chorus).await;
    let watch = pb::WatchEventsRequest { mpc: room() };
    let mut stream = api.watch_events(authed(watch)).await.unwrap().into_inner();

    let play = |member_id: u32, url: String| pb::PlayAudioToParticipantRequest {
        mpc: room(),
        member_id,
        url,
    };
    let bob_now = api
        .play_audio_to_participant(authed(play(2, app.url("/long.wav"))))
        .await
        .expect("played")
        .into_inner();
    assert_eq!(bob_now.member_id, 2);
    let heard = listen(&[&alice, &bob], 100, 1000).await;
    assert_hears("alice", &heard[0], &[BOB], &[CLIP]);
    assert_hears("bob, played to", &heard[1], &[CLIP, ALICE], &[]);

    let stop = pb::StopParticipantAudioRequest {
        mpc: room(),
        member_id: 2,
    };
    api.stop_participant_audio(authed(stop))
        .await
        .expect("stopped");
    let events = audio_events_until(&mut stream, "ParticipantAudioStopped").await;
    assert_eq!(
        events,
        [
            ("ParticipantAudioPlayed".to_owned(), 2),
            ("ParticipantAudioStopped".to_owned(), 2)
        ]
    );
    let heard = listen(&[&bob], 100, 1000).await;
    assert_hears("bob, stopped", &heard[0], &[ALICE], &[CLIP]);

    // Refusals: their codes, and nothing plays.
    let nobody = api
        .play_audio_to_participant(authed(play(9, app.url("/long.wav"))))
        .await
        .unwrap_err();
    assert_eq!(nobody.code(), Code::NotFound, "{nobody:?}");
    let no_url = api
        .play_audio_to_participant(authed(play(2, String::new())))
        .await
        .unwrap_err();
    assert_eq!(no_url.code(), Code::InvalidArgument, "{no_url:?}");
    let speak = pb::SpeakToParticipantRequest {
        mpc: room(),
        member_id: 2,
        text: "  ".to_owned(),
        voice: String::new(),
        language: String::new(),
    };
    let no_text = api.speak_to_participant(authed(speak)).await.unwrap_err();
    assert_eq!(no_text.code(), Code::InvalidArgument, "{no_text:?}");
    assert!(no_text.message().contains("text is required"));
    chorus.stop().await;
}

/// Runs the built chorusctl against `chorus` with `args`; its stdout.
async fn chorusctl(chorus: &Chorusd, args: &[&str]) -> String {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_chorusctl"))
        .env_remove("CHORUS_CTL_ENDPOINT")
        .env_remove("CHORUS_API__AUTH_TOKEN")
        .args(["--endpoint", &chorus.grpc_url(), "--token", API_TOKEN])
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(15), run)
        .await
        .expect("chorusctl finishes")
        .expect("chorusctl runs");
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chorusctl_plays_to_one_member_and_stops_it() {
    let (app, chorus) = start().await;
    let alice = join_mpc(&app, &chorus, "grpc-played", ATTRIBUTES, Some(ALICE)).await;
    let bob = join_mpc(&app, &chorus, "grpc-played", ATTRIBUTES, Some(BOB)).await;
    let url = app.url("/long.wav");
    let said = chorusctl(&chorus, &["play", "grpc-played", "2", &url]).await;
    assert_eq!(
        said.trim(),
        format!("playing {url} to member 2 of grpc-played")
    );
    let heard = listen(&[&alice, &bob], 100, 1000).await;
    assert_hears("alice", &heard[0], &[BOB], &[CLIP]);
    assert_hears("bob, played to", &heard[1], &[CLIP, ALICE], &[]);
    let stopped = chorusctl(&chorus, &["--json", "stop-audio", "grpc-played", "2"]).await;
    let member: serde_json::Value = serde_json::from_str(&stopped).expect("JSON");
    assert_eq!(member["member_id"], 2, "{member}");
    let heard = listen(&[&bob], 100, 1000).await;
    assert_hears("bob, stopped", &heard[0], &[ALICE], &[CLIP]);
    chorus.stop().await;
}
