//! The parameters the application's documents are fetched with, as Plivo
//! sends them: CallUUID, From, To, Direction, CallStatus, CallerName and
//! every `X-PH-*` SIP header of the call's INVITE (the caller's, or ours
//! for a call chorus placed).

use crate::sip::Invite;

/// The parameters for a call in `status` (`ringing`, `in-progress`);
/// `direction` is `inbound` or `outbound`.
pub fn answer_params(
    invite: &Invite,
    direction: &str,
    call_uuid: &str,
    status: &str,
) -> Vec<(String, String)> {
    let mut params = vec![
        ("CallUUID".to_owned(), call_uuid.to_owned()),
        ("From".to_owned(), invite.from.clone()),
        ("To".to_owned(), invite.to.clone()),
        ("Direction".to_owned(), direction.to_owned()),
        ("CallStatus".to_owned(), status.to_owned()),
        ("CallerName".to_owned(), invite.caller_name.clone()),
    ];
    params.extend(invite.custom_headers.iter().cloned());
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_party_and_custom_header_is_a_parameter() {
        let invite = Invite {
            from: "alice".into(),
            to: "room7".into(),
            caller_name: "Alice".into(),
            custom_headers: vec![("X-PH-Ticket".into(), "42".into())],
            uri: "sip:room7@127.0.0.1".into(),
            body: Vec::new(),
        };
        let params = answer_params(&invite, "inbound", "u1", "ringing");
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        for wanted in [
            pair("CallUUID", "u1"),
            pair("From", "alice"),
            pair("To", "room7"),
            pair("Direction", "inbound"),
            pair("CallStatus", "ringing"),
            pair("CallerName", "Alice"),
            pair("X-PH-Ticket", "42"),
        ] {
            assert!(params.contains(&wanted), "{wanted:?} in {params:?}");
        }
    }
}
