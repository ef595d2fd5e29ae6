//! A leg's RTP socket, read with the kernel's receive timestamp of each
//! datagram (`SO_TIMESTAMPNS`), through `nix`'s safe `recvmsg`.
//!
//! The control-message buffer is allocated once, with the socket, and
//! `recvmsg` fills it in place: reading allocates nothing, so it may run
//! in a media tick (`media_no_alloc` checks it).

use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use nix::sys::time::TimeSpec;

/// One datagram read from the socket.
#[derive(Debug, Clone, Copy)]
pub(super) struct Received {
    /// Bytes written into the caller's buffer.
    pub len: usize,
    /// Who sent it.
    pub source: SocketAddr,
    /// When the kernel received it, on the wall clock (since the Unix
    /// epoch); `None` if the kernel gave no stamp.
    pub stamp: Option<Duration>,
}

/// A non-blocking UDP socket asking the kernel to stamp what it receives.
pub(super) struct StampedSocket {
    socket: UdpSocket,
    control: Box<[u8]>,
}

impl StampedSocket {
    /// Turns stamping on for `socket`. Should the kernel refuse, datagrams
    /// simply come without stamps, and their read time stands in.
    pub(super) fn new(socket: UdpSocket) -> Self {
        let _ = setsockopt(&socket, sockopt::ReceiveTimestampns, &true);
        Self {
            socket,
            control: nix::cmsg_space!(TimeSpec).into_boxed_slice(),
        }
    }

    /// The socket, for sending and for its address.
    pub(super) fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Reads one datagram into `buf` without blocking
    /// ([`io::ErrorKind::WouldBlock`] when none waits).
    pub(super) fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        let mut iov = [IoSliceMut::new(buf)];
        let message = recvmsg::<SockaddrStorage>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(&mut self.control),
            MsgFlags::MSG_DONTWAIT,
        )
        .map_err(io::Error::from)?;
        let source = message.address.as_ref().and_then(socket_addr);
        let mut stamp = None;
        if let Ok(controls) = message.cmsgs() {
            for control in controls {
                if let ControlMessageOwned::ScmTimestampns(at) = control {
                    stamp = Some(Duration::from(at));
                }
            }
        }
        let Some(source) = source else {
            // Not an IP source: nothing an RTP peer sends from.
            return Err(io::Error::from(Errno::EAFNOSUPPORT));
        };
        Ok(Received {
            len: message.bytes,
            source,
            stamp,
        })
    }
}

fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    address.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}
