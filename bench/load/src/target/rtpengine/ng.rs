//! The ng control channel: bencoded commands over UDP, each datagram
//! `<cookie> <dict>`, each reply `<cookie> <dict>` with the same cookie.
//!
//! UDP loses datagrams, so every command is sent again every
//! [`RETRANSMIT`] until its reply comes, and given up after [`GIVE_UP`].
//! Resending is safe: rtpengine keeps the reply of every cookie it has
//! seen and answers a repeat with that reply without running the command
//! twice. That same cache is why cookies must never repeat, not even
//! across processes: rtpengine keys it by the cookie alone — not by the
//! sender, not by the command — so a `delete` sent with a cookie an
//! earlier `ping` used gets `pong` back and deletes nothing. A cookie here
//! is the process id, this channel's start time and a counter.
//!
//! Replies are matched to commands by cookie; a reply to a command no
//! longer in flight (a late answer to a resend) is dropped. The socket is
//! connected to the server, so the kernel drops datagrams from anyone else
//! and reports an ICMP "port unreachable" as a refused receive, which the
//! give-up message repeats as a hint that nothing listens there.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::bencode::{self, Value};

/// How long a command waits for its reply before it is sent again.
pub const RETRANSMIT: Duration = Duration::from_millis(500);
/// How long a command waits for its reply, resends included, before it
/// fails.
pub const GIVE_UP: Duration = Duration::from_secs(4);

/// Channels made by this process, so two of them never share cookies.
static CHANNELS: AtomicU64 = AtomicU64::new(0);

/// What came of one command.
#[derive(Debug)]
pub struct Reply<T> {
    /// What the caller tagged the command with.
    pub tag: T,
    /// The reply dictionary (its `result` was `ok` or `pong`), or why
    /// there is none: rtpengine's `error-reason`, a malformed reply, or
    /// no reply within [`GIVE_UP`].
    pub outcome: Result<Value, String>,
    /// From the command's first sending to its reply (or to giving up).
    pub elapsed: Duration,
}

/// What one read brought.
enum Received<T> {
    Reply(Reply<T>),
    /// A datagram answering nothing in flight (a resend's late twin).
    Stray,
    Nothing,
}

/// A command awaiting its reply.
struct InFlight<T> {
    tag: T,
    command: String,
    datagram: Vec<u8>,
    first_sent: Instant,
    last_sent: Instant,
    sends: u32,
}

/// Commands in flight to one rtpengine.
pub struct Channel<T> {
    server: SocketAddr,
    socket: UdpSocket,
    cookie_prefix: String,
    sent: u64,
    in_flight: HashMap<String, InFlight<T>>,
    /// The last receive error (a refusal, say), for give-up messages.
    last_error: Option<String>,
    buf: Vec<u8>,
}

impl<T> Channel<T> {
    /// A channel from a fresh socket on 127.0.0.1 to `server`.
    pub fn new(server: SocketAddr) -> Result<Self, String> {
        let fail = |e: std::io::Error| format!("ng socket to rtpengine at {server}: {e}");
        let socket = UdpSocket::bind(("127.0.0.1", 0)).map_err(fail)?;
        socket.connect(server).map_err(fail)?;
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let channel = CHANNELS.fetch_add(1, Ordering::Relaxed);
        Ok(Self {
            server,
            socket,
            cookie_prefix: format!("{:x}.{started:x}.{channel}.", std::process::id()),
            sent: 0,
            in_flight: HashMap::new(),
            last_error: None,
            // ng replies are a few kB (a `delete` lists every stream's
            // counters); one datagram never exceeds this.
            buf: vec![0; 65_536],
        })
    }

    /// The server's address.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Commands awaiting their replies.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Forgets every command in flight: their replies will be dropped.
    pub fn abandon_all(&mut self) {
        self.in_flight.clear();
    }

    /// Sends `message` (a dictionary holding `command`) under a new cookie.
    pub fn send(&mut self, tag: T, message: &Value) -> Result<(), String> {
        let command = message.text_at("command").unwrap_or("?").to_string();
        self.sent += 1;
        let cookie = format!("{}{}", self.cookie_prefix, self.sent);
        let mut datagram = format!("{cookie} ").into_bytes();
        datagram.extend(message.encode());
        self.socket
            .send(&datagram)
            .map_err(|e| format!("sending `{command}` to rtpengine at {}: {e}", self.server))?;
        let now = Instant::now();
        let in_flight = InFlight {
            tag,
            command,
            datagram,
            first_sent: now,
            last_sent: now,
            sends: 1,
        };
        self.in_flight.insert(cookie, in_flight);
        Ok(())
    }

    /// The next reply (or give-up), resending commands as they fall due,
    /// or `None` once `until` has passed without one. With `until` already
    /// past, only what has arrived is read.
    pub fn next(&mut self, until: Instant) -> Option<Reply<T>> {
        loop {
            let now = Instant::now();
            if let Some(given_up) = self.give_up_one(now) {
                return Some(given_up);
            }
            self.resend_due(now);
            let wake = self.next_due().map_or(until, |due| due.min(until));
            match self.receive(wake.saturating_duration_since(now)) {
                Received::Reply(reply) => return Some(reply),
                // A stray datagram: what is queued behind it is still due.
                Received::Stray => {}
                Received::Nothing if Instant::now() >= until => return None,
                Received::Nothing => {}
            }
        }
    }

    /// Fails the first command past [`GIVE_UP`], if any.
    fn give_up_one(&mut self, now: Instant) -> Option<Reply<T>> {
        let cookie = self
            .in_flight
            .iter()
            .find(|(_, f)| now.duration_since(f.first_sent) >= GIVE_UP)
            .map(|(cookie, _)| cookie.clone())?;
        let lost = self.in_flight.remove(&cookie)?;
        let hint = self
            .last_error
            .as_deref()
            .map(|e| format!(" (last receive error: {e})"))
            .unwrap_or_default();
        Some(Reply {
            tag: lost.tag,
            outcome: Err(format!(
                "no reply to `{}` from rtpengine at {} in {} s ({} sends){hint}",
                lost.command,
                self.server,
                GIVE_UP.as_secs(),
                lost.sends
            )),
            elapsed: now.duration_since(lost.first_sent),
        })
    }

    fn resend_due(&mut self, now: Instant) {
        for f in self.in_flight.values_mut() {
            if now.duration_since(f.last_sent) >= RETRANSMIT {
                // A failed resend is just one more lost datagram: the
                // next resend or the give-up deals with it.
                let _ = self.socket.send(&f.datagram);
                f.last_sent = now;
                f.sends += 1;
            }
        }
    }

    /// When the next resend or give-up falls due.
    fn next_due(&self) -> Option<Instant> {
        self.in_flight
            .values()
            .map(|f| (f.last_sent + RETRANSMIT).min(f.first_sent + GIVE_UP))
            .min()
    }

    /// Reads one datagram, waiting up to `wait` (not at all if zero).
    fn receive(&mut self, wait: Duration) -> Received<T> {
        let len = match self.recv_within(wait) {
            Ok(len) => len,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Received::Nothing;
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                return Received::Nothing;
            }
        };
        let Some((cookie, body)) = split_cookie(&self.buf[..len]) else {
            return Received::Stray;
        };
        let Some(answered) = self.in_flight.remove(cookie) else {
            return Received::Stray;
        };
        Received::Reply(Reply {
            tag: answered.tag,
            outcome: outcome(&answered.command, body),
            elapsed: answered.first_sent.elapsed(),
        })
    }

    fn recv_within(&mut self, wait: Duration) -> std::io::Result<usize> {
        if wait.is_zero() {
            self.socket.set_nonblocking(true)?;
            let result = self.socket.recv(&mut self.buf);
            self.socket.set_nonblocking(false)?;
            result
        } else {
            self.socket.set_read_timeout(Some(wait))?;
            self.socket.recv(&mut self.buf)
        }
    }
}

/// `<cookie> <body>` split at the first space; `None` if there is none.
fn split_cookie(datagram: &[u8]) -> Option<(&str, &[u8])> {
    let space = datagram.iter().position(|&b| b == b' ')?;
    let cookie = std::str::from_utf8(&datagram[..space]).ok()?;
    Some((cookie, &datagram[space + 1..]))
}

/// A reply body as the command's outcome: the dictionary when its
/// `result` is `ok` or `pong`, rtpengine's reason when it is `error`.
fn outcome(command: &str, body: &[u8]) -> Result<Value, String> {
    let reply = bencode::decode(body)
        .map_err(|e| format!("malformed reply to `{command}` from rtpengine: {e}"))?;
    match reply.text_at("result") {
        Some("ok" | "pong") => Ok(reply),
        Some("error") => Err(format!(
            "rtpengine refused `{command}`: {}",
            reply.text_at("error-reason").unwrap_or("(no reason given)")
        )),
        other => Err(format!(
            "reply to `{command}` from rtpengine has result {other:?}, not ok"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_as_outcomes() {
        assert!(outcome("ping", b"d6:result4:ponge").is_ok());
        let refused = outcome("offer", b"d12:error-reason8:No SDP!!6:result5:errore");
        assert_eq!(refused.unwrap_err(), "rtpengine refused `offer`: No SDP!!");
        assert!(
            outcome("offer", b"d6:result2:ok")
                .unwrap_err()
                .starts_with("malformed reply to `offer`")
        );
        assert!(outcome("offer", b"d6:result4:huh?e").is_err());
        assert_eq!(split_cookie(b"c1 d6:result2:oke").unwrap().0, "c1");
        assert!(split_cookie(b"nospace").is_none());
    }

    #[test]
    fn cookies_never_repeat_across_channels() {
        let server = SocketAddr::from(([127, 0, 0, 1], 9));
        let a = Channel::<()>::new(server).unwrap();
        let b = Channel::<()>::new(server).unwrap();
        assert_ne!(a.cookie_prefix, b.cookie_prefix);
    }

    #[test]
    fn a_silent_server_gets_resends_then_the_command_fails() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        silent
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut channel = Channel::new(silent.local_addr().unwrap()).unwrap();
        let ping = Value::dict([("command", Value::text("ping"))]);
        channel.send(7, &ping).unwrap();
        let reply = channel.next(Instant::now() + GIVE_UP * 2).unwrap();
        assert_eq!(reply.tag, 7);
        let error = reply.outcome.unwrap_err();
        assert!(error.contains("no reply to `ping`"), "{error}");
        assert!(reply.elapsed >= GIVE_UP && reply.elapsed < GIVE_UP + RETRANSMIT);
        assert_eq!(channel.in_flight(), 0);
        // Every send carried the same cookie and command.
        let mut buf = [0u8; 256];
        let mut seen = Vec::new();
        while let Ok(len) = silent.recv(&mut buf) {
            seen.push(buf[..len].to_vec());
        }
        assert!((7..=9).contains(&seen.len()), "{} sends", seen.len());
        assert!(seen.windows(2).all(|w| w[0] == w[1]));
        assert!(seen[0].ends_with(b" d7:command4:pinge"));
    }
}
