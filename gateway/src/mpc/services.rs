//! What MPC tasks use of the rest of chorus.

use std::sync::Arc;

use chorus_config::RecordingConfig;
use chorus_mpc::Timestamp;

use crate::media::MediaPlane;
use crate::metrics::Metrics;
use crate::player::Player;

use super::watch::EventBus;

/// What the MPC tasks use: the media plane for their rooms, the player for
/// their sounds, HTTP for their callbacks, counters, where recordings go,
/// and the wall clock (read once per MPC: its deadlines run on the
/// monotonic clock).
pub struct MpcServices {
    /// The media workers.
    pub media: Arc<MediaPlane>,
    /// Loads music and sound documents.
    pub player: Player,
    /// Posts callbacks.
    pub http: reqwest::Client,
    /// Counts events, callbacks, sounds and recordings.
    pub metrics: Arc<Metrics>,
    /// `[recording]`.
    pub recording: RecordingConfig,
    /// The wall clock: [`wall_clock`](super::wall_clock), or a test's.
    pub wall_clock: fn() -> Timestamp,
    /// Where every event is published for live watchers.
    pub events: EventBus,
}
