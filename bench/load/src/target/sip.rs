//! chorusd (or any SIP server that puts `sip:<room>@host` into a
//! conference) through its UDP front door: one INVITE per leg, as a
//! softphone would send it.
//!
//! One socket carries every dialog; responses and requests are matched to
//! legs by Call-ID. This is a UAC of exactly the size a load needs: INVITE
//! with an SDP offer (PCMU or PCMA, telephone-event), retransmitted on
//! RFC 3261's T1 schedule while unanswered; ACK for every final answer;
//! 200 OK to whatever the server asks inside a dialog (a BYE ends the leg,
//! counted as ended by the server); BYE for every answered leg at the end.
//! Set-up latency is the first INVITE's send to its 200 OK.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::{Hearing, Setup, Target, Teardown};
use crate::plan::LegPlan;

/// RFC 3261's T1: the first retransmission interval.
const T1: Duration = Duration::from_millis(500);
/// An INVITE still unanswered after this fails its leg (Timer B).
const INVITE_TIMEOUT: Duration = Duration::from_secs(32);

/// The codec each leg offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law, payload type 0.
    Pcmu,
    /// G.711 A-law, payload type 8.
    Pcma,
}

impl Codec {
    /// The static payload type.
    pub fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
        }
    }

    fn rtpmap(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU/8000",
            Self::Pcma => "PCMA/8000",
        }
    }
}

enum State {
    /// INVITE sent `tries` times, the last at `resent`.
    Inviting {
        first: Instant,
        resent: Instant,
        tries: u32,
    },
    /// Answered.
    Up { to_tag: String, target_uri: String },
    /// BYE sent, waiting for its answer.
    Leaving { sent: Instant },
    /// Over: failed, ended by the server, or ended by us.
    Done,
}

struct Dialog {
    leg: usize,
    room_uri: String,
    offer: String,
    state: State,
}

/// chorusd as a [`Target`].
pub struct Sip {
    socket: UdpSocket,
    local: SocketAddr,
    server: SocketAddr,
    codec: Codec,
    /// Distinguishes this run's Call-IDs and room names from earlier runs'.
    run: String,
    dialogs: HashMap<String, Dialog>,
    ready: Vec<Setup>,
    ended_by_server: usize,
    buf: Vec<u8>,
}

impl Sip {
    /// A UAC on a fresh 127.0.0.1 port calling `server`. `run` prefixes
    /// Call-IDs and room names, so rooms of one run never meet another's.
    pub fn new(server: SocketAddr, codec: Codec, run: &str) -> Result<Self, String> {
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("SIP socket: {e}"))?;
        let local = socket.local_addr().map_err(|e| e.to_string())?;
        Ok(Self {
            socket,
            local,
            server,
            codec,
            run: run.to_string(),
            dialogs: HashMap::new(),
            ready: Vec::new(),
            ended_by_server: 0,
            buf: vec![0; 65_536],
        })
    }

    /// The room a leg dials: `sip:<run>-<room>@server`.
    fn room_uri(&self, leg: &LegPlan) -> String {
        format!("sip:{}-r{}@{}", self.run, leg.room, self.server)
    }

    fn send(&self, message: &str) {
        // A full buffer is a lost datagram, which retransmission covers.
        let _ = self.socket.send_to(message.as_bytes(), self.server);
    }

    fn invite(&self, call_id: &str, dialog: &Dialog) -> String {
        let local = self.local;
        let leg = dialog.leg;
        format!(
            "INVITE {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-1;rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:load{leg}@{local}>;tag=t{leg}\r\n\
             To: <{uri}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:load{leg}@{local}>\r\n\
             User-Agent: chorus-load\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {len}\r\n\r\n{offer}",
            uri = dialog.room_uri,
            len = dialog.offer.len(),
            offer = dialog.offer,
        )
    }

    /// ACK or BYE inside an answered dialog. `branch` names the
    /// transaction: an ACK to a non-2xx answer shares the INVITE's.
    fn in_dialog(
        &self,
        method: &str,
        branch: &str,
        cseq: u32,
        call_id: &str,
        dialog: &Dialog,
    ) -> String {
        let State::Up { to_tag, target_uri } = &dialog.state else {
            return String::new();
        };
        let (local, leg) = (self.local, dialog.leg);
        format!(
            "{method} {target_uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-{call_id}-{branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:load{leg}@{local}>;tag=t{leg}\r\n\
             To: <{uri}>;tag={to_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Content-Length: 0\r\n\r\n",
            uri = dialog.room_uri,
        )
    }

    /// Reads whatever waits on the socket, for up to `wait`.
    fn read(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = self
                .socket
                .set_read_timeout(Some(left.max(Duration::from_micros(100))));
            match self.socket.recv_from(&mut self.buf) {
                Ok((n, _)) => {
                    let text = String::from_utf8_lossy(&self.buf[..n]).into_owned();
                    self.on_message(&text);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => {}
            }
            if Instant::now() >= deadline {
                return;
            }
        }
    }

    fn on_message(&mut self, text: &str) {
        let Some(message) = Message::parse(text) else {
            return;
        };
        if message.start.starts_with("SIP/2.0 ") {
            self.on_response(&message);
        } else {
            self.on_request(&message);
        }
    }

    fn on_response(&mut self, response: &Message<'_>) {
        let Some(status) = response.status() else {
            return;
        };
        let Some(call_id) = response.header(&["call-id", "i"]) else {
            return;
        };
        let method = response.cseq_method();
        let Some(dialog) = self.dialogs.get_mut(call_id) else {
            return;
        };
        match (&dialog.state, method) {
            (State::Inviting { first, .. }, "INVITE") if status >= 200 => {
                let latency = first.elapsed();
                let to_tag = response
                    .header(&["to", "t"])
                    .and_then(|to| to.split(";tag=").nth(1))
                    .map(|t| t.split(';').next().unwrap_or(t).to_string())
                    .unwrap_or_default();
                let target_uri = response
                    .header(&["contact", "m"])
                    .and_then(|c| Some(c.split_once('<')?.1.split_once('>')?.0.to_string()))
                    .unwrap_or_else(|| dialog.room_uri.clone());
                let leg = dialog.leg;
                let result = if (200..300).contains(&status) {
                    super::sdp::audio_address(response.body)
                        .map_err(|_| format!("{status} answer without a usable SDP"))
                } else {
                    Err(format!("refused: {}", response.start))
                };
                dialog.state = State::Up { to_tag, target_uri };
                let branch = if (200..300).contains(&status) {
                    "ack"
                } else {
                    "1"
                };
                let ack = self.in_dialog("ACK", branch, 1, call_id, &self.dialogs[call_id]);
                self.send(&ack);
                if result.is_err()
                    && let Some(dialog) = self.dialogs.get_mut(call_id)
                {
                    dialog.state = State::Done;
                }
                self.ready.push(Setup {
                    leg,
                    result,
                    latency,
                });
            }
            (State::Up { .. }, "INVITE") if status >= 200 => {
                // A retransmitted 200 OK: our ACK was lost.
                let ack = self.in_dialog("ACK", "ack", 1, call_id, &self.dialogs[call_id]);
                self.send(&ack);
            }
            (State::Leaving { .. }, "BYE") if status >= 200 => dialog.state = State::Done,
            _ => {}
        }
    }

    fn on_request(&mut self, request: &Message<'_>) {
        let method = request.start.split(' ').next().unwrap_or("");
        if method == "ACK" {
            return;
        }
        let call_id = request.header(&["call-id", "i"]).unwrap_or("");
        let mut body = "";
        if let Some(dialog) = self.dialogs.get_mut(call_id) {
            match method {
                "BYE" => {
                    if matches!(dialog.state, State::Up { .. }) {
                        self.ended_by_server += 1;
                    }
                    dialog.state = State::Done;
                }
                // A re-INVITE (session refresh): the same session again.
                "INVITE" | "UPDATE" => body = &dialog.offer,
                _ => {}
            }
        }
        let mut ok = String::from("SIP/2.0 200 OK\r\n");
        for name in ["via", "from", "to", "call-id", "cseq"] {
            for value in request.all(name) {
                ok.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        if !body.is_empty() {
            ok.push_str(&format!(
                "Contact: <sip:load@{}>\r\nContent-Type: application/sdp\r\n",
                self.local
            ));
        }
        ok.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        self.send(&ok);
    }

    /// Resends unanswered INVITEs on T1's doubling schedule and fails the
    /// ones past Timer B.
    fn retransmit(&mut self) {
        let now = Instant::now();
        let mut resend = Vec::new();
        for (call_id, dialog) in &mut self.dialogs {
            if let State::Inviting {
                first,
                resent,
                tries,
            } = &mut dialog.state
            {
                if now - *first > INVITE_TIMEOUT {
                    self.ready.push(Setup {
                        leg: dialog.leg,
                        result: Err("no final answer to the INVITE".into()),
                        latency: now - *first,
                    });
                    dialog.state = State::Done;
                } else if now - *resent > T1 * (1 << (*tries - 1).min(3)) {
                    *resent = now;
                    *tries += 1;
                    resend.push(call_id.clone());
                }
            }
        }
        for call_id in resend {
            let invite = self.invite(&call_id, &self.dialogs[&call_id]);
            self.send(&invite);
        }
    }
}

impl Target for Sip {
    fn name(&self) -> &str {
        "chorusd"
    }

    fn hearing(&self) -> Hearing {
        Hearing::Others
    }

    fn begin(&mut self, leg: &LegPlan, rtp: SocketAddr) -> Result<(), String> {
        let call_id = format!("{}-{}", self.run, leg.index);
        let pt = self.codec.payload_type();
        let offer = format!(
            "v=0\r\no=load {index} 1 IN IP4 {ip}\r\ns=chorus-load\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP {pt} 101\r\na=rtpmap:{pt} {map}\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
            index = leg.index,
            ip = rtp.ip(),
            port = rtp.port(),
            map = self.codec.rtpmap(),
        );
        let now = Instant::now();
        let dialog = Dialog {
            leg: leg.index,
            room_uri: self.room_uri(leg),
            offer,
            state: State::Inviting {
                first: now,
                resent: now,
                tries: 1,
            },
        };
        self.send(&self.invite(&call_id, &dialog));
        self.dialogs.insert(call_id, dialog);
        Ok(())
    }

    fn poll(&mut self, wait: Duration) -> Vec<Setup> {
        self.read(wait);
        self.retransmit();
        std::mem::take(&mut self.ready)
    }

    fn service(&mut self) {
        self.read(Duration::ZERO);
    }

    fn finish(&mut self, wait: Duration) -> Teardown {
        let now = Instant::now();
        let mut byes = Vec::new();
        for (call_id, dialog) in &self.dialogs {
            if matches!(dialog.state, State::Up { .. }) {
                byes.push((
                    call_id.clone(),
                    self.in_dialog("BYE", "bye", 2, call_id, dialog),
                ));
            }
        }
        for (call_id, bye) in &byes {
            self.send(bye);
            if let Some(dialog) = self.dialogs.get_mut(call_id) {
                dialog.state = State::Leaving { sent: now };
            }
        }
        let deadline = now + wait;
        let leaving = |dialogs: &HashMap<String, Dialog>| {
            dialogs
                .values()
                .filter(|d| matches!(d.state, State::Leaving { .. }))
                .count()
        };
        let mut resent = false;
        while leaving(&self.dialogs) > 0 && Instant::now() < deadline {
            self.read(Duration::from_millis(50));
            if !resent && now.elapsed() > T1 {
                // Once: a BYE lost in a burst of a thousand.
                resent = true;
                for (call_id, bye) in &byes {
                    if matches!(
                        self.dialogs.get(call_id).map(|d| &d.state),
                        Some(State::Leaving { sent }) if sent.elapsed() > T1
                    ) {
                        self.send(bye);
                    }
                }
            }
        }
        let unanswered = leaving(&self.dialogs);
        Teardown {
            ended: byes.len() - unanswered,
            unanswered,
            ended_by_server: self.ended_by_server,
        }
    }
}

/// One SIP message, borrowed: its start line, headers and body.
struct Message<'a> {
    start: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: &'a str,
}

impl<'a> Message<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let (head, body) = text.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let start = lines.next()?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim(), v.trim()))
            .collect();
        Some(Self {
            start,
            headers,
            body,
        })
    }

    fn status(&self) -> Option<u16> {
        self.start.split(' ').nth(1)?.parse().ok()
    }

    /// The first header under any of `names` (full and compact forms).
    fn header(&self, names: &[&str]) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| names.iter().any(|w| n.eq_ignore_ascii_case(w)))
            .map(|(_, v)| *v)
    }

    /// Every value of a header (Via may repeat), by full or compact name.
    fn all(&self, name: &'a str) -> impl Iterator<Item = &'a str> + '_ {
        let compact = match name {
            "via" => "v",
            "from" => "f",
            "to" => "t",
            "call-id" => "i",
            _ => name,
        };
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(compact))
            .map(|(_, v)| *v)
    }

    fn cseq_method(&self) -> &'a str {
        self.header(&["cseq"])
            .and_then(|c| c.split_whitespace().nth(1))
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_found_by_full_or_compact_name() {
        let text = "SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a\r\nVia: SIP/2.0/UDP b\r\ni: abc\r\nCSeq: 2 BYE\r\n\r\n";
        let m = Message::parse(text).unwrap();
        assert_eq!(m.status(), Some(200));
        assert_eq!(m.header(&["call-id", "i"]), Some("abc"));
        assert_eq!(m.cseq_method(), "BYE");
        assert_eq!(m.all("via").count(), 2);
        assert!(Message::parse("no blank line").is_none());
    }
}
