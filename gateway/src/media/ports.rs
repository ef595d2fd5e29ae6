//! RTP port allocation from the configured range.
//!
//! Ports are handed out by binding a socket: a port some other process holds
//! is skipped, and a port is free again as soon as its leg's socket drops. A
//! rotating cursor spreads allocations so a just-released port is not reused
//! at once (late packets of the old call would land in the new one).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

/// The configured RTP port range and where the next search starts.
#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    min: u16,
    max: u16,
    cursor: AtomicU32,
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
            cursor: AtomicU32::new(0),
        }
    }

    /// Binds a non-blocking UDP socket on the next free even port.
    pub fn bind(&self) -> Result<UdpSocket, PortsExhausted> {
        let first_even = self.min + (self.min % 2);
        let count = u32::from((self.max.saturating_sub(first_even)) / 2 + 1);
        for _ in 0..count {
            let k = self.cursor.fetch_add(1, Ordering::Relaxed) % count;
            let port = first_even + (k as u16) * 2;
            if let Ok(socket) = UdpSocket::bind(SocketAddr::new(self.ip, port))
                && socket.set_nonblocking(true).is_ok()
            {
                return Ok(socket);
            }
        }
        Err(PortsExhausted {
            ip: self.ip,
            min: self.min,
            max: self.max,
        })
    }
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
}
