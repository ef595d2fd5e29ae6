//! The registrar: softphones REGISTER with digest credentials against the
//! users of `sip.users_file` (htdigest lines `user:realm:HA1`, realm
//! `sip.realm`), and chorus remembers where each user can be reached — up
//! to [`MAX_CONTACTS`] contacts a user, each for the expiry it asked
//! ([`MIN_EXPIRES`] to [`MAX_EXPIRES`] s, [`DEFAULT_EXPIRES`] if none).
//!
//! - No `Authorization`, a nonce chorus did not issue, or one too old:
//!   `401` with a fresh challenge (`stale=true` for an old one).
//! - An unknown user, a wrong answer, or an address-of-record that is not
//!   the authenticated user's own: `403`.
//! - An expiry under the minimum: `423` with `Min-Expires`.
//! - Otherwise `200` listing the user's current contacts; `Contact: *`
//!   with `Expires: 0` removes them all.
//!
//! Without a users file every REGISTER gets `403`: nobody can register.
//! [`Registrar::contacts`] is what dialling a user will use; a registered
//! user's address may place calls from outside `sip.trusted_sources`
//! ([`Registrar::is_registered_source`], asked by the guard).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::digest::{Credentials, Digest, Refusal};

/// Shortest registration accepted, seconds.
pub const MIN_EXPIRES: u64 = 60;
/// Longest registration granted, seconds (longer asks are cut to it).
pub const MAX_EXPIRES: u64 = 3600;
/// A registration that names no expiry, seconds.
pub const DEFAULT_EXPIRES: u64 = 3600;
/// Most contacts one user may register.
pub const MAX_CONTACTS: usize = 10;

/// Registered users and where to reach them.
pub struct Registrar {
    digest: Digest,
    /// User -> HA1.
    users: HashMap<String, String>,
    bindings: Mutex<HashMap<String, Vec<Binding>>>,
}

#[derive(Debug, Clone)]
struct Binding {
    contact: String,
    /// Where the REGISTER came from: calls from there are let in, and a
    /// contact behind NAT is reached there.
    source: SocketAddr,
    until: Instant,
}

/// Where to reach one of a user's phones: its contact URI (the INVITE's
/// Request-URI), sent to `via` when the phone is behind NAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The registered contact.
    pub uri: String,
    /// Where its REGISTER came from, when the contact names a private
    /// address that is not it (NAT: the contact cannot be reached itself).
    pub via: Option<SocketAddr>,
}

/// What a REGISTER gets: a status, its reason, and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Extra headers, `(name, value)`.
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
        }
    }
}

/// A REGISTER, as the registrar needs it.
#[derive(Debug, Clone)]
pub struct Register<'a> {
    /// The address it came from (the top Via's `received` and `rport`,
    /// else its sent-by).
    pub source: SocketAddr,
    /// The user of the To URI (the address-of-record).
    pub user: &'a str,
    /// The Authorization header's value, if any.
    pub authorization: Option<&'a str>,
    /// Each Contact header's value.
    pub contacts: Vec<&'a str>,
    /// The Expires header, if any.
    pub expires: Option<&'a str>,
}

impl Registrar {
    /// A registrar for `realm` with the users of `users_file` (`None`:
    /// nobody). A line is `user:realm:HA1`; lines of another realm, blank
    /// lines and `#` comments are skipped.
    pub fn load(realm: &str, users_file: Option<&Path>) -> std::io::Result<Self> {
        let mut users = HashMap::new();
        if let Some(path) = users_file {
            let text = std::fs::read_to_string(path)?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let mut parts = line.splitn(3, ':');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(user), Some(r), Some(ha1)) if !user.is_empty() && ha1.len() == 32 => {
                        if r == realm {
                            users.insert(user.to_owned(), ha1.to_ascii_lowercase());
                        }
                    }
                    _ => {
                        return Err(std::io::Error::other(format!(
                            "{}: line {} is not user:realm:HA1",
                            path.display(),
                            n + 1
                        )));
                    }
                }
            }
        }
        Ok(Self {
            digest: Digest::new(realm),
            users,
            bindings: Mutex::new(HashMap::new()),
        })
    }

    /// How many users may register.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// Answers one REGISTER.
    pub fn register(&self, request: &Register<'_>, now: Instant) -> Answer {
        if self.users.is_empty() {
            return Answer::status(403);
        }
        let challenge = |stale| Answer {
            status: 401,
            headers: vec![("WWW-Authenticate", self.digest.challenge(stale))],
        };
        let Some(credentials) = request.authorization.and_then(Credentials::parse) else {
            return challenge(false);
        };
        let user = credentials.get("username").unwrap_or("");
        let ha1 = self.users.get(user).map(String::as_str);
        match self
            .digest
            .verify(&credentials, "REGISTER", ha1, SystemTime::now())
        {
            Ok(()) => {}
            Err(Refusal::Missing) => return challenge(false),
            Err(Refusal::Stale) => return challenge(true),
            Err(Refusal::Wrong) => return Answer::status(403),
        }
        if user != request.user {
            return Answer::status(403);
        }
        let asked = match request.expires.map(|e| e.trim().parse::<u64>()) {
            None => DEFAULT_EXPIRES,
            Some(Ok(secs)) => secs,
            Some(Err(_)) => return Answer::status(400),
        };
        if asked != 0 && asked < MIN_EXPIRES {
            return Answer {
                status: 423,
                headers: vec![("Min-Expires", MIN_EXPIRES.to_string())],
            };
        }
        let mut bindings = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
        let mine = bindings.entry(user.to_owned()).or_default();
        mine.retain(|b| b.until > now);
        if request.contacts.iter().any(|c| c.trim() == "*") {
            if asked != 0 {
                return Answer::status(400);
            }
            mine.clear();
        }
        for contact in request.contacts.iter().filter(|c| c.trim() != "*") {
            let uri = contact_uri(contact);
            mine.retain(|b| b.contact != uri);
            if asked > 0 {
                if mine.len() >= MAX_CONTACTS {
                    return Answer::status(403);
                }
                let secs = asked.min(MAX_EXPIRES);
                mine.push(Binding {
                    contact: uri,
                    source: SocketAddr::new(
                        request.source.ip().to_canonical(),
                        request.source.port(),
                    ),
                    until: now + Duration::from_secs(secs),
                });
            }
        }
        let headers = mine
            .iter()
            .map(|b| {
                let left = b.until.saturating_duration_since(now).as_secs();
                ("Contact", format!("<{}>;expires={left}", b.contact))
            })
            .collect();
        Answer {
            status: 200,
            headers,
        }
    }

    /// Checks a request's digest credentials (its `Proxy-Authorization`
    /// value, if any) for `method`: a user's, a challenge to send (a
    /// `Proxy-Authenticate` value: none given, or an old nonce), or wrong.
    pub fn authenticate(&self, authorization: Option<&str>, method: &str) -> Authenticated {
        let Some(credentials) = authorization.and_then(Credentials::parse) else {
            return Authenticated::Challenge(self.digest.challenge(false));
        };
        let user = credentials.get("username").unwrap_or("");
        let ha1 = self.users.get(user).map(String::as_str);
        match self
            .digest
            .verify(&credentials, method, ha1, SystemTime::now())
        {
            Ok(()) => Authenticated::User(user.to_owned()),
            Err(Refusal::Missing) => Authenticated::Challenge(self.digest.challenge(false)),
            Err(Refusal::Stale) => Authenticated::Challenge(self.digest.challenge(true)),
            Err(Refusal::Wrong) => Authenticated::Wrong,
        }
    }

    /// Whether a user registered from `ip` (and is still registered): its
    /// calls are let in even from outside `sip.trusted_sources`.
    pub fn is_registered_source(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = ip.to_canonical();
        let bindings = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
        bindings
            .values()
            .flatten()
            .any(|b| b.source.ip() == ip && b.until > now)
    }

    /// Where `user` can be reached now: its live contacts.
    pub fn contacts(&self, user: &str, now: Instant) -> Vec<Reach> {
        let bindings = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
        bindings.get(user).map_or_else(Vec::new, |all| {
            all.iter()
                .filter(|b| b.until > now)
                .map(|b| Reach {
                    uri: b.contact.clone(),
                    via: behind_nat(&b.contact, b.source).then_some(b.source),
                })
                .collect()
        })
    }
}

/// What [`Registrar::authenticate`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    /// This user's right credentials.
    User(String),
    /// None, or an old nonce: challenge with this value.
    Challenge(String),
    /// Wrong credentials, or no such user.
    Wrong,
}

/// Whether a contact is behind NAT: it names a private address (RFC 1918,
/// IPv6 unique-local) that is not where its REGISTER came from.
fn behind_nat(contact: &str, source: SocketAddr) -> bool {
    let Some((_, address)) = super::uri::uri_address(contact) else {
        return false;
    };
    let private = match address.ip() {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    private && address != source
}

/// The URI of a Contact value: `<sip:a@b>;expires=60` or `sip:a@b`.
fn contact_uri(value: &str) -> String {
    let value = value.trim();
    match value.split_once('<') {
        Some((_, rest)) => rest.split('>').next().unwrap_or(rest).to_owned(),
        None => value.split(';').next().unwrap_or(value).to_owned(),
    }
}

#[cfg(test)]
mod tests;
