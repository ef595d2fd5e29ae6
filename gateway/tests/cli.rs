//! `chorusd --check-config` and start-up with a bad configuration.

mod common;

use chorus_tests::daemon::run_check_config;
use common::chorusd_bin;

#[test]
fn defaults_are_valid() {
    let out = run_check_config(chorusd_bin(), &[], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_example_config_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../systemd/chorusd.toml");
    let out = run_check_config(chorusd_bin(), &["--config", example], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn inverted_port_range_is_rejected_with_the_key() {
    let out = run_check_config(
        chorusd_bin(),
        &[],
        &[
            ("CHORUS_RTP__PORT_MIN", "30000"),
            ("CHORUS_RTP__PORT_MAX", "20000"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rtp.port_m"), "{err}");
}

#[test]
fn unknown_key_in_file_is_rejected() {
    let dir = std::env::temp_dir().join(format!("chorus-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "[sip]\nudp_listn = \"127.0.0.1:5060\"\n").unwrap();
    let out = run_check_config(chorusd_bin(), &["--config", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sip.udp_listn"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_config_stops_the_daemon_at_start_too() {
    let out = std::process::Command::new(chorusd_bin())
        .env("CHORUS_SIP__UDP_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sip.udp_listen"));
}

#[test]
fn unknown_argument_is_a_usage_error() {
    let out = std::process::Command::new(chorusd_bin())
        .arg("--frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}

#[test]
fn a_taken_metrics_port_stops_the_daemon_with_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = std::process::Command::new(chorusd_bin())
        .env("CHORUS_SIP__UDP_LISTEN", "127.0.0.1:0")
        .env("CHORUS_SIP__TCP_LISTEN", "off")
        .env("CHORUS_METRICS__LISTEN", &addr)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot listen for metrics on {addr}")),
        "{err}"
    );
}
