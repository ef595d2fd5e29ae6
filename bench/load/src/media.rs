//! The media threads: each owns a share of the legs (whole rooms, so a
//! room's onsets and captures stay on one clock), sends every leg's frame
//! at the real 20 ms pace and reads every packet that comes back.
//!
//! Sends are spread over the period: leg `j` of `n` sends at `j/n` of each
//! 20 ms, in 1 ms slots, so the server sees a steady stream rather than one
//! burst per tick (as real phones' packets arrive). Each leg's socket is
//! `connect()`ed to its server address: sending is cheaper, and a packet
//! from anywhere else is dropped by the kernel (symmetric RTP, which every
//! server here does). One `epoll` per thread reads only sockets with
//! packets waiting, and it polls without sleeping: on loopback the sender's
//! CPU runs the receiver's network stack, wake-up included, so a generator
//! asleep in `epoll_wait` would bill every server for waking it (measured:
//! about a tenth of chorusd's CPU per leg), which no phone on another host
//! does. The generator has a core of its own; its health is its pace (see
//! [`ThreadReport`]), not its CPU share, which is always a whole core.
//! Every send and receive is timed on one clock, the run's [`Instant`]
//! epoch, so latencies compare send and receive times directly.
//!
//! The tones need no audio work: each is whole periods in a 20 ms frame
//! (see [`crate::plan`]), so one encoded frame per tone is sent again and
//! again.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use chorus_media::g711::Law;
use chorus_media::rtp::{RtpPacket, RtpWriter};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};

use crate::plan::{LegPlan, TONES, tone_on};
use crate::stats::StreamStats;

/// The run's phases, shared with the media threads.
pub mod phase {
    /// Sending and receiving; nothing counted yet.
    pub const WARMUP: u8 = 0;
    /// Counting.
    pub const MEASURE: u8 = 1;
    /// Stop sending; keep reading until told to end.
    pub const DRAIN: u8 = 2;
    /// End the thread.
    pub const END: u8 = 3;
}

/// One RTP packet of a captured leg, kept for the analysis after the run.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Arrival, ns since the run's epoch.
    pub arrival_ns: u64,
    /// Its RTP timestamp.
    pub timestamp: u32,
    /// Its payload (G.711).
    pub payload: Vec<u8>,
}

/// A leg in a media thread.
pub struct MediaLeg {
    /// Its place in the load.
    pub plan: LegPlan,
    socket: UdpSocket,
    writer: RtpWriter,
    /// What it received while measuring.
    pub stats: StreamStats,
    /// Packets sent while measuring.
    pub sent: u64,
    /// Captured packets, if this leg is checked.
    pub capture: Option<Vec<Captured>>,
    /// Send times (ns since the epoch) of its tone's onsets while measuring,
    /// if its room is checked.
    pub onsets: Option<Vec<u64>>,
}

impl MediaLeg {
    /// A leg on `socket` (bound, not yet connected) sending to `remote`.
    /// `checked`: capture what it hears and time its onsets.
    pub fn new(
        plan: LegPlan,
        socket: UdpSocket,
        remote: SocketAddr,
        checked: bool,
    ) -> std::io::Result<Self> {
        socket.connect(remote)?;
        socket.set_nonblocking(true)?;
        let ssrc = 0x4c4f_0000 ^ plan.index as u32;
        Ok(Self {
            plan,
            socket,
            writer: RtpWriter::new(ssrc, (plan.index as u16).wrapping_mul(31), ssrc),
            stats: StreamStats::default(),
            sent: 0,
            capture: checked.then(Vec::new),
            onsets: checked.then(Vec::new),
        })
    }
}

/// What a media thread reports about itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadReport {
    /// Send periods while measuring.
    pub periods: u64,
    /// Of those, periods whose last send went out more than
    /// [`LATE_PERIOD`] after the next period was due.
    pub late_periods: u64,
    /// The latest any period's sends began, ms.
    pub worst_lag_ms: f64,
}

/// What a media thread is given.
pub struct Shared {
    /// The run's clock.
    pub epoch: Instant,
    /// The run's phase (see [`phase`]).
    pub phase: Arc<AtomicU8>,
    /// The codec sent.
    pub law: Law,
    /// Send nothing at all (idle load).
    pub silent: bool,
}

const PERIOD: Duration = Duration::from_millis(20);
/// A send period beginning this late is late: half a frame.
pub const LATE_PERIOD: Duration = Duration::from_millis(10);
const FRAME: usize = 160;

/// Runs one media thread over `legs` until the phase is [`phase::END`];
/// hands the legs back with their figures.
pub fn run(mut legs: Vec<MediaLeg>, shared: &Shared) -> (Vec<MediaLeg>, ThreadReport) {
    let mut report = ThreadReport::default();
    let frames = encoded_tones(shared.law);
    let silence = [shared.law.silence_code(); FRAME];
    let epoll = match Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC) {
        Ok(e) => e,
        Err(_) => return (legs, report),
    };
    for (i, leg) in legs.iter().enumerate() {
        let _ = epoll.add(
            leg.socket.as_fd(),
            EpollEvent::new(EpollFlags::EPOLLIN, i as u64),
        );
    }
    let n = legs.len().max(1);
    let mut events = vec![EpollEvent::empty(); 256];
    let mut recv_buf = [0u8; 1500];
    let mut send_buf = [0u8; 12 + FRAME];
    let mut period_start = Instant::now();
    let mut period: u64 = 0;
    let mut cursor = 0;
    let mut measuring = false;
    loop {
        let now_phase = shared.phase.load(Ordering::Relaxed);
        if now_phase == phase::END {
            break;
        }
        if now_phase == phase::MEASURE && !measuring {
            measuring = true;
            for leg in &mut legs {
                leg.stats = StreamStats::default();
                leg.sent = 0;
            }
        }
        let sending = now_phase <= phase::MEASURE && !shared.silent;
        // Send what is due in this 1 ms slot.
        let now = Instant::now();
        while cursor < legs.len() && period_start + PERIOD * cursor as u32 / n as u32 <= now {
            if sending {
                let leg = &mut legs[cursor];
                let on = tone_on(period, leg.plan.pulse_offset);
                let frame = if on {
                    &frames[tone_index(leg.plan.tone)]
                } else {
                    &silence
                };
                let marker = period == 0;
                if let Ok(len) = leg.writer.write(
                    shared.law.static_payload_type(),
                    marker,
                    frame,
                    FRAME as u32,
                    &mut send_buf,
                ) && leg.socket.send(&send_buf[..len]).is_ok()
                    && measuring
                {
                    leg.sent += 1;
                    if on
                        && !tone_on(period.wrapping_sub(1), leg.plan.pulse_offset)
                        && let Some(onsets) = &mut leg.onsets
                    {
                        onsets.push(ns_since(shared.epoch, Instant::now()));
                    }
                }
            }
            cursor += 1;
        }
        if cursor >= legs.len() {
            cursor = 0;
            period += 1;
            period_start += PERIOD;
            let lag = now.saturating_duration_since(period_start);
            report.periods += u64::from(measuring);
            if lag > LATE_PERIOD && measuring {
                report.late_periods += 1;
                report.worst_lag_ms = report.worst_lag_ms.max(lag.as_secs_f64() * 1e3);
            }
        }
        // Read what arrived, without sleeping (see the module doc).
        let ready = epoll.wait(&mut events, 0u16).unwrap_or(0);
        let arrival = ns_since(shared.epoch, Instant::now());
        for event in &events[..ready] {
            let leg = &mut legs[event.data() as usize];
            receive(leg, &mut recv_buf, arrival, measuring);
        }
    }
    (legs, report)
}

/// Reads every packet waiting on a leg's socket.
fn receive(leg: &mut MediaLeg, buf: &mut [u8], arrival_ns: u64, measuring: bool) {
    loop {
        let n = match leg.socket.recv(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            // ICMP refusals from a server that went away: nothing to read.
            Err(_) => return,
        };
        if !measuring {
            continue;
        }
        let Ok(packet) = RtpPacket::parse(&buf[..n]) else {
            continue;
        };
        leg.stats
            .on_packet(arrival_ns, packet.ssrc, packet.sequence, packet.timestamp);
        if let Some(capture) = &mut leg.capture {
            capture.push(Captured {
                arrival_ns,
                timestamp: packet.timestamp,
                payload: packet.payload.to_vec(),
            });
        }
    }
}

fn ns_since(epoch: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(epoch).as_nanos() as u64
}

fn tone_index(tone: u32) -> usize {
    TONES.iter().position(|&t| t == tone).unwrap_or(0)
}

/// One encoded 20 ms frame of each tone at −20 dBFS: low enough that the
/// nine other seats of a full room sum without clipping.
fn encoded_tones(law: Law) -> Vec<[u8; FRAME]> {
    TONES
        .iter()
        .map(|&tone| {
            let mut pcm = [0i16; FRAME];
            chorus_tests::tone::ToneGenerator::new(tone as f32, 8000, TONE_DBFS).fill(&mut pcm);
            let mut frame = [0u8; FRAME];
            law.encode(&pcm, &mut frame);
            frame
        })
        .collect()
}

/// Each leg's tone level.
pub const TONE_DBFS: f64 = -20.0;
