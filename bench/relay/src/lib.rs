//! `chorus-relay`: the bare UDP relay, the baseline of the capacity benchmark.
//!
//! # What it is
//!
//! One thread and one epoll instance serving N legs, each leg its own UDP
//! socket on consecutive ports. Every datagram a leg receives is echoed back
//! to where it came from, byte for byte. The first datagram's source is
//! latched as the leg's peer and the socket is `connect()`ed to it, so each
//! echo is a plain `send` on a connected socket (no per-packet address lookup
//! or route resolution) and the kernel drops datagrams from anyone else
//! before they reach us. No RTP parsing, no jitter buffer, no decode, mix or
//! encode: nothing but the packet IO.
//!
//! # Why it exists
//!
//! G.711 rooms are bound by packet IO (the project's performance notes),
//! so the benchmark reports the daemon's legs per core as a ratio against
//! what this machine's UDP stack can do at all, measured in the same run
//! on the same (shared, noisy) machine. This relay is that ceiling: the
//! same shape as the daemon's media plane (a socket per leg, epoll,
//! latch-then-connect) with the audio work taken out. If chorusd reaches
//! ~80 % of its legs per core, the audio path is as cheap as it should be.
//!
//! # How to drive it
//!
//! ```text
//! chorus-relay --base-port 40000 --legs 2000 [--listen 127.0.0.1] [--burst 64] [--report-secs 5]
//! ```
//!
//! binds UDP ports 40000..=41999 and, once every socket is bound, prints
//! exactly one line to stdout, `ready 40000..41999`, and flushes it: a
//! driver starts the relay, waits for that line, then sends each leg's
//! stream to its port and receives the echoes on the same socket. A port
//! that is taken ends the relay before the ready line, with a non-zero exit
//! and a message naming the port. With `--report-secs` the relay writes
//! `echoed <n>` (the running total) to stderr at that interval.
//!
//! `--burst` caps the datagrams one leg echoes per wake (default 64). A leg
//! normally drains its socket until the kernel says it is empty, which costs
//! one empty read per wake; `--burst 1` skips that read and leaves any
//! backlog to the next `epoll_wait` instead, a variant worth measuring when
//! each leg holds about one packet per tick.
//!
//! There is no signal handling: SIGTERM and SIGINT keep their default action
//! and end the process at once, which is all a benchmark relay needs (it
//! holds no state worth flushing). With no flag to poll there is no wake-up
//! timer either, so idle legs cost nothing: without `--report-secs`,
//! `epoll_wait` blocks with no timeout.
//!
//! [`Relay`] is the loop itself, usable in-process: [`Relay::bind`] the legs,
//! then call [`Relay::turn`] forever.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// Most datagrams one leg echoes per wake by default: enough to drain any
/// realistic backlog in one go, few enough that one flooded leg cannot keep
/// the others waiting.
pub const DEFAULT_BURST: usize = 64;

/// The largest UDP payload: any datagram is echoed whole, not only
/// RTP-sized ones, so a driver can test with whatever it likes.
const MAX_DATAGRAM: usize = 65_535;

/// Ready legs taken from one `epoll_wait`; more ready legs than this are
/// simply reported again by the next call (level-triggered).
const EVENTS_PER_WAIT: usize = 256;

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The legs would run past port 65535.
    #[error("{legs} legs from port {base_port} run past port 65535")]
    PortRange {
        /// The first leg's port.
        base_port: u16,
        /// How many legs were asked for.
        legs: u16,
    },
    /// A leg's socket could not be bound (taken port, no such address,
    /// out of file descriptors) or set up.
    #[error("cannot bind UDP port {port} on {listen}")]
    Bind {
        /// The address the legs listen on.
        listen: IpAddr,
        /// The leg's port.
        port: u16,
        /// What the kernel said.
        #[source]
        source: io::Error,
    },
    /// The epoll instance could not be created or a leg registered with it.
    #[error("epoll")]
    Epoll(#[source] io::Error),
}

/// One leg: its socket and, once the first datagram arrived, the peer it is
/// latched (and connected) to.
struct Leg {
    socket: UdpSocket,
    peer: Option<SocketAddr>,
}

/// The relay: N legs on one epoll instance, served by whoever calls
/// [`Relay::turn`].
pub struct Relay {
    epoll: Epoll,
    legs: Vec<Leg>,
    ports: RangeInclusive<u16>,
    burst: usize,
    events: Vec<EpollEvent>,
    /// One receive buffer for every leg: a datagram is echoed before the
    /// next is read.
    buf: Box<[u8]>,
    echoed: u64,
}

impl Relay {
    /// Binds `legs` non-blocking UDP sockets on `listen`, ports
    /// `base_port..base_port + legs`, and registers them with a new epoll
    /// instance. Each leg echoes at most `burst` datagrams per wake
    /// ([`DEFAULT_BURST`] is a good value; 0 is taken as 1).
    pub fn bind(
        listen: IpAddr,
        base_port: u16,
        legs: u16,
        burst: usize,
    ) -> Result<Self, RelayError> {
        let last = legs
            .checked_sub(1)
            .and_then(|span| base_port.checked_add(span))
            .ok_or(RelayError::PortRange { base_port, legs })?;
        let epoll =
            Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(|e| RelayError::Epoll(e.into()))?;
        let mut bound = Vec::with_capacity(usize::from(legs));
        for port in base_port..=last {
            let bind_error = |source| RelayError::Bind {
                listen,
                port,
                source,
            };
            let socket = UdpSocket::bind((listen, port)).map_err(bind_error)?;
            socket.set_nonblocking(true).map_err(bind_error)?;
            // Level-triggered, not edge-triggered: a leg that still holds
            // datagrams after its burst must be served again, and
            // level-triggered epoll reports it again on the next wait by
            // itself. Edge-triggered would only report new arrivals, so we
            // would have to keep our own list of legs left with a backlog.
            // Idle legs are never on the ready list either way.
            let token = EpollEvent::new(EpollFlags::EPOLLIN, bound.len() as u64);
            epoll
                .add(&socket, token)
                .map_err(|e| RelayError::Epoll(e.into()))?;
            bound.push(Leg { socket, peer: None });
        }
        Ok(Self {
            epoll,
            legs: bound,
            ports: base_port..=last,
            burst: burst.max(1),
            events: vec![EpollEvent::empty(); EVENTS_PER_WAIT],
            buf: vec![0; MAX_DATAGRAM].into_boxed_slice(),
            echoed: 0,
        })
    }

    /// The legs' ports, first to last.
    pub fn ports(&self) -> RangeInclusive<u16> {
        self.ports.clone()
    }

    /// Datagrams echoed so far, all legs together.
    pub fn echoed(&self) -> u64 {
        self.echoed
    }

    /// Waits up to `timeout` for legs to become readable
    /// ([`EpollTimeout::NONE`]: for ever), then serves each ready leg: reads
    /// datagrams until the socket is empty or the burst is used up, echoing
    /// each to the leg's peer. A signal interrupting the wait is a turn with
    /// nothing to do.
    ///
    /// Errors are the kernel's unexpected answers (not "empty", not "peer
    /// gone", not "send buffer full"): the relay cannot go on.
    pub fn turn(&mut self, timeout: EpollTimeout) -> io::Result<()> {
        let ready = match self.epoll.wait(&mut self.events, timeout) {
            Ok(ready) => ready,
            Err(Errno::EINTR) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for event in &self.events[..ready] {
            // The token is the leg's index, set in `bind`.
            let leg = &mut self.legs[event.data() as usize];
            self.echoed += serve(leg, &mut self.buf, self.burst)?;
        }
        Ok(())
    }
}

/// Echoes up to `burst` of `leg`'s queued datagrams, latching the leg to the
/// first datagram's source. Returns how many were echoed.
fn serve(leg: &mut Leg, buf: &mut [u8], burst: usize) -> io::Result<u64> {
    let mut echoed = 0;
    for _ in 0..burst {
        let (len, source) = match leg.socket.recv_from(buf) {
            Ok(received) => received,
            Err(e) => match e.kind() {
                io::ErrorKind::WouldBlock => break,
                // The latched peer's port is closed: an ICMP port
                // unreachable came back for an echo. Reading reports and
                // clears it; the leg stays latched, as RTP legs do.
                io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted => continue,
                _ => return Err(e),
            },
        };
        match leg.peer {
            None => {
                leg.socket.connect(source)?;
                leg.peer = Some(source);
            }
            Some(peer) if peer == source => {}
            // Queued before the leg was latched, so the connect did not
            // filter it: it is not the peer's, drop it like the kernel
            // drops the later ones.
            Some(_) => continue,
        }
        match leg.socket.send(&buf[..len]) {
            Ok(_) => echoed += 1,
            // UDP is lossy and so is a relay under overload: a full send
            // buffer or a peer that went away loses this datagram, it does
            // not stall the other legs.
            Err(e) if send_drop(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(echoed)
}

/// Whether a failed echo is an ordinary loss rather than a broken relay.
fn send_drop(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted
    ) || e.raw_os_error() == Some(Errno::ENOBUFS as i32)
}
