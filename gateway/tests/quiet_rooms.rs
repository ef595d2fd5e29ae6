//! What a media worker sends and does while nobody talks: a listener that
//! hears digital silence gets a keepalive packet every two seconds instead
//! of fifty a second (RFC 3551 silence suppression: the marker bit on each
//! packet after a gap, the RTP clock true to time across it); its room
//! sleeps meanwhile (counted in the worker's figures), and wakes for the
//! first packet a member sends, which the others hear at once. With
//! `send_silence` every frame is sent, and nothing sleeps.
//!
//! Real worker thread, real loopback sockets, real 20 ms ticks.

use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chorus_gateway::media::Leg;
use chorus_gateway::media::health::WorkerStats;
use chorus_gateway::media::leg::{LegId, SILENCE_KEEPALIVE_FRAMES};
use chorus_gateway::media::room::{MediaRoom, RoomMusic, RoomSettings};
use chorus_gateway::media::worker::{Command, Event, RoomKey, Worker};
use chorus_media::g711::Law;
use chorus_media::rtp::{RtpPacket, RtpWriter};
use chorus_media::sdp::{Direction, Negotiated};
use chorus_mixer::{Participant, Role};
use chorus_tests::tone::{ToneGenerator, assert_hears};

/// A received packet: (arrival, marker, sequence, timestamp, payload).
type Got = (Instant, bool, u16, u32, Vec<u8>);

/// A peer's socket, with a thread taking each packet as it arrives.
struct Peer {
    socket: UdpSocket,
    leg_id: LegId,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Peer {
    /// Everything that arrived since the last drain.
    fn drain(&self) -> Vec<Got> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

/// Takes every packet arriving on `socket`, stamped as it comes, until its
/// peer is dropped (the thread then holds the only handle) or 30 s pass.
fn receive(socket: UdpSocket, got: Arc<Mutex<Vec<Got>>>) {
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 1500];
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until && Arc::strong_count(&got) > 1 {
        let Ok(n) = socket.recv(&mut buf) else {
            continue;
        };
        let at = Instant::now();
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        got.lock()
            .unwrap()
            .push((at, p.marker, p.sequence, p.timestamp, p.payload.to_vec()));
    }
}

fn peer(k: u64) -> (Peer, Box<Leg>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let leg_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    leg_socket.set_nonblocking(true).unwrap();
    socket.connect(leg_socket.local_addr().unwrap()).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let (reader, shared) = (socket.try_clone().unwrap(), got.clone());
    std::thread::spawn(move || receive(reader, shared));
    let negotiated = Negotiated {
        law: Law::Ulaw,
        payload_type: 0,
        telephone_event: Some(101),
        remote_rtp: socket.local_addr().unwrap(),
        remote_direction: Direction::SendRecv,
        local_direction: Direction::SendRecv,
        ptime_ms: 20,
    };
    let leg = Leg::new(leg_socket, &negotiated, 7000 + k as u32, 100);
    (
        Peer {
            socket,
            leg_id: LegId(k),
            got,
        },
        Box::new(leg),
    )
}

/// A worker thread with one started room of two members (customers, who
/// hear each other); stopped and joined on drop.
struct Rig {
    commands: rtrb::Producer<Command>,
    events: rtrb::Consumer<Event>,
    thread: Option<std::thread::JoinHandle<()>>,
    stats: Arc<WorkerStats>,
    peers: Vec<Peer>,
}

impl Rig {
    fn start(settings: RoomSettings) -> Self {
        let (commands, command_ring) = rtrb::RingBuffer::new(64);
        let (event_ring, events) = rtrb::RingBuffer::new(256);
        let stats = Arc::new(WorkerStats::new());
        let mut worker = Worker::new(command_ring, event_ring, stats.clone(), 16).unwrap();
        let thread = std::thread::spawn(move || worker.run());
        let mut rig = Self {
            commands,
            events,
            thread: Some(thread),
            stats,
            peers: Vec::new(),
        };
        let room = RoomKey(1);
        let media_room = Box::new(MediaRoom::new(&settings, &RoomMusic::default()));
        rig.send(Command::Open { room, media_room });
        for k in 0..2 {
            let (peer, leg) = peer(k);
            rig.send(Command::Join {
                room,
                leg_id: peer.leg_id,
                leg,
                participant: Participant::new(Role::Customer),
                start: true,
                enter: None,
            });
            rig.peers.push(peer);
        }
        rig
    }

    fn send(&mut self, command: Command) {
        assert!(self.commands.push(command).is_ok());
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    fn slept(&self) -> u64 {
        self.stats.slept.load(Ordering::Relaxed)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        while self.events.pop().is_ok() {}
    }
}

/// Sends `frames` 20 ms frames of a `freq` tone from `peer`, at the real
/// pace; returns when the last one is sent.
fn talk(peer: &Peer, freq: f32, frames: usize) {
    let mut tone = ToneGenerator::new(freq, 8000, -12.0);
    let mut writer = RtpWriter::new(0xABC, 1, 1);
    let (mut pcm, mut payload, mut datagram) = ([0i16; 160], [0u8; 160], [0u8; 200]);
    let start = Instant::now();
    for n in 0..frames {
        tone.fill(&mut pcm);
        Law::Ulaw.encode(&pcm, &mut payload);
        let len = writer
            .write(0, n == 0, &payload, 160, &mut datagram)
            .unwrap();
        peer.socket.send(&datagram[..len]).unwrap();
        let due = start + Duration::from_millis(20 * (n as u64 + 1));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

fn decode(packets: &[Got]) -> Vec<i16> {
    let mut pcm = Vec::new();
    for (.., payload) in packets {
        let mut frame = vec![0i16; payload.len()];
        Law::Ulaw.decode(payload, &mut frame);
        pcm.extend(frame);
    }
    pcm
}

#[test]
fn a_listener_hearing_silence_gets_a_keepalive_every_two_seconds_and_a_talker_wakes_the_room() {
    let rig = Rig::start(RoomSettings::default());
    let (a, b) = (&rig.peers[0], &rig.peers[1]);
    // Nobody talks for 4.5 s: each listener gets its first packet at once
    // (so that its peer sees us from the start), then one every 2 s.
    std::thread::sleep(Duration::from_millis(4500));
    let quiet = b.drain();
    assert_eq!(a.drain().len(), quiet.len(), "both listeners alike");
    let seqs: Vec<u16> = quiet.iter().map(|p| p.2).collect();
    assert_eq!(quiet.len(), 3, "packets in 4.5 s of silence: {seqs:?}");
    for pair in quiet.windows(2) {
        let (gap, seq, ts) = (
            pair[1].0 - pair[0].0,
            pair[1].2.wrapping_sub(pair[0].2),
            pair[1].3.wrapping_sub(pair[0].3),
        );
        assert!(
            // Every two seconds, not every 20 ms and not never; wide
            // enough for a loaded test machine's scheduling.
            (Duration::from_millis(1500)..Duration::from_millis(2500)).contains(&gap),
            "keepalives {gap:?} apart"
        );
        assert_eq!(seq, 1, "no packet missing in between");
        assert_eq!(
            ts,
            SILENCE_KEEPALIVE_FRAMES * 160,
            "the RTP clock ran on through the gap"
        );
    }
    assert!(
        quiet.iter().all(|p| p.1),
        "each packet after a gap starts a talkspurt (marker bit)"
    );
    assert!(
        quiet.iter().all(|p| p.4.iter().all(|&x| x == 0xFF)),
        "keepalives are µ-law silence"
    );
    // The room slept through almost every tick in between.
    let slept = rig.slept();
    assert!(slept > 150, "ticks slept in 4.5 s: {slept}");

    // A talks: B hears it from the first packets on, every 20 ms, the
    // marker bit on the first, its clock continuing the keepalives'.
    let before = Instant::now();
    talk(a, 1000.0, 50);
    std::thread::sleep(Duration::from_millis(200));
    let heard = b.drain();
    let voiced: Vec<&Got> = heard
        .iter()
        .filter(|p| p.4.iter().any(|&x| x != 0xFF))
        .collect();
    assert!(
        voiced.len() >= 45,
        "B heard {} voiced packets of A's 50",
        voiced.len()
    );
    let first = voiced[0];
    assert!(
        // Woken by the packet, not by the next keepalive (up to 2 s away).
        first.0 - before < Duration::from_millis(500),
        "the first voice reached B {:?} after A began",
        first.0 - before
    );
    assert!(
        heard[0].1,
        "the first packet after the gap has the marker bit"
    );
    let last_keepalive = quiet.last().unwrap();
    let elapsed_frames = (first.0 - last_keepalive.0).as_millis() as i64 / 20;
    let clock_frames = i64::from(first.3.wrapping_sub(last_keepalive.3)) / 160;
    assert!(
        // Without the catch-up it would lag by the ticks slept since the
        // last keepalive (about 25 here).
        (clock_frames - elapsed_frames).abs() <= 10,
        "RTP clock {clock_frames} frames vs {elapsed_frames} frames of wall time"
    );
    let pcm = decode(&heard);
    assert_hears("B while A talks", &pcm, &[1000.0], &[]);
    assert!(
        a.drain().iter().all(|p| p.4.iter().all(|&x| x == 0xFF)),
        "A does not hear itself"
    );
}

#[test]
fn with_send_silence_every_frame_is_sent_and_nothing_sleeps() {
    let rig = Rig::start(RoomSettings {
        send_silence: true,
        ..RoomSettings::default()
    });
    std::thread::sleep(Duration::from_millis(1000));
    let got = rig.peers[1].drain();
    assert!(
        (40..=55).contains(&got.len()),
        "packets in 1 s of silence: {}",
        got.len()
    );
    assert!(got.windows(2).all(|w| w[1].3.wrapping_sub(w[0].3) == 160));
    assert_eq!(rig.slept(), 0, "a room sending silence never sleeps");
}
