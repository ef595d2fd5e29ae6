//! RFC 4028 session timers against the real daemon: no call outlives a
//! peer that stopped refreshing its session, and peers without timers are
//! refreshed by chorus. Runs about a minute: 90 s is the smallest session
//! interval the RFC allows, and the caller's BYE is due at 60 s.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::daemon::Chorusd;
use chorus_tests::phone::{DialOptions, PhoneError, dial};
use common::chorusd_bin;

fn with_timer(session_expires: &str) -> DialOptions {
    DialOptions {
        extra_headers: vec![
            ("Supported".to_owned(), "timer".to_owned()),
            ("Session-Expires".to_owned(), session_expires.to_owned()),
        ],
        ..DialOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_that_are_not_refreshed_end_and_the_rest_live_on() {
    let chorus = Chorusd::start(chorusd_bin(), &[("CHORUS_SIP__SESSION_EXPIRES", "90")]).await;
    let addr = chorus.sip_addr();
    match dial(addr, "timers", with_timer("30")).await {
        Err(PhoneError::Rejected { status, .. }) => assert_eq!(status, 422, "too short"),
        other => panic!("Session-Expires: 30 got {:?}", other.map(|_| "answered")),
    }

    let start = Instant::now();
    let refreshing = dial(addr, "timers", with_timer("1800")).await.unwrap();
    let silent = dial(addr, "timers", with_timer("90")).await.unwrap();
    let no_timers = dial(addr, "timers", DialOptions::default()).await.unwrap();
    for call in [&refreshing, &silent] {
        assert_eq!(
            call.answer_header("session-expires"),
            Some("90;refresher=uac")
        );
        assert_eq!(call.answer_header("require"), Some("timer"));
    }
    assert_eq!(
        no_timers.answer_header("session-expires"),
        Some("90;refresher=uas")
    );
    assert_eq!(no_timers.answer_header("require"), None);

    // The caller that refreshes does so a third of the way in.
    tokio::time::sleep_until((start + Duration::from_secs(30)).into()).await;
    let (status, _) = refreshing.reinvite("sendrecv").await.unwrap();
    assert_eq!(status, 200);

    // The silent one is hung up at 90 s less a third: 60 s.
    assert!(
        silent.wait_for_bye(Duration::from_secs(40)).await,
        "the unrefreshed session ends"
    );
    let ended = start.elapsed();
    assert!(
        ended >= Duration::from_secs(58) && ended < Duration::from_secs(66),
        "at its session's end, not {ended:?}"
    );
    // Meanwhile chorus refreshed the caller without timers (it does not
    // allow UPDATE, so with a re-INVITE) at half the interval.
    assert!(
        no_timers.received_requests().iter().any(|m| m == "INVITE"),
        "refreshed by chorus: {:?}",
        no_timers.received_requests()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !refreshing.got_bye() && !no_timers.got_bye(),
        "both live on"
    );
    assert_eq!(refreshing.hangup().await.unwrap(), 200);
    assert_eq!(no_timers.hangup().await.unwrap(), 200);
    assert!(
        chorus
            .log()
            .contains("the caller did not refresh its session in time"),
        "a clear reason in the log"
    );
    chorus.stop().await;
}
