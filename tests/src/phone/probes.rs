//! Out-of-dialog helpers: a cancelled INVITE, an OPTIONS ping, raw datagrams.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::endpoint::{ClientTx, Endpoint, branch};
use super::media::{Media, MediaQuirks};
use super::{
    AbortOnDrop, CancelOutcome, DialogIds, IN_DIALOG_TIMEOUT, OFFERED_EVENT_PT, PhoneError,
    local_offer,
};

/// Sends an INVITE, CANCELs it after `after` (once a provisional arrived),
/// and ACKs the final response. If the INVITE is answered first the phone
/// ACKs and hangs up, and `cancel_status` is 0.
pub async fn invite_then_cancel(
    chorus: SocketAddr,
    to_user: &str,
    after: Duration,
) -> Result<CancelOutcome, PhoneError> {
    let ep = Endpoint::bind(chorus, "tester", Arc::new(AtomicBool::new(false))).await?;
    let _task = AbortOnDrop(tokio::spawn(Arc::clone(&ep).run()));
    let media = Media::start(
        None,
        OFFERED_EVENT_PT,
        Arc::new(AtomicBool::new(false)),
        20,
        MediaQuirks::default(),
    )?;
    let offer = local_offer(media.local.port(), 1, 1, "sendrecv", 20);
    let ids = DialogIds::new(&ep, "tester", to_user);
    let invite_branch = branch();
    let mut invite = ids.request("INVITE", &ids.request_uri, &invite_branch, &ids.to, 1);
    invite.contact = Some(&ep.contact);
    invite.sdp = Some(&offer);
    let bytes = invite.to_bytes(ep.local);
    let mut tx = ClientTx::start(&ep, &invite_branch, "INVITE", bytes).await;
    let mut provisional = Vec::new();
    let mut final_resp = None;
    // Wait `after`, then (RFC 3261 9.1) until at least one provisional.
    let first = Instant::now() + after;
    let last = first + Duration::from_secs(5);
    while final_resp.is_none() {
        let now = Instant::now();
        if now >= last || (now >= first && !provisional.is_empty()) {
            break;
        }
        let until = if now < first { first } else { last };
        match tx.next(until).await {
            Some(m) if m.status().unwrap_or(0) >= 200 => final_resp = Some(m),
            Some(m) => provisional.extend(m.status()),
            None => {}
        }
    }
    let mut cancel_status = 0;
    if final_resp.is_none() {
        let cancel = ids.request("CANCEL", &ids.request_uri, &invite_branch, &ids.to, 1);
        let mut ctx =
            ClientTx::start(&ep, &invite_branch, "CANCEL", cancel.to_bytes(ep.local)).await;
        let resp = ctx
            .final_response(Instant::now() + IN_DIALOG_TIMEOUT, &mut Vec::new())
            .await
            .ok_or(PhoneError::Timeout {
                method: "CANCEL",
                waited: IN_DIALOG_TIMEOUT,
            })?;
        cancel_status = resp.status().unwrap_or(0);
        final_resp = tx
            .final_response(Instant::now() + IN_DIALOG_TIMEOUT, &mut provisional)
            .await;
    }
    let resp = final_resp.ok_or(PhoneError::Timeout {
        method: "INVITE",
        waited: IN_DIALOG_TIMEOUT,
    })?;
    let invite_status = resp.status().unwrap_or(0);
    let to = resp.header("to").unwrap_or(&ids.to).to_string();
    if invite_status >= 300 {
        let ack = ids.request("ACK", &ids.request_uri, &invite_branch, &to, 1);
        ep.send_ack(1, ack.to_bytes(ep.local)).await;
    } else {
        // Answered despite the CANCEL: complete and tear down the dialog.
        let target = resp
            .contact_uri()
            .unwrap_or_else(|| ids.request_uri.clone());
        let (ack_branch, bye_branch) = (branch(), branch());
        let ack = ids.request("ACK", &target, &ack_branch, &to, 1);
        ep.send_ack(1, ack.to_bytes(ep.local)).await;
        let bye = ids.request("BYE", &target, &bye_branch, &to, 2);
        let mut btx = ClientTx::start(&ep, &bye_branch, "BYE", bye.to_bytes(ep.local)).await;
        let _ = btx
            .final_response(Instant::now() + Duration::from_secs(2), &mut Vec::new())
            .await;
    }
    Ok(CancelOutcome {
        provisional,
        cancel_status,
        invite_status,
    })
}

/// Sends `datagram` from a fresh loopback socket and returns the first
/// datagram that comes back within `wait`, as text (for malformed-SIP tests).
pub async fn send_raw(chorus: SocketAddr, datagram: &[u8], wait: Duration) -> Option<String> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    socket.send_to(datagram, chorus).await.ok()?;
    let mut buf = vec![0u8; 65536];
    let (n, _) = tokio::time::timeout(wait, socket.recv_from(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(buf.get(..n)?).into_owned())
}

/// What a TCP connection gave back for [`send_raw_tcp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpReply {
    /// Everything read until the wait ended or the connection closed, as text.
    pub text: String,
    /// The peer closed the connection within the wait.
    pub closed: bool,
}

impl TcpReply {
    /// The first line (a status line, for SIP), or "".
    pub fn first_line(&self) -> &str {
        self.text.lines().next().unwrap_or("")
    }
}

/// Opens a TCP connection, writes `bytes`, and reads until `wait` ends or
/// chorus closes the connection (for malformed-SIP tests over TCP).
pub async fn send_raw_tcp(chorus: SocketAddr, bytes: &[u8], wait: Duration) -> TcpReply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(chorus)
        .await
        .expect("chorus accepts TCP");
    stream.write_all(bytes).await.expect("write");
    let mut text = Vec::new();
    let mut buf = vec![0u8; 65536];
    let deadline = tokio::time::Instant::now() + wait;
    let closed = loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => break false,
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(n)) => text.extend_from_slice(&buf[..n]),
        }
    };
    TcpReply {
        text: String::from_utf8_lossy(&text).into_owned(),
        closed,
    }
}

/// Sends an out-of-dialog OPTIONS (retransmitted per timer E) and returns
/// the final status, or `None` if nothing final arrived within `wait`.
pub async fn options(chorus: SocketAddr, wait: Duration) -> Option<u16> {
    let ep = Endpoint::bind(chorus, "probe", Arc::new(AtomicBool::new(false)))
        .await
        .ok()?;
    let _task = AbortOnDrop(tokio::spawn(Arc::clone(&ep).run()));
    let ids = DialogIds::new(&ep, "probe", "ping");
    let b = branch();
    let req = ids.request("OPTIONS", &ids.request_uri, &b, &ids.to, 1);
    let mut tx = ClientTx::start(&ep, &b, "OPTIONS", req.to_bytes(ep.local)).await;
    tx.final_response(Instant::now() + wait, &mut Vec::new())
        .await?
        .status()
}
