//! Where a destination goes: a registered user's contacts (named bare, or
//! as `sip:user@` our own address: dialling that directly would call
//! ourselves), any other `sip:` URI as it is (not `sips:`: no SIP over
//! TLS yet), and a phone number
//! (not a registered user's name) through the trunks that take it.

use std::net::SocketAddr;

use super::trunks::{Trunks, is_number};
use crate::sip::registrar::{Reach, Registrar};
use crate::sip::uri_address;

/// How a destination is dialled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// These phones, all at once (a registered user's contacts) or one.
    Direct(Vec<Reach>),
    /// This number, through the trunks.
    Trunk(String),
}

/// Why a destination goes nowhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not a `sip:` URI, a user of ours or a number a trunk takes.
    #[error(
        "no route to {0:?}: not a sip: URI, a registered user or a number a configured trunk takes"
    )]
    NoRoute(String),
    /// A user of ours with no live registration.
    #[error("{0:?} is not registered")]
    NotRegistered(String),
}

/// What routing consults: who is registered, our SIP address, the trunks.
pub struct Routing {
    /// Registered users and their contacts.
    pub registrar: std::sync::Arc<Registrar>,
    /// Our SIP address: `sip:user@` it names a user of ours.
    pub sip_addr: SocketAddr,
    /// The `[[trunks]]`.
    pub trunks: Trunks,
}

impl Routing {
    /// How `to` is dialled.
    pub fn route(&self, to: &str) -> Result<Route, RouteError> {
        route(to, self.sip_addr, &self.registrar, &self.trunks)
    }
}

/// How `to` is dialled, for chorus at `sip_addr`.
fn route(
    to: &str,
    sip_addr: SocketAddr,
    registrar: &Registrar,
    trunks: &Trunks,
) -> Result<Route, RouteError> {
    let user = match ours(to, sip_addr) {
        Some(user) => user,
        None if is_sip_uri(to) => {
            let target = Reach {
                uri: to.to_owned(),
                via: None,
            };
            return Ok(Route::Direct(vec![target]));
        }
        None => to.to_owned(),
    };
    let contacts = registrar.contacts(&user, std::time::Instant::now());
    if !contacts.is_empty() {
        return Ok(Route::Direct(contacts));
    }
    if !is_sip_uri(to) && is_number(to) && trunks.takes(to) {
        return Ok(Route::Trunk(to.to_owned()));
    }
    if is_sip_uri(to) || (registrar.users() > 0 && !is_number(to)) {
        return Err(RouteError::NotRegistered(to.to_owned()));
    }
    Err(RouteError::NoRoute(to.to_owned()))
}

/// A `sip:` URI (`sips:` is not: chorus has no SIP over TLS yet).
fn is_sip_uri(to: &str) -> bool {
    to.get(..4)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("sip:"))
}

/// The user part of a `sip:user@host[:port]` URI that names our own SIP
/// address (no port: 5060); dialling it directly would call ourselves.
fn ours(to: &str, sip_addr: SocketAddr) -> Option<String> {
    if !is_sip_uri(to) {
        return None;
    }
    let (user, address) = uri_address(to)?;
    (address == sip_addr && !user.is_empty()).then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: &str = "127.0.0.1:5080";

    #[test]
    fn our_own_address_names_a_user_and_anything_else_is_dialled_as_it_is() {
        let us: SocketAddr = US.parse().unwrap();
        assert_eq!(
            ours("sip:alice@127.0.0.1:5080", us).as_deref(),
            Some("alice")
        );
        assert_eq!(
            ours("sip:alice@127.0.0.1:5080;transport=udp", us).as_deref(),
            Some("alice")
        );
        assert_eq!(
            ours("sip:alice@127.0.0.1:5090", us).as_deref(),
            None,
            "another port"
        );
        assert_eq!(
            ours("sip:alice@127.0.0.1", us).as_deref(),
            None,
            "no port is 5060"
        );
        assert_eq!(ours("sip:alice@192.0.2.1:5080", us).as_deref(), None);
        assert_eq!(ours("alice", us).as_deref(), None);
        let v6: SocketAddr = "[::1]:5060".parse().unwrap();
        assert_eq!(ours("sip:bob@[::1]", v6).as_deref(), Some("bob"));
        assert_eq!(ours("sip:bob@[::1]:5060", v6).as_deref(), Some("bob"));
    }

    #[test]
    fn users_are_found_in_the_registrar_and_the_rest_is_refused_clearly() {
        let us: SocketAddr = US.parse().unwrap();
        let nobody = Registrar::load("chorus", None).unwrap();
        let none = Trunks::default();
        assert_eq!(
            route("sip:agent@127.0.0.1:26001", us, &nobody, &none),
            Ok(Route::Direct(vec![Reach {
                uri: "sip:agent@127.0.0.1:26001".to_owned(),
                via: None
            }]))
        );
        assert_eq!(
            route("15551234", us, &nobody, &none),
            Err(RouteError::NoRoute("15551234".into()))
        );
        assert_eq!(
            route("sips:agent@192.0.2.7", us, &nobody, &none),
            Err(RouteError::NoRoute("sips:agent@192.0.2.7".into())),
            "no SIP over TLS: refused, never dialled to fail later"
        );
        assert_eq!(
            route("sip:alice@127.0.0.1:5080", us, &nobody, &none),
            Err(RouteError::NotRegistered("sip:alice@127.0.0.1:5080".into()))
        );
        let us_only = chorus_config::TrunkConfig {
            name: "us".into(),
            proxy: "192.0.2.10:5060".parse().unwrap(),
            credentials: None,
            realm: None,
            from_domain: None,
            prefixes: vec!["+1".into()],
            strip: 0,
            add: String::new(),
            max_cps: 0,
            max_channels: 0,
            ping_interval: std::time::Duration::ZERO,
        };
        let trunks = Trunks::new(&[us_only], 10);
        assert_eq!(
            route("+15551234", us, &nobody, &trunks),
            Ok(Route::Trunk("+15551234".into()))
        );
        assert_eq!(
            route("+445551234", us, &nobody, &trunks),
            Err(RouteError::NoRoute("+445551234".into())),
            "no trunk takes it"
        );
    }
}
