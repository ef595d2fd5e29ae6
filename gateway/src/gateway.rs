//! The daemon's shared state and its life cycle: start everything, serve,
//! stop gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use chorus_config::Config;
use chorus_mixer::vad::VadConfig;
use rsipstack::dialog::dialog_layer::DialogLayer;
use tokio_util::sync::CancellationToken;

use crate::call::CallTable;
use crate::call::answer::http_client;
use crate::media::MediaPlane;
use crate::metrics::{self, Metrics};
use crate::mpc::MpcRegistry;
use crate::player::Player;
use crate::sip::Signalling;

/// What every call task shares.
pub struct Gateway {
    /// The validated configuration.
    pub config: Config,
    /// The media workers.
    pub media: Arc<MediaPlane>,
    /// Live MPCs.
    pub mpcs: MpcRegistry,
    /// HTTP client for answer URLs and callbacks.
    pub http: reqwest::Client,
    /// Fetches and decodes what calls and MPCs play.
    pub player: Player,
    /// Counters for `GET /metrics`.
    pub metrics: Arc<Metrics>,
    /// rsipstack's dialogs.
    pub dialogs: Arc<DialogLayer>,
    /// Live calls.
    pub calls: CallTable,
    /// False once a stop began: new INVITEs get 503.
    pub accepting: AtomicBool,
    /// The bound SIP UDP port (for Contact headers).
    pub udp_port: u16,
}

/// How long a graceful stop waits for calls to hang up.
const DRAIN: Duration = Duration::from_secs(5);

/// How long it then waits for the last status callbacks to be delivered
/// (the unit's TimeoutStopSec=15s covers both and the rest of the stop).
const CALLBACK_DRAIN: Duration = Duration::from_secs(3);

/// A started daemon: signalling and media are up.
pub struct Daemon {
    gateway: Arc<Gateway>,
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
    /// Binds the SIP listeners and starts the media workers.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        repair_recordings(config.recording.dir.clone()).await;
        let stop = CancellationToken::new();
        let signalling = Signalling::start(&config, stop.clone()).await?;
        let vad = VadConfig {
            start_dbfs: config.media.vad_start_dbfs as f32,
            stop_dbfs: config.media.vad_stop_dbfs as f32,
            hangover_frames: (config.media.vad_hangover_ms / 20).max(1),
            ..VadConfig::default()
        };
        let media = MediaPlane::start(
            config.media.workers,
            config.media.sample_rate.hz(),
            vad,
            config.sip.udp_listen.ip(),
            config.rtp.port_min,
            config.rtp.port_max,
        )?;
        let sip_udp = signalling.udp_addr;
        let metrics_listener = match config.metrics.listen {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for metrics on {addr}"))?,
            ),
            None => None,
        };
        let http = http_client(&config.sip.user_agent)?;
        let player = Player::new(
            http.clone(),
            config.media.sample_rate.hz(),
            config.speech.command.clone(),
        );
        let metrics = Arc::new(Metrics::default());
        let gateway = Arc::new(Gateway {
            mpcs: MpcRegistry::new(
                media.clone(),
                http.clone(),
                player.clone(),
                metrics.clone(),
                config.recording.clone(),
            ),
            player,
            metrics,
            http,
            media,
            dialogs: signalling.dialogs.clone(),
            calls: CallTable::default(),
            accepting: AtomicBool::new(true),
            udp_port: sip_udp.port(),
            config,
        });
        // Logged before serving starts: once a request is answered, the
        // line is in the log (tests read it right after OPTIONS succeeds).
        tracing::info!(
            udp = %sip_udp,
            tcp = ?gateway.config.sip.tcp_listen,
            advertised = %gateway.config.sip.advertised_ip(),
            workers = gateway.config.media.workers,
            sample_rate = gateway.config.media.sample_rate.hz(),
            answer_url = gateway.config.inbound.answer_url.as_deref().unwrap_or("(built-in: sip:<room>@host joins MPC <room>)"),
            metrics = ?gateway.config.metrics.listen,
            recordings = %gateway.config.recording.dir.display(),
            "chorusd ready"
        );
        if let Some(listener) = metrics_listener {
            tokio::spawn(metrics::serve(listener, gateway.clone(), stop.clone()));
        }
        let serving = tokio::spawn(signalling.serve(gateway.clone()));
        Ok(Self {
            gateway,
            stop,
            serving,
            sip_udp,
        })
    }

    /// Stops gracefully: refuse new calls, hang up live ones (BYE), wait for
    /// them up to a few seconds, then stop signalling and media.
    pub async fn stop(self) {
        let gw = &self.gateway;
        gw.accepting.store(false, Ordering::Relaxed);
        let live = gw.calls.len();
        tracing::info!(live_calls = live, "stopping: hanging up calls");
        gw.calls.hang_up_all();
        let deadline = tokio::time::Instant::now() + DRAIN;
        while !gw.calls.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !gw.calls.is_empty() {
            tracing::warn!(
                left = gw.calls.len(),
                "calls still up after the drain period"
            );
        }
        // The calls' last events (exits, MPCEnd, finished recordings) are
        // still being posted.
        if !gw.mpcs.drain_callbacks(CALLBACK_DRAIN).await {
            tracing::warn!("callbacks still pending at exit are dropped");
        }
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.serving).await;
        gw.media.shutdown();
        tracing::info!("chorusd stopped");
    }
}
