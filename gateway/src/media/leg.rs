//! One call's media: its RTP socket and everything between the wire and the
//! mixer (jitter buffer, G.711, loss concealment, RFC 4733, outgoing RTP).
//!
//! A [`Leg`] is built on the control plane (where allocation is fine), moved
//! into a media worker through the command ring, driven there once per tick
//! without allocating, and moved back to the control plane to be dropped,
//! which closes its socket and frees its port.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};

use chorus_media::dtmf::{DtmfReceiver, DtmfSender};
use chorus_media::g711::Law;
use chorus_media::jitter::{JitterBuffer, JitterConfig, Playout};
use chorus_media::plc::Concealer;
use chorus_media::rtp::{RtpError, RtpPacket, RtpWriter};
use chorus_media::sdp::{Direction, Negotiated};

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
}

/// Counters a leg keeps about its peer's traffic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LegCounters {
    /// Valid RTP packets received from the peer.
    pub received: u64,
    /// Datagrams that were not valid RTP (dropped).
    pub malformed: u64,
    /// RTCP datagrams (ignored for now).
    pub rtcp: u64,
    /// Packets with a payload type we did not negotiate.
    pub unknown_payload: u64,
    /// Packets from a source other than the latched one (dropped).
    pub foreign: u64,
    /// RTP packets sent.
    pub sent: u64,
}

/// Datagrams read from one leg per tick: a well-behaved peer sends one or
/// two (audio, RFC 4733); the rest wait in the socket buffer for the next tick.
const MAX_DATAGRAMS_PER_TICK: usize = 32;

/// Largest datagram we read; anything longer is truncated and fails to parse.
const RECV_BUFFER: usize = 1500;
/// RTP header (12) + one 20 ms G.711 frame (160) with room to spare.
const SEND_BUFFER: usize = 12 + 320;

/// The media of one call.
pub struct Leg {
    socket: UdpSocket,
    law: Law,
    payload_type: u8,
    telephone_event: Option<u8>,
    /// Where we send: the SDP address until the peer's first valid packet,
    /// then that packet's source (symmetric RTP, for peers behind NAT).
    remote: Option<SocketAddr>,
    latched: bool,
    mode: LegMode,
    jitter: JitterBuffer,
    concealer: Concealer,
    dtmf: DtmfReceiver,
    /// Digits relayed to this peer, sent in place of audio frames.
    dtmf_out: DtmfSender,
    writer: RtpWriter,
    first_packet: bool,
    counters: LegCounters,
    recv_buf: Box<[u8]>,
    send_buf: Box<[u8]>,
}

impl Leg {
    /// A leg on `socket` (bound by the port pool) for a negotiated session.
    /// `ssrc` and `first_sequence` should be random (RFC 3550 §5.1).
    pub fn new(socket: UdpSocket, negotiated: &Negotiated, ssrc: u32, first_sequence: u16) -> Self {
        let remote =
            Some(negotiated.remote_rtp).filter(|a| !a.ip().is_unspecified() && a.port() != 0);
        Self {
            socket,
            law: negotiated.law,
            payload_type: negotiated.payload_type,
            telephone_event: negotiated.telephone_event,
            remote,
            latched: false,
            mode: LegMode::from_local(negotiated.local_direction),
            jitter: JitterBuffer::new(JitterConfig::default()),
            concealer: Concealer::new(FRAME_8K),
            dtmf: DtmfReceiver::new(8000),
            dtmf_out: DtmfSender::default(),
            writer: RtpWriter::new(ssrc, first_sequence, ssrc.rotate_left(7)),
            first_packet: true,
            counters: LegCounters::default(),
            recv_buf: vec![0; RECV_BUFFER].into_boxed_slice(),
            send_buf: vec![0; SEND_BUFFER].into_boxed_slice(),
        }
    }

    /// Applies a renegotiated session (re-INVITE): new direction, possibly a
    /// new address or codec. The outgoing SSRC, sequence and timestamp stay
    /// continuous.
    pub fn renegotiate(&mut self, negotiated: &Negotiated) {
        self.law = negotiated.law;
        self.payload_type = negotiated.payload_type;
        self.telephone_event = negotiated.telephone_event;
        self.mode = LegMode::from_local(negotiated.local_direction);
        let remote =
            Some(negotiated.remote_rtp).filter(|a| !a.ip().is_unspecified() && a.port() != 0);
        if !self.latched || remote.is_none() {
            self.remote = remote;
        }
    }

    /// The counters so far.
    pub fn counters(&self) -> LegCounters {
        self.counters
    }

    /// Reads every datagram waiting on the socket into the jitter buffer and
    /// reports RFC 4733 digits through `on_digit`: on their end packets, or
    /// once a digit whose end packets were lost has gone quiet (see
    /// [`chorus_media::dtmf::EVENT_SILENCE_MS`]). Never blocks.
    pub fn receive(&mut self, now_ms: u64, mut on_digit: impl FnMut(char)) {
        self.read_socket(now_ms, &mut on_digit);
        if let Some(event) = self.dtmf.poll(now_ms) {
            on_digit(event.digit);
        }
    }

    fn read_socket(&mut self, now_ms: u64, on_digit: &mut impl FnMut(char)) {
        // Bounded so that a flood, or a socket error that repeats, cannot
        // hold the worker (and every other room on it) past its tick.
        for _ in 0..MAX_DATAGRAMS_PER_TICK {
            let (len, source) = match self.socket.recv_from(&mut self.recv_buf) {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // ICMP port-unreachable from a peer that went away surfaces
                // here on Linux; it says nothing about our socket.
                Err(_) => continue,
            };
            let packet = match RtpPacket::parse(&self.recv_buf[..len]) {
                Ok(p) => p,
                Err(RtpError::Rtcp { .. }) => {
                    self.counters.rtcp += 1;
                    continue;
                }
                Err(_) => {
                    self.counters.malformed += 1;
                    continue;
                }
            };
            if self.latched && Some(source) != self.remote {
                self.counters.foreign += 1;
                continue;
            }
            if !self.latched {
                self.remote = Some(source);
                self.latched = true;
            }
            self.counters.received += 1;
            if Some(packet.payload_type) == self.telephone_event {
                if let Some(event) = self.dtmf.on_packet(now_ms, &packet) {
                    on_digit(event.digit);
                }
            } else if self.decoder_law(packet.payload_type).is_some() {
                if self.mode.receive {
                    self.jitter.push(now_ms, &packet);
                }
            } else {
                self.counters.unknown_payload += 1;
            }
        }
    }

    /// Which G.711 law decodes a payload type: the negotiated one, or the
    /// static PCMU/PCMA types that some peers switch to mid-call.
    fn decoder_law(&self, payload_type: u8) -> Option<Law> {
        match payload_type {
            pt if pt == self.payload_type => Some(self.law),
            0 => Some(Law::Ulaw),
            8 => Some(Law::Alaw),
            _ => None,
        }
    }

    /// Produces this tick's 8 kHz frame of the peer's voice into `pcm`.
    /// Returns false when the peer is silent (nothing buffered).
    pub fn play_out(&mut self, now_ms: u64, pcm: &mut [i16]) -> bool {
        match self.jitter.pop(now_ms) {
            Playout::Frame {
                payload,
                payload_type,
            } => {
                let law = match payload_type {
                    0 => Law::Ulaw,
                    8 => Law::Alaw,
                    _ => self.law,
                };
                let n = payload.len().min(pcm.len());
                law.decode(&payload[..n], &mut pcm[..n]);
                pcm[n..].fill(0);
                self.concealer.good(pcm);
                true
            }
            Playout::Lost => {
                self.concealer.conceal(pcm);
                true
            }
            Playout::Idle => false,
        }
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

    /// Sends one encoded 20 ms frame (`samples` long) to the peer, or in
    /// its place a telephone-event packet while a relayed digit is being
    /// sent. When we must not send (hold, inactive, no address yet) the
    /// timestamp still advances, so the stream stays continuous when sending
    /// resumes.
    pub fn send(&mut self, payload: &[u8], samples: u32) {
        let Some(remote) = self.remote.filter(|_| self.mode.send) else {
            self.writer.skip(samples);
            return;
        };
        let event = self.telephone_event.and_then(|pt| {
            let frame = u16::try_from(samples).unwrap_or(u16::MAX);
            Some((
                pt,
                self.dtmf_out
                    .next_frame(self.writer.next_timestamp(), frame)?,
            ))
        });
        let written = match event {
            Some((pt, event)) => {
                // The event's packets share its start timestamp; the audio
                // clock goes on underneath.
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
                let marker = std::mem::take(&mut self.first_packet);
                self.writer.write(
                    self.payload_type,
                    marker,
                    payload,
                    samples,
                    &mut self.send_buf,
                )
            }
        };
        let Ok(len) = written else {
            return;
        };
        // A full socket buffer drops this frame like the network would; the
        // tick must not block on it.
        if self.socket.send_to(&self.send_buf[..len], remote).is_ok() {
            self.counters.sent += 1;
        }
    }
}

impl std::fmt::Debug for Leg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leg")
            .field("local", &self.socket.local_addr().ok())
            .field("remote", &self.remote)
            .field("law", &self.law)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Samples in a 20 ms frame at 8 kHz.
pub const FRAME_8K: usize = 160;
