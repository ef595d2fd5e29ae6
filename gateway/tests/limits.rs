//! Bounded everything: `sip.max_calls` and the per-source INVITE rate,
//! against the real daemon over real SIP.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use chorus_tests::daemon::Chorusd;
use chorus_tests::phone::{DialOptions, PhoneError, dial};
use common::{chorusd_bin, wait_for_metric};
use tokio::net::UdpSocket;

/// A minimal INVITE (no SDP: if let in, it gets 488 at once and leaves
/// nothing behind).
fn invite(chorus: SocketAddr, call_id: &str) -> String {
    let port = chorus.port();
    format!(
        "INVITE sip:room@127.0.0.1:{port} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.2:9;branch=z9hG4bK{call_id}\r\n\
         From: <sip:flood@127.0.0.2>;tag=f\r\nTo: <sip:room@127.0.0.1:{port}>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
         Contact: <sip:flood@127.0.0.2:9>\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Sends `count` INVITEs from 127.0.0.2 as fast as it can, then collects
/// the final status of each answered one (by Call-ID) for `wait`.
async fn flood(chorus: SocketAddr, count: usize, wait: Duration) -> Vec<String> {
    let socket = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    for k in 0..count {
        let text = invite(chorus, &format!("flood-{k}"));
        socket.send_to(text.as_bytes(), chorus).await.unwrap();
    }
    let mut finals = std::collections::BTreeMap::new();
    let mut buf = vec![0u8; 65536];
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.starts_with("SIP/2.0 1") {
            continue;
        }
        let call_id = text
            .lines()
            .find_map(|l| l.strip_prefix("Call-ID: "))
            .unwrap_or("")
            .to_owned();
        finals.insert(call_id, text);
    }
    finals.into_values().collect()
}

fn status(response: &str) -> &str {
    response.get(8..11).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_calls_refuses_with_503_and_retry_after_until_a_place_is_free() {
    let chorus = Chorusd::start(chorusd_bin(), &[("CHORUS_SIP__MAX_CALLS", "2")]).await;
    let addr = chorus.sip_addr();
    let a = dial(addr, "cap", DialOptions::default()).await.unwrap();
    let _b = dial(addr, "cap", DialOptions::default()).await.unwrap();
    match dial(addr, "cap", DialOptions::default()).await {
        Err(PhoneError::Rejected { status, .. }) => assert_eq!(status, 503),
        other => panic!("a third call got {:?}", other.map(|_| "answered")),
    }
    let refused = flood(addr, 1, Duration::from_secs(1)).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(status(&refused[0]), "503", "{}", refused[0]);
    assert!(refused[0].contains("Retry-After: 5\r\n"), "{}", refused[0]);
    wait_for_metric(
        &chorus,
        "chorus_sip_rejected_total{reason=\"over_capacity\"}",
        2.0,
    )
    .await;
    assert_eq!(a.hangup().await.unwrap(), 200);
    wait_for_metric(&chorus, "chorus_calls_active", 1.0).await;
    let c = dial(addr, "cap", DialOptions::default())
        .await
        .expect("a freed place is taken");
    assert_eq!(c.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_flood_from_one_source_is_held_to_its_rate_while_others_get_in() {
    let chorus = Chorusd::start(chorusd_bin(), &[("CHORUS_SIP__INVITE_RATE", "5")]).await;
    let addr = chorus.sip_addr();
    let flooding = tokio::spawn(flood(addr, 40, Duration::from_secs(2)));
    // Another source calls during the flood and gets in.
    let call = dial(addr, "rated", DialOptions::default())
        .await
        .expect("a caller from another address is not limited");
    let finals = flooding.await.unwrap();
    assert_eq!(finals.len(), 40, "every INVITE is answered");
    let limited: Vec<_> = finals.iter().filter(|r| status(r) == "503").collect();
    let let_in = finals.iter().filter(|r| status(r) == "488").count();
    assert!(
        (5..=7).contains(&let_in),
        "a burst of 5 (and what refilled meanwhile) got in, not {let_in}"
    );
    assert_eq!(limited.len() + let_in, 40);
    assert!(limited.iter().all(|r| r.contains("Retry-After: 5\r\n")));
    let metrics = chorus.metrics().await;
    assert_eq!(
        metrics["chorus_sip_rejected_total{reason=\"rate_limited\"}"],
        limited.len() as f64
    );
    assert_eq!(call.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_drop_mode_a_flood_over_the_rate_gets_no_answer() {
    let chorus = Chorusd::start(
        chorusd_bin(),
        &[
            ("CHORUS_SIP__INVITE_RATE", "5"),
            ("CHORUS_SIP__RATE_LIMIT_ACTION", "drop"),
        ],
    )
    .await;
    let finals = flood(chorus.sip_addr(), 40, Duration::from_secs(1)).await;
    assert!(
        (5..=7).contains(&finals.len()) && finals.iter().all(|r| status(r) == "488"),
        "only the let-in burst is answered: {finals:?}"
    );
    let log = chorus.log();
    let lines = log.matches("reason=\"rate_limited\"").count();
    assert!(
        (1..=3).contains(&lines),
        "{lines} log lines for ~34 refusals: held back, not one per INVITE"
    );
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_from_outside_the_trusted_sources_gets_403_and_nothing_else() {
    // Trust only 127.0.0.1: the flood helper sends from 127.0.0.2.
    let chorus = Chorusd::start(
        chorusd_bin(),
        &[("CHORUS_SIP__TRUSTED_SOURCES", "127.0.0.1/32, ::1")],
    )
    .await;
    let addr = chorus.sip_addr();
    let refused = flood(addr, 3, Duration::from_secs(1)).await;
    assert_eq!(refused.len(), 3, "every INVITE is answered");
    for response in &refused {
        assert_eq!(status(response), "403", "{response}");
    }
    wait_for_metric(
        &chorus,
        "chorus_sip_rejected_total{reason=\"untrusted_source\"}",
        3.0,
    )
    .await;
    assert!(chorus.log().contains("untrusted_source"));
    // A trusted phone still gets in.
    let phone = dial(addr, "door", DialOptions::default()).await.unwrap();
    assert_eq!(phone.hangup().await.unwrap(), 200);
    chorus.stop().await;
}
