//! chorusd as a systemd service: it reports READY once up, pets the
//! watchdog while its media workers go round their loops, reports STOPPING
//! on SIGTERM, and exports each media worker's tick figures.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use chorus_tests::daemon::Chorusd;
use chorus_tests::peers::Scratch;
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::threads::{freeze, threads_named};
use common::{chorusd_bin, let_media_flow, wait_for_metric};

/// Every notification that arrives on `socket` within `window`.
fn notifications(socket: &UnixDatagram, window: Duration) -> Vec<String> {
    timed_notifications(socket, window)
        .into_iter()
        .map(|(_, n)| n)
        .collect()
}

/// Every notification that arrives on `socket` within `window`, with when
/// it arrived.
fn timed_notifications(socket: &UnixDatagram, window: Duration) -> Vec<(Instant, String)> {
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match socket.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]).trim_end().to_owned();
                got.push((Instant::now(), text));
            }
            Err(_) => break,
        }
    }
    got
}

/// A chorusd reporting to a notification socket in `scratch`, with a
/// watchdog of `watchdog_usec`.
async fn notifying_chorusd(scratch: &Scratch, watchdog_usec: &str) -> (Chorusd, UnixDatagram) {
    let path = scratch.path("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let chorus = Chorusd::start(
        chorusd_bin(),
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", watchdog_usec),
        ],
    )
    .await;
    (chorus, socket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_reports_ready_pets_the_watchdog_and_reports_stopping() {
    let scratch = Scratch::new("notify");
    // Pets every 500 ms.
    let (chorus, socket) = notifying_chorusd(&scratch, "1000000").await;
    // Idle: the workers park but still beat, so the watchdog is petted.
    let idle = tokio::task::block_in_place(|| notifications(&socket, Duration::from_secs(2)));
    assert_eq!(
        idle.first().map(String::as_str),
        Some("READY=1"),
        "{idle:?}"
    );
    let pets = idle.iter().filter(|n| *n == "WATCHDOG=1").count();
    assert!(pets >= 3, "petted {pets} times in 2 s while idle: {idle:?}");

    // Busy: a room ticking.
    let a = dial(chorus.sip_addr(), "svc", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let busy = tokio::task::block_in_place(|| notifications(&socket, Duration::from_secs(2)));
    let pets = busy.iter().filter(|n| *n == "WATCHDOG=1").count();
    assert!(pets >= 3, "petted {pets} times in 2 s in a call: {busy:?}");
    assert_eq!(a.hangup().await.unwrap(), 200);

    let status = chorus.stop().await;
    assert!(status.success(), "{status:?}");
    let last = notifications(&socket, Duration::from_millis(200));
    assert!(last.iter().any(|n| n == "STOPPING=1"), "{last:?}");
}

/// A media thread that stops going round its loop (held still here by
/// ptrace, as a stuck tick would) stops the watchdog's pets, so systemd
/// restarts the service; once it runs again, so do the pets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_media_thread_stops_the_watchdog_until_it_runs_again() {
    let scratch = Scratch::new("stuck");
    // Pets every 200 ms while every worker is going round its loop.
    let (chorus, socket) = notifying_chorusd(&scratch, "400000").await;
    let a = dial(chorus.sip_addr(), "stuck", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let before = tokio::task::block_in_place(|| notifications(&socket, Duration::from_secs(1)));
    assert!(
        before.iter().filter(|n| *n == "WATCHDOG=1").count() >= 3,
        "{before:?}"
    );

    let media = threads_named(chorus.pid(), "chorus-media");
    assert!(!media.is_empty(), "no media thread found");
    let frozen = freeze(media[0]).expect("hold a media thread still");
    let frozen_at = Instant::now();
    let during =
        tokio::task::block_in_place(|| timed_notifications(&socket, Duration::from_millis(3500)));
    frozen.thaw();
    let pets: Vec<Duration> = during
        .iter()
        .filter(|(_, n)| n == "WATCHDOG=1")
        .map(|(at, _)| *at - frozen_at)
        .collect();
    // A worker counts as stuck after 1.5 s of silence: pets may go on
    // until then (and one more interval), never after.
    assert!(
        pets.iter().all(|at| *at < Duration::from_millis(2000)),
        "petted while a media thread was stuck: {pets:?}"
    );
    let after = tokio::task::block_in_place(|| notifications(&socket, Duration::from_secs(1)));
    assert!(
        after.iter().filter(|n| *n == "WATCHDOG=1").count() >= 3,
        "the pets resume once the thread runs: {after:?}"
    );
    assert!(chorus.log().contains("media worker stalled"));
    assert_eq!(a.hangup().await.unwrap(), 200);
    assert!(chorus.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_media_worker_exports_its_tick_times_and_overruns() {
    let chorus = Chorusd::start(chorusd_bin(), &[("CHORUS_MEDIA__WORKERS", "2")]).await;
    let a = dial(chorus.sip_addr(), "ticks", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let_media_flow(1000).await;
    let metrics = chorus.metrics().await;
    let ticks = |w: &str| {
        metrics
            .get(&format!(
                "chorus_media_tick_seconds_count{{worker=\"{w}\"}}"
            ))
            .copied()
    };
    // One worker holds the room and ticks every 20 ms; the other is idle.
    let counts = [ticks("0"), ticks("1")];
    assert!(counts.iter().all(Option::is_some), "{metrics:#?}");
    let busiest = counts.iter().flatten().fold(0.0_f64, |a, &b| a.max(b));
    assert!(busiest >= 40.0, "{busiest} ticks counted in 1 s of a call");
    for w in ["0", "1"] {
        for name in [
            "chorus_media_tick_overruns_total",
            "chorus_media_ticks_skipped_total",
        ] {
            let key = format!("{name}{{worker=\"{w}\"}}");
            assert!(metrics.contains_key(&key), "{key} missing: {metrics:#?}");
        }
        let silence = metrics[&format!("chorus_media_worker_silence_seconds{{worker=\"{w}\"}}")];
        assert!(silence < 1.0, "worker {w} silent for {silence} s");
    }
    assert_eq!(a.hangup().await.unwrap(), 200);
    wait_for_metric(&chorus, "chorus_calls_active", 0.0).await;
    assert!(chorus.stop().await.success());
}
