//! `api.tls_cert` / `api.tls_key`: with them, the REST API is HTTPS only
//! and the gRPC API is TLS only, with the configured certificate (a
//! client that trusts it gets answers; plain HTTP and clients that do not
//! trust it get none), `chorusctl` follows with `--ca-cert`, and a missing
//! or mismatched file stops chorusd at start naming it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN, Chorusd};
use common::chorusd_bin;

/// A fresh directory holding a self-signed certificate for 127.0.0.1 and
/// its key, as `cert.pem` and `key.pem`.
fn certificate(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chorus-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let signed = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), signed.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), signed.signing_key.serialize_pem()).unwrap();
    dir
}

fn path(dir: &Path, file: &str) -> String {
    dir.join(file).to_str().unwrap().to_owned()
}

async fn start_with_tls(dir: &Path) -> Chorusd {
    Chorusd::start(
        chorusd_bin(),
        &[
            ("CHORUS_API__TLS_CERT", &path(dir, "cert.pem")),
            ("CHORUS_API__TLS_KEY", &path(dir, "key.pem")),
        ],
    )
    .await
}

fn https_client(trusting: Option<&Path>) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(dir) = trusting {
        let pem = std::fs::read(dir.join("cert.pem")).unwrap();
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

async fn chorusctl(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_chorusctl"))
        .env_remove("CHORUS_CTL_ENDPOINT")
        .env_remove("CHORUS_CTL_CA_CERT")
        .env_remove("CHORUS_API__AUTH_TOKEN")
        .args(["--token", API_TOKEN])
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn with_a_certificate_both_apis_speak_only_tls() {
    let dir = certificate("serve");
    let chorus = start_with_tls(&dir).await;
    let rest = chorus.rest_url().replacen("http://", "https://", 1);
    let list = format!("{rest}/v1/Account/{API_AUTH_ID}/MultiPartyCall/");

    let answer = https_client(Some(&dir))
        .get(&list)
        .basic_auth(API_AUTH_ID, Some(API_TOKEN))
        .send()
        .await
        .expect("an HTTPS client that trusts the certificate is answered");
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert!(body["objects"].is_array(), "{body}");

    let untrusting = https_client(None).get(&list).send().await;
    assert!(
        untrusting.is_err(),
        "a client that does not trust it: {untrusting:?}"
    );
    let plain = reqwest::Client::new()
        .get(list.replacen("https://", "http://", 1))
        .basic_auth(API_AUTH_ID, Some(API_TOKEN))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(
        plain.as_ref().map_or(true, |r| !r.status().is_success()),
        "plain HTTP must get no API answer: {plain:?}"
    );

    let grpc = chorus.grpc_url().replacen("http://", "https://", 1);
    let ca = path(&dir, "cert.pem");
    let listed = chorusctl(&[
        "--endpoint",
        &grpc,
        "--ca-cert",
        &ca,
        "mpc",
        "list",
        "--json",
    ])
    .await;
    assert!(
        listed.status.success(),
        "chorusctl over TLS: {}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let health = chorusctl(&["--endpoint", &grpc, "--ca-cert", &ca, "health"]).await;
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );
    assert!(String::from_utf8_lossy(&health.stdout).contains("SERVING"));

    let untrusted = chorusctl(&["--endpoint", &grpc, "mpc", "list"]).await;
    assert_eq!(
        untrusted.status.code(),
        Some(3),
        "a certificate nobody vouches for is not trusted: {}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
    let plain = chorusctl(&["--endpoint", &chorus.grpc_url(), "mpc", "list"]).await;
    assert_eq!(
        plain.status.code(),
        Some(3),
        "plain HTTP/2 gets no answer: {}",
        String::from_utf8_lossy(&plain.stderr)
    );
    chorus.stop().await;
    std::fs::remove_dir_all(dir).ok();
}

/// Runs chorusd until it exits (it must, within 10 s) and gives its
/// stderr and stdout.
fn failed_start(cert: &str, key: &str) -> String {
    let mut child = std::process::Command::new(chorusd_bin())
        .env("CHORUS_SIP__UDP_LISTEN", "127.0.0.1:0")
        .env("CHORUS_API__REST_LISTEN", "off")
        .env("CHORUS_API__GRPC_LISTEN", "off")
        .env("CHORUS_METRICS__LISTEN", "off")
        .env("CHORUS_API__TLS_CERT", cert)
        .env("CHORUS_API__TLS_KEY", key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("chorusd started with unusable TLS files");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

#[test]
fn a_missing_or_mismatched_tls_file_stops_chorusd_naming_it() {
    let dir = certificate("bad");
    let other = certificate("other");
    let missing = path(&dir, "nope.pem");
    let said = failed_start(&missing, &path(&dir, "key.pem"));
    assert!(said.contains(&missing), "{said}");

    let said = failed_start(&path(&dir, "key.pem"), &path(&dir, "key.pem"));
    assert!(said.contains("holds no certificate"), "{said}");

    let said = failed_start(&path(&dir, "cert.pem"), &path(&other, "key.pem"));
    assert!(said.contains("cannot serve TLS"), "{said}");
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_dir_all(other).ok();
}
