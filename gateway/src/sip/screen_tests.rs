use super::*;

const GOOD: &str = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: abc\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

fn reply(message: &str) -> (String, Rejection) {
    match screen(message.as_bytes()) {
        Verdict::Reply { response, why } => (response, why),
        other => panic!("expected a reply, got {other:?}"),
    }
}

#[test]
fn well_formed_request_passes_whole() {
    assert_eq!(screen(GOOD.as_bytes()), Verdict::Pass(GOOD.len()));
}

#[test]
fn keepalive_passes() {
    assert_eq!(screen(b"\r\n\r\n"), Verdict::Pass(4));
}

#[test]
fn unknown_method_gets_501_with_routing_headers() {
    let msg = GOOD
        .replace("OPTIONS sip", "FROB sip")
        .replace("1 OPTIONS", "1 FROB");
    let (r, why) = reply(&msg);
    assert!(r.starts_with("SIP/2.0 501 Not Implemented\r\n"), "{r}");
    assert!(r.contains("Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n"));
    assert!(r.contains("Call-ID: abc\r\n"));
    assert_eq!(why, Rejection::UnknownMethod);
}

#[test]
fn another_sip_version_gets_505() {
    let (r, why) = reply(&GOOD.replace(" SIP/2.0\r\n", " SIP/9.9\r\n"));
    assert!(
        r.starts_with("SIP/2.0 505 Version Not Supported\r\n"),
        "{r}"
    );
    assert_eq!(why, Rejection::Version);
}

#[test]
fn missing_call_id_gets_400() {
    let (r, _) = reply(&GOOD.replace("Call-ID: abc\r\n", ""));
    assert!(r.starts_with("SIP/2.0 400 Bad Request (Call-ID)"), "{r}");
}

#[test]
fn cseq_method_mismatch_gets_400() {
    let (r, _) = reply(&GOOD.replace("1 OPTIONS", "1 INVITE"));
    assert!(r.starts_with("SIP/2.0 400 Bad Request (CSeq)"), "{r}");
}

#[test]
fn garbage_cseq_gets_400() {
    let (r, _) = reply(&GOOD.replace("CSeq: 1 OPTIONS", "CSeq: banana"));
    assert!(r.contains(" 400 "), "{r}");
}

#[test]
fn negative_or_garbage_content_length_gets_400() {
    for value in ["-5", "abc", "", "1 2", "0x10"] {
        let msg = GOOD.replace("Content-Length: 0", &format!("Content-Length: {value}"));
        let (r, why) = reply(&msg);
        assert!(
            r.starts_with("SIP/2.0 400 Bad Request (Content-Length)"),
            "{value:?}: {r}"
        );
        assert_eq!(why, Rejection::Malformed);
    }
}

#[test]
fn content_length_longer_than_the_datagram_gets_400() {
    let msg = GOOD.replace("Content-Length: 0", "Content-Length: 100") + "v=0\r\n";
    let (r, _) = reply(&msg);
    assert!(
        r.starts_with("SIP/2.0 400 Bad Request (Content-Length)"),
        "{r}"
    );
}

#[test]
fn bytes_past_content_length_are_dropped() {
    let msg = GOOD.to_owned() + "trailing junk";
    assert_eq!(screen(msg.as_bytes()), Verdict::Pass(GOOD.len()));
}

#[test]
fn oversized_headers_and_bodies_are_refused() {
    let big = GOOD.replace(
        "Max-Forwards",
        &format!("X-Big: {}\r\nMax-Forwards", "a".repeat(60_000)),
    );
    let (r, why) = reply(&big);
    assert!(
        r.starts_with("SIP/2.0 400 Bad Request (headers too large)"),
        "{r}"
    );
    assert!(!r.contains("aaaa"), "the big header is not echoed");
    assert_eq!(why, Rejection::TooLarge);
    let huge_body =
        GOOD.replace("Content-Length: 0", "Content-Length: 40000") + &"x".repeat(40_000);
    let (r, _) = reply(&huge_body);
    assert!(r.starts_with("SIP/2.0 413 "), "{r}");
}

#[test]
fn request_without_via_is_dropped() {
    let msg = GOOD.replace("Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n", "");
    assert_eq!(screen(msg.as_bytes()), Verdict::Drop(Rejection::NotSip));
}

#[test]
fn binary_noise_is_dropped() {
    assert!(matches!(
        screen(&[0x80, 0, 1, 2, 3, 0xff, 0xfe]),
        Verdict::Drop(_)
    ));
}

#[test]
fn frames_messages_pings_and_partial_input() {
    let two = format!("{GOOD}{GOOD}");
    assert_eq!(frame(two.as_bytes()), Framed::Message(GOOD.len()));
    assert_eq!(frame(&GOOD.as_bytes()[..30]), Framed::Incomplete);
    assert_eq!(
        frame(b"\r\n\r\nOPTIONS"),
        Framed::KeepAlive { n: 4, ping: true }
    );
    assert_eq!(
        frame(b"\r\nOPTIONS"),
        Framed::KeepAlive { n: 2, ping: false }
    );
    assert_eq!(frame(b"\r\n\r"), Framed::Incomplete);
    let with_body = GOOD.replace("Content-Length: 0", "Content-Length: 5") + "v=0\r\n";
    assert_eq!(
        frame(&with_body.as_bytes()[..with_body.len() - 1]),
        Framed::Incomplete
    );
    assert_eq!(
        frame(with_body.as_bytes()),
        Framed::Message(with_body.len())
    );
}

#[test]
fn a_stream_that_cannot_be_framed_is_broken_with_an_answer() {
    let garbage = GOOD.replace("Content-Length: 0", "Content-Length: -1");
    let Framed::Broken(Verdict::Reply { response, .. }) = frame(garbage.as_bytes()) else {
        panic!("not broken")
    };
    assert!(response.starts_with("SIP/2.0 400 Bad Request (Content-Length)"));
    let endless = format!(
        "OPTIONS sip:x@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nX: {}",
        "a".repeat(MAX_HEADER_BYTES)
    );
    let Framed::Broken(Verdict::Reply { response, .. }) = frame(endless.as_bytes()) else {
        panic!("not broken")
    };
    assert!(response.starts_with("SIP/2.0 400 Bad Request (headers too large)"));
    assert_eq!(
        frame(b"INVITE\r\n\r\n"),
        Framed::Broken(Verdict::Drop(Rejection::NotSip))
    );
}

#[test]
fn initial_invites_are_told_from_re_invites() {
    let invite = GOOD.replace("OPTIONS", "INVITE");
    assert!(is_initial_invite(invite.as_bytes()));
    let re_invite = invite.replace("To: <sip:x@127.0.0.1>", "To: <sip:x@127.0.0.1>;tag=9");
    assert!(!is_initial_invite(re_invite.as_bytes()));
    assert!(!is_initial_invite(GOOD.as_bytes()));
}
