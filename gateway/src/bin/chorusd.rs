//! `chorusd`: the chorus media gateway daemon.
//!
//! ```text
//! chorusd [--config PATH]                 serve (built-in defaults without --config)
//! chorusd --check-config [--config PATH]  validate the configuration and exit
//! ```
//! Environment variables `CHORUS_<SECTION>__<KEY>` override the file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chorus_config::{Config, LogFormat};
use chorus_gateway::daemon::Daemon;
use chorus_gateway::media::Liveness;
use chorus_gateway::media::health::IDLE_HEARTBEAT;

const USAGE: &str = "usage: chorusd [--config PATH] [--check-config]
  --config PATH    read settings from this TOML file (see systemd/chorusd.toml)
  --check-config   validate the configuration (file + CHORUS_* environment) and exit
  --version        print the version
Environment variables CHORUS_<SECTION>__<KEY> override the file, e.g.
  CHORUS_INBOUND__ANSWER_URL=http://127.0.0.1:8000/answer";

struct Args {
    config: Option<PathBuf>,
    check_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        config: None,
        check_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--config" | "-c" => {
                let path = it.next().ok_or("--config needs a path")?;
                args.config = Some(PathBuf::from(path));
            }
            "--check-config" => args.check_only = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--version" | "-V" => {
                println!("chorusd {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("chorusd: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = match Config::load(args.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("chorusd: invalid configuration: {e}");
            return ExitCode::from(1);
        }
    };
    if args.check_only {
        println!("chorusd: configuration is valid");
        return ExitCode::SUCCESS;
    }
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chorusd: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("chorusd: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let daemon = Daemon::start(config).await?;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    tokio::spawn(watchdog(daemon.liveness()));
    wait_for_stop_signal().await?;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    daemon.stop().await;
    Ok(())
}

/// Pets systemd's watchdog at half its interval, when one is configured,
/// but only while every media worker is going round its loop: a stuck or
/// dead media thread must get the service restarted, not be covered by a
/// healthy control plane.
async fn watchdog(liveness: Liveness) {
    let Some(usec) = watchdog_usec() else {
        return;
    };
    // An idle worker beats every IDLE_HEARTBEAT, a busy one every tick; a
    // worker silent for three heartbeats is stuck (set WatchdogSec well
    // above this).
    let max_silence = IDLE_HEARTBEAT * 3;
    let mut every = tokio::time::interval(Duration::from_micros(usec / 2));
    let mut stalled_before = Vec::new();
    loop {
        every.tick().await;
        let stalled = liveness.stalled(max_silence);
        if stalled.is_empty() {
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
            if !stalled_before.is_empty() {
                tracing::warn!("every media worker is ticking again");
            }
        } else if stalled != stalled_before {
            tracing::error!(
                workers = ?stalled,
                silent_for_more_than = ?max_silence,
                "media worker stalled: the systemd watchdog is no longer petted"
            );
        }
        stalled_before = stalled;
    }
}

/// The watchdog interval systemd asks for, as sd_watchdog_enabled(3) reads
/// it: `WATCHDOG_USEC`, for this process unless `WATCHDOG_PID` names
/// another. (The sd-notify crate also insists on `WATCHDOG_PID` being set.)
fn watchdog_usec() -> Option<u64> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse() != Ok(std::process::id())
    {
        return None;
    }
    (usec > 0).then_some(usec)
}

async fn wait_for_stop_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    Ok(())
}

fn init_logging(config: &Config) {
    use std::io::IsTerminal;
    // rsipstack logs every datagram at INFO; keep it at WARN unless the
    // configured filter names it explicitly.
    let mut directives = config.log.level.clone();
    if !directives.contains("rsipstack") {
        directives.push_str(",rsipstack=warn");
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
