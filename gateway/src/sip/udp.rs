//! The SIP UDP socket, screened: it sits under rsipstack's UDP transport
//! (through its platform socket trait), and every datagram passes the
//! [`Guard`] before the stack sees it; refusals are answered (or dropped)
//! here.

use std::net::SocketAddr;
use std::sync::Arc;

use super::guard::Guard;
use super::screen::Verdict;

/// A tokio UDP socket whose receive path screens datagrams.
pub struct ScreeningSocket {
    socket: tokio::net::UdpSocket,
    guard: Arc<Guard>,
}

impl ScreeningSocket {
    /// Wraps a bound socket.
    pub fn new(socket: tokio::net::UdpSocket, guard: Arc<Guard>) -> Self {
        Self { socket, guard }
    }
}

#[async_trait::async_trait]
impl rsipstack::platform::net::UdpSocket for ScreeningSocket {
    async fn recv_from(&self, buf: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (len, from) = self.socket.recv_from(buf).await?;
            match self.guard.check(&buf[..len], from) {
                Verdict::Pass(len) => return Ok((len, from)),
                Verdict::Reply { response, .. } => {
                    let _ = self.socket.send_to(response.as_bytes(), from).await;
                }
                Verdict::Drop(_) => {}
            }
        }
    }

    async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.socket.send_to(buf, addr).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}
