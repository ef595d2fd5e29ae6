//! A tolerant, hand-written SIP message parser for the test phone.
//!
//! It is deliberately independent of the daemon's SIP stack so the two check
//! each other. It accepts what a lenient peer would (bare LF line ends, folded
//! header lines, compact header names, a missing Content-Length), rejects
//! nothing it can make sense of, and never panics on garbage.

/// The first line of a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD uri SIP/2.0`
    Request {
        /// Method, e.g. `INVITE`.
        method: String,
        /// Request-URI as written.
        uri: String,
    },
    /// `SIP/2.0 status reason`
    Response {
        /// Status code, e.g. 200.
        status: u16,
        /// Reason phrase (may be empty).
        reason: String,
    },
}

/// A parsed SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// Request or status line.
    pub start: StartLine,
    /// Headers in order, names expanded from compact form and lower-cased,
    /// values trimmed with folded continuation lines joined by one space.
    pub headers: Vec<(String, String)>,
    /// The body: Content-Length bytes if given, else the rest of the datagram.
    pub body: String,
}

/// Expands RFC 3261 compact header names (and a few common extensions).
fn full_name(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let full = match lower.as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "l" => "content-length",
        "c" => "content-type",
        "k" => "supported",
        "s" => "subject",
        "e" => "content-encoding",
        "o" => "event",
        "r" => "refer-to",
        "u" => "allow-events",
        "x" => "session-expires",
        _ => return lower,
    };
    full.to_string()
}

/// Position of the blank line ending the headers and the length of that
/// separator, accepting CRLF CRLF or LF LF.
fn header_end(data: &[u8]) -> Option<(usize, usize)> {
    let crlf = data.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = data.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) if b < a => Some((b, 2)),
        (Some(a), _) => Some((a, 4)),
        (None, Some(b)) => Some((b, 2)),
        (None, None) => None,
    }
}

/// Parses one datagram. Returns `None` only when there is no recognisable
/// start line.
pub fn parse(data: &[u8]) -> Option<SipMessage> {
    // Leading CRLFs are keep-alives (RFC 5626) and may precede a message.
    let skip = data
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(data.len());
    let data = data.get(skip..)?;
    let (head, rest) = match header_end(data) {
        Some((pos, sep)) => (data.get(..pos)?, data.get(pos + sep..).unwrap_or(&[])),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = parse_start(lines.next()?)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // Folded continuation of the previous header (RFC 3261 7.3.1).
            if let Some((_, value)) = headers.last_mut() {
                let more = line.trim();
                if !more.is_empty() {
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(more);
                }
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((full_name(name), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let body = match length {
        Some(len) => rest.get(..len).unwrap_or(rest),
        None => rest,
    };
    Some(SipMessage {
        start,
        headers,
        body: String::from_utf8_lossy(body).into_owned(),
    })
}

fn parse_start(line: &str) -> Option<StartLine> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("SIP/") {
        let mut parts = rest.splitn(3, ' ');
        let _version = parts.next()?;
        let status = parts.next()?.trim().parse::<u16>().ok()?;
        let reason = parts.next().unwrap_or("").trim().to_string();
        return Some(StartLine::Response { status, reason });
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let uri = parts.next()?.to_string();
    parts.next().filter(|v| v.starts_with("SIP/"))?;
    Some(StartLine::Request { method, uri })
}

/// Value of the `name` parameter (e.g. `tag`, `branch`) in a header value,
/// looking only after the URI's closing `>` when there is one, so URI
/// parameters are not mistaken for header parameters.
pub fn header_param(value: &str, name: &str) -> Option<String> {
    let params = match value.find('>') {
        Some(pos) => value.get(pos + 1..)?,
        None => value,
    };
    params
        .split([';', ','])
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

/// The URI inside `<...>`, or the value up to the first `;` without brackets.
pub fn uri_of(value: &str) -> String {
    if let (Some(start), Some(end)) = (value.find('<'), value.find('>'))
        && start < end
    {
        return value.get(start + 1..end).unwrap_or("").trim().to_string();
    }
    value.split(';').next().unwrap_or("").trim().to_string()
}

impl SipMessage {
    /// First value of header `name` (case-insensitive, compact forms accepted).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = full_name(name);
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All values of header `name`, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        let name = full_name(name);
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { status, .. } => Some(status),
            StartLine::Request { .. } => None,
        }
    }

    /// Reason phrase of a response.
    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    /// Method of a request.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// Request-URI of a request, as written.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, String)> {
        let mut parts = self.header("cseq")?.split_whitespace();
        let number = parts.next()?.parse().ok()?;
        let method = parts.next()?.to_ascii_uppercase();
        Some((number, method))
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&str> {
        self.header("call-id")
    }

    /// `tag` parameter of To.
    pub fn to_tag(&self) -> Option<String> {
        header_param(self.header("to")?, "tag")
    }

    /// `tag` parameter of From.
    pub fn from_tag(&self) -> Option<String> {
        header_param(self.header("from")?, "tag")
    }

    /// `branch` parameter of the top Via.
    pub fn via_branch(&self) -> Option<String> {
        let top = self.header("via")?.split(',').next()?;
        header_param(top, "branch")
    }

    /// URI of the first Contact.
    pub fn contact_uri(&self) -> Option<String> {
        let uri = uri_of(self.header("contact")?);
        (!uri.is_empty()).then_some(uri)
    }

    /// Content-Length as declared, if any.
    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length")?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_response() {
        let text = "SIP/2.0 200 OK\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc;rport=5062\r\n\
            From: \"Alice\" <sip:alice@127.0.0.1:5062>;tag=111\r\n\
            To: <sip:conf@127.0.0.1:5070;transport=udp>;tag=222\r\n\
            Call-ID: abc@127.0.0.1\r\n\
            CSeq: 1 INVITE\r\n\
            Contact: <sip:chorus@127.0.0.1:5070;transport=udp>;expires=60\r\n\
            Content-Type: application/sdp\r\n\
            Content-Length: 4\r\n\r\nv=0\ntrailing";
        let m = parse(text.as_bytes()).unwrap();
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.reason(), Some("OK"));
        assert_eq!(m.to_tag().as_deref(), Some("222"));
        assert_eq!(m.from_tag().as_deref(), Some("111"));
        assert_eq!(m.via_branch().as_deref(), Some("z9hG4bKabc"));
        assert_eq!(m.cseq(), Some((1, "INVITE".to_string())));
        assert_eq!(m.call_id(), Some("abc@127.0.0.1"));
        assert_eq!(
            m.contact_uri().as_deref(),
            Some("sip:chorus@127.0.0.1:5070;transport=udp")
        );
        assert_eq!(m.body, "v=0\n");
    }

    #[test]
    fn compact_headers_folding_and_bare_lf() {
        let text = "SIP/2.0 180 Ringing\n\
            v: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK2\n\
            f: sip:a@x;tag=f1\n\
            t: <sip:b@y>\n  ;tag=t9\n\
            i: cid\n\
            m: sip:c@127.0.0.1:7000\n\
            CSEQ:   7   invite\n\
            l: 0\n\n";
        let m = parse(text.as_bytes()).unwrap();
        assert_eq!(m.status(), Some(180));
        assert_eq!(m.header("To"), Some("<sip:b@y> ;tag=t9"));
        assert_eq!(m.to_tag().as_deref(), Some("t9"));
        assert_eq!(m.from_tag().as_deref(), Some("f1"));
        assert_eq!(m.header("i"), Some("cid"));
        assert_eq!(m.via_branch().as_deref(), Some("z9hG4bK1"));
        assert_eq!(m.contact_uri().as_deref(), Some("sip:c@127.0.0.1:7000"));
        assert_eq!(m.cseq(), Some((7, "INVITE".to_string())));
        assert_eq!(m.body, "");
    }

    #[test]
    fn missing_content_length_takes_the_rest() {
        let text = "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\nv=0\r\ns=-\r\n";
        let m = parse(text.as_bytes()).unwrap();
        assert_eq!(m.content_length(), None);
        assert_eq!(m.body, "v=0\r\ns=-\r\n");
        // A Content-Length larger than the datagram keeps what is there.
        let m = parse(b"SIP/2.0 200 OK\r\nl: 99\r\n\r\nabc").unwrap();
        assert_eq!(m.body, "abc");
    }

    #[test]
    fn parses_requests_and_tolerates_garbage() {
        let m = parse(b"\r\n\r\nBYE sip:a@127.0.0.1:5 SIP/2.0\r\nCSeq: 2 BYE\r\n\r\n").unwrap();
        assert_eq!(m.method(), Some("BYE"));
        assert_eq!(m.status(), None);
        assert!(parse(b"").is_none());
        assert!(parse(b"\x00\xff\xfe garbage").is_none());
        assert!(parse(b"SIP/2.0 abc OK\r\n\r\n").is_none());
        let m = parse(b"SIP/2.0 486\r\nno colon line\r\nTo: <sip:x>;tag\r\n").unwrap();
        assert_eq!(m.status(), Some(486));
        assert_eq!(m.reason(), Some(""));
        assert_eq!(m.to_tag(), None);
        assert_eq!(m.cseq(), None);
    }
}
