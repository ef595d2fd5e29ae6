//! What chorusd holds on to: nothing when idle, nothing after a call ends.

mod common;

use std::time::Duration;

use chorus_tests::daemon::Chorusd;
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::ports;
use common::{chorusd_bin, let_media_flow, start_builtin, wait_for_metric};

/// CPU ticks (1/100 s) chorusd may use while nothing happens for 3 s: the
/// media workers park and nothing polls, so this is normally 0.
const IDLE_TICKS: u64 = 5;

async fn idle_cpu_ticks(chorus: &Chorusd) -> u64 {
    let read = || {
        chorus
            .cpu_ticks()
            .expect("chorusd's CPU time in /proc/<pid>/stat")
    };
    let before = read();
    tokio::time::sleep(Duration::from_secs(3)).await;
    read() - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_daemon_and_an_emptied_room_cost_no_cpu() {
    let chorus = start_builtin().await;
    let idle = idle_cpu_ticks(&chorus).await;
    assert!(idle <= IDLE_TICKS, "idle chorusd used {idle} ticks in 3 s");

    let a = dial(chorus.sip_addr(), "busy", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let b = dial(chorus.sip_addr(), "busy", DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let_media_flow(1000).await;
    a.hangup().await.unwrap();
    b.hangup().await.unwrap();
    let_media_flow(300).await;
    let after = idle_cpu_ticks(&chorus).await;
    assert!(
        after <= IDLE_TICKS,
        "chorusd used {after} ticks in 3 s after its last call ended"
    );
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtp_ports_are_released_when_calls_end() {
    // Two usable (even) ports: a leaked port would make the third call
    // fail with 503.
    let (min, max) = ports::udp_range(4);
    let chorus = Chorusd::start(
        chorusd_bin(),
        &[
            ("CHORUS_RTP__PORT_MIN", &min.to_string()),
            ("CHORUS_RTP__PORT_MAX", &max.to_string()),
        ],
    )
    .await;
    for round in 0..5 {
        let a = dial(chorus.sip_addr(), "ports", DialOptions::with_tone(400.0))
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}\n{}", chorus.log()));
        let b = dial(chorus.sip_addr(), "ports", DialOptions::default())
            .await
            .unwrap();
        assert_eq!(a.hangup().await.unwrap(), 200);
        assert_eq!(b.hangup().await.unwrap(), 200);
        // The 200 to BYE goes out before the call task drops its leg; a
        // call leaves the active count once it has.
        wait_for_metric(&chorus, "chorus_calls_active", 0.0).await;
        let total = chorus.metrics().await["chorus_calls_total"];
        assert_eq!(total, f64::from(2 * (round + 1)), "round {round}");
    }
    // Both ports taken: the next caller is told, not hung.
    let _a = dial(chorus.sip_addr(), "full", DialOptions::default())
        .await
        .unwrap();
    let _b = dial(chorus.sip_addr(), "full", DialOptions::default())
        .await
        .unwrap();
    match dial(chorus.sip_addr(), "full", DialOptions::default()).await {
        Err(chorus_tests::phone::PhoneError::Rejected { status, .. }) => assert_eq!(status, 503),
        other => panic!(
            "expected 503 with all ports in use, got {:?}",
            other.map(|_| ())
        ),
    }
    chorus.stop().await;
}
