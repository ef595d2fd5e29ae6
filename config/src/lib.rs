//! Typed, documented and validated configuration for the `chorusd` SIP/RTP
//! media gateway daemon.
//!
//! A [`Config`] is assembled from three layers, later ones overriding earlier:
//!
//! 1. built-in defaults ([`Config::default`], always valid);
//! 2. an optional TOML file (see `systemd/chorusd.toml` for every key);
//! 3. environment variables `CHORUS_<SECTION>__<KEY>`, e.g.
//!    `CHORUS_SIP__UDP_LISTEN=0.0.0.0:5060` or `CHORUS_MEDIA__WORKERS=2`.
//!    Values of integer keys are parsed as integers, all others are taken
//!    verbatim (no quoting needed).
//!
//! Unknown sections and keys are rejected, in the file and in the
//! environment alike (every variable starting with `CHORUS_` must name a
//! key). Every value is then checked; a [`ConfigError`] names the dotted key
//! (`rtp.port_min`), the reason, and the [`Origin`] of the bad value (file
//! path, environment variable, or defaults).
//!
//! ```
//! use chorus_config::{Config, SampleRate};
//!
//! # fn main() -> Result<(), chorus_config::ConfigError> {
//! // In chorusd: Config::load(Some(Path::new("/etc/chorus/chorusd.toml")), std::env::vars())
//! let env = [("CHORUS_MEDIA__SAMPLE_RATE".to_owned(), "16000".to_owned())];
//! let config = Config::load(None, env)?;
//! assert_eq!(config.media.sample_rate, SampleRate::Hz16000);
//! assert_eq!(config.sip.advertised_ip().to_string(), "127.0.0.1");
//!
//! let err = Config::from_toml_str("[rtp]\nport_min = 80\n").unwrap_err();
//! assert_eq!(err.key(), Some("rtp.port_min"));
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

mod error;
mod ipnet;
mod source;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_env;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{ConfigError, Origin};
pub use ipnet::IpNet;
pub use source::{ENV_PREFIX, env_var_name};

/// The complete, validated `chorusd` configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// `[sip]`: SIP listeners and identity.
    pub sip: SipConfig,
    /// `[rtp]`: UDP port range for RTP media.
    pub rtp: RtpConfig,
    /// `[media]`: mixing engine.
    pub media: MediaConfig,
    /// `[inbound]`: how incoming calls are routed.
    pub inbound: InboundConfig,
    /// `[log]`: logging.
    pub log: LogConfig,
    /// `[metrics]`: the Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// `[recording]`: where MPC recordings are written.
    pub recording: RecordingConfig,
    /// `[speech]`: the text-to-speech engine behind `<Speak>`.
    pub speech: SpeechConfig,
    /// `[api]`: the control API.
    pub api: ApiConfig,
    /// `[testing]`: limits shortened for test suites only.
    pub testing: TestingConfig,
    /// `[[trunks]]`: SIP trunks phone numbers are dialled through, in the
    /// order they are tried.
    pub trunks: Vec<TrunkConfig>,
}

impl Config {
    /// Loads defaults < `file` (if `Some`) < `env`, then validates everything.
    ///
    /// Pass `std::env::vars()` as `env` in production; tests pass a `Vec`.
    /// Only variables starting with [`ENV_PREFIX`] are considered, and each
    /// must be of the form `CHORUS_<SECTION>__<KEY>` naming a known key.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut layers = source::Layers::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            layers.add_toml(&text, &Origin::File(path.to_owned()))?;
        }
        layers.add_env(env)?;
        validate::build(&layers)
    }

    /// Parses and validates TOML text over the defaults, ignoring the environment.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let mut layers = source::Layers::default();
        layers.add_toml(text, &Origin::Inline)?;
        validate::build(&layers)
    }
}

/// `[sip]`: SIP listeners and the identity chorusd presents to peers.
#[derive(Debug, Clone, PartialEq)]
pub struct SipConfig {
    /// `udp_listen`: UDP `IP:port` for SIP. Default `127.0.0.1:5060`.
    ///
    /// Host names are not resolved. A wildcard IP (`0.0.0.0`, `::`) requires
    /// [`advertised_address`](Self::advertised_address).
    pub udp_listen: SocketAddr,
    /// `tcp_listen`: TCP `IP:port` for SIP. Default `Some(127.0.0.1:5060)`.
    ///
    /// `None` (TCP disabled) is written as `tcp_listen = "off"` or `""`;
    /// an absent key keeps the default.
    pub tcp_listen: Option<SocketAddr>,
    /// `advertised_address`: IP put in Contact headers and SDP. Default `None`,
    /// meaning the IP of [`udp_listen`](Self::udp_listen), which must then not be
    /// a wildcard. Must not be a wildcard or multicast address; `""` means `None`.
    pub advertised_address: Option<IpAddr>,
    /// `user_agent`: User-Agent / Server header value. Default `chorus/<crate version>`.
    /// Must be non-empty and free of control characters.
    pub user_agent: String,
    /// `max_calls`: most calls up at once; an INVITE beyond it gets `503
    /// Service Unavailable` with `Retry-After`. Default `1000`; range
    /// `1..=100000`.
    pub max_calls: u32,
    /// `invite_rate`: new INVITEs taken per second from one source IP
    /// address, with a burst of as many; the rest get what
    /// [`rate_limit_action`](Self::rate_limit_action) says. Default `20`;
    /// `0` turns the limit off; range `0..=100000`.
    pub invite_rate: u32,
    /// `rate_limit_action`: what an INVITE over `invite_rate` gets, `"reply"`
    /// (`503` with `Retry-After`, the default) or `"drop"` (no answer).
    pub rate_limit_action: RateLimitAction,
    /// `tcp_max_connections`: most SIP TCP connections open at once; a
    /// connection beyond it is closed as soon as it is accepted. Default
    /// `1024`; range `1..=65536`.
    pub tcp_max_connections: u32,
    /// Key `tcp_idle_timeout`, in seconds in TOML: how long a TCP connection
    /// that carries no call may go without a complete message before it is
    /// closed. Bytes that do not complete a message do not count, so a slow
    /// sender cannot keep a connection open. Default 60 s; range `1..=3600`.
    pub tcp_idle_timeout: Duration,
    /// Key `session_expires`, in seconds in TOML: the RFC 4028 session
    /// interval we ask of a caller that supports session timers (its own,
    /// if shorter, down to 90 s); a call whose session is not refreshed in
    /// time is hung up. Default 1800 s; range `90..=86400`.
    pub session_expires: Duration,
    /// `trusted_sources`: the addresses that may place calls into chorus,
    /// comma-separated CIDR ranges (`"10.0.0.0/8, 2001:db8::/32"`, a bare
    /// address is one host), besides the addresses registered users
    /// registered from; an INVITE from anywhere else gets `403
    /// Forbidden`. Default loopback only (`127.0.0.0/8, ::1`): a public SIP
    /// port is scanned within minutes. `""` trusts nobody.
    pub trusted_sources: Vec<IpNet>,
    /// `realm`: the digest realm softphones register in. Default `chorus`.
    pub realm: String,
    /// `users_file`: the users who may REGISTER, an htdigest file
    /// (`user:realm:HA1` lines, HA1 = MD5 of `user:realm:password`; make
    /// one with `htdigest`). Default `None`: nobody may register.
    pub users_file: Option<PathBuf>,
    /// `inbound_auth`: what an INVITE from outside `trusted_sources` (and
    /// not from a registered user's address) gets: `"acl"` (default) `403`;
    /// `"digest"` a `407` challenge, and it is let in when it answers with
    /// the credentials of a user in `users_file` (which must then hold
    /// one).
    pub inbound_auth: InboundAuth,
    /// `max_cps`: most outbound calls (Add Participant dials) started per
    /// second; more wait their turn in a queue, first come first served.
    /// Default `10`; range `1..=10000`.
    pub max_cps: u32,
    /// `dial_queue`: most dials waiting for their turn under
    /// [`max_cps`](Self::max_cps); a request that would queue more is
    /// refused (HTTP 429). Default `1000`; range `0..=100000`.
    pub dial_queue: u32,
}

/// `sip.inbound_auth`: how a call from an untrusted source may get in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InboundAuth {
    /// Only by its source address (`"acl"`, default): others get `403`.
    #[default]
    Acl,
    /// Also by digest credentials of a `sip.users_file` user (`"digest"`):
    /// others are challenged with `407`.
    Digest,
}

/// What an INVITE over `sip.invite_rate` gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RateLimitAction {
    /// `503 Service Unavailable` with `Retry-After` (`"reply"`, default).
    #[default]
    Reply,
    /// No answer at all (`"drop"`): cheapest under a flood.
    Drop,
}

impl RateLimitAction {
    /// `"reply"` or `"drop"`, as written in TOML.
    pub fn as_str(&self) -> &'static str {
        match self {
            RateLimitAction::Reply => "reply",
            RateLimitAction::Drop => "drop",
        }
    }
}

impl SipConfig {
    /// The IP to put in Contact and SDP: `advertised_address`, else the `udp_listen` IP.
    pub fn advertised_ip(&self) -> IpAddr {
        self.advertised_address.unwrap_or(self.udp_listen.ip())
    }
}

impl Default for SipConfig {
    fn default() -> Self {
        let localhost = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060);
        SipConfig {
            udp_listen: localhost,
            tcp_listen: Some(localhost),
            advertised_address: None,
            user_agent: default_user_agent(),
            max_calls: 1000,
            invite_rate: 20,
            rate_limit_action: RateLimitAction::default(),
            tcp_max_connections: 1024,
            tcp_idle_timeout: Duration::from_secs(60),
            session_expires: Duration::from_secs(1800),
            trusted_sources: default_trusted_sources(),
            inbound_auth: InboundAuth::Acl,
            max_cps: 10,
            dial_queue: 1000,
            realm: "chorus".to_owned(),
            users_file: None,
        }
    }
}

/// The default `sip.trusted_sources`: loopback, IPv4 and IPv6.
pub fn default_trusted_sources() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|net| net.parse().ok())
        .collect()
}

/// The default `sip.user_agent`: `chorus/<crate version>`.
pub fn default_user_agent() -> String {
    format!("chorus/{}", env!("CARGO_PKG_VERSION"))
}

/// `[rtp]`: the UDP port range RTP sessions are allocated from.
///
/// Invariant after loading: `1024 <= port_min < port_max` (at least 2 ports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpConfig {
    /// `port_min`: lowest RTP port (inclusive). Default `20000`; range `1024..=65534`.
    pub port_min: u16,
    /// `port_max`: highest RTP port (inclusive). Default `29999`; must exceed `port_min`.
    pub port_max: u16,
}

impl Default for RtpConfig {
    fn default() -> Self {
        RtpConfig {
            port_min: 20000,
            port_max: 29999,
        }
    }
}

/// `[media]`: the mixing engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// `workers`: number of mixer worker threads, always `1..=256` after loading.
    ///
    /// Configured as `0..=256`; `0` or absent (the default) means one per CPU
    /// core, resolved with [`std::thread::available_parallelism`] at load time.
    pub workers: usize,
    /// `sample_rate`: internal mixing rate in Hz, `8000` (default) or `16000`.
    pub sample_rate: SampleRate,
    /// `vad_start_dbfs`: a participant starts speaking when its frame level
    /// (RMS, dBFS) rises above this. Default `-40`; range `-90..=0`.
    pub vad_start_dbfs: i32,
    /// `vad_stop_dbfs`: ... and stops once it stays below this (hysteresis).
    /// Default `-45`; range `-90..=0`, at most `vad_start_dbfs`.
    pub vad_stop_dbfs: i32,
    /// `vad_hangover_ms`: how long the level must stay low before speech is
    /// declared over. Default `500`; range `20..=10000`.
    pub vad_hangover_ms: u32,
    /// Key `rtp_timeout`, in seconds in TOML: an answered call whose peer
    /// sends nothing (no RTP, no RTCP) for this long is hung up with BYE.
    /// Default 60 s; `0` turns it off; range `0..=86400`.
    pub rtp_timeout: Duration,
    /// Key `rtp_hold_timeout`, in seconds in TOML: the same while the call is
    /// on hold or inactive, when peers may rightly send nothing. Default
    /// 3600 s; `0` turns it off; range `0..=86400`.
    pub rtp_hold_timeout: Duration,
    /// `send_silence`: send a participant every packet even while what it
    /// hears is digital silence (it is alone, or everyone it hears is muted
    /// or sends nothing). Default `false`: such frames go unsent but for one
    /// packet every two seconds, as RFC 3551 allows, so idle calls cost next
    /// to no CPU; turn it on for peers that end calls on a gap in RTP.
    pub send_silence: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            workers: default_workers(),
            sample_rate: SampleRate::default(),
            vad_start_dbfs: -40,
            vad_stop_dbfs: -45,
            vad_hangover_ms: 500,
            rtp_timeout: Duration::from_secs(60),
            rtp_hold_timeout: Duration::from_secs(3600),
            send_silence: false,
        }
    }
}

/// One worker per available core (1 if that cannot be determined).
pub(crate) fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Internal mixing sample rate; written as `8000` / `16000` in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SampleRate {
    /// 8 kHz narrowband (default).
    #[default]
    Hz8000,
    /// 16 kHz wideband.
    Hz16000,
}

impl SampleRate {
    /// The rate in Hz (`8000` or `16000`).
    pub fn hz(&self) -> u32 {
        match self {
            SampleRate::Hz8000 => 8000,
            SampleRate::Hz16000 => 16000,
        }
    }
}

/// `[inbound]`: how incoming calls are routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundConfig {
    /// `answer_url`: absolute `http://` or `https://` URL (with a host) fetched
    /// for each incoming call to get call-control XML. Default `None`: the
    /// built-in app, where a call to `sip:<room>@host` joins multiparty call
    /// `<room>` as a customer. `""` also means `None`.
    pub answer_url: Option<String>,
    /// `answer_method`: HTTP method for `answer_url`, `GET` or `POST`
    /// (case-insensitive). Default `POST`.
    pub answer_method: HttpMethod,
    /// Key `answer_timeout_ms`: timeout for the answer request, in
    /// milliseconds in TOML. Default 5000 ms; range `100..=60000`.
    pub answer_timeout: Duration,
}

impl Default for InboundConfig {
    fn default() -> Self {
        InboundConfig {
            answer_url: None,
            answer_method: HttpMethod::default(),
            answer_timeout: Duration::from_millis(5000),
        }
    }
}

/// HTTP method used to fetch `inbound.answer_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpMethod {
    /// `GET`, call parameters in the query string.
    Get,
    /// `POST`, call parameters form-encoded in the body (default).
    #[default]
    Post,
}

impl HttpMethod {
    /// `"GET"` or `"POST"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

impl std::fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[metrics]`: counters of calls, MPC events, callbacks and sounds,
/// served as Prometheus text at `GET /metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// `listen`: HTTP `IP:port` of the endpoint. Default
    /// `Some(127.0.0.1:9464)`; `"off"` or `""` disables it.
    pub listen: Option<SocketAddr>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464)),
        }
    }
}

/// `[api]`: the control API, a Plivo-compatible REST facade under
/// `/v1/Account/{auth_id}/MultiPartyCall/` and the gRPC service
/// `chorus.v1.MultiPartyCalls`, both behind `auth_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// `rest_listen`: HTTP `IP:port` of the REST API. Default
    /// `Some(127.0.0.1:8088)`; `"off"` or `""` disables it.
    pub rest_listen: Option<SocketAddr>,
    /// `grpc_listen`: `IP:port` of the gRPC API (HTTP/2; TLS with
    /// [`tls`](Self::tls)). Default `Some(127.0.0.1:50051)`; `"off"` or
    /// `""` disables it.
    pub grpc_listen: Option<SocketAddr>,
    /// `auth_id`: the account id in the API's paths and HTTP Basic user.
    /// Default `MACHORUS000000000001` (Plivo's SDKs want `MA` or `SA` and
    /// 20 characters); letters and digits only.
    pub auth_id: String,
    /// `auth_token`: the HTTP Basic password, and the gRPC bearer token.
    /// Default `None`: every request is refused (401, `UNAUTHENTICATED`)
    /// until one is set; never an open API. At least 16
    /// characters, no whitespace or control characters.
    pub auth_token: Option<String>,
    /// `tls_cert` and `tls_key`: PEM files (the certificate chain, then its
    /// private key) with which both APIs serve TLS only (HTTPS, gRPC over
    /// TLS). Default `None`: plain HTTP and HTTP/2. Both or neither.
    pub tls: Option<TlsFiles>,
}

/// A certificate chain and its key, as PEM files (read at start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `api.tls_cert`: the certificate chain, leaf first.
    pub cert: PathBuf,
    /// `api.tls_key`: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            rest_listen: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8088)),
            grpc_listen: Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 50051)),
            auth_id: "MACHORUS000000000001".to_owned(),
            auth_token: None,
            tls: None,
        }
    }
}

/// `[recording]`: where MPC recordings are written and how their URLs are
/// reported (`RecordingURL` in recording callbacks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingConfig {
    /// `dir`: absolute directory for recording files, created on first use.
    /// Default `/var/lib/chorus/recordings` (the systemd unit's state
    /// directory).
    pub dir: PathBuf,
    /// `url_base`: absolute `http://` or `https://` URL under which `dir` is
    /// served (by a web server in front of chorusd), without a trailing
    /// `/`. A recording's URL is `<url_base>/<file name>`. Default `None`:
    /// the URL is the file's `file://` URL on this host. `""` means `None`.
    pub url_base: Option<String>,
}

/// One `[[trunks]]` table: a SIP trunk (a carrier's or a PBX's proxy)
/// that phone numbers are dialled through, over UDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    /// `name`: how logs and metrics call it; unique, required.
    pub name: String,
    /// `proxy`: where its INVITEs go, `IP:port` (host names are not
    /// resolved); required.
    pub proxy: SocketAddr,
    /// `username` and `password`: digest credentials for its 401/407
    /// challenges; both or neither.
    pub credentials: Option<(String, String)>,
    /// `realm`: the digest realm, if it must be fixed (else the
    /// challenge's).
    pub realm: Option<String>,
    /// `from_domain`: the From host its INVITEs carry (else our address).
    pub from_domain: Option<String>,
    /// `prefixes`: comma-separated number prefixes it takes (`"+1, 1"`);
    /// empty, every number.
    pub prefixes: Vec<String>,
    /// `strip`: leading characters taken off a number before dialling
    /// (after matching). Default 0.
    pub strip: u32,
    /// `add`: what is put in front of the number after stripping.
    pub add: String,
    /// `max_cps`: its own calls per second, on top of `sip.max_cps`; 0
    /// (default) for none of its own.
    pub max_cps: u32,
    /// `max_channels`: most calls through it at once; 0 (default) for no
    /// limit. A full trunk is skipped for the next.
    pub max_channels: u32,
    /// Key `ping_interval`, seconds: how often it is sent OPTIONS; one that
    /// does not answer is down (skipped) until it answers again. Default
    /// 30 s; 0 turns the ping off (always up).
    pub ping_interval: Duration,
}

/// `[testing]`: limits that Plivo fixes, shortened only so that a test
/// suite need not wait them out. Never set these in production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestingConfig {
    /// `confirm_key_timeout_ms`: how long a dialled participant has to
    /// press its `confirm_key` before it is hung up (cause 9110). Default
    /// and maximum 30000 (Plivo's 30 s); range `100..=30000`.
    pub confirm_key_timeout: Duration,
}

impl Default for TestingConfig {
    fn default() -> Self {
        TestingConfig {
            confirm_key_timeout: Duration::from_secs(30),
        }
    }
}

/// `[speech]`: the text-to-speech engine that says `<Speak>` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechConfig {
    /// `command`: the eSpeak NG program (name looked up on `PATH`, or a
    /// path). Default `espeak-ng` (`apt-get install espeak-ng`). Without
    /// it, `<Speak>` is skipped with an error naming the command.
    pub command: String,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            command: "espeak-ng".to_owned(),
        }
    }
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            dir: PathBuf::from("/var/lib/chorus/recordings"),
            url_base: None,
        }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `level`: a tracing filter. Default `"info"`.
    ///
    /// Either one of `trace|debug|info|warn|error|off` (case-insensitive) or a
    /// comma-separated directive list whose items are `level` or
    /// `target=level` with `target` made of `[A-Za-z0-9_:]`, e.g.
    /// `"info,chorus_gateway=debug"`. Kept exactly as written.
    pub level: String,
    /// `format`: log line format, `"text"` (default) or `"json"`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::default(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LogFormat {
    /// Human-readable lines (`"text"`, default).
    #[default]
    Text,
    /// One JSON object per line (`"json"`).
    Json,
}

impl LogFormat {
    /// `"text"` or `"json"`, as written in TOML.
    pub fn as_str(&self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}
