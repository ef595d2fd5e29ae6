//! The door of the SIP endpoint: one [`Guard`] shared by every transport
//! screens each message ([`super::screen`]), refuses new INVITEs from
//! outside `sip.trusted_sources` and from no registered user's address
//! (403), holds each source IP to
//! `sip.invite_rate` new INVITEs per second, counts what it turns away for
//! `/metrics` (`chorus_sip_rejected_total{reason}`), and logs it at most
//! once a second per reason, with how many lines it held back, so a flood
//! cannot flood the log too.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chorus_config::{InboundAuth, IpNet, RateLimitAction, SipConfig};

use super::registrar::{Authenticated, Registrar};
use super::screen::{self, Rejection, Verdict};
use crate::metrics::{render_counter, render_header};

/// What `Retry-After` says in our 503s, in seconds.
pub const RETRY_AFTER_SECS: u32 = 5;

/// How often a reason may be logged.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// Sources remembered by the rate limiter before idle ones are forgotten.
const TRACKED_SOURCES: usize = 4096;

/// Screens, limits and counts what comes in; shared by every transport.
pub struct Guard {
    rejected: [AtomicU64; Rejection::ALL.len()],
    log: Mutex<[LogSlot; Rejection::ALL.len()]>,
    invites: Mutex<HashMap<IpAddr, Bucket>>,
    invite_rate: u32,
    action: RateLimitAction,
    trusted: Vec<IpNet>,
    /// Whether untrusted sources may get in on digest credentials.
    inbound_auth: InboundAuth,
    /// Registered users' addresses are let in too (and its users'
    /// credentials check `inbound_auth = "digest"`).
    registrar: Arc<Registrar>,
}

/// The value of the first `name` header (lower case) of a message head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
}

#[derive(Debug, Clone, Copy, Default)]
struct LogSlot {
    last: Option<Instant>,
    held_back: u64,
}

/// A token bucket: `invite_rate` tokens a second, as many at most.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Guard {
    /// A guard for `sip`'s limits, letting in calls from `registrar`'s
    /// registered users as well as from `sip.trusted_sources`.
    pub fn new(sip: &SipConfig, registrar: Arc<Registrar>) -> Self {
        Self {
            rejected: Default::default(),
            log: Mutex::new([LogSlot::default(); Rejection::ALL.len()]),
            invites: Mutex::new(HashMap::new()),
            invite_rate: sip.invite_rate,
            action: sip.rate_limit_action,
            trusted: sip.trusted_sources.clone(),
            inbound_auth: sip.inbound_auth,
            registrar,
        }
    }

    /// Screens one whole message from `from`; a new INVITE from an
    /// untrusted source gets `403`, one over its source's rate `503` with
    /// `Retry-After` or nothing, as configured. Counts and logs whatever is
    /// turned away.
    pub fn check(&self, message: &[u8], from: SocketAddr) -> Verdict {
        let verdict = match screen::screen(message) {
            Verdict::Pass(len)
                if screen::is_initial_invite(&message[..len]) && !self.trusts(from.ip()) =>
            {
                self.untrusted_invite(&String::from_utf8_lossy(&message[..len]), len)
            }
            Verdict::Pass(len)
                if self.invite_rate > 0
                    && screen::is_initial_invite(&message[..len])
                    && !self.take_invite(from.ip(), Instant::now()) =>
            {
                match self.action {
                    RateLimitAction::Drop => Verdict::Drop(Rejection::RateLimited),
                    RateLimitAction::Reply => screen::refuse(
                        &String::from_utf8_lossy(&message[..len]),
                        503,
                        "Service Unavailable",
                        &format!("Retry-After: {RETRY_AFTER_SECS}\r\n"),
                        Rejection::RateLimited,
                    ),
                }
            }
            verdict => verdict,
        };
        match &verdict {
            Verdict::Pass(_) => {}
            Verdict::Reply { response, why } => {
                let status = response.lines().next().unwrap_or("");
                self.reject(*why, from, status);
            }
            Verdict::Drop(why) => self.reject(*why, from, "dropped"),
        }
        verdict
    }

    /// An INVITE from a source not trusted by address: `403`, or with
    /// `sip.inbound_auth = "digest"` let in on a user's credentials and
    /// challenged (`407`) without them.
    fn untrusted_invite(&self, head: &str, len: usize) -> Verdict {
        let forbidden = || screen::refuse(head, 403, "Forbidden", "", Rejection::Untrusted);
        if self.inbound_auth != InboundAuth::Digest {
            return forbidden();
        }
        let credentials = header(head, "proxy-authorization");
        match self.registrar.authenticate(credentials, "INVITE") {
            Authenticated::User(user) => {
                tracing::info!(%user, "a call from an untrusted source is let in on its credentials");
                Verdict::Pass(len)
            }
            Authenticated::Challenge(value) => screen::refuse(
                head,
                407,
                "Proxy Authentication Required",
                &format!("Proxy-Authenticate: {value}\r\n"),
                Rejection::Challenged,
            ),
            Authenticated::Wrong => forbidden(),
        }
    }

    /// Whether `ip` may place calls: it is in `sip.trusted_sources`, or a
    /// registered user registered from it.
    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
            || self.registrar.is_registered_source(ip, Instant::now())
    }

    /// Counts one thing turned away, and logs it unless this reason was
    /// logged less than a second ago.
    pub fn reject(&self, why: Rejection, from: SocketAddr, what: &str) {
        self.rejected[why as usize].fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let held_back = {
            let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            let slot = &mut log[why as usize];
            if slot
                .last
                .is_some_and(|last| now.duration_since(last) < LOG_EVERY)
            {
                slot.held_back += 1;
                return;
            }
            slot.last = Some(now);
            std::mem::take(&mut slot.held_back)
        };
        let reason = why.as_str();
        match why {
            Rejection::NotSip => tracing::debug!(%from, reason, held_back, "{what}"),
            _ => tracing::info!(%from, reason, held_back, "turned away: {what}"),
        }
    }

    /// How many were turned away for `why` so far.
    pub fn rejected(&self, why: Rejection) -> u64 {
        self.rejected[why as usize].load(Ordering::Relaxed)
    }

    /// Appends `chorus_sip_rejected_total` to a metrics page.
    pub fn render(&self, out: &mut String) {
        let name = "chorus_sip_rejected_total";
        render_header(
            out,
            name,
            "counter",
            "SIP messages and connections turned away, by reason.",
        );
        for why in Rejection::ALL {
            let labels = format!("reason=\"{}\"", why.as_str());
            render_counter(out, name, &labels, &self.rejected[why as usize]);
        }
    }

    /// Takes a token from `source`'s bucket, if it has one.
    fn take_invite(&self, source: IpAddr, now: Instant) -> bool {
        let rate = f64::from(self.invite_rate);
        let mut buckets = self.invites.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= TRACKED_SOURCES && !buckets.contains_key(&source) {
            // A full bucket is a source we may forget: it would start full
            // again anyway.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < rate);
        }
        let bucket = buckets.entry(source).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(rate: u32, action: RateLimitAction) -> Guard {
        let nobody = Arc::new(Registrar::load("chorus", None).unwrap());
        Guard::new(
            &SipConfig {
                invite_rate: rate,
                rate_limit_action: action,
                ..SipConfig::default()
            },
            nobody,
        )
    }

    fn invite(call_id: &str) -> String {
        format!(
            "INVITE sip:r@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{call_id}\r\n\
             From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:r@127.0.0.1>\r\nCall-ID: {call_id}\r\n\
             CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
    }

    #[test]
    fn a_source_over_its_invite_rate_gets_503_with_retry_after() {
        let guard = guard(3, RateLimitAction::Reply);
        let alice: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let bob: SocketAddr = "127.0.0.2:5000".parse().unwrap();
        for k in 0..3 {
            assert!(matches!(
                guard.check(invite(&format!("a{k}")).as_bytes(), alice),
                Verdict::Pass(_)
            ));
        }
        let Verdict::Reply { response, why } = guard.check(invite("a3").as_bytes(), alice) else {
            panic!("not refused")
        };
        assert!(
            response.starts_with("SIP/2.0 503 Service Unavailable\r\n"),
            "{response}"
        );
        assert!(response.contains("Retry-After: 5\r\n"), "{response}");
        assert!(response.contains("Call-ID: a3\r\n"), "{response}");
        assert_eq!(why, Rejection::RateLimited);
        assert!(
            matches!(guard.check(invite("b0").as_bytes(), bob), Verdict::Pass(_)),
            "per source"
        );
        assert_eq!(guard.rejected(Rejection::RateLimited), 1);
    }

    #[test]
    fn the_bucket_refills_and_drop_mode_stays_silent() {
        let guard = guard(1, RateLimitAction::Drop);
        let alice: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let t0 = Instant::now();
        assert!(guard.take_invite(alice.ip(), t0));
        assert!(!guard.take_invite(alice.ip(), t0 + Duration::from_millis(500)));
        assert!(guard.take_invite(alice.ip(), t0 + Duration::from_millis(1600)));
        assert_eq!(
            guard.check(invite("x").as_bytes(), alice),
            Verdict::Drop(Rejection::RateLimited)
        );
    }

    #[test]
    fn in_dialog_requests_and_a_zero_rate_are_not_limited() {
        let guard = guard(0, RateLimitAction::Reply);
        let alice: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        for k in 0..100 {
            assert!(matches!(
                guard.check(invite(&k.to_string()).as_bytes(), alice),
                Verdict::Pass(_)
            ));
        }
        let limited = self::guard(1, RateLimitAction::Reply);
        let re_invite = invite("c").replace("To: <sip:r@127.0.0.1>", "To: <sip:r@127.0.0.1>;tag=2");
        for _ in 0..10 {
            assert!(matches!(
                limited.check(re_invite.as_bytes(), alice),
                Verdict::Pass(_)
            ));
        }
    }

    #[test]
    fn rejections_are_counted_and_rendered() {
        let guard = guard(20, RateLimitAction::Reply);
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        for _ in 0..5 {
            guard.check(b"\x80\x01junk", from);
        }
        let mut text = String::new();
        guard.render(&mut text);
        assert!(
            text.contains("chorus_sip_rejected_total{reason=\"not_sip\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("chorus_sip_rejected_total{reason=\"rate_limited\"} 0"),
            "{text}"
        );
    }
}
