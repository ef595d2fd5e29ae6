//! `chorus-load`: see the library's docs (`chorus_load`). Runs one load and
//! prints the human table; `--json FILE` writes the full summary, every
//! leg included. Exits 0 when the run passes the knee's rule, 1 when it
//! does not, 2 on a usage or set-up error.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chorus_load::run::{Options, run};
use chorus_load::target::Target;
use chorus_load::target::janus::Janus;
use chorus_load::target::relay::Relay;
use chorus_load::target::rtpengine::Rtpengine;
use chorus_load::target::sip::{Codec, Sip};
use chorus_media::g711::Law;
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    /// chorusd: one INVITE per leg to sip:<run>-r<room>@SERVER.
    Sip,
    /// chorus-relay: leg i sends to SERVER's port + i and hears itself.
    Relay,
    /// rtpengine's ng control port: rooms of 2, one call each.
    Rtpengine,
    /// Janus' HTTP API: an AudioBridge room per room, plain-RTP legs.
    Janus,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CodecArg {
    Pcmu,
    Pcma,
}

/// Places N calls into rooms of K, streams a tone per leg at the real
/// 20 ms pace, and reports loss, jitter, latency, hearing and the server's
/// cost.
#[derive(Debug, Parser)]
#[command(name = "chorus-load", version)]
struct Args {
    /// What SERVER is.
    #[arg(long, value_enum, default_value = "sip")]
    target: Kind,
    /// The server: chorusd's SIP UDP address; the relay's first port;
    /// rtpengine's ng address; Janus' HTTP address.
    #[arg(long, default_value = "127.0.0.1:5060")]
    server: SocketAddr,
    /// Legs in all.
    #[arg(long, default_value_t = 30)]
    legs: usize,
    /// Legs per room.
    #[arg(long, default_value_t = 3)]
    room_size: usize,
    /// Set-ups started per second.
    #[arg(long, default_value_t = 100.0)]
    cps: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of media before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// The codec.
    #[arg(long, value_enum, default_value = "pcmu")]
    codec: CodecArg,
    /// Media threads (default: the CPUs this process may run on).
    #[arg(long)]
    threads: Option<usize>,
    /// About this many legs, in whole rooms, are checked by tone.
    #[arg(long, default_value_t = 60)]
    check: usize,
    /// Legs send nothing (an idle load).
    #[arg(long)]
    silent: bool,
    /// The server's pid, for its CPU time and memory.
    #[arg(long)]
    pid: Option<u32>,
    /// The core the server runs alone on: its busy time (softirq
    /// included) prices a leg.
    #[arg(long)]
    core: Option<usize>,
    /// chorusd's metrics listener (host:port), read over the window.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Write the JSON summary here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Prefix of Call-IDs and room names (distinct per run).
    #[arg(long)]
    run: Option<String>,
    /// No progress lines.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match start(&args) {
        Ok(passed) => ExitCode::from(if passed { 0 } else { 1 }),
        Err(e) => {
            eprintln!("chorus-load: {e}");
            ExitCode::from(2)
        }
    }
}

fn start(args: &Args) -> Result<bool, String> {
    let (codec, law) = match args.codec {
        CodecArg::Pcmu => (Codec::Pcmu, Law::Ulaw),
        CodecArg::Pcma => (Codec::Pcma, Law::Alaw),
    };
    let run_name = args
        .run
        .clone()
        .unwrap_or_else(|| format!("load{}", std::process::id()));
    let mut target: Box<dyn Target> = match args.target {
        Kind::Sip => Box::new(Sip::new(args.server, codec, &run_name)?),
        Kind::Relay => Box::new(Relay::new(args.server, args.legs)),
        Kind::Rtpengine => Box::new(Rtpengine::new(args.server)?),
        Kind::Janus => Box::new(Janus::new(args.server, 8000)?),
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let options = Options {
        legs: args.legs,
        room_size: args.room_size,
        cps: args.cps,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        law,
        threads,
        check: args.check,
        silent: args.silent,
        server_pid: args.pid,
        server_core: args.core,
        metrics: args.metrics,
        progress: !args.quiet,
        ..Options::default()
    };
    let report = run(target.as_mut(), &options)?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(report.failures().is_empty())
}
