//! One rtpengine call: its two seats (caller A, callee B), where its
//! offer and answer stand, and what each seat's set-up came to.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A leg that has begun.
pub struct Seat {
    /// The leg's index in the load.
    pub leg: usize,
    /// Its RTP socket, which its SDP names.
    pub rtp: SocketAddr,
    /// When it began, for the latency of a failure.
    pub began: Instant,
    /// Its set-up has been handed to the run.
    pub reported: bool,
}

/// Where a room's offer or answer stands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    NotSent,
    Sent,
    /// rtpengine's reply: the address it receives on for the other leg.
    Done(SocketAddr, Duration),
}

/// One call: its two seats and its two commands.
pub struct Room {
    pub seats: [Option<Seat>; 2],
    pub offer: Stage,
    pub answer: Stage,
    /// Why the room failed; every leg of it gets this error.
    pub failed: Option<String>,
    /// rtpengine accepted the offer, so the call exists until deleted.
    pub live: bool,
}

impl Room {
    /// A room nobody has begun in yet.
    pub fn new() -> Self {
        Self {
            seats: [None, None],
            offer: Stage::NotSent,
            answer: Stage::NotSent,
            failed: None,
            live: false,
        }
    }

    /// Fails the room, keeping the first reason: the rest follow from it.
    pub fn fail(&mut self, why: String) {
        self.failed.get_or_insert(why);
    }

    /// A seat's result, once there is one: where it sends, and how long
    /// its own command took.
    pub fn outcome(&self, seat: usize) -> Option<Result<(SocketAddr, Duration), String>> {
        if let Some(why) = &self.failed {
            return Some(Err(why.clone()));
        }
        match (self.offer, self.answer) {
            (Stage::Done(for_b, offer_rtt), Stage::Done(for_a, answer_rtt)) => {
                Some(Ok(if seat == 0 {
                    (for_a, offer_rtt)
                } else {
                    (for_b, answer_rtt)
                }))
            }
            _ => None,
        }
    }
}

/// The call id of `room`.
pub fn call_id(room: usize) -> String {
    format!("load-{room}")
}
