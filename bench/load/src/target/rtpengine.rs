//! rtpengine's userspace relay, driven over its ng control protocol: the
//! baseline for "a media server that only forwards packets".
//!
//! rtpengine relays calls between two parties, so a load against it has
//! rooms of 2 and each room is one call, `load-<room>`: the leg at seat 0
//! is the caller A (from-tag `a`), seat 1 the callee B (to-tag `b`).
//!
//! - [`Target::begin`] for A sends `offer` with SDP naming A's RTP socket;
//!   rtpengine answers with SDP naming the port it opened for B, which is
//!   where B must send.
//! - [`Target::begin`] for B sends `answer` with SDP naming B's RTP socket,
//!   once the offer is done (rtpengine knows no call before its offer);
//!   rtpengine answers with the port it opened for A, which is where A
//!   must send.
//! - So A's set-up is only complete with B's answer: [`Target::poll`]
//!   holds A's result until then and gives both legs together.
//!
//! A set-up's latency is its own command's round trip — the offer's for
//! A, the answer's for B, resends included — not offer-sent to
//! answer-replied: the legs begin one pacing step apart, and counting the
//! generator's own gap as the server's would make a slow pace look like a
//! slow server.
//!
//! A leg whose partner has not begun within the partner wait (10 s by
//! default) fails, and so does its partner if it comes later: an odd
//! number of legs leaves the last room with no callee. A failed offer or
//! answer fails both legs of its room. Each leg hears the other
//! ([`Hearing::Others`]).
//!
//! [`Target::finish`] sends `delete` for every call rtpengine accepted an
//! offer for. A delete that rtpengine answers with "Call-ID not found"
//! counts as ended by the server (its media timeout, 60 s without packets
//! by default, deletes idle calls on its own).
//!
//! The commands ride the `ng` channel (cookies, resends, timeouts)
//! encoded by the `bencode` codec, both written here: they are small,
//! and the generator takes on no dependency for them.
//!
//! To run one for a load (the flags the tests use): `rtpengine
//! --config-file=none --interface=127.0.0.1 --listen-ng=127.0.0.1:22222
//! --port-min=30000 --port-max=32000 --foreground --log-stderr --table=-1
//! --delete-delay=0`. Without `--config-file=none` it reads the packaged
//! config and opens more listeners; without `--delete-delay=0` a deleted
//! call keeps its ports 30 s; `--table=-1` keeps it out of the kernel, so
//! the userspace relay is what is measured.

mod bencode;
mod ng;
mod room;

use super::sdp;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{Hearing, Setup, Target, Teardown};
use crate::plan::LegPlan;
use bencode::Value;
use ng::{Channel, Reply};
use room::{Room, Seat, Stage, call_id};

/// How long a leg waits for the other leg of its room to begin.
pub const PARTNER_WAIT: Duration = Duration::from_secs(10);

/// What a command in flight was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Offer(usize),
    Answer(usize),
    Delete(usize),
    Ping,
}

/// rtpengine, reached over ng at one address.
pub struct Rtpengine {
    ng: Channel<Tag>,
    rooms: HashMap<usize, Room>,
    /// Rooms with one seat begun, by when the other must begin (in
    /// begin order, so the earliest deadline is first).
    lonely: VecDeque<(Instant, usize)>,
    partner_wait: Duration,
    done: Vec<Setup>,
    pong: Option<Result<Duration, String>>,
}

impl Rtpengine {
    /// A client of the rtpengine whose ng port is `ng`, from a socket on
    /// 127.0.0.1. Sends nothing yet: see [`Rtpengine::ping`].
    pub fn new(ng: SocketAddr) -> Result<Self, String> {
        Ok(Self {
            ng: Channel::new(ng)?,
            rooms: HashMap::new(),
            lonely: VecDeque::new(),
            partner_wait: PARTNER_WAIT,
            done: Vec::new(),
            pong: None,
        })
    }

    /// Sets how long a leg waits for its partner to begin (default
    /// [`PARTNER_WAIT`]); a load paced slower than one leg per this needs
    /// more.
    pub fn with_partner_wait(mut self, wait: Duration) -> Self {
        self.partner_wait = wait;
        self
    }

    /// Asks rtpengine for `pong`: its round trip (resends included), or
    /// why there was none within 4 s. Replies to other commands arriving
    /// meanwhile are handled as [`Target::poll`] would.
    pub fn ping(&mut self) -> Result<Duration, String> {
        self.pong = None;
        self.ng
            .send(Tag::Ping, &Value::dict([("command", Value::text("ping"))]))?;
        let until = Instant::now() + ng::GIVE_UP + ng::RETRANSMIT;
        while self.pong.is_none() {
            match self.ng.next(until) {
                Some(reply) => self.handle(reply),
                None => return Err(format!("no pong from {} in time", self.ng.server())),
            }
        }
        self.pong.take().unwrap_or_else(|| Err("no pong".into()))
    }

    fn send_offer(&mut self, room: usize, rtp: SocketAddr) -> Result<(), String> {
        let message = Value::dict([
            ("command", Value::text("offer")),
            ("call-id", Value::text(&call_id(room))),
            ("from-tag", Value::text("a")),
            ("sdp", Value::text(&sdp::audio(rtp, room))),
            // The notes' tested flags: no ICE candidates in the reply, and
            // rtpengine's own o= and c= lines in it.
            ("ICE", Value::text("remove")),
            ("replace", Value::texts(&["origin", "session-connection"])),
        ]);
        self.ng.send(Tag::Offer(room), &message)
    }

    /// Sends the room's answer if B has begun and the offer is done.
    fn advance(&mut self, index: usize) {
        let Some(room) = self.rooms.get_mut(&index) else {
            return;
        };
        let Some(b) = &room.seats[1] else { return };
        if room.failed.is_some()
            || room.answer != Stage::NotSent
            || !matches!(room.offer, Stage::Done(..))
        {
            return;
        }
        let message = Value::dict([
            ("command", Value::text("answer")),
            ("call-id", Value::text(&call_id(index))),
            ("from-tag", Value::text("a")),
            ("to-tag", Value::text("b")),
            ("sdp", Value::text(&sdp::audio(b.rtp, index))),
            ("ICE", Value::text("remove")),
        ]);
        match self.ng.send(Tag::Answer(index), &message) {
            Ok(()) => room.answer = Stage::Sent,
            Err(e) => room.fail(format!("call {}: {e}", call_id(index))),
        }
    }

    /// Moves a reply into its room.
    fn handle(&mut self, reply: Reply<Tag>) {
        let (index, is_offer) = match reply.tag {
            Tag::Ping => {
                self.pong = Some(reply.outcome.map(|_| reply.elapsed));
                return;
            }
            Tag::Delete(_) => return, // only awaited by `finish`
            Tag::Offer(index) => (index, true),
            Tag::Answer(index) => (index, false),
        };
        let Some(room) = self.rooms.get_mut(&index) else {
            return;
        };
        if is_offer {
            room.live = reply.outcome.is_ok();
        }
        let address = reply.outcome.and_then(|r| {
            let sdp = r.text_at("sdp").ok_or("the reply has no SDP")?;
            sdp::audio_address(sdp).map_err(|e| format!("rtpengine's SDP: {e}"))
        });
        match address {
            Ok(to) if is_offer => room.offer = Stage::Done(to, reply.elapsed),
            Ok(to) => room.answer = Stage::Done(to, reply.elapsed),
            Err(e) => room.fail(format!("call {}: {e}", call_id(index))),
        }
        self.advance(index);
        self.settle(index);
    }

    /// Reports every begun seat of the room whose result is known.
    fn settle(&mut self, index: usize) {
        let Some(room) = self.rooms.get_mut(&index) else {
            return;
        };
        for seat in 0..2 {
            let Some(outcome) = room.outcome(seat) else {
                return;
            };
            let Some(s) = room.seats[seat].as_mut().filter(|s| !s.reported) else {
                continue;
            };
            s.reported = true;
            let (result, latency) = match outcome {
                Ok((to, rtt)) => (Ok(to), rtt),
                Err(why) => (Err(why), s.began.elapsed()),
            };
            self.done.push(Setup {
                leg: s.leg,
                result,
                latency,
            });
        }
    }

    /// Fails the rooms whose partner wait is over with one seat begun.
    fn expire_lonely(&mut self, now: Instant) {
        while let Some(&(deadline, index)) = self.lonely.front() {
            if deadline > now {
                return;
            }
            self.lonely.pop_front();
            let Some(room) = self.rooms.get_mut(&index) else {
                continue;
            };
            if room.seats.iter().any(Option::is_none) {
                room.fail(format!(
                    "room {index} has one leg: its partner did not begin within {:?}; \
                     rtpengine relays calls of two (seat 0 offers, seat 1 answers), so a \
                     load against it needs rooms of 2 and an even number of legs",
                    self.partner_wait
                ));
                self.settle(index);
            }
        }
    }

    /// Reads the replies already queued, without waiting.
    fn drain(&mut self) {
        while let Some(reply) = self.ng.next(Instant::now()) {
            self.handle(reply);
        }
    }
}

impl Target for Rtpengine {
    fn name(&self) -> &str {
        "rtpengine"
    }

    fn hearing(&self) -> Hearing {
        Hearing::Others
    }

    fn begin(&mut self, leg: &LegPlan, rtp: SocketAddr) -> Result<(), String> {
        if leg.seat > 1 {
            return Err(format!(
                "leg {} has seat {} of room {}, but rtpengine relays calls of two: \
                 run it with rooms of 2",
                leg.index, leg.seat, leg.room
            ));
        }
        let now = Instant::now();
        let room = self.rooms.entry(leg.room).or_insert_with(Room::new);
        if room.seats[leg.seat].is_some() {
            return Err(format!(
                "leg {}: seat {} of room {} has begun already",
                leg.index, leg.seat, leg.room
            ));
        }
        room.seats[leg.seat] = Some(Seat {
            leg: leg.index,
            rtp,
            began: now,
            reported: false,
        });
        if room.seats[1 - leg.seat].is_none() {
            self.lonely.push_back((now + self.partner_wait, leg.room));
        }
        if leg.seat == 0 {
            if let Err(e) = self.send_offer(leg.room, rtp) {
                // The leg fails here; its partner, through the room.
                if let Some(room) = self.rooms.get_mut(&leg.room) {
                    room.fail(format!("call {}: {e}", call_id(leg.room)));
                    if let Some(a) = room.seats[0].as_mut() {
                        a.reported = true;
                    }
                }
                self.settle(leg.room);
                return Err(e);
            }
            if let Some(room) = self.rooms.get_mut(&leg.room) {
                room.offer = Stage::Sent;
            }
        }
        self.advance(leg.room);
        self.settle(leg.room);
        Ok(())
    }

    fn poll(&mut self, wait: Duration) -> Vec<Setup> {
        let until = Instant::now() + wait;
        loop {
            self.expire_lonely(Instant::now());
            if !self.done.is_empty() {
                self.drain();
                return std::mem::take(&mut self.done);
            }
            let wake = self.lonely.front().map_or(until, |&(d, _)| d.min(until));
            match self.ng.next(wake) {
                Some(reply) => self.handle(reply),
                None if Instant::now() >= until => {
                    self.expire_lonely(Instant::now());
                    return std::mem::take(&mut self.done);
                }
                None => {}
            }
        }
    }

    fn finish(&mut self, wait: Duration) -> Teardown {
        // Set-ups still in flight no longer matter; their calls are
        // deleted below if rtpengine accepted the offer.
        self.ng.abandon_all();
        let mut live: Vec<usize> = self
            .rooms
            .iter()
            .filter(|(_, room)| room.live)
            .map(|(&index, _)| index)
            .collect();
        live.sort_unstable();
        let mut teardown = Teardown::default();
        for index in live {
            let message = Value::dict([
                ("command", Value::text("delete")),
                ("call-id", Value::text(&call_id(index))),
                ("from-tag", Value::text("a")),
            ]);
            if self.ng.send(Tag::Delete(index), &message).is_err() {
                teardown.unanswered += 1;
            }
        }
        let until = Instant::now() + wait;
        while self.ng.in_flight() > 0 {
            let Some(reply) = self.ng.next(until) else {
                break;
            };
            match reply.outcome {
                Ok(r)
                    if r.text_at("warning")
                        .is_some_and(|w| w.contains("not found")) =>
                {
                    teardown.ended_by_server += 1;
                }
                Ok(_) => teardown.ended += 1,
                // A refusal ends nothing either.
                Err(_) => teardown.unanswered += 1,
            }
        }
        teardown.unanswered += self.ng.in_flight();
        self.ng.abandon_all();
        self.rooms.clear();
        self.lonely.clear();
        teardown
    }
}

#[cfg(test)]
mod tests;
