//! Unit tests: defaults, file parsing and validation.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::*;

pub(crate) const EXAMPLE: &str = include_str!("../../systemd/chorusd.toml");

/// Parses `text` and returns the error, panicking (test-only) if it parsed.
pub(crate) fn err(text: &str) -> ConfigError {
    match Config::from_toml_str(text) {
        Ok(config) => panic!("expected an error for {text:?}, got {config:?}"),
        Err(e) => e,
    }
}

/// Asserts `e` is `Invalid` for `key` with a reason containing `needle`.
pub(crate) fn assert_invalid(e: &ConfigError, key: &str, needle: &str) {
    match e {
        ConfigError::Invalid { key: k, reason, .. } => {
            assert_eq!(k, key, "wrong key in {e}");
            assert!(
                reason.contains(needle),
                "reason {reason:?} lacks {needle:?}"
            );
        }
        other => panic!("expected Invalid for {key}, got {other:?}"),
    }
}

#[test]
fn defaults_are_documented_values() {
    let c = Config::default();
    assert_eq!(
        c.sip.udp_listen,
        "127.0.0.1:5060".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.sip.tcp_listen, Some("127.0.0.1:5060".parse().unwrap()));
    assert_eq!(c.sip.advertised_address, None);
    assert_eq!(
        c.sip.advertised_ip(),
        "127.0.0.1".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        c.sip.user_agent,
        format!("chorus/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!((c.rtp.port_min, c.rtp.port_max), (20000, 29999));
    assert!(c.media.workers >= 1);
    assert_eq!(c.media.sample_rate, SampleRate::Hz8000);
    assert_eq!(c.media.sample_rate.hz(), 8000);
    assert_eq!(c.inbound.answer_url, None);
    assert_eq!(c.inbound.answer_method, HttpMethod::Post);
    assert_eq!(c.inbound.answer_method.as_str(), "POST");
    assert_eq!(c.inbound.answer_timeout, Duration::from_millis(5000));
    assert_eq!(c.log.level, "info");
    assert_eq!(c.log.format, LogFormat::Text);
}

#[test]
fn defaults_are_valid() {
    assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    assert_eq!(Config::load(None, Vec::new()).unwrap(), Config::default());
}

#[test]
fn example_file_parses_and_equals_defaults() {
    assert_eq!(Config::from_toml_str(EXAMPLE).unwrap(), Config::default());
}

#[test]
fn full_file_round_trips() {
    let text = r#"
        [sip]
        udp_listen = "0.0.0.0:5080"
        tcp_listen = "[::1]:5081"
        advertised_address = "192.0.2.7"
        user_agent = "acme-pbx/2"
        max_calls = 50
        invite_rate = 0
        rate_limit_action = "DROP"
        tcp_max_connections = 10
        tcp_idle_timeout = 5
        session_expires = 600
        trusted_sources = "10.0.0.0/8, 2001:db8::/32,192.0.2.7"
        realm = "example.com"
        users_file = "/etc/chorus/users"
        inbound_auth = "Digest"
        max_cps = 3
        dial_queue = 7
        [rtp]
        port_min = 40000
        port_max = 40001
        [media]
        workers = 3
        sample_rate = 16000
        vad_start_dbfs = -30
        vad_stop_dbfs = -50
        vad_hangover_ms = 800
        rtp_timeout = 0
        rtp_hold_timeout = 120
        send_silence = true
        [inbound]
        answer_url = "https://app.example.com:8443/answer?x=1"
        answer_method = "get"
        answer_timeout_ms = 250
        [log]
        level = "warn,chorus_gateway=debug,rsipstack::transport=trace"
        format = "json"
        [metrics]
        listen = "[::1]:9100"
        [recording]
        dir = "/srv/calls"
        url_base = "https://media.example.com/calls/"
        [speech]
        command = "/opt/espeak/bin/espeak-ng"
        [api]
        rest_listen = "off"
        grpc_listen = "[::1]:50052"
        auth_id = "SAXXXXXXXXXXXXXXXXXX"
        auth_token = "0123456789abcdef"
        tls_cert = "/etc/chorus/api.crt"
        tls_key = "/etc/chorus/api.key"
        [testing]
        confirm_key_timeout_ms = 1500
    "#;
    let expected = Config {
        sip: SipConfig {
            udp_listen: "0.0.0.0:5080".parse().unwrap(),
            tcp_listen: Some("[::1]:5081".parse().unwrap()),
            advertised_address: Some("192.0.2.7".parse().unwrap()),
            user_agent: "acme-pbx/2".into(),
            max_calls: 50,
            invite_rate: 0,
            rate_limit_action: RateLimitAction::Drop,
            tcp_max_connections: 10,
            tcp_idle_timeout: Duration::from_secs(5),
            session_expires: Duration::from_secs(600),
            trusted_sources: ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]
                .iter()
                .map(|n| n.parse().unwrap())
                .collect(),
            realm: "example.com".into(),
            users_file: Some("/etc/chorus/users".into()),
            inbound_auth: InboundAuth::Digest,
            max_cps: 3,
            dial_queue: 7,
        },
        rtp: RtpConfig {
            port_min: 40000,
            port_max: 40001,
        },
        media: MediaConfig {
            workers: 3,
            sample_rate: SampleRate::Hz16000,
            vad_start_dbfs: -30,
            vad_stop_dbfs: -50,
            vad_hangover_ms: 800,
            rtp_timeout: Duration::ZERO,
            rtp_hold_timeout: Duration::from_secs(120),
            send_silence: true,
        },
        inbound: InboundConfig {
            answer_url: Some("https://app.example.com:8443/answer?x=1".into()),
            answer_method: HttpMethod::Get,
            answer_timeout: Duration::from_millis(250),
        },
        log: LogConfig {
            level: "warn,chorus_gateway=debug,rsipstack::transport=trace".into(),
            format: LogFormat::Json,
        },
        metrics: MetricsConfig {
            listen: Some("[::1]:9100".parse().unwrap()),
        },
        recording: RecordingConfig {
            dir: "/srv/calls".into(),
            url_base: Some("https://media.example.com/calls".into()),
        },
        speech: SpeechConfig {
            command: "/opt/espeak/bin/espeak-ng".into(),
        },
        api: ApiConfig {
            rest_listen: None,
            grpc_listen: Some("[::1]:50052".parse().unwrap()),
            auth_id: "SAXXXXXXXXXXXXXXXXXX".into(),
            auth_token: Some("0123456789abcdef".into()),
            tls: Some(TlsFiles {
                cert: "/etc/chorus/api.crt".into(),
                key: "/etc/chorus/api.key".into(),
            }),
        },
        trunks: Vec::new(),
        testing: TestingConfig {
            confirm_key_timeout: Duration::from_millis(1500),
        },
    };
    let config = Config::from_toml_str(text).unwrap();
    assert_eq!(config, expected);
    assert_eq!(
        config.sip.advertised_ip(),
        "192.0.2.7".parse::<IpAddr>().unwrap()
    );
    assert_eq!(config.media.sample_rate.hz(), 16000);
}

#[test]
fn a_relative_recording_dir_or_a_bad_url_base_names_the_key() {
    for (toml, key) in [
        ("dir = \"recordings\"", "recording.dir"),
        ("dir = \"\"", "recording.dir"),
        (
            "url_base = \"ftp://files.example.com/\"",
            "recording.url_base",
        ),
        ("url_base = \"media.example.com\"", "recording.url_base"),
    ] {
        let err = Config::from_toml_str(&format!("[recording]\n{toml}\n")).unwrap_err();
        assert_eq!(err.key(), Some(key), "{toml}: {err}");
    }
    let c = Config::from_toml_str("[recording]\nurl_base = \"\"\n").unwrap();
    assert_eq!(c.recording.url_base, None);
}

#[test]
fn an_empty_speech_command_or_one_with_arguments_names_the_key() {
    for command in ["", "espeak-ng --stdout"] {
        let err = Config::from_toml_str(&format!("[speech]\ncommand = {command:?}\n")).unwrap_err();
        assert_eq!(err.key(), Some("speech.command"), "{command:?}: {err}");
    }
}

#[test]
fn metrics_can_be_disabled_and_a_bad_address_names_the_key() {
    for off in ["off", ""] {
        let c = Config::from_toml_str(&format!("[metrics]\nlisten = {off:?}\n")).unwrap();
        assert_eq!(c.metrics.listen, None);
    }
    let err = Config::from_toml_str("[metrics]\nlisten = \"localhost:9464\"\n").unwrap_err();
    assert_eq!(err.key(), Some("metrics.listen"));
    assert!(err.to_string().contains("not an IP:port"), "{err}");
}

#[test]
fn tcp_listen_can_be_disabled() {
    for off in ["off", ""] {
        let c = Config::from_toml_str(&format!("[sip]\ntcp_listen = {off:?}\n")).unwrap();
        assert_eq!(c.sip.tcp_listen, None);
    }
}

#[test]
fn unknown_key_in_file_names_full_path() {
    let e = err("[sip]\nbogus = 1\n");
    match &e {
        ConfigError::UnknownKey {
            key,
            origin,
            expected,
        } => {
            assert_eq!(key, "sip.bogus");
            assert_eq!(origin, &Origin::Inline);
            assert!(expected.contains(&"udp_listen"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("sip.bogus"), "{e}");
    // Nested tables inside a section are unknown keys too.
    assert_eq!(err("[sip.bogus]\nx = 1\n").key(), Some("sip.bogus"));
}

#[test]
fn unknown_section_is_rejected() {
    for text in ["[sipp]\nudp_listen = \"127.0.0.1:5060\"\n", "bogus = 1\n"] {
        let e = err(text);
        assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e:?}");
        assert!(e.to_string().contains("expected one of: sip, rtp"), "{e}");
    }
    assert_invalid(&err("sip = 5\n"), "sip", "expected a [sip] table");
}

#[test]
fn syntax_error_is_reported() {
    let e = err("[sip\nudp_listen = ");
    assert!(
        matches!(
            e,
            ConfigError::Syntax {
                origin: Origin::Inline,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn wrong_types_name_the_key() {
    assert_invalid(
        &err("[rtp]\nport_min = \"20000\"\n"),
        "rtp.port_min",
        "expected an integer",
    );
    assert_invalid(
        &err("[sip]\nudp_listen = 5060\n"),
        "sip.udp_listen",
        "expected a string",
    );
    assert_invalid(
        &err("[media]\nsample_rate = 8000.0\n"),
        "media.sample_rate",
        "integer",
    );
}

#[test]
fn rtp_range_is_validated() {
    let inverted = err("[rtp]\nport_min = 30000\nport_max = 20000\n");
    assert_invalid(&inverted, "rtp.port_min", "must be lower than rtp.port_max");
    let equal = err("[rtp]\nport_min = 20000\nport_max = 20000\n");
    assert_invalid(&equal, "rtp.port_min", "at least 2 ports");
    assert_invalid(
        &err("[rtp]\nport_min = 80\n"),
        "rtp.port_min",
        "between 1024 and 65535",
    );
    assert_invalid(
        &err("[rtp]\nport_max = 70000\n"),
        "rtp.port_max",
        "got 70000",
    );
    assert_invalid(&err("[rtp]\nport_max = -1\n"), "rtp.port_max", "got -1");
    // Only the max was set and it is below the default min: blame the max.
    assert_invalid(
        &err("[rtp]\nport_max = 10000\n"),
        "rtp.port_max",
        "must be lower",
    );
    let odd = Config::from_toml_str("[rtp]\nport_min = 1025\nport_max = 1026\n").unwrap();
    assert_eq!((odd.rtp.port_min, odd.rtp.port_max), (1025, 1026));
}

#[test]
fn bad_socket_addresses_are_rejected() {
    for bad in ["localhost:5060", "127.0.0.1", "127.0.0.1:99999", "nonsense"] {
        let e = err(&format!("[sip]\nudp_listen = {bad:?}\n"));
        assert_invalid(&e, "sip.udp_listen", "not an IP:port");
    }
    assert_invalid(
        &err("[sip]\ntcp_listen = \"on\"\n"),
        "sip.tcp_listen",
        "not an IP:port",
    );
}

#[test]
fn wildcard_listen_requires_advertised_address() {
    for wildcard in ["0.0.0.0:5060", "[::]:5060"] {
        let e = err(&format!("[sip]\nudp_listen = {wildcard:?}\n"));
        assert_invalid(&e, "sip.advertised_address", "set sip.advertised_address");
    }
    let ok = "[sip]\nudp_listen = \"0.0.0.0:5060\"\nadvertised_address = \"2001:db8::1\"\n";
    let c = Config::from_toml_str(ok).unwrap();
    assert_eq!(
        c.sip.advertised_ip(),
        "2001:db8::1".parse::<IpAddr>().unwrap()
    );
    for bad in ["0.0.0.0", "224.0.0.1", "example.com"] {
        let e = err(&format!("[sip]\nadvertised_address = {bad:?}\n"));
        assert_invalid(&e, "sip.advertised_address", bad);
    }
}

#[test]
fn user_agent_is_checked() {
    assert_invalid(
        &err("[sip]\nuser_agent = \"\"\n"),
        "sip.user_agent",
        "empty",
    );
    let crlf = "[sip]\nuser_agent = \"x\\r\\nVia: evil\"\n";
    assert_invalid(&err(crlf), "sip.user_agent", "control characters");
}

#[test]
fn sample_rate_must_be_8000_or_16000() {
    assert_invalid(
        &err("[media]\nsample_rate = 44100\n"),
        "media.sample_rate",
        "8000 or 16000",
    );
}

#[test]
fn workers_zero_resolves_to_at_least_one() {
    let c = Config::from_toml_str("[media]\nworkers = 0\n").unwrap();
    assert!(c.media.workers >= 1);
    assert_eq!(c.media.workers, Config::default().media.workers);
    let max = Config::from_toml_str("[media]\nworkers = 256\n").unwrap();
    assert_eq!(max.media.workers, 256);
    assert_invalid(
        &err("[media]\nworkers = 257\n"),
        "media.workers",
        "between 0 and 256",
    );
    assert_invalid(&err("[media]\nworkers = -2\n"), "media.workers", "got -2");
}

#[test]
fn bad_answer_urls_are_rejected() {
    let bad = [
        ("ftp://example.com/answer", "http:// or https://"),
        ("http://", "no host"),
        ("https:///path", "no host"),
        ("http://:8080/x", "no host"),
        ("not a url", "whitespace"),
        ("garbage", "http:// or https://"),
        ("/relative/path", "http:// or https://"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com:http/", "invalid port"),
        ("http://example.com:0/", "invalid port"),
        ("http://a:b:80/", "invalid port"),
        ("http://[::1/x", "unterminated"),
        ("http://[zz]/x", "invalid IPv6"),
        ("http://-host/x", "invalid host"),
    ];
    for (url, why) in bad {
        let e = err(&format!("[inbound]\nanswer_url = {url:?}\n"));
        assert_invalid(&e, "inbound.answer_url", why);
    }
    let good = [
        "http://localhost/answer",
        "HTTPS://app.example.com:8443/a?b=c#d",
        "http://user:pw@10.0.0.1:8080",
        "http://[::1]:8080/x",
        "http://example.com?x=1",
    ];
    for url in good {
        let c = Config::from_toml_str(&format!("[inbound]\nanswer_url = {url:?}\n")).unwrap();
        assert_eq!(c.inbound.answer_url.as_deref(), Some(url));
    }
    let empty = Config::from_toml_str("[inbound]\nanswer_url = \"\"\n").unwrap();
    assert_eq!(empty.inbound.answer_url, None);
}

#[test]
fn answer_method_and_timeout_are_validated() {
    assert_invalid(
        &err("[inbound]\nanswer_method = \"PUT\"\n"),
        "inbound.answer_method",
        "GET or POST",
    );
    let get = Config::from_toml_str("[inbound]\nanswer_method = \"Get\"\n").unwrap();
    assert_eq!(get.inbound.answer_method, HttpMethod::Get);
    assert_eq!(get.inbound.answer_method.to_string(), "GET");
    let key = "inbound.answer_timeout_ms";
    assert_invalid(
        &err("[inbound]\nanswer_timeout_ms = 99\n"),
        key,
        "between 100 and 60000",
    );
    assert_invalid(
        &err("[inbound]\nanswer_timeout_ms = 60001\n"),
        key,
        "got 60001",
    );
}

#[test]
fn log_level_and_format_are_validated() {
    for good in [
        "trace",
        "DEBUG",
        "off",
        "info,chorus_gateway=debug",
        "warn,a::b=error,",
    ] {
        let c = Config::from_toml_str(&format!("[log]\nlevel = {good:?}\n")).unwrap();
        assert_eq!(c.log.level, good);
    }
    for bad in [
        "verbose",
        "",
        " , ",
        "info,chorus-gateway=debug",
        "=debug",
        "x=loud",
        "a=b=c",
    ] {
        let e = err(&format!("[log]\nlevel = {bad:?}\n"));
        assert_invalid(&e, "log.level", "");
    }
    assert_invalid(
        &err("[log]\nformat = \"xml\"\n"),
        "log.format",
        "\"text\" or \"json\"",
    );
    assert_eq!(LogFormat::Json.as_str(), "json");
}

#[test]
fn limits_have_documented_defaults_and_are_checked() {
    let c = Config::default();
    assert_eq!(c.sip.max_calls, 1000);
    assert_eq!(c.sip.invite_rate, 20);
    assert_eq!(c.sip.rate_limit_action, RateLimitAction::Reply);
    assert_eq!(c.sip.tcp_max_connections, 1024);
    assert_eq!(c.sip.tcp_idle_timeout, Duration::from_secs(60));
    assert_eq!(c.sip.session_expires, Duration::from_secs(1800));
    assert_eq!((c.sip.max_cps, c.sip.dial_queue), (10, 1000));
    assert_eq!(c.sip.inbound_auth, InboundAuth::Acl);
    assert_eq!(c.testing.confirm_key_timeout, Duration::from_secs(30));
    assert_eq!(c.media.rtp_timeout, Duration::from_secs(60));
    assert_eq!(c.media.rtp_hold_timeout, Duration::from_secs(3600));
    for (text, key, why) in [
        (
            "[sip]\nmax_calls = 0\n",
            "sip.max_calls",
            "between 1 and 100000",
        ),
        ("[sip]\ninvite_rate = -1\n", "sip.invite_rate", "between 0"),
        ("[sip]\nmax_cps = 0\n", "sip.max_cps", "between 1"),
        (
            "[sip]\ninbound_auth = \"tls\"\n",
            "sip.inbound_auth",
            "\"acl\" or \"digest\"",
        ),
        (
            "[sip]\ninbound_auth = \"digest\"\n",
            "sip.inbound_auth",
            "needs sip.users_file",
        ),
        ("[sip]\ndial_queue = -1\n", "sip.dial_queue", "between 0"),
        (
            "[testing]\nconfirm_key_timeout_ms = 31000\n",
            "testing.confirm_key_timeout_ms",
            "between 100",
        ),
        (
            "[sip]\nrate_limit_action = \"ban\"\n",
            "sip.rate_limit_action",
            "\"reply\" or \"drop\"",
        ),
        (
            "[sip]\ntcp_max_connections = 0\n",
            "sip.tcp_max_connections",
            "between 1",
        ),
        (
            "[sip]\ntcp_idle_timeout = 0\n",
            "sip.tcp_idle_timeout",
            "between 1 and 3600",
        ),
        (
            "[sip]\nsession_expires = 89\n",
            "sip.session_expires",
            "between 90",
        ),
        (
            "[media]\nrtp_timeout = \"60s\"\n",
            "media.rtp_timeout",
            "expected an integer",
        ),
        (
            "[media]\nrtp_hold_timeout = 86401\n",
            "media.rtp_hold_timeout",
            "between 0 and 86400",
        ),
    ] {
        assert_invalid(&err(text), key, why);
    }
}

#[test]
fn the_api_has_no_token_by_default_and_a_short_one_is_refused_unshown() {
    let c = Config::default();
    assert_eq!(c.api.auth_token, None);
    assert_eq!(c.api.rest_listen, Some("127.0.0.1:8088".parse().unwrap()));
    assert_eq!(c.api.grpc_listen, Some("127.0.0.1:50051".parse().unwrap()));
    let e = err("[api]\nauth_token = \"short-secret\"\n");
    assert_invalid(&e, "api.auth_token", "at least 16 characters");
    assert!(!e.to_string().contains("short-secret"), "{e}");
    assert_invalid(
        &err("[api]\nauth_id = \"MA/../x\"\n"),
        "api.auth_id",
        "letters and digits",
    );
}

#[test]
fn api_tls_needs_both_its_files_and_is_off_by_default() {
    assert_eq!(Config::default().api.tls, None);
    assert_invalid(
        &err("[api]\ntls_cert = \"/etc/chorus/api.crt\"\n"),
        "api.tls_key",
        "must be set with api.tls_cert",
    );
    assert_invalid(
        &err("[api]\ntls_key = \"/etc/chorus/api.key\"\n"),
        "api.tls_cert",
        "must be set with api.tls_key",
    );
    let empty = Config::from_toml_str("[api]\ntls_cert = \"\"\ntls_key = \"\"\n").unwrap();
    assert_eq!(empty.api.tls, None, "empty values are unset");
    assert_invalid(
        &err("[api]\ntls_cert = \"a\\nb\"\ntls_key = \"k\"\n"),
        "api.tls_cert",
        "without control characters",
    );
}

#[test]
fn the_grpc_api_can_move_or_be_turned_off_and_a_bad_address_is_named() {
    let moved = Config::from_toml_str("[api]\ngrpc_listen = \"127.0.0.1:6000\"\n").unwrap();
    assert_eq!(
        moved.api.grpc_listen,
        Some("127.0.0.1:6000".parse().unwrap())
    );
    for off in ["off", ""] {
        let c = Config::from_toml_str(&format!("[api]\ngrpc_listen = \"{off}\"\n")).unwrap();
        assert_eq!(c.api.grpc_listen, None, "{off:?}");
        assert!(c.api.rest_listen.is_some(), "only gRPC is off");
    }
    assert_invalid(
        &err("[api]\ngrpc_listen = \"localhost\"\n"),
        "api.grpc_listen",
        "is not an IP:port address",
    );
}

#[test]
fn only_loopback_may_call_by_default_and_a_bad_range_is_named() {
    let c = Config::default();
    let trusted = |ip: &str| {
        c.sip
            .trusted_sources
            .iter()
            .any(|net| net.contains(ip.parse().unwrap()))
    };
    assert!(trusted("127.0.0.1") && trusted("127.0.0.2") && trusted("::1"));
    assert!(!trusted("192.168.1.10") && !trusted("203.0.113.5"));
    let nobody = Config::from_toml_str("[sip]\ntrusted_sources = \"\"\n").unwrap();
    assert!(nobody.sip.trusted_sources.is_empty());
    assert_invalid(
        &err("[sip]\ntrusted_sources = \"10.0.0.0/8, lan\"\n"),
        "sip.trusted_sources",
        "\"lan\" is not an address",
    );
}

#[test]
fn trunks_are_read_in_order_with_their_defaults() {
    let c = Config::from_toml_str(
        r#"
        [[trunks]]
        name = "carrier"
        proxy = "192.0.2.10:5060"
        username = "acct"
        password = "s3cret"
        realm = "carrier.example"
        from_domain = "pbx.example"
        prefixes = "+1, 1"
        strip = 1
        add = "00"
        max_cps = 5
        max_channels = 30
        ping_interval = 0
        [[trunks]]
        name = "backup"
        proxy = "[2001:db8::7]:5080"
        "#,
    )
    .unwrap();
    assert_eq!(
        c.trunks,
        [
            TrunkConfig {
                name: "carrier".into(),
                proxy: "192.0.2.10:5060".parse().unwrap(),
                credentials: Some(("acct".into(), "s3cret".into())),
                realm: Some("carrier.example".into()),
                from_domain: Some("pbx.example".into()),
                prefixes: vec!["+1".into(), "1".into()],
                strip: 1,
                add: "00".into(),
                max_cps: 5,
                max_channels: 30,
                ping_interval: Duration::ZERO,
            },
            TrunkConfig {
                name: "backup".into(),
                proxy: "[2001:db8::7]:5080".parse().unwrap(),
                credentials: None,
                realm: None,
                from_domain: None,
                prefixes: Vec::new(),
                strip: 0,
                add: String::new(),
                max_cps: 0,
                max_channels: 0,
                ping_interval: Duration::from_secs(30),
            },
        ]
    );
    assert!(Config::default().trunks.is_empty());
}

#[test]
fn a_bad_trunk_is_named_by_its_index_and_key() {
    let trunk = |body: &str| format!("[[trunks]]\nname = \"a\"\n{body}\n");
    assert_invalid(&err(&trunk("")), "trunks.0.proxy", "is required");
    assert_invalid(
        &err(&trunk("proxy = \"carrier.example:5060\"")),
        "trunks.0.proxy",
        "not an IP:port",
    );
    assert_invalid(
        &err(&trunk("proxy = \"192.0.2.1:5060\"\nusername = \"u\"")),
        "trunks.0.password",
        "go together",
    );
    assert_invalid(
        &err(&trunk("proxy = \"192.0.2.1:5060\"\nprefixes = \"1, 44x\"")),
        "trunks.0.prefixes",
        "\"44x\" is not a number prefix",
    );
    let twice = format!(
        "{}{}",
        trunk("proxy = \"192.0.2.1:5060\""),
        trunk("proxy = \"192.0.2.2:5060\"")
    );
    assert_invalid(&err(&twice), "trunks.1.name", "names two trunks");
    let unknown = err(&trunk("proxy = \"192.0.2.1:5060\"\ntransport = \"tls\""));
    assert_eq!(unknown.key(), Some("trunks.0.transport"), "{unknown}");
    let not_a_list = err("trunks = \"carrier\"\n");
    assert_eq!(not_a_list.key(), Some("trunks"), "{not_a_list}");
}
