//! One screening path for every transport: each malformed request gets the
//! same answer over TCP as over UDP, and a TCP connection is bounded (a
//! cap, an idle timeout a slow sender cannot reset) and ends its calls
//! when it closes.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::daemon::Chorusd;
use chorus_tests::phone::{options, send_raw, send_raw_tcp};
use common::{chorusd_bin, start_builtin, wait_for_metric};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_millis(800);

/// A request with every essential header, `edit` applied to its text; the
/// Via names `transport`.
fn request(method: &str, port: u16, transport: &str, edit: impl Fn(String) -> String) -> String {
    let text = format!(
        "{method} sip:room@127.0.0.1:{port} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:9;branch=z9hG4bKscreen{method}\r\n\
         From: <sip:t@127.0.0.1>;tag=abc\r\n\
         To: <sip:room@127.0.0.1:{port}>\r\n\
         Call-ID: screening-{method}\r\n\
         CSeq: 1 {method}\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    edit(text)
}

/// The malformed requests of the suite, each with the status it gets and
/// whether a stream can still be framed after it.
fn cases(port: u16, transport: &str) -> Vec<(&'static str, String, &'static str, bool)> {
    let r = |method: &str, edit: &dyn Fn(String) -> String| request(method, port, transport, edit);
    vec![
        (
            "no Call-ID",
            r("OPTIONS", &|t| {
                t.replace("Call-ID: screening-OPTIONS\r\n", "")
            }),
            "SIP/2.0 400",
            true,
        ),
        (
            "no From",
            r("OPTIONS", &|t| {
                t.replace("From: <sip:t@127.0.0.1>;tag=abc\r\n", "")
            }),
            "SIP/2.0 400",
            true,
        ),
        (
            "no To",
            r("OPTIONS", &|t| {
                let to = t.lines().find(|l| l.starts_with("To:")).unwrap().to_owned();
                t.replace(&format!("{to}\r\n"), "")
            }),
            "SIP/2.0 400",
            true,
        ),
        (
            "bad CSeq",
            r("OPTIONS", &|t| {
                t.replace("CSeq: 1 OPTIONS", "CSeq: one OPTIONS")
            }),
            "SIP/2.0 400",
            true,
        ),
        (
            "unknown method",
            r("FROBNICATE", &|t| t),
            "SIP/2.0 501",
            true,
        ),
        ("SUBSCRIBE", r("SUBSCRIBE", &|t| t), "SIP/2.0 405", true),
        // No users file: the registrar refuses everyone.
        ("REGISTER", r("REGISTER", &|t| t), "SIP/2.0 403", true),
        (
            "SIP/9.9",
            r("OPTIONS", &|t| {
                t.replacen(" SIP/2.0\r\n", " SIP/9.9\r\n", 1)
            }),
            "SIP/2.0 505",
            true,
        ),
        (
            "negative Content-Length",
            r("OPTIONS", &|t| {
                t.replace("Content-Length: 0", "Content-Length: -5")
            }),
            "SIP/2.0 400",
            false,
        ),
        (
            "garbage Content-Length",
            r("OPTIONS", &|t| {
                t.replace("Content-Length: 0", "Content-Length: abc")
            }),
            "SIP/2.0 400",
            false,
        ),
        (
            "60 KB header",
            r("OPTIONS", &|t| {
                t.replace(
                    "Max-Forwards",
                    &format!("X-Big: {}\r\nMax-Forwards", "a".repeat(60 * 1024)),
                )
            }),
            "SIP/2.0 400",
            false,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_gets_the_same_answer_over_tcp_as_over_udp() {
    let chorus = start_builtin().await;
    let addr = chorus.sip_addr();
    for (name, text, status, _) in cases(addr.port(), "UDP") {
        let udp = send_raw(addr, text.as_bytes(), WAIT).await;
        assert!(
            udp.as_deref().is_some_and(|r| r.starts_with(status)),
            "{name} over UDP: expected {status}, got {udp:?}"
        );
    }
    for (name, text, status, framed) in cases(addr.port(), "TCP") {
        let tcp = send_raw_tcp(addr, text.as_bytes(), WAIT).await;
        assert!(
            tcp.first_line().starts_with(status),
            "{name} over TCP: expected {status}, got {tcp:?}"
        );
        assert_eq!(
            tcp.closed, !framed,
            "{name} over TCP: the connection stays open only while the stream can be framed"
        );
    }
    // Bytes past the headers that are not SIP, and a start line that is
    // not SIP: no answer, and over TCP the connection is closed.
    assert_eq!(
        send_raw(addr, b"INVITE\r\n\r\n", Duration::from_millis(300)).await,
        None
    );
    let tcp = send_raw_tcp(addr, b"INVITE\r\n\r\n", WAIT).await;
    assert!(tcp.closed && tcp.text.is_empty(), "{tcp:?}");
    // Several messages in one TCP write are each answered, in order.
    let two = request("FROBNICATE", addr.port(), "TCP", |t| t)
        + &request("OPTIONS", addr.port(), "TCP", |t| {
            t.replace(" SIP/2.0\r\n", " SIP/9.9\r\n")
        });
    let tcp = send_raw_tcp(addr, two.as_bytes(), WAIT).await;
    let statuses: Vec<&str> = tcp
        .text
        .lines()
        .filter(|l| l.starts_with("SIP/2.0 "))
        .collect();
    assert_eq!(statuses.len(), 2, "{tcp:?}");
    assert!(statuses[0].starts_with("SIP/2.0 501") && statuses[1].starts_with("SIP/2.0 505"));
    assert_eq!(options(addr, WAIT).await, Some(200), "still serving");
    let metrics = chorus.metrics().await;
    assert!(
        metrics["chorus_sip_rejected_total{reason=\"malformed\"}"] >= 8.0,
        "{metrics:#?}"
    );
    assert!(metrics["chorus_sip_rejected_total{reason=\"version\"}"] >= 3.0);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_with_a_multicast_media_address_gets_488_over_either_transport() {
    let chorus = start_builtin().await;
    let addr = chorus.sip_addr();
    for transport in ["UDP", "TCP"] {
        let call_id = format!("mcast-{transport}");
        let text = invite(addr.port(), transport, &call_id, "239.1.2.3:4000");
        let status = match transport {
            "UDP" => final_over_udp(addr, text.as_bytes()).await,
            _ => {
                send_raw_tcp(addr, text.as_bytes(), Duration::from_secs(1))
                    .await
                    .text
            }
        };
        assert!(status.contains("SIP/2.0 488"), "{transport}: {status}");
    }
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connections_are_capped_and_idle_ones_closed_however_slowly_they_send() {
    let chorus = Chorusd::start(
        chorusd_bin(),
        &[
            ("CHORUS_SIP__TCP_MAX_CONNECTIONS", "3"),
            ("CHORUS_SIP__TCP_IDLE_TIMEOUT", "2"),
        ],
    )
    .await;
    let addr = chorus.sip_addr();
    let start = Instant::now();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let mut third = TcpStream::connect(addr).await.unwrap();
    wait_for_metric(&chorus, "chorus_sip_tcp_connections", 3.0).await;
    // One over the cap is closed at once, without a word.
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        read_until_closed(&mut fourth, Duration::from_secs(1)).await,
        Some(0)
    );
    wait_for_metric(
        &chorus,
        "chorus_sip_rejected_total{reason=\"too_many_connections\"}",
        1.0,
    )
    .await;

    // A whole message keeps a connection; a byte every 300 ms of one that
    // never completes does not.
    let dribble = tokio::spawn(async move {
        let text = request("OPTIONS", addr.port(), "TCP", |t| t);
        for byte in text.as_bytes().iter().take(60) {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        read_until_closed(&mut slow, Duration::from_secs(1)).await
    });
    let ping = request("OPTIONS", addr.port(), "TCP", |t| t);
    third.write_all(ping.as_bytes()).await.unwrap();
    let idle_closed = read_until_closed(&mut idle, Duration::from_secs(4)).await;
    let idle_after = start.elapsed();
    assert_eq!(idle_closed, Some(0), "the idle connection is closed");
    assert!(
        idle_after >= Duration::from_millis(1800) && idle_after < Duration::from_secs(4),
        "closed after the 2 s idle timeout, not {idle_after:?}"
    );
    let dribbled = dribble.await.unwrap();
    assert!(dribbled.is_some(), "the slow sender's connection is closed");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "within the timeout of its first byte"
    );
    // A freed place is taken again.
    let reply = send_raw_tcp(addr, ping.as_bytes(), WAIT).await;
    assert!(reply.first_line().starts_with("SIP/2.0 200"), "{reply:?}");
    drop(third);
    assert!(chorus.metrics().await["chorus_sip_rejected_total{reason=\"idle_connection\"}"] >= 2.0);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_over_tcp_outlives_the_idle_timeout_and_ends_when_its_connection_closes() {
    let chorus = Chorusd::start(chorusd_bin(), &[("CHORUS_SIP__TCP_IDLE_TIMEOUT", "1")]).await;
    let addr = chorus.sip_addr();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let media = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let media_addr = media.local_addr().unwrap().to_string();
    let text = invite(addr.port(), "TCP", "tcp-call", &media_addr);
    stream.write_all(text.as_bytes()).await.unwrap();
    let ok = read_response(&mut stream, 200).await;
    let to = ok
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("to:"))
        .unwrap();
    let ack = format!(
        "ACK sip:room@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKack1\r\n\
         From: <sip:t@127.0.0.1>;tag=abc\r\n{to}\r\nCall-ID: tcp-call\r\nCSeq: 1 ACK\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        port = addr.port()
    );
    stream.write_all(ack.as_bytes()).await.unwrap();
    wait_for_metric(&chorus, "chorus_calls_active", 1.0).await;
    // Three idle timeouts without a message: the call keeps its connection.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(chorus.metrics().await["chorus_calls_active"], 1.0);
    drop(stream);
    wait_for_metric(&chorus, "chorus_calls_active", 0.0).await;
    assert!(
        chorus
            .log()
            .contains("TCP connection closed; the call is over"),
        "{}",
        chorus.log()
    );
    chorus.stop().await;
}

/// An INVITE with an SDP offer of media at `media` (`IP:port`).
fn invite(port: u16, transport: &str, call_id: &str, media: &str) -> String {
    let (ip, media_port) = media.split_once(':').unwrap();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {media_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    );
    format!(
        "INVITE sip:room@127.0.0.1:{port} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:9;branch=z9hG4bK{call_id}\r\n\
         From: <sip:t@127.0.0.1>;tag=abc\r\nTo: <sip:room@127.0.0.1:{port}>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
         Contact: <sip:t@127.0.0.1:9;transport={transport}>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// Sends a request over UDP and returns the first final response.
async fn final_over_udp(chorus: std::net::SocketAddr, request: &[u8]) -> String {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(request, chorus).await.unwrap();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
            .await
            .expect("a final response")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            return text;
        }
    }
}

/// Reads a TCP stream until a response with `status` has come in whole.
async fn read_response(stream: &mut TcpStream, status: u16) -> String {
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(n > 0, "closed before {status}: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        let start = format!("SIP/2.0 {status} ");
        if let Some(at) = text.find(&start)
            && text[at..].contains("\r\n\r\n")
        {
            return text[at..].to_owned();
        }
    }
}

/// Reads until the peer closes (Some(bytes read)) or `wait` ends (None).
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<usize> {
    let mut total = 0;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(total),
            Ok(Ok(n)) => total += n,
        }
    }
}
