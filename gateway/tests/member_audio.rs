//! Audio to one member, end to end: Plivo's Python SDK (`start_play_audio`,
//! `stop_play_audio`) and raw REST (`Speak`) against the real daemon, with
//! real phones each sending its own tone and a real HTTP server serving
//! WAV files of another tone. The member played to hears the sound on top
//! of the room; nobody else does; the status callback gets
//! ParticipantAudioPlayed and ParticipantAudioStopped.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN, Chorusd};
use chorus_tests::http::{AppServer, Reply, raw_request};
use chorus_tests::phone::Call;
use chorus_tests::plivo_sdk::Sdk;
use chorus_tests::tone::{assert_hears, rms_dbfs, sine, wav_bytes};
use common::{join_mpc, listen, start_with_settings};
use serde_json::Value;

const ALICE: f32 = 400.0;
const BOB: f32 = 700.0;
const CAROL: f32 = 1100.0;
/// The tone of the WAV files played to bob.
const CLIP: f32 = 1700.0;
const WAIT: Duration = Duration::from_secs(5);

/// A WAV file of `seconds` of [`CLIP`] at 8 kHz.
fn clip_wav(seconds: f32) -> Reply {
    let pcm = sine(CLIP, 8000, -12.0, (seconds * 8000.0) as usize);
    Reply::bytes("audio/wav", wav_bytes(&pcm, 1, 8000))
}

/// chorusd, and an app putting callers as agents in MPC `played` (which
/// reports participant and audio events to `/status`) and serving
/// `/short.wav` (1.5 s) and `/long.wav` (20 s).
async fn start() -> (AppServer, Chorusd) {
    let app = AppServer::start(vec![
        ("/status".to_owned(), Reply::status(200)),
        ("/short.wav".to_owned(), clip_wav(1.5)),
        ("/long.wav".to_owned(), clip_wav(20.0)),
    ])
    .await;
    let chorus = start_with_settings(&app.url("/answer"), &[]).await;
    (app, chorus)
}

async fn join(app: &AppServer, chorus: &Chorusd, tone: Option<f32>) -> Call {
    let attributes = format!(
        r#"role="agent" stayAlone="true" enterSound="none" exitSound="none" statusCallbackUrl="{}" statusCallbackEvents="participant-audio-events,participant-state-changes""#,
        app.url("/status")
    );
    join_mpc(app, chorus, "played", &attributes, tone).await
}

/// The audio events the app got so far: (name, member id).
fn audio_events(app: &AppServer) -> Vec<(String, String)> {
    app.requests_to("/status")
        .iter()
        .filter(|r| {
            r.param("EventName")
                .is_some_and(|n| n.starts_with("ParticipantAudio"))
        })
        .map(|r| {
            let param = |name| r.param(name).unwrap_or("").to_owned();
            (param("EventName"), param("MemberID"))
        })
        .collect()
}

/// Waits until the app got `count` audio events; they are returned.
async fn wait_for_audio_events(app: &AppServer, count: usize) -> Vec<(String, String)> {
    let deadline = Instant::now() + WAIT;
    loop {
        let events = audio_events(app);
        if events.len() >= count || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn event(name: &str, member: &str) -> (String, String) {
    (name.to_owned(), member.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plivo_sdk_plays_a_clip_to_one_member_who_alone_hears_it() {
    let (app, chorus) = start().await;
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let alice = join(&app, &chorus, Some(ALICE)).await;
    let bob = join(&app, &chorus, Some(BOB)).await;
    let carol = join(&app, &chorus, Some(CAROL)).await;

    // A short clip to bob (member 2): he hears it over the room, the
    // others hear only each other; it ends by itself.
    let played = sdk
        .run(&["play", "played", "2", &app.url("/short.wav")])
        .await;
    assert_eq!(played["message"], "play queued into MPC", "{played}");
    assert_eq!(played["mpcMemberId"], serde_json::json!(["2"]), "{played}");
    let heard = listen(&[&alice, &bob, &carol], 100, 1000).await;
    assert_hears("alice", &heard[0], &[BOB, CAROL], &[CLIP]);
    assert_hears("bob, played to", &heard[1], &[CLIP, ALICE, CAROL], &[]);
    assert_hears("carol", &heard[2], &[ALICE, BOB], &[CLIP]);
    let events = wait_for_audio_events(&app, 2).await;
    assert_eq!(
        events,
        [
            event("ParticipantAudioPlayed", "2"),
            event("ParticipantAudioStopped", "2")
        ],
        "the clip ended by itself"
    );
    let heard = listen(&[&bob], 0, 1000).await;
    assert_hears("bob, after the clip", &heard[0], &[ALICE, CAROL], &[CLIP]);

    // A long clip, stopped through the API: bob stops hearing it.
    let played = sdk
        .run(&["play", "played", "2", &app.url("/long.wav")])
        .await;
    assert!(played.get("exception").is_none(), "{played}");
    let heard = listen(&[&bob], 100, 1000).await;
    assert_hears("bob, long clip", &heard[0], &[CLIP, ALICE, CAROL], &[]);
    let stopped = sdk.run(&["stop-play", "played", "2"]).await;
    assert!(stopped.get("exception").is_none(), "{stopped}");
    let events = wait_for_audio_events(&app, 4).await;
    assert_eq!(
        events[2..],
        [
            event("ParticipantAudioPlayed", "2"),
            event("ParticipantAudioStopped", "2")
        ]
    );
    let heard = listen(&[&alice, &bob], 100, 1000).await;
    assert_hears("bob, stopped", &heard[1], &[ALICE, CAROL], &[CLIP]);
    assert_hears("alice, all along", &heard[0], &[BOB, CAROL], &[CLIP]);
    chorus.stop().await;
}

/// One raw request to chorus's REST API; (status, JSON body).
async fn rest(chorus: &Chorusd, method: &str, path: &str, body: &str) -> (u16, Value) {
    let addr = chorus
        .rest_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{API_AUTH_ID}:{API_TOKEN}"));
    let request = format!(
        "{method} /v1/Account/{API_AUTH_ID}/MultiPartyCall/name_played/{path} HTTP/1.1\r\n\
         Host: x\r\nConnection: close\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, text) = raw_request(addr, &request).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speak_says_a_text_to_one_member_and_bad_requests_get_plivo_errors() {
    let (app, chorus) = start().await;
    // Silent phones: whatever bob hears is the speech.
    let alice = join(&app, &chorus, None).await;
    let bob = join(&app, &chorus, None).await;

    let text =
        "text=Your+call+is+important+to+us.+Please+stay+on+the+line.&voice=MAN&extra=ignored";
    let (status, body) = rest(&chorus, "POST", "Member/2/Speak", text).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["message"], "speak queued into MPC", "{body}");
    let heard = listen(&[&alice, &bob], 100, 1200).await;
    let (alice_db, bob_db) = (rms_dbfs(&heard[0]), rms_dbfs(&heard[1]));
    assert!(bob_db > -40.0, "bob hears the speech: {bob_db:.1} dBFS");
    assert!(alice_db < -55.0, "alice hears nothing: {alice_db:.1} dBFS");
    let (status, body) = rest(&chorus, "DELETE", "Member/2/Speak/", "").await;
    assert_eq!(status, 204, "{body}");
    let events = wait_for_audio_events(&app, 2).await;
    assert_eq!(
        events,
        [
            event("ParticipantAudioPlayed", "2"),
            event("ParticipantAudioStopped", "2")
        ]
    );
    // Stopping when nothing plays is fine, and says nothing.
    let (status, _) = rest(&chorus, "DELETE", "Member/2/Play/", "").await;
    assert_eq!(status, 204);

    let unreachable = format!("url={}", app.url("/missing.wav"));
    let not_audio = format!("url={}", app.url("/status"));
    let cases = [
        (
            "Member/9/Play/",
            format!("url={}", app.url("/short.wav")),
            404,
            "member 9",
        ),
        ("Member/9/Speak/", "text=hello".to_owned(), 404, "member 9"),
        ("Member/2/Play/", String::new(), 400, "url is required"),
        (
            "Member/2/Play/",
            "url=ftp://x/a.wav".to_owned(),
            400,
            "http(s) URL",
        ),
        ("Member/2/Play/", unreachable, 400, "missing.wav"),
        ("Member/2/Play/", not_audio, 400, "url:"),
        (
            "Member/2/Speak/",
            "voice=MAN".to_owned(),
            400,
            "text is required",
        ),
    ];
    for (path, body, want, text) in cases {
        let (status, answer) = rest(&chorus, "POST", path, &body).await;
        assert_eq!(status, want, "{path} {body}: {answer}");
        let error = answer["error"].as_str().unwrap_or("");
        assert!(error.contains(text), "{path} {body}: {answer}");
        assert!(answer["api_id"].is_string(), "{answer}");
    }
    assert_eq!(audio_events(&app).len(), 2, "refused requests play nothing");
    chorus.stop().await;
}
