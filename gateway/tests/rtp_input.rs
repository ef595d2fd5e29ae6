//! Hostile RTP input: junk, RTCP and a stranger's stream aimed at a live
//! leg's port are dropped; the room goes on, and symmetric RTP stays latched
//! to the real caller.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use chorus_media::g711::Law;
use chorus_media::rtp::RtpWriter;
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::tone::{ToneGenerator, assert_hears};
use common::{let_media_flow, start_builtin};

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

    // A stranger streams 1700 Hz at a's leg, mixed with garbage and RTCP.
    let attacker = std::thread::spawn(move || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut writer = RtpWriter::new(0xbad, 1, 1);
        let mut tone = ToneGenerator::new(1700.0, 8000, -3.0);
        let (mut pcm, mut ulaw, mut packet) = ([0i16; 160], [0u8; 160], [0u8; 200]);
        let junk: [&[u8]; 4] = [
            &[0xff; 7],
            &[0x00; 40],
            &[0x81, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], // RTCP SR
            &[0x80, 0x00, 0x00],
        ];
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
    let_media_flow(1800).await;
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
    // The leg's counters, logged when it is released (just after the 200 to
    // BYE), show what was dropped.
    let deadline = Instant::now() + Duration::from_secs(3);
    while chorus.log().matches("leg released").count() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = chorus.log();
    let attacked = log
        .lines()
        .filter(|l| l.contains("leg released"))
        .find(|l| counter(l, "foreign") > 0)
        .unwrap_or_else(|| panic!("no leg counted foreign packets:\n{log}"));
    assert!(counter(attacked, "foreign") >= 50, "{attacked}");
    assert!(counter(attacked, "malformed") >= 25, "{attacked}");
    assert!(counter(attacked, "rtcp") >= 10, "{attacked}");
    chorus.stop().await;
}

/// Reads `name: N` from a logged `LegCounters { .. }`.
fn counter(line: &str, name: &str) -> u64 {
    line.split(&format!("{name}: "))
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
