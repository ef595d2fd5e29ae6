//! A digit whose RFC 4733 end packets are all lost is still reported, once,
//! shortly after its packets stop: the application gets its
//! ParticipantDigitInput without waiting for the caller's next digit.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{DialOptions, dial};
use common::{let_media_flow, mpc_document, start_with_answer_url};

/// How soon after the event's last packet the application must hear of it:
/// chorus waits 250 ms of silence of the event, the rest is the callback's
/// trip, with room for a machine busy building.
const REPORTED_WITHIN: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digit_whose_end_packets_are_lost_is_reported_once_in_time() {
    let app = AppServer::start(vec![("/cb".to_owned(), Reply::status(200))]).await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let attributes = format!(
        r#"role="agent" statusCallbackUrl="{}" statusCallbackEvents="participant-digit-input-events""#,
        app.url("/cb")
    );
    app.set_route("/answer", mpc_document("lossy", &attributes));
    let call = dial(chorus.sip_addr(), "lossy", DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let_media_flow(400).await;

    call.send_dtmf_without_end('4').await.unwrap();
    let stopped = Instant::now();
    let got = app.wait_for_requests("/cb", 1, REPORTED_WITHIN).await;
    let waited = stopped.elapsed();
    assert_eq!(
        got.len(),
        1,
        "no ParticipantDigitInput within {REPORTED_WITHIN:?} of the digit's last packet\n{}",
        chorus.log()
    );
    assert_eq!(got[0].param("EventName"), Some("ParticipantDigitInput"));
    assert_eq!(got[0].param("DigitInput"), Some("4"));
    assert!(waited < REPORTED_WITHIN, "{waited:?}");

    // The next digit is complete: it is reported by itself, and the one
    // whose end was lost is not reported a second time.
    call.send_dtmf('6').await.unwrap();
    app.wait_for_requests("/cb", 2, Duration::from_secs(5))
        .await;
    let_media_flow(600).await;
    let digits: Vec<_> = app
        .requests_to("/cb")
        .iter()
        .map(|r| r.param("DigitInput").unwrap_or("?").to_owned())
        .collect();
    assert_eq!(digits, ["4", "6"]);
    assert_eq!(call.hangup().await.unwrap(), 200);
    chorus.stop().await;
}
