//! `confirm_key` (Add Participant): before a call chorus placed may join,
//! its callee hears the prompt and must press the key; other keys are
//! ignored. The prompt plays once, in a room of the call's own (so nobody
//! in the MPC hears the callee yet).

use std::sync::Arc;
use std::time::Duration;

use chorus_mixer::clip::Clip;
use tokio_util::sync::CancellationToken;

use super::{CallDriver, End};
use crate::media::LegEvent;

/// How a confirmation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// The callee pressed the key.
    Confirmed,
    /// The limit passed first (Plivo's cause 9110).
    TimedOut,
    /// Given up from outside (another destination won the race).
    Withdrawn,
    /// The callee hung up (or its session expired) meanwhile.
    HungUp,
    /// chorusd is stopping.
    Stopping,
}

impl CallDriver {
    /// Plays `prompt` and waits up to `limit` for `key`, or until
    /// `withdraw` is cancelled.
    pub async fn confirm(
        &mut self,
        key: char,
        prompt: Arc<Clip>,
        limit: Duration,
        withdraw: &CancellationToken,
    ) -> Confirmation {
        let Some((room, mut events)) = self.room_of_one() else {
            return Confirmation::TimedOut;
        };
        let _ = self.services.media.play_bridge_clip(room.place(), prompt);
        tracing::info!(%key, limit_s = limit.as_secs_f32(), "waiting for the callee to confirm");
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        let outcome = loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(LegEvent::Digit(digit)) if digit == key => break Confirmation::Confirmed,
                    Some(LegEvent::Digit(digit)) => tracing::info!(%digit, "not the confirm key"),
                    Some(_) => {}
                    None => break Confirmation::TimedOut,
                },
                () = &mut deadline => break Confirmation::TimedOut,
                () = withdraw.cancelled() => break Confirmation::Withdrawn,
                event = self.call.next_event() => match self.on_dialog_event(event).await {
                    Ok(()) => {}
                    Err(End::Remote) => break Confirmation::HungUp,
                    Err(_) => break Confirmation::Stopping,
                },
                () = self.hang_up.cancelled() => break Confirmation::Stopping,
            }
        };
        self.out_of_room(&mut events).await;
        drop(room);
        tracing::info!(?outcome, "confirmation over");
        outcome
    }
}
