//! The phone's RTP side: one loopback UDP socket used symmetrically (or,
//! for a phone behind NAT, one socket whose port the SDP gives and another
//! that really sends and receives; see [`MediaQuirks`]), a
//! sender thread pacing G.711 packets of the phone's ptime (20 ms unless
//! dialled otherwise; tone or silence, or RFC 4733 events while a digit is
//! queued) and a receiver thread recording what arrives with arrival times
//! and each audio packet's RTP header fields.
//!
//! Plain threads rather than tokio tasks so pacing survives a test that
//! blocks its (possibly single-threaded) runtime.

use std::collections::{HashSet, VecDeque};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chorus_media::dtmf;
use chorus_media::g711::Law;
use chorus_media::rtp::{RtpPacket, RtpWriter};
use tokio::sync::oneshot;

use super::endpoint::{lock, token};
use crate::tone::ToneGenerator;

/// Samples per millisecond at 8 kHz (G.711: also bytes per millisecond).
const SAMPLES_PER_MS: u32 = 8;
/// Level of the test tone: loud enough to measure, far from clipping a mix.
const TONE_DBFS: f64 = -10.0;
/// A packet leaving this much after its time is recorded as a late send:
/// the test process itself was starved, which the far end will hear.
const LATE_SEND: Duration = Duration::from_millis(5);
/// RFC 4733 event length in frames before the end packets (100 ms).
const DTMF_FRAMES: u16 = 5;
/// End packets are sent three times (RFC 4733 2.5.1.4).
const DTMF_END_REPEATS: u16 = 3;

/// How the phone's RTP differs from a well-behaved phone's.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MediaQuirks {
    /// Wait this long after the answer before the first packet.
    pub first_rtp_delay: Duration,
    /// Send and receive on another socket than the one offered in the SDP.
    pub behind_nat: bool,
}

/// Where and how to send, set once the answer is known.
#[derive(Clone, Copy)]
pub(crate) struct SendParams {
    pub remote: SocketAddr,
    pub law: Law,
    pub payload_type: u8,
    pub telephone_event: Option<u8>,
}

struct DtmfJob {
    digit: char,
    timestamp: u32,
    frame: u16,
    /// False to lose every end packet (the event just stops), as a lossy
    /// network can.
    send_end: bool,
    done: Option<oneshot::Sender<()>>,
}

impl DtmfJob {
    /// Packets this job sends in all.
    fn packets(&self) -> u16 {
        if self.send_end {
            DTMF_FRAMES + DTMF_END_REPEATS
        } else {
            DTMF_FRAMES
        }
    }
}

/// One audio packet the phone received: its RTP fields, not its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedPacket {
    /// When it arrived.
    pub at: Instant,
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Payload bytes (G.711: samples).
    pub payload_len: usize,
}

/// What the receiver recorded.
#[derive(Default)]
pub(crate) struct Received {
    pub audio: Vec<(Instant, Vec<i16>)>,
    pub packets: Vec<ReceivedPacket>,
    pub digits: Vec<char>,
    ended_events: HashSet<(u32, u32)>,
}

/// State shared between the call and the media threads.
pub(crate) struct MediaShared {
    pub stop: AtomicBool,
    /// Cleared by a far-end BYE or a local "inactive"/"recvonly" re-INVITE.
    pub active: Arc<AtomicBool>,
    pub params: Mutex<Option<SendParams>>,
    /// Payload types treated as telephone-event on receive.
    pub event_pts: Mutex<Vec<u8>>,
    /// Audio payload type negotiated beyond the static 0 and 8.
    pub audio_pt: Mutex<Option<(u8, Law)>>,
    dtmf: Mutex<VecDeque<DtmfJob>>,
    pub received: Mutex<Received>,
    pub rtp_count: AtomicUsize,
    /// RTP packets handed to the socket (audio and telephone-event).
    pub sent_count: AtomicUsize,
    /// When packets left at least [`LATE_SEND`] after their time, and how
    /// late.
    pub late_sends: Mutex<Vec<(Instant, Duration)>>,
}

impl MediaShared {
    /// Queues an RFC 4733 digit, with or without its end packets; the
    /// receiver resolves once its last packet is sent (or is dropped if the
    /// call ends first).
    pub(crate) fn queue_digit(&self, digit: char, send_end: bool) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        lock(&self.dtmf).push_back(DtmfJob {
            digit,
            timestamp: 0,
            frame: 0,
            send_end,
            done: Some(tx),
        });
        rx
    }
}

/// The media threads of one call; stops them when dropped.
pub(crate) struct Media {
    pub shared: Arc<MediaShared>,
    /// The address the SDP offers.
    pub local: SocketAddr,
    /// The socket that sends and receives (a clone of the threads').
    pub wire: UdpSocket,
    /// Behind NAT: the offered socket, kept bound and never used.
    _offered: Option<UdpSocket>,
    /// The packet time the phone sends and offers.
    pub ptime_ms: u32,
}

impl Media {
    /// Binds the RTP socket and starts both threads. Nothing is sent until
    /// [`Media::start_sending`].
    pub(crate) fn start(
        tone_hz: Option<f32>,
        offered_event_pt: u8,
        active: Arc<AtomicBool>,
        ptime_ms: u32,
        quirks: MediaQuirks,
    ) -> std::io::Result<Media> {
        let offered = UdpSocket::bind("127.0.0.1:0")?;
        let local = offered.local_addr()?;
        let (socket, offered) = if quirks.behind_nat {
            (UdpSocket::bind("127.0.0.1:0")?, Some(offered))
        } else {
            (offered, None)
        };
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let shared = Arc::new(MediaShared {
            stop: AtomicBool::new(false),
            active,
            params: Mutex::new(None),
            event_pts: Mutex::new(vec![offered_event_pt]),
            audio_pt: Mutex::new(None),
            dtmf: Mutex::new(VecDeque::new()),
            received: Mutex::new(Received::default()),
            rtp_count: AtomicUsize::new(0),
            sent_count: AtomicUsize::new(0),
            late_sends: Mutex::new(Vec::new()),
        });
        let send_socket = socket.try_clone()?;
        let wire = socket.try_clone()?;
        let s = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("phone-rtp-rx".into())
            .spawn(move || receive_loop(&socket, &s))?;
        let s = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("phone-rtp-tx".into())
            .spawn(move || {
                let delay = quirks.first_rtp_delay;
                send_loop(&send_socket, &s, tone_hz, ptime_ms, delay);
            })?;
        Ok(Media {
            shared,
            local,
            wire,
            _offered: offered,
            ptime_ms,
        })
    }

    /// Starts (or redirects) sending per the negotiated answer.
    pub(crate) fn start_sending(&self, params: SendParams) {
        if let Some(pt) = params.telephone_event {
            let mut pts = lock(&self.shared.event_pts);
            if !pts.contains(&pt) {
                pts.push(pt);
            }
        }
        *lock(&self.shared.audio_pt) = Some((params.payload_type, params.law));
        *lock(&self.shared.params) = Some(params);
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn event_char(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0' + code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + code - 12)),
        _ => None,
    }
}

fn receive_loop(socket: &UdpSocket, shared: &MediaShared) {
    let mut buf = vec![0u8; 2048];
    while !shared.stop.load(Ordering::Relaxed) {
        let Ok(n) = socket.recv(&mut buf) else {
            continue; // read timeout: re-check the stop flag
        };
        let Some(packet) = buf.get(..n).and_then(|b| RtpPacket::parse(b).ok()) else {
            continue;
        };
        shared.rtp_count.fetch_add(1, Ordering::Relaxed);
        let pt = packet.payload_type;
        if lock(&shared.event_pts).contains(&pt) {
            let (Some(&code), Some(&flags)) = (packet.payload.first(), packet.payload.get(1))
            else {
                continue;
            };
            let mut rec = lock(&shared.received);
            // Count each event once, on its first end packet.
            if flags & 0x80 != 0
                && rec.ended_events.insert((packet.ssrc, packet.timestamp))
                && let Some(c) = event_char(code)
            {
                rec.digits.push(c);
            }
            continue;
        }
        let law = match (pt, *lock(&shared.audio_pt)) {
            (_, Some((negotiated, law))) if negotiated == pt => law,
            (0, _) => Law::Ulaw,
            (8, _) => Law::Alaw,
            _ => continue,
        };
        let mut pcm = vec![0i16; packet.payload.len()];
        law.decode(packet.payload, &mut pcm);
        let at = Instant::now();
        let mut rec = lock(&shared.received);
        rec.packets.push(ReceivedPacket {
            at,
            sequence: packet.sequence,
            timestamp: packet.timestamp,
            payload_len: packet.payload.len(),
        });
        rec.audio.push((at, pcm));
    }
}

fn send_loop(
    socket: &UdpSocket,
    shared: &MediaShared,
    tone_hz: Option<f32>,
    ptime_ms: u32,
    first_rtp_delay: Duration,
) {
    let ptime_ms = ptime_ms.max(1);
    let frame = (ptime_ms * SAMPLES_PER_MS) as usize;
    let ptime = Duration::from_millis(u64::from(ptime_ms));
    let seed = u64::from_str_radix(&token(), 16).unwrap_or(0x5eed);
    let ssrc = seed as u32;
    let mut timestamp = (seed >> 32) as u32;
    let mut writer = RtpWriter::new(ssrc, (seed >> 16) as u16, timestamp);
    let mut tone = tone_hz.map(|f| ToneGenerator::new(f, 8000, TONE_DBFS));
    let mut job: Option<DtmfJob> = None;
    let mut talkspurt_start = true;
    let mut pcm = vec![0i16; frame];
    let mut payload = vec![0u8; frame];
    let mut packet = vec![0u8; 12 + frame];
    let mut next = Instant::now();
    // When the first packet may go: `first_rtp_delay` after the answer.
    let mut first_due: Option<Instant> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        next += ptime;
        let now = Instant::now();
        match next.checked_duration_since(now) {
            Some(wait) => std::thread::sleep(wait),
            // Far behind (a stalled machine): resync instead of bursting.
            None if now - next > Duration::from_millis(200) => next = now,
            None => {}
        }
        let late = Instant::now().saturating_duration_since(next);
        if late >= LATE_SEND {
            lock(&shared.late_sends).push((Instant::now(), late));
        }
        let params = *lock(&shared.params);
        let Some(params) = params.filter(|_| shared.active.load(Ordering::Relaxed)) else {
            talkspurt_start = true;
            continue;
        };
        if Instant::now() < *first_due.get_or_insert_with(|| Instant::now() + first_rtp_delay) {
            continue;
        }
        if job.is_none() {
            job = lock(&shared.dtmf).pop_front().map(|mut j| {
                j.timestamp = timestamp;
                j
            });
        }
        let written = match (job.as_mut(), params.telephone_event) {
            (Some(j), Some(event_pt)) => {
                let end = j.frame >= DTMF_FRAMES;
                let step = u16::try_from(frame).unwrap_or(u16::MAX);
                let duration = step.saturating_mul((j.frame + 1).min(DTMF_FRAMES));
                let mut event = [0u8; 4];
                dtmf::encode_event(j.digit, end, 10, duration, &mut event);
                j.frame += 1;
                let marker = j.frame == 1;
                writer.write_at(event_pt, marker, j.timestamp, &event, &mut packet)
            }
            _ => {
                match tone.as_mut() {
                    Some(g) => g.fill(&mut pcm),
                    None => pcm.fill(0),
                }
                params.law.encode(&pcm, &mut payload);
                let marker = std::mem::take(&mut talkspurt_start);
                writer.write_at(
                    params.payload_type,
                    marker,
                    timestamp,
                    &payload,
                    &mut packet,
                )
            }
        };
        timestamp = timestamp.wrapping_add(frame as u32);
        if let Ok(n) = written
            && socket
                .send_to(packet.get(..n).unwrap_or(&[]), params.remote)
                .is_ok()
        {
            shared.sent_count.fetch_add(1, Ordering::Relaxed);
        }
        // Signal completion only after the job's last packet is on the
        // wire, so a test may inspect what the far end got right away.
        if job
            .as_ref()
            .is_some_and(|j| j.frame >= j.packets() || params.telephone_event.is_none())
        {
            if let Some(done) = job.take().and_then(|mut j| j.done.take()) {
                let _ = done.send(());
            }
            talkspurt_start = true;
        }
    }
}
