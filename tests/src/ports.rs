//! Free loopback ports, so that tests run side by side (within one process
//! and across processes) and beside whatever else the machine runs.
//!
//! Single ports come from the kernel (bind port 0, read it, release it).
//! Ranges (a daemon's RTP ports, a peer's media ports) are carved from below
//! Linux's ephemeral range (32768+), so they never collide with the ports
//! the kernel hands out for port 0; the process id and a counter spread
//! them, and a range with any port in use is skipped.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where ranges are carved from: the top of the registered ports, below
/// the ephemeral range.
const FLOOR: u16 = 10_000;
const CEILING: u16 = 32_600;

static RANGES: AtomicU32 = AtomicU32::new(0);

/// A port on which both a UDP and a TCP socket can bind on 127.0.0.1 (a SIP
/// listener).
pub fn udp_and_tcp() -> u16 {
    for _ in 0..100 {
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else {
            continue;
        };
        if TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}

/// A loopback UDP port nobody uses right now.
pub fn udp() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free loopback UDP port")
        .port()
}

/// A loopback TCP address nobody listens on right now.
pub fn tcp_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback TCP port")
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
