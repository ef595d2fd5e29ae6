//! Which sources a leg takes datagrams from, and where it sends: strict
//! RTP in the manner of Asterisk's `strictrtp`, as a pure state machine
//! (time is a parameter; no sockets).
//!
//! Drive it with [`SourceGuard::new`] (the SDP's address, the leg's
//! creation time), [`SourceGuard::admit`] for every datagram read (before
//! parsing it: a known source is a comparison of addresses), and
//! [`SourceGuard::renegotiate`] on a re-INVITE; send to
//! [`SourceGuard::peer`].
//!
//! The rules:
//! - The SDP's address is the *expected* source and always wins: its
//!   datagrams are always taken, and once it has been heard the leg stops
//!   learning (the SDP was right; no NAT to work around).
//! - Another source is *learned* (a peer behind NAT, whose packets come
//!   from elsewhere than its SDP says) only inside the learning window
//!   ([`LEARNING_WINDOW`] after the leg was made or renegotiated to a new
//!   address), and only after a probation: [`PROBATION_PACKETS`] RTP
//!   packets in sequence (one SSRC, each sequence number one more) from
//!   that one source, spread over at least [`PROBATION_TIME`], with nothing
//!   from the expected source meanwhile. A learned source is used (sent
//!   to, taken from) until the expected one is heard, which switches back.
//! - Everything else is foreign and dropped; once the window has closed,
//!   every other source is foreign until a renegotiation to a new address.
//!
//! With no usable SDP address (0.0.0.0, port 0) the first source to pass
//! probation inside the window is taken.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chorus_media::rtp::RtpPacket;

/// How long after a leg is made (or renegotiated to a new address) another
/// source than the SDP's may still be learned: a peer behind NAT sends its
/// first packets within a second of the answer; later, a new source is far
/// more likely an attacker than a peer that moved without a re-INVITE.
pub const LEARNING_WINDOW: Duration = Duration::from_secs(5);

/// Consecutive in-sequence RTP packets a stranger must send to be learned:
/// Asterisk's `learning_min_sequential` default; stray or spoofed single
/// datagrams never pass.
pub const PROBATION_PACKETS: u16 = 4;

/// The least time from a stranger's first probation packet to the one that
/// gets it learned. The packet count alone would let a host that guessed
/// the port and sent first take the leg in 80 ms, before the real caller's
/// first packet (which follows our answer by a round trip, far less than
/// this) arrives; a peer behind NAT only loses this much of its first audio.
pub const PROBATION_TIME: Duration = Duration::from_millis(500);

/// What to do with a datagram, by its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// From the peer (the expected or the learned source): take it.
    Peer,
    /// From anyone else, or a stranger still on probation: drop it.
    Foreign,
}

/// A stranger on probation.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    source: SocketAddr,
    ssrc: u32,
    next_sequence: u16,
    packets: u16,
    since: Instant,
}

/// The source rules of one leg (see the module doc).
#[derive(Debug, Clone)]
pub struct SourceGuard {
    /// The SDP's address, if usable.
    expected: Option<SocketAddr>,
    /// A source learned after probation, used until the expected one speaks.
    learned: Option<SocketAddr>,
    /// Until when strangers may be learned; `None`: no longer.
    learning_until: Option<Instant>,
    candidate: Option<Candidate>,
}

impl SourceGuard {
    /// Rules for a leg made at `now` whose SDP gave `remote` (`None` if the
    /// address is unusable).
    pub fn new(remote: Option<SocketAddr>, now: Instant) -> Self {
        Self {
            expected: remote,
            learned: None,
            learning_until: Some(now + LEARNING_WINDOW),
            candidate: None,
        }
    }

    /// A renegotiated SDP gave `remote`: if that is a new address, it is
    /// the expected source from `now` on, what was learned is forgotten and
    /// a new learning window opens. The same address changes nothing.
    pub fn renegotiate(&mut self, remote: Option<SocketAddr>, now: Instant) {
        if remote != self.expected {
            *self = Self::new(remote, now);
        }
    }

    /// Where the peer is: where to send.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.learned.or(self.expected)
    }

    /// Whether strangers may still be learned at `now`.
    pub fn learning(&self, now: Instant) -> bool {
        self.learning_until.is_some_and(|until| now < until)
    }

    /// Judges one `datagram` from `source`, read at `now`. The peer's
    /// datagrams cost one or two address comparisons; a stranger's are
    /// looked into (as RTP) only while the leg is learning.
    pub fn admit(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) -> Admission {
        if Some(source) == self.expected {
            // The SDP was right: nothing else is to be learned, and a
            // learned source (if any) gives way.
            self.learned = None;
            self.candidate = None;
            self.learning_until = None;
            return Admission::Peer;
        }
        if Some(source) == self.learned {
            return Admission::Peer;
        }
        if !self.learning(now) {
            self.learning_until = None;
            self.candidate = None;
            return Admission::Foreign;
        }
        // RTCP, junk: neither advance nor spoil a probation.
        let Ok(packet) = RtpPacket::parse(datagram) else {
            return Admission::Foreign;
        };
        let candidate = match self.candidate {
            Some(c)
                if c.source == source
                    && c.ssrc == packet.ssrc
                    && c.next_sequence == packet.sequence =>
            {
                Candidate {
                    next_sequence: packet.sequence.wrapping_add(1),
                    packets: c.packets.saturating_add(1),
                    ..c
                }
            }
            // A new source, stream or a gap: probation starts over.
            _ => Candidate {
                source,
                ssrc: packet.ssrc,
                next_sequence: packet.sequence.wrapping_add(1),
                packets: 1,
                since: now,
            },
        };
        if candidate.packets >= PROBATION_PACKETS && now - candidate.since >= PROBATION_TIME {
            self.learned = Some(source);
            self.candidate = None;
            // Learned once: a second stranger cannot take over.
            self.learning_until = None;
            return Admission::Peer;
        }
        self.candidate = Some(candidate);
        Admission::Foreign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "127.0.0.1:4000";
    const NAT: &str = "127.0.0.1:5000";
    const OTHER: &str = "127.0.0.1:6000";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn rtp(ssrc: u32, sequence: u16) -> [u8; 12] {
        let mut p = [0u8; 12];
        p[0] = 0x80;
        p[2..4].copy_from_slice(&sequence.to_be_bytes());
        p[8..12].copy_from_slice(&ssrc.to_be_bytes());
        p
    }

    /// Sends one 20 ms stream of `n` packets from `source` starting at
    /// `start` (ms after `t0`), sequence numbers from `first`; the verdicts.
    fn stream(
        guard: &mut SourceGuard,
        t0: Instant,
        source: &str,
        start: u64,
        first: u16,
        n: u16,
    ) -> Vec<Admission> {
        (0..n)
            .map(|k| {
                let at = t0 + Duration::from_millis(start + 20 * u64::from(k));
                guard.admit(at, addr(source), &rtp(7, first.wrapping_add(k)))
            })
            .collect()
    }

    fn packets_to_pass() -> u16 {
        // 20 ms apart: the probation's time, or its count if longer.
        let by_time = (PROBATION_TIME.as_millis() / 20) as u16 + 1;
        by_time.max(PROBATION_PACKETS)
    }

    #[test]
    fn the_sdp_source_is_always_taken_and_strangers_never_after_it_spoke() {
        let t0 = Instant::now();
        let mut guard = SourceGuard::new(Some(addr(SDP)), t0);
        assert_eq!(guard.admit(t0, addr(SDP), b"junk"), Admission::Peer);
        let verdicts = stream(&mut guard, t0, OTHER, 0, 1, 3 * packets_to_pass());
        assert!(verdicts.iter().all(|v| *v == Admission::Foreign));
        assert_eq!(guard.peer(), Some(addr(SDP)));
    }

    #[test]
    fn a_nated_peer_is_learned_after_probation_inside_the_window() {
        let t0 = Instant::now();
        let mut guard = SourceGuard::new(Some(addr(SDP)), t0);
        let n = packets_to_pass();
        let verdicts = stream(&mut guard, t0, NAT, 100, 1, n + 2);
        let first_taken = verdicts.iter().position(|v| *v == Admission::Peer);
        assert_eq!(first_taken, Some(usize::from(n) - 1), "{verdicts:?}");
        assert!(
            verdicts[usize::from(n)..]
                .iter()
                .all(|v| *v == Admission::Peer)
        );
        assert_eq!(guard.peer(), Some(addr(NAT)));
        // Learned once: another stranger cannot take over.
        let other = stream(&mut guard, t0, OTHER, 1000, 1, 3 * n);
        assert!(other.iter().all(|v| *v == Admission::Foreign));
        assert_eq!(guard.peer(), Some(addr(NAT)));
    }

    #[test]
    fn the_count_alone_does_not_pass_probation() {
        // A host that guessed the port and sends first, well ahead of the
        // caller: it must not have the leg before the caller speaks.
        let t0 = Instant::now();
        let mut guard = SourceGuard::new(Some(addr(SDP)), t0);
        let early = (PROBATION_TIME.as_millis() / 20) as u16;
        assert!(early > PROBATION_PACKETS);
        let verdicts = stream(&mut guard, t0, OTHER, 0, 1, early);
        assert!(verdicts.iter().all(|v| *v == Admission::Foreign));
        assert_eq!(guard.admit(t0, addr(SDP), &rtp(1, 1)), Admission::Peer);
        let after = stream(&mut guard, t0, OTHER, 500, early, 100);
        assert!(after.iter().all(|v| *v == Admission::Foreign));
    }

    #[test]
    fn gaps_other_streams_and_other_sources_restart_probation() {
        let t0 = Instant::now();
        let mut guard = SourceGuard::new(None, t0);
        let n = packets_to_pass();
        let mut t = 0;
        let mut at = || {
            t += 20;
            t0 + Duration::from_millis(t)
        };
        // Every few packets the stream is broken: never learned.
        for k in 0..(4 * n) {
            let datagram = match k % 5 {
                4 if k % 3 == 0 => rtp(8, k), // another SSRC
                4 => rtp(7, k + 10),          // a sequence gap
                _ => rtp(7, k),
            };
            let source = if k % 7 == 6 { OTHER } else { NAT };
            assert_eq!(
                guard.admit(at(), addr(source), &datagram),
                Admission::Foreign,
                "packet {k}"
            );
            if k % 5 == 3 {
                // RTCP from the candidate neither counts nor breaks.
                let rtcp = [0x81, 200, 0, 6, 0, 0, 0, 1];
                assert_eq!(guard.admit(at(), addr(NAT), &rtcp), Admission::Foreign);
            }
        }
        assert_eq!(guard.peer(), None);
    }

    #[test]
    fn without_a_usable_sdp_address_the_first_source_through_probation_is_taken() {
        let t0 = Instant::now();
        let mut guard = SourceGuard::new(None, t0);
        assert_eq!(guard.peer(), None);
        let n = packets_to_pass();
        let verdicts = stream(&mut guard, t0, NAT, 0, 65530, n);
        assert_eq!(verdicts.last(), Some(&Admission::Peer), "sequence wraps");
        assert_eq!(guard.peer(), Some(addr(NAT)));
    }

    #[test]
    fn after_the_window_every_other_source_is_foreign_until_a_new_address() {
        let t0 = Instant::now();
        let mut guard = SourceGuard::new(Some(addr(SDP)), t0);
        let late = LEARNING_WINDOW.as_millis() as u64;
        let n = packets_to_pass();
        let verdicts = stream(&mut guard, t0, NAT, late, 1, 3 * n);
        assert!(verdicts.iter().all(|v| *v == Admission::Foreign));
        // A probation running when the window closes does not finish.
        let mut guard = SourceGuard::new(Some(addr(SDP)), t0);
        let start = late - 20 * u64::from(n) / 2;
        let verdicts = stream(&mut guard, t0, NAT, start, 1, 3 * n);
        assert!(verdicts.iter().all(|v| *v == Admission::Foreign));
        // The same address again: still closed. A new one: learning again.
        let t1 = t0 + Duration::from_secs(10);
        guard.renegotiate(Some(addr(SDP)), t1);
        assert!(!guard.learning(t1));
        guard.renegotiate(Some(addr(OTHER)), t1);
        assert!(guard.learning(t1));
        assert_eq!(guard.peer(), Some(addr(OTHER)));
        let verdicts = stream(&mut guard, t1, NAT, 0, 1, n);
        assert_eq!(verdicts.last(), Some(&Admission::Peer));
    }

    #[test]
    fn the_sdp_source_switches_a_learned_leg_back() {
        let t0 = Instant::now();
        let mut guard = SourceGuard::new(Some(addr(SDP)), t0);
        let n = packets_to_pass();
        stream(&mut guard, t0, NAT, 0, 1, n);
        assert_eq!(guard.peer(), Some(addr(NAT)));
        let later = t0 + Duration::from_secs(60);
        assert_eq!(guard.admit(later, addr(SDP), &rtp(9, 1)), Admission::Peer);
        assert_eq!(guard.peer(), Some(addr(SDP)));
        assert_eq!(
            guard.admit(later, addr(NAT), &rtp(7, n)),
            Admission::Foreign
        );
    }

    #[test]
    fn the_sdp_source_speaking_ends_a_strangers_probation() {
        let t0 = Instant::now();
        let mut guard = SourceGuard::new(Some(addr(SDP)), t0);
        let n = packets_to_pass();
        stream(&mut guard, t0, NAT, 0, 1, n - 1);
        guard.admit(
            t0 + Duration::from_millis(20 * u64::from(n)),
            addr(SDP),
            &rtp(1, 1),
        );
        let verdicts = stream(&mut guard, t0, NAT, 20 * u64::from(n), n - 1, n);
        assert!(verdicts.iter().all(|v| *v == Admission::Foreign));
    }
}
