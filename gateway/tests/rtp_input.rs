//! Hostile RTP input: junk and RTCP from the caller's own address, and a
//! stranger's stream (and junk) aimed at a live leg's port, are dropped and
//! counted; the room goes on, and the leg stays with the real caller.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use chorus_media::g711::Law;
use chorus_media::rtp::RtpWriter;
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::tone::{ToneGenerator, assert_hears};
use common::{let_media_flow, start_builtin, wait_for_metric};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_and_foreign_rtp_are_dropped_and_the_room_keeps_mixing() {
    let mut chorus = start_builtin().await;
    let a = dial(chorus.sip_addr(), "noisy", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let b = dial(chorus.sip_addr(), "noisy", DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let_media_flow(400).await; // chorus latches to a's real source first
    let target = a.negotiated().remote_rtp;

    // A stranger streams 1700 Hz at a's leg, mixed with garbage and RTCP;
    // a's own socket sends the same garbage and RTCP.
    let junk: [&[u8]; 4] = [
        &[0xff; 7],
        &[0x00; 40],
        &[0x81, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], // RTCP SR
        &[0x80, 0x00, 0x00],
    ];
    let attacker = std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut writer = RtpWriter::new(0xbad, 1, 1);
        let mut tone = ToneGenerator::new(1700.0, 8000, -3.0);
        let (mut pcm, mut ulaw, mut packet) = ([0i16; 160], [0u8; 160], [0u8; 200]);
        let end = Instant::now() + Duration::from_secs(2);
        let mut k = 0;
        while Instant::now() < end {
            tone.fill(&mut pcm);
            Law::Ulaw.encode(&pcm, &mut ulaw);
            let len = writer.write(0, false, &ulaw, 160, &mut packet).unwrap();
            let _ = socket.send_to(&packet[..len], target);
            let _ = socket.send_to(junk[k % junk.len()], target);
            k += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let since = Instant::now();
    for k in 0..90 {
        a.send_raw_rtp(junk[k % junk.len()]).unwrap();
        let_media_flow(20).await;
    }
    attacker.join().unwrap();
    assert_hears(
        "b during the attack",
        &b.received_audio_since(since),
        &[400.0],
        &[700.0, 1700.0],
    );
    assert_hears(
        "a during the attack",
        &a.received_audio_since(since),
        &[700.0],
        &[400.0, 1700.0],
    );
    assert!(chorus.is_running());
    a.hangup().await.unwrap();
    b.hangup().await.unwrap();
    // Each leg's counters are added to the RTP metrics when it is released
    // (just after the 200 to BYE): what the attacker sent was dropped as
    // foreign before it was parsed; a's junk and RTCP as what they are.
    wait_for_metric(&chorus, "chorus_calls_active", 0.0).await;
    let metrics = chorus.metrics().await;
    let rtp =
        |outcome: &str| metrics[&format!("chorus_rtp_packets_total{{outcome=\"{outcome}\"}}")];
    assert!(rtp("foreign") >= 100.0, "{metrics:#?}");
    assert!(rtp("malformed") >= 25.0, "{metrics:#?}");
    assert!(rtp("rtcp") >= 10.0, "{metrics:#?}");
    assert!(
        rtp("received") >= 100.0,
        "both phones' own RTP: {metrics:#?}"
    );
    chorus.stop().await;
}
