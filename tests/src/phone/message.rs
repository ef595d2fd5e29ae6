//! The SIP text the phone writes: requests and responses to requests.

use std::net::SocketAddr;

use crate::sip::SipMessage;

/// Everything needed to write one outgoing request.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub uri: &'a str,
    pub branch: &'a str,
    /// Full From value including the tag.
    pub from: &'a str,
    /// Full To value (with the remote tag once known).
    pub to: &'a str,
    pub call_id: &'a str,
    pub cseq: u32,
    pub contact: Option<&'a str>,
    pub extra: &'a [(String, String)],
    /// SDP body, if any.
    pub sdp: Option<&'a str>,
}

impl Request<'_> {
    /// Serialises the request with a Via naming `local`.
    pub(crate) fn to_bytes(&self, local: SocketAddr) -> Vec<u8> {
        let mut s = format!(
            "{method} {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: {from}\r\n\
             To: {to}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n",
            method = self.method,
            uri = self.uri,
            branch = self.branch,
            from = self.from,
            to = self.to,
            call_id = self.call_id,
            cseq = self.cseq,
        );
        if let Some(contact) = self.contact {
            s.push_str(&format!("Contact: <{contact}>\r\n"));
        }
        if self.method == "INVITE" {
            s.push_str("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO\r\n");
        }
        for (name, value) in self.extra {
            s.push_str(&format!("{name}: {value}\r\n"));
        }
        s.push_str("User-Agent: chorus-test-phone\r\n");
        match self.sdp {
            Some(body) => s.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => s.push_str("Content-Length: 0\r\n\r\n"),
        }
        s.into_bytes()
    }
}

/// A response to `req` echoing its Vias, From, To (adding `local_tag` when To
/// has none), Call-ID and CSeq.
pub(crate) fn response_to(
    req: &SipMessage,
    status: u16,
    reason: &str,
    local_tag: &str,
    contact: Option<&str>,
    sdp: Option<&str>,
) -> Vec<u8> {
    let mut s = format!("SIP/2.0 {status} {reason}\r\n");
    for via in req.header_all("via") {
        s.push_str(&format!("Via: {via}\r\n"));
    }
    let to = req.header("to").unwrap_or("");
    let to = if req.to_tag().is_some() || to.is_empty() {
        to.to_string()
    } else {
        format!("{to};tag={local_tag}")
    };
    for (name, value) in [
        ("From", req.header("from").unwrap_or("")),
        ("To", to.as_str()),
        ("Call-ID", req.call_id().unwrap_or("")),
        ("CSeq", req.header("cseq").unwrap_or("")),
    ] {
        s.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(contact) = contact {
        s.push_str(&format!("Contact: <{contact}>\r\n"));
    }
    match sdp {
        Some(body) => s.push_str(&format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )),
        None => s.push_str("Content-Length: 0\r\n\r\n"),
    }
    s.into_bytes()
}
