//! Plivo's official Python SDK (`plivo` on PyPI), pinned, driving chorus's
//! REST API the way a Plivo MPC app does: only the base URL changes. A test
//! that passes against our own client but fails against theirs is a failing
//! test, so the API tests go through this.
//!
//! The SDK lives in a virtualenv under the cargo target directory, made on
//! first use with `python3 -m venv` and `pip install plivo==VERSION` (from
//! PyPI; Debian/Ubuntu need `python3-venv`). [`Sdk::run`] calls
//! `tests/sdk/plivo_mpc.py`, which prints the SDK's answer as JSON.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// The SDK version the tests pin.
pub const VERSION: &str = "4.63.0";

/// One chorus REST API, as the SDK reaches it.
pub struct Sdk {
    python: PathBuf,
    base_url: String,
    auth_id: String,
    token: String,
}

/// Only one test makes the venv; the others wait for it.
static MAKING: Mutex<()> = Mutex::new(());

/// The venv's Python, made if it is not there yet.
///
/// # Panics
/// If the venv cannot be made (no `python3-venv`, no PyPI), with the
/// command's output.
pub fn python() -> PathBuf {
    let _one = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let target = target_dir();
    let venv = target.join(format!("plivo-sdk-{VERSION}"));
    let python = venv.join("bin/python");
    if python.exists() {
        return python;
    }
    // Made aside and renamed: a venv that is there is a whole one.
    let making = target.join(format!("plivo-sdk-{VERSION}.making-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&making);
    run(Command::new("python3").arg("-m").arg("venv").arg(&making));
    run(Command::new(making.join("bin/pip"))
        .args(["install", "-q", "--disable-pip-version-check"])
        .arg(format!("plivo=={VERSION}")));
    if std::fs::rename(&making, &venv).is_err() {
        // Another test binary made it meanwhile.
        let _ = std::fs::remove_dir_all(&making);
    }
    python
}

fn run(command: &mut Command) {
    let out = command.output().unwrap_or_else(|e| {
        panic!("{command:?}: {e} (Debian/Ubuntu: apt-get install python3-venv)")
    });
    assert!(
        out.status.success(),
        "{command:?} failed (Debian/Ubuntu: apt-get install python3-venv; PyPI must be reachable):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `target/` (the test binary is `target/<profile>/deps/<name>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .expect("the test binary lives under target/<profile>/deps")
}

impl Sdk {
    /// The SDK pointed at `base_url` (e.g. `http://127.0.0.1:8088`) with
    /// these credentials.
    pub fn new(base_url: &str, auth_id: &str, token: &str) -> Self {
        Self {
            python: python(),
            base_url: base_url.to_owned(),
            auth_id: auth_id.to_owned(),
            token: token.to_owned(),
        }
    }

    /// Runs one command of `tests/sdk/plivo_mpc.py` (see its doc) and
    /// returns what it printed: the SDK's answer, or `{"exception",
    /// "message"}`.
    pub async fn run(&self, args: &[&str]) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("sdk/plivo_mpc.py");
        let out = tokio::process::Command::new(&self.python)
            .arg(script)
            .args([&self.base_url, &self.auth_id, &self.token])
            .args(args)
            .output()
            .await
            .expect("run the SDK script");
        assert!(
            out.status.success(),
            "plivo_mpc.py {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "plivo_mpc.py {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}
