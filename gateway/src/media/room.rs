//! One MPC's media on a worker: its legs, its mixer room, and the sounds the
//! room plays itself (wait music, hold music, enter/exit sounds; the `sounds`
//! module), built in or decoded from the application's URLs (see
//! [`crate::player`]).
//!
//! A tick reads every leg, feeds the mixer, mixes, then encodes each distinct
//! mix once per codec (listeners in the same [`MixGroup`] share the payload)
//! and hands it to each leg. The room only ever sees 20 ms frames: each leg
//! turns its peer's packets (10 to 120 ms) into frames and frames into
//! packets of its peer's ptime (see [`super::leg`]). A member may also
//! hear a sound of its own on top of its mix ([`private`]); its mix is then
//! encoded for it alone. A member's track recordings are fed its voice and
//! exactly what it heard (see [`tracks`]). Nothing here allocates: buffers
//! are sized when the room and its legs are created.

pub mod private;
mod sleep;
mod sounds;
pub mod tracks;

use chorus_media::g711::Law;
use chorus_mixer::music::Tune;
use chorus_mixer::vad::{Vad, VadConfig, VadEvent};
use chorus_mixer::{ChannelId, MixGroup, Participant, Room, RoomConfig};
use chorus_mpc::Track;
use chorus_recorder::Tap;

use super::leg::{FRAME_8K, Leg, LegId};
use super::readiness::{ReadySet, Slot};
use super::resample::{downsample_2x, upsample_2x};
use private::PrivateSound;
pub use sleep::Doze;
use sounds::{BridgePlayer, MusicSource};
pub use sounds::{Music, MusicSlot, RetiredMusic, RoomMusic};
use tracks::MemberTracks;

/// Largest room: Plivo's `maxParticipants` ceiling.
pub const ROOM_CAPACITY: usize = 10;
/// Bridge sounds that can overlap (people joining at once).
const MAX_BRIDGE_SOUNDS: usize = 4;
/// Distinct (mix, codec) payloads cached per tick; more fall back to
/// encoding per listener.
const ENCODE_CACHE: usize = 2 * ROOM_CAPACITY;

/// How every room of a media plane mixes and sends.
#[derive(Debug, Clone, Copy)]
pub struct RoomSettings {
    /// The mixing rate: 8000 or 16000.
    pub sample_rate: u32,
    /// When members start and stop speaking.
    pub vad: VadConfig,
    /// Send a listener every packet even while it hears digital silence
    /// (for peers that end calls on a gap in RTP); otherwise such frames
    /// go unsent but for one every two seconds (see [`Leg::skip_silence`]).
    pub send_silence: bool,
}

impl Default for RoomSettings {
    fn default() -> Self {
        Self {
            sample_rate: 8000,
            vad: VadConfig::default(),
            send_silence: false,
        }
    }
}

/// One distinct mix encoded for one codec this tick (group None: unused).
type EncodedMix = (Option<MixGroup>, Law, [u8; FRAME_8K]);

/// What happened on a leg during a tick, reported to the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegSignal {
    /// An RFC 4733 digit.
    Digit(char),
    /// Voice activity started (true) or stopped (false).
    Speaking(bool),
    /// The member's own sound with this token played to its end.
    AudioEnded(u64),
}

/// A participant's media inside the room.
pub struct Member {
    /// The leg's id.
    pub leg_id: LegId,
    /// Its mixer channel.
    pub channel: ChannelId,
    /// Its RTP leg.
    pub leg: Box<Leg>,
    /// The leg's epoll slot, kept here so that a sleeping room checks it
    /// without touching the leg.
    slot: Option<Slot>,
    vad: Vad,
    /// Last input sample, for smooth 8→16 kHz interpolation across frames.
    last_sample: i16,
    /// A sound only this member hears.
    private: Option<PrivateSound>,
    /// Its participant track recordings.
    tracks: MemberTracks,
}

/// One MPC's media on this worker.
pub struct MediaRoom {
    mixer: Room,
    members: Vec<Member>,
    wait_music: MusicSource,
    agent_hold_music: MusicSource,
    customer_hold_music: MusicSource,
    bridge: [Option<BridgePlayer>; MAX_BRIDGE_SOUNDS],
    /// The MPC recording, fed the recording mix every tick.
    recording: Option<Tap>,
    /// The recording is paused: ticks go by without reaching its file.
    recording_paused: bool,
    sample_rate: u32,
    vad: VadConfig,
    send_silence: bool,
    pcm: Box<[i16]>,
    encoded: Box<[EncodedMix]>,
    encoded_len: usize,
    /// A member's own frame (its group mix plus its private sound) at the
    /// room's rate, and that frame encoded.
    own_pcm: Box<[i16]>,
    own_payload: [u8; FRAME_8K],
    /// The last tick left nothing to do until something happens (see
    /// [`sleep`]).
    quiet: bool,
}

impl MediaRoom {
    /// An empty room mixing and sending as `settings` say and playing
    /// `music`.
    pub fn new(settings: &RoomSettings, music: &RoomMusic) -> Self {
        let RoomSettings {
            sample_rate,
            vad,
            send_silence,
        } = *settings;
        let frame = (sample_rate / 50) as usize;
        let mixer = Room::new(RoomConfig {
            frame_samples: frame,
            capacity: ROOM_CAPACITY,
        });
        let placeholder = (None, Law::Ulaw, [0u8; FRAME_8K]);
        Self {
            mixer,
            members: Vec::with_capacity(ROOM_CAPACITY),
            wait_music: MusicSource::new(&music.wait, Tune::Wait, sample_rate),
            agent_hold_music: MusicSource::new(&music.agent_hold, Tune::Hold, sample_rate),
            customer_hold_music: MusicSource::new(&music.customer_hold, Tune::Hold, sample_rate),
            bridge: Default::default(),
            recording: None,
            recording_paused: false,
            sample_rate,
            vad,
            send_silence,
            pcm: vec![0; FRAME_8K].into_boxed_slice(),
            encoded: vec![placeholder; ENCODE_CACHE].into_boxed_slice(),
            encoded_len: 0,
            own_pcm: vec![0; frame].into_boxed_slice(),
            own_payload: [0; FRAME_8K],
            quiet: false,
        }
    }

    /// Adds a leg; gives it back if the room is full.
    pub fn join(
        &mut self,
        leg_id: LegId,
        leg: Box<Leg>,
        participant: Participant,
    ) -> Result<(), Box<Leg>> {
        let Ok(channel) = self.mixer.join(participant) else {
            return Err(leg);
        };
        self.members.push(Member {
            leg_id,
            channel,
            slot: leg.slot(),
            leg,
            vad: Vad::new(self.vad),
            last_sample: 0,
            private: None,
            tracks: MemberTracks::default(),
        });
        Ok(())
    }

    /// Removes a leg and hands it back.
    pub fn leave(&mut self, leg_id: LegId) -> Option<Box<Leg>> {
        let index = self.members.iter().position(|m| m.leg_id == leg_id)?;
        let member = self.members.swap_remove(index);
        self.mixer.leave(member.channel);
        Some(member.leg)
    }

    /// Whether the room holds this leg.
    pub fn has(&self, leg_id: LegId) -> bool {
        self.members.iter().any(|m| m.leg_id == leg_id)
    }

    /// The member owning a leg.
    pub fn member_mut(&mut self, leg_id: LegId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.leg_id == leg_id)
    }

    /// Changes a participant's role, mute, hold or coach mode.
    pub fn update(&mut self, leg_id: LegId, participant: Participant) {
        if let Some(channel) = self
            .members
            .iter()
            .find(|m| m.leg_id == leg_id)
            .map(|m| m.channel)
        {
            self.mixer.update(channel, participant);
        }
    }

    /// Starts the MPC: participants stop hearing wait music and hear each other.
    pub fn start(&mut self) {
        self.mixer.set_started(true);
    }

    /// Feeds the recording mix (every audible talker, coaching supervisors
    /// included, and bridge sounds) to `tap` from the next tick; gives back
    /// the tap it replaces.
    pub fn record(&mut self, tap: Tap) -> Option<Tap> {
        self.recording.replace(tap)
    }

    /// Stops feeding the recording; gives its tap back (to be dropped off
    /// the media thread, which ends the recording).
    pub fn stop_recording(&mut self) -> Option<Tap> {
        self.recording_paused = false;
        self.recording.take()
    }

    /// Pauses (true) or resumes feeding the recording: paused time is left
    /// out of the file.
    pub fn pause_recording(&mut self, paused: bool) {
        self.recording_paused = paused;
    }

    /// True when nobody is left.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Ids of every leg in the room.
    pub fn leg_ids(&self) -> impl Iterator<Item = LegId> + '_ {
        self.members.iter().map(|m| m.leg_id)
    }

    /// One 20 ms step; legs read their sockets if `ready` says something
    /// arrived (see [`super::readiness`]), and `signal` receives digits and
    /// speech changes. Returns how many datagrams from strangers the legs
    /// dropped (for the worker's live count).
    pub fn tick(
        &mut self,
        now_ms: u64,
        ready: &mut ReadySet,
        mut signal: impl FnMut(LegId, LegSignal),
    ) -> u64 {
        let wide = self.mixer.frame_samples() != FRAME_8K;
        let mut foreign = 0;
        for m in &mut self.members {
            let leg_id = m.leg_id;
            m.leg.receive(now_ms, ready, |digit| {
                signal(leg_id, LegSignal::Digit(digit));
            });
            foreign += m.leg.take_foreign();
            let heard = m.leg.play_out(now_ms, &mut self.pcm);
            let change = if heard {
                m.vad.process(&self.pcm)
            } else {
                m.vad.silent()
            };
            if let Some(event) = change {
                signal(leg_id, LegSignal::Speaking(event == VadEvent::SpeakStart));
            }
            if !heard {
                self.mixer.set_silent(m.channel);
            } else if wide {
                upsample_2x(
                    &self.pcm,
                    &mut m.last_sample,
                    self.mixer.input_mut(m.channel),
                );
            } else {
                self.mixer.input_mut(m.channel).copy_from_slice(&self.pcm);
            }
        }
        self.play_room_sounds();
        self.mixer.mix();
        if let Some(tap) = self.recording.as_mut().filter(|_| !self.recording_paused) {
            tap.push(self.mixer.recording_mix());
        }
        self.feed_inbound_tracks();
        let all_skipped = self.send_mixes(wide);
        self.report_private_ends(&mut signal);
        self.settle(all_skipped);
        foreign
    }

    /// Encodes each distinct mix once per codec and sends it to its
    /// listeners; a member with a sound of its own gets its own encode, and
    /// a member hearing digital silence usually no packet at all. True if
    /// every member's frame went unsent that way.
    fn send_mixes(&mut self, wide: bool) -> bool {
        self.encoded_len = 0;
        let mut all_skipped = true;
        for m in &mut self.members {
            let group_mix = self.mixer.output(m.channel);
            let own = m
                .private
                .as_mut()
                .and_then(|sound| sound.mix_over(group_mix, &mut self.own_pcm));
            // What this member hears this tick, at the room's rate: its
            // group's mix, or its own frame while its sound plays. Its
            // outbound track records exactly that.
            let heard = own.unwrap_or(group_mix);
            m.tracks.feed(Track::Outbound, heard);
            // Nobody to hear (alone, or everyone muted or silent): no packet,
            // and nothing to encode.
            if !self.send_silence && is_digital_silence(heard) && m.leg.skip_silence() {
                continue;
            }
            all_skipped = false;
            let law = m.leg.law();
            if own.is_some() {
                encode_heard(heard, wide, &mut self.pcm, law, &mut self.own_payload);
                m.leg.send(&self.own_payload);
                continue;
            }
            let group = self.mixer.output_group(m.channel);
            let cached = self.encoded[..self.encoded_len]
                .iter()
                .position(|(g, l, _)| *g == Some(group) && *l == law);
            let index = match cached {
                Some(i) => i,
                None => {
                    let i = self.encoded_len.min(ENCODE_CACHE - 1);
                    let slot = &mut self.encoded[i];
                    encode_heard(heard, wide, &mut self.pcm, law, &mut slot.2);
                    slot.0 = Some(group);
                    slot.1 = law;
                    self.encoded_len = (i + 1).min(ENCODE_CACHE);
                    i
                }
            };
            m.leg.send(&self.encoded[index].2);
        }
        all_skipped
    }
}

/// True if every sample is zero: what a mix of nobody is, as opposed to a
/// quiet talker's noise floor.
fn is_digital_silence(frame: &[i16]) -> bool {
    // OR-folded rather than `all`, so that it vectorises: a frame is a few
    // hundred samples and most frames are not silent.
    frame.iter().fold(0u16, |acc, &s| acc | s as u16) == 0
}

/// Encodes a heard frame (at the room's rate; `wide`: 16 kHz, brought down
/// to 8 kHz in `scratch` first) for a leg's codec.
fn encode_heard(heard: &[i16], wide: bool, scratch: &mut [i16], law: Law, out: &mut [u8]) {
    let pcm: &[i16] = if wide {
        downsample_2x(heard, scratch);
        scratch
    } else {
        heard
    };
    law.encode(pcm, out);
}
