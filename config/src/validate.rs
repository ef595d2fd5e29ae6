//! Typed extraction and semantic validation of the merged [`Layers`].
//!
//! Each key is converted from its TOML value into its Rust type and checked
//! against its allowed range here; every error names the dotted key, the
//! reason and the origin of the offending value.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use toml::Value;

use crate::error::ConfigError;
use crate::source::Layers;
use crate::{
    ApiConfig, Config, HttpMethod, InboundAuth, InboundConfig, LogConfig, LogFormat, MediaConfig,
    MetricsConfig, RateLimitAction, RecordingConfig, RtpConfig, SampleRate, SipConfig,
    SpeechConfig, TestingConfig, TlsFiles, TrunkConfig,
};

/// Highest accepted `media.workers`.
pub(crate) const MAX_WORKERS: i64 = 256;
/// Accepted `inbound.answer_timeout_ms` range.
pub(crate) const ANSWER_TIMEOUT_MS: (i64, i64) = (100, 60_000);
/// Lowest accepted `rtp.port_min` (no privileged ports).
pub(crate) const MIN_RTP_PORT: i64 = 1024;
/// Levels accepted in `log.level` (case-insensitive).
const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// Typed accessors over [`Layers`] that produce key-naming errors.
struct Reader<'a> {
    layers: &'a Layers,
}

impl Reader<'_> {
    fn invalid(&self, key: &str, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_owned(),
            reason: reason.into(),
            origin: self.layers.origin(key),
        }
    }

    fn wrong_type(&self, key: &str, expected: &str, found: &Value) -> ConfigError {
        self.invalid(
            key,
            format!("expected {expected}, found {}", found.type_str()),
        )
    }

    /// The string value of `key`, if set.
    fn string(&self, key: &str) -> Result<Option<&str>, ConfigError> {
        match self.layers.get(key).map(|setting| &setting.value) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong_type(key, "a string", other)),
        }
    }

    /// The integer value of `key`, if set, checked to lie in `min..=max`.
    fn int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ConfigError> {
        match self.layers.get(key).map(|setting| &setting.value) {
            None => Ok(None),
            Some(Value::Integer(n)) if (min..=max).contains(n) => Ok(Some(*n)),
            Some(Value::Integer(n)) => Err(self.invalid(
                key,
                format!("must be between {min} and {max} (inclusive), got {n}"),
            )),
            Some(other) => Err(self.wrong_type(key, "an integer", other)),
        }
    }

    /// A `true` or `false`.
    fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.layers.get(key).map(|setting| &setting.value) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong_type(key, "true or false", other)),
        }
    }

    /// An `IP:port` socket address.
    fn socket_addr(&self, key: &str, text: &str) -> Result<SocketAddr, ConfigError> {
        text.parse().map_err(|_| {
            self.invalid(
                key,
                format!(
                    "{text:?} is not an IP:port address (e.g. \"127.0.0.1:5060\" or \
                     \"[::1]:5060\"; host names are not resolved)"
                ),
            )
        })
    }
}

/// Builds a validated [`Config`] from merged layers.
pub(crate) fn build(layers: &Layers) -> Result<Config, ConfigError> {
    let r = Reader { layers };
    Ok(Config {
        sip: sip(&r)?,
        rtp: rtp(&r)?,
        media: media(&r)?,
        inbound: inbound(&r)?,
        log: log(&r)?,
        metrics: metrics(&r)?,
        recording: recording(&r)?,
        speech: speech(&r)?,
        api: api(&r)?,
        testing: testing(&r)?,
        trunks: trunks(&r)?,
    })
}

fn trunks(r: &Reader<'_>) -> Result<Vec<TrunkConfig>, ConfigError> {
    let count = r.int("trunks", 0, 1000)?.unwrap_or(0);
    let mut trunks: Vec<TrunkConfig> = Vec::new();
    for i in 0..count {
        let key = |name: &str| format!("trunks.{i}.{name}");
        let text = |name: &str| -> Result<Option<String>, ConfigError> {
            Ok(r.string(&key(name))?
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned))
        };
        let required = |name: &str| -> Result<String, ConfigError> {
            text(name)?.ok_or_else(|| r.invalid(&key(name), "is required"))
        };
        let name = required("name")?;
        if trunks.iter().any(|t| t.name == name) {
            return Err(r.invalid(&key("name"), format!("{name:?} names two trunks")));
        }
        let proxy = r.socket_addr(&key("proxy"), &required("proxy")?)?;
        let credentials = match (text("username")?, text("password")?) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            _ => {
                return Err(r.invalid(&key("password"), "username and password go together"));
            }
        };
        let prefixes = text("prefixes")?.map_or_else(Vec::new, |list| {
            list.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        });
        if let Some(bad) = prefixes.iter().find(|p| {
            !p.trim_start_matches('+')
                .chars()
                .all(|c| c.is_ascii_digit())
        }) {
            return Err(r.invalid(
                &key("prefixes"),
                format!("{bad:?} is not a number prefix (digits, optionally after +)"),
            ));
        }
        let add = text("add")?.unwrap_or_default();
        if !add
            .trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit())
        {
            return Err(r.invalid(&key("add"), format!("{add:?} is not digits")));
        }
        trunks.push(TrunkConfig {
            name,
            proxy,
            credentials,
            realm: text("realm")?,
            from_domain: text("from_domain")?,
            prefixes,
            strip: r.int(&key("strip"), 0, 32)?.unwrap_or(0) as u32,
            add,
            max_cps: r.int(&key("max_cps"), 0, 10_000)?.unwrap_or(0) as u32,
            max_channels: r.int(&key("max_channels"), 0, 100_000)?.unwrap_or(0) as u32,
            ping_interval: Duration::from_secs(
                r.int(&key("ping_interval"), 0, 3600)?.unwrap_or(30) as u64,
            ),
        });
    }
    Ok(trunks)
}

fn testing(r: &Reader<'_>) -> Result<TestingConfig, ConfigError> {
    let mut testing = TestingConfig::default();
    if let Some(ms) = r.int("testing.confirm_key_timeout_ms", 100, 30_000)? {
        testing.confirm_key_timeout = Duration::from_millis(ms as u64);
    }
    Ok(testing)
}

/// Shortest accepted `api.auth_token`.
pub(crate) const MIN_TOKEN: usize = 16;

fn api(r: &Reader<'_>) -> Result<ApiConfig, ConfigError> {
    let mut api = ApiConfig::default();
    if let Some(text) = r.string("api.rest_listen")? {
        api.rest_listen = match text.trim() {
            "" | "off" => None,
            _ => Some(r.socket_addr("api.rest_listen", text)?),
        };
    }
    if let Some(text) = r.string("api.grpc_listen")? {
        api.grpc_listen = match text.trim() {
            "" | "off" => None,
            _ => Some(r.socket_addr("api.grpc_listen", text)?),
        };
    }
    if let Some(text) = r.string("api.auth_id")? {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(r.invalid(
                "api.auth_id",
                format!("must be letters and digits only, got {text:?}"),
            ));
        }
        api.auth_id = text.to_owned();
    }
    if let Some(text) = r.string("api.auth_token")? {
        api.auth_token = match text {
            "" => None,
            _ if text.chars().count() < MIN_TOKEN
                || text.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                return Err(r.invalid(
                    "api.auth_token",
                    format!(
                        "must be at least {MIN_TOKEN} characters without spaces or control \
                         characters (the value is not shown)"
                    ),
                ));
            }
            _ => Some(text.to_owned()),
        };
    }
    let cert = file_path(r, "api.tls_cert")?;
    let key = file_path(r, "api.tls_key")?;
    api.tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        (Some(_), None) => return Err(r.invalid("api.tls_key", "must be set with api.tls_cert")),
        (None, Some(_)) => return Err(r.invalid("api.tls_cert", "must be set with api.tls_key")),
    };
    Ok(api)
}

/// An optional file's path: `""` is unset; anything else must be a path
/// without control characters (whether the file exists and parses is
/// checked where it is read, at start).
fn file_path(r: &Reader<'_>, key: &str) -> Result<Option<PathBuf>, ConfigError> {
    match r.string(key)? {
        None | Some("") => Ok(None),
        Some(text) if text.chars().any(char::is_control) => Err(r.invalid(
            key,
            format!("must be a file path without control characters, got {text:?}"),
        )),
        Some(text) => Ok(Some(PathBuf::from(text))),
    }
}

fn speech(r: &Reader<'_>) -> Result<SpeechConfig, ConfigError> {
    let mut speech = SpeechConfig::default();
    if let Some(text) = r.string("speech.command")? {
        if text.trim().is_empty() || text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(r.invalid(
                "speech.command",
                format!("must be a program name or path without spaces, got {text:?}"),
            ));
        }
        speech.command = text.to_owned();
    }
    Ok(speech)
}

fn recording(r: &Reader<'_>) -> Result<RecordingConfig, ConfigError> {
    let mut recording = RecordingConfig::default();
    if let Some(text) = r.string("recording.dir")? {
        if !text.starts_with('/') || text.chars().any(char::is_control) {
            return Err(r.invalid(
                "recording.dir",
                format!("must be an absolute path without control characters, got {text:?}"),
            ));
        }
        recording.dir = PathBuf::from(text);
    }
    if let Some(text) = r.string("recording.url_base")? {
        recording.url_base = match text.trim() {
            "" => None,
            _ => {
                check_http_url(text).map_err(|why| r.invalid("recording.url_base", why))?;
                Some(text.trim_end_matches('/').to_owned())
            }
        };
    }
    Ok(recording)
}

fn metrics(r: &Reader<'_>) -> Result<MetricsConfig, ConfigError> {
    let mut metrics = MetricsConfig::default();
    if let Some(text) = r.string("metrics.listen")? {
        metrics.listen = match text.trim() {
            "" | "off" => None,
            _ => Some(r.socket_addr("metrics.listen", text)?),
        };
    }
    Ok(metrics)
}

fn sip(r: &Reader<'_>) -> Result<SipConfig, ConfigError> {
    let mut sip = SipConfig::default();
    if let Some(text) = r.string("sip.udp_listen")? {
        sip.udp_listen = r.socket_addr("sip.udp_listen", text)?;
    }
    if let Some(text) = r.string("sip.tcp_listen")? {
        sip.tcp_listen = match text.trim() {
            "" | "off" => None,
            _ => Some(r.socket_addr("sip.tcp_listen", text)?),
        };
    }
    if let Some(text) = r.string("sip.advertised_address")? {
        sip.advertised_address = match text.trim() {
            "" => None,
            _ => {
                let ip: IpAddr = text.parse().map_err(|_| {
                    r.invalid(
                        "sip.advertised_address",
                        format!("{text:?} is not an IP address (host names are not resolved)"),
                    )
                })?;
                if ip.is_unspecified() || ip.is_multicast() {
                    return Err(r.invalid(
                        "sip.advertised_address",
                        format!("{ip} cannot be advertised; use the IP address peers reach us at"),
                    ));
                }
                Some(ip)
            }
        };
    }
    if sip.advertised_address.is_none() && sip.udp_listen.ip().is_unspecified() {
        return Err(ConfigError::Invalid {
            key: "sip.advertised_address".to_owned(),
            reason: format!(
                "must be set because sip.udp_listen ({}) is a wildcard address that cannot be \
                 put in Contact/SDP; set sip.advertised_address to the IP peers should send to",
                sip.udp_listen
            ),
            origin: r.layers.origin("sip.udp_listen"),
        });
    }
    if let Some(text) = r.string("sip.user_agent")? {
        if text.trim().is_empty() {
            return Err(r.invalid("sip.user_agent", "must not be empty"));
        }
        if text.chars().any(char::is_control) {
            return Err(r.invalid("sip.user_agent", "must not contain control characters"));
        }
        sip.user_agent = text.to_owned();
    }
    if let Some(n) = r.int("sip.max_calls", 1, 100_000)? {
        sip.max_calls = n as u32;
    }
    if let Some(n) = r.int("sip.invite_rate", 0, 100_000)? {
        sip.invite_rate = n as u32;
    }
    if let Some(text) = r.string("sip.inbound_auth")? {
        sip.inbound_auth = match text.to_ascii_lowercase().as_str() {
            "acl" => InboundAuth::Acl,
            "digest" => InboundAuth::Digest,
            _ => {
                return Err(r.invalid(
                    "sip.inbound_auth",
                    format!("must be \"acl\" or \"digest\", got {text:?}"),
                ));
            }
        };
        if sip.inbound_auth == InboundAuth::Digest && r.string("sip.users_file")?.is_none() {
            return Err(r.invalid(
                "sip.inbound_auth",
                "\"digest\" needs sip.users_file: the users whose credentials let a call in",
            ));
        }
    }
    if let Some(text) = r.string("sip.rate_limit_action")? {
        sip.rate_limit_action = match text.to_ascii_lowercase().as_str() {
            "reply" => RateLimitAction::Reply,
            "drop" => RateLimitAction::Drop,
            _ => {
                return Err(r.invalid(
                    "sip.rate_limit_action",
                    format!("must be \"reply\" or \"drop\", got {text:?}"),
                ));
            }
        };
    }
    if let Some(n) = r.int("sip.tcp_max_connections", 1, 65_536)? {
        sip.tcp_max_connections = n as u32;
    }
    if let Some(n) = r.int("sip.tcp_idle_timeout", 1, 3600)? {
        sip.tcp_idle_timeout = Duration::from_secs(n as u64);
    }
    if let Some(n) = r.int("sip.session_expires", 90, 86_400)? {
        sip.session_expires = Duration::from_secs(n as u64);
    }
    if let Some(n) = r.int("sip.max_cps", 1, 10_000)? {
        sip.max_cps = n as u32;
    }
    if let Some(n) = r.int("sip.dial_queue", 0, 100_000)? {
        sip.dial_queue = n as u32;
    }
    if let Some(text) = r.string("sip.trusted_sources")? {
        sip.trusted_sources = text
            .split(',')
            .filter(|net| !net.trim().is_empty())
            .map(|net| net.parse())
            .collect::<Result<_, String>>()
            .map_err(|why| r.invalid("sip.trusted_sources", why))?;
    }
    if let Some(text) = r.string("sip.realm")? {
        if text.is_empty() || text.chars().any(|c| c == '"' || c.is_control()) {
            return Err(r.invalid(
                "sip.realm",
                format!("must be non-empty without quotes or control characters, got {text:?}"),
            ));
        }
        sip.realm = text.to_owned();
    }
    sip.users_file = file_path(r, "sip.users_file")?;
    Ok(sip)
}

fn rtp(r: &Reader<'_>) -> Result<RtpConfig, ConfigError> {
    let mut rtp = RtpConfig::default();
    let max = i64::from(u16::MAX);
    if let Some(n) = r.int("rtp.port_min", MIN_RTP_PORT, max)? {
        rtp.port_min = u16::try_from(n).unwrap_or(u16::MAX);
    }
    if let Some(n) = r.int("rtp.port_max", MIN_RTP_PORT, max)? {
        rtp.port_max = u16::try_from(n).unwrap_or(u16::MAX);
    }
    if rtp.port_min >= rtp.port_max {
        // Blame whichever bound was set by the higher-precedence source.
        let (min_origin, max_origin) = (
            r.layers.origin("rtp.port_min"),
            r.layers.origin("rtp.port_max"),
        );
        let key = if max_origin.rank() > min_origin.rank() {
            "rtp.port_max"
        } else {
            "rtp.port_min"
        };
        return Err(r.invalid(
            key,
            format!(
                "rtp.port_min ({}) must be lower than rtp.port_max ({}); the range needs at \
                 least 2 ports",
                rtp.port_min, rtp.port_max
            ),
        ));
    }
    Ok(rtp)
}

fn media(r: &Reader<'_>) -> Result<MediaConfig, ConfigError> {
    let mut media = MediaConfig::default();
    if let Some(n) = r.int("media.workers", 0, MAX_WORKERS)? {
        media.workers = match usize::try_from(n) {
            Ok(0) | Err(_) => crate::default_workers(),
            Ok(n) => n,
        };
    }
    match r.layers.get("media.sample_rate").map(|s| &s.value) {
        None => {}
        Some(Value::Integer(8000)) => media.sample_rate = SampleRate::Hz8000,
        Some(Value::Integer(16000)) => media.sample_rate = SampleRate::Hz16000,
        Some(Value::Integer(n)) => {
            return Err(r.invalid(
                "media.sample_rate",
                format!("must be 8000 or 16000, got {n}"),
            ));
        }
        Some(other) => return Err(r.wrong_type("media.sample_rate", "an integer", other)),
    }
    if let Some(n) = r.int("media.vad_start_dbfs", -90, 0)? {
        media.vad_start_dbfs = n as i32;
    }
    if let Some(n) = r.int("media.vad_stop_dbfs", -90, 0)? {
        media.vad_stop_dbfs = n as i32;
    }
    if let Some(n) = r.int("media.vad_hangover_ms", 20, 10_000)? {
        media.vad_hangover_ms = n as u32;
    }
    if let Some(n) = r.int("media.rtp_timeout", 0, 86_400)? {
        media.rtp_timeout = Duration::from_secs(n as u64);
    }
    if let Some(n) = r.int("media.rtp_hold_timeout", 0, 86_400)? {
        media.rtp_hold_timeout = Duration::from_secs(n as u64);
    }
    if let Some(b) = r.bool("media.send_silence")? {
        media.send_silence = b;
    }
    if media.vad_stop_dbfs > media.vad_start_dbfs {
        return Err(r.invalid(
            "media.vad_stop_dbfs",
            format!(
                "must not exceed media.vad_start_dbfs ({}): speech stops below a level at most \
                 the one it starts above, got {}",
                media.vad_start_dbfs, media.vad_stop_dbfs
            ),
        ));
    }
    Ok(media)
}

fn inbound(r: &Reader<'_>) -> Result<InboundConfig, ConfigError> {
    let mut inbound = InboundConfig::default();
    if let Some(text) = r.string("inbound.answer_url")? {
        inbound.answer_url = match text.trim() {
            "" => None,
            _ => {
                check_http_url(text).map_err(|why| r.invalid("inbound.answer_url", why))?;
                Some(text.to_owned())
            }
        };
    }
    if let Some(text) = r.string("inbound.answer_method")? {
        inbound.answer_method = match text.to_ascii_uppercase().as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            _ => {
                return Err(r.invalid(
                    "inbound.answer_method",
                    format!("must be GET or POST, got {text:?}"),
                ));
            }
        };
    }
    let (lo, hi) = ANSWER_TIMEOUT_MS;
    if let Some(ms) = r.int("inbound.answer_timeout_ms", lo, hi)? {
        inbound.answer_timeout = Duration::from_millis(ms.unsigned_abs());
    }
    Ok(inbound)
}

fn log(r: &Reader<'_>) -> Result<LogConfig, ConfigError> {
    let mut log = LogConfig::default();
    if let Some(text) = r.string("log.level")? {
        check_log_filter(text).map_err(|why| r.invalid("log.level", why))?;
        log.level = text.to_owned();
    }
    if let Some(text) = r.string("log.format")? {
        log.format = match text.to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                return Err(r.invalid(
                    "log.format",
                    format!("must be \"text\" or \"json\", got {text:?}"),
                ));
            }
        };
    }
    Ok(log)
}

/// Checks that `url` is an absolute `http://` or `https://` URL with a host.
pub(crate) fn check_http_url(url: &str) -> Result<(), String> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{url:?} must not contain whitespace or control characters"
        ));
    }
    let lower = url.to_ascii_lowercase();
    let rest = ["http://", "https://"]
        .iter()
        .find(|scheme| lower.starts_with(*scheme))
        .map(|scheme| &url[scheme.len()..])
        .ok_or_else(|| format!("{url:?} must be an absolute http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Drop optional `user:password@` credentials.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let port = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (v6, after) = bracketed
            .split_once(']')
            .ok_or_else(|| format!("{url:?} has an unterminated IPv6 address"))?;
        if v6.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{url:?} has an invalid IPv6 address [{v6}]"));
        }
        match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err(format!("{url:?} has garbage after the IPv6 address")),
            },
        }
    } else {
        let (host, port) = match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        let host_ok = host.starts_with(|c: char| c.is_ascii_alphanumeric())
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if !host_ok {
            return Err(format!("{url:?} has an invalid host {host:?}"));
        }
        port
    };
    if let Some(port) = port
        && !port.is_empty()
        && !matches!(port.parse::<u16>(), Ok(p) if p != 0)
    {
        return Err(format!("{url:?} has an invalid port {port:?}"));
    }
    Ok(())
}

/// Leniently checks a tracing filter: a level, or comma-separated `level` / `target=level`.
pub(crate) fn check_log_filter(filter: &str) -> Result<(), String> {
    let bad = |item: &str| {
        format!(
            "invalid directive {item:?} in {filter:?}: expected one of {} or `target=level` \
             (e.g. \"info,chorus_gateway=debug\")",
            LOG_LEVELS.join("|")
        )
    };
    let is_level = |s: &str| LOG_LEVELS.iter().any(|l| l.eq_ignore_ascii_case(s));
    let mut seen = 0;
    for item in filter.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ok = match item.split_once('=') {
            None => is_level(item),
            Some((target, level)) => {
                !target.is_empty()
                    && target
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':'))
                    && is_level(level)
            }
        };
        if !ok {
            return Err(bad(item));
        }
        seen += 1;
    }
    if seen == 0 {
        return Err(format!(
            "must not be empty; use one of {} or a directive list like \"info,chorus_gateway=debug\"",
            LOG_LEVELS.join("|")
        ));
    }
    Ok(())
}
