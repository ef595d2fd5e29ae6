//! The generator catches what it exists to catch: a relay in this test
//! echoes every leg to itself, except that it drops every 20th packet of
//! leg 0, holds every 25th packet of leg 1 back by 60 ms, and also sends
//! leg 2's audio to leg 3 (a leg hearing another room). The report must
//! show exactly those faults, on exactly those legs, and no loss or wrong room on leg 4.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chorus_load::plan::LegPlan;
use chorus_load::run::{Options, run};
use chorus_load::target::{Hearing, Setup, Target, Teardown};

const LEGS: usize = 5;

/// The faulty relay's sockets, one per leg, as a [`Target`].
struct FaultyRelay {
    addresses: Vec<SocketAddr>,
    ready: Vec<Setup>,
}

impl Target for FaultyRelay {
    fn name(&self) -> &str {
        "faulty relay"
    }
    fn hearing(&self) -> Hearing {
        Hearing::Itself
    }
    fn begin(&mut self, leg: &LegPlan, _rtp: SocketAddr) -> Result<(), String> {
        self.ready.push(Setup {
            leg: leg.index,
            result: Ok(self.addresses[leg.index]),
            latency: Duration::ZERO,
        });
        Ok(())
    }
    fn poll(&mut self, _wait: Duration) -> Vec<Setup> {
        std::mem::take(&mut self.ready)
    }
    fn finish(&mut self, _wait: Duration) -> Teardown {
        Teardown::default()
    }
}

/// Runs the relay until `stop`: echo, with the faults above.
fn relay(sockets: Vec<UdpSocket>, stop: Arc<AtomicBool>) {
    let mut peers: Vec<Option<SocketAddr>> = vec![None; sockets.len()];
    let mut counts = vec![0u64; sockets.len()];
    let mut held: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::Relaxed) {
        for (i, socket) in sockets.iter().enumerate() {
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                peers[i] = Some(from);
                counts[i] += 1;
                let packet = &buf[..n];
                match i {
                    0 if counts[i].is_multiple_of(20) => {}
                    1 if counts[i].is_multiple_of(25) => held
                        .push_back((Instant::now() + Duration::from_millis(60), packet.to_vec())),
                    _ => {
                        let _ = socket.send_to(packet, from);
                    }
                }
                if i == 2
                    && let Some(leg3) = peers[3]
                {
                    let _ = sockets[3].send_to(packet, leg3);
                }
            }
        }
        while held.front().is_some_and(|(due, _)| *due <= Instant::now()) {
            let (_, packet) = held.pop_front().expect("just seen");
            if let Some(leg1) = peers[1] {
                let _ = sockets[1].send_to(&packet, leg1);
            }
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

#[test]
fn injected_loss_lateness_and_a_wrong_room_are_each_reported_on_their_leg() {
    let sockets: Vec<UdpSocket> = (0..LEGS)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect();
    let addresses = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let relay_thread = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || relay(sockets, stop))
    };
    let mut target = FaultyRelay {
        addresses,
        ready: Vec::new(),
    };
    let options = Options {
        legs: LEGS,
        room_size: 1,
        cps: 1000.0,
        warmup: Duration::from_millis(500),
        duration: Duration::from_secs(3),
        check: LEGS,
        ..Options::default()
    };
    let report = run(&mut target, &options).expect("the load runs");
    stop.store(true, Ordering::Relaxed);
    relay_thread.join().unwrap();
    println!("{}", report.table());

    let leg = |i: usize| report.legs[i].received;
    // Leg 0: one in twenty dropped, so about 5 % lost; the others none.
    let loss = leg(0).lost as f64 / leg(0).expected as f64;
    assert!(
        (0.04..0.06).contains(&loss),
        "leg 0 loss {loss}: {:?}",
        leg(0)
    );
    for i in 1..LEGS {
        assert_eq!(leg(i).lost, 0, "leg {i}: {:?}", leg(i));
    }
    // Leg 1: every held packet arrives 60 ms behind the one before it.
    // (Only the held packets are asserted: a busy machine may stall the
    // others too, and timings are the benchmark's business.)
    assert!(leg(1).late >= 4, "leg 1: {:?}", leg(1));
    // Leg 3 heard leg 2's tone: the only wrong room.
    assert_eq!(report.checked, LEGS);
    assert_eq!(report.wrong.len(), 1, "{:#?}", report.wrong);
    let wrong = &report.wrong[0];
    assert_eq!(wrong.leg, 3);
    let leg2_tone = chorus_load::plan::Plan::new(LEGS, 1).unwrap().leg(2).tone;
    assert_eq!(wrong.foreign, vec![leg2_tone]);
    assert!(wrong.missing.is_empty());
    assert!(!report.failures().is_empty());
}
