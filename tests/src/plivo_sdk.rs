//! Plivo's official SDKs, pinned, driving chorus's REST API the way a
//! Plivo MPC app does: only the base URL changes. A test that passes
//! against our own client but fails against theirs is a failing test, so
//! the API tests go through these.
//!
//! The Python SDK (`plivo` on PyPI, [`Sdk::new`]) lives in a virtualenv
//! under the cargo target directory, made on first use with `python3 -m
//! venv` and `pip install plivo==VERSION` (Debian/Ubuntu need
//! `python3-venv`); the Node SDK (`plivo` on npm, [`Sdk::node`]) beside it,
//! installed with `npm install` (Debian/Ubuntu: `nodejs`, `npm`).
//! [`Sdk::run`] calls `tests/sdk/plivo_mpc.py` or `tests/sdk/plivo_mpc.js`:
//! the same commands, each printing the SDK's answer as JSON.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;

/// The Python SDK version the tests pin.
pub const VERSION: &str = "4.63.0";
/// The Node SDK version the tests pin.
pub const NODE_VERSION: &str = "4.75.6";

/// One chorus REST API, as one SDK reaches it.
pub struct Sdk {
    /// The interpreter: the venv's python, or node.
    program: PathBuf,
    /// The script it runs, under `tests/sdk/`.
    script: &'static str,
    /// `NODE_PATH`, for the Node SDK.
    node_path: Option<PathBuf>,
    base_url: String,
    auth_id: String,
    token: String,
}

/// Only one test makes an SDK's home; the others wait for it.
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

/// The Node SDK's `node_modules`, installed if it is not there yet.
///
/// # Panics
/// If it cannot be installed (no `npm`, no registry), with the command's
/// output.
pub fn node_modules() -> PathBuf {
    let _one = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let target = target_dir();
    let home = target.join(format!("plivo-node-{NODE_VERSION}"));
    let modules = home.join("node_modules");
    if modules.join("plivo").exists() {
        return modules;
    }
    let making = target.join(format!(
        "plivo-node-{NODE_VERSION}.making-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&making);
    std::fs::create_dir_all(&making).expect("make the Node SDK's directory");
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&making)
        .arg(format!("plivo@{NODE_VERSION}")));
    if std::fs::rename(&making, &home).is_err() {
        let _ = std::fs::remove_dir_all(&making);
    }
    modules
}

fn run(command: &mut Command) {
    const NEEDS: &str = "Debian/Ubuntu: apt-get install python3-venv nodejs npm; \
                         PyPI and the npm registry must be reachable";
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e} ({NEEDS})"));
    assert!(
        out.status.success(),
        "{command:?} failed ({NEEDS}):\n{}{}",
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
    /// The Python SDK pointed at `base_url` (e.g.
    /// `http://127.0.0.1:8088`) with these credentials.
    pub fn new(base_url: &str, auth_id: &str, token: &str) -> Self {
        Self {
            program: python(),
            script: "plivo_mpc.py",
            node_path: None,
            base_url: base_url.to_owned(),
            auth_id: auth_id.to_owned(),
            token: token.to_owned(),
        }
    }

    /// The Node SDK, likewise.
    pub fn node(base_url: &str, auth_id: &str, token: &str) -> Self {
        Self {
            program: PathBuf::from("node"),
            script: "plivo_mpc.js",
            node_path: Some(node_modules()),
            base_url: base_url.to_owned(),
            auth_id: auth_id.to_owned(),
            token: token.to_owned(),
        }
    }

    /// Runs one command of the SDK's script (see `tests/sdk/plivo_mpc.py`)
    /// and returns what it printed: the SDK's answer, or `{"exception",
    /// "message"}`.
    pub async fn run(&self, args: &[&str]) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sdk")
            .join(self.script);
        let mut command = tokio::process::Command::new(&self.program);
        if let Some(node_path) = &self.node_path {
            command.env("NODE_PATH", node_path);
        }
        let out = command
            .arg(script)
            .args([&self.base_url, &self.auth_id, &self.token])
            .args(args)
            .output()
            .await
            .expect("run the SDK script");
        assert!(
            out.status.success(),
            "{} {args:?} failed:\n{}",
            self.script,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{} {args:?} printed no JSON ({e}): {}",
                self.script,
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}
