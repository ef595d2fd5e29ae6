//! Attribute value parsers.
//!
//! Every parser trims surrounding whitespace, then validates. Keywords
//! (booleans, methods, roles, formats, sounds, events) are case-insensitive.

use crate::error::InvalidReason;
use crate::values::{
    HangupReason, Method, RecordFileFormat, Role, Sound, StatusCallbackEvent, StatusCallbackEvents,
};

type Parsed<T> = Result<T, InvalidReason>;

/// `true` / `false`, case-insensitive.
pub(crate) fn boolean(value: &str) -> Parsed<bool> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(InvalidReason::NotBoolean)
    }
}

/// `GET` / `POST`, case-insensitive.
pub(crate) fn method(value: &str) -> Parsed<Method> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("GET") {
        Ok(Method::Get)
    } else if v.eq_ignore_ascii_case("POST") {
        Ok(Method::Post)
    } else {
        Err(InvalidReason::NotMethod)
    }
}

/// A decimal integer (ASCII digits only, no sign) within `min..=max`.
pub(crate) fn integer(value: &str, min: u32, max: u32) -> Parsed<u32> {
    let err = InvalidReason::IntegerRange {
        min: min.into(),
        max: max.into(),
    };
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err);
    }
    // Digits only, so the only possible failure is overflow.
    match v.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(err),
    }
}

/// Matches `value` (trimmed, case-insensitive) against `names`, returning the
/// index of the match.
pub(crate) fn keyword(value: &str, names: &'static [&'static str]) -> Parsed<usize> {
    let v = value.trim();
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(v))
        .ok_or(InvalidReason::OneOf(names))
}

pub(crate) const ROLES: &[&str] = &["agent", "supervisor", "customer"];

pub(crate) fn role(value: &str) -> Parsed<Role> {
    Ok([Role::Agent, Role::Supervisor, Role::Customer][keyword(value, ROLES)?])
}

pub(crate) fn record_file_format(value: &str) -> Parsed<RecordFileFormat> {
    let formats = [RecordFileFormat::Mp3, RecordFileFormat::Wav];
    Ok(formats[keyword(value, &["mp3", "wav"])?])
}

pub(crate) fn hangup_reason(value: &str) -> Parsed<HangupReason> {
    let reasons = [HangupReason::Rejected, HangupReason::Busy];
    Ok(reasons[keyword(value, &["rejected", "busy"])?])
}

/// `none`, `beep:1`, `beep:2` (case-insensitive) or an http(s) URL.
pub(crate) fn sound(value: &str) -> Parsed<Sound> {
    let v = value.trim();
    if v.eq_ignore_ascii_case("none") {
        Ok(Sound::None)
    } else if v.eq_ignore_ascii_case("beep:1") {
        Ok(Sound::Beep1)
    } else if v.eq_ignore_ascii_case("beep:2") {
        Ok(Sound::Beep2)
    } else {
        url(v).map(Sound::Url).map_err(|_| InvalidReason::NotSound)
    }
}

/// A comma separated list of event names (any order, whitespace around items
/// tolerated, empty items skipped, duplicates allowed). At least one item is
/// required; any unknown item is an error.
pub(crate) fn status_callback_events(value: &str) -> Parsed<StatusCallbackEvents> {
    let mut set = StatusCallbackEvents::empty();
    for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let event = StatusCallbackEvent::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(token))
            .ok_or_else(|| InvalidReason::UnknownEvent {
                token: token.to_owned(),
            })?;
        set.insert(event);
    }
    if set.is_empty() {
        Err(InvalidReason::Empty)
    } else {
        Ok(set)
    }
}

/// A non-empty trimmed string.
pub(crate) fn non_empty(value: &str) -> Parsed<String> {
    let v = value.trim();
    if v.is_empty() {
        Err(InvalidReason::Empty)
    } else {
        Ok(v.to_owned())
    }
}

/// An absolute `http://` or `https://` URL with a non-empty host, checked by
/// hand: scheme (case-insensitive), optional `user@`, host (a name or a
/// bracketed IPv6 literal), optional port 1-65535, then anything starting with
/// `/`, `?` or `#`. No whitespace or control characters anywhere. Returns the
/// trimmed URL.
pub(crate) fn url(value: &str) -> Parsed<String> {
    let v = value.trim();
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidReason::NotUrl);
    }
    let rest = strip_prefix_ci(v, "https://")
        .or_else(|| strip_prefix_ci(v, "http://"))
        .ok_or(InvalidReason::NotUrl)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = match authority.rsplit_once('@') {
        Some((_user, host_port)) => host_port,
        None => authority,
    };
    let (host, port) = if let Some(inner) = host_port.strip_prefix('[') {
        let (ip6, after) = inner.split_once(']').ok_or(InvalidReason::NotUrl)?;
        if ip6.is_empty()
            || !ip6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(InvalidReason::NotUrl);
        }
        match after {
            "" => (ip6, None),
            _ => (
                ip6,
                Some(after.strip_prefix(':').ok_or(InvalidReason::NotUrl)?),
            ),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '%' | '~'));
    let port_ok = port.is_none_or(|p| integer(p, 1, 65535).is_ok() && p == p.trim());
    if host_ok && port_ok {
        Ok(v.to_owned())
    } else {
        Err(InvalidReason::NotUrl)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}
