//! HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, MD5 with
//! `qop=auth`), the server's side: challenges with a nonce chorus can check
//! without remembering it, and answers checked against a user's HA1
//! (`MD5(user:realm:password)`, as an htdigest file stores it, so chorus
//! never holds passwords).
//!
//! A nonce is `<issued, seconds since the epoch>.<HMAC-like MD5 of it and a
//! secret>` in hex: it proves chorus issued it, and says how old it is; an
//! old one is refused with `stale=true`, so a phone retries without asking
//! its user again.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use md5::{Digest as _, Md5};

/// How long a nonce is good for.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hash = Md5::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash.update(b":");
        }
        hash.update(part);
    }
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `MD5(user:realm:password)`: what a users file stores.
pub fn ha1(user: &str, realm: &str, password: &str) -> String {
    md5_hex(&[user.as_bytes(), realm.as_bytes(), password.as_bytes()])
}

/// Issues and checks nonces for one realm.
pub struct Digest {
    realm: String,
    secret: [u8; 16],
}

/// Why an `Authorization` was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No usable credentials: challenge (401).
    Missing,
    /// Right password, old nonce: challenge again with `stale=true`.
    Stale,
    /// Unknown user or wrong answer (403 after a challenge).
    Wrong,
}

/// The `Authorization` header's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    fields: HashMap<String, String>,
}

impl Credentials {
    /// Reads `Digest username="…", realm="…", …`; `None` if it is not Digest.
    pub fn parse(header: &str) -> Option<Self> {
        let rest = header.trim();
        let rest = rest
            .get(..6)
            .filter(|scheme| scheme.eq_ignore_ascii_case("digest"))
            .map(|_| &rest[6..])?;
        let mut fields = HashMap::new();
        let mut text = rest.trim_start();
        while !text.is_empty() {
            let (name, after) = text.split_once('=')?;
            let name = name.trim().to_ascii_lowercase();
            let after = after.trim_start();
            let (value, rest) = match after.strip_prefix('"') {
                Some(quoted) => {
                    let end = quoted.find('"')?;
                    (&quoted[..end], &quoted[end + 1..])
                }
                None => after.split_at(after.find(',').unwrap_or(after.len())),
            };
            fields.insert(name, value.trim().to_owned());
            text = rest.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Self { fields })
    }

    /// A field, e.g. `username`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

impl Digest {
    /// Nonces for `realm`, signed with a fresh random secret.
    pub fn new(realm: &str) -> Self {
        Self {
            realm: realm.to_owned(),
            secret: uuid::Uuid::new_v4().into_bytes(),
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    fn nonce_at(&self, issued: u64) -> String {
        let stamp = issued.to_string();
        format!("{stamp}.{}", md5_hex(&[stamp.as_bytes(), &self.secret]))
    }

    /// A `WWW-Authenticate` value: a fresh nonce (and `stale=true` when
    /// the last one was merely old).
    pub fn challenge(&self, stale: bool) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"{}",
            self.realm,
            self.nonce_at(now),
            if stale { ", stale=true" } else { "" }
        )
    }

    /// Checks `credentials` for `method` against the user's HA1 (`None`:
    /// no such user).
    pub fn verify(
        &self,
        credentials: &Credentials,
        method: &str,
        ha1: Option<&str>,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        let field = |name| credentials.get(name).ok_or(Refusal::Missing);
        let (nonce, uri, response) = (field("nonce")?, field("uri")?, field("response")?);
        if credentials.get("realm") != Some(self.realm.as_str()) {
            return Err(Refusal::Missing);
        }
        let issued: u64 = nonce
            .split_once('.')
            .and_then(|(stamp, _)| stamp.parse().ok())
            .filter(|issued| self.nonce_at(*issued) == nonce)
            .ok_or(Refusal::Missing)?;
        let ha1 = ha1.ok_or(Refusal::Wrong)?;
        let ha2 = md5_hex(&[method.as_bytes(), uri.as_bytes()]);
        let expected = match credentials.get("qop") {
            Some(qop) => md5_hex(&[
                ha1.as_bytes(),
                nonce.as_bytes(),
                field("nc")?.as_bytes(),
                field("cnonce")?.as_bytes(),
                qop.as_bytes(),
                ha2.as_bytes(),
            ]),
            None => md5_hex(&[ha1.as_bytes(), nonce.as_bytes(), ha2.as_bytes()]),
        };
        if !expected.eq_ignore_ascii_case(response) {
            return Err(Refusal::Wrong);
        }
        let age = now
            .duration_since(UNIX_EPOCH + Duration::from_secs(issued))
            .unwrap_or_default();
        if age > NONCE_LIFETIME {
            return Err(Refusal::Stale);
        }
        Ok(())
    }
}

/// A client's answer to a challenge, as a phone computes it (for tests and
/// for chorus's own requests to trunks later).
pub fn answer(
    challenge_nonce: &str,
    (user, realm, password): (&str, &str, &str),
    method: &str,
    uri: &str,
    cnonce: &str,
) -> String {
    let ha1 = ha1(user, realm, password);
    let ha2 = md5_hex(&[method.as_bytes(), uri.as_bytes()]);
    let response = md5_hex(&[
        ha1.as_bytes(),
        challenge_nonce.as_bytes(),
        b"00000001",
        cnonce.as_bytes(),
        b"auth",
        ha2.as_bytes(),
    ]);
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{challenge_nonce}\", \
         uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, \
         cnonce=\"{cnonce}\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce_of(challenge: &str) -> &str {
        challenge
            .split("nonce=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
    }

    #[test]
    fn a_right_answer_passes_and_a_wrong_or_old_one_does_not() {
        let digest = Digest::new("chorus");
        let nonce = nonce_of(&digest.challenge(false)).to_owned();
        let user = ("alice", "chorus", "s3cret");
        let ha1 = ha1("alice", "chorus", "s3cret");
        let now = SystemTime::now();
        let header = answer(&nonce, user, "REGISTER", "sip:127.0.0.1", "abc");
        let credentials = Credentials::parse(&header).unwrap();
        assert_eq!(credentials.get("username"), Some("alice"));
        assert_eq!(
            digest.verify(&credentials, "REGISTER", Some(&ha1), now),
            Ok(())
        );
        let wrong = answer(
            &nonce,
            ("alice", "chorus", "guess"),
            "REGISTER",
            "sip:127.0.0.1",
            "abc",
        );
        let wrong = Credentials::parse(&wrong).unwrap();
        assert_eq!(
            digest.verify(&wrong, "REGISTER", Some(&ha1), now),
            Err(Refusal::Wrong)
        );
        assert_eq!(
            digest.verify(&credentials, "REGISTER", None, now),
            Err(Refusal::Wrong)
        );
        let later = now + NONCE_LIFETIME + Duration::from_secs(5);
        assert_eq!(
            digest.verify(&credentials, "REGISTER", Some(&ha1), later),
            Err(Refusal::Stale)
        );
        // A nonce chorus did not issue (another secret) is no nonce at all.
        let other = Digest::new("chorus");
        assert_eq!(
            other.verify(&credentials, "REGISTER", Some(&ha1), now),
            Err(Refusal::Missing)
        );
    }

    #[test]
    fn the_rfc_2617_example_computes_as_published() {
        // RFC 2617 §3.5: user Mufasa, password "Circle Of Life".
        let ha1 = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        let ha2 = md5_hex(&[b"GET", b"/dir/index.html"]);
        let response = md5_hex(&[
            ha1.as_bytes(),
            b"dcd98b7102dd2f0e8b11d0f600bfb0c093",
            b"00000001",
            b"0a4f113b",
            b"auth",
            ha2.as_bytes(),
        ]);
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn credentials_read_quoted_and_bare_fields() {
        let c = Credentials::parse(
            r#"Digest username="bob", realm="chorus",nonce="1.ab", uri="sip:x", response="00", qop=auth, nc=00000001, cnonce="c""#,
        )
        .unwrap();
        assert_eq!(
            (c.get("qop"), c.get("nc"), c.get("uri")),
            (Some("auth"), Some("00000001"), Some("sip:x"))
        );
        assert!(Credentials::parse("Basic Ym9iOng=").is_none());
    }
}
