//! The phone calling itself: a dialled [`Call`] against a [`Callee`], and
//! SIPp's built-in UAC against a [`Callee`].

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::*;
use crate::peers::Peer;
use crate::{ports, tone};

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("test finished within 30 s")
}

/// Dials `callee` with a 700 Hz tone; returns both ends once answered.
async fn connect(callee: &mut Callee, opts: DialOptions) -> (Call, Call) {
    let (dialled, answered) = tokio::join!(
        dial(callee.sip_addr(), "agent", opts),
        callee.answered(Duration::from_secs(10))
    );
    (dialled.unwrap(), answered.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialler_and_callee_hear_each_other_and_the_callee_presses_a_key() {
    bounded(async {
        let mut callee = Callee::listen(CalleeOptions {
            press: Some((Duration::from_millis(600), '5')),
            ..CalleeOptions::answer_with_tone(1100.0)
        })
        .await
        .unwrap();
        let rang_from = Instant::now();
        let (caller, agent) = connect(&mut callee, DialOptions::with_tone(700.0)).await;
        assert!(
            rang_from.elapsed() >= Duration::from_millis(200),
            "rang 200 ms"
        );
        assert_eq!(caller.provisional_statuses(), &[100, 180]);
        assert_eq!(agent.provisional_statuses(), &[100, 180]);
        assert_eq!(caller.negotiated().payload_type, 0, "PCMU, first offered");
        assert_eq!(agent.negotiated().telephone_event, Some(OFFERED_EVENT_PT));
        let record = callee.record();
        assert_eq!(record.sent, [100, 180, 200]);
        assert!(record.acked_at.is_some());
        assert_eq!(record.header("x-ph-none"), None);

        let since = Instant::now() + Duration::from_millis(200);
        tokio::time::sleep(Duration::from_millis(1400)).await;
        let heard_by_caller = caller.received_audio_since(since);
        let heard_by_agent = agent.received_audio_since(since);
        assert!(heard_by_caller.len() >= 8000, "{}", heard_by_caller.len());
        tone::assert_hears("caller", &heard_by_caller, &[1100.0], &[700.0]);
        tone::assert_hears("agent", &heard_by_agent, &[700.0], &[1100.0]);
        assert_eq!(caller.received_digits(), ['5']);
        assert_eq!(callee.record().pressed.map(|p| p.0), Some('5'));

        // The caller sends a digit too, then re-INVITEs and hangs up.
        caller.send_dtmf('9').await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(agent.received_digits(), ['9']);
        let (status, body) = caller.reinvite("sendrecv").await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("m=audio"), "{body}");
        assert_eq!(caller.hangup().await.unwrap(), 200);
        assert!(agent.wait_for_bye(Duration::from_secs(2)).await);
        assert!(callee.bye_at().is_some());
    })
    .await;
}

#[tokio::test]
async fn the_callee_hangs_up() {
    bounded(async {
        let mut callee = Callee::listen(CalleeOptions {
            ring: Duration::ZERO,
            ..CalleeOptions::default()
        })
        .await
        .unwrap();
        let (caller, agent) = connect(&mut callee, DialOptions::default()).await;
        assert_eq!(agent.hangup().await.unwrap(), 200);
        assert!(caller.wait_for_bye(Duration::from_secs(2)).await);
        assert!(callee.bye_at().is_none(), "the callee sent the BYE");
    })
    .await;
}

#[tokio::test]
async fn a_decline_gives_the_dialler_its_status() {
    bounded(async {
        for (status, ring, provisional) in [
            (486, Duration::ZERO, vec![100]),
            (603, Duration::from_millis(100), vec![100, 180]),
            (404, Duration::ZERO, vec![100]),
        ] {
            let mut callee = Callee::listen(CalleeOptions {
                ring,
                ..CalleeOptions::decline(status)
            })
            .await
            .unwrap();
            let (dialled, answered) = tokio::join!(
                dial(callee.sip_addr(), "agent", DialOptions::default()),
                callee.answered(Duration::from_secs(10))
            );
            match dialled.err() {
                Some(PhoneError::Rejected {
                    status: got,
                    provisional: p,
                    ..
                }) => assert_eq!((got, p), (status, provisional.clone())),
                other => panic!("dialler got {other:?}"),
            }
            assert!(matches!(answered, Err(PhoneError::Rejected { status: s, .. }) if s == status));
            let record = callee.record();
            let mut sent = provisional;
            sent.push(status);
            assert_eq!(record.sent, sent);
            assert!(record.acked_at.is_some(), "the dialler ACKed {status}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_silent_or_late_callee_is_cancelled_with_487() {
    bounded(async {
        let late = CalleeOptions {
            ring: Duration::from_secs(3),
            ..CalleeOptions::default()
        };
        for opts in [CalleeOptions::silent(), late] {
            let mut callee = Callee::listen(opts).await.unwrap();
            let outcome =
                invite_then_cancel(callee.sip_addr(), "agent", Duration::from_millis(300))
                    .await
                    .unwrap();
            assert_eq!(outcome, super::tests::rang_then_cancelled());
            assert!(matches!(
                callee.answered(Duration::from_secs(5)).await,
                Err(PhoneError::Cancelled)
            ));
            assert!(callee.wait_for_cancel(Duration::ZERO).await);
            let record = callee.record();
            assert_eq!(record.sent, [100, 180, 487]);
            let rang = record.cancelled_at.unwrap() - record.invited_at.unwrap();
            assert!(rang >= Duration::from_millis(300), "{rang:?}");
            assert!(record.acked_at.is_some(), "the 487 was ACKed");
        }
    })
    .await;
}

#[tokio::test]
async fn the_callee_records_the_invites_headers() {
    bounded(async {
        let callee = Callee::listen(CalleeOptions::silent()).await.unwrap();
        let uri = callee.uri();
        assert_eq!(uri, format!("sip:agent@{}", callee.sip_addr()));
        let invite = format!(
            "INVITE {uri};user=phone SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKhdr\r\n\
             From: \"Alice Caller\" <sip:+15551234@127.0.0.1>;tag=a1\r\n\
             To: <{uri}>\r\nCall-ID: hdr@test\r\nCSeq: 1 INVITE\r\n\
             X-PH-Team: blue\r\nX-Other: not ours\r\nX-PH-Queue: 42\r\nContent-Length: 0\r\n\r\n"
        );
        let first = send_raw(callee.sip_addr(), invite.as_bytes(), Duration::from_secs(2)).await;
        assert!(first.unwrap().starts_with("SIP/2.0 100 Trying"));
        callee
            .wait_for_invite(Duration::from_secs(2))
            .await
            .unwrap();
        let record = callee.record();
        assert_eq!(
            record.request_uri(),
            Some(format!("{uri};user=phone").as_str())
        );
        assert_eq!(record.from_display_name().as_deref(), Some("Alice Caller"));
        assert_eq!(record.header("to"), Some(format!("<{uri}>").as_str()));
        let x_ph = [("x-ph-team", "blue"), ("x-ph-queue", "42")]
            .map(|(n, v)| (n.to_string(), v.to_string()));
        assert_eq!(record.x_ph_headers(), x_ph);
    })
    .await;
}

/// SIPp's built-in UAC (`-sn uac`) calls a callee, which answers; SIPp
/// echoes the callee's tone back (`-rtp_echo`), holds the call two seconds,
/// sends BYE and exits 0 only if every step of its scenario passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs sipp: run tests/interop/run"]
async fn sipp_calls_the_callee_and_hangs_up() {
    let mut callee = Callee::listen(CalleeOptions::answer_with_tone(700.0))
        .await
        .unwrap();
    let (sip_port, media_port, control_port) = (ports::udp(), ports::udp_range(4).0, ports::udp());
    let mut sipp = Peer::spawn(
        "sipp",
        Command::new("timeout")
            .args(["-k", "2", "30", "sipp"])
            .arg(callee.sip_addr().to_string())
            .args(["-sn", "uac", "-s", "agent", "-i", "127.0.0.1"])
            .args(["-p", &sip_port.to_string(), "-mi", "127.0.0.1"])
            .args([
                "-mp",
                &media_port.to_string(),
                "-cp",
                &control_port.to_string(),
            ])
            .args(["-m", "1", "-l", "1", "-d", "2000", "-rtp_echo", "-nostdin"])
            .args(["-timeout", "25", "-timeout_error", "-recv_timeout", "10000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let agent = callee.answered(Duration::from_secs(10)).await.unwrap();
    let since = Instant::now() + Duration::from_millis(300);
    assert!(
        agent.wait_for_bye(Duration::from_secs(10)).await,
        "SIPp sent BYE"
    );
    let status = tokio::task::spawn_blocking(move || sipp.wait(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(status.is_some_and(|s| s.success()), "sipp: {status:?}");
    let record = callee.record();
    assert_eq!(record.sent, [100, 180, 200]);
    assert_eq!(record.from_display_name().as_deref(), Some("sipp"));
    let uri = format!("sip:agent@{}", callee.sip_addr());
    assert_eq!(record.request_uri(), Some(uri.as_str()));
    let echoed = agent.received_audio_since(since);
    assert!(echoed.len() >= 8000, "{} samples echoed", echoed.len());
    tone::assert_hears("callee (echoed by SIPp)", &echoed, &[700.0], &[1100.0]);
}
