//! The media path allocates and frees nothing: thousands of ticks of a real
//! room (legs on loopback sockets, RTP and RFC 4733 arriving, voice
//! activity, bridge beeps, hold and wait music, encode once per mix, the
//! recording tap, sounds played to one member alone) with state changes
//! between ticks; and a media worker's
//! whole life with a room — opened, joined, ticked, recorded, left, closed —
//! counted on its own thread by a global allocator.

// A GlobalAlloc implementation is unsafe by definition; this test file is the
// only place in the gateway that needs it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use chorus_gateway::media::Leg;
use chorus_gateway::media::TrackChange;
use chorus_gateway::media::health::WorkerStats;
use chorus_gateway::media::leg::LegId;
use chorus_gateway::media::readiness::ReadySet;
use chorus_gateway::media::room::{LegSignal, MediaRoom, MusicSlot, RoomMusic, RoomSettings};
use chorus_gateway::media::worker::{Command, Event, RoomKey, Worker};
use chorus_media::dtmf::encode_event;
use chorus_media::g711::Law;
use chorus_media::rtp::RtpWriter;
use chorus_media::sdp::{Direction, Negotiated};
use chorus_mixer::clip::{Clip, Segment};
use chorus_mixer::tone::Beep;
use chorus_mixer::{Participant, Role};
use chorus_mpc::Track;
use chorus_recorder::Format;

struct Counting;

thread_local! {
    // Const-initialised, so reading them never allocates (no recursion).
    // Per thread, so tests running side by side do not count each other.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static FREES: Cell<usize> = const { Cell::new(0) };
}

fn bump(counter: &'static std::thread::LocalKey<Cell<usize>>) {
    if COUNTING.with(Cell::get) {
        counter.with(|c| c.set(c.get() + 1));
    }
}

/// Counts allocations and frees on this thread from now on.
fn count_here() {
    ALLOCATIONS.with(|c| c.set(0));
    FREES.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
}

/// Stops counting on this thread: (allocations, frees) since `count_here`.
fn counted_here() -> (usize, usize) {
    COUNTING.with(|c| c.set(false));
    (ALLOCATIONS.with(Cell::get), FREES.with(Cell::get))
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only bumps a counter on the thread under test.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCATIONS);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        bump(&FREES);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(&ALLOCATIONS);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A peer: the socket it talks from and chorus's leg that talks to it.
struct Peer {
    socket: UdpSocket,
    writer: RtpWriter,
    leg_id: LegId,
}

#[test]
fn ten_party_media_ticks_do_not_allocate() {
    let mut room = MediaRoom::new(&RoomSettings::default(), &RoomMusic::default());
    // Application audio (sound and music URLs) is decoded before the count:
    // what the tick does with it is play it.
    let tone: Arc<[i16]> = (0..4000).map(|n| ((n % 40) * 300 - 6000) as i16).collect();
    let music = Arc::new(Clip::new(
        vec![Segment::Pcm(tone.clone()), Segment::Silence(900)],
        Some(0),
    ));
    let sound = Arc::new(Clip::new(vec![Segment::Pcm(tone)], None));
    let mut peers = Vec::new();
    for k in 0..10u64 {
        let (peer, leg) = peer(k);
        room.join(peer.leg_id, leg, participant(k)).unwrap();
        peers.push(peer);
    }
    room.start();
    // The MPC recording is fed every tick (its writer thread, which does
    // allocate, is not the media thread and is not counted).
    let recording =
        std::env::temp_dir().join(format!("chorus-no-alloc-{}.wav", std::process::id()));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let tap = chorus_recorder::start(recording.clone(), Format::Wav, 8000, move |r| {
        let _ = done_tx.send(r);
    })
    .unwrap();
    assert!(room.record(tap).is_none());
    // So are one member's participant tracks, inbound and outbound.
    let tracked = peers[3].leg_id;
    let (track_tx, track_rx) = std::sync::mpsc::channel();
    let mut track_files = Vec::new();
    for track in Track::BOTH {
        let path = std::env::temp_dir().join(format!(
            "chorus-no-alloc-{}-{}.wav",
            std::process::id(),
            track.as_str()
        ));
        let done = track_tx.clone();
        let tap = chorus_recorder::start(path.clone(), Format::Wav, 8000, move |r| {
            let _ = done.send((track, r));
        })
        .unwrap();
        assert!(
            room.change_track(tracked, track, TrackChange::Start(tap))
                .is_none()
        );
        track_files.push(path);
    }

    let mut payload = [0u8; 160];
    let mut packet = [0u8; 200];
    let (mut signals, mut audio_ended) = (0usize, 0usize);
    // A room ticked on its own: its legs have no epoll slots and read
    // their sockets every tick.
    let mut ready = ReadySet::default();
    let mut tick = |room: &mut MediaRoom, now_ms: u64| {
        room.tick(now_ms, &mut ready, |_, signal| {
            signals += 1;
            audio_ended += usize::from(matches!(signal, LegSignal::AudioEnded(_)));
        });
    };
    // Warm up outside the count: the first packets latch the legs.
    for t in 0..50u64 {
        send_voices(&mut peers, t, &mut payload, &mut packet);
        tick(&mut room, t * 20);
    }

    let mut retired = Vec::with_capacity(100);
    let mut retired_sounds = Vec::with_capacity(100);
    count_here();
    for t in 50..5050u64 {
        send_voices(&mut peers, t, &mut payload, &mut packet);
        // State changes between ticks, as the worker applies its commands.
        match t % 500 {
            0 => room.play_bridge(Beep::One),
            50 => {
                // The worker hands replaced musics back to the control
                // plane; here they are kept until the count is over.
                retired.push(room.set_music(MusicSlot::AgentHold, Some(music.clone())));
                retired.push(room.set_music(MusicSlot::CustomerHold, None));
                room.play_bridge_clip(sound.clone());
            }
            100 => room.update(
                peers[1].leg_id,
                Participant {
                    held: true,
                    ..Participant::new(Role::Agent)
                },
            ),
            // Sounds to one member alone: one that ends by itself, one
            // that loops until replaced, its replacement stopped.
            150 => retired_sounds.extend(room.play_private(peers[3].leg_id, sound.clone(), t)),
            200 => room.update(peers[1].leg_id, Participant::new(Role::Agent)),
            250 => retired_sounds.extend(room.play_private(peers[5].leg_id, music.clone(), t)),
            350 => retired_sounds.extend(room.play_private(peers[5].leg_id, sound.clone(), t)),
            450 => retired_sounds.extend(room.stop_private(peers[5].leg_id)),
            300 => room.update(
                peers[0].leg_id,
                Participant {
                    muted: true,
                    ..Participant::new(Role::Customer)
                },
            ),
            270 => assert!(
                room.change_track(tracked, Track::Outbound, TrackChange::Pause(true))
                    .is_none()
            ),
            370 => assert!(
                room.change_track(tracked, Track::Outbound, TrackChange::Pause(false))
                    .is_none()
            ),
            400 => {
                room.update(peers[0].leg_id, Participant::new(Role::Customer));
                room.play_bridge(Beep::Two);
                send_digit(&peers[2], &mut packet);
            }
            _ => {}
        }
        tick(&mut room, t * 20);
    }
    let (allocations, frees) = counted_here();
    drop(retired_sounds);
    drop(room.stop_recording());
    let finished = done_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    std::fs::remove_file(&recording).unwrap();
    drop(room.stop_tracks(tracked));
    for _ in Track::BOTH {
        let (track, finished) = track_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // Ten pauses of 100 ticks each on the outbound track.
        let ticks = match track {
            Track::Inbound => 5050,
            Track::Outbound => 5050 - 10 * 100,
        };
        assert_eq!(finished.unwrap().samples, ticks * 160, "{track:?}");
    }
    for path in track_files {
        std::fs::remove_file(path).unwrap();
    }
    // Ticks run flat out here, far faster than real time, so the writer
    // may lag and frames become silence; either way the file has them all.
    assert_eq!(finished.samples, 5050 * 160, "one frame per tick");
    assert!(
        signals > 0,
        "the room really ran (VAD and digits were reported)"
    );
    assert_eq!(audio_ended, 20, "each member's sound that ended by itself");
    assert_eq!(
        (allocations, frees),
        (0, 0),
        "allocations and frees on the media path over 5000 ticks"
    );
}

#[test]
fn a_worker_runs_a_rooms_whole_life_without_allocating_or_freeing() {
    let (mut commands, command_ring) = rtrb::RingBuffer::new(64);
    let (event_ring, mut events) = rtrb::RingBuffer::new(64);
    let mut worker =
        Worker::new(command_ring, event_ring, Arc::new(WorkerStats::new()), 16).unwrap();
    let media_thread = std::thread::spawn(move || {
        count_here();
        worker.run();
        let counted = counted_here();
        drop(worker); // its room list, at the end of the thread
        counted
    });
    let mut send = |command: Command| {
        assert!(commands.push(command).is_ok());
        media_thread.thread().unpark();
    };
    // Built here, as the control plane does, and handed over.
    let room = RoomKey(7);
    let media_room = Box::new(MediaRoom::new(
        &RoomSettings::default(),
        &RoomMusic::default(),
    ));
    send(Command::Open { room, media_room });
    let mut peers = Vec::new();
    for k in 0..3u64 {
        let (peer, leg) = peer(k);
        send(Command::Join {
            room,
            leg_id: peer.leg_id,
            leg,
            participant: participant(k),
            start: k == 1,
            enter: Some(Beep::One),
        });
        peers.push(peer);
    }
    let recording = std::env::temp_dir().join(format!("chorus-worker-{}.wav", std::process::id()));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let tap = chorus_recorder::start(recording.clone(), Format::Wav, 8000, move |r| {
        let _ = done_tx.send(r);
    })
    .unwrap();
    send(Command::Record { room, tap });
    let (mut payload, mut packet) = ([0u8; 160], [0u8; 200]);
    for t in 0..50u64 {
        send_voices(&mut peers, t, &mut payload, &mut packet);
        std::thread::sleep(Duration::from_millis(20));
    }
    send_digit(&peers[0], &mut packet);
    // A sound to one member, still playing when it leaves: it comes back
    // to be dropped here.
    let long = Arc::new(Clip::new(vec![Segment::Silence(8000)], Some(0)));
    send(Command::PrivateSound {
        leg_id: peers[0].leg_id,
        sound: Some((long, 1)),
    });
    std::thread::sleep(Duration::from_millis(60));
    for peer in &peers {
        send(Command::Leave {
            leg_id: peer.leg_id,
            exit: Some(Beep::Two),
        });
    }
    send(Command::Close { room });
    send(Command::Shutdown);
    let (allocations, frees) = media_thread.join().unwrap();

    // Everything came back to be dropped here: the legs, and the room
    // with its recording tap (which ends the recording).
    let (mut left, mut closed, mut sounds) = (0, 0, 0);
    while let Ok(event) = events.pop() {
        match event {
            Event::Left { .. } => left += 1,
            Event::Closed(_) => closed += 1,
            Event::SoundRetired(_) => sounds += 1,
            _ => {}
        }
    }
    assert_eq!((left, closed, sounds), (3, 1, 1));
    let finished = done_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    std::fs::remove_file(&recording).unwrap();
    assert!(
        finished.duration() >= Duration::from_millis(500),
        "the room ticked and recorded: {finished:?}"
    );
    assert_eq!(
        (allocations, frees),
        (0, 0),
        "allocations and frees on the media thread"
    );
}

/// Peer `k`: a loopback socket, and chorus's leg talking to it (µ-law for
/// even `k`, A-law for odd).
fn peer(k: u64) -> (Peer, Box<Leg>) {
    let peer_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let leg_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    leg_socket.set_nonblocking(true).unwrap();
    let negotiated = Negotiated {
        law: if k.is_multiple_of(2) {
            Law::Ulaw
        } else {
            Law::Alaw
        },
        payload_type: if k.is_multiple_of(2) { 0 } else { 8 },
        telephone_event: Some(101),
        remote_rtp: peer_socket.local_addr().unwrap(),
        remote_direction: Direction::SendRecv,
        local_direction: Direction::SendRecv,
        ptime_ms: 20,
    };
    peer_socket
        .connect(leg_socket.local_addr().unwrap())
        .unwrap();
    let leg = Leg::new(leg_socket, &negotiated, 1000 + k as u32, 1);
    let peer = Peer {
        socket: peer_socket,
        writer: RtpWriter::new(5000 + k as u32, 1, 1),
        leg_id: LegId(k),
    };
    (peer, Box::new(leg))
}

/// Customers, agents and supervisors in turn.
fn participant(k: u64) -> Participant {
    let roles = [Role::Customer, Role::Agent, Role::Supervisor];
    Participant::new(roles[k as usize % 3])
}

/// Every peer sends one 20 ms frame of its own tone.
fn send_voices(peers: &mut [Peer], t: u64, payload: &mut [u8; 160], packet: &mut [u8; 200]) {
    for (k, peer) in peers.iter_mut().enumerate() {
        let freq = 300.0 + 100.0 * k as f32;
        let law = if k % 2 == 0 { Law::Ulaw } else { Law::Alaw };
        for (n, byte) in payload.iter_mut().enumerate() {
            let x = ((t * 160 + n as u64) as f32 * freq * std::f32::consts::TAU / 8000.0).sin();
            *byte = law.encode_sample((x * 8000.0) as i16);
        }
        let len = peer
            .writer
            .write(law.static_payload_type(), false, payload, 160, packet)
            .unwrap();
        let _ = peer.socket.send(&packet[..len]);
    }
}

/// One complete RFC 4733 digit (start + end packets).
fn send_digit(peer: &Peer, packet: &mut [u8; 200]) {
    let mut writer = RtpWriter::new(9, 1, 777);
    let mut event = [0u8; 4];
    for (end, duration) in [(false, 160u16), (true, 800), (true, 800)] {
        encode_event('7', end, 10, duration, &mut event);
        let len = writer.write_at(101, !end, 777, &event, packet).unwrap();
        let _ = peer.socket.send(&packet[..len]);
    }
}
