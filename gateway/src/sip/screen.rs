//! Screening: every SIP message, whatever transport brought it, passes
//! [`screen`] before the stack sees it, and a malformed request is answered
//! here.
//!
//! rsipstack drops a message it cannot parse, or whose essential headers
//! are missing, without a word (and over TCP it closes the connection);
//! RFC 3261 §8.2 wants a `400 Bad Request`, §8.2.1 a `501 Not Implemented`
//! for a method we do not know and §8.2.2 (by way of §21.5.20) a `505` for
//! another SIP version, whenever a response can still be routed, i.e. the
//! request has a Via. §18.3 adds the `Content-Length` rules: a datagram
//! shorter than its `Content-Length` is an error (400), bytes past it are
//! dropped, and a value that is not a number cannot frame anything (400).
//!
//! The UDP socket ([`super::udp`]) screens each datagram; the TCP reader
//! ([`super::tcp`]) frames the stream with [`frame`] and screens each whole
//! message, so both transports give the same answers.

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Method, SipMessage};

/// The largest header section we read (start line and headers): real
/// requests carry a few KB; anything this big is an attack or a bug.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The largest body we take: an SDP offer is well under 4 KB.
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// What to do with one received message.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand its first `len` bytes to the SIP stack (bytes past its
    /// `Content-Length` are dropped).
    Pass(usize),
    /// Answer it with `response` and drop it.
    Reply {
        /// The whole response, ready to send.
        response: String,
        /// Why, for metrics and logs.
        why: Rejection,
    },
    /// Drop it silently (not SIP, or no way to route a response).
    Drop(Rejection),
}

/// Why a message (or connection) was turned away: the `reason` label of
/// `chorus_sip_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Missing or unusable essential headers, unparsable (400).
    Malformed,
    /// A method we do not know (501).
    UnknownMethod,
    /// Another SIP version (505).
    Version,
    /// Headers or body over our limits.
    TooLarge,
    /// Not SIP at all, or a broken request without a Via (dropped).
    NotSip,
    /// An INVITE from outside `sip.trusted_sources` (403).
    Untrusted,
    /// An INVITE from outside `sip.trusted_sources` challenged for digest
    /// credentials (407, `sip.inbound_auth = "digest"`).
    Challenged,
    /// Over `sip.invite_rate` for its source.
    RateLimited,
    /// Over `sip.max_calls`.
    OverCapacity,
    /// A TCP connection over `sip.tcp_max_connections`.
    TooManyConnections,
    /// A TCP connection closed for idling or for a message that never
    /// completed.
    IdleConnection,
}

impl Rejection {
    /// Every reason, in declaration order (the discriminant indexes it).
    pub const ALL: [Rejection; 11] = [
        Self::Malformed,
        Self::UnknownMethod,
        Self::Version,
        Self::TooLarge,
        Self::NotSip,
        Self::Untrusted,
        Self::Challenged,
        Self::RateLimited,
        Self::OverCapacity,
        Self::TooManyConnections,
        Self::IdleConnection,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownMethod => "unknown_method",
            Self::Version => "version",
            Self::TooLarge => "too_large",
            Self::NotSip => "not_sip",
            Self::Untrusted => "untrusted_source",
            Self::Challenged => "challenged",
            Self::RateLimited => "rate_limited",
            Self::OverCapacity => "over_capacity",
            Self::TooManyConnections => "too_many_connections",
            Self::IdleConnection => "idle_connection",
        }
    }
}

/// Methods the parser knows; anything else in a request line gets 501.
const KNOWN_METHODS: &[&str] = &[
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

/// Decides whether one whole message (a datagram, or a message framed out
/// of a stream) may go to the stack.
pub fn screen(message: &[u8]) -> Verdict {
    if message.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Pass(message.len()); // keep-alive (RFC 5626 CRLF ping)
    }
    let (head_len, body_start) = match header_end(message) {
        Some(end) => end,
        None => (message.len(), message.len()),
    };
    let head = String::from_utf8_lossy(&message[..head_len]);
    let request = RequestLine::read(head.lines().next().unwrap_or(""));
    // What is not a request is not answered: a broken response or noise.
    let reply_or_drop = |code, reason, why| match request {
        Some(_) => refuse(&head, code, reason, "", why),
        None => Verdict::Drop(Rejection::NotSip),
    };
    if head_len > MAX_HEADER_BYTES {
        return reply_or_drop(400, "Bad Request (headers too large)", Rejection::TooLarge);
    }
    match request {
        Some(line) if !line.version.eq_ignore_ascii_case("SIP/2.0") => {
            return refuse(&head, 505, "Version Not Supported", "", Rejection::Version);
        }
        Some(line) if !KNOWN_METHODS.contains(&line.method) => {
            return refuse(&head, 501, "Not Implemented", "", Rejection::UnknownMethod);
        }
        _ => {}
    }
    let body = message.len() - body_start;
    let len = match content_length(&head) {
        Err(BadLength::Unreadable) => {
            return reply_or_drop(400, "Bad Request (Content-Length)", Rejection::Malformed);
        }
        Err(BadLength::TooLarge) => {
            return reply_or_drop(413, "Request Entity Too Large", Rejection::TooLarge);
        }
        Ok(Some(n)) if n > body => {
            // RFC 3261 §18.3: the datagram ended before its body did.
            return reply_or_drop(400, "Bad Request (Content-Length)", Rejection::Malformed);
        }
        Ok(Some(n)) => body_start + n,
        Ok(None) if body > MAX_BODY_BYTES => {
            return reply_or_drop(413, "Request Entity Too Large", Rejection::TooLarge);
        }
        Ok(None) => message.len(),
    };
    match SipMessage::try_from(&message[..len]) {
        Ok(SipMessage::Request(req)) => match missing_essential(&req) {
            None => Verdict::Pass(len),
            Some(what) => refuse(&head, 400, what, "", Rejection::Malformed),
        },
        Ok(SipMessage::Response(_)) => Verdict::Pass(len),
        Err(_) => reply_or_drop(400, "Bad Request", Rejection::Malformed),
    }
}

/// What a stream holds next, as far as [`frame`] can tell.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed {
    /// The first `n` bytes are one whole message (screen them).
    Message(usize),
    /// The first `n` bytes are a keep-alive: `\r\n\r\n` is a ping, to be
    /// answered with `\r\n` (RFC 5626 §4.4.1); `\r\n` is a pong.
    KeepAlive {
        /// Bytes to consume.
        n: usize,
        /// A ping, which wants a pong.
        ping: bool,
    },
    /// Not enough bytes yet.
    Incomplete,
    /// The stream cannot be framed past this point: send this answer (if
    /// any) and close the connection.
    Broken(Verdict),
}

/// Finds the next message in a stream buffer (RFC 3261 §18.3: over a
/// stream, `Content-Length` says where the body ends; none means none).
pub fn frame(buffer: &[u8]) -> Framed {
    if buffer.starts_with(b"\r\n\r\n") {
        return Framed::KeepAlive { n: 4, ping: true };
    }
    if buffer.starts_with(b"\n") {
        return Framed::KeepAlive { n: 1, ping: false }; // a stray line end
    }
    if buffer.starts_with(b"\r\n") {
        if buffer.len() < 4 && b"\r\n\r\n".starts_with(buffer) {
            return Framed::Incomplete; // maybe the start of a ping
        }
        return Framed::KeepAlive { n: 2, ping: false };
    }
    if let Some(eol) = buffer.iter().position(|&b| b == b'\n') {
        // A stream whose first line is neither a request nor a status line
        // is not SIP: nothing after it can be framed either.
        let line = String::from_utf8_lossy(&buffer[..eol]);
        let line = line.trim_end();
        if RequestLine::read(line).is_none() && !line.starts_with("SIP/") {
            return Framed::Broken(Verdict::Drop(Rejection::NotSip));
        }
    }
    let Some((head_len, body_start)) = header_end(buffer) else {
        if buffer.len() > MAX_HEADER_BYTES {
            return Framed::Broken(screen(buffer));
        }
        return Framed::Incomplete;
    };
    let head = String::from_utf8_lossy(&buffer[..head_len]);
    let body = match content_length(&head) {
        Ok(n) => n.unwrap_or(0),
        Err(_) => return Framed::Broken(screen(&buffer[..body_start])),
    };
    if head_len > MAX_HEADER_BYTES {
        return Framed::Broken(screen(&buffer[..body_start]));
    }
    if buffer.len() >= body_start + body {
        Framed::Message(body_start + body)
    } else {
        Framed::Incomplete
    }
}

/// `METHOD SP Request-URI SP SIP-Version`, loosely: what decides 501 and
/// 505.
#[derive(Debug, Clone, Copy)]
struct RequestLine<'a> {
    method: &'a str,
    version: &'a str,
}

impl<'a> RequestLine<'a> {
    fn read(line: &'a str) -> Option<Self> {
        let mut parts = line.split(' ');
        let method = parts.next()?;
        let _uri = parts.next()?;
        let version = parts.next()?.trim_end();
        let is_token = !method.is_empty()
            && method
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
        let is_version = version.len() > 4
            && version[..4].eq_ignore_ascii_case("SIP/")
            && version[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.');
        (is_token && is_version && parts.next().is_none()).then_some(Self { method, version })
    }
}

/// Where the header section ends: its length without the blank line, and
/// where the body starts (after CRLF CRLF, or a bare LF LF).
fn header_end(data: &[u8]) -> Option<(usize, usize)> {
    let crlf = data.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = data.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) if b < a => Some((b, b + 2)),
        (Some(a), _) => Some((a, a + 4)),
        (None, Some(b)) => Some((b, b + 2)),
        (None, None) => None,
    }
}

/// Why a `Content-Length` cannot be used.
enum BadLength {
    /// Not a non-negative decimal number, or two that disagree.
    Unreadable,
    /// Over [`MAX_BODY_BYTES`].
    TooLarge,
}

/// The `Content-Length` (or `l`) of a header section, if it has one.
fn content_length(head: &str) -> Result<Option<usize>, BadLength> {
    let mut found = None;
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if !(name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l")) {
            continue;
        }
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadLength::Unreadable);
        }
        let n = value.parse::<usize>().map_err(|_| BadLength::TooLarge)?;
        if found.is_some_and(|f| f != n) {
            return Err(BadLength::Unreadable);
        }
        found = Some(n);
    }
    match found {
        Some(n) if n > MAX_BODY_BYTES => Err(BadLength::TooLarge),
        other => Ok(other),
    }
}

/// The reason phrase for the first essential header that is missing or
/// unusable (RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards, Via).
fn missing_essential(req: &rsipstack::sip::Request) -> Option<&'static str> {
    if req.via_header().is_err() {
        return Some("Bad Request (Via)");
    }
    if req.from_header().and_then(|h| h.tag()).is_err() {
        return Some("Bad Request (From)");
    }
    if req.to_header().and_then(|h| h.tag()).is_err() {
        return Some("Bad Request (To)");
    }
    if req.call_id_header().is_err() {
        return Some("Bad Request (Call-ID)");
    }
    let Ok(cseq) = req.cseq_header() else {
        return Some("Bad Request (CSeq)");
    };
    match (cseq.seq(), cseq.method()) {
        (Ok(_), Ok(m)) if m == req.method || (req.method == Method::Ack && m == Method::Invite) => {
            None
        }
        _ => Some("Bad Request (CSeq)"),
    }
}

/// A stateless answer to a request, built by copying its routing headers
/// textually: the request may be too broken for the parser, but its Via,
/// From, To, Call-ID and CSeq lines are what the sender needs to match the
/// answer. `extra` is more header lines, each ending in CRLF. A request
/// without a Via cannot be answered and is dropped.
pub fn refuse(head: &str, code: u16, reason: &str, extra: &str, why: Rejection) -> Verdict {
    let mut headers = String::new();
    let mut has_via = false;
    for line in head.lines().skip(1) {
        if line.trim().is_empty() {
            break;
        }
        let Some((name, _)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let keep = matches!(
            name.as_str(),
            "via" | "v" | "from" | "f" | "to" | "t" | "call-id" | "i" | "cseq"
        );
        // A header line too long to be real is not echoed back.
        if keep && line.len() <= 1024 {
            has_via |= name == "via" || name == "v";
            headers.push_str(line.trim_end());
            headers.push_str("\r\n");
        }
    }
    if !has_via {
        return Verdict::Drop(Rejection::NotSip);
    }
    Verdict::Reply {
        response: format!("SIP/2.0 {code} {reason}\r\n{headers}{extra}Content-Length: 0\r\n\r\n"),
        why,
    }
}

/// Whether a message that passed screening starts a new call: an INVITE
/// whose To has no tag (what `sip.invite_rate` and `sip.max_calls` count).
pub fn is_initial_invite(message: &[u8]) -> bool {
    if !message.starts_with(b"INVITE ") {
        return false;
    }
    match SipMessage::try_from(message) {
        Ok(SipMessage::Request(req)) => req
            .to_header()
            .ok()
            .and_then(|to| to.tag().ok())
            .flatten()
            .is_none(),
        _ => false,
    }
}

#[cfg(test)]
#[path = "screen_tests.rs"]
mod tests;
