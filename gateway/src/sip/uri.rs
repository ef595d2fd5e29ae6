//! Reading SIP URIs: the user a URI names, and the address it names.

use std::net::{IpAddr, SocketAddr};

use rsipstack::sip::Uri;

/// A URI's user part, or the whole URI when it has none.
pub(super) fn user_or_uri(uri: &Uri) -> String {
    match &uri.auth {
        Some(auth) if !auth.user.is_empty() => auth.user.clone(),
        _ => uri.to_string(),
    }
}

/// The user and the address of a `sip:` or `sips:` URI that names an IP
/// (no port: 5060), angle brackets allowed; `None` for a host name or what
/// does not parse.
pub fn uri_address(uri: &str) -> Option<(String, SocketAddr)> {
    let uri = Uri::try_from(uri.trim().trim_start_matches('<').trim_end_matches('>')).ok()?;
    let host = uri.host_with_port.host.to_string();
    let ip: IpAddr = host.trim_matches(['[', ']']).parse().ok()?;
    let port = uri.host_with_port.port.map_or(5060, |p| p.value());
    let user = uri.auth.map(|auth| auth.user).unwrap_or_default();
    Some((user, SocketAddr::new(ip, port)))
}
