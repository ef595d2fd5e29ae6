//! The registrar over real SIP: a phone REGISTERs with digest credentials
//! against `sip.users_file`, is challenged, then registered; a wrong
//! password gets 403; without a users file nobody registers; and Add
//! Participant dials a registered user by name at its contact.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use chorus_gateway::sip::digest::{answer, ha1};
use chorus_tests::daemon::Chorusd;
use chorus_tests::peers::Scratch;
use chorus_tests::phone::{Callee, CalleeOptions};
use common::{add_participant, chorusd_bin};
use tokio::net::UdpSocket;

/// Sends one REGISTER for alice (with `authorization`, if any) and returns
/// the response.
async fn register(
    socket: &UdpSocket,
    chorus: SocketAddr,
    cseq: u32,
    authorization: Option<&str>,
) -> String {
    let me = socket.local_addr().unwrap();
    register_at(socket, chorus, cseq, authorization, me).await
}

/// [`register`] with alice's Contact at `contact` (a phone elsewhere).
async fn register_at(
    socket: &UdpSocket,
    chorus: SocketAddr,
    cseq: u32,
    authorization: Option<&str>,
    contact: SocketAddr,
) -> String {
    let me = socket.local_addr().unwrap();
    let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    let request = format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bKreg{cseq}\r\n\
         From: <sip:alice@127.0.0.1>;tag=r1\r\nTo: <sip:alice@127.0.0.1>\r\n\
         Call-ID: reg-1@{me}\r\nCSeq: {cseq} REGISTER\r\nMax-Forwards: 70\r\n\
         Contact: <sip:alice@{contact}>\r\nExpires: 300\r\n{auth}Content-Length: 0\r\n\r\n"
    );
    socket.send_to(request.as_bytes(), chorus).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// chorusd whose users file holds alice (password `s3cret`), with `env`;
/// the scratch directory lives as long as the caller keeps it.
async fn start_with_alice(env: &[(&str, &str)]) -> (Scratch, Chorusd) {
    let dir = Scratch::new("registrar");
    let users = dir.path("users");
    let line = format!("alice:chorus:{}\n", ha1("alice", "chorus", "s3cret"));
    std::fs::write(&users, line).unwrap();
    let mut vars = vec![("CHORUS_SIP__USERS_FILE", users.to_str().unwrap())];
    vars.extend_from_slice(env);
    let chorus = Chorusd::start(chorusd_bin(), &vars).await;
    (dir, chorus)
}

fn status(response: &str) -> &str {
    response.get(8..11).unwrap_or("")
}

fn nonce(response: &str) -> String {
    response
        .split("nonce=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no challenge: {response}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_softphone_registers_with_digest_credentials() {
    let (_dir, chorus) = start_with_alice(&[]).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = chorus.sip_addr();

    let challenged = register(&socket, addr, 1, None).await;
    assert_eq!(status(&challenged), "401", "{challenged}");
    assert!(challenged.contains("realm=\"chorus\""), "{challenged}");
    let wrong = answer(
        &nonce(&challenged),
        ("alice", "chorus", "guess"),
        "REGISTER",
        "sip:127.0.0.1",
        "c1",
    );
    let refused = register(&socket, addr, 2, Some(&wrong)).await;
    assert_eq!(status(&refused), "403", "{refused}");

    let challenged = register(&socket, addr, 3, None).await;
    let right = answer(
        &nonce(&challenged),
        ("alice", "chorus", "s3cret"),
        "REGISTER",
        "sip:127.0.0.1",
        "c2",
    );
    let registered = register(&socket, addr, 4, Some(&right)).await;
    assert_eq!(status(&registered), "200", "{registered}");
    let me = socket.local_addr().unwrap();
    assert!(
        registered.contains(&format!("<sip:alice@{me}>;expires=300")),
        "the binding is listed: {registered}"
    );
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_users_file_nobody_registers() {
    let chorus = Chorusd::start(chorusd_bin(), &[]).await;
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let refused = register(&socket, chorus.sip_addr(), 1, None).await;
    assert_eq!(status(&refused), "403", "{refused}");
    chorus.stop().await;
}

/// A minimal INVITE from `socket` (no SDP: let in, it gets 488 at once).
async fn invite(socket: &UdpSocket, chorus: SocketAddr, call_id: &str) -> String {
    invite_with(socket, chorus, call_id, "").await
}

/// [`invite`] with `extra` header lines (each ending in CRLF).
async fn invite_with(socket: &UdpSocket, chorus: SocketAddr, call_id: &str, extra: &str) -> String {
    let me = socket.local_addr().unwrap();
    let request = format!(
        "INVITE sip:room@{chorus} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {me};branch=z9hG4bK{call_id}\r\n\
         From: <sip:alice@127.0.0.1>;tag=i1\r\nTo: <sip:room@{chorus}>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
         Contact: <sip:alice@{me}>\r\n{extra}Content-Length: 0\r\n\r\n"
    );
    socket.send_to(request.as_bytes(), chorus).await.unwrap();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if !text.starts_with("SIP/2.0 1") {
            return text;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_user_may_call_from_outside_the_trusted_sources() {
    let (_dir, chorus) = start_with_alice(&[("CHORUS_SIP__TRUSTED_SOURCES", "127.0.0.1/32")]).await;
    let addr = chorus.sip_addr();
    let socket = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let before = invite(&socket, addr, "before").await;
    assert_eq!(
        status(&before),
        "403",
        "untrusted and unregistered: {before}"
    );

    let challenged = register(&socket, addr, 1, None).await;
    let right = answer(
        &nonce(&challenged),
        ("alice", "chorus", "s3cret"),
        "REGISTER",
        "sip:127.0.0.1",
        "c3",
    );
    assert_eq!(
        status(&register(&socket, addr, 2, Some(&right)).await),
        "200"
    );
    let after = invite(&socket, addr, "after").await;
    assert_ne!(
        status(&after),
        "403",
        "a registered user's address is let in: {after}"
    );
    assert_eq!(
        status(&after),
        "488",
        "(and refused for its missing SDP): {after}"
    );
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_participant_dials_a_registered_user_by_name_at_its_contact() {
    let (_dir, chorus) = start_with_alice(&[]).await;
    let addr = chorus.sip_addr();
    let mut phone = Callee::listen(CalleeOptions {
        user: "alice".into(),
        ..CalleeOptions::answer_with_tone(700.0)
    })
    .await
    .unwrap();
    let add = |to: &str| {
        let body = serde_json::json!({ "role": "Agent", "from": "100", "to": to });
        let chorus = &chorus;
        async move { add_participant(chorus, "desk", &body).await }
    };
    let (code, refused) = add("alice").await;
    assert_eq!(code, 400, "not registered yet: {refused}");

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let challenged = register_at(&socket, addr, 1, None, phone.sip_addr()).await;
    let right = answer(
        &nonce(&challenged),
        ("alice", "chorus", "s3cret"),
        "REGISTER",
        "sip:127.0.0.1",
        "c4",
    );
    let registered = register_at(&socket, addr, 2, Some(&right), phone.sip_addr()).await;
    assert_eq!(status(&registered), "200", "{registered}");

    let (code, added) = add("alice").await;
    assert_eq!(code, 201, "{added}");
    let call = phone.answered(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        phone.record().request_uri(),
        Some(format!("sip:alice@{}", phone.sip_addr()).as_str()),
        "dialled at the registered contact"
    );
    call.hangup().await.unwrap();
    let (code, refused) = add("bob").await;
    assert_eq!(code, 400, "bob is not registered: {refused}");
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_inbound_auth_digest_an_untrusted_caller_gets_in_on_a_users_credentials() {
    let (_dir, chorus) = start_with_alice(&[
        ("CHORUS_SIP__TRUSTED_SOURCES", "127.0.0.1/32"),
        ("CHORUS_SIP__INBOUND_AUTH", "digest"),
    ])
    .await;
    let addr = chorus.sip_addr();
    let socket = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    let challenged = invite(&socket, addr, "auth-1").await;
    assert_eq!(status(&challenged), "407", "{challenged}");
    assert!(
        challenged.contains("Proxy-Authenticate: Digest realm=\"chorus\""),
        "{challenged}"
    );
    let uri = format!("sip:room@{addr}");
    let credentials = |password: &str, cnonce: &str| {
        let value = answer(
            &nonce(&challenged),
            ("alice", "chorus", password),
            "INVITE",
            &uri,
            cnonce,
        );
        format!("Proxy-Authorization: {value}\r\n")
    };
    let wrong = invite_with(&socket, addr, "auth-2", &credentials("guess", "c5")).await;
    assert_eq!(status(&wrong), "403", "wrong password: {wrong}");
    let right = invite_with(&socket, addr, "auth-3", &credentials("s3cret", "c6")).await;
    assert_eq!(
        status(&right),
        "488",
        "let in (and refused for its missing SDP): {right}"
    );
    let metrics = chorus.metrics().await;
    assert_eq!(
        metrics.get("chorus_sip_rejected_total{reason=\"challenged\"}"),
        Some(&1.0),
        "{metrics:#?}"
    );
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_phone_behind_nat_is_dialled_where_its_register_came_from() {
    let (_dir, chorus) = start_with_alice(&[]).await;
    let addr = chorus.sip_addr();
    // The phone's own idea of its address is private; only its REGISTER's
    // source reaches it.
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let private: SocketAddr = "10.255.0.7:5060".parse().unwrap();
    let challenged = register_at(&phone, addr, 1, None, private).await;
    let right = answer(
        &nonce(&challenged),
        ("alice", "chorus", "s3cret"),
        "REGISTER",
        "sip:127.0.0.1",
        "c7",
    );
    let registered = register_at(&phone, addr, 2, Some(&right), private).await;
    assert_eq!(status(&registered), "200", "{registered}");

    let body = serde_json::json!({ "role": "Agent", "from": "100", "to": "alice" });
    let (code, added) = add_participant(&chorus, "desk", &body).await;
    assert_eq!(code, 201, "{added}");
    let mut buf = vec![0u8; 65536];
    let invite = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let (n, _) = phone.recv_from(&mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.starts_with("INVITE ") {
                return text;
            }
        }
    })
    .await
    .expect("the INVITE reaches the phone at its REGISTER's source");
    assert!(
        invite.starts_with("INVITE sip:alice@10.255.0.7:5060 SIP/2.0"),
        "addressed to its contact: {invite}"
    );
    chorus.stop().await;
}
