//! No immortal calls: a caller that stops sending media without a BYE (a
//! crashed phone, an expired NAT binding, a scanner) is hung up after
//! `media.rtp_timeout` (`media.rtp_hold_timeout` while on hold), and a
//! flood of such calls leaves nothing behind.

mod common;

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::time::{Duration, Instant};

use chorus_tests::daemon::Chorusd;
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::ports;
use chorus_tests::tone::assert_hears;
use common::{chorusd_bin, wait_for_metric};
use tokio::net::UdpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_caller_is_hung_up_after_the_rtp_timeout_and_the_room_goes_on() {
    let chorus = Chorusd::start(
        chorusd_bin(),
        &[
            ("CHORUS_MEDIA__RTP_TIMEOUT", "2"),
            ("CHORUS_MEDIA__RTP_HOLD_TIMEOUT", "5"),
        ],
    )
    .await;
    let addr = chorus.sip_addr();
    let gone = dial(addr, "vanish", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let stays = dial(addr, "vanish", DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let held = dial(addr, "vanish", DialOptions::with_tone(1100.0))
        .await
        .unwrap();
    let (status, _) = held.reinvite("inactive").await.unwrap();
    assert_eq!(status, 200, "on hold: the phone stops sending");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let vanished = Instant::now();
    gone.vanish();

    assert!(gone.wait_for_bye(Duration::from_secs(4)).await, "hung up");
    let after = vanished.elapsed();
    assert!(
        after >= Duration::from_millis(1800) && after < Duration::from_secs(4),
        "after the 2 s RTP timeout, not {after:?}"
    );
    assert!(!stays.got_bye(), "a caller that sends stays");
    assert!(!held.got_bye(), "a held call gets the hold timeout");
    assert!(
        held.wait_for_bye(Duration::from_secs(4)).await,
        "then it is hung up too"
    );
    assert!(!stays.got_bye());
    let log = chorus.log();
    assert!(
        log.contains("why=\"rtp_timeout\"") && log.contains("on_hold=true"),
        "a clear cause in the log"
    );
    wait_for_metric(&chorus, "chorus_calls_active", 1.0).await;
    assert_eq!(stays.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

/// A caller that sends an INVITE, ACKs the 200 and is never heard from
/// again. Returns whether it was answered.
async fn abandon(socket: &UdpSocket, chorus: SocketAddr, k: usize) -> bool {
    let media = "127.0.0.2:9"; // nobody: chorus's RTP to it goes nowhere
    let (ip, port) = media.split_once(':').unwrap();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    let local = socket.local_addr().unwrap();
    let head = |method: &str, branch: &str, to_tag: &str| {
        format!(
            "{method} sip:room{k}@{chorus} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch}\r\n\
             From: <sip:scan@{local}>;tag=s{k}\r\nTo: <sip:room{k}@{chorus}>{to_tag}\r\n\
             Call-ID: abandoned-{k}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n\
             Contact: <sip:scan@{local}>\r\n"
        )
    };
    let invite = format!(
        "{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        head("INVITE", &format!("inv{k}"), ""),
        sdp.len()
    );
    socket.send_to(invite.as_bytes(), chorus).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let call_id = format!("Call-ID: abandoned-{k}\r\n");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while let Ok(Ok((n, _))) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]);
        if !text.starts_with("SIP/2.0 200") || !text.contains(&call_id) {
            continue;
        }
        let tag = text
            .lines()
            .find(|l| l.starts_with("To:"))
            .and_then(|l| l.split_once(";tag="))
            .map(|(_, t)| t.trim().to_owned())
            .unwrap_or_default();
        let ack = format!(
            "{}Content-Length: 0\r\n\r\n",
            head("ACK", &format!("ack{k}"), &format!(";tag={tag}"))
        );
        socket.send_to(ack.as_bytes(), chorus).await.unwrap();
        return true;
    }
    false
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_flood_of_abandoned_calls_leaves_nothing_behind() {
    const FLOOD: u16 = 120;
    let (min, max) = ports::udp_range(2 * FLOOD + 20);
    let chorus = Chorusd::start(
        chorusd_bin(),
        &[
            ("CHORUS_MEDIA__RTP_TIMEOUT", "2"),
            ("CHORUS_SIP__INVITE_RATE", "0"),
            ("CHORUS_RTP__PORT_MIN", &min.to_string()),
            ("CHORUS_RTP__PORT_MAX", &max.to_string()),
        ],
    )
    .await;
    let addr = chorus.sip_addr();
    // A baseline after one call has come and gone (the allocator and the
    // workers have warmed up).
    let warm = dial(addr, "warm", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    warm.hangup().await.unwrap();
    wait_for_metric(&chorus, "chorus_calls_active", 0.0).await;
    let baseline = rss_kb(chorus.pid());

    let talker = dial(addr, "live", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let scanner = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let flooding = tokio::spawn(async move {
        let mut answered = 0;
        for k in 0..FLOOD {
            answered += u16::from(abandon(&scanner, addr, k.into()).await);
        }
        (answered, scanner)
    });
    // A real caller during the flood gets in, and the live call hears
    // cleanly while the flood's calls are up.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let joiner = dial(addr, "live", DialOptions::with_tone(700.0))
        .await
        .expect("a live call during the flood");
    let since = Instant::now() + Duration::from_millis(200);
    let (answered, scanner) = flooding.await.unwrap();
    assert_eq!(answered, FLOOD, "every abandoned call was answered");
    let peak = chorus.metrics().await["chorus_calls_active"];
    assert!(peak >= 100.0, "the flood's calls were up: {peak}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_hears(
        "the talker",
        &talker.received_audio_since(since),
        &[700.0],
        &[400.0],
    );
    assert_hears(
        "the joiner",
        &joiner.received_audio_since(since),
        &[400.0],
        &[700.0],
    );
    assert_eq!(talker.hangup().await.unwrap(), 200);
    assert_eq!(joiner.hangup().await.unwrap(), 200);

    all_gone(&chorus).await;
    // Every RTP port of the range is free again.
    let mut taken = Vec::new();
    for port in (min..=max).filter(|p| p % 2 == 0) {
        if StdUdpSocket::bind(("127.0.0.1", port)).is_err() {
            taken.push(port);
        }
    }
    assert!(taken.is_empty(), "ports still held: {taken:?}");
    // Memory: what the calls used is freed and used again, not added to.
    // glibc keeps freed heap for reuse rather than give it back, so the
    // first flood's high-water mark stays in RSS, and the second adds a
    // little (allocator arenas settling); a third flood as big must then
    // leave the daemon about as big as the second did.
    let mut after = vec![rss_kb(chorus.pid())];
    for round in 1..3 {
        for k in round * FLOOD..(round + 1) * FLOOD {
            assert!(abandon(&scanner, addr, k.into()).await);
        }
        all_gone(&chorus).await;
        after.push(rss_kb(chorus.pid()));
    }
    // The figures, for notes: `cargo test -p chorus-gateway --test
    // abandoned_calls flood -- --nocapture`.
    eprintln!("RSS {baseline} kB before the floods, {after:?} kB after each");
    assert!(
        after[0] <= baseline + 32 * 1024 && after[2] <= after[1] + 3 * 1024,
        "RSS {baseline} kB before, then after each flood of {FLOOD} abandoned calls: {after:?} kB"
    );
    let log = chorus.log();
    assert!(log.matches("why=\"rtp_timeout\"").count() >= usize::from(3 * FLOOD));
    chorus.stop().await;
}

/// Waits for the RTP timeout, then the BYEs' own wait for an answer that
/// never comes, to end every call and MPC.
async fn all_gone(chorus: &Chorusd) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = chorus.metrics().await;
        if metrics["chorus_calls_active"] == 0.0 && metrics["chorus_mpcs_active"] == 0.0 {
            return;
        }
        assert!(Instant::now() < deadline, "calls left: {metrics:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
