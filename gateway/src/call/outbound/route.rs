//! Where a destination goes: a registered user's contacts (named bare, or
//! as `sip:user@` our own address: dialling that directly would call
//! ourselves), or any other `sip:`/`sips:` URI as it is. Numbers need a
//! trunk, which chorus does not have yet.

use std::net::{IpAddr, SocketAddr};

use crate::sip::registrar::Registrar;

/// Why a destination goes nowhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Neither a `sip:` URI nor a user of ours.
    #[error(
        "no route to {0:?}: not a sip: URI or a registered user (numbers need a trunk, and none is configured)"
    )]
    NoRoute(String),
    /// A user of ours with no live registration.
    #[error("{0:?} is not registered")]
    NotRegistered(String),
}

/// The URIs `to` rings (several: a user registered from several phones),
/// for chorus at `sip_addr`.
pub fn route(
    to: &str,
    sip_addr: SocketAddr,
    registrar: &Registrar,
) -> Result<Vec<String>, RouteError> {
    let user = match ours(to, sip_addr) {
        Some(user) => user,
        None if is_sip_uri(to) => return Ok(vec![to.to_owned()]),
        None => to,
    };
    let contacts = registrar.contacts(user, std::time::Instant::now());
    match (contacts.is_empty(), is_sip_uri(to) || registrar.users() > 0) {
        (false, _) => Ok(contacts),
        (true, true) => Err(RouteError::NotRegistered(to.to_owned())),
        (true, false) => Err(RouteError::NoRoute(to.to_owned())),
    }
}

fn is_sip_uri(to: &str) -> bool {
    let lower = to.to_ascii_lowercase();
    lower.starts_with("sip:") || lower.starts_with("sips:")
}

/// The user part of a `sip:user@host[:port]` URI that names our own SIP
/// address (no port: 5060); dialling it directly would call ourselves.
fn ours(to: &str, sip_addr: SocketAddr) -> Option<&str> {
    if !is_sip_uri(to) {
        return None;
    }
    let (_, rest) = to.split_once(':')?;
    let (user, host) = rest.split_once('@')?;
    let host = host.split([';', '>', '?']).next()?;
    let (ip, port) = match host.strip_prefix('[') {
        Some(bracketed) => {
            let (ip, after) = bracketed.split_once(']')?;
            match after.strip_prefix(':') {
                Some(port) => (ip, port.parse().ok()?),
                None if after.is_empty() => (ip, 5060),
                None => return None,
            }
        }
        None => match host.split_once(':') {
            Some((ip, port)) => (ip, port.parse().ok()?),
            None => (host, 5060),
        },
    };
    let ip: IpAddr = ip.parse().ok()?;
    (ip == sip_addr.ip() && port == sip_addr.port()).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: &str = "127.0.0.1:5080";

    #[test]
    fn our_own_address_names_a_user_and_anything_else_is_dialled_as_it_is() {
        let us: SocketAddr = US.parse().unwrap();
        assert_eq!(ours("sip:alice@127.0.0.1:5080", us), Some("alice"));
        assert_eq!(
            ours("sip:alice@127.0.0.1:5080;transport=udp", us),
            Some("alice")
        );
        assert_eq!(ours("sip:alice@127.0.0.1:5090", us), None, "another port");
        assert_eq!(ours("sip:alice@127.0.0.1", us), None, "no port is 5060");
        assert_eq!(ours("sip:alice@192.0.2.1:5080", us), None);
        assert_eq!(ours("alice", us), None);
        let v6: SocketAddr = "[::1]:5060".parse().unwrap();
        assert_eq!(ours("sip:bob@[::1]", v6), Some("bob"));
        assert_eq!(ours("sip:bob@[::1]:5060", v6), Some("bob"));
    }

    #[test]
    fn users_are_found_in_the_registrar_and_the_rest_is_refused_clearly() {
        let us: SocketAddr = US.parse().unwrap();
        let nobody = Registrar::load("chorus", None).unwrap();
        assert_eq!(
            route("sip:agent@127.0.0.1:26001", us, &nobody),
            Ok(vec!["sip:agent@127.0.0.1:26001".to_owned()])
        );
        assert_eq!(
            route("15551234", us, &nobody),
            Err(RouteError::NoRoute("15551234".into()))
        );
        assert_eq!(
            route("sip:alice@127.0.0.1:5080", us, &nobody),
            Err(RouteError::NotRegistered("sip:alice@127.0.0.1:5080".into()))
        );
    }
}
