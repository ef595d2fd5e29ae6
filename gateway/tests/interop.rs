//! Interop with real third-party programs: SIPp and baresip against
//! chorusd with its built-in app (as callers, and as the callees Add
//! Participant dials: SIPp's UAS, and baresip registered by name), eSpeak
//! NG saying `<Speak>` text, and strace watching the media threads. Every port (chorusd's, the peers'
//! SIP, media and control ports) is a free one.
//!
//! These tests need `sipp`, `baresip`, `tshark`, `espeak-ng` and `strace`,
//! so they are `#[ignore]`d in `cargo test --workspace` and run by the
//! interop command (`tests/interop/run`, which `.ci/run` calls) one at a
//! time.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::peers::{
    Baresip, Scratch, decode_stream, read_pcap_rtp, sipp_callee, sipp_tone_caller, start_capture,
    start_sipp, write_ulaw_tone, write_wav_tone,
};
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::ports;
use chorus_tests::threads::{FutexTrace, threads_named};
use chorus_tests::tone::assert_hears;
use common::start_builtin;

/// SIPp's three ports: SIP, media (RTP on it, RTCP above: four reserved)
/// and control.
fn sipp_ports() -> (u16, u16, u16) {
    (ports::udp_and_tcp(), ports::udp_range(4).0, ports::udp())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs sipp and tshark: run tests/interop/run"]
async fn three_sipp_callers_each_hear_exactly_the_other_two() {
    let chorus = start_builtin().await;
    let scratch = Scratch::new("sipp3");
    let sipps_ports: Vec<(u16, u16, u16)> = (0..3).map(|_| sipp_ports()).collect();
    let callers = [400.0_f32, 700.0, 1100.0]
        .into_iter()
        .zip(sipps_ports.iter().map(|p| p.1))
        .collect::<Vec<_>>();
    let capture_file = scratch.path("sipp3.pcap");
    let media_ports: Vec<u16> = callers.iter().map(|c| c.1).collect();
    let mut capture = start_capture(&capture_file, &media_ports, 14);

    let mut sipps = Vec::new();
    for (k, (hz, media_port)) in callers.iter().enumerate() {
        let tone = scratch.path(&format!("tone{hz}.ul"));
        write_ulaw_tone(&tone, *hz, 2.0);
        let scenario = sipp_tone_caller(&scratch, &format!("uac{k}"), &tone, 8000);
        let (sip_port, _, control_port) = sipps_ports[k];
        sipps.push(start_sipp(
            &scenario,
            chorus.sip_addr(),
            "room1",
            sip_port,
            *media_port,
            control_port,
            "u1",
        ));
    }
    let started = Instant::now();
    for (k, sipp) in sipps.iter_mut().enumerate() {
        let status = sipp.wait(Duration::from_secs(35));
        assert!(
            status.is_some_and(|s| s.success()),
            "sipp caller {k} failed ({status:?}) after {:?}; chorusd log:\n{}",
            started.elapsed(),
            chorus.log()
        );
    }
    capture.wait(Duration::from_secs(20));
    let packets = read_pcap_rtp(&capture_file);
    assert!(
        !packets.is_empty(),
        "tshark captured RTP to the SIPp callers"
    );
    // Listen where all three calls overlap: from 2 s after the first packet
    // to 6 s (each caller talks for 8 s and they start within a second).
    let first = packets.iter().map(|p| p.at).fold(f64::INFINITY, f64::min);
    for &(hz, port) in &callers {
        let heard = decode_stream(&packets, port, first + 2.0, first + 6.0);
        assert!(
            heard.len() > 8000,
            "caller {hz} Hz received {} samples",
            heard.len()
        );
        let others: Vec<f32> = callers.iter().map(|c| c.0).filter(|f| *f != hz).collect();
        assert_hears(&format!("sipp {hz} Hz"), &heard, &others, &[hz]);
    }
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs baresip, sipp and tshark: run tests/interop/run"]
async fn baresip_and_sipp_in_one_mpc_hear_each_other() {
    let chorus = start_builtin().await;
    let scratch = Scratch::new("baresip");
    let wav = scratch.path("tone700.wav");
    write_wav_tone(&wav, 700.0, 30.0);
    let tone = scratch.path("tone400.ul");
    write_ulaw_tone(&tone, 400.0, 2.0);
    let capture_file = scratch.path("mix.pcap");
    let (sipp_sip, sipp_media, sipp_control) = sipp_ports();
    let mut capture = start_capture(&capture_file, &[sipp_media], 14);

    let mut bob = Baresip::start(&scratch, &wav, ports::udp_and_tcp(), ports::udp_range(10));
    tokio::time::sleep(Duration::from_millis(800)).await;
    bob.peer
        .type_line(&format!("/dial sip:mix@{}", chorus.sip_addr()));
    let scenario = sipp_tone_caller(&scratch, "uac", &tone, 8000);
    let mut sipp = start_sipp(
        &scenario,
        chorus.sip_addr(),
        "mix",
        sipp_sip,
        sipp_media,
        sipp_control,
        "u1",
    );
    let status = sipp.wait(Duration::from_secs(35));
    bob.peer.type_line("/hangup");
    tokio::time::sleep(Duration::from_millis(500)).await;
    bob.peer.type_line("/quit");
    bob.peer.wait(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "sipp failed ({status:?}); baresip said:\n{}\nchorusd log:\n{}",
        bob.output(),
        chorus.log()
    );
    capture.wait(Duration::from_secs(20));

    let heard_by_bob = bob.heard();
    assert!(
        heard_by_bob.len() > 16000,
        "baresip recorded {} samples:\n{}",
        heard_by_bob.len(),
        bob.output()
    );
    assert_hears("baresip (700 Hz)", &heard_by_bob, &[400.0], &[700.0]);

    let packets = read_pcap_rtp(&capture_file);
    let first = packets.iter().map(|p| p.at).fold(f64::INFINITY, f64::min);
    let heard_by_sipp = decode_stream(&packets, sipp_media, first + 1.5, first + 7.0);
    assert!(
        heard_by_sipp.len() > 8000,
        "sipp received {} samples",
        heard_by_sipp.len()
    );
    assert_hears("sipp (400 Hz)", &heard_by_sipp, &[700.0], &[400.0]);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs sipp and tshark: run tests/interop/run"]
async fn sipp_over_tcp_and_sipp_over_udp_hear_each_other() {
    let chorus = start_builtin().await;
    let scratch = Scratch::new("tcp");
    let capture_file = scratch.path("tcp.pcap");
    let (tcp_ports, udp_ports) = (sipp_ports(), sipp_ports());
    let mut capture = start_capture(&capture_file, &[tcp_ports.1, udp_ports.1], 12);
    let mut sipps = Vec::new();
    for (k, (hz, (sip_port, media_port, control_port), transport)) in
        [(400.0_f32, tcp_ports, "t1"), (1100.0, udp_ports, "u1")]
            .into_iter()
            .enumerate()
    {
        let tone = scratch.path(&format!("tone{hz}.ul"));
        write_ulaw_tone(&tone, hz, 2.0);
        let scenario = sipp_tone_caller(&scratch, &format!("uac{k}"), &tone, 6000);
        sipps.push(start_sipp(
            &scenario,
            chorus.sip_addr(),
            "tcp-room",
            sip_port,
            media_port,
            control_port,
            transport,
        ));
    }
    // SIPp in t1 mode speaks only TCP: its success is the TCP proof.
    for (k, sipp) in sipps.iter_mut().enumerate() {
        let status = sipp.wait(Duration::from_secs(30));
        assert!(
            status.is_some_and(|s| s.success()),
            "sipp {k} failed ({status:?}):\n{}",
            chorus.log()
        );
    }
    capture.wait(Duration::from_secs(20));
    let packets = read_pcap_rtp(&capture_file);
    let first = packets.iter().map(|p| p.at).fold(f64::INFINITY, f64::min);
    let tcp_caller = decode_stream(&packets, tcp_ports.1, first + 1.5, first + 5.0);
    let udp_caller = decode_stream(&packets, udp_ports.1, first + 1.5, first + 5.0);
    assert_hears("sipp over TCP (400 Hz)", &tcp_caller, &[1100.0], &[400.0]);
    assert_hears("sipp over UDP (1100 Hz)", &udp_caller, &[400.0], &[1100.0]);
    chorus.stop().await;
}

/// `<Speak>` is said by eSpeak NG: the caller hears speech (twice, with
/// `loop="2"`), in English and in French with a male voice, then the flow
/// goes on to `<Hangup>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs espeak-ng: run tests/interop/run"]
async fn speak_is_said_by_espeak_ng() {
    use chorus_tests::http::{AppServer, Reply};
    use chorus_tests::phone::{DialOptions, dial};

    let app = AppServer::start(vec![]).await;
    let chorus = common::start_with_answer_url(&app.url("/answer"), "POST").await;
    for (speak, min_seconds) in [
        (r#"<Speak loop="2">Welcome to chorus.</Speak>"#, 1.5),
        (
            r#"<Speak voice="MAN" language="fr-FR">Bienvenue.</Speak>"#,
            0.4,
        ),
    ] {
        app.set_route(
            "/answer",
            Reply::xml(&format!("<Response>{speak}<Hangup/></Response>")),
        );
        let started = Instant::now();
        let caller = dial(chorus.sip_addr(), "speak", DialOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", chorus.log()));
        assert!(
            caller.wait_for_bye(Duration::from_secs(15)).await,
            "{speak}: <Hangup> after the speech\n{}",
            chorus.log()
        );
        let seconds = started.elapsed().as_secs_f64();
        assert!(seconds >= min_seconds, "{speak}: over in {seconds:.2} s");
        let heard = caller.received_audio();
        // Speech: loud windows for a good part of the call.
        let loud = loud_windows(&heard);
        assert!(
            loud as f64 * 0.1 >= min_seconds * 0.5,
            "{speak}: {loud} loud windows in {:.2} s of audio",
            heard.len() as f64 / 8000.0
        );
    }
    // In a music document too: a waiting member hears the speech as wait
    // music.
    app.set_route(
        "/wait.xml",
        Reply::xml("<Response><Speak>Please hold.</Speak></Response>"),
    );
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="customer" startMpcOnEnter="false" waitMusicUrl="{}">spoken</MultiPartyCall></Response>"#,
            app.url("/wait.xml")
        )),
    );
    let waiting = dial(chorus.sip_addr(), "spoken", DialOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", chorus.log()));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let loud = loud_windows(&waiting.received_audio());
    assert!(loud >= 5, "{loud} loud windows of wait music");
    let _ = waiting.hangup().await;
    assert!(
        !chorus.log().contains("<Speak> skipped"),
        "{}",
        chorus.log()
    );
    chorus.stop().await;
}

/// How many 100 ms windows of 8 kHz audio are above −35 dBFS (speech is;
/// silence and comfort noise are far below).
fn loud_windows(pcm: &[i16]) -> usize {
    pcm.chunks_exact(800)
        .filter(|w| chorus_tests::tone::rms_dbfs(w) > -35.0)
        .count()
}

/// The media threads hand everything back through rings the control plane
/// polls: across a call's digits, speech, a leg leaving and a room closing,
/// strace sees them park (FUTEX_WAIT) but never wake another thread
/// (FUTEX_WAKE: a task woken, a channel sent on, a contended lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs strace: run tests/interop/run"]
async fn media_threads_never_wake_another_thread() {
    let chorus = common::start_builtin().await;
    let scratch = Scratch::new("futex");
    let a = dial(chorus.sip_addr(), "quiet", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let b = dial(chorus.sip_addr(), "quiet", DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let media = threads_named(chorus.pid(), "chorus-media");
    assert!(!media.is_empty(), "no media thread found");
    let file = scratch.path("futex.txt");
    let trace = tokio::task::block_in_place(|| FutexTrace::attach(chorus.pid(), &file));
    tokio::time::sleep(Duration::from_millis(500)).await;
    for digit in ['1', '2', '#'] {
        a.send_dtmf(digit).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(b.hangup().await.unwrap(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.hangup().await.unwrap(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = tokio::task::block_in_place(|| trace.finish());

    let by_media: Vec<_> = calls.iter().filter(|c| media.contains(&c.tid)).collect();
    assert!(
        by_media.iter().any(|c| !c.is_wake()),
        "the trace never saw a media thread park ({} futex calls in all)",
        calls.len()
    );
    let wakes: Vec<_> = by_media.iter().filter(|c| c.is_wake()).collect();
    assert!(
        wakes.is_empty(),
        "media threads woke other threads {} times: {wakes:?}",
        wakes.len()
    );
    assert!(chorus.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs baresip: run tests/interop/run"]
async fn baresip_registers_with_digest_credentials_and_is_then_dialled_by_name() {
    use chorus_gateway::sip::digest::ha1;
    use chorus_tests::daemon::Chorusd;
    let scratch = Scratch::new("baresip-register");
    let users = scratch.path("users");
    std::fs::write(
        &users,
        format!("alice:chorus:{}\n", ha1("alice", "chorus", "s3cret")),
    )
    .unwrap();
    let chorus = Chorusd::start(
        common::chorusd_bin(),
        &[("CHORUS_SIP__USERS_FILE", users.to_str().unwrap())],
    )
    .await;
    let wav = scratch.path("tone700.wav");
    write_wav_tone(&wav, 700.0, 30.0);
    let account = format!(
        "<sip:alice@{}>;auth_pass=s3cret;regint=120;answermode=auto;audio_codecs=PCMU",
        chorus.sip_addr()
    );
    let mut alice = Baresip::start_with_account(
        &scratch,
        &wav,
        ports::udp_and_tcp(),
        ports::udp_range(10),
        &account,
    );
    // Challenged first (401), then registered (200): both in chorusd's log.
    let deadline = Instant::now() + Duration::from_secs(10);
    let registered = |log: &str| {
        log.lines()
            .any(|l| l.contains("REGISTER") && l.contains("alice") && l.contains("status=200"))
    };
    while !registered(&chorus.log()) {
        assert!(
            Instant::now() < deadline,
            "baresip did not register\n--- baresip ---\n{}\n--- chorusd ---\n{}",
            alice.output(),
            chorus.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        chorus
            .log()
            .lines()
            .any(|l| l.contains("REGISTER") && l.contains("status=401")),
        "challenged first"
    );

    // A customer calls in; the API dials alice by name: baresip answers.
    let customer = dial(chorus.sip_addr(), "desk", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let body = serde_json::json!({
        "role": "Agent", "from": "100", "to": "alice", "enter_sound": "none",
    });
    let (status, added) = common::add_participant(&chorus, "desk", &body).await;
    assert_eq!(status, 201, "{added}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let since = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let heard_by_customer = customer.received_audio_since(since);
    assert_hears("customer", &heard_by_customer, &[700.0], &[400.0]);
    alice.peer.type_line("/hangup");
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.peer.type_line("/quit");
    alice.peer.wait(Duration::from_secs(5));
    let heard_by_alice = alice.heard();
    assert!(
        heard_by_alice.len() > 8000,
        "baresip recorded {} samples:\n{}",
        heard_by_alice.len(),
        alice.output()
    );
    assert_hears("baresip (alice)", &heard_by_alice, &[400.0], &[700.0]);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs sipp: run tests/interop/run"]
async fn sipp_as_callee_of_add_participant_answers_echoes_and_is_hung_up() {
    let chorus = start_builtin().await;
    let customer = dial(chorus.sip_addr(), "desk", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    // SIPp's built-in UAS: answers one call, echoes its RTP, waits for BYE.
    let (callee, mut sipp) = sipp_callee(&["-sn", "uas", "-rtp_echo"], None);
    let body = serde_json::json!({
        "role": "Agent", "from": "100", "to": callee,
        "enter_sound": "none",
    });
    let (status, added) = common::add_participant(&chorus, "desk", &body).await;
    assert_eq!(status, 201, "{added}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let since = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SIPp sends back what it gets: the customer hears itself only through
    // the agent SIPp is, so media flows both ways.
    assert_hears(
        "customer",
        &customer.received_audio_since(since),
        &[400.0],
        &[],
    );
    // Left alone (stayAlone is false for an API add), the agent is hung
    // up: SIPp gets our BYE and ends its one call.
    customer.hangup().await.unwrap();
    let status = sipp.wait(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIPp's UAS saw INVITE, ACK and our BYE ({status:?}); chorusd log:\n{}",
        chorus.log()
    );
    chorus.stop().await;
}
