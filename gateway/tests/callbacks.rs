//! Status callbacks end to end: real phones, a real HTTP server serving the
//! answer documents and receiving the callbacks, checked in order and field
//! by field.

mod common;

use std::time::Duration;

use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{Call, DialOptions, dial};
use common::{let_media_flow, start_with_answer_url, wait_for_metric};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The issue's four-party flow: a customer waits (startMpcOnEnter false),
/// an agent starts the MPC, a coaching supervisor and a second agent join,
/// the customer hangs up with endMpcOnExit. The others are released (their
/// documents end, so chorus hangs them up) and the application receives
/// every callback, in order, numbered 1..=11.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_party_flow_callbacks_arrive_in_order_with_their_fields() {
    let app = AppServer::start(vec![("/cb".to_owned(), Reply::status(200))]).await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let callback = app.url("/cb");
    let join = |user: &'static str, attributes: &str| {
        app.set_route(
            "/answer",
            Reply::xml(&format!(
                r#"<Response><MultiPartyCall statusCallbackUrl="{callback}" {attributes}>flow</MultiPartyCall></Response>"#
            )),
        );
        let opts = DialOptions {
            from_user: user.to_owned(),
            ..DialOptions::with_tone(400.0)
        };
        dial(chorus.sip_addr(), "flow", opts)
    };
    let customer = join(
        "cust",
        r#"role="customer" startMpcOnEnter="false" endMpcOnExit="true""#,
    )
    .await
    .unwrap();
    let_media_flow(200).await;
    let agent = join("agent1", r#"role="agent""#).await.unwrap();
    let supervisor = join("boss", r#"role="supervisor""#).await.unwrap();
    let second: Call = join("agent2", r#"role="agent""#).await.unwrap();
    let_media_flow(300).await;
    assert_eq!(customer.hangup().await.unwrap(), 200);
    for (who, call) in [
        ("agent1", &agent),
        ("boss", &supervisor),
        ("agent2", &second),
    ] {
        assert!(
            call.wait_for_bye(TIMEOUT).await,
            "{who} is released when the customer's endMpcOnExit ends the MPC, and its document ends"
        );
    }

    let got = app.wait_for_requests("/cb", 11, TIMEOUT).await;
    let param = |i: usize, name: &str| got[i].param(name).unwrap_or("<missing>").to_owned();
    let summary: Vec<(String, String, String, String, String)> = (0..got.len())
        .map(|i| {
            (
                param(i, "SequenceNumber"),
                param(i, "EventName"),
                got[i]
                    .param("ParticipantCallFrom")
                    .unwrap_or("-")
                    .to_owned(),
                got[i].param("ParticipantRole").unwrap_or("-").to_owned(),
                got[i]
                    .param("ParticipantExitCause")
                    .unwrap_or("-")
                    .to_owned(),
            )
        })
        .collect();
    let row = |seq: &str, name: &str, from: &str, role: &str, exit: &str| {
        (
            seq.to_owned(),
            name.to_owned(),
            from.to_owned(),
            role.to_owned(),
            exit.to_owned(),
        )
    };
    let ended = "Multiparty Call Ended";
    assert_eq!(
        summary,
        [
            row("1", "MPCInitialized", "-", "-", "-"),
            row("2", "ParticipantJoin", "cust", "Customer", ""),
            row("3", "ParticipantJoin", "agent1", "Agent", ""),
            row("4", "MPCStart", "-", "-", "-"),
            row("5", "ParticipantJoin", "boss", "Supervisor", ""),
            row("6", "ParticipantJoin", "agent2", "Agent", ""),
            row(
                "7",
                "ParticipantExit",
                "cust",
                "Customer",
                "Participant Call Hangup"
            ),
            row("8", "ParticipantExit", "agent1", "Agent", ended),
            row("9", "ParticipantExit", "boss", "Supervisor", ended),
            row("10", "ParticipantExit", "agent2", "Agent", ended),
            row("11", "MPCEnd", "-", "-", "-"),
        ]
    );
    // Every callback is a form POST about the same MPC.
    let uuid = param(0, "MPCUUID");
    assert_eq!(uuid.len(), 36, "{uuid}");
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.method, "POST");
        assert_eq!(param(i, "MPCUUID"), uuid);
        assert_eq!(param(i, "MPCName"), "flow");
        let ts = param(i, "EventTimestamp");
        assert!(
            ts.len() == 25 && &ts[10..11] == " " && ts.ends_with("+00:00"),
            "YYYY-MM-DD HH:mm:ss+00:00, got {ts:?}"
        );
    }
    // Coach mode as joined, distinct call UUIDs, member ids 1..=4.
    assert_eq!(param(4, "ParticipantCoachMode"), "true");
    assert_eq!(param(2, "ParticipantCoachMode"), "false");
    let mut calls: Vec<String> = [1, 2, 4, 5]
        .iter()
        .map(|i| param(*i, "ParticipantCallUUID"))
        .collect();
    calls.sort();
    calls.dedup();
    assert_eq!(calls.len(), 4, "{calls:?}");
    let members: Vec<String> = [1, 2, 4, 5].iter().map(|i| param(*i, "MemberID")).collect();
    assert_eq!(members, ["1", "2", "3", "4"]);
    // The start time appears from MPCStart on; the end only at the end.
    assert_eq!(param(1, "MPCStartTime"), "");
    assert_eq!(param(3, "MPCStartTime"), param(3, "EventTimestamp"));
    assert_eq!(param(10, "MPCEndTime"), param(10, "EventTimestamp"));
    assert_eq!(
        param(10, "MPCTerminationCause"),
        "Participant With endMpcOnExit Exited"
    );
    assert_eq!(param(10, "MPCTerminationCauseCode"), "2010");
    // The same events are counted for Prometheus.
    wait_for_metric(
        &chorus,
        r#"chorus_status_callbacks_total{outcome="delivered"}"#,
        11.0,
    )
    .await;
    let metrics = chorus.metrics().await;
    for (key, want) in [
        ("chorus_calls_total", 4.0),
        ("chorus_mpcs_active", 0.0),
        (r#"chorus_mpc_events_total{event="MPCInitialized"}"#, 1.0),
        (r#"chorus_mpc_events_total{event="ParticipantJoin"}"#, 4.0),
        (r#"chorus_mpc_events_total{event="ParticipantExit"}"#, 4.0),
        (r#"chorus_mpc_events_total{event="MPCEnd"}"#, 1.0),
        (r#"chorus_status_callbacks_total{outcome="dropped"}"#, 0.0),
    ] {
        assert_eq!(metrics.get(key), Some(&want), "{key} in {metrics:#?}");
    }
    chorus.stop().await;
}

/// Callbacks to a URL that fails are retried: the first attempt gets a 500,
/// the retry succeeds, and nothing is lost or reordered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_callback_is_retried_in_order() {
    let app = AppServer::start(vec![("/cb".to_owned(), Reply::status(500))]).await;
    let chorus = start_with_answer_url(&app.url("/answer"), "GET").await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" statusCallbackUrl="{}" statusCallbackMethod="GET">r</MultiPartyCall></Response>"#,
            app.url("/cb")
        )),
    );
    let call = dial(chorus.sip_addr(), "r", DialOptions::default())
        .await
        .unwrap();
    // MPCInitialized fails once, then the route recovers.
    app.wait_for_requests("/cb", 1, TIMEOUT).await;
    app.set_route("/cb", Reply::status(200));
    let got = app.wait_for_requests("/cb", 4, TIMEOUT).await;
    let names: Vec<&str> = got
        .iter()
        .map(|r| r.param("EventName").unwrap_or("?"))
        .collect();
    assert_eq!(
        names,
        [
            "MPCInitialized",
            "MPCInitialized",
            "ParticipantJoin",
            "MPCStart"
        ],
        "the failed one first, again, then the rest in order"
    );
    assert!(got.iter().all(|r| r.method == "GET"));
    wait_for_metric(
        &chorus,
        r#"chorus_status_callbacks_total{outcome="delivered"}"#,
        3.0,
    )
    .await;
    let metrics = chorus.metrics().await;
    assert_eq!(
        metrics[r#"chorus_status_callbacks_total{outcome="retried"}"#],
        1.0
    );
    assert_eq!(
        metrics[r#"chorus_status_callbacks_total{outcome="dropped"}"#],
        0.0
    );
    assert_eq!(call.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

/// One MPC's failing callback URL delays nobody else: while its callbacks
/// are being retried, another MPC's arrive at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_callback_url_does_not_hold_up_another_mpc() {
    let app = AppServer::start(vec![
        ("/dead".to_owned(), Reply::status(503)),
        ("/live".to_owned(), Reply::status(200)),
    ])
    .await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let mpc = |name: &str, callback: &str| {
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" statusCallbackUrl="{}">{name}</MultiPartyCall></Response>"#,
            app.url(callback)
        ))
    };
    app.set_route("/answer", mpc("slow", "/dead"));
    let slow = dial(chorus.sip_addr(), "slow", DialOptions::default())
        .await
        .unwrap();
    app.wait_for_requests("/dead", 1, TIMEOUT).await;
    app.set_route("/answer", mpc("quick", "/live"));
    let start = std::time::Instant::now();
    let quick = dial(chorus.sip_addr(), "quick", DialOptions::default())
        .await
        .unwrap();
    let got = app.wait_for_requests("/live", 3, TIMEOUT).await;
    let names: Vec<&str> = got
        .iter()
        .map(|r| r.param("EventName").unwrap_or("?"))
        .collect();
    assert_eq!(names, ["MPCInitialized", "ParticipantJoin", "MPCStart"]);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the other MPC's callbacks are not queued behind the retries ({:?})",
        start.elapsed()
    );
    let dead = app.requests_to("/dead");
    assert!(
        dead.iter()
            .all(|r| r.param("EventName") == Some("MPCInitialized")),
        "the failing MPC is still retrying its first event, in order"
    );
    assert_eq!(slow.hangup().await.unwrap(), 200);
    assert_eq!(quick.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

/// A stopping chorusd hangs up its calls and still delivers the callbacks
/// that causes (exits, MPCEnd) before it exits, even from a slow server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_chorusd_delivers_the_last_callbacks() {
    let app = AppServer::start(vec![(
        "/cb".to_owned(),
        Reply::status(200).with_delay(Duration::from_millis(400)),
    )])
    .await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" statusCallbackUrl="{}">bye</MultiPartyCall></Response>"#,
            app.url("/cb")
        )),
    );
    let call = dial(chorus.sip_addr(), "bye", DialOptions::default())
        .await
        .unwrap();
    app.wait_for_requests("/cb", 3, TIMEOUT).await;
    assert!(chorus.stop().await.success());
    let names: Vec<String> = app
        .requests_to("/cb")
        .iter()
        .map(|r| r.param("EventName").unwrap_or("?").to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "MPCInitialized",
            "ParticipantJoin",
            "MPCStart",
            "ParticipantExit",
            "MPCEnd"
        ]
    );
    drop(call);
}
