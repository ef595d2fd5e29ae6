//! A leg on loopback sockets against its peer and a stranger: what it
//! takes, what it counts, where it sends (the timing of probation and the
//! learning window is tested on the pure [`super::source::SourceGuard`]).

use std::net::UdpSocket;
use std::time::Duration;

use chorus_media::g711::Law;
use chorus_media::rtp::RtpWriter;
use chorus_media::sdp::{Direction, Negotiated};

use super::{FRAME_8K, Leg, MAX_DATAGRAMS_PER_READ};
use crate::media::readiness::ReadySet;

fn negotiated(peer: &UdpSocket, local_direction: Direction) -> Negotiated {
    Negotiated {
        law: Law::Ulaw,
        payload_type: 0,
        telephone_event: Some(101),
        remote_rtp: peer.local_addr().unwrap(),
        remote_direction: Direction::SendRecv,
        local_direction,
        ptime_ms: 20,
    }
}

/// The peer (the SDP's address), a stranger, and the leg.
fn setup() -> (UdpSocket, UdpSocket, Leg) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    let local = socket.local_addr().unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    for s in [&peer, &stranger] {
        s.connect(local).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
    }
    let leg = Leg::new(socket, &negotiated(&peer, Direction::SendRecv), 1, 1);
    (peer, stranger, leg)
}

/// Sends `n` 20 ms µ-law packets of one stream from `from`.
fn send_rtp(from: &UdpSocket, ssrc: u32, n: u16) {
    let mut writer = RtpWriter::new(ssrc, 1, 0);
    let mut datagram = [0u8; 200];
    for _ in 0..n {
        let len = writer
            .write(0, false, &[0xff; FRAME_8K], FRAME_8K as u32, &mut datagram)
            .unwrap();
        from.send(&datagram[..len]).unwrap();
    }
}

/// Lets loopback deliver what was just sent.
fn settle() {
    std::thread::sleep(Duration::from_millis(20));
}

#[test]
fn activity_counts_the_peers_rtp_and_rtcp_and_nothing_from_a_stranger() {
    let (peer, stranger, mut leg) = setup();
    let activity = leg.activity();
    send_rtp(&peer, 7, 3);
    peer.send(&[0x81, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0])
        .unwrap(); // RTCP SR
    peer.send(&[0xff; 5]).unwrap(); // junk: not activity
    send_rtp(&stranger, 9, 5);
    stranger.send(&[0x81, 200, 0, 6, 0, 0, 0, 1]).unwrap();
    settle();
    leg.drain();
    assert_eq!(activity.count(), 4);
    let counters = leg.counters();
    assert_eq!(
        (counters.received, counters.rtcp, counters.malformed),
        (3, 1, 1)
    );
    assert_eq!(counters.foreign, 6);
    assert_eq!(leg.take_foreign(), 6);
    assert_eq!(leg.take_foreign(), 0, "reported once");
    // A drain takes nothing into the jitter buffer.
    assert_eq!(leg.jitter_stats().received, 0);
    leg.drain(); // nothing waits: returns at once
    assert_eq!(activity.count(), 4);
}

#[test]
fn one_receive_reads_past_a_flood_to_the_peers_packet() {
    let (peer, stranger, mut leg) = setup();
    // Far more than a tick's worth of a stranger's datagrams (yet fewer
    // than the kernel buffers, about 256), then the peer's.
    send_rtp(&stranger, 9, 200);
    send_rtp(&peer, 7, 1);
    settle();
    leg.receive(0, &mut ReadySet::default(), |_| {});
    assert_eq!(leg.counters().foreign, 200);
    assert_eq!(leg.jitter_stats().received, 1, "the peer's packet was read");
    const { assert!(MAX_DATAGRAMS_PER_READ >= 1000) };
}

#[test]
fn a_stranger_sending_first_gets_nothing_and_is_not_heard() {
    let (peer, stranger, mut leg) = setup();
    send_rtp(&stranger, 9, 20);
    settle();
    leg.receive(0, &mut ReadySet::default(), |_| {});
    assert_eq!(leg.counters().foreign, 20);
    assert_eq!(leg.jitter_stats().received, 0);
    leg.send(&[0xff; FRAME_8K]);
    let mut buf = [0u8; 400];
    assert!(peer.recv(&mut buf).is_ok(), "the SDP's address is sent to");
    assert!(stranger.recv(&mut buf).is_err(), "the stranger got audio");
}

#[test]
fn on_hold_follows_our_negotiated_direction() {
    let (peer, _, mut leg) = setup();
    assert!(!leg.on_hold());
    for (direction, held) in [
        (Direction::SendOnly, true),
        (Direction::Inactive, true),
        (Direction::RecvOnly, true),
        (Direction::SendRecv, false),
    ] {
        leg.renegotiate(&negotiated(&peer, direction));
        assert_eq!(leg.on_hold(), held, "{direction:?}");
    }
}

#[test]
fn a_renegotiated_address_is_the_peer_from_then_on() {
    let (old, _, mut leg) = setup();
    let new = UdpSocket::bind("127.0.0.1:0").unwrap();
    new.connect(leg.socket.socket().local_addr().unwrap())
        .unwrap();
    new.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    leg.renegotiate(&negotiated(&new, Direction::SendRecv));
    send_rtp(&new, 3, 2);
    send_rtp(&old, 7, 2);
    settle();
    leg.receive(0, &mut ReadySet::default(), |_| {});
    assert_eq!(leg.counters().received, 2);
    assert_eq!(
        leg.counters().foreign,
        2,
        "the old address is a stranger now"
    );
    leg.send(&[0xff; FRAME_8K]);
    let mut buf = [0u8; 400];
    assert!(new.recv(&mut buf).is_ok());
}
