//! Participant track recordings end to end: real phones each sending their
//! own tone, Plivo's Python SDK driving the REST API, a real HTTP server
//! receiving the recording callbacks, and the files read back: the inbound
//! track holds only the member's own voice, the outbound track exactly
//! what it heard; a pause is left out of both files.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN, Chorusd};
use chorus_tests::http::{AppServer, RecordedRequest, Reply, raw_request};
use chorus_tests::peers::{Scratch, read_wav};
use chorus_tests::phone::Call;
use chorus_tests::plivo_sdk::Sdk;
use chorus_tests::tone::assert_hears;
use common::{join_mpc, let_media_flow, start_recording_into};
use serde_json::Value;

const ALICE: f32 = 950.0;
const BOB: f32 = 1150.0;
const CAROL: f32 = 1350.0;
const TIMEOUT: Duration = Duration::from_secs(10);

fn param<'a>(request: &'a RecordedRequest, name: &str) -> &'a str {
    request.param(name).unwrap_or("<missing>")
}

async fn join(app: &AppServer, chorus: &Chorusd, room: &str, attrs: &str, tone: f32) -> Call {
    let attrs = format!(r#"role="agent" stayAlone="true" {attrs}"#);
    join_mpc(app, chorus, room, &attrs, Some(tone)).await
}

/// Runs an SDK command, timed: (answer, sent before, answered after).
async fn timed(sdk: &Sdk, args: &[&str]) -> (Value, Instant, Instant) {
    let before = Instant::now();
    let answer = sdk.run(args).await;
    (answer, before, Instant::now())
}

fn ok(answer: &Value) {
    assert!(answer.get("exception").is_none(), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_records_alices_tracks_what_she_said_and_what_she_heard() {
    let app = AppServer::start(vec![("/rec".to_owned(), Reply::status(200))]).await;
    let dir = Scratch::new("participant-tracks");
    let chorus = start_recording_into(&app, &dir).await;
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let alice = join(&app, &chorus, "tracked", "", ALICE).await;
    let bob = join(&app, &chorus, "tracked", "", BOB).await;
    let carol = join(&app, &chorus, "tracked", "", CAROL).await;
    let_media_flow(300).await;

    // Refused requests change nothing.
    let unknown = sdk.run(&["participant-record-pause", "tracked", "9"]).await;
    assert_eq!(unknown["exception"], "ResourceNotFoundError", "{unknown}");
    let idle = sdk.run(&["participant-record-pause", "tracked", "2"]).await;
    assert_eq!(idle["exception"], "InvalidRequestError", "{idle}");
    assert!(
        idle["message"]
            .as_str()
            .unwrap()
            .contains("not being recorded"),
        "{idle}"
    );

    let rec = app.url("/rec");
    let (started, start_sent, started_at) = timed(
        &sdk,
        &["participant-record-start", "tracked", "1", "wav", &rec],
    )
    .await;
    ok(&started);
    let recordings = started["recordings"].as_array().expect("chorus's extra");
    assert_eq!(recordings.len(), 2, "{started}");
    assert_eq!(recordings[0]["record_track_type"], "inbound");
    assert_eq!(recordings[1]["record_track_type"], "outbound");
    assert_eq!(started["recording_id"], recordings[0]["recording_id"]);
    assert_eq!(started["recording_url"], recordings[0]["recording_url"]);
    let twice = sdk
        .run(&[
            "participant-record-start",
            "tracked",
            "1",
            "wav",
            &rec,
            "outbound",
        ])
        .await;
    assert_eq!(twice["exception"], "InvalidRequestError", "{twice}");

    let_media_flow(1500).await;
    let (paused, pause_sent, pause_done) =
        timed(&sdk, &["participant-record-pause", "tracked", "1"]).await;
    ok(&paused);
    let_media_flow(2000).await;
    let (resumed, resume_sent, resume_done) =
        timed(&sdk, &["participant-record-resume", "tracked", "1"]).await;
    ok(&resumed);
    let_media_flow(1500).await;
    let (stopped, stop_sent, stop_done) =
        timed(&sdk, &["participant-record-stop", "tracked", "1"]).await;
    ok(&stopped);

    let events = app.wait_for_requests("/rec", 8, TIMEOUT).await;
    assert_eq!(events.len(), 8, "{events:#?}");
    for (i, track) in ["inbound", "outbound"].into_iter().enumerate() {
        let id = recordings[i]["recording_id"].as_str().unwrap();
        let mine: Vec<&RecordedRequest> = events
            .iter()
            .filter(|r| param(r, "RecordingUUID") == id)
            .collect();
        let names: Vec<&str> = mine.iter().map(|r| param(r, "EventName")).collect();
        assert_eq!(
            names,
            [
                "ParticipantRecordingInitiated",
                "ParticipantRecordingPaused",
                "ParticipantRecordingResumed",
                "ParticipantRecordingCompleted"
            ],
            "{track}"
        );
        for r in &mine {
            assert_eq!(r.method, "POST", "the API's default method");
            assert_eq!(param(r, "RecordTrackType"), track);
            assert_eq!(param(r, "MemberID"), "1");
            assert_eq!(param(r, "ParticipantCallUUID").len(), 36);
            assert_eq!(param(r, "MPCName"), "tracked");
            assert_eq!(param(r, "RecordingFormat"), "wav");
            assert_eq!(
                param(r, "RecordingURL"),
                recordings[i]["recording_url"].as_str().unwrap()
            );
        }
        let completed = mine[3];
        let url = param(completed, "RecordingURL");
        let path = url.strip_prefix("file://").expect(url);
        assert!(path.ends_with(&format!("{id}.wav")), "{path}");
        let (rate, samples) = read_wav(std::path::Path::new(path)).expect("a WAV file");
        let seconds = samples.len() as f64 / f64::from(rate);
        // Each request took effect between its sending and its answer:
        // what was recorded lies between the shortest and the longest
        // reading of those times (give or take a few ticks).
        let shortest = (pause_sent - started_at) + (stop_sent - resume_done);
        let longest = (pause_done - start_sent) + (stop_done - resume_sent);
        assert!(
            (shortest.as_secs_f64() - 0.3..longest.as_secs_f64() + 0.3).contains(&seconds),
            "{track}: {seconds:.2} s, between {shortest:?} and {longest:?} of recording, \
             the 2 s pause left out"
        );
        let reported: f64 = param(completed, "RecordingDuration").parse().unwrap();
        assert!(
            (reported - seconds).abs() <= 0.5,
            "{reported} vs {seconds:.2}"
        );
        match track {
            "inbound" => assert_hears("alice's inbound track", &samples, &[ALICE], &[BOB, CAROL]),
            _ => assert_hears("alice's outbound track", &samples, &[BOB, CAROL], &[ALICE]),
        }
    }
    for call in [alice, bob, carol] {
        assert_eq!(call.hangup().await.unwrap(), 200);
    }
    chorus.stop().await;
}

/// What the SDK would not send: a bad file_format and record_track_type by
/// hand (form bodies, no trailing slash), each refused with Plivo's error
/// shape; a member's tracks end (Completed) when it leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_are_refused_and_a_leaving_member_completes_its_track() {
    let app = AppServer::start(vec![("/rec".to_owned(), Reply::status(200))]).await;
    let dir = Scratch::new("participant-tracks-errors");
    let chorus = start_recording_into(&app, &dir).await;
    let alice = join(&app, &chorus, "checked", "", ALICE).await;
    let bob = join(&app, &chorus, "checked", "", BOB).await;
    let addr = chorus
        .rest_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{API_AUTH_ID}:{API_TOKEN}"));
    let path =
        format!("/v1/Account/{API_AUTH_ID}/MultiPartyCall/name_checked/Participant/2/Record");
    let post = |body: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
    };
    for (body, text) in [
        ("file_format=ogg", "file_format must be mp3 or wav"),
        // (`both` and `participant` are Plivo's Node SDK's names: valid.)
        ("record_track_type=stereo", "record_track_type must be"),
        ("recording_callback_method=PUT", "recording_callback_method"),
    ] {
        let (status, answer) = raw_request(addr, &post(body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let json: Value = serde_json::from_str(&answer).unwrap();
        assert!(json["error"].as_str().unwrap().contains(text), "{answer}");
        assert!(json["api_id"].is_string(), "{answer}");
    }
    assert!(app.requests_to("/rec").is_empty(), "nothing started");
    let body = format!(
        "record_track_type=outbound&file_format=wav&recording_callback_url={}",
        app.url("/rec")
    );
    let (status, answer) = raw_request(addr, &post(&body)).await;
    assert_eq!(status, 200, "{answer}");
    let json: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(json["recordings"].as_array().unwrap().len(), 1, "{answer}");
    let_media_flow(1000).await;
    assert_eq!(bob.hangup().await.unwrap(), 200);
    let events = app.wait_for_requests("/rec", 2, TIMEOUT).await;
    let names: Vec<&str> = events.iter().map(|r| param(r, "EventName")).collect();
    assert_eq!(
        names,
        [
            "ParticipantRecordingInitiated",
            "ParticipantRecordingCompleted"
        ]
    );
    assert_eq!(param(&events[1], "RecordTrackType"), "outbound");
    assert_eq!(param(&events[1], "MemberID"), "2");
    let url = param(&events[1], "RecordingURL");
    let (_, samples) = read_wav(std::path::Path::new(url.trim_start_matches("file://"))).unwrap();
    assert_hears("bob's outbound track", &samples, &[ALICE], &[BOB]);
    assert_eq!(alice.hangup().await.unwrap(), 200);
    chorus.stop().await;
}
