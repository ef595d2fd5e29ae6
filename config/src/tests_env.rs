//! Unit tests: layering of defaults, file and environment, and file I/O errors.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::tests::assert_invalid;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A uniquely named temp file holding `text`, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("chorus-config-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn load_err(file: Option<&Path>, vars: &[(&str, &str)]) -> ConfigError {
    match Config::load(file, env(vars)) {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e,
    }
}

#[test]
fn env_overrides_file_overrides_defaults() {
    let file = TempFile::new(
        "layers",
        "[sip]\nudp_listen = \"127.0.0.1:5070\"\nuser_agent = \"from-file\"\n\
         [media]\nworkers = 3\n[inbound]\nanswer_method = \"GET\"\n",
    );
    let vars = env(&[
        ("CHORUS_SIP__UDP_LISTEN", "127.0.0.1:5080"),
        ("CHORUS_MEDIA__WORKERS", "2"),
        ("CHORUS_INBOUND__ANSWER_URL", "http://127.0.0.1:8080/answer"),
        ("CHORUS_INBOUND__ANSWER_TIMEOUT_MS", " 750 "),
        ("CHORUS_MEDIA__SAMPLE_RATE", "16000"),
        ("CHORUS_LOG__LEVEL", "debug,chorus_gateway=trace"),
        ("PATH", "/usr/bin"),
        ("CHORUSX", "ignored: not the prefix"),
    ]);
    let c = Config::load(Some(file.path()), vars).unwrap();
    // env wins over file
    assert_eq!(c.sip.udp_listen, "127.0.0.1:5080".parse().unwrap());
    assert_eq!(c.media.workers, 2);
    // file wins over defaults
    assert_eq!(c.sip.user_agent, "from-file");
    assert_eq!(c.inbound.answer_method, HttpMethod::Get);
    // env over defaults
    assert_eq!(
        c.inbound.answer_url.as_deref(),
        Some("http://127.0.0.1:8080/answer")
    );
    assert_eq!(c.inbound.answer_timeout, Duration::from_millis(750));
    assert_eq!(c.media.sample_rate, SampleRate::Hz16000);
    assert_eq!(c.log.level, "debug,chorus_gateway=trace");
    // untouched defaults
    let d = Config::default();
    assert_eq!(c.rtp, d.rtp);
    assert_eq!(c.sip.tcp_listen, d.sip.tcp_listen);
    assert_eq!(c.log.format, d.log.format);
}

#[test]
fn env_can_unset_file_values() {
    let file = TempFile::new(
        "unset",
        "[sip]\ntcp_listen = \"127.0.0.1:5061\"\n[inbound]\nanswer_url = \"http://x/\"\n",
    );
    let vars = [
        ("CHORUS_INBOUND__ANSWER_URL", ""),
        ("CHORUS_SIP__TCP_LISTEN", "off"),
    ];
    let c = Config::load(Some(file.path()), env(&vars)).unwrap();
    assert_eq!(c.inbound.answer_url, None);
    assert_eq!(c.sip.tcp_listen, None);
}

#[test]
fn unknown_env_key_names_the_variable() {
    let e = load_err(None, &[("CHORUS_SIP__BOGUS", "1")]);
    match &e {
        ConfigError::UnknownKey { key, origin, .. } => {
            assert_eq!(key, "sip.bogus");
            assert_eq!(origin, &Origin::Env("CHORUS_SIP__BOGUS".into()));
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("CHORUS_SIP__BOGUS") && msg.contains("sip.bogus"),
        "{msg}"
    );
}

#[test]
fn unknown_or_malformed_env_section_is_rejected() {
    let e = load_err(None, &[("CHORUS_SIPP__UDP_LISTEN", "127.0.0.1:5060")]);
    assert_eq!(e.key(), Some("sipp"));
    assert_eq!(
        e.origin(),
        Some(&Origin::Env("CHORUS_SIPP__UDP_LISTEN".into()))
    );
    // Single underscore typo: not silently ignored.
    let e = load_err(None, &[("CHORUS_SIP_UDP_LISTEN", "127.0.0.1:5060")]);
    assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e:?}");
    assert!(e.to_string().contains("CHORUS_SIP_UDP_LISTEN"), "{e}");
}

#[test]
fn env_errors_name_the_variable() {
    let e = load_err(None, &[("CHORUS_MEDIA__WORKERS", "many")]);
    assert_invalid(&e, "media.workers", "expected an integer");
    assert_eq!(
        e.origin(),
        Some(&Origin::Env("CHORUS_MEDIA__WORKERS".into()))
    );
    assert!(
        e.to_string()
            .contains("environment variable CHORUS_MEDIA__WORKERS"),
        "{e}"
    );

    let e = load_err(None, &[("CHORUS_RTP__PORT_MIN", "80")]);
    assert_invalid(&e, "rtp.port_min", "between 1024");
    assert!(e.to_string().contains("CHORUS_RTP__PORT_MIN"), "{e}");

    let e = load_err(None, &[("CHORUS_SIP__UDP_LISTEN", "0.0.0.0:5060")]);
    assert_invalid(&e, "sip.advertised_address", "set sip.advertised_address");
    assert!(e.to_string().contains("CHORUS_SIP__UDP_LISTEN"), "{e}");
}

#[test]
fn env_bound_is_blamed_for_inverted_range() {
    let file = TempFile::new("range", "[rtp]\nport_min = 30000\nport_max = 40000\n");
    let e = load_err(Some(file.path()), &[("CHORUS_RTP__PORT_MAX", "25000")]);
    assert_invalid(&e, "rtp.port_max", "must be lower than");
    assert_eq!(
        e.origin(),
        Some(&Origin::Env("CHORUS_RTP__PORT_MAX".into()))
    );
}

#[test]
fn file_errors_name_the_file() {
    let file = TempFile::new("bad", "[rtp]\nport_min = 10\n");
    let e = load_err(Some(file.path()), &[]);
    assert_eq!(e.origin(), Some(&Origin::File(file.path().to_owned())));
    assert!(
        e.to_string().contains(&file.path().display().to_string()),
        "{e}"
    );

    let broken = TempFile::new("syntax", "[sip\n");
    let e = load_err(Some(broken.path()), &[]);
    assert!(
        matches!(
            e,
            ConfigError::Syntax {
                origin: Origin::File(_),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn missing_file_is_a_read_error() {
    let path = Path::new("/nonexistent/chorus/chorusd.toml");
    match load_err(Some(path), &[]) {
        ConfigError::Read { path: p, source } => {
            assert_eq!(p, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn env_var_names_follow_the_convention() {
    assert_eq!(env_var_name("sip.udp_listen"), "CHORUS_SIP__UDP_LISTEN");
    assert_eq!(
        env_var_name("inbound.answer_timeout_ms"),
        "CHORUS_INBOUND__ANSWER_TIMEOUT_MS"
    );
    // Every documented key is settable through its variable.
    for (section, keys) in source::SCHEMA {
        for (key, _) in *keys {
            let var = env_var_name(&format!("{section}.{key}"));
            let e = Config::load(None, env(&[(&var, "!")]));
            if let Err(ConfigError::UnknownKey { .. }) = e {
                panic!("{var} should be a known key");
            }
        }
    }
}

#[test]
fn example_file_loads_from_disk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../systemd/chorusd.toml");
    assert_eq!(
        Config::load(Some(&path), Vec::new()).unwrap(),
        Config::default()
    );
}

#[test]
fn example_file_documents_every_key_and_env_var() {
    for (section, keys) in source::SCHEMA {
        assert!(
            crate::tests::EXAMPLE.contains(&format!("[{section}]")),
            "missing [{section}]"
        );
        for (key, _) in *keys {
            let dotted = format!("{section}.{key}");
            assert!(
                crate::tests::EXAMPLE.contains(&format!("{key} = ")),
                "example lacks {dotted}"
            );
            assert!(
                crate::tests::EXAMPLE.contains(&env_var_name(&dotted)),
                "example lacks env var for {dotted}"
            );
        }
    }
}

#[test]
fn vad_thresholds_are_read_and_checked() {
    let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let c = Config::load(
        None,
        env(&[
            ("CHORUS_MEDIA__VAD_START_DBFS", "-35"),
            ("CHORUS_MEDIA__VAD_HANGOVER_MS", "300"),
        ]),
    )
    .unwrap();
    assert_eq!(
        (
            c.media.vad_start_dbfs,
            c.media.vad_stop_dbfs,
            c.media.vad_hangover_ms
        ),
        (-35, -45, 300)
    );
    let err = Config::load(None, env(&[("CHORUS_MEDIA__VAD_STOP_DBFS", "-20")])).unwrap_err();
    assert_eq!(err.key(), Some("media.vad_stop_dbfs"));
    let err = Config::load(None, env(&[("CHORUS_MEDIA__VAD_START_DBFS", "3")])).unwrap_err();
    assert_eq!(err.key(), Some("media.vad_start_dbfs"));
    let err = Config::load(None, env(&[("CHORUS_MEDIA__VAD_HANGOVER_MS", "5")])).unwrap_err();
    assert_eq!(err.key(), Some("media.vad_hangover_ms"));
}

#[test]
fn sending_silence_is_turned_on_by_its_variable_and_only_by_true_or_false() {
    assert!(!Config::load(None, env(&[])).unwrap().media.send_silence);
    let on = Config::load(None, env(&[("CHORUS_MEDIA__SEND_SILENCE", "true")])).unwrap();
    assert!(on.media.send_silence);
    let off = Config::load(None, env(&[("CHORUS_MEDIA__SEND_SILENCE", " false ")])).unwrap();
    assert!(!off.media.send_silence);
    let err = Config::load(None, env(&[("CHORUS_MEDIA__SEND_SILENCE", "yes")])).unwrap_err();
    assert_eq!(err.key(), Some("media.send_silence"));
    assert!(err.to_string().contains("true or false"), "{err}");
}

#[test]
fn the_grpc_api_is_moved_or_turned_off_by_its_variable() {
    let moved = Config::load(None, env(&[("CHORUS_API__GRPC_LISTEN", "127.0.0.1:6001")])).unwrap();
    assert_eq!(
        moved.api.grpc_listen,
        Some("127.0.0.1:6001".parse().unwrap())
    );
    let off = Config::load(None, env(&[("CHORUS_API__GRPC_LISTEN", "off")])).unwrap();
    assert_eq!(off.api.grpc_listen, None);
}

#[test]
fn api_tls_files_come_from_their_variables() {
    let c = Config::load(
        None,
        env(&[
            ("CHORUS_API__TLS_CERT", "/run/secrets/api.crt"),
            ("CHORUS_API__TLS_KEY", "/run/secrets/api.key"),
        ]),
    )
    .unwrap();
    let tls = c.api.tls.unwrap();
    assert_eq!(tls.cert, std::path::Path::new("/run/secrets/api.crt"));
    assert_eq!(tls.key, std::path::Path::new("/run/secrets/api.key"));
}
