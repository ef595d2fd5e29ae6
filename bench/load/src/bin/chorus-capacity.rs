//! `chorus-capacity`: what `bench/capacity` runs. Sweeps each server to its
//! knee (see `chorus_load::capacity`), then measures chorusd's idle cost
//! (MPCs of one silent member) and its call set-up rate with the answer URL
//! off and on, prints one table and writes it with every step's figures to
//! `--out` (`capacity-<date>.md` and `.json`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chorus_load::capacity::servers::{Kind, Server, pin};
use chorus_load::capacity::{Row, Sweep, answer_app, sweep, table};
use chorus_load::report::Report;
use chorus_load::run::{Options, run};
use chorus_load::target::sip::Codec;
use clap::Parser;
use serde::Serialize;

/// Sweeps chorusd, a bare relay, rtpengine and Janus AudioBridge to their
/// knees on one core each, with the generator on the other.
#[derive(Debug, Parser)]
#[command(name = "chorus-capacity")]
struct Args {
    /// chorusd under test.
    #[arg(long)]
    chorusd: PathBuf,
    /// Another chorusd to sweep beside it (an older build), and its label.
    #[arg(long, requires = "baseline_label")]
    baseline: Option<PathBuf>,
    /// The baseline's row name, e.g. "chorusd e5088af".
    #[arg(long)]
    baseline_label: Option<String>,
    /// chorus-relay.
    #[arg(long)]
    relay: PathBuf,
    /// Which servers, in order (chorusd, baseline, relay, rtpengine, janus).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "relay,chorusd,baseline,rtpengine,janus"
    )]
    servers: Vec<String>,
    /// Legs in each sweep's first step.
    #[arg(long, default_value_t = 300)]
    start: usize,
    /// Most legs a step may have.
    #[arg(long, default_value_t = 9600)]
    max: usize,
    /// Legs per room for the mixers.
    #[arg(long, default_value_t = 3)]
    room_size: usize,
    /// Seconds measured per step.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of media before measuring.
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Set-ups per second while a step's calls are placed.
    #[arg(long, default_value_t = 500.0)]
    cps: f64,
    /// Idle MPCs (one silent member each) for chorusd's idle cost; 0: skip.
    #[arg(long, default_value_t = 1000)]
    idle_mpcs: usize,
    /// Seconds the idle run measures: a cost of about 1 % of a core is a
    /// few clock ticks of the kernel's accounting a second, so it takes a
    /// longer window than a step of the sweep to read it to a tenth.
    #[arg(long, default_value_t = 30.0)]
    idle_duration: f64,
    /// Calls placed for the set-up rate; 0: skip.
    #[arg(long, default_value_t = 3600)]
    signalling_calls: usize,
    /// The set-up rate asked for (above 1,000, so that the rate achieved,
    /// first INVITE to last answer, can show 1,000).
    #[arg(long, default_value_t = 1200.0)]
    signalling_cps: f64,
    /// Where the results go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

/// An extra chorusd measurement.
#[derive(Debug, Serialize)]
struct Extra {
    name: String,
    /// Idle (its cost is the window's CPU and memory) or signalling (its
    /// figures are the set-ups').
    idle: bool,
    report: Report,
}

#[derive(Debug, Serialize)]
struct Results {
    date: String,
    machine: String,
    command: String,
    rows: Vec<Row>,
    extras: Vec<Extra>,
}

const SERVER_CORE: usize = 0;
const GENERATOR_CORE: usize = 1;

fn main() -> ExitCode {
    let args = Args::parse();
    match capacity(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chorus-capacity: {e}");
            ExitCode::FAILURE
        }
    }
}

fn capacity(args: &Args) -> Result<(), String> {
    pin(std::process::id(), GENERATOR_CORE)?;
    let scratch = std::env::temp_dir().join(format!("chorus-capacity-{}", std::process::id()));
    let plan = Sweep {
        start: args.start,
        max: args.max,
        room_size: args.room_size,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        cps: args.cps,
        server_core: SERVER_CORE,
        scratch: scratch.clone(),
    };
    let chorusd = Kind::Chorusd {
        bin: args.chorusd.clone(),
        label: "chorusd".into(),
        env: Vec::new(),
    };
    let mut rows = Vec::new();
    let mut log = |line: &str| eprintln!("{line}");
    for name in &args.servers {
        let kind = match name.as_str() {
            "chorusd" => chorusd.clone(),
            "baseline" => match (&args.baseline, &args.baseline_label) {
                (Some(bin), Some(label)) => Kind::Chorusd {
                    bin: bin.clone(),
                    label: label.clone(),
                    env: Vec::new(),
                },
                _ => continue,
            },
            "relay" => Kind::Relay {
                bin: args.relay.clone(),
            },
            "rtpengine" => Kind::Rtpengine,
            "janus" => Kind::Janus,
            // `--servers ''`: no sweep, only the idle and signalling runs.
            "" => continue,
            other => return Err(format!("unknown server {other:?}")),
        };
        rows.push(sweep(&kind, &plan, &mut log));
    }
    let mut extras = Vec::new();
    if args.idle_mpcs > 0 {
        let idle = Sweep {
            duration: Duration::from_secs_f64(args.idle_duration),
            ..plan.clone()
        };
        let report = once(&chorusd, &idle, args.idle_mpcs, 1, true, args.cps, 1)?;
        extras.push(Extra {
            name: format!(
                "{} idle MPCs, one silent member each ({} s measured)",
                args.idle_mpcs, args.idle_duration
            ),
            idle: true,
            report,
        });
    }
    if args.signalling_calls > 0 {
        for answer_url in [false, true] {
            let kind = if answer_url {
                let url = answer_app::serve()?;
                Kind::Chorusd {
                    bin: args.chorusd.clone(),
                    label: "chorusd".into(),
                    env: vec![("CHORUS_INBOUND__ANSWER_URL".into(), url)],
                }
            } else {
                chorusd.clone()
            };
            let report = once(
                &kind,
                &plan,
                args.signalling_calls,
                args.room_size,
                true,
                args.signalling_cps,
                1,
            )?;
            extras.push(Extra {
                name: format!(
                    "{} calls at {} cps, answer URL {}",
                    args.signalling_calls,
                    args.signalling_cps,
                    if answer_url {
                        "on (local app)"
                    } else {
                        "off (built-in app)"
                    }
                ),
                idle: false,
                report,
            });
        }
    }
    let results = Results {
        date: today(),
        machine: machine(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        rows,
        extras,
    };
    let markdown = render(&results);
    println!("{markdown}");
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let stem = args.out.join(format!("capacity-{}", results.date));
    std::fs::write(stem.with_extension("md"), &markdown).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(stem.with_extension("json"), json).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// One run of `legs` on a fresh `kind`.
fn once(
    kind: &Kind,
    plan: &Sweep,
    legs: usize,
    room_size: usize,
    silent: bool,
    cps: f64,
    threads: usize,
) -> Result<Report, String> {
    let scratch = plan.scratch.join(format!("once-{legs}-{room_size}"));
    let server = Server::start(kind, legs, plan.server_core, &scratch)?;
    let mut target = server.target(
        kind,
        legs,
        Codec::Pcmu,
        &format!("once{}", std::process::id()),
    )?;
    let options = Options {
        legs,
        room_size,
        cps,
        warmup: plan.warmup,
        duration: plan.duration,
        threads,
        silent,
        server_pid: Some(server.pid),
        server_core: Some(plan.server_core),
        metrics: server.metrics,
        ..Options::default()
    };
    let mut report = run(target.as_mut(), &options)?;
    // The results keep the summary (chorus-load --json keeps every leg).
    report.legs.clear();
    Ok(report)
}

fn render(results: &Results) -> String {
    let mut out = format!(
        "Capacity, {} on {}\n\n`{}`\n\n{}\n",
        results.date,
        results.machine,
        results.command,
        table(&results.rows)
    );
    for row in &results.rows {
        out.push_str(&format!(
            "- {}: knee {} legs; the first failing step {}\n",
            row.server, row.knee, row.limited_by
        ));
    }
    for extra in &results.extras {
        let r = &extra.report;
        let what = if extra.idle {
            format!(
                "chorusd's process used {:.2} % of its core, the core was {:.2} % busy, {:.1} KiB RSS per MPC",
                r.server.cpu_share * 100.0,
                r.server.core_share.unwrap_or(0.0) * 100.0,
                r.server.bytes_per_leg / 1024.0
            )
        } else {
            format!(
                "{:.0} set-ups/s achieved, INVITE→200 OK p50 {:.1} ms p99 {:.1} ms",
                r.setup.achieved_cps, r.setup.latency_ms.p50, r.setup.latency_ms.p99
            )
        };
        out.push_str(&format!(
            "- {}: {} of {} up ({} failed); {what}\n",
            extra.name, r.setup.ok, r.setup.requested, r.setup.failed,
        ));
    }
    out
}

fn today() -> String {
    std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "undated".into())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    // Counted from /proc, not from our affinity: we run pinned to one core.
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let cpu = Some(cpuinfo)
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} × {cpu}, Linux {}", kernel.trim())
}
