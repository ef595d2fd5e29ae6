//! Runs the real `chorusd` binary for a test.
//!
//! Each daemon gets its own SIP port (free for both UDP and TCP), metrics,
//! REST and gRPC ports and 200-port RTP range (see [`crate::ports`]), so tests can run in parallel within one process and
//! across processes. Its stdout and stderr go to a temporary log file which a
//! failing start prints, and which is kept (and its path printed) when the
//! test panics.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::{phone, ports};

/// Width of each daemon's RTP port range (see [`ports::udp_range`]).
const RTP_RANGE: u16 = 200;
const START_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

static DAEMONS: AtomicU32 = AtomicU32::new(0);

/// A running `chorusd`; killed (SIGKILL) when dropped if still running.
pub struct Chorusd {
    child: Child,
    sip: SocketAddr,
    /// The metrics endpoint (each daemon gets a free port), unless off.
    metrics: Option<SocketAddr>,
    /// The REST API (a free port too, token [`API_TOKEN`]), unless off.
    rest: Option<SocketAddr>,
    /// The gRPC API (a free port, the same token), unless off.
    grpc: Option<SocketAddr>,
    log_path: PathBuf,
}

/// The account id of every test daemon's API (chorusd's default).
pub const API_AUTH_ID: &str = "MACHORUS000000000001";
/// The API token every test daemon gets.
pub const API_TOKEN: &str = "test-token-0123456789";

fn log_file_path() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "chorusd-test-{}-{}-{nanos}.log",
        std::process::id(),
        DAEMONS.fetch_add(1, Ordering::Relaxed)
    ))
}

impl Chorusd {
    /// Spawns `bin` with loopback SIP/RTP settings plus `env` (which
    /// overrides them) and waits until it answers OPTIONS.
    ///
    /// # Panics
    /// If it cannot be spawned, exits, or does not answer within 10 s; the
    /// panic message includes its log.
    pub async fn start(bin: &Path, env: &[(&str, &str)]) -> Chorusd {
        Self::start_with_args(bin, &[], env).await
    }

    /// [`Chorusd::start`] with command-line arguments (`--config PATH`).
    pub async fn start_with_args(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Chorusd {
        let sip = SocketAddr::from(([127, 0, 0, 1], ports::udp_and_tcp()));
        let metrics = ports::tcp_addr();
        let rest = ports::tcp_addr();
        let grpc = ports::tcp_addr();
        let (rtp_min, rtp_max) = ports::udp_range(RTP_RANGE);
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in [
            ("CHORUS_SIP__UDP_LISTEN", sip.to_string()),
            ("CHORUS_SIP__TCP_LISTEN", sip.to_string()),
            ("CHORUS_RTP__PORT_MIN", rtp_min.to_string()),
            ("CHORUS_RTP__PORT_MAX", rtp_max.to_string()),
            ("CHORUS_LOG__LEVEL", "debug".to_string()),
            ("CHORUS_METRICS__LISTEN", metrics.to_string()),
            ("CHORUS_API__REST_LISTEN", rest.to_string()),
            ("CHORUS_API__GRPC_LISTEN", grpc.to_string()),
            ("CHORUS_API__AUTH_TOKEN", API_TOKEN.to_string()),
        ] {
            vars.insert(k.to_string(), v);
        }
        for (k, v) in env {
            vars.insert((*k).to_string(), (*v).to_string());
        }
        // A caller that chose the UDP listen address is probed there.
        let sip = vars
            .get("CHORUS_SIP__UDP_LISTEN")
            .and_then(|a| a.parse().ok())
            .unwrap_or(sip);
        let log_path = log_file_path();
        let log = File::create(&log_path).expect("create the chorusd log file");
        let err = log.try_clone().expect("clone the chorusd log file");
        let child = Command::new(bin)
            .args(args)
            .envs(&vars)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let metrics = vars
            .get("CHORUS_METRICS__LISTEN")
            .and_then(|a| a.parse().ok());
        let rest = vars
            .get("CHORUS_API__REST_LISTEN")
            .and_then(|a| a.parse().ok());
        let grpc = vars
            .get("CHORUS_API__GRPC_LISTEN")
            .and_then(|a| a.parse().ok());
        let mut daemon = Chorusd {
            child,
            sip,
            metrics,
            rest,
            grpc,
            log_path,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if !daemon.is_running() {
                panic!(
                    "chorusd exited during start-up ({:?})\n--- log ---\n{}",
                    daemon.child.try_wait().ok().flatten(),
                    daemon.log()
                );
            }
            if phone::options(sip, Duration::from_millis(200))
                .await
                .is_some()
            {
                return daemon;
            }
            if Instant::now() >= deadline {
                panic!(
                    "chorusd did not answer OPTIONS on {sip} within {START_TIMEOUT:?}\n\
                     --- env ---\n{vars:?}\n--- log ---\n{}",
                    daemon.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The SIP address (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
    }

    /// The REST API's base URL, e.g. `http://127.0.0.1:41234`.
    ///
    /// # Panics
    /// If the daemon was started with the REST API off.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest.expect("the REST API is on"))
    }

    /// The gRPC API's URL, e.g. `http://127.0.0.1:41235` (token
    /// [`API_TOKEN`]).
    ///
    /// # Panics
    /// If the daemon was started with the gRPC API off.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc.expect("the gRPC API is on"))
    }

    /// The metrics listener, unless off.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics
    }

    /// `GET /metrics`: the value of every sample line, by its name and
    /// labels (`chorus_calls_total`, `chorus_mpc_events_total{event="MPCEnd"}`).
    ///
    /// # Panics
    /// If the endpoint is off or does not answer 200.
    pub async fn metrics(&self) -> BTreeMap<String, f64> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.metrics.expect("the metrics endpoint is on");
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect to the metrics endpoint");
        let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut response = String::new();
        stream.read_to_string(&mut response).await.expect("read");
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        body.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| {
                let (key, value) = l.rsplit_once(' ')?;
                Some((key.to_owned(), value.parse().ok()?))
            })
            .collect()
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the daemon wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Sends SIGTERM and waits up to 5 s for a clean exit (status 0), which
    /// every test expects of a graceful stop.
    ///
    /// # Panics
    /// If chorusd exited already, exits with a failure, or has to be killed;
    /// the message holds its log.
    pub async fn stop(mut self) -> ExitStatus {
        let status = self.terminate().await;
        assert!(
            status.success(),
            "chorusd did not stop cleanly ({status:?})\n--- log ---\n{}",
            self.log()
        );
        status
    }

    /// SIGTERM, up to 5 s for an exit, then SIGKILL; the exit status.
    async fn terminate(&mut self) -> ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status;
        }
        // `kill` rather than libc: unsafe code is forbidden in the workspace.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait for the killed chorusd")
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the daemon has used so far, from
    /// `/proc/<pid>/stat`, in clock ticks (normally 100 per second); None
    /// when it cannot be read, so a broken probe never reads as "idle".
    pub fn cpu_ticks(&self) -> Option<u64> {
        cpu_ticks(self.pid())
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Chorusd {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("chorusd log kept at {}", self.log_path.display());
        } else {
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

/// Runs `bin --check-config <args>` with `env` added and returns its output.
pub fn run_check_config(bin: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(bin)
        .arg("--check-config")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {} --check-config: {e}", bin.display()))
}

/// CPU time (user + system) process `pid` has used so far, from
/// `/proc/<pid>/stat`, in clock ticks (normally 100 per second); None when
/// it cannot be read.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // utime and stime are fields 14 and 15 of the line, i.e. 12 and 13
    // after the parenthesised command name (which may contain spaces).
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_config_passes_the_flag_then_args() {
        let out = run_check_config(Path::new("/bin/echo"), &["--config", "x.toml"], &[]);
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "--check-config --config x.toml\n"
        );
    }
}
