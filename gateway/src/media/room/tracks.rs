//! A member's track recordings on the media thread: up to two
//! [`Tap`]s, one per [`Track`], each fed one frame per tick while not
//! paused (paused ticks are left out of its file).
//!
//! The room feeds [`MemberTracks::feed`] the member's inbound frame (its
//! mixer input after the jitter buffer, silence while it sent nothing, so
//! file time is wall time) and its outbound frame (exactly what it was
//! sent), both at the room's rate. Control changes arrive as a
//! [`TrackChange`]; a tap that stops being fed is handed back (never
//! dropped here: dropping it ends the recording on the control plane).

use chorus_mpc::Track;
use chorus_recorder::Tap;

use super::MediaRoom;
use crate::media::leg::LegId;

/// A change to one of a member's tracks (see [`super::MediaRoom::change_track`]).
pub enum TrackChange {
    /// Feed this tap from the next tick (replacing, and handing back, any
    /// tap the track had).
    Start(Tap),
    /// Pause (true) or resume feeding the track.
    Pause(bool),
    /// Stop feeding it and hand its tap back.
    Stop,
}

impl TrackChange {
    /// The tap this change carries, when it cannot be applied (the member
    /// is gone): to be handed back.
    pub fn into_tap(self) -> Option<Tap> {
        match self {
            Self::Start(tap) => Some(tap),
            Self::Pause(_) | Self::Stop => None,
        }
    }
}

impl MediaRoom {
    /// Changes one of a member's track recordings; gives back a tap no
    /// longer fed (the member gone: the change's own), to be dropped off
    /// the media thread.
    pub fn change_track(
        &mut self,
        leg_id: LegId,
        track: Track,
        change: TrackChange,
    ) -> Option<Tap> {
        match self.members.iter_mut().find(|m| m.leg_id == leg_id) {
            Some(m) => m.tracks.change(track, change),
            None => change.into_tap(),
        }
    }

    /// Stops a member's track recordings (call it before [`Self::leave`]);
    /// their taps, to be dropped off the media thread.
    pub fn stop_tracks(&mut self, leg_id: LegId) -> [Option<Tap>; 2] {
        self.member_mut(leg_id)
            .map_or([None, None], |m| m.tracks.stop_all())
    }

    /// Feeds every member's inbound track its voice of this tick's mix
    /// (after the mix, before the next tick's input is written).
    pub(super) fn feed_inbound_tracks(&mut self) {
        for m in &mut self.members {
            m.tracks.feed(Track::Inbound, self.mixer.track(m.channel));
        }
    }
}

/// One track being fed.
struct Feed {
    tap: Tap,
    paused: bool,
}

/// A member's tracks, indexed by [`Track`].
#[derive(Default)]
pub struct MemberTracks([Option<Feed>; 2]);

impl MemberTracks {
    /// True if neither track is being recorded.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// Applies `change` to `track`; gives back a tap no longer fed.
    pub fn change(&mut self, track: Track, change: TrackChange) -> Option<Tap> {
        let slot = &mut self.0[track as usize];
        match change {
            TrackChange::Start(tap) => slot.replace(Feed { tap, paused: false }).map(|old| old.tap),
            TrackChange::Pause(paused) => {
                if let Some(feed) = slot {
                    feed.paused = paused;
                }
                None
            }
            TrackChange::Stop => slot.take().map(|feed| feed.tap),
        }
    }

    /// Hands `frame` to `track`'s tap unless it is paused or not recorded.
    pub fn feed(&mut self, track: Track, frame: &[i16]) {
        if let Some(feed) = &mut self.0[track as usize]
            && !feed.paused
        {
            feed.tap.push(frame);
        }
    }

    /// Stops both tracks (the member leaves); their taps, to be handed back.
    pub fn stop_all(&mut self) -> [Option<Tap>; 2] {
        [
            self.change(Track::Inbound, TrackChange::Stop),
            self.change(Track::Outbound, TrackChange::Stop),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use chorus_recorder::{Finished, Format};

    use super::*;

    /// A WAV recording in a fresh directory; its result comes on the receiver.
    fn tap(name: &str) -> (Tap, mpsc::Receiver<Finished>) {
        let dir = std::env::temp_dir().join(format!(
            "chorus-member-tracks-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let (tx, rx) = mpsc::channel();
        let tap = chorus_recorder::start(dir.join("t.wav"), Format::Wav, 8000, move |r| {
            let _ = tx.send(r.expect("written"));
        })
        .expect("started");
        (tap, rx)
    }

    #[test]
    fn each_track_gets_its_own_frames_and_paused_ticks_are_left_out() {
        let mut tracks = MemberTracks::default();
        let (inbound, inbound_done) = tap("in");
        let (outbound, outbound_done) = tap("out");
        assert!(
            tracks
                .change(Track::Inbound, TrackChange::Start(inbound))
                .is_none()
        );
        assert!(
            tracks
                .change(Track::Outbound, TrackChange::Start(outbound))
                .is_none()
        );
        for tick in 0..10 {
            if tick == 3 {
                tracks.change(Track::Outbound, TrackChange::Pause(true));
            }
            if tick == 7 {
                tracks.change(Track::Outbound, TrackChange::Pause(false));
            }
            tracks.feed(Track::Inbound, &[1; 160]);
            tracks.feed(Track::Outbound, &[2; 160]);
        }
        let [Some(i), Some(o)] = tracks.stop_all() else {
            panic!("both tracks were fed")
        };
        drop((i, o));
        assert!(tracks.stop_all().iter().all(Option::is_none), "stopped");
        assert_eq!(inbound_done.recv().unwrap().samples, 10 * 160);
        assert_eq!(
            outbound_done.recv().unwrap().samples,
            6 * 160,
            "4 paused ticks"
        );
    }

    #[test]
    fn a_stopped_or_replaced_tap_is_handed_back_and_an_unrecorded_track_ignores_frames() {
        let mut tracks = MemberTracks::default();
        tracks.feed(Track::Inbound, &[1; 160]);
        assert!(
            tracks
                .change(Track::Inbound, TrackChange::Pause(true))
                .is_none()
        );
        let (first, _first_done) = tap("first");
        let (second, _second_done) = tap("second");
        tracks.change(Track::Inbound, TrackChange::Start(first));
        assert!(
            tracks
                .change(Track::Inbound, TrackChange::Start(second))
                .is_some()
        );
        assert!(tracks.change(Track::Inbound, TrackChange::Stop).is_some());
        assert!(tracks.change(Track::Outbound, TrackChange::Stop).is_none());
    }
}
