//! RFC 4028 session timers, decided from the INVITE: how long a session
//! lives without a refresh, and who refreshes it.
//!
//! Every answered call gets one, so a call whose peer vanished without a
//! BYE ends even when media does not tell (a peer on hold sends nothing):
//! - a caller that supports timers (`Supported: timer`) refreshes
//!   (`refresher=uac`, `Require: timer` in our 200 OK) unless its
//!   `Session-Expires` names us; when no refresh (re-INVITE or UPDATE)
//!   comes in time, we hang up (§10: at the interval less a third, 32 s at
//!   most);
//! - otherwise we refresh (`refresher=uas`): UPDATE at half the interval
//!   when the caller allows it, else a re-INVITE with our current SDP; a
//!   refresh the caller answers 408 or 481, or does not answer, ends the
//!   call.
//!
//! The interval is `sip.session_expires`, or the caller's own if it asks
//! for less, never under [`MIN_SE`]; an INVITE asking for less than that
//! gets `422` with `Min-SE` (§6).

use std::time::Duration;

use rsipstack::sip::{Header, Headers, Request, Response};

/// The smallest session interval we accept (RFC 4028's floor).
pub const MIN_SE: Duration = Duration::from_secs(90);

/// Who sends the refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// The caller.
    Uac,
    /// We do.
    Uas,
}

/// A call's negotiated session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimer {
    /// The session interval.
    pub interval: Duration,
    /// Who refreshes.
    pub refresher: Refresher,
    /// The caller supports timers: our 2xx carries `Require: timer`.
    pub caller_supports: bool,
}

/// The INVITE asked for an interval below [`MIN_SE`]: answer 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSmall;

impl SessionTimer {
    /// Negotiates from the INVITE's `Supported`, `Session-Expires` and
    /// `Min-SE`, with `ours` the configured interval.
    pub fn negotiate(invite: &Request, ours: Duration) -> Result<Self, TooSmall> {
        let supports = header_values(&invite.headers, &["supported", "k"])
            .flat_map(|v| {
                v.split(',')
                    .map(str::trim)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .any(|option| option.eq_ignore_ascii_case("timer"));
        let asked = header_values(&invite.headers, &["session-expires", "x"]).next();
        let min_se = header_values(&invite.headers, &["min-se"])
            .next()
            .and_then(|v| seconds(&v))
            .map_or(MIN_SE, |s| s.max(MIN_SE));
        let mut interval = ours.max(min_se);
        let mut refresher = None;
        if let Some(value) = asked {
            let Some(theirs) = seconds(&value) else {
                return Err(TooSmall); // unreadable: ask again with ours
            };
            if theirs < MIN_SE {
                return Err(TooSmall);
            }
            interval = interval.min(theirs).max(min_se);
            refresher = param(&value, "refresher").and_then(|r| match r.as_str() {
                "uac" => Some(Refresher::Uac),
                "uas" => Some(Refresher::Uas),
                _ => None,
            });
        }
        let refresher = match refresher {
            Some(Refresher::Uac) if !supports => Refresher::Uas,
            Some(r) => r,
            None if supports => Refresher::Uac,
            None => Refresher::Uas,
        };
        Ok(Self {
            interval,
            refresher,
            caller_supports: supports,
        })
    }

    /// The headers our 2xx answers carry.
    pub fn headers(&self) -> Vec<Header> {
        let refresher = match self.refresher {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        };
        let mut headers = vec![Header::Other(
            "Session-Expires".to_owned(),
            format!("{};refresher={refresher}", self.interval.as_secs()),
        )];
        if self.caller_supports {
            headers.push(Header::Other("Require".to_owned(), "timer".to_owned()));
        }
        headers
    }

    /// The timer a callee's 2xx to our INVITE set: its `Session-Expires`
    /// (`refresher` absent: we refresh); `None` when it set none.
    pub fn from_answer(response: &Response) -> Option<Self> {
        let value = header_values(&response.headers, &["session-expires", "x"]).next()?;
        let interval = seconds(&value)?.max(Duration::from_secs(1));
        let refresher = match param(&value, "refresher").as_deref() {
            Some("uas") => Refresher::Uas,
            _ => Refresher::Uac,
        };
        Some(Self {
            interval,
            refresher,
            caller_supports: false,
        })
    }

    /// Whether we send the refreshes: the refresher is our side (`uas`
    /// when we answered the INVITE, `uac` when we sent it).
    pub fn we_refresh(&self, we_answered: bool) -> bool {
        (self.refresher == Refresher::Uas) == we_answered
    }

    /// How long after the last refresh we act: when the peer refreshes, we
    /// hang up once the session expires (less a third of it, 32 s at most:
    /// RFC 4028 §10); when we refresh, we do at half the interval.
    pub fn due_after(&self, we_refresh: bool) -> Duration {
        if we_refresh {
            self.interval / 2
        } else {
            self.interval - (self.interval / 3).min(Duration::from_secs(32))
        }
    }

    /// The 422 answer's `Min-SE` header.
    pub fn min_se_header() -> Header {
        Header::Other("Min-SE".to_owned(), MIN_SE.as_secs().to_string())
    }
}

/// The values of the headers named `names` (any case), in order.
fn header_values<'a>(headers: &'a Headers, names: &'a [&str]) -> impl Iterator<Item = String> + 'a {
    headers.iter().filter_map(move |header| {
        let text = header.to_string();
        let (name, value) = text.split_once(':')?;
        names
            .iter()
            .any(|n| name.trim().eq_ignore_ascii_case(n))
            .then(|| value.trim().to_owned())
    })
}

/// `1800;refresher=uac` → 1800 s.
fn seconds(value: &str) -> Option<Duration> {
    let number = value.split(';').next()?.trim();
    number.parse::<u64>().ok().map(Duration::from_secs)
}

/// A `;name=value` parameter, lower-cased.
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (key, v) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(extra: &str) -> Request {
        let raw = format!(
            "INVITE sip:r@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\n\
             From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:r@127.0.0.1>\r\nCall-ID: c\r\n\
             CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        match rsipstack::sip::SipMessage::try_from(raw.as_str()).unwrap() {
            rsipstack::sip::SipMessage::Request(r) => r,
            _ => unreachable!(),
        }
    }

    const OURS: Duration = Duration::from_secs(1800);

    #[test]
    fn a_caller_with_timers_refreshes_at_the_shorter_interval() {
        let t = SessionTimer::negotiate(
            &invite("Supported: replaces, timer\r\nSession-Expires: 600\r\n"),
            OURS,
        )
        .unwrap();
        assert_eq!(
            t,
            SessionTimer {
                interval: Duration::from_secs(600),
                refresher: Refresher::Uac,
                caller_supports: true
            }
        );
        let text: Vec<String> = t.headers().iter().map(|h| h.to_string()).collect();
        assert_eq!(
            text,
            ["Session-Expires: 600;refresher=uac", "Require: timer"]
        );
        assert_eq!(t.due_after(false), Duration::from_secs(600 - 32));
        let short = SessionTimer::negotiate(&invite("k: timer\r\nx: 90\r\n"), OURS).unwrap();
        assert_eq!(
            short.due_after(false),
            Duration::from_secs(60),
            "90 less a third"
        );
    }

    #[test]
    fn without_timer_support_we_refresh_at_half_our_interval() {
        let t = SessionTimer::negotiate(&invite(""), OURS).unwrap();
        assert_eq!((t.refresher, t.interval), (Refresher::Uas, OURS));
        assert_eq!(t.due_after(true), Duration::from_secs(900));
        let text: Vec<String> = t.headers().iter().map(|h| h.to_string()).collect();
        assert_eq!(text, ["Session-Expires: 1800;refresher=uas"]);
        // It cannot refresh, whatever it asked.
        let t = SessionTimer::negotiate(&invite("Session-Expires: 300;refresher=uac\r\n"), OURS)
            .unwrap();
        assert_eq!(
            (t.refresher, t.interval),
            (Refresher::Uas, Duration::from_secs(300))
        );
    }

    #[test]
    fn a_caller_may_ask_us_to_refresh() {
        let t = SessionTimer::negotiate(
            &invite("Supported: timer\r\nSession-Expires: 120;refresher=uas\r\n"),
            OURS,
        )
        .unwrap();
        assert_eq!(
            (t.refresher, t.interval),
            (Refresher::Uas, Duration::from_secs(120))
        );
    }

    #[test]
    fn too_small_or_unreadable_intervals_get_422_and_min_se_is_respected() {
        assert_eq!(
            SessionTimer::negotiate(&invite("Session-Expires: 30\r\n"), OURS),
            Err(TooSmall)
        );
        assert_eq!(
            SessionTimer::negotiate(&invite("Session-Expires: soon\r\n"), OURS),
            Err(TooSmall)
        );
        let t = SessionTimer::negotiate(
            &invite("Supported: timer\r\nMin-SE: 900\r\nSession-Expires: 1000\r\n"),
            Duration::from_secs(600),
        )
        .unwrap();
        assert_eq!(
            t.interval,
            Duration::from_secs(900),
            "never under the caller's Min-SE"
        );
        assert_eq!(SessionTimer::min_se_header().to_string(), "Min-SE: 90");
    }

    #[test]
    fn a_callees_answer_sets_who_refreshes_our_call() {
        let answer = |extra: &str| {
            let raw = format!(
                "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\n\
                 From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:r@127.0.0.1>;tag=2\r\nCall-ID: c\r\n\
                 CSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
            );
            match rsipstack::sip::SipMessage::try_from(raw.as_str()).unwrap() {
                rsipstack::sip::SipMessage::Response(r) => r,
                _ => unreachable!(),
            }
        };
        assert_eq!(SessionTimer::from_answer(&answer("")), None, "no timer");
        let ours =
            SessionTimer::from_answer(&answer("Session-Expires: 90;refresher=uac\r\n")).unwrap();
        assert_eq!(ours.interval, Duration::from_secs(90));
        assert!(ours.we_refresh(false), "we sent the INVITE: uac is us");
        assert_eq!(ours.due_after(true), Duration::from_secs(45));
        let theirs = SessionTimer::from_answer(&answer("x: 120;refresher=uas\r\n")).unwrap();
        assert!(!theirs.we_refresh(false));
        assert_eq!(theirs.due_after(false), Duration::from_secs(120 - 32));
        let unsaid = SessionTimer::from_answer(&answer("Session-Expires: 300\r\n")).unwrap();
        assert!(unsaid.we_refresh(false), "no refresher named: we refresh");
    }
}
