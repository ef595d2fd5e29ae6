//! Free loopback ports, so that tests run side by side (within one process
//! and across processes) and beside whatever else the machine runs.
//!
//! Every port is carved from below Linux's ephemeral range (32768+), never
//! asked of the kernel with port 0: a port the kernel handed out and we
//! released can be handed out again at once — to another bind(0), or as
//! the local port of an outgoing connection (the tests' own HTTP clients)
//! — before the daemon we give it to binds it ("Address already in use").
//! Ranges (a daemon's RTP ports, a peer's media ports) and single ports
//! (listeners) come from separate stretches; the process id and a counter
//! spread them across processes, and a port in use is skipped.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where ranges are carved from: the top of the registered ports, below
/// the single ports.
const FLOOR: u16 = 10_000;
const CEILING: u16 = 26_000;
/// Where single ports are carved from, below the ephemeral range.
const SINGLES: (u16, u16) = (26_000, 32_600);

static RANGES: AtomicU32 = AtomicU32::new(0);
static SINGLE: AtomicU32 = AtomicU32::new(0);

/// A port of the singles' stretch that `free` accepts.
fn carve(free: impl Fn(u16) -> bool) -> u16 {
    let span = u32::from(SINGLES.1 - SINGLES.0);
    let n = SINGLE.fetch_add(1, Ordering::Relaxed);
    let start = (std::process::id().wrapping_mul(7919) + n.wrapping_mul(131)) % span;
    for attempt in 0..span {
        let port = SINGLES.0 + ((start + attempt) % span) as u16;
        if free(port) {
            return port;
        }
    }
    panic!(
        "no free loopback port between {} and {}",
        SINGLES.0, SINGLES.1
    );
}

/// A port on which both a UDP and a TCP socket can bind on 127.0.0.1 (a SIP
/// listener).
pub fn udp_and_tcp() -> u16 {
    carve(|p| {
        UdpSocket::bind(("127.0.0.1", p)).is_ok() && TcpListener::bind(("127.0.0.1", p)).is_ok()
    })
}

/// A loopback UDP port nobody uses right now.
pub fn udp() -> u16 {
    carve(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok())
}

/// A loopback TCP address nobody listens on right now.
pub fn tcp_addr() -> SocketAddr {
    let port = carve(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// `len` consecutive UDP ports, all free on 127.0.0.1, starting at an even
/// port (RTP's convention): `(first, last)`.
pub fn udp_range(len: u16) -> (u16, u16) {
    let len = len.max(2).next_multiple_of(2);
    let slots = u32::from((CEILING - FLOOR) / len);
    let n = RANGES.fetch_add(1, Ordering::Relaxed);
    let start = (std::process::id().wrapping_mul(7919) + n.wrapping_mul(37)) % slots;
    for attempt in 0..slots {
        let slot = (start + attempt) % slots;
        let min = FLOOR + (slot as u16) * len;
        if (min..min + len).all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok()) {
            return (min, min + len - 1);
        }
    }
    panic!("no {len} free consecutive UDP ports between {FLOOR} and {CEILING}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sip_port_is_free_for_udp_and_tcp() {
        let port = udp_and_tcp();
        assert!(UdpSocket::bind(("127.0.0.1", port)).is_ok());
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }

    #[test]
    fn single_ports_are_below_the_ephemeral_range_and_not_handed_out_twice() {
        let ports = [udp_and_tcp(), udp(), tcp_addr().port(), tcp_addr().port()];
        for port in ports {
            assert!((SINGLES.0..SINGLES.1).contains(&port), "{port}");
        }
        let mut distinct = ports.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
    }

    #[test]
    fn ranges_are_even_distinct_free_and_below_the_ephemeral_range() {
        let a = udp_range(200);
        let b = udp_range(200);
        for (min, max) in [a, b] {
            assert_eq!(max - min + 1, 200);
            assert_eq!(min % 2, 0);
            assert!(min >= FLOOR && max < 32_768);
        }
        assert!(a.1 < b.0 || b.1 < a.0, "{a:?} overlaps {b:?}");
        let (min, max) = udp_range(3);
        assert_eq!(max - min + 1, 4, "rounded up to an even length");
    }
}
