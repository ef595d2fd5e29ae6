//! `chorus-relay`: the bare UDP relay baseline of the capacity benchmark.
//! See the library's docs (`cargo doc -p chorus-relay`) for what it is and
//! how a driver uses it; this file is the command line and the ready line.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chorus_relay::{DEFAULT_BURST, Relay};
use clap::Parser;
use clap::builder::RangedU64ValueParser;
use nix::sys::epoll::EpollTimeout;
use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Bare UDP relay: echoes every datagram on each leg back to the leg's
/// first sender. The capacity benchmark's baseline.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address the legs listen on.
    #[arg(long, default_value = "127.0.0.1")]
    listen: IpAddr,
    /// First leg's UDP port; the legs take base-port..base-port+legs-1.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    base_port: u16,
    /// Number of legs (one UDP socket each).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    legs: u16,
    /// Most datagrams one leg echoes per wake before the others get a turn.
    #[arg(long, default_value_t = DEFAULT_BURST, value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    burst: usize,
    /// Print `echoed <n>` (running total) to stderr every this many seconds.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    report_secs: Option<u64>,
}

fn main() -> ExitCode {
    // One line naming the cause (the port, for a bind), not anyhow's
    // report, which adds a backtrace whenever RUST_BACKTRACE is set.
    match run(Args::parse()) {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("chorus-relay: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<Infallible> {
    raise_fd_limit();
    let mut relay = Relay::bind(args.listen, args.base_port, args.legs, args.burst)?;

    // The one line a driver waits for: every leg is bound and registered.
    let ports = relay.ports();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready {}..{}", ports.start(), ports.end())
        .and_then(|()| stdout.flush())
        .context("writing the ready line")?;
    drop(stdout);

    let every = args.report_secs.map(Duration::from_secs);
    let mut next_report = every.map(|every| Instant::now() + every);
    loop {
        // Without reports, block until a leg is readable: idle legs cost
        // nothing. SIGTERM/SIGINT end the process by their default action.
        let timeout = next_report.map_or(EpollTimeout::NONE, |at| {
            let micros = at.saturating_duration_since(Instant::now()).as_micros();
            // Rounded up: a timeout that ends just before the report is due
            // would only spin another turn.
            EpollTimeout::try_from(micros.div_ceil(1000)).unwrap_or(EpollTimeout::MAX)
        });
        relay.turn(timeout).context("relay loop")?;
        if let (Some(at), Some(every)) = (next_report, every)
            && Instant::now() >= at
        {
            eprintln!("echoed {}", relay.echoed());
            next_report = Some(at + every);
        }
    }
}

/// Each leg is a file descriptor, and a capacity run wants thousands of legs:
/// lift the soft descriptor limit to the hard one. Best effort: if it fails,
/// the bind error names the leg that ran out.
fn raise_fd_limit() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
    {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
