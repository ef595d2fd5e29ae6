//! SIP edge cases against the real daemon: CANCEL, 488, malformed requests,
//! OPTIONS, unsupported methods, graceful stop.

mod common;

use std::time::Duration;

use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{DialOptions, PhoneError, dial, invite_then_cancel, options, send_raw};
use common::{start_builtin, start_with_answer_url, start_with_room_of_two};

const WAIT: Duration = Duration::from_secs(2);

fn request(method: &str, port: u16, extra: &str, drop_header: &str) -> String {
    let lines = [
        format!("{method} sip:room@127.0.0.1:{port} SIP/2.0"),
        "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKmalformed1".to_owned(),
        "From: <sip:t@127.0.0.1>;tag=abc".to_owned(),
        format!("To: <sip:room@127.0.0.1:{port}>"),
        "Call-ID: malformed-1".to_owned(),
        format!("CSeq: 1 {method}"),
        "Max-Forwards: 70".to_owned(),
    ];
    let mut text: String = lines
        .iter()
        .filter(|l| drop_header.is_empty() || !l.starts_with(drop_header))
        .map(|l| format!("{l}\r\n"))
        .collect();
    text.push_str(extra);
    text.push_str("Content-Length: 0\r\n\r\n");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_or_501_and_the_daemon_keeps_serving() {
    let mut chorus = start_builtin().await;
    let addr = chorus.sip_addr();
    let port = addr.port();

    let no_call_id = request("OPTIONS", port, "", "Call-ID");
    let reply = send_raw(addr, no_call_id.as_bytes(), WAIT)
        .await
        .expect("an answer");
    assert!(reply.starts_with("SIP/2.0 400"), "{reply}");
    assert!(
        reply.contains("branch=z9hG4bKmalformed1"),
        "400 carries the Via: {reply}"
    );

    let bad_cseq = request("OPTIONS", port, "", "CSeq")
        .replace("Max-Forwards", "CSeq: one OPTIONS\r\nMax-Forwards");
    let reply = send_raw(addr, bad_cseq.as_bytes(), WAIT)
        .await
        .expect("an answer");
    assert!(reply.starts_with("SIP/2.0 400"), "{reply}");

    let unknown = request("FROBNICATE", port, "", "");
    let reply = send_raw(addr, unknown.as_bytes(), WAIT)
        .await
        .expect("an answer");
    assert!(reply.starts_with("SIP/2.0 501"), "{reply}");

    // A method chorus knows but does not serve (REGISTER it serves: see
    // registrar.rs).
    let subscribe = request("SUBSCRIBE", port, "", "");
    let reply = send_raw(addr, subscribe.as_bytes(), WAIT)
        .await
        .expect("an answer");
    assert!(reply.starts_with("SIP/2.0 405"), "{reply}");
    assert!(
        reply.to_ascii_lowercase().contains("allow:"),
        "405 lists Allow: {reply}"
    );

    let noise = [0xde_u8, 0xad, 0xbe, 0xef, 0, 1, 2, 3];
    assert_eq!(
        send_raw(addr, &noise, Duration::from_millis(300)).await,
        None
    );
    assert_eq!(
        send_raw(addr, b"INVITE\r\n\r\n", Duration::from_millis(300)).await,
        None
    );

    assert!(chorus.is_running(), "daemon survived:\n{}", chorus.log());
    assert_eq!(options(addr, WAIT).await, Some(200));
    let call = dial(addr, "after-noise", DialOptions::default())
        .await
        .expect("still answers calls");
    assert_eq!(call.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_without_a_common_codec_gets_488() {
    let chorus = start_builtin().await;
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
               m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
    let opts = DialOptions {
        sdp_override: Some(sdp.to_owned()),
        ..Default::default()
    };
    match dial(chorus.sip_addr(), "room", opts).await {
        Err(PhoneError::Rejected { status, .. }) => assert_eq!(status, 488),
        Err(other) => panic!("expected 488, got {other}"),
        Ok(_) => panic!("expected 488, call was answered"),
    }
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_answer_gets_487() {
    // A slow answer URL keeps the call ringing long enough to cancel it.
    let app = AppServer::start(vec![(
        "/answer".to_owned(),
        Reply::xml("<Response><MultiPartyCall role=\"customer\">r</MultiPartyCall></Response>")
            .with_delay(Duration::from_secs(3)),
    )])
    .await;
    let chorus = start_with_answer_url(&app.url("/answer"), "GET").await;
    let outcome = invite_then_cancel(chorus.sip_addr(), "r", Duration::from_millis(700))
        .await
        .expect("cancel flow");
    assert!(outcome.provisional.contains(&180), "{outcome:?}");
    assert_eq!(outcome.cancel_status, 200, "{outcome:?}");
    assert_eq!(outcome.invite_status, 487, "{outcome:?}");
    // The daemon is fine afterwards.
    assert_eq!(options(chorus.sip_addr(), WAIT).await, Some(200));
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_hangs_up_live_calls_with_bye() {
    let chorus = start_builtin().await;
    let a = dial(
        chorus.sip_addr(),
        "bye-on-stop",
        DialOptions::with_tone(400.0),
    )
    .await
    .unwrap();
    let b = dial(
        chorus.sip_addr(),
        "bye-on-stop",
        DialOptions::with_tone(700.0),
    )
    .await
    .unwrap();
    let status = chorus.stop().await;
    assert!(status.success(), "SIGTERM exits cleanly: {status:?}");
    assert!(a.wait_for_bye(Duration::from_secs(2)).await, "a got BYE");
    assert!(b.wait_for_bye(Duration::from_secs(2)).await, "b got BYE");
}

/// RFC 3261 §15: a caller answered and then refused by a full MPC gets its
/// BYE only after it has the 200 OK and has ACKed it, however slowly it
/// ACKs. chorusd used to put the BYE on the wire first in most tries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_refused_after_answer_gets_bye_only_after_its_ack() {
    let (_app, chorus) = start_with_room_of_two().await;
    let first = dial(chorus.sip_addr(), "two", DialOptions::default())
        .await
        .unwrap();
    let second = dial(chorus.sip_addr(), "two", DialOptions::default())
        .await
        .unwrap();
    for attempt in 0..5 {
        let slow = DialOptions {
            ack_delay: Duration::from_millis(200),
            ..DialOptions::default()
        };
        let refused = dial(chorus.sip_addr(), "two", slow).await.unwrap();
        assert!(refused.wait_for_bye(WAIT).await, "try {attempt}: hung up");
        let wire = refused.wire();
        let at = |line: &str| wire.iter().position(|l| l == line);
        let (ok, ack, bye) = (at("<- SIP/2.0 200"), at("-> ACK"), at("<- BYE"));
        assert!(
            ok.is_some() && ok < ack && ack < bye,
            "try {attempt}: 200, then our ACK, then the BYE: {wire:?}"
        );
    }
    assert_eq!(first.hangup().await.unwrap(), 200);
    assert_eq!(second.hangup().await.unwrap(), 200);
    chorus.stop().await;
}
