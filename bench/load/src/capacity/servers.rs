//! Starting each server under test, alone on its core, and stopping it
//! completely before the next step (a server still draining would send RTP
//! into the next step's ports).
//!
//! Every server is started fresh for every step, so each step's memory and
//! CPU figures are its own. Pinning is `taskset -a -p -c CORE PID` once
//! the server is up: every thread it has then, and every thread those
//! start later (they inherit the mask).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::target::Target;
use crate::target::janus::Janus;
use crate::target::janus::daemon::{JanusDaemon, RtpRanges};
use crate::target::relay::Relay;
use crate::target::rtpengine::Rtpengine;
use crate::target::sip::{Codec, Sip};

/// The rtpengine binary (Debian's `rtpengine-daemon`).
pub const RTPENGINE_BIN: &str = "/usr/bin/rtpengine";

/// Which server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// chorusd, from this binary, under this label.
    Chorusd {
        /// The binary.
        bin: PathBuf,
        /// The row's name (`chorusd`, `chorusd e5088af`, …).
        label: String,
        /// `CHORUS_*` settings on top of the benchmark's.
        env: Vec<(String, String)>,
    },
    /// `chorus-relay`, from this binary.
    Relay {
        /// The binary.
        bin: PathBuf,
    },
    /// rtpengine, userspace forwarding.
    Rtpengine,
    /// Janus AudioBridge.
    Janus,
}

impl Kind {
    /// The row's name.
    pub fn label(&self) -> String {
        match self {
            Self::Chorusd { label, .. } => label.clone(),
            Self::Relay { .. } => "bare relay".into(),
            Self::Rtpengine => "rtpengine".into(),
            Self::Janus => "Janus AudioBridge".into(),
        }
    }

    /// The room size its load uses: rooms of 3 for the mixers, calls of 2
    /// for rtpengine, an echo per leg for the relay.
    pub fn room_size(&self, mixer_room: usize) -> usize {
        match self {
            Self::Chorusd { .. } | Self::Janus => mixer_room,
            Self::Rtpengine => 2,
            Self::Relay { .. } => 1,
        }
    }
}

/// A started server, stopped (and waited for) on drop.
pub struct Server {
    process: Process,
    /// Its pid.
    pub pid: u32,
    /// chorusd's metrics listener.
    pub metrics: Option<SocketAddr>,
    /// Its control address: SIP, relay base port, ng or HTTP.
    pub control: SocketAddr,
    scratch: PathBuf,
}

enum Process {
    Child(Child),
    Janus(JanusDaemon),
}

impl Server {
    /// Starts `kind` for a load of `legs`, pinned to `core`; `scratch` is
    /// a directory of its own for logs and configuration.
    pub fn start(kind: &Kind, legs: usize, core: usize, scratch: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        let server = match kind {
            Kind::Chorusd { bin, env, .. } => start_chorusd(bin, env, scratch)?,
            Kind::Relay { bin } => start_relay(bin, legs, scratch)?,
            Kind::Rtpengine => start_rtpengine(scratch)?,
            Kind::Janus => {
                let http = chorus_tests::ports::tcp_addr().port();
                let ranges = RtpRanges {
                    core: 16384..=16999,
                    audiobridge: 17000..=32767,
                };
                let daemon = JanusDaemon::start(scratch, http, &ranges)?;
                Server {
                    pid: daemon.pid(),
                    control: daemon.http(),
                    metrics: None,
                    process: Process::Janus(daemon),
                    scratch: scratch.to_path_buf(),
                }
            }
        };
        pin(server.pid, core)?;
        Ok(server)
    }

    /// A load target for this server.
    pub fn target(
        &self,
        kind: &Kind,
        legs: usize,
        codec: Codec,
        run: &str,
    ) -> Result<Box<dyn Target>, String> {
        Ok(match kind {
            Kind::Chorusd { .. } => Box::new(Sip::new(self.control, codec, run)?),
            Kind::Relay { .. } => Box::new(Relay::new(self.control, legs)),
            Kind::Rtpengine => Box::new(Rtpengine::new(self.control)?),
            Kind::Janus => Box::new(Janus::new(self.control, 8000)?),
        })
    }

    /// The server's log, for a failed step.
    pub fn log_tail(&self) -> String {
        let text = match &self.process {
            Process::Janus(daemon) => daemon.log(),
            Process::Child(_) => {
                std::fs::read_to_string(self.scratch.join("server.log")).unwrap_or_default()
            }
        };
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Process::Child(child) = &mut self.process {
            // SIGTERM first: chorusd drains (BYE to every call) and exits;
            // the others simply exit. Then make sure.
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // A JanusDaemon kills and reaps its Janus when dropped.
    }
}

fn spawn_logged(command: &mut Command, scratch: &Path) -> Result<Child, String> {
    let log = File::create(scratch.join("server.log")).map_err(|e| e.to_string())?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|e| format!("starting {:?}: {e}", command.get_program()))
}

/// chorusd on free ports, every limit that would refuse a load lifted:
/// no per-source INVITE rate, calls up to 100,000, one media worker (it
/// has one core), RTP ports below the generator's ephemeral range.
fn start_chorusd(bin: &Path, env: &[(String, String)], scratch: &Path) -> Result<Server, String> {
    let sip = SocketAddr::from(([127, 0, 0, 1], chorus_tests::ports::udp()));
    let metrics = chorus_tests::ports::tcp_addr();
    let mut command = Command::new(bin);
    command
        .env("CHORUS_SIP__UDP_LISTEN", sip.to_string())
        .env("CHORUS_SIP__TCP_LISTEN", sip.to_string())
        .env("CHORUS_METRICS__LISTEN", metrics.to_string())
        .env(
            "CHORUS_API__REST_LISTEN",
            chorus_tests::ports::tcp_addr().to_string(),
        )
        .env(
            "CHORUS_API__GRPC_LISTEN",
            chorus_tests::ports::tcp_addr().to_string(),
        )
        .env("CHORUS_SIP__INVITE_RATE", "0")
        .env("CHORUS_SIP__MAX_CALLS", "100000")
        .env("CHORUS_MEDIA__WORKERS", "1")
        .env("CHORUS_RTP__PORT_MIN", "16384")
        .env("CHORUS_RTP__PORT_MAX", "32767")
        .env("CHORUS_LOG__LEVEL", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    let child = spawn_logged(&mut command, scratch)?;
    let pid = child.id();
    let mut server = Server {
        process: Process::Child(child),
        pid,
        metrics: Some(metrics),
        control: sip,
        scratch: scratch.to_path_buf(),
    };
    wait_until(&mut server, || {
        crate::http::get(metrics, "/metrics", Duration::from_millis(200))
            .is_ok_and(|r| r.status == 200)
    })?;
    Ok(server)
}

/// The relay on `legs` consecutive ports, up once it prints its ready line.
fn start_relay(bin: &Path, legs: usize, scratch: &Path) -> Result<Server, String> {
    // The relay's ports sit below the generator's ephemeral range.
    let base = 16384u16;
    let mut child = Command::new(bin)
        .args([
            "--base-port",
            &base.to_string(),
            "--legs",
            &legs.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            File::create(scratch.join("server.log")).map_err(|e| e.to_string())?,
        ))
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no relay stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if !line.starts_with("ready") {
        let _ = child.kill();
        return Err(format!(
            "the relay did not start: {}",
            std::fs::read_to_string(scratch.join("server.log")).unwrap_or_default()
        ));
    }
    Ok(Server {
        pid: child.id(),
        process: Process::Child(child),
        metrics: None,
        control: SocketAddr::from(([127, 0, 0, 1], base)),
        scratch: scratch.to_path_buf(),
    })
}

/// rtpengine as the notes on peers run it: no configuration file,
/// userspace forwarding only, ports freed at once on delete.
fn start_rtpengine(scratch: &Path) -> Result<Server, String> {
    if !Path::new(RTPENGINE_BIN).exists() {
        return Err(format!(
            "{RTPENGINE_BIN} is missing: apt-get install rtpengine-daemon"
        ));
    }
    let ng = SocketAddr::from(([127, 0, 0, 1], chorus_tests::ports::udp()));
    let child = spawn_logged(
        Command::new(RTPENGINE_BIN).args([
            "--config-file=none",
            "--interface=127.0.0.1",
            &format!("--listen-ng={ng}"),
            "--port-min=16384",
            "--port-max=32767",
            "--foreground",
            "--log-stderr",
            "--log-level=3",
            "--table=-1",
            "--delete-delay=0",
        ]),
        scratch,
    )?;
    let pid = child.id();
    let mut server = Server {
        process: Process::Child(child),
        pid,
        metrics: None,
        control: ng,
        scratch: scratch.to_path_buf(),
    };
    let mut probe = Rtpengine::new(ng)?;
    wait_until(&mut server, || probe.ping().is_ok())?;
    Ok(server)
}

/// Polls `ready` for up to 10 s, failing with the log if the server exits.
fn wait_until(server: &mut Server, mut ready: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Process::Child(child) = &mut server.process
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(format!(
                "the server exited at start ({status}):\n{}",
                server.log_tail()
            ));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the server was not up within 10 s:\n{}",
                server.log_tail()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Pins every thread of `pid` (and so every thread they start) to `core`.
pub fn pin(pid: u32, core: usize) -> Result<(), String> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", &core.to_string(), &pid.to_string()])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("taskset could not pin {pid} to core {core}"))
    }
}
