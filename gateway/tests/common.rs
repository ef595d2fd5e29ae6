//! Shared set-up for the end-to-end tests: the real `chorusd` binary.

#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN, Chorusd};
use chorus_tests::http::{AppServer, Reply, raw_request};
use chorus_tests::peers::Scratch;
use chorus_tests::phone::{Call, DialOptions, dial};

/// The binary under test, built by cargo for this package's tests.
pub fn chorusd_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorusd"))
}

/// Starts chorusd with its built-in app (no answer URL) on free ports.
pub async fn start_builtin() -> Chorusd {
    Chorusd::start(chorusd_bin(), &[]).await
}

/// Starts chorusd fetching its call flow from `answer_url`.
pub async fn start_with_answer_url(answer_url: &str, method: &str) -> Chorusd {
    start_with_settings(answer_url, &[("CHORUS_INBOUND__ANSWER_METHOD", method)]).await
}

/// Starts chorusd fetching its call flow from `answer_url` (POST), with
/// more settings as `CHORUS_*` variables.
pub async fn start_with_settings(answer_url: &str, settings: &[(&str, &str)]) -> Chorusd {
    let mut env = vec![("CHORUS_INBOUND__ANSWER_URL", answer_url)];
    env.extend_from_slice(settings);
    Chorusd::start(chorusd_bin(), &env).await
}

/// Starts chorusd fetching its call flow from `app`'s `/answer` (POST) and
/// writing its recordings under `dir`'s `recordings` folder; `dir` must
/// outlive it (dropping it removes the files).
pub async fn start_recording_into(app: &AppServer, dir: &Scratch) -> Chorusd {
    let recordings = dir.path("recordings");
    start_with_settings(
        &app.url("/answer"),
        &[("CHORUS_RECORDING__DIR", recordings.to_str().unwrap())],
    )
    .await
}

/// chorusd with an app whose answer document puts callers in MPC `two`
/// (`maxParticipants="2"`, agents who stay alone) and sends those not let
/// in on to `/full`, whose document hangs up.
pub async fn start_with_room_of_two() -> (AppServer, Chorusd) {
    let app = AppServer::start(vec![(
        "/full".to_owned(),
        Reply::xml("<Response><Hangup/></Response>"),
    )])
    .await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" maxParticipants="2" stayAlone="true">two</MultiPartyCall><Redirect>{}</Redirect></Response>"#,
            app.url("/full")
        )),
    );
    (app, chorus)
}

/// Lets media flow for a while (the tests listen to what arrives meanwhile).
pub async fn let_media_flow(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// An answer document joining MPC `room` with `attributes`.
pub fn mpc_document(room: &str, attributes: &str) -> Reply {
    Reply::xml(&format!(
        "<Response><MultiPartyCall {attributes}>{room}</MultiPartyCall></Response>"
    ))
}

/// Points `app`'s answer URL at MPC `room` with `attributes` and dials in,
/// sending `tone` (`None`: silence).
pub async fn join_mpc(
    app: &AppServer,
    chorus: &Chorusd,
    room: &str,
    attributes: &str,
    tone: Option<f32>,
) -> Call {
    app.set_route("/answer", mpc_document(room, attributes));
    let options = DialOptions {
        tone_hz: tone,
        ..Default::default()
    };
    dial(chorus.sip_addr(), room, options)
        .await
        .unwrap_or_else(|e| panic!("{attributes}: {e}\n{}", chorus.log()))
}

/// What each phone heard during `ms` milliseconds, after letting things
/// settle for `settle_ms`.
pub async fn listen(calls: &[&Call], settle_ms: u64, ms: u64) -> Vec<Vec<i16>> {
    let_media_flow(settle_ms).await;
    let since = Instant::now();
    let_media_flow(ms).await;
    calls
        .iter()
        .map(|c| c.received_audio_since(since))
        .collect()
}

/// Waits (up to 5 s) until the metric `key` reads `want`.
pub async fn wait_for_metric(chorus: &Chorusd, key: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = chorus.metrics().await;
        if metrics.get(key) == Some(&want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{key} never reached {want}: {metrics:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `POST …/MultiPartyCall/name_{mpc}/Participant/` with a JSON body, as the
/// seed's curl sends it; the status and the JSON answer.
pub async fn add_participant(
    chorus: &Chorusd,
    mpc: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{API_AUTH_ID}:{API_TOKEN}"));
    let body = body.to_string();
    let path = format!("/v1/Account/{API_AUTH_ID}/MultiPartyCall/name_{mpc}/Participant/");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let addr = chorus
        .rest_url()
        .trim_start_matches("http://")
        .parse()
        .expect("the REST address");
    let (status, body) = raw_request(addr, &request).await;
    let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// An app whose answer document puts every caller in MPC `support` as a
/// customer (no enter sound), and whose `/calls` takes call status
/// callbacks: the other side of Add Participant's tests.
pub async fn support_desk_app() -> AppServer {
    AppServer::start(vec![
        (
            "/answer".to_owned(),
            Reply::xml(
                r#"<Response><MultiPartyCall role="customer" enterSound="none">support</MultiPartyCall></Response>"#,
            ),
        ),
        ("/calls".to_owned(), Reply::status(200)),
    ])
    .await
}

/// A customer calling into `support` with a `hz` tone.
pub async fn customer_calls_in(chorus: &Chorusd, hz: f32) -> Call {
    dial(chorus.sip_addr(), "support", DialOptions::with_tone(hz))
        .await
        .expect("the customer's call is answered")
}
