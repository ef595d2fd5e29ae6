//! Hostile hosts on the media plane, proven by what the participants hear:
//! one that learned a caller's port from the answer and sends first gets
//! nothing and is not heard; a caller behind NAT (its SDP names another
//! port than it sends from) is still learned; a flood aimed at a caller's
//! port costs none of the caller's own packets.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chorus_media::g711::Law;
use chorus_media::rtp::RtpWriter;
use chorus_tests::daemon::Chorusd;
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::tone::{ToneGenerator, assert_hears, presence};
use common::{let_media_flow, start_builtin, wait_for_metric};

const ALICE: f32 = 400.0;
const BOB: f32 = 700.0;
const ATTACKER: f32 = 1700.0;

/// A hostile host streaming its own tone as well-formed RTP (one SSRC,
/// sequence numbers in order) at `target`, `per_second` packets a second,
/// until stopped; it counts every datagram that comes back to it.
struct Attacker {
    stop: Arc<AtomicBool>,
    received: Arc<AtomicUsize>,
    sent: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Attacker {
    fn start(target: SocketAddr, per_second: u64) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let (s, r, n) = (stop.clone(), received.clone(), sent.clone());
        let thread = std::thread::spawn(move || {
            let mut writer = RtpWriter::new(0xbad, 1, 1);
            let mut tone = ToneGenerator::new(ATTACKER, 8000, -3.0);
            let (mut pcm, mut ulaw, mut packet) = ([0i16; 160], [0u8; 160], [0u8; 200]);
            let mut buf = [0u8; 1500];
            let start = Instant::now();
            while !s.load(Ordering::Relaxed) {
                // Catch up with the rate, in small bursts every 2 ms.
                let due = start.elapsed().as_micros() as u64 * per_second / 1_000_000;
                while (n.load(Ordering::Relaxed) as u64) < due {
                    tone.fill(&mut pcm);
                    Law::Ulaw.encode(&pcm, &mut ulaw);
                    let len = writer.write(0, false, &ulaw, 160, &mut packet).unwrap();
                    let _ = socket.send_to(&packet[..len], target);
                    n.fetch_add(1, Ordering::Relaxed);
                }
                while socket.recv(&mut buf).is_ok() {
                    r.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Self {
            stop,
            received,
            sent,
            thread: Some(thread),
        }
    }

    /// Stops sending; (datagrams sent, datagrams received).
    fn stop(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// The media workers' live count of datagrams dropped for their source.
async fn foreign_live(chorus: &Chorusd) -> f64 {
    chorus
        .metrics()
        .await
        .iter()
        .filter(|(k, _)| k.starts_with("chorus_media_foreign_datagrams_total{"))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_sends_first_to_a_callers_port_is_neither_heard_nor_fed() {
    let mut chorus = start_builtin().await;
    let bob = dial(chorus.sip_addr(), "guarded", DialOptions::with_tone(BOB))
        .await
        .unwrap();
    // Alice's phone is slow to start its RTP: the attacker, who read her
    // leg's port in the answer, gets a good 300 ms (15 packets) ahead.
    let alice_options = DialOptions {
        first_rtp_delay: Duration::from_millis(300),
        ..DialOptions::with_tone(ALICE)
    };
    let alice = dial(chorus.sip_addr(), "guarded", alice_options)
        .await
        .unwrap();
    let since = Instant::now();
    let attacker = Attacker::start(alice.negotiated().remote_rtp, 50);
    let_media_flow(1000).await;
    assert!(chorus.is_running(), "{}", chorus.log());
    let foreign_early = foreign_live(&chorus).await;
    let_media_flow(1500).await;
    let foreign_late = foreign_live(&chorus).await;
    let (sent, fed) = attacker.stop();
    assert_hears(
        "bob while the attacker sends",
        &bob.received_audio_since(since),
        &[ALICE],
        &[BOB, ATTACKER],
    );
    assert_hears(
        "alice while the attacker sends",
        &alice.received_audio_since(since),
        &[BOB],
        &[ALICE, ATTACKER],
    );
    assert_eq!(fed, 0, "the attacker received {fed} datagrams of the room");
    // Counted while the call is live, not only when the legs are released.
    assert!(
        foreign_early >= 25.0 && foreign_late >= foreign_early + 50.0,
        "live foreign count {foreign_early} then {foreign_late} ({sent} sent)"
    );
    alice.hangup().await.unwrap();
    bob.hangup().await.unwrap();
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_behind_nat_is_learned_and_hears_and_is_heard() {
    let mut chorus = start_builtin().await;
    let bob = dial(chorus.sip_addr(), "natted", DialOptions::with_tone(BOB))
        .await
        .unwrap();
    let alice_options = DialOptions {
        behind_nat: true,
        ..DialOptions::with_tone(ALICE)
    };
    let alice = dial(chorus.sip_addr(), "natted", alice_options)
        .await
        .unwrap();
    // Probation: half a second of in-sequence packets from the new source.
    let_media_flow(1000).await;
    let since = Instant::now();
    let_media_flow(1500).await;
    assert_hears("bob", &bob.received_audio_since(since), &[ALICE], &[BOB]);
    assert_hears(
        "alice, on the socket she sends from",
        &alice.received_audio_since(since),
        &[BOB],
        &[ALICE],
    );
    assert!(chorus.is_running());
    alice.hangup().await.unwrap();
    bob.hangup().await.unwrap();
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_at_a_callers_port_costs_none_of_her_packets() {
    let mut chorus = start_builtin().await;
    let alice = dial(chorus.sip_addr(), "flooded", DialOptions::with_tone(ALICE))
        .await
        .unwrap();
    let bob = dial(chorus.sip_addr(), "flooded", DialOptions::with_tone(BOB))
        .await
        .unwrap();
    let_media_flow(400).await; // alice's leg has heard her: no more learning
    let since = Instant::now();
    let flood = Attacker::start(alice.negotiated().remote_rtp, 5000);
    let_media_flow(2000).await;
    let (flooded, fed) = flood.stop();
    assert!(chorus.is_running(), "{}", chorus.log());
    let heard = bob.received_audio_since(since);
    assert_hears("bob during the flood", &heard, &[ALICE], &[BOB, ATTACKER]);
    let alice_throughout = presence(&heard, 8000, ALICE);
    assert!(
        alice_throughout >= 0.9,
        "bob heard alice in only {:.0} % of the flood",
        alice_throughout * 100.0
    );
    assert_eq!(fed, 0);
    // Every packet both phones sent reached their legs (the counters are
    // added to the metrics as each leg is released).
    let sent = alice.sent_rtp_count() + bob.sent_rtp_count();
    alice.hangup().await.unwrap();
    bob.hangup().await.unwrap();
    wait_for_metric(&chorus, "chorus_calls_active", 0.0).await;
    let metrics = chorus.metrics().await;
    let received = metrics["chorus_rtp_packets_total{outcome=\"received\"}"];
    let foreign = metrics["chorus_rtp_packets_total{outcome=\"foreign\"}"];
    assert!(
        received + 4.0 >= sent as f64,
        "chorus received {received} of the phones' {sent} packets under a flood \
         of {flooded} ({foreign} counted foreign)"
    );
    assert!(foreign >= 0.9 * flooded as f64, "{foreign} of {flooded}");
    chorus.stop().await;
}
