//! Request parameters as Plivo's clients send them: a JSON object (the
//! SDKs), a form (curl users), or a query string (GETs). One [`Params`]
//! reads them all; values are taken leniently where the SDKs are odd (the
//! Python SDK wraps `start`'s values in one-item lists, and booleans may
//! come as JSON booleans or as `"true"`/`"false"`), and unknown parameters
//! (`callback_url`, `transcript`, identifiers repeated in the body) are
//! ignored, never an error.

use std::collections::HashMap;

use chorus_mpc::Timestamp;
use serde_json::Value;

/// One request's parameters, by name.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, Value>);

/// A parameter that is present but unusable: the message says which and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam(pub String);

impl Params {
    /// From name/value pairs (gRPC's parameter maps), each value a string.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(name, value)| (name, Value::String(value)))
                .collect(),
        )
    }

    /// From a body: JSON when it says so or looks like it, else a form. An
    /// empty body is no parameters.
    pub fn from_body(content_type: Option<&str>, body: &[u8]) -> Result<Self, BadParam> {
        let text =
            std::str::from_utf8(body).map_err(|_| BadParam("the body is not UTF-8".to_owned()))?;
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let json =
            content_type.is_some_and(|t| t.contains("json")) || text.trim_start().starts_with('{');
        if json {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => Ok(Self(map.into_iter().collect())),
                Ok(_) => Err(BadParam("the JSON body must be an object".to_owned())),
                Err(error) => Err(BadParam(format!("malformed JSON body: {error}"))),
            }
        } else {
            Self::from_query(text)
        }
    }

    /// From a query string (or a form body).
    pub fn from_query(text: &str) -> Result<Self, BadParam> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text)
            .map_err(|error| BadParam(format!("malformed form or query: {error}")))?;
        Ok(Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ))
    }

    /// A text parameter; a one-item list counts as its item.
    pub fn text(&self, name: &str) -> Result<Option<String>, BadParam> {
        match self.0.get(name).map(unwrap_one) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(BadParam(format!("{name} must be text, got {other}"))),
        }
    }

    /// A scalar parameter as text, whatever its JSON type (`true`, `600`,
    /// `"x"`): for values handed on to a parser of their own.
    pub fn scalar(&self, name: &str) -> Result<Option<String>, BadParam> {
        match self.0.get(name).map(unwrap_one) {
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            _ => self.text(name),
        }
    }

    /// A text parameter that must be one of `choices` (any case).
    pub fn one_of<T: Copy>(
        &self,
        name: &str,
        choices: &[(&str, T)],
    ) -> Result<Option<T>, BadParam> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        if let Some((_, value)) = choices.iter().find(|(c, _)| c.eq_ignore_ascii_case(&text)) {
            return Ok(Some(*value));
        }
        let names: Vec<&str> = choices.iter().map(|(c, _)| *c).collect();
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        let listed = match rest {
            [] => (*last).to_owned(),
            _ => format!("{} or {last}", rest.join(", ")),
        };
        Err(BadParam(format!("{name} must be {listed}, got {text:?}")))
    }

    /// A boolean parameter: `true`/`false` as JSON or as text.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, BadParam> {
        match self.0.get(name).map(unwrap_one) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(BadParam(format!(
                "{name} must be true or false, got {other}"
            ))),
        }
    }

    /// A non-negative integer parameter, as a JSON number or as text.
    pub fn integer(&self, name: &str) -> Result<Option<u64>, BadParam> {
        let bad = |v: &Value| BadParam(format!("{name} must be a whole number, got {v}"));
        match self.0.get(name).map(unwrap_one) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| bad(v)),
            Some(v @ Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(v)),
            Some(other) => Err(bad(other)),
        }
    }
}

impl Params {
    /// A time parameter, `YYYY-MM-DD HH:MM[:SS[.ffffff]]` in UTC (Plivo's
    /// filter format).
    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, BadParam> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        parse_time(&text).map(Some).ok_or_else(|| {
            BadParam(format!(
                "{name} must be YYYY-MM-DD HH:MM[:SS[.ffffff]], got {text:?}"
            ))
        })
    }
}

/// `2020-07-08 07:45[:36[.123]]` → milliseconds since the epoch (UTC).
fn parse_time(text: &str) -> Option<Timestamp> {
    let (date, clock) = text.trim().split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut c = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (c.next()??, c.next()??, c.next().unwrap_or(Some(0))?);
    let valid = d.next().is_none()
        && c.next().is_none()
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..61).contains(&second)
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let millis = format!("{fraction:0<3}").get(..3)?.parse::<i64>().ok()?;
    // Days from 1970-01-01 to the civil date (proleptic Gregorian).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(secs * 1000 + millis).ok().map(Timestamp)
}

/// `["active"]` → `"active"`: the Python SDK's `start` wraps every value.
fn unwrap_one(value: &Value) -> &Value {
    match value {
        Value::Array(items) if items.len() == 1 => &items[0],
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_forms_and_the_sdks_oddities() {
        let json = Params::from_body(
            Some("application/json"),
            br#"{"status": ["active"], "mute": true, "hold": "false", "limit": 5, "uuid": "x"}"#,
        )
        .unwrap();
        assert_eq!(json.text("status").unwrap().as_deref(), Some("active"));
        assert_eq!(json.boolean("mute").unwrap(), Some(true));
        assert_eq!(json.boolean("hold").unwrap(), Some(false));
        assert_eq!(json.integer("limit").unwrap(), Some(5));
        assert_eq!(json.boolean("coach_mode").unwrap(), None);
        let colours = [("red", 1), ("green", 2), ("blue", 3)];
        assert_eq!(json.one_of("absent", &colours).unwrap(), None);
        let picked = Params::from_query("c=GREEN&d=pink").unwrap();
        assert_eq!(picked.one_of("c", &colours).unwrap(), Some(2));
        assert_eq!(
            picked.one_of("d", &colours).unwrap_err().0,
            "d must be red, green or blue, got \"pink\""
        );
        let form = Params::from_body(
            Some("application/x-www-form-urlencoded"),
            b"mute=true&status=active",
        )
        .unwrap();
        assert_eq!(form.boolean("mute").unwrap(), Some(true));
        assert_eq!(form.text("status").unwrap().as_deref(), Some("active"));
        let empty = Params::from_body(Some("application/json"), b"").unwrap();
        assert_eq!(empty.text("status").unwrap(), None);
    }

    #[test]
    fn times_read_as_plivo_writes_them() {
        let t = parse_time("2020-07-08 07:45:36").unwrap();
        assert_eq!(t.to_string(), "2020-07-08 07:45:36+00:00");
        assert_eq!(
            parse_time("2020-07-08 07:45").unwrap().to_string(),
            "2020-07-08 07:45:00+00:00"
        );
        assert_eq!(parse_time("2024-02-29 23:59:59.5").unwrap().0 % 1000, 500);
        for bad in [
            "2020-13-01 00:00",
            "yesterday",
            "2020-07-08",
            "2020-07-08 25:00",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_values_and_bodies_say_what_is_wrong() {
        let p = Params::from_body(None, br#"{"mute": "maybe", "limit": -1}"#).unwrap();
        assert!(
            p.boolean("mute")
                .unwrap_err()
                .0
                .contains("mute must be true or false")
        );
        assert!(
            p.integer("limit")
                .unwrap_err()
                .0
                .contains("limit must be a whole number")
        );
        let broken = Params::from_body(Some("application/json"), b"{\"mute\": tru").unwrap_err();
        assert!(broken.0.starts_with("malformed JSON body"), "{broken:?}");
        assert!(Params::from_body(Some("application/json"), b"[1]").is_err());
    }
}
