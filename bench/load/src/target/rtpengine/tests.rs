//! The room logic against a scripted ng server: who waits for whom, and
//! how failures spread. The real rtpengine is in `tests/rtpengine.rs`.

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::*;
use crate::plan::Plan;

/// How the scripted server departs from a working rtpengine.
#[derive(Debug, Clone, Copy, Default)]
struct Script {
    refuse_answers: bool,
    garble_offers: bool,
    /// Deletes get rtpengine's reply for a call it no longer has.
    forget_calls: bool,
}

/// A scripted ng server: offers get port 20000 + n, answers 40000 + n,
/// and every reply follows a stray datagram the client must ignore.
struct FakeNg {
    addr: SocketAddr,
    commands: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeNg {
    fn start(script: Script) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (commands.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut n = 0;
            while !stopped.load(Ordering::Relaxed) {
                let Ok((len, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let (cookie, body) = ng_split(&buf[..len]);
                let message = bencode::decode(body).unwrap();
                let command = message.text_at("command").unwrap().to_string();
                n += 2;
                let reply = script.reply(&command, n);
                seen.lock().unwrap().push(command);
                socket.send_to(b"stray 1:x", from).unwrap();
                socket
                    .send_to(&[cookie, b" ", &reply].concat(), from)
                    .unwrap();
            }
        });
        Self {
            addr,
            commands,
            stop,
            thread: Some(thread),
        }
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }
}

impl Drop for FakeNg {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn ng_split(datagram: &[u8]) -> (&[u8], &[u8]) {
    let space = datagram.iter().position(|&b| b == b' ').unwrap();
    (&datagram[..space], &datagram[space + 1..])
}

impl Script {
    fn reply(&self, command: &str, n: u16) -> Vec<u8> {
        let ok_with_sdp = |port: u16| {
            let sdp = sdp::audio(SocketAddr::from(([127, 0, 0, 1], port)), 1);
            Value::dict([("result", Value::text("ok")), ("sdp", Value::text(&sdp))]).encode()
        };
        match command {
            "ping" => b"d6:result4:ponge".to_vec(),
            "offer" if self.garble_offers => b"d6:result2:ok3:sdp".to_vec(),
            "offer" => ok_with_sdp(20_000 + n),
            "answer" if self.refuse_answers => Value::dict([
                ("result", Value::text("error")),
                ("error-reason", Value::text("Unknown call-id")),
            ])
            .encode(),
            "answer" => ok_with_sdp(40_000 + n),
            "delete" if self.forget_calls => Value::dict([
                ("result", Value::text("ok")),
                (
                    "warning",
                    Value::text("Call-ID not found or tags didn't match"),
                ),
            ])
            .encode(),
            _ => b"d6:result2:oke".to_vec(),
        }
    }
}

fn rtp(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Polls until `count` set-ups are in (or 2 s pass), sorted by leg.
fn setups(target: &mut Rtpengine, count: usize) -> Vec<Setup> {
    let until = Instant::now() + Duration::from_secs(2);
    let mut all = Vec::new();
    while all.len() < count && Instant::now() < until {
        all.extend(target.poll(Duration::from_millis(50)));
    }
    all.sort_by_key(|s| s.leg);
    all
}

#[test]
fn the_caller_is_held_until_the_callee_answers_and_each_sends_to_the_other_side() {
    let server = FakeNg::start(Script::default());
    let mut target = Rtpengine::new(server.addr).unwrap();
    assert!(target.ping().is_ok());
    let plan = Plan::new(2, 2).unwrap();
    target.begin(&plan.leg(0), rtp(34_000)).unwrap();
    assert!(target.poll(Duration::from_millis(200)).is_empty());
    target.begin(&plan.leg(1), rtp(34_002)).unwrap();
    let done = setups(&mut target, 2);
    assert_eq!(done.len(), 2, "{done:?}");
    let to = |i: usize| done[i].result.clone().unwrap().port();
    assert!(to(0) > 40_000, "A sends where the answer's reply says");
    assert!(
        (20_000..40_000).contains(&to(1)),
        "B where the offer's reply says"
    );
    assert!(done.iter().all(|s| s.latency < Duration::from_millis(200)));
    assert_eq!(server.commands(), ["ping", "offer", "answer"]);
    let teardown = target.finish(Duration::from_secs(1));
    assert_eq!((teardown.ended, teardown.unanswered), (1, 0));
}

#[test]
fn a_callee_beginning_first_answers_only_after_the_offer() {
    let server = FakeNg::start(Script::default());
    let mut target = Rtpengine::new(server.addr).unwrap();
    let plan = Plan::new(4, 2).unwrap();
    target.begin(&plan.leg(1), rtp(34_002)).unwrap();
    target.begin(&plan.leg(3), rtp(34_006)).unwrap();
    target.begin(&plan.leg(2), rtp(34_004)).unwrap();
    target.begin(&plan.leg(0), rtp(34_000)).unwrap();
    let done = setups(&mut target, 4);
    assert!(done.iter().all(|s| s.result.is_ok()), "{done:?}");
    assert_eq!(server.commands(), ["offer", "offer", "answer", "answer"]);
}

#[test]
fn a_leg_without_a_partner_fails_saying_why() {
    let server = FakeNg::start(Script::default());
    let mut target = Rtpengine::new(server.addr)
        .unwrap()
        .with_partner_wait(Duration::from_millis(100));
    let plan = Plan::new(3, 2).unwrap();
    for leg in plan.legs() {
        target
            .begin(&leg, rtp(34_000 + 2 * leg.index as u16))
            .unwrap();
    }
    let done = setups(&mut target, 3);
    assert!(done[0].result.is_ok() && done[1].result.is_ok(), "{done:?}");
    let lonely = done[2].result.clone().unwrap_err();
    assert!(lonely.contains("room 1 has one leg"), "{lonely}");
    assert!(lonely.contains("even number of legs"), "{lonely}");
    // Its call was offered, so it is deleted too.
    assert_eq!(target.finish(Duration::from_secs(1)).ended, 2);
}

#[test]
fn a_third_seat_is_refused_at_once() {
    let server = FakeNg::start(Script::default());
    let mut target = Rtpengine::new(server.addr).unwrap();
    let leg = Plan::new(3, 3).unwrap().leg(2);
    let error = target.begin(&leg, rtp(34_000)).unwrap_err();
    assert!(error.contains("rooms of 2"), "{error}");
    assert!(server.commands().is_empty());
}

#[test]
fn a_refused_answer_fails_both_legs_with_rtpengines_reason() {
    let server = FakeNg::start(Script {
        refuse_answers: true,
        ..Script::default()
    });
    let mut target = Rtpengine::new(server.addr).unwrap();
    let plan = Plan::new(2, 2).unwrap();
    target.begin(&plan.leg(0), rtp(34_000)).unwrap();
    target.begin(&plan.leg(1), rtp(34_002)).unwrap();
    for setup in setups(&mut target, 2) {
        let error = setup.result.unwrap_err();
        assert!(error.contains("call load-0"), "{error}");
        assert!(error.contains("Unknown call-id"), "{error}");
    }
}

#[test]
fn a_malformed_reply_fails_the_room_and_leaves_no_call() {
    let server = FakeNg::start(Script {
        garble_offers: true,
        ..Script::default()
    });
    let mut target = Rtpengine::new(server.addr).unwrap();
    let plan = Plan::new(2, 2).unwrap();
    target.begin(&plan.leg(0), rtp(34_000)).unwrap();
    target.begin(&plan.leg(1), rtp(34_002)).unwrap();
    let done = setups(&mut target, 2);
    assert_eq!(done.len(), 2);
    for setup in done {
        assert!(setup.result.unwrap_err().contains("malformed reply"));
    }
    assert_eq!(target.finish(Duration::from_secs(1)), Teardown::default());
    assert!(!server.commands().contains(&"answer".to_string()));
}

#[test]
fn a_call_rtpengine_no_longer_has_counts_as_ended_by_it() {
    let server = FakeNg::start(Script {
        forget_calls: true,
        ..Script::default()
    });
    let mut target = Rtpengine::new(server.addr).unwrap();
    let plan = Plan::new(2, 2).unwrap();
    target.begin(&plan.leg(0), rtp(34_000)).unwrap();
    target.begin(&plan.leg(1), rtp(34_002)).unwrap();
    assert_eq!(setups(&mut target, 2).len(), 2);
    let teardown = target.finish(Duration::from_secs(1));
    assert_eq!((teardown.ended, teardown.ended_by_server), (0, 1));
}
