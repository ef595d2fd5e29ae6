//! Which legs' sockets have datagrams waiting, so that a tick reads only
//! those: one edge-triggered `epoll` per media worker.
//!
//! A worker [`Readiness::watch`]es each leg's socket when the leg joins a
//! room there, which gives the leg a slot; once a tick it
//! [`Readiness::poll`]s (one `epoll_wait` that never blocks) and every socket
//! something arrived on since has its slot marked in the [`ReadySet`]. A leg
//! reads its socket only when its slot is marked, so a quiet leg (a silent
//! member, a held call, an idle room's only caller) costs no syscall at all
//! instead of one empty read a tick.
//!
//! Edge-triggered means the kernel reports a socket when a datagram arrives,
//! not while one waits: a leg that stops reading before its socket is empty
//! (a flood past [`super::leg::MAX_DATAGRAMS_PER_READ`]) marks its slot again
//! itself, and a newly watched socket starts marked, in case datagrams came
//! before it was watched.
//!
//! Slots are plain indexes into a table sized when the worker is built (one
//! per RTP port, as no worker can hold more legs than there are ports), so
//! watching, polling and marking allocate nothing on the media thread. A leg
//! with no slot (never watched, or the table full, which cannot happen
//! while each leg has its own port) is simply read every tick.

use std::io;
use std::os::fd::AsFd;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

/// A watched socket's place in its worker's [`ReadySet`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Slot(u32);

/// Which slots have datagrams waiting. Built empty by [`Default`] for a
/// room ticked on its own (tests), whose legs have no slots and are read
/// every tick.
#[derive(Debug, Default)]
pub struct ReadySet {
    marked: Box<[bool]>,
}

impl ReadySet {
    /// Whether `slot` was marked, unmarking it.
    pub fn take(&mut self, slot: Slot) -> bool {
        self.marked
            .get_mut(slot.0 as usize)
            .is_some_and(std::mem::take)
    }

    /// Whether `slot` is marked, leaving it so.
    pub fn is_marked(&self, slot: Slot) -> bool {
        self.marked.get(slot.0 as usize).copied().unwrap_or(false)
    }

    /// Marks `slot`: its socket is read at the next tick.
    pub fn mark(&mut self, slot: Slot) {
        if let Some(marked) = self.marked.get_mut(slot.0 as usize) {
            *marked = true;
        }
    }
}

/// Events taken from the kernel per `epoll_wait`; more simply take more
/// calls in the same tick.
const EVENTS_PER_WAIT: usize = 1024;

/// One worker's epoll and slot table.
pub struct Readiness {
    epoll: Epoll,
    events: Box<[EpollEvent]>,
    ready: ReadySet,
    /// Slots not in use, taken from the back.
    free: Vec<u32>,
}

impl Readiness {
    /// An epoll with room for `slots` watched sockets.
    pub fn new(slots: usize) -> io::Result<Self> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let slots = u32::try_from(slots).unwrap_or(u32::MAX);
        Ok(Self {
            epoll,
            events: vec![EpollEvent::empty(); EVENTS_PER_WAIT].into_boxed_slice(),
            ready: ReadySet {
                marked: vec![false; slots as usize].into_boxed_slice(),
            },
            // Reversed, so that slots are handed out from 0 up.
            free: (0..slots).rev().collect(),
        })
    }

    /// Starts watching `socket`; `None` if every slot is taken or the
    /// kernel refused (the leg is then read every tick).
    pub fn watch(&mut self, socket: impl AsFd) -> Option<Slot> {
        let slot = self.free.pop()?;
        let flags = EpollFlags::EPOLLIN | EpollFlags::EPOLLET;
        if self
            .epoll
            .add(socket, EpollEvent::new(flags, u64::from(slot)))
            .is_err()
        {
            self.free.push(slot);
            return None;
        }
        let slot = Slot(slot);
        self.ready.mark(slot);
        Some(slot)
    }

    /// Stops watching `socket`, freeing its slot. The socket must still be
    /// open (it is: its leg is about to be handed back).
    pub fn unwatch(&mut self, slot: Slot, socket: impl AsFd) {
        let _ = self.epoll.delete(socket);
        self.ready.take(slot);
        self.free.push(slot.0);
    }

    /// Marks every socket that something arrived on since the last poll.
    /// Never blocks.
    pub fn poll(&mut self) {
        loop {
            let n = match self.epoll.wait(&mut self.events, EpollTimeout::ZERO) {
                Ok(n) => n,
                Err(nix::errno::Errno::EINTR) => continue,
                // EBADF/EINVAL cannot happen on our own epoll; should it,
                // ticks go on with nothing newly marked.
                Err(_) => return,
            };
            for event in &self.events[..n] {
                self.ready.mark(Slot(event.data() as u32));
            }
            if n < self.events.len() {
                return;
            }
        }
    }

    /// The marks, for a tick to take.
    pub fn ready(&mut self) -> &mut ReadySet {
        &mut self.ready
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;

    use super::*;

    fn socket() -> UdpSocket {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_nonblocking(true).unwrap();
        s
    }

    /// Polls until `slot` is marked or a second has gone by.
    fn marked_soon(readiness: &mut Readiness, slot: Slot) -> bool {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while std::time::Instant::now() < until {
            readiness.poll();
            if readiness.ready().take(slot) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        false
    }

    #[test]
    fn only_sockets_that_received_are_marked() {
        let mut readiness = Readiness::new(4).unwrap();
        let (a, b) = (socket(), socket());
        let slot_a = readiness.watch(&a).unwrap();
        let slot_b = readiness.watch(&b).unwrap();
        assert_ne!(slot_a, slot_b);
        // A new watch starts marked: something may have come before it.
        assert!(readiness.ready().take(slot_a));
        assert!(readiness.ready().take(slot_b));
        readiness.poll();
        assert!(!readiness.ready().take(slot_a), "nothing arrived yet");

        let peer = socket();
        peer.send_to(b"x", b.local_addr().unwrap()).unwrap();
        assert!(marked_soon(&mut readiness, slot_b));
        readiness.poll();
        assert!(!readiness.ready().take(slot_a), "a never received");
        // Edge-triggered: the unread datagram is not reported again...
        assert!(!readiness.ready().take(slot_b));
        // ...but the next arrival is.
        peer.send_to(b"y", b.local_addr().unwrap()).unwrap();
        assert!(marked_soon(&mut readiness, slot_b));
    }

    #[test]
    fn slots_are_reused_and_run_out_cleanly() {
        let mut readiness = Readiness::new(1).unwrap();
        let (a, b) = (socket(), socket());
        let slot = readiness.watch(&a).unwrap();
        assert_eq!(readiness.watch(&b), None, "one slot only");
        readiness.unwatch(slot, &a);
        let again = readiness.watch(&b).unwrap();
        assert_eq!(again, slot);
        // An unwatched socket is no longer reported.
        let peer = socket();
        readiness.ready().take(again);
        peer.send_to(b"x", a.local_addr().unwrap()).unwrap();
        assert!(!marked_soon(&mut readiness, again));
    }

    #[test]
    fn an_empty_set_marks_nothing() {
        let mut set = ReadySet::default();
        set.mark(Slot(3));
        assert!(!set.take(Slot(3)));
    }
}
