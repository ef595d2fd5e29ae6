//! The media path allocates nothing: thousands of ticks of a real room (legs
//! on loopback sockets, RTP and RFC 4733 arriving, voice activity, bridge
//! beeps, hold and wait music, encode once per mix) with state changes
//! between ticks, counted by a global allocator.

// A GlobalAlloc implementation is unsafe by definition; this test file is the
// only place in the gateway that needs it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chorus_gateway::media::Leg;
use chorus_gateway::media::leg::LegId;
use chorus_gateway::media::room::{MediaRoom, MusicSlot, RoomMusic};
use chorus_media::dtmf::encode_event;
use chorus_media::g711::Law;
use chorus_media::rtp::RtpWriter;
use chorus_media::sdp::{Direction, Negotiated};
use chorus_mixer::clip::{Clip, Segment};
use chorus_mixer::tone::Beep;
use chorus_mixer::vad::VadConfig;
use chorus_mixer::{Participant, Role};
use chorus_recorder::Format;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Const-initialised, so reading it never allocates (no recursion).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only bumps a counter on the thread under test.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
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
    let mut room = MediaRoom::new(8000, VadConfig::default(), &RoomMusic::default());
    // Application audio (sound and music URLs) is decoded before the count:
    // what the tick does with it is play it.
    let tone: Arc<[i16]> = (0..4000).map(|n| ((n % 40) * 300 - 6000) as i16).collect();
    let music = Arc::new(Clip::new(
        vec![Segment::Pcm(tone.clone()), Segment::Silence(900)],
        Some(0),
    ));
    let sound = Arc::new(Clip::new(vec![Segment::Pcm(tone)], None));
    let roles = [Role::Customer, Role::Agent, Role::Supervisor];
    let mut peers = Vec::new();
    for k in 0..10u64 {
        let peer_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let leg_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        leg_socket.set_nonblocking(true).unwrap();
        let negotiated = Negotiated {
            law: if k % 2 == 0 { Law::Ulaw } else { Law::Alaw },
            payload_type: if k % 2 == 0 { 0 } else { 8 },
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
        let leg_id = LegId(k);
        room.join(
            leg_id,
            Box::new(leg),
            Participant::new(roles[k as usize % 3]),
        )
        .unwrap();
        peers.push(Peer {
            socket: peer_socket,
            writer: RtpWriter::new(5000 + k as u32, 1, 1),
            leg_id,
        });
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

    let mut payload = [0u8; 160];
    let mut packet = [0u8; 200];
    let mut signals = 0usize;
    let mut tick = |room: &mut MediaRoom, now_ms: u64| {
        room.tick(now_ms, |_, _| signals += 1);
    };
    // Warm up outside the count: the first packets latch the legs.
    for t in 0..50u64 {
        send_voices(&mut peers, t, &mut payload, &mut packet);
        tick(&mut room, t * 20);
    }

    COUNTING.with(|c| c.set(true));
    for t in 50..5050u64 {
        send_voices(&mut peers, t, &mut payload, &mut packet);
        // State changes between ticks, as the worker applies its commands.
        match t % 500 {
            0 => room.play_bridge(Beep::One),
            50 => {
                room.set_music(MusicSlot::AgentHold, Some(music.clone()));
                room.set_music(MusicSlot::CustomerHold, None);
                room.play_bridge_clip(sound.clone());
            }
            100 => room.update(
                peers[1].leg_id,
                Participant {
                    held: true,
                    ..Participant::new(Role::Agent)
                },
            ),
            200 => room.update(peers[1].leg_id, Participant::new(Role::Agent)),
            300 => room.update(
                peers[0].leg_id,
                Participant {
                    muted: true,
                    ..Participant::new(Role::Customer)
                },
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
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    drop(room.stop_recording());
    let finished = done_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    std::fs::remove_file(&recording).unwrap();
    // Ticks run flat out here, far faster than real time, so the writer
    // may lag and frames become silence; either way the file has them all.
    assert_eq!(finished.samples, 5050 * 160, "one frame per tick");
    assert!(
        signals > 0,
        "the room really ran (VAD and digits were reported)"
    );
    assert_eq!(
        allocations, 0,
        "allocations on the media path over 5000 ticks"
    );
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
