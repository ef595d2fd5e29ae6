//! `<Play>` in a call flow: the caller alone in a room of one, the clip on
//! its bridge.

use std::sync::Arc;
use std::time::Duration;

use chorus_mixer::Participant;
use chorus_mixer::clip::Clip;
use chorus_xml::SoundItem;
use tokio::sync::mpsc;

use super::{CallDriver, End, Media};
use crate::media::{Entrance, Leg, LegEvent, RoomHandle, RoomMusic};
use crate::player::Use;

impl CallDriver {
    /// `<Play>` or `<Speak>` (the call is answered): makes the clip (a
    /// file fetched and decoded, or text spoken) and plays it to the caller.
    pub(super) async fn say(&mut self, item: SoundItem) -> Result<(), End> {
        let player = self.services.player.clone();
        let clip = self
            .serve_until(async move { player.clip(&[item], Use::Call).await })
            .await?;
        self.play(clip).await
    }

    /// Plays `clip` to the caller alone (a room of one, the clip on its
    /// bridge) until it ends, or for ever if it loops; the leg comes back
    /// afterwards, also when the call ends meanwhile.
    pub(super) async fn play(&mut self, clip: Arc<Clip>) -> Result<(), End> {
        if clip.is_empty() {
            return Ok(());
        }
        let Some((room, mut events)) = self.room_of_one() else {
            return Ok(());
        };
        let media = self.services.media.clone();
        let _ = media.play_bridge_clip(room.place(), clip.clone());
        let rate = u64::from(self.services.player.sample_rate());
        // The clip starts within a tick of the join; one more tick of
        // margin and the tail is never cut.
        let length = Duration::from_millis(clip.len() as u64 * 1000 / rate + 40);
        let loops = clip.loops();
        tracing::info!(
            seconds = length.as_secs_f32(),
            loops,
            "playing to the caller"
        );
        let played = self
            .serve_until(async move {
                if loops {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(length).await;
            })
            .await;
        self.out_of_room(&mut events).await;
        played
    }

    /// Puts the idle leg alone in a room of its own (for a clip on its
    /// bridge, and its digits); `None` if the leg is not idle or the room
    /// cannot take it. The room closes when its handle drops, which must
    /// be after [`CallDriver::out_of_room`].
    pub(super) fn room_of_one(
        &mut self,
    ) -> Option<(RoomHandle, mpsc::UnboundedReceiver<LegEvent>)> {
        let Media::Idle(leg) = std::mem::replace(&mut self.media, Media::Gone) else {
            return None;
        };
        let media = self.services.media.clone();
        let room = media.open_room(&RoomMusic::default());
        let entrance = Entrance {
            participant: Participant::new(chorus_mixer::Role::Customer),
            start: true,
            sound: None,
        };
        match media.join(room.place(), self.leg_id, leg, entrance) {
            Ok(events) => Some((room, events)),
            Err(error) => {
                tracing::error!(%error, "could not put the call in a room of its own");
                None
            }
        }
    }

    /// Takes the leg back out of its room of one.
    pub(super) async fn out_of_room(&mut self, events: &mut mpsc::UnboundedReceiver<LegEvent>) {
        let _ = self.services.media.leave(self.leg_id, None);
        if let Some(leg) = leg_back(events).await {
            self.take_back(leg);
        }
    }
}

/// Waits (up to 2 s) for a leg taken out of its room to come back.
pub(super) async fn leg_back(events: &mut mpsc::UnboundedReceiver<LegEvent>) -> Option<Box<Leg>> {
    let wait = async {
        while let Some(event) = events.recv().await {
            if let LegEvent::Left(leg) = event {
                return Some(leg);
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(2), wait)
        .await
        .ok()
        .flatten()
}
