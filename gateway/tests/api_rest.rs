//! The Plivo-compatible REST API, driven by Plivo's own Python SDK (only its
//! base URL changed) against the real daemon with real phones: what the
//! API says, what the phones hear, and what the status callbacks report.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN, Chorusd};
use chorus_tests::http::{AppServer, Reply, raw_request};
use chorus_tests::peers::{Scratch, read_wav};
use chorus_tests::phone::{Call, DialOptions, dial};
use chorus_tests::plivo_sdk::Sdk;
use chorus_tests::tone::assert_hears;
use common::{chorusd_bin, let_media_flow, start_recording_into, start_with_settings};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(5);

/// chorusd whose answer document puts callers, as agents, in MPC
/// `sdk-room`, which waits to be started and reports to the app's `/status`.
async fn start_with_room() -> (AppServer, Chorusd) {
    let app = AppServer::start(vec![("/status".to_owned(), Reply::status(200))]).await;
    let chorus = start_with_settings(&app.url("/answer"), &[]).await;
    app.set_route("/answer", room_document(&app));
    (app, chorus)
}

fn room_document(app: &AppServer) -> Reply {
    Reply::xml(&format!(
        r#"<Response><MultiPartyCall role="agent" startMpcOnEnter="false" stayAlone="true" statusCallbackUrl="{}" statusCallbackEvents="mpc-state-changes,participant-state-changes">sdk-room</MultiPartyCall></Response>"#,
        app.url("/status")
    ))
}

/// What `a` and `b` hear over the next second.
async fn listen(a: &Call, b: &Call) -> (Vec<i16>, Vec<i16>) {
    let_media_flow(300).await;
    let since = Instant::now();
    let_media_flow(1000).await;
    (a.received_audio_since(since), b.received_audio_since(since))
}

/// Waits until the app got a status callback with `EventName=event`.
async fn status_event(app: &AppServer, event: &str) {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let seen = app
            .requests_to("/status")
            .iter()
            .any(|r| r.param("EventName") == Some(event));
        if seen {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {event} status callback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plivo_sdk_runs_an_mpc_and_the_phones_hear_each_change() {
    let (app, chorus) = start_with_room().await;
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let a = dial(chorus.sip_addr(), "sdk-room", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let b = dial(chorus.sip_addr(), "sdk-room", DialOptions::with_tone(700.0))
        .await
        .unwrap();

    // Initialized: the members wait, hearing nobody.
    let listed = sdk.run(&["list", "initialized"]).await;
    let objects = listed["objects"].as_array().expect("a list");
    assert_eq!(objects.len(), 1, "{listed}");
    assert_eq!(objects[0]["friendly_name"], "sdk-room");
    let mpc = sdk.run(&["get", "sdk-room"]).await;
    assert_eq!(mpc["status"], "Initialized", "{mpc}");
    assert!(mpc["mpc_uuid"].as_str().is_some_and(|u| !u.is_empty()));
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a before the start", &heard_a, &[], &[700.0]);
    assert_hears("b before the start", &heard_b, &[], &[400.0]);

    // Started through the API: the room starts mixing.
    let started = sdk.run(&["start", "sdk-room"]).await;
    assert!(started["message"].is_string(), "{started}");
    status_event(&app, "MPCStart").await;
    assert_eq!(sdk.run(&["get", "sdk-room"]).await["status"], "Active");
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a once started", &heard_a, &[700.0], &[]);
    assert_hears("b once started", &heard_b, &[400.0], &[]);

    let members = sdk.run(&["members", "sdk-room"]).await;
    let ids: Vec<&str> = members["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2"], "{members}");
    assert_eq!(
        members["objects"][0]["member_address"], "tester",
        "the member's own address: its caller, not the room"
    );

    // Muting a: b no longer hears it; a still hears b.
    let muted = sdk.run(&["update", "sdk-room", "1", "mute=true"]).await;
    assert!(muted.get("exception").is_none(), "{muted}");
    status_event(&app, "ParticipantMute").await;
    let member = sdk.run(&["member", "sdk-room", "1"]).await;
    assert_eq!(
        (member["mute"].clone(), member["hold"].clone()),
        (Value::Bool(true), Value::Bool(false))
    );
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a, muted", &heard_a, &[700.0], &[]);
    assert_hears("b, a muted", &heard_b, &[], &[400.0]);

    // Everyone held, then unheld and a unmuted.
    sdk.run(&["update", "sdk-room", "all", "hold=true"]).await;
    status_event(&app, "ParticipantHold").await;
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a, all held", &heard_a, &[], &[700.0]);
    assert_hears("b, all held", &heard_b, &[], &[400.0]);
    sdk.run(&["update", "sdk-room", "all", "hold=false"]).await;
    sdk.run(&["update", "sdk-room", "1", "mute=false"]).await;
    status_event(&app, "ParticipantUnmute").await;
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a, all back", &heard_a, &[700.0], &[]);
    assert_hears("b, all back", &heard_b, &[400.0], &[]);

    // Kicking a releases its call; ending the MPC releases b's.
    let kicked = sdk.run(&["kick", "sdk-room", "1"]).await;
    assert!(kicked.get("exception").is_none(), "{kicked}");
    assert!(a.wait_for_bye(WAIT).await, "the kicked member's call ends");
    let exits = app.requests_to("/status");
    assert!(
        exits
            .iter()
            .any(|r| r.param("EventName") == Some("ParticipantExit")
                && r.param("ParticipantExitCause") == Some("Kicked Out of Multiparty Call"))
    );
    assert_eq!(
        sdk.run(&["members", "sdk-room"]).await["objects"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let ended = sdk.run(&["end", "sdk-room"]).await;
    assert!(ended.get("exception").is_none(), "{ended}");
    assert!(
        b.wait_for_bye(WAIT).await,
        "ending the MPC releases its members"
    );
    status_event(&app, "MPCEnd").await;
    let after = sdk.run(&["get", "sdk-room"]).await;
    assert_eq!(after["status"], "Ended", "{after}");
    assert_eq!(after["termination_cause"], "MPC Ended Via API");
    let ended_list = sdk.run(&["list", "ended"]).await;
    assert_eq!(ended_list["objects"][0]["mpc_uuid"], mpc["mpc_uuid"]);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_unknown_names_and_bad_values_get_plivo_errors_and_change_nothing() {
    let (_app, chorus) = start_with_room().await;
    let a = dial(chorus.sip_addr(), "sdk-room", DialOptions::with_tone(400.0))
        .await
        .unwrap();

    // Through the SDK: its exceptions, from our statuses and error bodies.
    let wrong = Sdk::new(&chorus.rest_url(), API_AUTH_ID, "not-the-token-at-all");
    let refused = wrong.run(&["get", "sdk-room"]).await;
    assert_eq!(refused["exception"], "AuthenticationError", "{refused}");
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let missing = sdk.run(&["get", "no-such-room"]).await;
    assert_eq!(missing["exception"], "ResourceNotFoundError", "{missing}");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("MPC not found")
    );
    let no_member = sdk.run(&["update", "sdk-room", "9", "mute=true"]).await;
    assert_eq!(
        no_member["exception"], "ResourceNotFoundError",
        "{no_member}"
    );
    assert!(no_member["message"].as_str().unwrap().contains("member 9"));

    // By hand, what the SDK would not send.
    let addr = chorus
        .rest_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let base = format!("/v1/Account/{API_AUTH_ID}/MultiPartyCall");
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{API_AUTH_ID}:{API_TOKEN}"));
    let send = |method: &str, path: &str, body: &str, authorization: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{authorization}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let basic = format!("Authorization: Basic {auth}\r\n");
    let cases = [
        (
            send("GET", &format!("{base}/"), "", ""),
            401,
            "authentication failed",
        ),
        (
            send(
                "GET",
                "/v1/Account/MAOTHER0000000000000/MultiPartyCall/",
                "",
                &basic,
            ),
            401,
            "authentication failed",
        ),
        (
            send("GET", &format!("{base}/?limit=50"), "", &basic),
            400,
            "limit must be between 1 and 20",
        ),
        (
            send("GET", &format!("{base}/?status=sleeping"), "", &basic),
            400,
            "status must be",
        ),
        (
            send("GET", &format!("{base}/sdk-room/"), "", &basic),
            404,
            "name_<friendly name>",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Participant/1/"),
                r#"{"mute": "maybe"}"#,
                &basic,
            ),
            400,
            "mute must be true or false",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Participant/1/"),
                r#"{"mute": tr"#,
                &basic,
            ),
            400,
            "malformed JSON body",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Participant/1/"),
                "{}",
                &basic,
            ),
            400,
            "at least one of coach_mode, mute, hold",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Participant/all/"),
                r#"{"coach_mode": false}"#,
                &basic,
            ),
            400,
            "coach_mode cannot be changed for all",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/"),
                r#"{"status": "paused"}"#,
                &basic,
            ),
            400,
            "status must be active",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Nothing/"),
                "{}",
                &basic,
            ),
            404,
            "does not serve",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Member/1/Play/"),
                "{}",
                &basic,
            ),
            400,
            "url is required",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Participant/"),
                r#"{"role": "Customer", "from": "100", "to": "200<300"}"#,
                &basic,
            ),
            400,
            "several destinations (to) are only allowed for the Agent role",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Participant/"),
                r#"{"role": "Agent", "from": "100", "to": "5551234"}"#,
                &basic,
            ),
            400,
            "no route to \"5551234\"",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Participant/"),
                r#"{"role": "Agent", "call_uuid": "0b7b4242-8ee8-4872-b447-81b4ce972eae"}"#,
                &basic,
            ),
            404,
            "call 0b7b4242-8ee8-4872-b447-81b4ce972eae not found",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Record/"),
                r#"{"file_format": "ogg"}"#,
                &basic,
            ),
            400,
            "file_format must be mp3 or wav",
        ),
        (
            send(
                "POST",
                &format!("{base}/name_sdk-room/Record/Pause/"),
                "",
                &basic,
            ),
            409,
            "the MPC is not being recorded",
        ),
    ];
    for (request, status, text) in cases {
        let (got, body) = raw_request(addr, &request).await;
        let json: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
        assert_eq!(got, status, "{request}\n{body}");
        assert!(
            json["error"].as_str().is_some_and(|e| e.contains(text)),
            "{request}\n{body}"
        );
        assert!(json["api_id"].is_string(), "{body}");
    }
    // Nothing changed: a still unmuted, the MPC still waiting.
    let member = sdk.run(&["member", "sdk-room", "1"]).await;
    assert_eq!(member["mute"], Value::Bool(false), "{member}");
    assert_eq!(sdk.run(&["get", "sdk-room"]).await["status"], "Initialized");
    assert!(!a.got_bye());
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_api_is_closed_and_says_how_to_open_it() {
    let chorus = Chorusd::start(chorusd_bin(), &[("CHORUS_API__AUTH_TOKEN", "")]).await;
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let refused = sdk.run(&["list"]).await;
    assert_eq!(refused["exception"], "AuthenticationError", "{refused}");
    let refused = sdk.run(&["get", "any-room"]).await;
    assert_eq!(refused["exception"], "AuthenticationError", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("CHORUS_API__AUTH_TOKEN")
    );
    assert!(
        chorus
            .log()
            .contains("the REST API refuses every request until a token is set")
    );
    chorus.stop().await;
}

/// The MPC recording through the API: started as WAV with its own callback
/// URL, paused and resumed; the paused time is left out of the file, and
/// the callbacks report each step. Pausing twice is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plivo_sdk_records_and_a_pause_is_left_out_of_the_file() {
    let app = AppServer::start(vec![
        ("/rec".to_owned(), Reply::status(200)),
        (
            "/answer".to_owned(),
            Reply::xml(r#"<Response><MultiPartyCall role="agent" stayAlone="true">taped</MultiPartyCall></Response>"#),
        ),
    ])
    .await;
    let dir = Scratch::new("api-recording");
    let chorus = start_recording_into(&app, &dir).await;
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let a = dial(chorus.sip_addr(), "taped", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let_media_flow(300).await;

    // Each SDK call takes its time (a Python process): the file's length
    // is bounded by when each call was sent and when it returned.
    let sent_start = Instant::now();
    let started = sdk
        .run(&["record-start", "taped", "wav", &app.url("/rec")])
        .await;
    let started_at = Instant::now();
    let url = started["recording_url"]
        .as_str()
        .unwrap_or_else(|| panic!("{started}"));
    assert!(
        started["recording_id"]
            .as_str()
            .is_some_and(|id| url.contains(id))
    );
    let_media_flow(1500).await;
    let sent_pause = Instant::now();
    assert!(
        sdk.run(&["record-pause", "taped"])
            .await
            .get("exception")
            .is_none()
    );
    let paused_at = Instant::now();
    let twice = sdk.run(&["record-pause", "taped"]).await;
    assert_eq!(twice["exception"], "InvalidRequestError", "{twice}");
    assert!(
        twice["message"]
            .as_str()
            .unwrap()
            .contains("already paused")
    );
    let_media_flow(2000).await;
    let sent_resume = Instant::now();
    assert!(
        sdk.run(&["record-resume", "taped"])
            .await
            .get("exception")
            .is_none()
    );
    let resumed_at = Instant::now();
    let_media_flow(1500).await;
    let sent_stop = Instant::now();
    assert!(
        sdk.run(&["record-stop", "taped"])
            .await
            .get("exception")
            .is_none()
    );
    let stopped_at = Instant::now();

    let names = app.event_names("/rec", 4, Duration::from_secs(10)).await;
    assert_eq!(
        names,
        [
            "MPCRecordingInitiated",
            "MPCRecordingPaused",
            "MPCRecordingResumed",
            "MPCRecordingCompleted"
        ]
    );
    let path = url.strip_prefix("file://").expect("a file URL");
    let (rate, samples) = read_wav(std::path::Path::new(path)).expect("a WAV file");
    let seconds = samples.len() as f64 / f64::from(rate);
    // Recorded: from the start to the pause, and from the resume to the
    // stop, each taking effect between its call's sending and return (and
    // a frame or two of media either way).
    let least = (sent_pause - started_at) + (sent_stop - resumed_at);
    let most = (paused_at - sent_start) + (stopped_at - sent_resume);
    let (least, most) = (least.as_secs_f64() - 0.25, most.as_secs_f64() + 0.25);
    let pause = (sent_resume - paused_at).as_secs_f64();
    assert!(
        most < least + pause,
        "the SDK calls took too long ({least:.2}..{most:.2} s) to tell a {pause:.2} s pause \
         from none"
    );
    assert!(
        (least..most).contains(&seconds),
        "recorded {seconds:.2} s: expected {least:.2}..{most:.2} s, the {pause:.2} s pause left out"
    );
    assert_hears("the recording", &samples, &[400.0], &[]);
    assert_eq!(a.hangup().await.unwrap(), 200);
    chorus.stop().await;
}
