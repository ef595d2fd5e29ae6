//! The Plivo-compatible REST API driven by Plivo's own Node SDK (`plivo` on
//! npm; its voice requests pointed at chorus, nothing else changed) against
//! the real daemon with real phones: the core MPC flow with what the phones
//! hear after each change, the recording, a participant track (the SDK's
//! `participant` track type), a clip played to one member, the SDK's view
//! of our errors, and Add Participant dialling an agent. `api_rest.rs`, `participant_recording.rs` and
//! `member_audio.rs` do the same and more with the Python SDK.

mod common;

use std::time::Duration;

use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN};
use chorus_tests::http::{AppServer, Reply};
use chorus_tests::peers::{Scratch, read_wav};
use chorus_tests::phone::{Call, DialOptions, dial};
use chorus_tests::plivo_sdk::Sdk;
use chorus_tests::tone::{assert_hears, sine, wav_bytes};
use common::{let_media_flow, start_recording_into};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(5);
/// The tone of the clip played to b.
const CLIP: f32 = 1700.0;

/// What `a` and `b` hear over the next second.
async fn listen(a: &Call, b: &Call) -> (Vec<i16>, Vec<i16>) {
    let mut heard = common::listen(&[a, b], 300, 1000).await;
    let b_heard = heard.pop().unwrap();
    (heard.pop().unwrap(), b_heard)
}

fn succeeded(answer: &Value) -> bool {
    answer.get("exception").is_none()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plivo_node_sdk_runs_an_mpc_and_the_phones_hear_each_change() {
    let app = AppServer::start(vec![
        ("/status".to_owned(), Reply::status(200)),
        // The Node SDK refuses a callback URL with no ".letters" in it (it
        // expects a domain name): a dotted path satisfies it on loopback.
        ("/rec.events".to_owned(), Reply::status(200)),
        ("/track.events".to_owned(), Reply::status(200)),
        (
            "/clip.wav".to_owned(),
            Reply::bytes(
                "audio/wav",
                wav_bytes(&sine(CLIP, 8000, -12.0, 20 * 8000), 1, 8000),
            ),
        ),
    ])
    .await;
    let dir = Scratch::new("node-sdk");
    let chorus = start_recording_into(&app, &dir).await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" startMpcOnEnter="false" stayAlone="true" statusCallbackUrl="{}">node-room</MultiPartyCall></Response>"#,
            app.url("/status")
        )),
    );
    let sdk = Sdk::node(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let a = dial(
        chorus.sip_addr(),
        "node-room",
        DialOptions::with_tone(400.0),
    )
    .await
    .unwrap();
    let b = dial(
        chorus.sip_addr(),
        "node-room",
        DialOptions::with_tone(700.0),
    )
    .await
    .unwrap();

    let listed = sdk.run(&["list", "initialized"]).await;
    let objects = listed.as_array().expect("the SDK's list: an array");
    assert_eq!(objects.len(), 1, "{listed}");
    assert_eq!(objects[0]["friendlyName"], "node-room", "{listed}");
    let mpc = sdk.run(&["get", "node-room"]).await;
    assert_eq!(mpc["status"], "Initialized", "{mpc}");

    let started = sdk.run(&["start", "node-room"]).await;
    assert!(succeeded(&started), "{started}");
    assert_eq!(sdk.run(&["get", "node-room"]).await["status"], "Active");
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a once started", &heard_a, &[700.0], &[]);
    assert_hears("b once started", &heard_b, &[400.0], &[]);

    let members = sdk.run(&["members", "node-room"]).await;
    let ids: Vec<&str> = members["objects"]
        .as_array()
        .unwrap_or_else(|| panic!("{members}"))
        .iter()
        .map(|m| m["memberId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2"], "{members}");

    let muted = sdk.run(&["update", "node-room", "1", "mute=true"]).await;
    assert!(succeeded(&muted), "{muted}");
    let member = sdk.run(&["member", "node-room", "1"]).await;
    assert_eq!(member["mute"], Value::Bool(true), "{member}");
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a, muted", &heard_a, &[700.0], &[]);
    assert_hears("b, a muted", &heard_b, &[], &[400.0]);
    let unmuted = sdk.run(&["update", "node-room", "all", "mute=false"]).await;
    assert!(succeeded(&unmuted), "{unmuted}");
    let (_, heard_b) = listen(&a, &b).await;
    assert_hears("b, a unmuted", &heard_b, &[400.0], &[]);

    let recording = sdk
        .run(&["record-start", "node-room", "wav", &app.url("/rec.events")])
        .await;
    assert!(
        recording["recordingId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{recording}"
    );
    for step in ["record-pause", "record-resume", "record-stop"] {
        let_media_flow(300).await;
        let answer = sdk.run(&[step, "node-room"]).await;
        assert!(succeeded(&answer), "{step}: {answer}");
    }
    let names = app
        .event_names("/rec.events", 4, Duration::from_secs(10))
        .await;
    assert_eq!(
        names,
        [
            "MPCRecordingInitiated",
            "MPCRecordingPaused",
            "MPCRecordingResumed",
            "MPCRecordingCompleted"
        ]
    );

    // a's own voice, as the Node SDK asks for it ("participant").
    let track = sdk
        .run(&[
            "participant-record-start",
            "node-room",
            "1",
            "wav",
            &app.url("/track.events"),
            "participant",
        ])
        .await;
    let track_url = track["recordingUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{track}"))
        .to_owned();
    let_media_flow(1500).await;
    let stopped = sdk
        .run(&["participant-record-stop", "node-room", "1", "participant"])
        .await;
    assert!(succeeded(&stopped), "{stopped}");
    let names = app
        .event_names("/track.events", 2, Duration::from_secs(10))
        .await;
    assert_eq!(
        names,
        [
            "ParticipantRecordingInitiated",
            "ParticipantRecordingCompleted"
        ]
    );
    let path = track_url.strip_prefix("file://").expect("a file URL");
    let (_, voice) = read_wav(std::path::Path::new(path)).expect("a WAV file");
    assert_hears("a's track", &voice, &[400.0], &[700.0]);

    // A clip to b alone.
    let played = sdk
        .run(&["play", "node-room", "2", &app.url("/clip.wav")])
        .await;
    assert!(succeeded(&played), "{played}");
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("b, played to", &heard_b, &[CLIP, 400.0], &[]);
    assert_hears("a, not played to", &heard_a, &[700.0], &[CLIP]);
    let stopped = sdk.run(&["stop-play", "node-room", "2"]).await;
    assert!(succeeded(&stopped), "{stopped}");
    let (_, heard_b) = listen(&a, &b).await;
    assert_hears("b, once stopped", &heard_b, &[400.0], &[CLIP]);

    // Our errors, as the SDK reports them: chorus's messages come through.
    let missing = sdk.run(&["get", "no-such-room"]).await;
    assert!(
        missing["message"]
            .as_str()
            .is_some_and(|m| m.contains("MPC not found")),
        "{missing}"
    );
    let no_member = sdk.run(&["update", "node-room", "9", "mute=true"]).await;
    assert!(
        no_member["message"]
            .as_str()
            .is_some_and(|m| m.contains("member 9")),
        "{no_member}"
    );
    let wrong = Sdk::node(&chorus.rest_url(), API_AUTH_ID, "not-the-token-at-all");
    let refused = wrong.run(&["list"]).await;
    assert!(refused.get("exception").is_some(), "{refused}");

    let kicked = sdk.run(&["kick", "node-room", "1"]).await;
    assert!(succeeded(&kicked), "{kicked}");
    assert!(a.wait_for_bye(WAIT).await, "the kicked member's call ends");
    let ended = sdk.run(&["end", "node-room"]).await;
    assert!(succeeded(&ended), "{ended}");
    assert!(b.wait_for_bye(WAIT).await, "ending the MPC releases b");
    assert_eq!(sdk.run(&["get", "node-room"]).await["status"], "Ended");
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plivo_node_sdk_adds_a_participant_by_dialling_it() {
    let app = common::support_desk_app().await;
    let chorus = common::start_with_settings(&app.url("/answer"), &[]).await;
    let customer = common::customer_calls_in(&chorus, 400.0).await;
    let mut agent = chorus_tests::phone::Callee::listen(
        chorus_tests::phone::CalleeOptions::answer_with_tone(700.0),
    )
    .await
    .unwrap();
    let sdk = Sdk::node(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let uri = agent.uri();
    // The SDK sends every parameter it knows, defaults included.
    let added = sdk
        .run(&[
            "add",
            "support",
            "Agent",
            "15550001111",
            &uri,
            "enterSound=none",
        ])
        .await;
    assert!(succeeded(&added), "{added}");
    assert_eq!(
        added["message"], "add participant action initiated",
        "{added}"
    );
    assert_eq!(added["calls"][0]["to"], uri.as_str(), "{added}");
    let agent_call = agent.answered(Duration::from_secs(10)).await.unwrap();
    let (heard_customer, heard_agent) = listen(&customer, &agent_call).await;
    assert_hears("customer", &heard_customer, &[700.0], &[400.0]);
    assert_hears("agent", &heard_agent, &[400.0], &[700.0]);
}
