//! Janus AudioBridge through the [`Target`] interface, end to end: a
//! private Janus on free loopback ports, one room of three plain-RTP legs,
//! two seconds of a distinct tone from each, and every leg must hear the
//! other two and not itself.
//!
//! Each leg sends from the very socket its join named: Janus sends a leg
//! nothing until it has heard it from there.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chorus_load::plan::Plan;
use chorus_load::target::janus::daemon::{JANUS_BIN, JanusDaemon, RtpRanges};
use chorus_load::target::janus::{Janus, SETUP_TIMEOUT};
use chorus_load::target::{Hearing, Setup, Target, Teardown};
use chorus_media::g711::Law;
use chorus_tests::ports;
use chorus_tests::tone::{self, RATE, ToneGenerator};

/// One tone per leg, far apart.
const TONES: [f32; 3] = [400.0, 1000.0, 1800.0];
const SEND_FOR: Duration = Duration::from_secs(2);
const FRAME: Duration = Duration::from_millis(20);
const SAMPLES: usize = 160;
/// "Most" windows: the mix takes a moment to start.
const HEARD_FRACTION: f64 = 0.7;

/// Prints Janus' log if the test panics; the daemon itself is killed by
/// its own drop right after.
struct LogOnPanic<'a>(&'a JanusDaemon);

impl Drop for LogOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- Janus log ---\n{}", self.0.log());
        }
    }
}

fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("chorus-load-janus-{}-{nanos}", std::process::id()))
}

fn start_janus(dir: &Path) -> JanusDaemon {
    assert!(
        Path::new(JANUS_BIN).exists(),
        "{JANUS_BIN} is missing: this test runs a real Janus (Debian: `apt-get install janus`)"
    );
    let (core_min, core_max) = ports::udp_range(20);
    let (bridge_min, bridge_max) = ports::udp_range(20);
    let rtp = RtpRanges {
        core: core_min..=core_max,
        audiobridge: bridge_min..=bridge_max,
    };
    JanusDaemon::start(dir, ports::tcp_addr().port(), &rtp).unwrap_or_else(|e| panic!("{e}"))
}

/// Begins every leg and polls until all have set up.
fn set_up(janus: &mut Janus, plan: &Plan, sockets: &[UdpSocket]) -> Vec<SocketAddr> {
    for (leg, socket) in plan.legs().zip(sockets) {
        janus
            .begin(&leg, socket.local_addr().unwrap())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let deadline = Instant::now() + SETUP_TIMEOUT + Duration::from_secs(1);
    let mut setups: Vec<Setup> = Vec::new();
    while setups.len() < plan.legs && Instant::now() < deadline {
        setups.extend(janus.poll(Duration::from_millis(500)));
    }
    assert_eq!(setups.len(), plan.legs, "set-ups: {setups:?}");
    setups.sort_by_key(|s| s.leg);
    setups
        .into_iter()
        .map(|s| {
            assert!(s.latency < SETUP_TIMEOUT, "{s:?}");
            s.result.unwrap_or_else(|e| panic!("leg {}: {e}", s.leg))
        })
        .collect()
}

/// One 20 ms PCMU packet: a bare RTP header and the payload.
fn rtp_packet(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x80, 0];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&(u32::from(seq) * SAMPLES as u32).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// The payload of an RTP packet (past CSRCs and a header extension).
fn rtp_payload(packet: &[u8]) -> Option<&[u8]> {
    let first = *packet.first()?;
    let mut at = 12 + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = u16::from_be_bytes([*packet.get(at + 2)?, *packet.get(at + 3)?]);
        at += 4 + 4 * usize::from(words);
    }
    packet.get(at..)
}

/// What one leg received: decoded audio, and from where.
#[derive(Default)]
struct Heard {
    pcm: Vec<i16>,
    packets: usize,
    from: Vec<SocketAddr>,
}

fn drain(socket: &UdpSocket, heard: &mut Heard) {
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = socket.recv_from(&mut buf) {
        let Some(payload) = rtp_payload(&buf[..n]) else {
            continue;
        };
        let mut pcm = vec![0i16; payload.len()];
        Law::Ulaw.decode(payload, &mut pcm);
        heard.pcm.extend_from_slice(&pcm);
        heard.packets += 1;
        if !heard.from.contains(&from) {
            heard.from.push(from);
        }
    }
}

/// Sends each leg's tone to its Janus address at the real pace, reading
/// every leg's socket between frames.
fn stream(sockets: &[UdpSocket], to: &[SocketAddr]) -> Vec<Heard> {
    let mut tones: Vec<ToneGenerator> = TONES
        .iter()
        .map(|&f| ToneGenerator::new(f, RATE, -10.0))
        .collect();
    let mut heard: Vec<Heard> = sockets.iter().map(|_| Heard::default()).collect();
    let (mut pcm, mut payload) = ([0i16; SAMPLES], [0u8; SAMPLES]);
    let start = Instant::now();
    let frames = (SEND_FOR.as_millis() / FRAME.as_millis()) as u16;
    for seq in 0..frames {
        for (leg, socket) in sockets.iter().enumerate() {
            tones[leg].fill(&mut pcm);
            Law::Ulaw.encode(&pcm, &mut payload);
            socket
                .send_to(&rtp_packet(seq, 0x1000 + leg as u32, &payload), to[leg])
                .unwrap();
        }
        let next = start + FRAME * u32::from(seq + 1);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        for (socket, heard) in sockets.iter().zip(&mut heard) {
            drain(socket, heard);
        }
    }
    // The mix of the last frames is still on its way.
    std::thread::sleep(Duration::from_millis(100));
    for (socket, heard) in sockets.iter().zip(&mut heard) {
        drain(socket, heard);
    }
    heard
}

fn presence(pcm: &[i16], freq: f32) -> f64 {
    tone::presence(pcm, RATE, freq)
}

fn loudest(pcm: &[i16], freq: f32) -> f64 {
    tone::window_levels(pcm, RATE, freq)
        .into_iter()
        .fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn three_plain_rtp_legs_each_hear_the_other_two() {
    let started = Instant::now();
    let dir = scratch_dir();
    let daemon = start_janus(&dir);
    let _log = LogOnPanic(&daemon);

    let mut janus = Janus::new(daemon.http(), 8000).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((janus.name(), janus.hearing()), ("janus", Hearing::Others));
    let plan = Plan::new(3, 3).unwrap();
    let sockets: Vec<UdpSocket> = (0..plan.legs)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let to = set_up(&mut janus, &plan, &sockets);
    janus.service();

    let heard = stream(&sockets, &to);
    for (leg, heard) in heard.iter().enumerate() {
        let mine = TONES[leg];
        let table: Vec<String> = TONES
            .iter()
            .map(|&f| {
                let (p, max) = (presence(&heard.pcm, f), loudest(&heard.pcm, f));
                format!("{f} Hz: presence {p:.2}, loudest {max:.1} dBFS")
            })
            .collect();
        let report = format!(
            "leg {leg} (sends {mine} Hz, {} packets from {:?}): {}",
            heard.packets,
            heard.from,
            table.join("; ")
        );
        eprintln!("{report}");
        assert!(heard.packets >= 50, "{report}");
        // Janus sends each leg its mix from the port it receives it on.
        assert_eq!(heard.from, vec![to[leg]], "{report}");
        for &other in TONES.iter().filter(|&&f| f != mine) {
            assert!(
                presence(&heard.pcm, other) >= HEARD_FRACTION,
                "does not hear {other} Hz: {report}"
            );
        }
        assert!(
            loudest(&heard.pcm, mine) < tone::ABSENT_DBFS,
            "hears itself: {report}"
        );
    }

    let teardown = janus.finish(Duration::from_secs(5));
    assert_eq!(
        teardown,
        Teardown {
            ended: 3,
            unanswered: 0,
            ended_by_server: 0
        }
    );
    drop(janus);
    drop(_log);
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn no_janus_is_a_clear_error() {
    let nobody = ports::tcp_addr();
    let err = Janus::new(nobody, 8000)
        .err()
        .expect("no Janus listens there");
    assert!(err.contains("creating a Janus session"), "{err}");
    let err = Janus::new(nobody, 44100).err().unwrap();
    assert!(err.contains("44100"), "{err}");
}

#[test]
fn a_room_left_by_an_earlier_run_is_replaced() {
    let dir = scratch_dir();
    let daemon = start_janus(&dir);
    let _log = LogOnPanic(&daemon);
    let plan = Plan::new(1, 1).unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();

    // A run that never finished: its room outlives its session.
    let mut crashed = Janus::new(daemon.http(), 8000).unwrap_or_else(|e| panic!("{e}"));
    set_up(&mut crashed, &plan, std::slice::from_ref(&socket));
    std::mem::forget(crashed);

    let mut janus = Janus::new(daemon.http(), 8000).unwrap_or_else(|e| panic!("{e}"));
    set_up(&mut janus, &plan, std::slice::from_ref(&socket));
    let teardown = janus.finish(Duration::from_secs(5));
    assert_eq!(teardown.ended, 1, "{teardown:?}");
    drop(_log);
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}
