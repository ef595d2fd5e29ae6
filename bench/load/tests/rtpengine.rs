//! The rtpengine target against a real rtpengine on loopback: two calls
//! set up through the ng protocol, RTP relayed between each call's legs,
//! both calls deleted.
//!
//! rtpengine is started as the notes on peers describe (no config file,
//! userspace only, ports freed at once on delete) on a free ng port and a
//! free port range, and killed when the test ends, however it ends. A
//! missing rtpengine fails the test: a baseline that silently goes
//! untested is worse than a red CI.

use std::fs::File;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chorus_load::plan::Plan;
use chorus_load::target::rtpengine::Rtpengine;
use chorus_load::target::{Hearing, Setup, Target};

const RTPENGINE: &str = "/usr/bin/rtpengine";
/// RTP packets each leg sends.
const PACKETS: usize = 5;

/// A running rtpengine, killed on drop; its log is shown if the test
/// failed.
struct Daemon {
    child: Child,
    log: PathBuf,
    ng: SocketAddr,
    ports: (u16, u16),
}

impl Daemon {
    fn start() -> Self {
        assert!(
            Path::new(RTPENGINE).exists(),
            "{RTPENGINE} is missing: this test needs the rtpengine-daemon package \
             (apt-get install rtpengine-daemon; .ci/run installs it)"
        );
        let ng = SocketAddr::from(([127, 0, 0, 1], chorus_tests::ports::udp()));
        // A call takes four ports (an RTP and RTCP pair per side, picked
        // at random in the range), so 64 is plenty for two calls.
        let ports = chorus_tests::ports::udp_range(64);
        let log = std::env::temp_dir().join(format!(
            "chorus-load-rtpengine-{}-{}.log",
            std::process::id(),
            ng.port()
        ));
        let child = Command::new(RTPENGINE)
            .args([
                "--config-file=none",
                "--interface=127.0.0.1",
                &format!("--listen-ng={ng}"),
                &format!("--port-min={}", ports.0),
                &format!("--port-max={}", ports.1),
                "--foreground",
                "--log-stderr",
                "--table=-1",
                "--delete-delay=0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("create the rtpengine log"))
            .spawn()
            .expect("start rtpengine");
        Self {
            child,
            log,
            ng,
            ports,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Pings until rtpengine answers (it binds its ng port a moment after
    /// starting), failing with its log if it exits or stays silent.
    fn wait_until_up(&mut self, target: &mut Rtpengine) {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("rtpengine exited at start ({status}):\n{}", self.log());
            }
            match target.ping() {
                Ok(_) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!("rtpengine never answered a ping: {e}\n{}", self.log())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("rtpengine's log:\n{}", self.log());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// One RTP packet: a 12-byte header (version 2, PCMU) and `payload`.
fn rtp_packet(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut packet = vec![0x80, 0];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// 160 bytes no other leg sends.
fn payload(leg: usize) -> Vec<u8> {
    (0..160).map(|i| (leg * 61 + i) as u8).collect()
}

/// Every set-up of `count` legs, by leg, within 6 s.
fn all_setups(target: &mut Rtpengine, count: usize) -> Vec<Setup> {
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut setups = Vec::new();
    while setups.len() < count && Instant::now() < deadline {
        setups.extend(target.poll(Duration::from_millis(100)));
    }
    setups.sort_by_key(|s| s.leg);
    assert_eq!(setups.len(), count, "set-ups: {setups:?}");
    setups
}

/// The payloads `socket` receives until it has `PACKETS` or 2 s pass.
fn receive(socket: &UdpSocket) -> Vec<Vec<u8>> {
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 2048];
    let mut payloads = Vec::new();
    while payloads.len() < PACKETS && Instant::now() < deadline {
        if let Ok(len) = socket.recv(&mut buf) {
            assert_eq!(len, 12 + 160, "a relayed packet keeps its size");
            payloads.push(buf[12..len].to_vec());
        }
    }
    payloads
}

#[test]
fn two_calls_relay_each_legs_rtp_to_its_partner_only() {
    let started = Instant::now();
    let mut daemon = Daemon::start();
    let mut target = Rtpengine::new(daemon.ng).unwrap();
    daemon.wait_until_up(&mut target);
    assert_eq!(target.name(), "rtpengine");
    assert_eq!(target.hearing(), Hearing::Others);

    let plan = Plan::new(4, 2).unwrap();
    let sockets: Vec<UdpSocket> = (0..plan.legs)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    for (leg, socket) in plan.legs().zip(&sockets) {
        target.begin(&leg, socket.local_addr().unwrap()).unwrap();
    }
    let setups = all_setups(&mut target, plan.legs);
    let send_to: Vec<SocketAddr> = setups
        .iter()
        .map(|s| s.result.clone().expect("set-up"))
        .collect();
    for to in &send_to {
        assert!(to.ip().is_loopback(), "{to}");
        assert!(
            (daemon.ports.0..=daemon.ports.1).contains(&to.port()),
            "{to}"
        );
    }
    assert!(setups.iter().all(|s| s.latency < Duration::from_secs(1)));

    // 20 ms apart, every leg in turn, as a call would.
    for seq in 0..PACKETS as u16 {
        for (leg, socket) in sockets.iter().enumerate() {
            let packet = rtp_packet(seq, 0x1000 + leg as u32, &payload(leg));
            socket.send_to(&packet, send_to[leg]).unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for (leg, socket) in sockets.iter().enumerate() {
        let partner = leg ^ 1; // seats 0 and 1 of the same room
        let heard = receive(socket);
        assert_eq!(
            heard.len(),
            PACKETS,
            "leg {leg} got {} packets",
            heard.len()
        );
        assert!(
            heard.iter().all(|p| *p == payload(partner)),
            "leg {leg} heard something other than leg {partner}"
        );
        assert!(!heard.contains(&payload(leg)), "leg {leg} heard itself");
    }

    let teardown = target.finish(Duration::from_secs(4));
    assert_eq!(
        (
            teardown.ended,
            teardown.unanswered,
            teardown.ended_by_server
        ),
        (2, 0, 0)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}
