//! RTP port allocation from the configured range.
//!
//! Ports are handed out by binding a socket: a port some other process holds
//! is skipped, and a port is free again as soon as its leg's socket drops.
//! The order is random (a fresh random walk over the range's even ports for
//! every bind), so a host that saw one call's port cannot guess the next
//! call's and send to it first; the last [`RECENT`] ports handed out are
//! passed over while others are free, so a just-released port is not reused
//! at once (late packets of the old call would land in the new one).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Mutex;

/// How many of the last ports handed out are avoided while others are free.
pub const RECENT: usize = 64;

/// The configured RTP port range and the ports handed out last.
#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    min: u16,
    max: u16,
    /// A ring of the last ports handed out (0: none yet) and where the
    /// next one goes. Only bind, on the control plane, takes it.
    recent: Mutex<([u16; RECENT], usize)>,
}

/// Every port in the range was taken.
#[derive(Debug, thiserror::Error)]
#[error("no free RTP port in {min}..={max} on {ip}")]
pub struct PortsExhausted {
    /// The address the sockets bind to.
    pub ip: IpAddr,
    /// First port of the range.
    pub min: u16,
    /// Last port of the range.
    pub max: u16,
}

impl PortPool {
    /// A pool binding on `ip` within `min..=max`. RTP uses even ports by
    /// convention (RFC 3550 §11), so only even ports are handed out.
    pub fn new(ip: IpAddr, min: u16, max: u16) -> Self {
        Self {
            ip,
            min,
            max,
            recent: Mutex::new(([0; RECENT], 0)),
        }
    }

    /// Binds a non-blocking UDP socket on a free even port picked at random.
    pub fn bind(&self) -> Result<UdpSocket, PortsExhausted> {
        let first_even = self.min + (self.min % 2);
        let count = u64::from((self.max.saturating_sub(first_even)) / 2 + 1);
        let walk = RandomWalk::new(count, uuid::Uuid::new_v4().as_u128());
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        // First every port not handed out lately, then (a nearly full
        // range) those too.
        for avoid_recent in [true, false] {
            for k in walk.clone() {
                let port = first_even + (k as u16) * 2;
                if avoid_recent && recent.0.contains(&port) {
                    continue;
                }
                if let Ok(socket) = UdpSocket::bind(SocketAddr::new(self.ip, port))
                    && socket.set_nonblocking(true).is_ok()
                {
                    let (ring, next) = &mut *recent;
                    ring[*next] = port;
                    *next = (*next + 1) % RECENT;
                    return Ok(socket);
                }
            }
        }
        Err(PortsExhausted {
            ip: self.ip,
            min: self.min,
            max: self.max,
        })
    }
}

/// Every index of `0..count` once, in an order drawn from `seed`: a random
/// start, stepping by a random stride coprime with `count`.
#[derive(Debug, Clone)]
struct RandomWalk {
    count: u64,
    next: u64,
    stride: u64,
    left: u64,
}

impl RandomWalk {
    fn new(count: u64, seed: u128) -> Self {
        let count = count.max(1);
        let start = (seed as u64) % count;
        let mut stride = (((seed >> 64) as u64) % count).max(1);
        // Ends at 1 at the latest.
        while gcd(stride, count) != 1 {
            stride -= 1;
        }
        Self {
            count,
            next: start,
            stride,
            left: count,
        }
    }
}

impl Iterator for RandomWalk {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let k = self.next;
        self.next = (self.next + self.stride) % self.count;
        Some(k)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn hands_out_distinct_even_ports_then_reports_exhaustion() {
        let (base, _) = chorus_tests::ports::udp_range(6);
        let pool = PortPool::new(IpAddr::V4(Ipv4Addr::LOCALHOST), base, base + 5);
        let a = pool.bind().unwrap();
        let b = pool.bind().unwrap();
        let c = pool.bind().unwrap();
        let ports: Vec<u16> = [&a, &b, &c]
            .iter()
            .map(|s| s.local_addr().unwrap().port())
            .collect();
        assert!(
            ports
                .iter()
                .all(|p| p % 2 == 0 && *p >= base && *p <= base + 5)
        );
        assert_ne!(ports[0], ports[1]);
        assert_ne!(ports[1], ports[2]);
        assert!(pool.bind().is_err());
        drop(b);
        assert!(pool.bind().is_ok(), "a released port is free again");
    }

    #[test]
    fn a_random_walk_visits_every_index_once() {
        for count in [1u64, 2, 3, 10, 64, 97, 1000] {
            for seed in [0u128, 1, 12345, u128::MAX, 0xdead_beef << 64 | 77] {
                let mut seen: Vec<u64> = RandomWalk::new(count, seed).collect();
                seen.sort_unstable();
                let all: Vec<u64> = (0..count).collect();
                assert_eq!(seen, all, "count {count}, seed {seed}");
            }
        }
    }

    #[test]
    fn ports_come_in_no_predictable_order_and_are_not_reused_at_once() {
        let (base, _) = chorus_tests::ports::udp_range(400);
        let pool = PortPool::new(IpAddr::V4(Ipv4Addr::LOCALHOST), base, base + 399);
        let mut ports = Vec::new();
        for _ in 0..20 {
            // Bound and released at once, as a call that failed would.
            let port = pool.bind().unwrap().local_addr().unwrap().port();
            assert!(port.is_multiple_of(2) && (base..base + 400).contains(&port));
            ports.push(port);
        }
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            ports.len(),
            "a released port came back: {ports:?}"
        );
        // In order, each port would be the last one plus 2.
        let sequential = ports.windows(2).filter(|w| w[1] == w[0] + 2).count();
        assert!(sequential < 3, "predictable ports: {ports:?}");
    }
}
