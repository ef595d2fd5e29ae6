//! What calls use of the rest of chorus.

use std::net::IpAddr;
use std::sync::Arc;

use chorus_config::InboundConfig;

use crate::media::MediaPlane;
use crate::metrics::Metrics;
use crate::mpc::{EventBus, MpcRegistry};
use crate::player::Player;

/// What a call uses: the media plane for its leg, the MPCs it joins, the
/// player for `<Play>`, HTTP for its documents, its settings, counters,
/// and the event bus its progress goes to.
pub struct CallServices {
    pub(super) media: Arc<MediaPlane>,
    pub(super) mpcs: MpcRegistry,
    pub(super) player: Player,
    pub(super) http: reqwest::Client,
    pub(super) settings: CallSettings,
    pub(super) metrics: Arc<Metrics>,
    pub(super) events: EventBus,
}

/// What the configuration says about calls.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// `[inbound]`: answer URL, method, timeout.
    pub inbound: InboundConfig,
    /// The address our SDP advertises.
    pub advertised_ip: IpAddr,
    /// How long an answered call may hear nothing.
    pub rtp_timeouts: RtpTimeouts,
    /// How long a dialled participant has to press its `confirm_key`
    /// (`testing.confirm_key_timeout_ms`; Plivo's 30 s).
    pub confirm_key_timeout: std::time::Duration,
}

/// `media.rtp_timeout` and `media.rtp_hold_timeout`: how long an answered
/// call may hear nothing from its peer; zero turns one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpTimeouts {
    /// While both directions flow.
    pub active: std::time::Duration,
    /// While on hold or inactive.
    pub hold: std::time::Duration,
}

impl CallServices {
    /// What calls use, as the daemon built it.
    pub fn new(
        media: Arc<MediaPlane>,
        mpcs: MpcRegistry,
        player: Player,
        http: reqwest::Client,
        settings: CallSettings,
        metrics: Arc<Metrics>,
        events: EventBus,
    ) -> Self {
        Self {
            media,
            mpcs,
            player,
            http,
            settings,
            metrics,
            events,
        }
    }
}
