//! The SIP UDP socket, screened: malformed requests are answered here.
//!
//! rsipstack's UDP transport drops a datagram it cannot parse, or whose
//! essential headers are missing, without a word; RFC 3261 §8.2 wants a
//! `400 Bad Request` (and §8.2.1 a `501 Not Implemented` for a method we do
//! not know) whenever a response can still be routed, i.e. the request has a
//! Via. [`ScreeningSocket`] sits under rsipstack's transport (through its
//! platform socket trait): every datagram passes [`screen`] first, and only
//! the well-formed ones reach the stack.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use rsipstack::sip::prelude::HeadersExt;
use rsipstack::sip::{Method, SipMessage};

/// What to do with one received datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Hand it to the SIP stack.
    Pass,
    /// Answer it with this response and drop it.
    Reply(String),
    /// Drop it silently (not SIP, or no way to route a response).
    Drop,
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

/// Decides whether a datagram may go to the stack.
pub fn screen(datagram: &[u8]) -> Verdict {
    if datagram.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Pass; // keep-alive (RFC 5626 CRLF ping)
    }
    let text = String::from_utf8_lossy(datagram);
    let first_line = text.lines().next().unwrap_or("");
    let request_method = request_line_method(first_line);
    if let Some(method) = request_method
        && !KNOWN_METHODS.contains(&method)
    {
        return reply(&text, 501, "Not Implemented");
    }
    match SipMessage::try_from(datagram) {
        Ok(SipMessage::Request(req)) => match missing_essential(&req) {
            None => Verdict::Pass,
            Some(what) => reply(&text, 400, what),
        },
        Ok(SipMessage::Response(_)) => Verdict::Pass,
        Err(_) if request_method.is_some() => reply(&text, 400, "Bad Request"),
        Err(_) => Verdict::Drop,
    }
}

/// `METHOD SP Request-URI SP SIP/2.0` → METHOD.
fn request_line_method(line: &str) -> Option<&str> {
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let _uri = parts.next()?;
    let version = parts.next()?.trim_end();
    let is_token = !method.is_empty()
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b));
    (is_token && version.eq_ignore_ascii_case("SIP/2.0") && parts.next().is_none())
        .then_some(method)
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

/// Builds a stateless response by copying the routing headers textually:
/// the request may be too broken for the parser, but its Via, From, To,
/// Call-ID and CSeq lines are what the sender needs to match the answer.
fn reply(text: &str, code: u16, reason: &str) -> Verdict {
    let mut headers = String::new();
    let mut has_via = false;
    for line in text.lines().skip(1) {
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
        if keep {
            has_via |= name == "via" || name == "v";
            headers.push_str(line.trim_end());
            headers.push_str("\r\n");
        }
    }
    if !has_via {
        return Verdict::Drop;
    }
    Verdict::Reply(format!(
        "SIP/2.0 {code} {reason}\r\n{headers}Content-Length: 0\r\n\r\n"
    ))
}

/// A tokio UDP socket whose receive path screens datagrams.
pub struct ScreeningSocket {
    socket: tokio::net::UdpSocket,
    rejected: AtomicU64,
}

impl ScreeningSocket {
    /// Wraps a bound socket.
    pub fn new(socket: tokio::net::UdpSocket) -> Self {
        Self {
            socket,
            rejected: AtomicU64::new(0),
        }
    }

    /// Datagrams answered with 400/501 or dropped so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
}

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for ScreeningSocket {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (len, from) = self.socket.recv_from(buf).await?;
            match screen(&buf[..len]) {
                Verdict::Pass => return Ok((len, from)),
                Verdict::Reply(response) => {
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                    let status = response.lines().next().unwrap_or("").to_owned();
                    tracing::info!(%from, %status, "rejected malformed SIP request");
                    let _ = self.socket.send_to(response.as_bytes(), from).await;
                }
                Verdict::Drop => {
                    self.rejected.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%from, len, "dropped datagram that is not SIP");
                }
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.socket.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: abc\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn well_formed_request_passes() {
        assert_eq!(screen(GOOD.as_bytes()), Verdict::Pass);
    }

    #[test]
    fn keepalive_passes() {
        assert_eq!(screen(b"\r\n\r\n"), Verdict::Pass);
    }

    #[test]
    fn unknown_method_gets_501_with_routing_headers() {
        let msg = GOOD
            .replace("OPTIONS sip", "FROB sip")
            .replace("1 OPTIONS", "1 FROB");
        let Verdict::Reply(r) = screen(msg.as_bytes()) else {
            panic!()
        };
        assert!(r.starts_with("SIP/2.0 501 Not Implemented\r\n"), "{r}");
        assert!(r.contains("Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n"));
        assert!(r.contains("Call-ID: abc\r\n"));
    }

    #[test]
    fn missing_call_id_gets_400() {
        let msg = GOOD.replace("Call-ID: abc\r\n", "");
        let Verdict::Reply(r) = screen(msg.as_bytes()) else {
            panic!()
        };
        assert!(r.starts_with("SIP/2.0 400 Bad Request (Call-ID)"), "{r}");
    }

    #[test]
    fn cseq_method_mismatch_gets_400() {
        let msg = GOOD.replace("1 OPTIONS", "1 INVITE");
        let Verdict::Reply(r) = screen(msg.as_bytes()) else {
            panic!()
        };
        assert!(r.starts_with("SIP/2.0 400 Bad Request (CSeq)"), "{r}");
    }

    #[test]
    fn garbage_cseq_gets_400() {
        let msg = GOOD.replace("CSeq: 1 OPTIONS", "CSeq: banana");
        assert!(matches!(screen(msg.as_bytes()), Verdict::Reply(r) if r.contains(" 400 ")));
    }

    #[test]
    fn request_without_via_is_dropped() {
        let msg = GOOD.replace("Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n", "");
        assert_eq!(screen(msg.as_bytes()), Verdict::Drop);
    }

    #[test]
    fn binary_noise_is_dropped() {
        assert_eq!(screen(&[0x80, 0, 1, 2, 3, 0xff, 0xfe]), Verdict::Drop);
    }
}
