//! The daemon: builds every part, wires each to the narrow handles of the
//! others it needs, and owns start, serve, and a graceful stop. It is the
//! only module that knows every part.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chorus_config::Config;
use chorus_mixer::vad::VadConfig;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::ops::Operations;
use crate::api::tls::ApiTls;
use crate::api::{grpc, rest};
use crate::call::outbound::{OutboundCalls, Routing, Trunks};
use crate::call::{self, CallServices, CallSettings, CallTable, RtpTimeouts};
use crate::fetch::http_client;
use crate::media::{Liveness, MediaPlane, RoomSettings};
use crate::metrics::{self, Metrics};
use crate::mpc::{EventBus, MpcRegistry, MpcServices, wall_clock};
use crate::player::Player;
use crate::sip::{Admission, Signalling};

/// How long a graceful stop waits for calls to hang up.
const DRAIN: Duration = Duration::from_secs(5);

/// How long it then waits for the MPCs' last callbacks to be delivered
/// (the unit's TimeoutStopSec=15s covers both and the rest of the stop).
const CALLBACK_DRAIN: Duration = Duration::from_secs(3);

/// A started daemon: signalling and media are up.
pub struct Daemon {
    calls: CallTable,
    mpcs: MpcRegistry,
    media: Arc<MediaPlane>,
    admission: Admission,
    stop: CancellationToken,
    serving: tokio::task::JoinHandle<()>,
    /// Where SIP over UDP is served.
    pub sip_udp: SocketAddr,
}

/// Finishes the recordings a crash cut short (see
/// [`chorus_recorder::repair_dir`]), before any new recording can start.
async fn repair_recordings(dir: std::path::PathBuf) {
    use chorus_recorder::Repair;
    let repairs = tokio::task::spawn_blocking(move || chorus_recorder::repair_dir(&dir)).await;
    for (path, result) in repairs.unwrap_or_default() {
        let path = path.display();
        match result {
            Ok(Repair::Repaired { bytes }) => tracing::warn!(
                %path,
                audio_bytes = bytes,
                "a recording cut short by a crash was repaired"
            ),
            Ok(Repair::Intact) => {
                tracing::warn!(%path, "a recording cut short by a crash was finished")
            }
            Ok(Repair::NotWav) => tracing::warn!(%path, "not a recording; left alone"),
            Err(error) => tracing::warn!(%path, %error, "could not finish a recording"),
        }
    }
}

impl Daemon {
    /// Binds the SIP listeners, the metrics endpoint and the APIs (REST and
    /// gRPC), starts the media workers, and serves.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        repair_recordings(config.recording.dir.clone()).await;
        let stop = CancellationToken::new();
        let signalling = Signalling::start(&config.sip, stop.clone()).await?;
        let vad = VadConfig {
            start_dbfs: config.media.vad_start_dbfs as f32,
            stop_dbfs: config.media.vad_stop_dbfs as f32,
            hangover_frames: (config.media.vad_hangover_ms / 20).max(1),
            ..VadConfig::default()
        };
        let rate = config.media.sample_rate.hz();
        let settings = RoomSettings {
            sample_rate: rate,
            vad,
            send_silence: config.media.send_silence,
        };
        let media = MediaPlane::start(
            config.media.workers,
            settings,
            config.sip.udp_listen.ip(),
            config.rtp.port_min,
            config.rtp.port_max,
        )?;
        let sip_udp = signalling.udp_addr();
        let metrics_listener = listen(config.metrics.listen, "metrics").await?;
        let rest_listener = listen(config.api.rest_listen, "the REST API").await?;
        let grpc_listener = listen(config.api.grpc_listen, "the gRPC API").await?;
        let api_tls = match &config.api.tls {
            Some(files) => Some(Arc::new(ApiTls::load(files)?)),
            None => None,
        };
        let http = http_client(&config.sip.user_agent)?;
        let player = Player::new(http.clone(), rate, config.speech.command.clone());
        let metrics = Arc::new(Metrics::default());
        let events = EventBus::default();
        let mpcs = MpcRegistry::new(MpcServices {
            media: media.clone(),
            player: player.clone(),
            http: http.clone(),
            metrics: metrics.clone(),
            recording: config.recording.clone(),
            wall_clock,
            events: events.clone(),
        });
        let calls = CallTable::default();
        let services = CallServices::new(
            media.clone(),
            mpcs.clone(),
            player.clone(),
            http,
            CallSettings {
                inbound: config.inbound.clone(),
                advertised_ip: config.sip.advertised_ip(),
                rtp_timeouts: RtpTimeouts {
                    active: config.media.rtp_timeout,
                    hold: config.media.rtp_hold_timeout,
                },
                confirm_key_timeout: config.testing.confirm_key_timeout,
            },
            metrics.clone(),
            events,
        );
        let services = Arc::new(services);
        let dialer = signalling.dialer();
        let routing = Routing {
            registrar: signalling.registrar(),
            sip_addr: SocketAddr::new(config.sip.advertised_ip(), sip_udp.port()),
            trunks: Trunks::new(&config.trunks, config.sip.dial_queue as usize),
        };
        routing.trunks.start_pings(&dialer, &stop);
        let outbound = OutboundCalls::new(
            services.clone(),
            dialer,
            calls.clone(),
            routing,
            (config.sip.max_cps, config.sip.dial_queue as usize),
        );
        // Logged before serving starts: once a request is answered, the
        // line is in the log (tests read it right after OPTIONS succeeds).
        tracing::info!(
            udp = %sip_udp,
            tcp = ?config.sip.tcp_listen,
            advertised = %config.sip.advertised_ip(),
            workers = config.media.workers,
            sample_rate = rate,
            answer_url = config.inbound.answer_url.as_deref().unwrap_or("(built-in: sip:<room>@host joins MPC <room>)"),
            metrics = ?config.metrics.listen,
            rest_api = ?config.api.rest_listen,
            grpc_api = ?config.api.grpc_listen,
            recordings = %config.recording.dir.display(),
            "chorusd ready"
        );
        if let Some(listener) = metrics_listener {
            let (calls, mpcs, liveness) = (calls.clone(), mpcs.clone(), media.liveness());
            let sip = signalling.metrics();
            let render = move || {
                let mut text = metrics.render(calls.len(), mpcs.len());
                liveness.render(&mut text);
                sip.render(&mut text);
                text
            };
            tokio::spawn(metrics::serve(listener, render, stop.clone()));
        }
        if let Some(listener) = rest_listener {
            warn_if_closed(&config.api, "REST");
            let ops = Operations::new(mpcs.clone(), player.clone(), outbound.clone());
            let (api, stop) = (config.api.clone(), stop.clone());
            let tls = api_tls.clone();
            tokio::spawn(async move { rest::serve(listener, ops, &api, tls, stop).await });
        }
        if let Some(listener) = grpc_listener {
            warn_if_closed(&config.api, "gRPC");
            let ops = Operations::new(mpcs.clone(), player.clone(), outbound.clone());
            let (api, stop) = (config.api.clone(), stop.clone());
            let tls = api_tls.clone();
            tokio::spawn(async move { grpc::serve(listener, ops, &api, tls, stop).await });
        }
        let admission = signalling.admission();
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(call::serve(incoming, services, calls.clone()));
        let serving = tokio::spawn(signalling.serve(incoming_tx));
        Ok(Self {
            calls,
            mpcs,
            media,
            admission,
            stop,
            serving,
            sip_udp,
        })
    }

    /// Whether the media workers are still going round their loops (for
    /// systemd's watchdog).
    pub fn liveness(&self) -> Liveness {
        self.media.liveness()
    }

    /// Stops gracefully: refuse new calls, hang up live ones (BYE), wait for
    /// them up to a few seconds, let the MPCs deliver their last callbacks,
    /// then stop signalling and media.
    pub async fn stop(self) {
        self.admission.refuse();
        tracing::info!(live_calls = self.calls.len(), "stopping: hanging up calls");
        self.calls.hang_up_all();
        let deadline = tokio::time::Instant::now() + DRAIN;
        while !self.calls.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !self.calls.is_empty() {
            tracing::warn!(
                left = self.calls.len(),
                "calls still up after the drain period"
            );
        }
        // The calls' last events (exits, MPCEnd, finished recordings) are
        // still being posted.
        if !self.mpcs.drain(CALLBACK_DRAIN).await {
            tracing::warn!("callbacks still pending at exit are dropped");
        }
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.serving).await;
        self.media.shutdown();
        tracing::info!("chorusd stopped");
    }
}

/// Says at start, when no token is set, that the `which` API refuses every
/// request and how to open it.
fn warn_if_closed(api: &chorus_config::ApiConfig, which: &str) {
    if api.auth_token.is_none() {
        tracing::warn!(
            "the {which} API refuses every request until a token is set: \
             api.auth_token in the config file or CHORUS_API__AUTH_TOKEN"
        );
    }
}

/// Binds an HTTP listener for `what` if it is configured: before chorusd
/// reports ready, so a taken port is a start-up error.
async fn listen(
    addr: Option<SocketAddr>,
    what: &str,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let Some(addr) = addr else { return Ok(None) };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for {what} on {addr}"))?;
    Ok(Some(listener))
}
