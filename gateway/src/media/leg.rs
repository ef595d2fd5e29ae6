//! One call's media: its RTP socket and everything between the wire and the
//! mixer (jitter buffer, G.711, loss concealment, RFC 4733, outgoing RTP).
//!
//! The room ticks in 20 ms frames; the peer may packetise differently
//! (10 to 120 ms). Incoming packets of any duration are played whole from
//! the jitter buffer into a small FIFO of decoded samples, from which each
//! tick takes one frame (a lost packet is concealed for its own duration).
//! Outgoing frames are gathered into packets of the peer's `a=ptime`
//! (capped by its `a=maxptime`), so one tick may send none, one or several
//! packets, and the RTP timestamp always advances by the audio sent. A
//! relayed RFC 4733 digit takes the place of whole packets.
//!
//! Each packet's arrival time is the kernel's receive time
//! (`SO_TIMESTAMPNS`, see [`chorus_media::jitter::arrival_ms`]), brought
//! onto the tick's clock, not the time of the tick that read it: a tick
//! reads up to 20 ms of arrivals at once, and stamping them all with its
//! own time would make the jitter buffer see lateness that the network
//! never had.
//!
//! Datagrams are judged by their source before anything else (see
//! [`source`]): the SDP's address always, a peer behind NAT after a
//! probation inside a short learning window, nobody else. A stranger's
//! datagram costs one read and an address comparison, and every tick that
//! finds the socket readable (see [`super::readiness`]) reads it until it
//! is empty (up to [`MAX_DATAGRAMS_PER_READ`]), so a flood aimed at the
//! port cannot push the peer's own packets out of the kernel's buffer.
//!
//! A [`Leg`] is built on the control plane (where allocation is fine), moved
//! into a media worker through the command ring, driven there once per tick
//! without allocating, and moved back to the control plane to be dropped,
//! which closes its socket and frees its port. While no room holds it, its
//! call drains it ([`Leg::drain`]); either way every datagram from the peer
//! bumps its [`LegActivity`], which the call watches for the RTP timeout.

mod counters;
pub mod source;
mod stamped;
#[cfg(test)]
mod tests;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chorus_media::dtmf::{DtmfReceiver, DtmfSender};
use chorus_media::g711::Law;
use chorus_media::jitter::{JitterBuffer, JitterConfig, JitterStats, Playout, arrival_ms};
use chorus_media::plc::Concealer;
use chorus_media::ptime::{
    MAX_PTIME_MS, MIN_PTIME_MS, Packetizer, SampleFifo, samples_8k, start_padding,
};
use chorus_media::rtp::{RtpError, RtpPacket, RtpWriter};
use chorus_media::sdp::{Direction, Negotiated};
pub use counters::{LegActivity, LegCounters};
use source::{Admission, SourceGuard};
use stamped::StampedSocket;

use super::readiness::{Readiness, ReadySet, Slot};

/// Identifies a leg across the control and media planes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

impl std::fmt::Display for LegId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// What the negotiated session lets the leg do, from our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegMode {
    /// We send audio to the peer.
    pub send: bool,
    /// We take audio from the peer into the mix.
    pub receive: bool,
}

impl LegMode {
    /// Our side of a negotiated direction.
    pub fn from_local(direction: Direction) -> Self {
        Self {
            send: matches!(direction, Direction::SendRecv | Direction::SendOnly),
            receive: matches!(direction, Direction::SendRecv | Direction::RecvOnly),
        }
    }

    /// On hold or inactive: not both directions flow, so the peer may
    /// rightly send nothing.
    pub fn on_hold(self) -> bool {
        !(self.send && self.receive)
    }
}

/// Datagrams one read of a leg's socket takes at most. A peer sends one or
/// two per tick; the socket is read until empty so that a flood from
/// elsewhere cannot fill the kernel's buffer and push the peer's packets
/// out. Bounded so that a socket that never empties cannot hold the worker
/// (and every other room on it): 2048 is eight times what a default
/// 208 KiB receive buffer holds of small datagrams (about 256), so only a
/// flood of more than ~100 k datagrams a second reaches it, and reading
/// that many costs a few milliseconds of the 20 ms tick.
pub const MAX_DATAGRAMS_PER_READ: usize = 2048;

/// Largest datagram we read; anything longer is truncated and fails to parse.
const RECV_BUFFER: usize = 1500;
/// The largest packet we take or send: 120 ms of G.711.
const MAX_PACKET: usize = samples_8k(MAX_PTIME_MS);
/// Payload bytes a leg's jitter buffer holds: a second of G.711, whatever
/// the packet time (32 slots of 20 ms need 5,120; 120 ms packets fit eight).
const JITTER_STORE: usize = 8000;
/// RTP header (12) + the largest packet.
const SEND_BUFFER: usize = 12 + MAX_PACKET;
/// Jitter buffer pops per tick at most: two for 10 ms packets; more only
/// if a peer sends empty payloads, which must not spin the tick.
const MAX_POPS_PER_TICK: usize = 8;

/// The media of one call.
pub struct Leg {
    socket: StampedSocket,
    law: Law,
    payload_type: u8,
    telephone_event: Option<u8>,
    /// Which sources we take datagrams from, and where we send.
    sources: SourceGuard,
    /// Foreign datagrams not yet reported to the worker's live counter
    /// (see [`Leg::take_foreign`]).
    unreported_foreign: u64,
    activity: LegActivity,
    mode: LegMode,
    jitter: JitterBuffer,
    /// Decoded audio of played packets waiting for the next ticks.
    heard: SampleFifo,
    /// The last tick played something: the next packet continues a
    /// stream rather than starting one.
    playing: bool,
    concealer: Concealer,
    dtmf: DtmfReceiver,
    /// Digits relayed to this peer, sent in place of audio frames.
    dtmf_out: DtmfSender,
    writer: RtpWriter,
    /// Encoded frames waiting to fill a packet of the peer's ptime.
    outgoing: Packetizer,
    /// The next packet starts a talkspurt (the stream's first, or the first
    /// after frames of silence went unsent): its marker bit is set.
    marker_next: bool,
    /// Frames of silence not sent since the last packet (see
    /// [`Leg::skip_silence`]).
    unsent_silence: u32,
    /// The socket's slot in its worker's epoll while a room there holds
    /// the leg (see [`super::readiness`]); without one it is read every tick.
    watched: Option<Slot>,
    counters: LegCounters,
    recv_buf: Box<[u8]>,
    send_buf: Box<[u8]>,
}

impl Leg {
    /// A leg on `socket` (bound by the port pool) for a negotiated session.
    /// `ssrc` and `first_sequence` should be random (RFC 3550 §5.1).
    pub fn new(socket: UdpSocket, negotiated: &Negotiated, ssrc: u32, first_sequence: u16) -> Self {
        Self {
            socket: StampedSocket::new(socket),
            law: negotiated.law,
            payload_type: negotiated.payload_type,
            telephone_event: negotiated.telephone_event,
            sources: SourceGuard::new(usable_remote(negotiated), Instant::now()),
            unreported_foreign: 0,
            activity: LegActivity::default(),
            mode: LegMode::from_local(negotiated.local_direction),
            jitter: JitterBuffer::new(JitterConfig {
                max_payload: MAX_PACKET,
                store_bytes: JITTER_STORE,
                // The room pops on its 20 ms tick, whose phase against the
                // peer's packets is arbitrary: with one packet of depth, a
                // sub-millisecond wobble of arrivals across a tick boundary
                // (below what the estimator counts as lateness) costs a
                // concealed frame. A second packet of margin is the price
                // of never concealing on a calm network.
                min_delay_frames: MIN_DELAY_FRAMES,
                ..JitterConfig::default()
            }),
            // A tick's frame short of full, a start's padding, and the
            // largest packet.
            heard: SampleFifo::new(2 * FRAME_8K + MAX_PACKET),
            playing: false,
            concealer: Concealer::new(FRAME_8K),
            dtmf: DtmfReceiver::new(8000),
            dtmf_out: DtmfSender::default(),
            writer: RtpWriter::new(ssrc, first_sequence, ssrc.rotate_left(7)),
            outgoing: Packetizer::new(MAX_PACKET, FRAME_8K, packet_len(negotiated)),
            marker_next: true,
            // So that the first frame goes out even if it is silence: the
            // peer sees us at once.
            unsent_silence: SILENCE_KEEPALIVE_FRAMES - 1,
            watched: None,
            counters: LegCounters::default(),
            recv_buf: vec![0; RECV_BUFFER].into_boxed_slice(),
            send_buf: vec![0; SEND_BUFFER].into_boxed_slice(),
        }
    }

    /// Applies a renegotiated session (re-INVITE): new direction, possibly a
    /// new address (which opens a new learning window, see [`source`]) or
    /// codec. The outgoing SSRC, sequence and timestamp stay continuous.
    pub fn renegotiate(&mut self, negotiated: &Negotiated) {
        if negotiated.law != self.law {
            // Those bytes are in the old law: drop them, keeping the clock.
            self.writer.skip(self.outgoing.len() as u32);
            self.outgoing.clear();
        }
        self.outgoing.set_packet_len(packet_len(negotiated));
        self.law = negotiated.law;
        self.payload_type = negotiated.payload_type;
        self.telephone_event = negotiated.telephone_event;
        self.mode = LegMode::from_local(negotiated.local_direction);
        self.sources
            .renegotiate(usable_remote(negotiated), Instant::now());
    }

    /// The counters so far.
    pub fn counters(&self) -> LegCounters {
        self.counters
    }

    /// The leg's activity counter (a clone of the shared handle).
    pub fn activity(&self) -> LegActivity {
        self.activity.clone()
    }

    /// True while the session is on hold or inactive (our negotiated local
    /// direction is not sendrecv): the call then uses the longer hold timeout.
    pub fn on_hold(&self) -> bool {
        self.mode.on_hold()
    }

    /// Foreign datagrams dropped since the last call (counted in
    /// [`LegCounters::foreign`] too): the media worker adds them to its
    /// live counter after each tick.
    pub fn take_foreign(&mut self) -> u64 {
        std::mem::take(&mut self.unreported_foreign)
    }

    /// For a leg not in any room (held by its call task): reads and discards
    /// every datagram waiting on its socket, applying the same source rules and
    /// counting activity. Never blocks.
    pub fn drain(&mut self) {
        let _ = self.read_socket(None, &mut |_| {});
    }

    /// What the jitter buffer has seen of the peer's stream: its counters,
    /// interarrival jitter and target delay.
    pub fn jitter_stats(&self) -> JitterStats {
        self.jitter.stats()
    }

    /// Starts reading the socket only when `readiness` says something
    /// arrived (the worker does this as a room there takes the leg).
    pub fn watch(&mut self, readiness: &mut Readiness) {
        if self.watched.is_none() {
            self.watched = readiness.watch(self.socket.socket());
        }
    }

    /// Stops that, before the leg leaves its worker.
    pub fn unwatch(&mut self, readiness: &mut Readiness) {
        if let Some(slot) = self.watched.take() {
            readiness.unwatch(slot, self.socket.socket());
        }
    }

    /// Reads every datagram waiting on the socket into the jitter buffer,
    /// each at its kernel receive time brought onto `now_ms`'s clock (the
    /// tick's), and reports RFC 4733 digits through `on_digit`: on their
    /// end packets, or once a digit whose end packets were lost has gone
    /// quiet (see [`chorus_media::dtmf::EVENT_SILENCE_MS`]). A watched leg
    /// reads only when `ready` has its slot marked (an unwatched one, every
    /// time). Never blocks.
    pub fn receive(&mut self, now_ms: u64, ready: &mut ReadySet, mut on_digit: impl FnMut(char)) {
        let due = self.watched.is_none_or(|slot| ready.take(slot));
        if due && !self.read_socket(Some(now_ms), &mut on_digit) {
            // Stopped short of empty: the kernel will not report what is
            // left (edge-triggered), so the next tick reads on regardless.
            if let Some(slot) = self.watched {
                ready.mark(slot);
            }
        }
        if let Some(event) = self.dtmf.poll(now_ms) {
            on_digit(event.digit);
        }
    }

    /// Reads the socket until it is empty (see [`MAX_DATAGRAMS_PER_READ`]);
    /// false if it stopped at that bound instead. With `now_ms` (the tick's
    /// clock) the peer's packets go on to the jitter buffer and digits to
    /// `on_digit`; without, they are only counted (a drain).
    fn read_socket(&mut self, now_ms: Option<u64>, on_digit: &mut impl FnMut(char)) -> bool {
        // The kernel stamps datagrams on the wall clock: read it once, as
        // close to `now_ms` as we can, and a datagram's age on it is how
        // long before `now_ms` it arrived (one vDSO read, no syscall).
        let wall_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let now = Instant::now();
        for _ in 0..MAX_DATAGRAMS_PER_READ {
            let received = match self.socket.recv(&mut self.recv_buf) {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                // ICMP port-unreachable from a peer that went away surfaces
                // here on Linux; it says nothing about our socket.
                Err(_) => continue,
            };
            let datagram = &self.recv_buf[..received.len];
            // The source first: a stranger's datagram is dropped before
            // it is parsed.
            if self.sources.admit(now, received.source, datagram) == Admission::Foreign {
                self.counters.foreign += 1;
                self.unreported_foreign += 1;
                continue;
            }
            let packet = match RtpPacket::parse(datagram) {
                Ok(p) => p,
                Err(RtpError::Rtcp { .. }) => {
                    self.counters.rtcp += 1;
                    self.activity.bump();
                    continue;
                }
                Err(_) => {
                    self.counters.malformed += 1;
                    continue;
                }
            };
            self.activity.bump();
            self.counters.received += 1;
            let Some(now_ms) = now_ms else { continue };
            let arrived_ms = arrival_ms(now_ms, wall_now, received.stamp);
            if Some(packet.payload_type) == self.telephone_event {
                if let Some(event) = self.dtmf.on_packet(arrived_ms, &packet) {
                    on_digit(event.digit);
                }
            } else if decoder_law(packet.payload_type, self.payload_type, self.law).is_some() {
                if self.mode.receive {
                    self.jitter.push(arrived_ms, &packet);
                }
            } else {
                self.counters.unknown_payload += 1;
            }
        }
        false
    }

    /// Produces this tick's 8 kHz frame of the peer's voice into `pcm`.
    /// Returns false when the peer is silent (nothing buffered).
    pub fn play_out(&mut self, now_ms: u64, pcm: &mut [i16]) -> bool {
        let (negotiated_pt, negotiated_law) = (self.payload_type, self.law);
        for _ in 0..MAX_POPS_PER_TICK {
            if self.heard.len() >= pcm.len() {
                break;
            }
            match self.jitter.pop(now_ms) {
                Playout::Frame {
                    payload,
                    payload_type,
                } => {
                    // Only decodable packets were buffered.
                    let law = decoder_law(payload_type, negotiated_pt, negotiated_law)
                        .unwrap_or(negotiated_law);
                    if !self.playing {
                        // Packets that are not whole frames are pulled
                        // before they are due; a little silence ahead of
                        // the first keeps every later one in time.
                        let pad = start_padding(payload.len(), pcm.len());
                        self.heard.append(pad).fill(0);
                        self.playing = true;
                    }
                    let samples = self.heard.append(payload.len());
                    law.decode(&payload[..samples.len()], samples);
                    self.concealer.extend(samples);
                }
                Playout::Lost => {
                    // A lost packet's worth, not a tick's: the audio after
                    // it stays where its timestamps put it.
                    let n = (self.jitter.packet_samples() as usize).min(MAX_PACKET);
                    self.concealer.conceal(self.heard.append(n));
                }
                Playout::Idle => break,
            }
        }
        if self.heard.is_empty() {
            self.playing = false;
            return false;
        }
        // The end of a stream may leave less than a frame: play it out.
        let n = self.heard.pop_into(pcm);
        pcm[n..].fill(0);
        true
    }

    /// The codec the peer receives; listeners hearing the same mix with the
    /// same law share one encoded payload.
    pub fn law(&self) -> Law {
        self.law
    }

    /// Queues a digit to send to the peer as RFC 4733 events; false if the
    /// peer did not negotiate telephone-event, the digit is not a DTMF
    /// digit, or too many wait.
    pub fn send_digit(&mut self, digit: char) -> bool {
        self.telephone_event.is_some() && self.dtmf_out.push(digit)
    }

    /// Lets one 20 ms frame of digital silence go unsent, as RFC 3551 §4.1
    /// allows: true if it did (the RTP clock moves on, and the next packet
    /// sent carries the marker bit that starts a talkspurt). False when the
    /// frame must be sent after all: part of a longer packet is already
    /// gathered, a relayed digit is being sent, or two seconds have gone by
    /// without a packet (a packet every two seconds keeps the peer's RTP
    /// timeout and any NAT binding on the way fed, at a twentieth of the
    /// cost of a packet every 20 ms, most of the idle cost measured).
    pub fn skip_silence(&mut self) -> bool {
        if !self.outgoing.is_empty() || !self.dtmf_out.is_idle() || self.silence_budget() == 0 {
            return false;
        }
        self.skip_silent_frames(1);
        true
    }

    /// Frames of digital silence that may still go unsent before a
    /// keepalive packet is owed (see [`Leg::skip_silence`]).
    pub fn silence_budget(&self) -> u32 {
        (SILENCE_KEEPALIVE_FRAMES - 1).saturating_sub(self.unsent_silence)
    }

    /// Accounts for `frames` frames of silence let go unsent while its room
    /// slept (see [`super::room`]): the RTP clock moves on as if each had
    /// gone through [`Leg::skip_silence`].
    pub fn skip_silent_frames(&mut self, frames: u32) {
        if frames > 0 {
            self.unsent_silence = self.unsent_silence.saturating_add(frames);
            self.writer.skip(frames.saturating_mul(FRAME_8K as u32));
            self.marker_next = true;
        }
    }

    /// True when a tick has nothing to do for this leg until a datagram
    /// arrives or a frame of sound is given to it: no stream buffered or
    /// playing, no digit being received or sent, no partial packet.
    pub fn is_quiet(&self) -> bool {
        self.jitter.is_idle()
            && self.heard.is_empty()
            && !self.playing
            && !self.dtmf.is_pending()
            && self.dtmf_out.is_idle()
            && self.outgoing.is_empty()
    }

    /// Its slot in its worker's epoll, if it is watched.
    pub fn slot(&self) -> Option<Slot> {
        self.watched
    }

    /// Takes one encoded 20 ms frame for the peer and sends whatever whole
    /// packets of its ptime are ready (none, one or several), each an audio
    /// packet or, while a relayed digit is being sent, a telephone-event
    /// packet in its place. When we must not send (hold, inactive, no
    /// address yet) the timestamp still advances, so the stream stays
    /// continuous when sending resumes.
    pub fn send(&mut self, frame: &[u8]) {
        self.outgoing.push(frame);
        while let Some(payload) = self.outgoing.front() {
            // Sent or not (on hold, no address yet), this packet's frames
            // were not skipped as silence.
            self.unsent_silence = 0;
            // G.711: one byte per sample.
            let samples = payload.len() as u32;
            let Some(remote) = self.sources.peer().filter(|_| self.mode.send) else {
                self.writer.skip(samples);
                self.outgoing.consume();
                continue;
            };
            let event = self.telephone_event.and_then(|pt| {
                let duration = u16::try_from(samples).unwrap_or(u16::MAX);
                Some((
                    pt,
                    self.dtmf_out
                        .next_frame(self.writer.next_timestamp(), duration)?,
                ))
            });
            let written = match event {
                Some((pt, event)) => {
                    // The event's packets share its start timestamp; the
                    // audio clock goes on underneath.
                    let written = self.writer.write_at(
                        pt,
                        event.marker,
                        event.timestamp,
                        &event.payload,
                        &mut self.send_buf,
                    );
                    self.writer.skip(samples);
                    written
                }
                None => {
                    let marker = std::mem::take(&mut self.marker_next);
                    self.writer.write(
                        self.payload_type,
                        marker,
                        payload,
                        samples,
                        &mut self.send_buf,
                    )
                }
            };
            self.outgoing.consume();
            let Ok(len) = written else {
                continue;
            };
            // A full socket buffer drops this packet like the network
            // would; the tick must not block on it.
            if self
                .socket
                .socket()
                .send_to(&self.send_buf[..len], remote)
                .is_ok()
            {
                self.counters.sent += 1;
            }
        }
    }
}

/// Which G.711 law decodes `payload_type`: the negotiated law for the
/// negotiated type, or the static PCMU/PCMA types that some peers switch to
/// mid-call; `None` for anything else.
fn decoder_law(payload_type: u8, negotiated: u8, law: Law) -> Option<Law> {
    match payload_type {
        pt if pt == negotiated => Some(law),
        0 => Some(Law::Ulaw),
        8 => Some(Law::Alaw),
        _ => None,
    }
}

/// The SDP's RTP address, unless it is no address at all (0.0.0.0 or port
/// 0: an old-style hold, or a peer that does not know its address yet).
fn usable_remote(negotiated: &Negotiated) -> Option<SocketAddr> {
    Some(negotiated.remote_rtp).filter(|a| !a.ip().is_unspecified() && a.port() != 0)
}

/// Bytes per packet to send: the negotiated packet time (see
/// [`chorus_media::ptime::send_ptime_ms`]), kept in range again because a
/// `Negotiated` can be built by hand.
fn packet_len(negotiated: &Negotiated) -> usize {
    samples_8k(negotiated.ptime_ms.clamp(MIN_PTIME_MS, MAX_PTIME_MS))
}

impl std::fmt::Debug for Leg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leg")
            .field("local", &self.socket.socket().local_addr().ok())
            .field("remote", &self.sources.peer())
            .field("law", &self.law)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// The jitter buffer's smallest depth, in 20 ms frames (see [`Leg::new`]).
pub const MIN_DELAY_FRAMES: u16 = 2;

/// At most this many 20 ms frames go by without a packet while a listener
/// hears digital silence (see [`Leg::skip_silence`]): two seconds.
pub const SILENCE_KEEPALIVE_FRAMES: u32 = 100;

/// Samples in a 20 ms frame at 8 kHz.
pub const FRAME_8K: usize = 160;
