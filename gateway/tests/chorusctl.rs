//! `chorusctl`, the built binary, against a real chorusd with real phones:
//! JSON listings, a mute the phones hear, a live event tail, and the exit
//! codes and messages of an unknown MPC, a wrong token and no daemon.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use chorus_tests::daemon::{API_TOKEN, Chorusd};
use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::tone::assert_hears;
use common::{let_media_flow, start_recording_into, start_with_settings};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const WAIT: Duration = Duration::from_secs(10);
const ROOM: &str = "ctl-room";

fn chorusctl() -> Command {
    let mut command = Command::new(Path::new(env!("CARGO_BIN_EXE_chorusctl")));
    // Only what each test gives it: nothing from the environment running
    // the tests.
    command
        .env_remove("CHORUS_CTL_ENDPOINT")
        .env_remove("CHORUS_CTL_CA_CERT")
        .env_remove("CHORUS_API__AUTH_TOKEN")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs chorusctl against `chorus` with the right token and `args`.
async fn run(chorus: &Chorusd, args: &[&str]) -> Output {
    let mut command = chorusctl();
    command
        .args(["--endpoint", &chorus.grpc_url(), "--token", API_TOKEN])
        .args(args);
    output(command).await
}

async fn output(mut command: Command) -> Output {
    tokio::time::timeout(WAIT, command.output())
        .await
        .expect("chorusctl finishes")
        .expect("chorusctl runs")
}

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn start_with_room() -> (AppServer, Chorusd) {
    let app = AppServer::start(vec![]).await;
    let chorus = start_with_settings(&app.url("/answer"), &[]).await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" startMpcOnEnter="false" stayAlone="true">{ROOM}</MultiPartyCall></Response>"#
        )),
    );
    (app, chorus)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chorusctl_lists_starts_mutes_and_tails_the_events_the_phones_hear() {
    let (_app, chorus) = start_with_room().await;
    // The tail, from before anything happens; its settings from the
    // environment this time.
    let mut tail = chorusctl()
        .env("CHORUS_CTL_ENDPOINT", chorus.grpc_url())
        .env("CHORUS_API__AUTH_TOKEN", API_TOKEN)
        .args(["events", "--mpc", ROOM, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    // It says when it is watching: nothing after that is missed.
    let mut notes = BufReader::new(tail.stderr.take().unwrap()).lines();
    let note = tokio::time::timeout(WAIT, notes.next_line())
        .await
        .expect("the tail starts")
        .unwrap()
        .expect("a line");
    assert!(note.contains("watching events"), "{note}");
    let a = dial(chorus.sip_addr(), ROOM, DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let b = dial(chorus.sip_addr(), ROOM, DialOptions::with_tone(700.0))
        .await
        .unwrap();

    let listed = stdout_json(&run(&chorus, &["mpc", "list", "--json"]).await);
    assert_eq!(listed["total_count"], 1, "{listed}");
    let mpc = &listed["multi_party_calls"][0];
    assert_eq!(mpc["friendly_name"], ROOM);
    assert_eq!(mpc["status"], "Initialized");
    assert_eq!(mpc["participant_count"], 2);

    let started = run(&chorus, &["mpc", "start", ROOM]).await;
    assert!(started.status.success(), "{started:?}");
    assert_eq!(
        String::from_utf8_lossy(&started.stdout).trim(),
        "MPC ctl-room started"
    );
    let muted = stdout_json(&run(&chorus, &["member", "mute", ROOM, "1", "--json"]).await);
    assert_eq!(muted["participants"][0]["member_id"], 1, "{muted}");
    assert_eq!(muted["participants"][0]["mute"], true, "{muted}");
    assert_eq!(muted["participants"][1]["mute"], false, "{muted}");

    // The phones prove it: b no longer hears a, a still hears b.
    let_media_flow(300).await;
    let since = Instant::now();
    let_media_flow(1000).await;
    assert_hears("a, muted", &a.received_audio_since(since), &[700.0], &[]);
    assert_hears("b, a muted", &b.received_audio_since(since), &[], &[400.0]);

    // The table shows it too.
    let table = run(&chorus, &["member", "list", ROOM]).await;
    let text = String::from_utf8_lossy(&table.stdout);
    let header: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(&header[..4], ["MEMBER", "ROLE", "MUTE", "HOLD"], "{text}");
    let first: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&first[..4], ["1", "Agent", "yes", "no"], "{text}");

    // The tail printed every change, one JSON object a line, in order.
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !seen.contains(&"ParticipantMute".to_owned()) {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the tail stalled after {seen:?}"))
            .unwrap()
            .expect("the tail goes on");
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(event["friendly_name"], ROOM, "{line}");
        let name = event["name"].as_str().unwrap().to_owned();
        if !name.starts_with("ParticipantSpeak") {
            seen.push(name);
        }
    }
    assert_eq!(
        seen,
        [
            "MPCInitialized",
            "ParticipantJoin",
            "ParticipantJoin",
            "MPCStart",
            "ParticipantMute"
        ]
    );
    tail.kill().await.unwrap();
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chorusctl_says_what_went_wrong_and_exits_non_zero() {
    let (_app, chorus) = start_with_room().await;

    let unknown = run(&chorus, &["mpc", "show", "no-such-room"]).await;
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert!(
        stderr(&unknown).contains(r#"MPC friendly_name "no-such-room" not found"#),
        "{unknown:?}"
    );
    assert!(unknown.stdout.is_empty());

    let mut wrong = chorusctl();
    wrong.args([
        "--endpoint",
        &chorus.grpc_url(),
        "--token",
        "not-the-token-at-all",
        "mpc",
        "list",
    ]);
    let wrong = output(wrong).await;
    assert_eq!(wrong.status.code(), Some(4), "{wrong:?}");
    assert!(stderr(&wrong).contains("refused the token"), "{wrong:?}");

    let mut tokenless = chorusctl();
    tokenless.args(["--endpoint", &chorus.grpc_url(), "mpc", "list"]);
    let tokenless = output(tokenless).await;
    assert_eq!(tokenless.status.code(), Some(4), "{tokenless:?}");

    let bad_member = run(&chorus, &["member", "kick", ROOM, "bob"]).await;
    assert_eq!(bad_member.status.code(), Some(2), "{bad_member:?}");
    assert!(
        stderr(&bad_member).contains("not a member id"),
        "{bad_member:?}"
    );

    // Settings from a config file; health needs no token.
    let config = std::env::temp_dir().join(format!("chorusctl-{}.toml", std::process::id()));
    std::fs::write(&config, format!("endpoint = \"{}\"\n", chorus.grpc_url())).unwrap();
    let mut health = chorusctl();
    health.args(["--config", config.to_str().unwrap(), "health"]);
    let health = output(health).await;
    std::fs::remove_file(&config).unwrap();
    assert!(health.status.success(), "{health:?}");
    assert!(
        String::from_utf8_lossy(&health.stdout).contains("chorus.v1.MultiPartyCalls: SERVING"),
        "{health:?}"
    );

    // No daemon there any more.
    let url = chorus.grpc_url();
    chorus.stop().await;
    let mut gone = chorusctl();
    gone.args(["--endpoint", &url, "--token", API_TOKEN, "mpc", "list"]);
    let gone = output(gone).await;
    assert_eq!(gone.status.code(), Some(3), "{gone:?}");
    assert!(
        stderr(&gone).contains(&format!("cannot reach chorusd at {url}")),
        "{gone:?}"
    );
}

/// chorusd recording into a scratch directory `name`, with one phone
/// (sending 400 Hz) in MPC [`ROOM`], which is started.
async fn recorded_room(
    name: &str,
) -> (
    AppServer,
    chorus_tests::peers::Scratch,
    Chorusd,
    chorus_tests::phone::Call,
) {
    let app = AppServer::start(vec![]).await;
    let dir = chorus_tests::peers::Scratch::new(name);
    let chorus = start_recording_into(&app, &dir).await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" stayAlone="true">{ROOM}</MultiPartyCall></Response>"#
        )),
    );
    let a = dial(chorus.sip_addr(), ROOM, DialOptions::with_tone(400.0))
        .await
        .unwrap();
    (app, dir, chorus, a)
}

/// `chorusctl record`: start (as WAV), pause, a second pause refused with
/// its reason, resume and stop; the recording's events stream by.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chorusctl_starts_pauses_resumes_and_stops_the_recording() {
    let (_app, _dir, chorus, a) = recorded_room("ctl-recording").await;
    let started = stdout_json(
        &run(
            &chorus,
            &["record", "start", ROOM, "--format", "wav", "--json"],
        )
        .await,
    );
    let url = started["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{started}"));
    assert!(url.ends_with(".wav"), "{started}");
    let paused = stdout_json(&run(&chorus, &["record", "pause", ROOM, "--json"]).await);
    assert_eq!(paused["friendly_name"], ROOM);
    let again = run(&chorus, &["record", "pause", ROOM]).await;
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(
        stderr(&again).contains("the recording is already paused"),
        "{again:?}"
    );
    let resumed = run(&chorus, &["record", "resume", ROOM]).await;
    assert!(
        String::from_utf8_lossy(&resumed.stdout).contains("recording resumed"),
        "{resumed:?}"
    );
    let stopped = run(&chorus, &["record", "stop", ROOM]).await;
    assert!(stopped.status.success(), "{stopped:?}");
    let none = run(&chorus, &["record", "stop", ROOM]).await;
    assert_eq!(none.status.code(), Some(1), "{none:?}");
    assert!(stderr(&none).contains("not being recorded"), "{none:?}");
    let bad = run(&chorus, &["record", "start", ROOM, "--format", "ogg"]).await;
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    assert!(
        stderr(&bad).contains("file_format must be mp3 or wav"),
        "{bad:?}"
    );
    assert_eq!(a.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

/// `chorusctl record … --member`: a member's inbound track started as WAV,
/// refusals with their reasons (a second start; pausing `all` when only
/// the inbound track runs; `--track` without `--member`), then stopped:
/// the file holds the member's voice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chorusctl_records_a_members_track() {
    let (_app, _dir, chorus, a) = recorded_room("ctl-tracks").await;
    let start = [
        "record", "start", ROOM, "--member", "1", "--track", "inbound",
    ];
    let started = stdout_json(
        &run(
            &chorus,
            &[&start[..], &["--format", "wav", "--json"]].concat(),
        )
        .await,
    );
    let recording = &started["recordings"][0];
    assert_eq!(recording["member_id"], 1, "{started}");
    assert_eq!(recording["record_track_type"], "RECORD_TRACK_TYPE_INBOUND");
    let url = recording["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{started}"));
    let again = run(&chorus, &start).await;
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(
        stderr(&again).contains("already being recorded"),
        "{again:?}"
    );
    let all = run(&chorus, &["record", "pause", ROOM, "--member", "1"]).await;
    assert_eq!(all.status.code(), Some(1), "{all:?}");
    assert!(stderr(&all).contains("not being recorded"), "{all:?}");
    let no_member = run(&chorus, &["record", "pause", ROOM, "--track", "inbound"]).await;
    assert_eq!(no_member.status.code(), Some(2), "{no_member:?}");
    let_media_flow(1500).await;
    let stopped = run(
        &chorus,
        &[
            "record", "stop", ROOM, "--member", "1", "--track", "inbound",
        ],
    )
    .await;
    assert!(
        String::from_utf8_lossy(&stopped.stdout).contains("member 1's track recording stopped"),
        "{stopped:?}"
    );
    let path = Path::new(url.trim_start_matches("file://"));
    let deadline = Instant::now() + WAIT;
    while !path.exists() && Instant::now() < deadline {
        let_media_flow(50).await;
    }
    let (_, samples) = chorus_tests::peers::read_wav(path).expect("the finished track");
    assert_hears("the member's inbound track", &samples, &[400.0], &[]);
    assert_eq!(a.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chorusctl_member_add_dials_an_agent_into_the_mpc() {
    let app = common::support_desk_app().await;
    let chorus = start_with_settings(&app.url("/answer"), &[]).await;
    let customer = common::customer_calls_in(&chorus, 400.0).await;
    let mut agent = chorus_tests::phone::Callee::listen(
        chorus_tests::phone::CalleeOptions::answer_with_tone(700.0),
    )
    .await
    .unwrap();
    let uri = agent.uri();
    let args = [
        "--json",
        "member",
        "add",
        "support",
        "Agent",
        "--from",
        "100",
        "--to",
        &uri,
        "--param",
        "enter_sound=none",
    ];
    let added = stdout_json(&run(&chorus, &args).await);
    assert_eq!(
        added["message"], "add participant action initiated",
        "{added}"
    );
    assert_eq!(added["calls"][0]["to"], uri.as_str(), "{added}");
    let agent_call = agent.answered(WAIT).await.unwrap();
    let heard = common::listen(&[&customer, &agent_call], 500, 1000).await;
    assert_hears("customer", &heard[0], &[700.0], &[400.0]);

    let bad = run(
        &chorus,
        &["member", "add", "support", "Agent", "--param", "to"],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(stderr(&bad).contains("NAME=VALUE"), "{}", stderr(&bad));
    let refused = run(
        &chorus,
        &[
            "member", "add", "support", "Agent", "--from", "1", "--to", "5550000",
        ],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        stderr(&refused).contains("no route"),
        "{}",
        stderr(&refused)
    );
}
