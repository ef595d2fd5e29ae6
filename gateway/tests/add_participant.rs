//! Add Participant (seed 001) end to end: chorusd dials real SIP callees
//! (the test phone as UAS) for the API, and what each party hears proves
//! who was bridged. The seed's single-destination add goes through Plivo's
//! Python SDK; the rest through the REST API as curl would send it.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN, Chorusd};
use chorus_tests::http::{AppServer, RecordedRequest, Reply};
use chorus_tests::phone::{Call, Callee, CalleeOptions, DialOptions, dial};
use chorus_tests::plivo_sdk::Sdk;
use chorus_tests::tone::assert_hears;
use common::{add_participant as add, listen, start_with_settings, support_desk_app};
use serde_json::Value;

const CUSTOMER: f32 = 400.0;
const AGENT: f32 = 700.0;
const OTHER_AGENT: f32 = 1100.0;
const THIRD_AGENT: f32 = 1500.0;

/// chorusd whose answer document puts callers in MPC `support` as
/// customers, and the app serving it (`/calls` takes call status
/// callbacks).
/// Every frame is sent, silence too (`media.send_silence`): these tests
/// count what a member left alone hears to prove a tone absent rather than
/// merely unsent (tests/quiet_rooms covers silence suppression).
const SEND_SILENCE: (&str, &str) = ("CHORUS_MEDIA__SEND_SILENCE", "true");

async fn start(settings: &[(&str, &str)]) -> (AppServer, Chorusd) {
    let app = support_desk_app().await;
    let mut settings = settings.to_vec();
    settings.push(SEND_SILENCE);
    let chorus = start_with_settings(&app.url("/answer"), &settings).await;
    (app, chorus)
}

/// [`start`], the customer in `support`, and an agent's phone waiting to
/// be dialled (it answers with its tone).
async fn desk_with_agent(settings: &[(&str, &str)]) -> (AppServer, Chorusd, Call, Callee) {
    let (app, chorus) = start(settings).await;
    let customer = customer_calls_in(&chorus).await;
    let agent = Callee::listen(CalleeOptions::answer_with_tone(AGENT))
        .await
        .unwrap();
    (app, chorus, customer, agent)
}

/// The customer, calling in with its tone.
async fn customer_calls_in(chorus: &Chorusd) -> Call {
    common::customer_calls_in(chorus, CUSTOMER).await
}

/// Add Participant that must be taken (201): its answer.
async fn accepted(chorus: &Chorusd, mpc: &str, body: &Value) -> Value {
    let (status, added) = add(chorus, mpc, body).await;
    assert_eq!(status, 201, "{added}");
    added
}

/// The call status callbacks for `call_uuid`, once `count` came (≤ 10 s).
async fn call_events(app: &AppServer, call_uuid: &str, count: usize) -> Vec<RecordedRequest> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen: Vec<_> = app
            .requests_to("/calls")
            .into_iter()
            .filter(|r| r.param("CallUUID") == Some(call_uuid))
            .collect();
        if seen.len() >= count {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "{count} call status callbacks for {call_uuid}, saw {:?}",
            seen.iter()
                .map(|r| r.param("EventName"))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn names(events: &[RecordedRequest]) -> Vec<&str> {
    events
        .iter()
        .map(|r| r.param("EventName").unwrap_or("?"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_add_dials_the_agent_who_then_hears_the_customer_and_is_heard() {
    let (app, chorus, customer, mut agent) = desk_with_agent(&[]).await;
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let callbacks = format!("call_status_callback_url={}", app.url("/calls"));
    let added = sdk
        .run(&[
            "add",
            "support",
            "Agent",
            "15551230000",
            &agent.uri(),
            &callbacks,
            "enter_sound=none",
        ])
        .await;
    assert_eq!(
        added["message"], "add participant action initiated",
        "{added}"
    );
    let calls = added["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "{added}");
    assert_eq!(calls[0]["to"], agent.uri().as_str());
    assert_eq!(calls[0]["from"], "15551230000");
    let call_uuid = calls[0]["call_uuid"].as_str().expect("a call_uuid");
    assert!(added["request_uuid"].as_str().is_some(), "{added}");

    let agent_call = agent.answered(Duration::from_secs(10)).await.unwrap();
    let record = agent.record();
    assert_eq!(
        record.from_display_name().as_deref(),
        Some("15551230000"),
        "caller_name defaults to from"
    );
    let heard = listen(&[&customer, &agent_call], 500, 1000).await;
    assert_hears("customer", &heard[0], &[AGENT], &[CUSTOMER]);
    assert_hears("agent", &heard[1], &[CUSTOMER], &[AGENT]);

    let mpc = sdk.run(&["members", "support"]).await;
    let members = mpc["objects"].as_array().expect("members");
    assert_eq!(members.len(), 2, "{mpc}");
    assert!(
        members
            .iter()
            .any(|m| m["call_uuid"] == call_uuid && m["role"] == "Agent"),
        "the dialled agent is a member under its call UUID: {mpc}"
    );

    agent_call.hangup().await.unwrap();
    let events = call_events(&app, call_uuid, 4).await;
    assert_eq!(
        names(&events),
        ["Initiated", "Ringing", "Answered", "Hangup"]
    );
    let hangup = &events[3];
    assert_eq!(hangup.param("PlivoHangupCause"), Some("Normal Hangup"));
    assert_eq!(hangup.param("PlivoHangupSource"), Some("Callee"));
    assert_eq!(hangup.param("From"), Some("15551230000"));
    assert_eq!(hangup.param("To"), Some(agent.uri().as_str()));
    assert!(
        hangup.param("MPCUUID").is_some_and(|u| !u.is_empty()),
        "the MPC it was in"
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(
            event.param("SequenceNumber"),
            Some((i + 1).to_string().as_str())
        );
        assert!(
            event
                .param("InitiationTime")
                .is_some_and(|t| t.ends_with("+00:00"))
        );
    }
    assert_eq!(
        events[1].param("AnswerTime"),
        Some(""),
        "null while ringing"
    );
    assert!(events[2].param("AnswerTime").is_some_and(|t| !t.is_empty()));
    assert!(
        hangup
            .param("RingTime")
            .is_some_and(|t| t.parse::<u64>().is_ok())
    );
    assert!(
        hangup
            .param("Duration")
            .is_some_and(|t| t.parse::<u64>().is_ok())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_dial_bridges_the_first_to_answer_and_cancels_the_others_as_lost_race() {
    let (app, chorus) = start(&[]).await;
    let customer = customer_calls_in(&chorus).await;
    let slow = |hz: f32| CalleeOptions {
        ring: Duration::from_secs(4),
        ..CalleeOptions::answer_with_tone(hz)
    };
    let first = Callee::listen(slow(AGENT)).await.unwrap();
    let mut second = Callee::listen(CalleeOptions {
        ring: Duration::from_millis(500),
        ..CalleeOptions::answer_with_tone(OTHER_AGENT)
    })
    .await
    .unwrap();
    let third = Callee::listen(slow(THIRD_AGENT)).await.unwrap();
    let to = format!("{}<{}<{}", first.uri(), second.uri(), third.uri());
    let added = accepted(
        &chorus,
        "support",
        &serde_json::json!({
            "role": "Agent", "from": "15551230000", "to": to,
            "call_status_callback_url": app.url("/calls"), "enter_sound": "none",
        }),
    )
    .await;
    let calls = added["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 3, "one call per destination: {added}");
    let uuid = |i: usize| calls[i]["call_uuid"].as_str().unwrap().to_owned();

    let winner = second.answered(Duration::from_secs(10)).await.unwrap();
    assert!(
        first.wait_for_cancel(Duration::from_secs(3)).await,
        "the first destination gets CANCEL"
    );
    assert!(
        third.wait_for_cancel(Duration::from_secs(3)).await,
        "the third destination gets CANCEL"
    );
    let heard = listen(&[&customer, &winner], 500, 1000).await;
    assert_hears(
        "customer",
        &heard[0],
        &[OTHER_AGENT],
        &[AGENT, THIRD_AGENT, CUSTOMER],
    );
    assert_hears("winner", &heard[1], &[CUSTOMER], &[AGENT, THIRD_AGENT]);

    for loser in [0, 2] {
        let events = call_events(&app, &uuid(loser), 3).await;
        assert_eq!(names(&events), ["Initiated", "Ringing", "Hangup"]);
        assert_eq!(events[2].param("PlivoHangupCause"), Some("LOST RACE"));
    }
    let events = call_events(&app, &uuid(1), 3).await;
    assert_eq!(names(&events), ["Initiated", "Ringing", "Answered"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_name_and_sip_headers_reach_the_callee_and_a_decline_is_reported() {
    let (app, chorus) = start(&[]).await;
    let busy = Callee::listen(CalleeOptions::decline(486)).await.unwrap();
    let added = accepted(
        &chorus,
        "support",
        &serde_json::json!({
            "role": "Agent", "from": "15551230000", "to": busy.uri(),
            "caller_name": "Support Desk", "sip_headers": "Ticket=42,Tier=gold",
            "call_status_callback_url": app.url("/calls"),
        }),
    )
    .await;
    let call_uuid = added["calls"][0]["call_uuid"].as_str().unwrap().to_owned();
    let events = call_events(&app, &call_uuid, 3).await;
    assert_eq!(names(&events), ["Initiated", "Ringing", "Hangup"]);
    assert_eq!(events[2].param("PlivoHangupCause"), Some("Busy Line"));
    assert_eq!(events[2].param("Duration"), Some("0"));
    let record = busy.record();
    assert_eq!(record.from_display_name().as_deref(), Some("Support Desk"));
    assert_eq!(
        record.x_ph_headers(),
        [
            ("x-ph-ticket".to_owned(), "42".to_owned()),
            ("x-ph-tier".to_owned(), "gold".to_owned())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dials_beyond_max_cps_are_queued_and_spread_at_the_configured_rate() {
    let (_app, chorus) = start(&[("CHORUS_SIP__MAX_CPS", "2")]).await;
    let mut callees = Vec::new();
    for _ in 0..4 {
        callees.push(Callee::listen(CalleeOptions::decline(486)).await.unwrap());
    }
    let to: Vec<String> = callees.iter().map(Callee::uri).collect();
    let added = accepted(
        &chorus,
        "paced",
        &serde_json::json!({ "role": "Agent", "from": "100", "to": to.join("<") }),
    )
    .await;
    assert_eq!(added["message"], "add participant action queued", "{added}");
    let mut invited = Vec::new();
    for callee in &callees {
        let invite = callee.wait_for_invite(Duration::from_secs(5)).await;
        assert!(invite.is_some(), "every destination is dialled in turn");
        invited.push(callee.record().invited_at.unwrap());
    }
    invited.sort();
    let gaps: Vec<Duration> = invited.windows(2).map(|p| p[1] - p[0]).collect();
    // The measurement, for whoever reads it (`--nocapture`).
    eprintln!("INVITE gaps at sip.max_cps = 2: {gaps:?}");
    for pair in invited.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(400),
            "2 calls a second: INVITEs {gap:?} apart"
        );
    }
    let spread = invited[3] - invited[0];
    assert!(
        spread >= Duration::from_millis(1400) && spread < Duration::from_millis(2500),
        "4 INVITEs at 2 a second span about 1.5 s, took {spread:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_dial_queue_refuses_with_429_and_dials_nothing() {
    let (_app, chorus) = start(&[
        ("CHORUS_SIP__MAX_CPS", "1"),
        ("CHORUS_SIP__DIAL_QUEUE", "1"),
    ])
    .await;
    let callees = [
        Callee::listen(CalleeOptions::silent()).await.unwrap(),
        Callee::listen(CalleeOptions::silent()).await.unwrap(),
        Callee::listen(CalleeOptions::silent()).await.unwrap(),
    ];
    let to = format!(
        "{}<{}<{}",
        callees[0].uri(),
        callees[1].uri(),
        callees[2].uri()
    );
    let (status, refused) = add(
        &chorus,
        "full",
        &serde_json::json!({ "role": "Agent", "from": "100", "to": to }),
    )
    .await;
    assert_eq!(status, 429, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("dial queue is full")),
        "{refused}"
    );
    for callee in &callees {
        assert!(
            callee
                .wait_for_invite(Duration::from_millis(1500))
                .await
                .is_none(),
            "a refused request dials nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_with_no_route_is_refused_naming_it() {
    let (_app, chorus) = start(&[]).await;
    let (status, refused) = add(
        &chorus,
        "support",
        &serde_json::json!({ "role": "Agent", "from": "100", "to": "15557654321" }),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("no route to \"15557654321\"")),
        "{refused}"
    );
}

/// Adds the agent at `uri` to `support` with `confirm_key` 5; its call UUID.
async fn add_with_confirm_key(chorus: &Chorusd, app: &AppServer, uri: &str) -> String {
    let (status, added) = add(
        chorus,
        "support",
        &serde_json::json!({
            "role": "Agent", "from": "15551230000", "to": uri, "confirm_key": "5",
            "call_status_callback_url": app.url("/calls"), "enter_sound": "none",
        }),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    added["calls"][0]["call_uuid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirm_key_bridges_the_callee_only_once_it_presses_that_key() {
    let (app, chorus, customer, mut agent) = desk_with_agent(&[]).await;
    let call_uuid = add_with_confirm_key(&chorus, &app, &agent.uri()).await;
    let agent_call = agent.answered(Duration::from_secs(10)).await.unwrap();

    let heard = listen(&[&customer], 300, 1000).await;
    assert!(
        heard[0].len() >= 6000,
        "the customer hears its MPC meanwhile"
    );
    assert_hears("customer, unconfirmed", &heard[0], &[], &[AGENT]);
    agent_call.send_dtmf('1').await.unwrap();
    let heard = listen(&[&customer], 300, 800).await;
    assert_hears("customer, after a wrong key", &heard[0], &[], &[AGENT]);
    agent_call.send_dtmf('5').await.unwrap();
    let heard = listen(&[&customer, &agent_call], 500, 1000).await;
    assert_hears("customer, confirmed", &heard[0], &[AGENT], &[]);
    assert_hears("agent, confirmed", &heard[1], &[CUSTOMER], &[]);
    let events = call_events(&app, &call_uuid, 3).await;
    assert_eq!(names(&events), ["Initiated", "Ringing", "Answered"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_that_never_presses_its_confirm_key_is_hung_up_with_9110() {
    // The test-only key shortens Plivo's 30 s so the suite need not wait.
    let (app, chorus, customer, mut agent) =
        desk_with_agent(&[("CHORUS_TESTING__CONFIRM_KEY_TIMEOUT_MS", "1500")]).await;
    let call_uuid = add_with_confirm_key(&chorus, &app, &agent.uri()).await;
    let agent_call = agent.answered(Duration::from_secs(10)).await.unwrap();
    let answered = Instant::now();
    assert!(
        agent_call.wait_for_bye(Duration::from_secs(5)).await,
        "BYE once the limit passes"
    );
    let waited = answered.elapsed();
    assert!(
        waited >= Duration::from_millis(1300) && waited < Duration::from_millis(3000),
        "hung up after the 1.5 s limit, took {waited:?}"
    );
    let events = call_events(&app, &call_uuid, 4).await;
    assert_eq!(
        names(&events),
        ["Initiated", "Ringing", "Answered", "Hangup"]
    );
    assert_eq!(events[3].param("PlivoHangupCauseCode"), Some("9110"));
    let heard = listen(&[&customer], 0, 500).await;
    assert!(
        heard[0].len() >= 3000,
        "the customer hears its MPC meanwhile"
    );
    assert_hears("customer", &heard[0], &[], &[AGENT]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_destination_is_cancelled_when_its_ring_timeout_passes() {
    let (app, chorus) = start(&[]).await;
    let silent = Callee::listen(CalleeOptions::silent()).await.unwrap();
    let added = accepted(
        &chorus,
        "support",
        &serde_json::json!({
            "role": "Agent", "from": "100", "to": silent.uri(), "ring_timeout": 15,
            "call_status_callback_url": app.url("/calls"),
        }),
    )
    .await;
    assert!(
        silent
            .wait_for_invite(Duration::from_secs(5))
            .await
            .is_some()
    );
    let invited = silent.record().invited_at.unwrap();
    assert!(
        silent.wait_for_cancel(Duration::from_secs(20)).await,
        "CANCEL once ring_timeout passes"
    );
    let rang = silent.record().cancelled_at.unwrap() - invited;
    assert!(
        rang >= Duration::from_millis(14_800) && rang < Duration::from_secs(17),
        "rang for the 15 s ring_timeout, took {rang:?}"
    );
    let call_uuid = added["calls"][0]["call_uuid"].as_str().unwrap();
    let events = call_events(&app, call_uuid, 3).await;
    assert_eq!(names(&events), ["Initiated", "Ringing", "Hangup"]);
    assert_eq!(events[2].param("PlivoHangupCause"), Some("No Answer"));
    let ring_time: u64 = events[2].param("RingTime").unwrap().parse().unwrap();
    assert!((14..=16).contains(&ring_time), "RingTime {ring_time}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_dial_holds_each_destination_back_and_a_winner_stops_the_rest() {
    let (_app, chorus) = start(&[]).await;
    let declines = Callee::listen(CalleeOptions::decline(603)).await.unwrap();
    let mut answers = Callee::listen(CalleeOptions::answer_with_tone(AGENT))
        .await
        .unwrap();
    let never = Callee::listen(CalleeOptions::answer_with_tone(OTHER_AGENT))
        .await
        .unwrap();
    let to = format!("{}<{}<{}", declines.uri(), answers.uri(), never.uri());
    let asked = Instant::now();
    // A new MPC name: the request creates the MPC.
    accepted(
        &chorus,
        "fresh",
        &serde_json::json!({
            "role": "Agent", "from": "100", "to": to, "delay_dial": "0<2<6",
            "ring_timeout": "20<20<20", "enter_sound": "none",
        }),
    )
    .await;
    let agent_call = answers.answered(Duration::from_secs(10)).await.unwrap();
    let first = declines.record().invited_at.expect("the first is dialled");
    let second = answers.record().invited_at.unwrap();
    assert!(first - asked < Duration::from_millis(1000), "no delay");
    let held = second - first;
    assert!(
        held >= Duration::from_millis(1900) && held < Duration::from_millis(3000),
        "delay_dial 2: the second INVITE {held:?} after the first"
    );
    assert!(
        never
            .wait_for_invite(Duration::from_secs(6))
            .await
            .is_none(),
        "answered before its 6 s delay: the third is never dialled"
    );
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let mpc = sdk.run(&["get", "fresh"]).await;
    assert_eq!(mpc["friendly_name"], "fresh", "{mpc}");
    let members = sdk.run(&["members", "fresh"]).await;
    assert_eq!(
        members["objects"].as_array().map(Vec::len),
        Some(1),
        "{members}"
    );
    agent_call.hangup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialled_participant_that_leaves_runs_its_on_exit_action_url_document() {
    let (app, chorus, _customer, mut agent) = desk_with_agent(&[]).await;
    app.set_route(
        "/exit",
        Reply::xml(r#"<Response><Wait length="1"/></Response>"#),
    );
    let added = accepted(
        &chorus,
        "support",
        &serde_json::json!({
            "role": "Agent", "from": "15551230000", "to": agent.uri(),
            "on_exit_action_url": app.url("/exit"), "enter_sound": "none",
        }),
    )
    .await;
    let call_uuid = added["calls"][0]["call_uuid"].as_str().unwrap().to_owned();
    let agent_call = agent.answered(Duration::from_secs(10)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let members = sdk.run(&["members", "support"]).await;
    let member = members["objects"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["call_uuid"] == call_uuid.as_str()))
        .and_then(|m| m["member_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("the agent is a member: {members}"));
    sdk.run(&["kick", "support", &member]).await;
    assert!(
        !agent_call.wait_for_bye(Duration::from_millis(700)).await,
        "not hung up while its exit document runs"
    );
    let exits = app.requests_to("/exit");
    assert_eq!(exits.len(), 1, "the exit document was fetched once");
    assert_eq!(exits[0].param("CallUUID"), Some(call_uuid.as_str()));
    assert_eq!(exits[0].param("Direction"), Some("outbound"));
    assert_eq!(exits[0].param("From"), Some("15551230000"));
    assert!(
        agent_call.wait_for_bye(Duration::from_secs(3)).await,
        "BYE once the document (a 1 s <Wait>) runs out"
    );
}

/// The call UUIDs chorus gave its inbound calls so far, in arrival order
/// (from the answer URL's requests).
fn inbound_call_uuids(app: &AppServer) -> Vec<String> {
    app.requests_to("/answer")
        .iter()
        .filter_map(|r| r.param("CallUUID").map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_uuid_transfers_a_waiting_call_into_an_mpc_and_out_of_it_again() {
    let app = AppServer::start(vec![
        (
            "/answer".to_owned(),
            Reply::xml(r#"<Response><Wait length="60"/></Response>"#),
        ),
        ("/status".to_owned(), Reply::status(200)),
    ])
    .await;
    let chorus = start_with_settings(&app.url("/answer"), &[SEND_SILENCE]).await;
    let customer = dial(chorus.sip_addr(), "lobby", DialOptions::with_tone(CUSTOMER))
        .await
        .unwrap();
    let agent = dial(chorus.sip_addr(), "lobby", DialOptions::with_tone(AGENT))
        .await
        .unwrap();
    let uuids = inbound_call_uuids(&app);
    assert_eq!(uuids.len(), 2, "both calls fetched their answer URL");
    let heard = listen(&[&customer, &agent], 200, 600).await;
    assert_hears("customer, waiting", &heard[0], &[], &[AGENT]);

    let transfer = |call_uuid: &str, role: &str, mpc: &str| {
        let body = serde_json::json!({
            "role": role, "call_uuid": call_uuid, "enter_sound": "none",
            "stay_alone": true, "status_callback_url": app.url("/status"),
            "status_callback_events": "participant-state-changes",
        });
        let (chorus, mpc) = (&chorus, mpc.to_owned());
        async move { add(chorus, &mpc, &body).await }
    };
    let (status, moved) = transfer(&uuids[0], "Customer", "room").await;
    assert_eq!(status, 201, "{moved}");
    assert_eq!(moved["message"], "add participant action initiated");
    assert_eq!(moved["calls"][0]["call_uuid"], uuids[0].as_str());
    assert_eq!(
        moved["calls"][0]["to"], "lobby",
        "the call's own To: {moved}"
    );
    let (status, moved) = transfer(&uuids[1], "Agent", "room").await;
    assert_eq!(status, 201, "{moved}");
    let heard = listen(&[&customer, &agent], 500, 1000).await;
    assert_hears("customer, in room", &heard[0], &[AGENT], &[CUSTOMER]);
    assert_hears("agent, in room", &heard[1], &[CUSTOMER], &[AGENT]);

    // Out of one MPC into another: the first says why it left.
    let (status, moved) = transfer(&uuids[0], "Customer", "elsewhere").await;
    assert_eq!(status, 201, "{moved}");
    let heard = listen(&[&customer, &agent], 500, 1000).await;
    assert!(heard[1].len() >= 6000, "the agent still hears its MPC");
    assert_hears("agent, customer gone", &heard[1], &[], &[CUSTOMER]);
    let exits: Vec<_> = app
        .requests_to("/status")
        .into_iter()
        .filter(|r| r.param("EventName") == Some("ParticipantExit"))
        .collect();
    assert!(
        exits.iter().any(|r| r.param("ParticipantExitCause")
            == Some("Participant Call Transferred")
            && r.param("ParticipantCallUUID") == Some(uuids[0].as_str())),
        "the customer left room as transferred: {:?}",
        exits.iter().map(|r| r.params.clone()).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_digits_are_pressed_to_the_callee_once_it_is_in_the_mpc() {
    let (_app, chorus, _customer, mut ivr) = desk_with_agent(&[]).await;
    accepted(
        &chorus,
        "support",
        &serde_json::json!({
            "role": "Agent", "from": "100", "to": ivr.uri(), "send_digits": "1w2#",
            "enter_sound": "none",
        }),
    )
    .await;
    let call = ivr.answered(Duration::from_secs(10)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while call.received_digits().len() < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        call.received_digits(),
        ['1', '2', '#'],
        "as RFC 4733 events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_participant_api_events_tell_the_mpc_when_a_request_starts_and_is_done() {
    let (app, chorus) = start(&[]).await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="customer" enterSound="none" stayAlone="true" statusCallbackUrl="{}" statusCallbackEvents="add-participant-api-events,participant-state-changes">support</MultiPartyCall></Response>"#,
            app.url("/status")
        )),
    );
    app.set_route("/status", Reply::status(200));
    let _customer = customer_calls_in(&chorus).await;
    let mut agent = Callee::listen(CalleeOptions::answer_with_tone(AGENT))
        .await
        .unwrap();
    let busy = Callee::listen(CalleeOptions::decline(486)).await.unwrap();
    let body = |to: String| serde_json::json!({ "role": "Agent", "from": "100", "to": to });
    let (status, _) = add(&chorus, "support", &body(agent.uri())).await;
    assert_eq!(status, 201);
    let _agent_call = agent.answered(Duration::from_secs(10)).await.unwrap();
    let events = |count: usize| {
        let app = &app;
        async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let seen: Vec<(String, Option<String>)> = app
                    .requests_to("/status")
                    .iter()
                    .map(|r| {
                        let name = r.param("EventName").unwrap_or("?").to_owned();
                        (name, r.param("MemberID").map(str::to_owned))
                    })
                    .collect();
                if seen.len() >= count || Instant::now() > deadline {
                    return seen;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let seen = events(4).await;
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ParticipantJoin",
            "AddParticipantByAPIActionInitiated",
            "ParticipantJoin",
            "AddParticipantByAPIActionCompleted"
        ],
        "the customer, then the request, the agent joining, the request done"
    );
    assert_eq!(
        seen[3].1, seen[2].1,
        "Completed names the member it brought: {seen:?}"
    );

    let (status, _) = add(&chorus, "support", &body(busy.uri())).await;
    assert_eq!(status, 201);
    let seen = events(6).await;
    let names: Vec<&str> = seen[4..].iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "AddParticipantByAPIActionInitiated",
            "AddParticipantByAPIActionCompleted"
        ]
    );
    assert_eq!(seen[5].1, None, "nobody joined: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialled_agent_re_invites_to_hold_and_back_while_in_the_mpc() {
    let (_app, chorus, customer, mut agent) = desk_with_agent(&[]).await;
    let body = serde_json::json!({
        "role": "Agent", "from": "100", "to": agent.uri(), "enter_sound": "none",
    });
    let (status, added) = add(&chorus, "support", &body).await;
    assert_eq!(status, 201, "{added}");
    let agent_call = agent.answered(Duration::from_secs(10)).await.unwrap();
    let heard = listen(&[&customer], 500, 800).await;
    assert_hears("customer, before", &heard[0], &[AGENT], &[]);

    // The callee's own re-INVITE: chorus answers it from the MPC.
    let (status, sdp) = agent_call.reinvite("inactive").await.unwrap();
    assert_eq!(status, 200);
    assert!(sdp.contains("a=inactive"), "{sdp}");
    let heard = listen(&[&customer], 300, 800).await;
    assert!(heard[0].len() >= 4000, "the customer still hears its MPC");
    assert_hears("customer, agent inactive", &heard[0], &[], &[AGENT]);
    let (status, sdp) = agent_call.reinvite("sendrecv").await.unwrap();
    assert_eq!(status, 200);
    assert!(sdp.contains("a=sendrecv"), "{sdp}");
    let heard = listen(&[&customer], 300, 800).await;
    assert_hears("customer, agent back", &heard[0], &[AGENT], &[]);
}
