//! Coach mode changed through the API (Plivo's Python SDK), proved by what
//! the customer hears and by the status callbacks: a coaching supervisor
//! is heard by the agent only; out of coach mode, by everyone.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN};
use chorus_tests::http::AppServer;
use chorus_tests::plivo_sdk::Sdk;
use chorus_tests::tone::assert_hears;
use common::{join_mpc, listen, start_with_answer_url};

const CUSTOMER: f32 = 400.0;
const AGENT: f32 = 700.0;
const SUPERVISOR: f32 = 1100.0;

/// Waits until the app has had `count` status callbacks named `event`.
async fn status_events(app: &AppServer, event: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let seen = app
            .requests_to("/status")
            .iter()
            .filter(|r| r.param("EventName") == Some(event))
            .count();
        if seen >= count {
            return;
        }
        assert!(Instant::now() < deadline, "{count} × {event}: saw {seen}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coach_mode_set_through_the_sdk_decides_whether_the_customer_hears_the_supervisor() {
    let app = AppServer::start(vec![(
        "/status".to_owned(),
        chorus_tests::http::Reply::status(200),
    )])
    .await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let events = format!(
        r#"statusCallbackUrl="{}" statusCallbackEvents="participant-state-changes""#,
        app.url("/status")
    );
    let join = |role: &str, tone: f32| {
        let attributes = format!(r#"role="{role}" {events}"#);
        let (app, chorus) = (&app, &chorus);
        async move { join_mpc(app, chorus, "coached", &attributes, Some(tone)).await }
    };
    let customer = join("customer", CUSTOMER).await;
    let agent = join("agent", AGENT).await;
    let supervisor = join("supervisor", SUPERVISOR).await;
    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let calls = [&customer, &agent, &supervisor];

    // Supervisors join coaching (Plivo's default): only the agent hears them.
    let heard = listen(&calls, 400, 1000).await;
    assert_hears("customer, coached", &heard[0], &[AGENT], &[SUPERVISOR]);
    assert_hears("agent, coached", &heard[1], &[CUSTOMER, SUPERVISOR], &[]);

    let off = sdk
        .run(&["update", "coached", "3", "coach_mode=false"])
        .await;
    assert_eq!(
        off["coach_mode"], "MPC: coached coach_mode enable/disable succeeded",
        "Plivo's acknowledgement, one per changed setting: {off}"
    );
    assert!(off.get("mute").is_none(), "{off}");
    let member = sdk.run(&["member", "coached", "3"]).await;
    assert_eq!(member["coach_mode"], false, "{member}");
    status_events(&app, "ParticipantCoachModeStop", 1).await;
    let heard = listen(&calls, 400, 1000).await;
    assert_hears(
        "customer, coach mode off",
        &heard[0],
        &[AGENT, SUPERVISOR],
        &[],
    );

    let on = sdk
        .run(&["update", "coached", "3", "coach_mode=true"])
        .await;
    assert!(on.get("exception").is_none(), "{on}");
    let member = sdk.run(&["member", "coached", "3"]).await;
    assert_eq!(member["coach_mode"], true, "{member}");
    status_events(&app, "ParticipantCoachModeStart", 1).await;
    let heard = listen(&calls, 400, 1000).await;
    assert_hears(
        "customer, coaching again",
        &heard[0],
        &[AGENT],
        &[SUPERVISOR],
    );
    assert_hears("agent, coaching again", &heard[1], &[SUPERVISOR], &[]);

    let stop = app
        .requests_to("/status")
        .into_iter()
        .find(|r| r.param("EventName") == Some("ParticipantCoachModeStop"))
        .unwrap();
    assert_eq!(stop.param("MemberID"), Some("3"));
    assert_eq!(stop.param("ParticipantRole"), Some("Supervisor"));
    chorus.stop().await;
}
