//! `chorusctl`: chorusd's command line, over its gRPC API only.
//!
//! ```text
//! chorusctl mpc list [--status S] [--name N] [--limit N] [--offset N]
//! chorusctl mpc show|start|end MPC
//! chorusctl member list MPC
//! chorusctl member show MPC MEMBER
//! chorusctl member mute|unmute|hold|unhold|kick MPC MEMBER|all
//! chorusctl record start MPC [--format mp3|wav] | stop|pause|resume MPC
//!           (each with --member ID [--track inbound|outbound|all]: that
//!           member's track recordings instead of the MPC's mix)
//! chorusctl play MPC MEMBER URL | speak MPC MEMBER TEXT [--voice V] [--language L]
//! chorusctl stop-audio MPC MEMBER     audio to one member alone
//! chorusctl events [--mpc MPC]        live events until Ctrl-C
//! chorusctl health
//! ```
//! `MPC` is a friendly name, or `uuid:<MPC UUID>`. Tables by default,
//! `--json` for scripts. The endpoint and token come from `--endpoint` /
//! `--token`, else `CHORUS_CTL_ENDPOINT` / `CHORUS_API__AUTH_TOKEN`, else
//! `/etc/chorus/chorusctl.toml` (or `--config PATH`: `endpoint = "…"`,
//! `token = "…"`, `ca_cert = "…"`), else `http://127.0.0.1:50051` and no
//! token. An `https://` endpoint (chorusd with `api.tls_cert`) is trusted
//! by the system's roots or by `--ca-cert PEM` (`CHORUS_CTL_CA_CERT`).
//!
//! Exit codes: 0 done; 1 chorusd refused the request (unknown MPC or
//! member, ended MPC, bad value) or is not serving; 2 bad usage or config;
//! 3 chorusd cannot be reached (or the event stream broke); 4 the token
//! was refused.

mod client;
// audio to one member
mod member_audio;
mod members;
mod recording;
mod render;
mod settings;
mod tracks;

use std::path::PathBuf;
use std::process::ExitCode;

use chorus_proto::v1 as pb;
use clap::{Parser, Subcommand, ValueEnum};
use client::{Failure, answer, channel, client, from_status, mpc_id};
use members::MemberCommand;
use recording::RecordCommand;
use render::print;
use serde_json::json;
use settings::Settings;

#[derive(Parser)]
#[command(
    name = "chorusctl",
    version,
    about = "Control a chorusd over its gRPC API"
)]
struct Cli {
    /// chorusd's gRPC URL [default: http://127.0.0.1:50051]
    #[arg(long, global = true, env = "CHORUS_CTL_ENDPOINT")]
    endpoint: Option<String>,
    /// chorusd's api.auth_token
    #[arg(
        long,
        global = true,
        env = "CHORUS_API__AUTH_TOKEN",
        hide_env_values = true
    )]
    token: Option<String>,
    /// Trust this CA certificate (PEM) for an https:// endpoint, beside the system's roots
    #[arg(long, global = true, env = "CHORUS_CTL_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// Read endpoint and token from this file [default: /etc/chorus/chorusctl.toml, if present]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Print JSON instead of tables
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Multiparty calls
    #[command(subcommand)]
    Mpc(MpcCommand),
    /// An MPC's members
    #[command(subcommand)]
    Member(MemberCommand),
    /// An MPC's recording
    #[command(subcommand)]
    Record(RecordCommand),
    /// Print MPC and recording events as they happen, until Ctrl-C
    Events {
        /// Only this MPC's (a friendly name, or uuid:UUID)
        #[arg(long)]
        mpc: Option<String>,
    },
    /// Whether chorusd serves its API
    Health,
    // audio to one member
    #[command(flatten)]
    Audio(member_audio::AudioCommand),
}

#[derive(Subcommand)]
enum MpcCommand {
    /// MPCs, newest first: live ones and recently ended ones
    List {
        /// Only MPCs with this status
        #[arg(long)]
        status: Option<StatusArg>,
        /// Only MPCs with this friendly name
        #[arg(long)]
        name: Option<String>,
        /// At most this many (1 to 20)
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// After skipping this many
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// One MPC
    Show { mpc: String },
    /// Start an MPC that waits to be started
    Start { mpc: String },
    /// End an MPC (its members leave)
    End { mpc: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusArg {
    Initialized,
    Active,
    Ended,
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let settings = Settings::resolve(cli.endpoint, cli.token, cli.ca_cert, cli.config.as_deref())
        .map_err(Failure::Usage)?;
    let endpoint = settings.endpoint.as_str();
    let as_json = cli.json;
    match cli.command {
        Command::Health => return health(&settings, as_json).await,
        Command::Events { mpc } => return events(&settings, mpc.as_deref(), as_json).await,
        Command::Mpc(command) => {
            let mut api = client(&settings).await?;
            match command {
                MpcCommand::List {
                    status,
                    name,
                    limit,
                    offset,
                } => {
                    let status = match status {
                        None => pb::MultiPartyCallStatus::Unspecified,
                        Some(StatusArg::Initialized) => pb::MultiPartyCallStatus::Initialized,
                        Some(StatusArg::Active) => pb::MultiPartyCallStatus::Active,
                        Some(StatusArg::Ended) => pb::MultiPartyCallStatus::Ended,
                    };
                    let request = pb::ListMultiPartyCallsRequest {
                        friendly_name: name,
                        status: status.into(),
                        limit,
                        offset,
                        ..Default::default()
                    };
                    let listed = answer(endpoint, api.list_multi_party_calls(request)).await?;
                    let objects: Vec<_> = listed
                        .multi_party_calls
                        .iter()
                        .map(render::mpc_json)
                        .collect();
                    let value = json!({
                        "multi_party_calls": objects,
                        "total_count": listed.total_count,
                        "limit": listed.limit,
                        "offset": listed.offset,
                    });
                    print(as_json, value, || {
                        render::mpc_table(&listed.multi_party_calls)
                    });
                }
                MpcCommand::Show { mpc } => {
                    let request = pb::GetMultiPartyCallRequest {
                        mpc: Some(mpc_id(&mpc)),
                    };
                    let m = answer(endpoint, api.get_multi_party_call(request)).await?;
                    print(as_json, render::mpc_json(&m), || render::mpc_details(&m));
                }
                MpcCommand::Start { mpc } => {
                    let request = pb::StartMultiPartyCallRequest {
                        mpc: Some(mpc_id(&mpc)),
                    };
                    let m = answer(endpoint, api.start_multi_party_call(request)).await?;
                    print(as_json, render::mpc_json(&m), || {
                        format!("MPC {} started", m.friendly_name)
                    });
                }
                MpcCommand::End { mpc } => {
                    let request = pb::EndMultiPartyCallRequest {
                        mpc: Some(mpc_id(&mpc)),
                    };
                    let m = answer(endpoint, api.end_multi_party_call(request)).await?;
                    print(as_json, render::mpc_json(&m), || {
                        format!("MPC {} ended", m.friendly_name)
                    });
                }
            }
        }
        Command::Member(command) => members::run(&settings, command, as_json).await?,
        Command::Record(command) => recording::run(&settings, command, as_json).await?,
        // audio to one member
        Command::Audio(command) => member_audio::run(&settings, command, as_json).await?,
    }
    Ok(())
}

async fn events(settings: &Settings, mpc: Option<&str>, as_json: bool) -> Result<(), Failure> {
    use pb::watch_events_response::Item;
    let endpoint = settings.endpoint.as_str();
    let mut api = client(settings).await?;
    let request = pb::WatchEventsRequest {
        mpc: mpc.map(mpc_id),
    };
    let mut stream = answer(endpoint, api.watch_events(request)).await?;
    // chorusd subscribed before it answered: from here on nothing is missed.
    eprintln!("chorusctl: watching events at {endpoint} (Ctrl-C to stop)");
    loop {
        let next = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            next = stream.message() => next,
        };
        match next {
            Ok(Some(pb::WatchEventsResponse {
                item: Some(Item::Event(e)),
            })) => {
                if as_json {
                    println!("{}", render::event_json(&e));
                } else {
                    println!("{}", render::event_line(&e));
                }
            }
            Ok(Some(pb::WatchEventsResponse {
                item: Some(Item::Missed(n)),
            })) => {
                if as_json {
                    println!("{}", json!({ "missed": n }));
                }
                eprintln!("chorusctl: fell behind: {n} events missed");
            }
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(Failure::Unreachable(
                    "chorusd ended the event stream (it is stopping)".to_owned(),
                ));
            }
            Err(status) => return Err(from_status(status, endpoint)),
        }
    }
}

async fn health(settings: &Settings, as_json: bool) -> Result<(), Failure> {
    let endpoint = settings.endpoint.as_str();
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let mut health = HealthClient::new(channel(settings).await?);
    let mut all_serving = true;
    let mut report = serde_json::Map::new();
    for service in ["", "chorus.v1.MultiPartyCalls"] {
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        let status = answer(endpoint, health.check(request)).await?.status();
        all_serving &= status == ServingStatus::Serving;
        let name = status.as_str_name();
        let label = if service.is_empty() {
            "chorusd"
        } else {
            service
        };
        if !as_json {
            println!("{label}: {name}");
        }
        report.insert(label.to_owned(), json!(name));
    }
    if as_json {
        println!("{}", serde_json::Value::Object(report));
    }
    if all_serving {
        Ok(())
    } else {
        Err(Failure::Refused("chorusd is not serving".to_owned()))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("chorusctl: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("chorusctl: {}", failure.message());
            ExitCode::from(failure.code())
        }
    }
}
