//! Drives the built `chorus-relay` binary as the capacity benchmark would:
//! wait for the ready line, send each leg its stream, check the echoes.

use std::io::{BufRead as _, BufReader, ErrorKind, Read as _};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const RELAY: &str = env!("CARGO_BIN_EXE_chorus-relay");
const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Bound on anything that should happen at once: the ready line, an echo.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is watched for.
const SILENCE: Duration = Duration::from_millis(200);
const DATAGRAMS_PER_CLIENT: usize = 100;

/// A running relay, killed when dropped (also when a test panics).
struct RunningRelay {
    child: Child,
    base_port: u16,
}

impl RunningRelay {
    fn leg(&self, index: u16) -> SocketAddr {
        SocketAddr::from((LOOPBACK, self.base_port + index))
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A base port whose `legs` consecutive ports were free a moment ago: the
/// kernel picks the first (bind to port 0), the rest are probed.
fn free_base_port(legs: u16) -> u16 {
    loop {
        let probe = UdpSocket::bind((LOOPBACK, 0)).unwrap();
        let base = probe.local_addr().unwrap().port();
        let Some(last) = base.checked_add(legs - 1) else {
            continue;
        };
        let rest: Result<Vec<_>, _> = (base + 1..=last)
            .map(|port| UdpSocket::bind((LOOPBACK, port)))
            .collect();
        if rest.is_ok() {
            return base;
        }
    }
}

/// Starts the relay and waits for its ready line. `Err(stderr)` when it
/// exits before that (a port taken meanwhile, say).
fn spawn_relay(base_port: u16, legs: u16) -> Result<RunningRelay, String> {
    let mut child = Command::new(RELAY)
        .args(["--listen", "127.0.0.1"])
        .args(["--base-port", &base_port.to_string()])
        .args(["--legs", &legs.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (line_tx, line_rx) = mpsc::channel();
    std::thread::spawn(move || {
        // The first line, or nothing if stdout closes first.
        if let Some(Ok(line)) = BufReader::new(stdout).lines().next() {
            let _ = line_tx.send(line);
        }
    });
    let mut relay = RunningRelay { child, base_port };
    match line_rx.recv_timeout(PATIENCE) {
        Ok(line) => {
            let last = base_port + legs - 1;
            assert_eq!(line, format!("ready {base_port}..{last}"));
            Ok(relay)
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let mut stderr = String::new();
            let _ = relay
                .child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr);
            Err(stderr)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no ready line within {PATIENCE:?}"),
    }
}

/// A relay on free ports, retrying when another process takes one between
/// the probe and the relay's bind.
fn start_relay(legs: u16) -> RunningRelay {
    for _ in 0..20 {
        match spawn_relay(free_base_port(legs), legs) {
            Ok(relay) => return relay,
            Err(stderr) if stderr.contains("in use") => continue,
            Err(stderr) => panic!("relay did not start: {stderr}"),
        }
    }
    panic!("no free ports for {legs} legs after 20 tries");
}

fn client() -> UdpSocket {
    let socket = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    socket
}

/// Client `client`'s datagram `seq`: distinct per client and sequence, and
/// of varying length, so a swapped, stale or truncated echo shows.
fn datagram(client: usize, seq: usize) -> Vec<u8> {
    let mut bytes = format!("client {client} seq {seq}:").into_bytes();
    bytes.extend((0..(seq * 7) % 200).map(|i| (i * 31 + client) as u8));
    bytes
}

/// Asserts nothing arrives on `socket` for a while.
fn assert_silent(socket: &UdpSocket, who: &str) {
    socket.set_read_timeout(Some(SILENCE)).unwrap();
    let mut buf = [0; 2048];
    match socket.recv_from(&mut buf) {
        Ok((len, from)) => panic!(
            "{who} got an unexpected {len}-byte datagram from {from}: {:?}",
            String::from_utf8_lossy(&buf[..len])
        ),
        Err(e) => assert!(
            matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{who}: {e}"
        ),
    }
}

#[test]
fn each_leg_echoes_to_its_latched_peer_only() {
    let relay = start_relay(3);
    let clients: Vec<UdpSocket> = (0..3).map(|_| client()).collect();
    let mut buf = [0; 2048];

    // The clients are not connected, so an echo from the wrong leg would
    // reach them and show. One datagram in flight per client keeps the test
    // clear of socket-buffer drops.
    for seq in 0..DATAGRAMS_PER_CLIENT {
        for (index, client) in clients.iter().enumerate() {
            client
                .send_to(&datagram(index, seq), relay.leg(index as u16))
                .unwrap();
        }
        for (index, client) in clients.iter().enumerate() {
            let (len, from) = client.recv_from(&mut buf).unwrap_or_else(|e| {
                panic!("client {index}: no echo of datagram {seq}: {e}");
            });
            assert_eq!(
                from,
                relay.leg(index as u16),
                "client {index}, datagram {seq}"
            );
            assert_eq!(
                buf[..len],
                datagram(index, seq),
                "client {index}, datagram {seq}"
            );
        }
    }

    // Leg 0 is latched to client 0 and connected: an intruder's datagram is
    // dropped by the kernel, echoed to no one. Client 0's marker sent after
    // it must be the next (and only) thing client 0 gets back.
    let intruder = client();
    intruder.send_to(b"intruder", relay.leg(0)).unwrap();
    clients[0].send_to(b"marker", relay.leg(0)).unwrap();
    let (len, from) = clients[0].recv_from(&mut buf).unwrap();
    assert_eq!((from, &buf[..len]), (relay.leg(0), &b"marker"[..]));

    assert_silent(&intruder, "the intruder");
    for (index, client) in clients.iter().enumerate() {
        assert_silent(client, &format!("client {index}"));
    }
}

#[test]
fn a_taken_port_is_named_in_the_error() {
    let squatter = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let port = squatter.local_addr().unwrap().port();
    let mut child = Command::new(RELAY)
        .args(["--base-port", &port.to_string(), "--legs", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Bounded: a relay that wrongly started would otherwise run for ever.
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("relay still running on a taken port after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    assert!(!status.success(), "exit status {status}");
    assert!(
        !stdout.contains("ready"),
        "ready line on a failed start: {stdout}"
    );
    assert!(stderr.contains(&format!("port {port}")), "stderr: {stderr}");
    assert!(stderr.contains("in use"), "stderr: {stderr}");
    drop(squatter);
}
