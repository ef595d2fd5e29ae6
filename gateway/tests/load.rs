//! The load generator against the real chorusd, for a few seconds at a
//! small load: every leg set up, no packet lost, nothing late, and every
//! checked leg hearing exactly its room (its room's other tones, no other
//! room's). Timings are the benchmark's business (`bench/capacity`); this
//! test asserts only what must hold at any speed.

mod common;

use std::time::Duration;

use chorus_load::run::{Options, run};
use chorus_load::target::sip::{Codec, Sip};
use common::start_builtin;

#[tokio::test(flavor = "multi_thread")]
async fn a_small_load_loses_nothing_and_every_leg_hears_exactly_its_room() {
    let chorusd = start_builtin().await;
    let (sip, pid, metrics) = (chorusd.sip_addr(), chorusd.pid(), chorusd.metrics_addr());
    let report = tokio::task::spawn_blocking(move || {
        let mut target = Sip::new(sip, Codec::Pcmu, "loadtest").expect("SIP socket");
        let options = Options {
            legs: 24,
            room_size: 4,
            cps: 20.0,
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(4),
            threads: 2,
            // Every room is checked by tone.
            check: 24,
            server_pid: Some(pid),
            metrics,
            ..Options::default()
        };
        run(&mut target, &options).expect("the load runs")
    })
    .await
    .expect("the load thread");
    println!("{}", report.table());
    assert_eq!(report.setup.ok, 24, "{:?}", report.setup.errors);
    assert_eq!(report.ended_by_server, 0);
    assert!(report.media.received > 24 * 150, "{:?}", report.media);
    assert_eq!(report.media.lost, 0, "{:?}", report.media);
    assert_eq!(report.media.deaf_legs, 0);
    assert_eq!(report.checked, 24);
    assert_eq!(report.correct, 24, "{:#?}", report.wrong);
    assert!(report.latency_ms.samples > 0, "no onset was timed");
    let media = report.server.media.expect("chorusd's metrics were read");
    assert!(media.ticks > 0.0);
    assert_eq!(report.teardown_unanswered, 0);
}
