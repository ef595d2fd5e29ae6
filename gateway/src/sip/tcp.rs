//! SIP over TCP, read by chorus rather than by rsipstack, so that a stream
//! is screened exactly like a datagram and every connection is bounded.
//!
//! [`serve`] accepts connections up to `sip.tcp_max_connections` (one over
//! is closed at once and counted). Each connection's task frames the
//! stream ([`screen::frame`]), passes every whole message through the
//! shared [`Guard`] (the same verdicts as UDP: 400, 501, 505, 413, the
//! INVITE rate), answers CRLF pings, and hands what passes to rsipstack
//! through an in-memory channel connection; what rsipstack sends on that
//! connection is written back to the socket. A connection is closed when
//! the peer closes it, when a message cannot be framed (after its 400),
//! when a started message does not complete within `sip.tcp_idle_timeout`,
//! or, while it carries no call, when no whole message arrived for that
//! long: bytes that complete nothing never reset the clock, so a slow
//! sender cannot hold a connection. When a connection closes, the calls
//! that came over it end ([`Link::closed`]).
//!
//! Buffers grow with what a message needs (a few KB), within the screen's
//! limits, and are freed with the connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rsipstack::sip::{SipMessage, Transport};
use rsipstack::transaction::endpoint::EndpointInnerRef;
use rsipstack::transport::channel::ChannelConnection;
use rsipstack::transport::{SipAddr, SipConnection, TransportEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::guard::Guard;
use super::screen::{self, Framed, Rejection, Verdict};

/// Messages rsipstack may queue for one connection before it waits.
const OUTGOING: usize = 64;
/// How long one write may take before the connection is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes read per call.
const READ_CHUNK: usize = 4096;

/// One open TCP connection, as the calls over it see it.
#[derive(Debug, Default)]
pub struct Link {
    calls: AtomicUsize,
    /// Cancelled when the connection closes: its calls end.
    pub closed: CancellationToken,
}

/// A call's hold on its connection: counted while it lives, so an idle
/// timeout never closes a connection that carries a call.
pub struct LinkCall(Arc<Link>);

impl LinkCall {
    /// Cancelled when the call's connection closes.
    pub fn closed(&self) -> CancellationToken {
        self.0.closed.clone()
    }
}

impl Drop for LinkCall {
    fn drop(&mut self) {
        self.0.calls.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The open connections, by peer address; cheap to clone.
#[derive(Clone, Default)]
pub struct Links(Arc<Mutex<HashMap<SocketAddr, Arc<Link>>>>);

impl Links {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Arc<Link>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ties a new call to the connection its INVITE came over, if that is
    /// one of ours.
    pub fn call_over(&self, connection: Option<&SipConnection>) -> Option<LinkCall> {
        let Some(SipConnection::Channel(channel)) = connection else {
            return None;
        };
        let peer = channel.get_addr().get_socketaddr().ok()?;
        let link = self.lock().get(&peer)?.clone();
        link.calls.fetch_add(1, Ordering::Relaxed);
        Some(LinkCall(link))
    }

    fn open(&self, peer: SocketAddr) -> Arc<Link> {
        let link = Arc::new(Link::default());
        self.lock().insert(peer, link.clone());
        link
    }

    fn close(&self, peer: SocketAddr) {
        if let Some(link) = self.lock().remove(&peer) {
            link.closed.cancel();
        }
    }
}

/// What bounds the TCP side.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// `sip.tcp_max_connections`.
    pub max_connections: usize,
    /// `sip.tcp_idle_timeout`.
    pub idle_timeout: Duration,
}

/// Accepts connections on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    stack: EndpointInnerRef,
    guard: Arc<Guard>,
    links: Links,
    limits: TcpLimits,
    stop: CancellationToken,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, most likely: wait rather than spin.
                    tracing::warn!(%error, "cannot accept a SIP TCP connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stop.cancelled() => return,
        };
        if links.len() >= limits.max_connections {
            guard.reject(Rejection::TooManyConnections, peer, "TCP connection closed");
            continue; // dropping the stream closes it
        }
        let link = links.open(peer);
        let connection = Connection {
            stack: stack.clone(),
            guard: guard.clone(),
            limits,
            peer,
            link,
        };
        let (links, stop) = (links.clone(), stop.clone());
        tokio::spawn(async move {
            connection.run(stream, stop).await;
            links.close(peer);
        });
    }
}

/// One connection's reader and writer.
struct Connection {
    stack: EndpointInnerRef,
    guard: Arc<Guard>,
    limits: TcpLimits,
    peer: SocketAddr,
    link: Arc<Link>,
}

/// Why a connection's loop ended.
enum Close {
    /// The peer closed it, or it failed.
    Gone,
    /// We closed it (unframeable, idle, stopping).
    Ours,
}

impl Connection {
    async fn run(self, mut stream: TcpStream, stop: CancellationToken) {
        let _ = stream.set_nodelay(true);
        let remote = SipAddr {
            r#type: Some(Transport::Tcp),
            addr: self.peer.into(),
        };
        let (to_stack, from_us) = mpsc::unbounded_channel();
        let (to_us, mut from_stack) = mpsc::channel(OUTGOING);
        let channel = match ChannelConnection::create_connection_bounded(
            from_us,
            to_us,
            remote.clone(),
            Some(stop.child_token()),
        )
        .await
        {
            Ok(channel) => SipConnection::Channel(channel),
            Err(error) => {
                tracing::warn!(%error, "cannot serve a SIP TCP connection");
                return;
            }
        };
        // The stack reads what we send on `to_stack` and writes to us on
        // `to_us`; dropping `to_stack` (below) retires the connection there.
        self.stack.transport_layer.add_connection(channel.clone());
        let mut buffer = Vec::new();
        let mut chunk = [0u8; READ_CHUNK];
        let mut last_message = Instant::now();
        let mut started: Option<Instant> = None;
        let close = loop {
            match self
                .take_messages(&mut buffer, &mut stream, &channel, &remote, &to_stack)
                .await
            {
                Ok(0) => {}
                Ok(_) => last_message = Instant::now(),
                Err(close) => break close,
            }
            if buffer.is_empty() {
                started = None;
            } else {
                started.get_or_insert_with(Instant::now);
            }
            let deadline = self.deadline(last_message, started);
            tokio::select! {
                read = stream.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => break Close::Gone,
                    Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                },
                out = from_stack.recv() => match out {
                    Some(TransportEvent::Incoming(message, ..)) => {
                        if write(&mut stream, &message.to_bytes()).await.is_err() {
                            break Close::Gone;
                        }
                    }
                    Some(_) => {}
                    None => break Close::Ours,
                },
                () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.guard.reject(Rejection::IdleConnection, self.peer, "idle TCP connection closed");
                    break Close::Ours;
                }
                () = stop.cancelled() => break Close::Ours,
            }
        };
        if matches!(close, Close::Ours) {
            let _ = stream.shutdown().await;
        }
        let calls = self.link.calls.load(Ordering::Relaxed);
        tracing::debug!(peer = %self.peer, calls, "SIP TCP connection closed");
    }

    /// When the connection is given up: a started message must complete
    /// within the idle timeout; with none started, a connection without
    /// calls must see a whole message within it.
    fn deadline(&self, last_message: Instant, started: Option<Instant>) -> Option<Instant> {
        let idle = self.limits.idle_timeout;
        match started {
            Some(at) => Some(at + idle),
            None if self.link.calls.load(Ordering::Relaxed) == 0 => Some(last_message + idle),
            None => None,
        }
    }

    /// Takes every whole message off the front of `buffer`: screened,
    /// answered or handed to the stack. Returns how many there were, or
    /// why the connection must close.
    async fn take_messages(
        &self,
        buffer: &mut Vec<u8>,
        stream: &mut TcpStream,
        channel: &SipConnection,
        remote: &SipAddr,
        to_stack: &mpsc::UnboundedSender<TransportEvent>,
    ) -> Result<usize, Close> {
        let mut taken = 0;
        loop {
            match screen::frame(buffer) {
                Framed::Incomplete => return Ok(taken),
                Framed::KeepAlive { n, ping } => {
                    buffer.drain(..n);
                    taken += 1;
                    if ping && write(stream, b"\r\n").await.is_err() {
                        return Err(Close::Gone);
                    }
                }
                Framed::Broken(verdict) => {
                    if let Verdict::Reply { response, why } = &verdict {
                        let status = response.lines().next().unwrap_or("");
                        self.guard.reject(*why, self.peer, status);
                        let _ = write(stream, response.as_bytes()).await;
                    } else if let Verdict::Drop(why) = verdict {
                        self.guard
                            .reject(why, self.peer, "unframeable TCP stream closed");
                    }
                    return Err(Close::Ours);
                }
                Framed::Message(n) => {
                    taken += 1;
                    match self.guard.check(&buffer[..n], self.peer) {
                        Verdict::Pass(len) => {
                            self.pass(&buffer[..len], channel, remote, to_stack)?
                        }
                        Verdict::Reply { response, .. } => {
                            if write(stream, response.as_bytes()).await.is_err() {
                                return Err(Close::Gone);
                            }
                        }
                        Verdict::Drop(_) => {}
                    }
                    buffer.drain(..n);
                    if buffer.capacity() > 2 * READ_CHUNK && buffer.len() < READ_CHUNK {
                        buffer.shrink_to(READ_CHUNK);
                    }
                }
            }
        }
    }

    /// Hands one screened message to the stack, stamped with where it came
    /// from (the Via's `received`/`rport`, as rsipstack's own transports do).
    fn pass(
        &self,
        bytes: &[u8],
        channel: &SipConnection,
        remote: &SipAddr,
        to_stack: &mpsc::UnboundedSender<TransportEvent>,
    ) -> Result<(), Close> {
        let Ok(message) = SipMessage::try_from(bytes) else {
            return Ok(()); // screened: cannot happen, but never fatal
        };
        let message = match SipConnection::update_msg_received(message, self.peer, Transport::Tcp) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, "cannot stamp a TCP message");
                return Ok(());
            }
        };
        to_stack
            .send(TransportEvent::Incoming(
                message,
                channel.clone(),
                remote.clone(),
            ))
            .map_err(|_| Close::Ours)
    }
}

async fn write(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(bytes)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}
