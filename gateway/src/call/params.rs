//! The parameters an answer URL receives about an inbound call, as Plivo
//! sends them: CallUUID, From, To, Direction, CallStatus, CallerName and
//! every `X-PH-*` SIP header.

use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Request, Uri};

/// Who called whom, read once from the INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallParties {
    /// The caller: the From URI's user part, or the whole URI without one.
    pub from: String,
    /// The dialled user (the Request-URI's user part): the MPC name for the
    /// built-in app.
    pub to: String,
    /// The From display name, else the caller.
    pub caller_name: String,
    /// `X-PH-*` headers, name as sent.
    pub custom_headers: Vec<(String, String)>,
}

impl CallParties {
    /// Reads the parties of an INVITE.
    pub fn of(invite: &Request) -> Self {
        let from_header = invite.from_header().ok().and_then(|h| h.typed().ok());
        let from = from_header
            .as_ref()
            .map(|f| user_or_uri(&f.uri))
            .unwrap_or_default();
        let caller_name = from_header
            .and_then(|f| f.display_name)
            .map(|n| n.trim_matches('"').to_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| from.clone());
        let custom_headers = invite
            .headers
            .iter()
            .filter_map(|h| match h {
                Header::Other(name, value)
                    if name.len() > 5 && name[..5].eq_ignore_ascii_case("x-ph-") =>
                {
                    Some((name.clone(), value.clone()))
                }
                _ => None,
            })
            .collect();
        Self {
            from,
            to: user_or_uri(&invite.uri),
            caller_name,
            custom_headers,
        }
    }

    /// The answer-URL parameters for a call in `status` (e.g. "ringing").
    pub fn answer_params(&self, call_uuid: &str, status: &str) -> Vec<(String, String)> {
        let mut params = vec![
            ("CallUUID".to_owned(), call_uuid.to_owned()),
            ("From".to_owned(), self.from.clone()),
            ("To".to_owned(), self.to.clone()),
            ("Direction".to_owned(), "inbound".to_owned()),
            ("CallStatus".to_owned(), status.to_owned()),
            ("CallerName".to_owned(), self.caller_name.clone()),
        ];
        params.extend(self.custom_headers.iter().cloned());
        params
    }
}

fn user_or_uri(uri: &Uri) -> String {
    match &uri.auth {
        Some(auth) if !auth.user.is_empty() => auth.user.clone(),
        _ => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_parties_and_custom_headers() {
        let raw = "INVITE sip:room7@127.0.0.1 SIP/2.0\r\n\
            Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK1\r\n\
            From: \"Alice\" <sip:alice@127.0.0.1>;tag=1\r\n\
            To: <sip:room7@127.0.0.1>\r\n\
            Call-ID: c1\r\nCSeq: 1 INVITE\r\n\
            X-PH-Ticket: 42\r\nX-Other: no\r\nContent-Length: 0\r\n\r\n";
        let rsipstack::sip::SipMessage::Request(req) =
            rsipstack::sip::SipMessage::try_from(raw).unwrap()
        else {
            panic!("not a request")
        };
        let p = CallParties::of(&req);
        assert_eq!(p.from, "alice");
        assert_eq!(p.to, "room7");
        assert_eq!(p.caller_name, "Alice");
        assert_eq!(
            p.custom_headers,
            vec![("X-PH-Ticket".to_owned(), "42".to_owned())]
        );
        let params = p.answer_params("u1", "ringing");
        assert!(params.contains(&("Direction".to_owned(), "inbound".to_owned())));
        assert!(params.contains(&("X-PH-Ticket".to_owned(), "42".to_owned())));
    }
}
