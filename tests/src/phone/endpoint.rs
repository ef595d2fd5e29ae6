//! The phone's SIP side: one UDP socket, a background task that answers the
//! far end's requests and routes responses to waiting client transactions,
//! and RFC 3261 retransmission (timer A for INVITE, timer E for the rest).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::sip::{self, SipMessage};

use super::message::response_to;

/// RFC 3261 T1: first retransmission interval.
pub(crate) const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2: cap for non-INVITE retransmission intervals.
const T2: Duration = Duration::from_secs(4);

/// A fresh random token for tags, branches and Call-IDs. `RandomState` is
/// seeded randomly per process, so tokens differ across test processes too.
pub(crate) fn token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}",
        RandomState::new().hash_one((n, std::process::id()))
    )
}

/// A new RFC 3261 branch (magic cookie prefix).
pub(crate) fn branch() -> String {
    format!("z9hG4bK{}", token())
}

/// Locks a mutex, carrying on if a panicking test thread poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

type WaiterKey = (String, String);

/// Requests a listening phone's answering side handles itself (see
/// [`Endpoint::listen`]), with the address each came from.
pub(crate) type Incoming = mpsc::UnboundedReceiver<(SipMessage, SocketAddr)>;

/// One UA's SIP socket plus the state its background task shares with calls.
pub(crate) struct Endpoint {
    pub socket: UdpSocket,
    pub local: SocketAddr,
    /// Where requests go: the dialled address, or for a listening phone the
    /// source of the INVITE it took.
    peer: Mutex<SocketAddr>,
    /// Our tag, used when answering out-of-dialog requests.
    pub local_tag: String,
    /// Our Contact URI.
    pub contact: String,
    /// Client transactions waiting for responses, by (branch, CSeq method).
    waiters: Mutex<HashMap<WaiterKey, mpsc::UnboundedSender<SipMessage>>>,
    /// ACK sent per INVITE CSeq, re-sent when the response is retransmitted.
    acks: Mutex<HashMap<u32, Vec<u8>>>,
    /// When the far end sent BYE, once it has.
    pub bye: watch::Sender<Option<Instant>>,
    /// Methods of every request the far end sent, in order.
    pub requests: Mutex<Vec<String>>,
    /// What went over the wire, in order: `"<- SIP/2.0 200"` for each
    /// response and `"<- BYE"` for each request received, `"-> ACK"` for
    /// each ACK sent (for tests of message order).
    pub wire: Mutex<Vec<String>>,
    /// SDP to answer a re-INVITE from the far end with.
    pub answer_sdp: Mutex<String>,
    /// Cleared on BYE so the media sender falls silent like a real phone.
    pub media_active: Arc<AtomicBool>,
    /// A listening phone: initial INVITEs, CANCELs and ACKs go here rather
    /// than being answered by the receive loop.
    incoming: Option<mpsc::UnboundedSender<(SipMessage, SocketAddr)>>,
}

impl Endpoint {
    /// Binds a fresh loopback socket talking to `peer`.
    pub(crate) async fn bind(
        peer: SocketAddr,
        user: &str,
        media_active: Arc<AtomicBool>,
    ) -> std::io::Result<Arc<Endpoint>> {
        Self::open(Some(peer), user, media_active, None).await
    }

    /// Binds a fresh loopback socket that waits to be called; the receiver
    /// gets every initial INVITE, CANCEL and ACK, and the peer becomes
    /// whoever sent the INVITE ([`Endpoint::set_peer`]).
    pub(crate) async fn listen(
        user: &str,
        media_active: Arc<AtomicBool>,
    ) -> std::io::Result<(Arc<Endpoint>, Incoming)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let ep = Self::open(None, user, media_active, Some(tx)).await?;
        Ok((ep, rx))
    }

    async fn open(
        peer: Option<SocketAddr>,
        user: &str,
        media_active: Arc<AtomicBool>,
        incoming: Option<mpsc::UnboundedSender<(SipMessage, SocketAddr)>>,
    ) -> std::io::Result<Arc<Endpoint>> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let local = socket.local_addr()?;
        Ok(Arc::new(Endpoint {
            socket,
            local,
            peer: Mutex::new(peer.unwrap_or(local)),
            local_tag: token(),
            contact: format!("sip:{user}@{local}"),
            waiters: Mutex::new(HashMap::new()),
            acks: Mutex::new(HashMap::new()),
            bye: watch::channel(None).0,
            requests: Mutex::new(Vec::new()),
            wire: Mutex::new(Vec::new()),
            answer_sdp: Mutex::new(String::new()),
            media_active,
            incoming,
        }))
    }

    /// Where requests go.
    pub(crate) fn peer(&self) -> SocketAddr {
        *lock(&self.peer)
    }

    /// Sends later requests to `peer` (a listening phone, once called).
    pub(crate) fn set_peer(&self, peer: SocketAddr) {
        *lock(&self.peer) = peer;
    }

    /// Sends a datagram to the peer. Errors are ignored on purpose: UDP loss
    /// is what retransmission is for.
    pub(crate) async fn send(&self, data: &[u8]) {
        let _ = self.socket.send_to(data, self.peer()).await;
    }

    /// Records the ACK for INVITE `cseq` and sends it.
    pub(crate) async fn send_ack(&self, cseq: u32, ack: Vec<u8>) {
        lock(&self.wire).push("-> ACK".to_owned());
        self.send(&ack).await;
        lock(&self.acks).insert(cseq, ack);
    }

    /// Receive loop; runs until aborted.
    pub(crate) async fn run(self: Arc<Self>) {
        let mut buf = vec![0u8; 65536];
        loop {
            let Ok((n, from)) = self.socket.recv_from(&mut buf).await else {
                // ICMP errors surface here on some systems; keep listening.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let Some(msg) = buf.get(..n).and_then(sip::parse) else {
                continue;
            };
            let line = match msg.status() {
                Some(status) => format!("<- SIP/2.0 {status}"),
                None => format!("<- {}", msg.method().unwrap_or("")),
            };
            lock(&self.wire).push(line);
            if msg.status().is_some() {
                self.on_response(msg).await;
            } else {
                self.on_request(msg, from).await;
            }
        }
    }

    async fn on_response(&self, msg: SipMessage) {
        let key = (
            msg.via_branch().unwrap_or_default(),
            msg.cseq().map(|c| c.1).unwrap_or_default(),
        );
        let waiter = lock(&self.waiters).get(&key).cloned();
        let msg = match waiter {
            Some(tx) => match tx.send(msg) {
                Ok(()) => return,
                Err(mpsc::error::SendError(msg)) => msg,
            },
            None => msg,
        };
        // A retransmitted final response to an INVITE we already
        // acknowledged means our ACK was lost: send it again.
        if let Some((cseq, method)) = msg.cseq()
            && method == "INVITE"
            && msg.status().unwrap_or(0) >= 200
        {
            let ack = lock(&self.acks).get(&cseq).cloned();
            if let Some(ack) = ack {
                self.send(&ack).await;
            }
        }
    }

    async fn on_request(&self, msg: SipMessage, from: SocketAddr) {
        let method = msg.method().unwrap_or("").to_ascii_uppercase();
        lock(&self.requests).push(method.clone());
        let answering_side = match method.as_str() {
            "INVITE" => msg.to_tag().is_none(),
            "CANCEL" | "ACK" => true,
            _ => false,
        };
        if answering_side && let Some(incoming) = &self.incoming {
            let _ = incoming.send((msg, from));
            return;
        }
        let reply = match method.as_str() {
            "ACK" => return,
            "BYE" => {
                self.media_active.store(false, Ordering::Relaxed);
                self.bye.send_if_modified(|at| {
                    let first = at.is_none();
                    at.get_or_insert_with(Instant::now);
                    first
                });
                response_to(&msg, 200, "OK", &self.local_tag, None, None)
            }
            "INVITE" => {
                let sdp = lock(&self.answer_sdp).clone();
                let contact = Some(self.contact.as_str());
                response_to(&msg, 200, "OK", &self.local_tag, contact, Some(&sdp))
            }
            _ => response_to(&msg, 200, "OK", &self.local_tag, None, None),
        };
        let _ = self.socket.send_to(&reply, from).await;
    }
}

/// A client transaction: sends a request, retransmits it per RFC 3261 and
/// yields its responses. Unregisters itself when dropped.
pub(crate) struct ClientTx {
    ep: Arc<Endpoint>,
    key: WaiterKey,
    rx: mpsc::UnboundedReceiver<SipMessage>,
    request: Vec<u8>,
    invite: bool,
    retransmit: bool,
    interval: Duration,
    next: Instant,
}

impl ClientTx {
    /// Registers for responses and sends the first copy of `request`.
    pub(crate) async fn start(
        ep: &Arc<Endpoint>,
        branch: &str,
        method: &str,
        request: Vec<u8>,
    ) -> ClientTx {
        let (tx, rx) = mpsc::unbounded_channel();
        let key = (branch.to_string(), method.to_string());
        lock(&ep.waiters).insert(key.clone(), tx);
        ep.send(&request).await;
        ClientTx {
            ep: Arc::clone(ep),
            key,
            rx,
            request,
            invite: method == "INVITE",
            retransmit: true,
            interval: T1,
            next: Instant::now() + T1,
        }
    }

    /// The next response, or `None` once `deadline` passes.
    pub(crate) async fn next(&mut self, deadline: Instant) -> Option<SipMessage> {
        loop {
            let wake = if self.retransmit {
                self.next.min(deadline)
            } else {
                deadline
            };
            tokio::select! {
                msg = self.rx.recv() => {
                    let msg = msg?;
                    let status = msg.status().unwrap_or(0);
                    // INVITE stops on any response (timer A); others only on
                    // a final one (timer E keeps going at T2 after 1xx).
                    if self.invite || status >= 200 {
                        self.retransmit = false;
                    } else {
                        self.interval = T2;
                    }
                    return Some(msg);
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    self.ep.send(&self.request).await;
                    self.interval = if self.invite {
                        self.interval * 2
                    } else {
                        (self.interval * 2).min(T2)
                    };
                    self.next = Instant::now() + self.interval;
                }
            }
        }
    }

    /// The next final (>= 200) response, collecting provisional statuses.
    pub(crate) async fn final_response(
        &mut self,
        deadline: Instant,
        provisional: &mut Vec<u16>,
    ) -> Option<SipMessage> {
        loop {
            let msg = self.next(deadline).await?;
            match msg.status() {
                Some(s) if s >= 200 => return Some(msg),
                Some(s) => provisional.push(s),
                None => {}
            }
        }
    }
}

impl Drop for ClientTx {
    fn drop(&mut self) {
        lock(&self.ep.waiters).remove(&self.key);
    }
}
