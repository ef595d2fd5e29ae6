//! One RTP leg against a peer socket on loopback, driven tick by tick the
//! way a media worker drives it: digits whose end packets are lost.

use std::net::UdpSocket;
use std::time::Duration;

use chorus_gateway::media::Leg;
use chorus_media::dtmf::encode_event;
use chorus_media::g711::Law;
use chorus_media::rtp::RtpWriter;
use chorus_media::sdp::{Direction, Negotiated};

/// Samples in the room's 20 ms tick.
const FRAME: usize = 160;

/// A peer socket and chorus's leg talking to it, PCMU with telephone-event
/// 101, sending `ptime_ms` packets to the peer.
fn pair(ptime_ms: u32) -> (UdpSocket, Leg) {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_nonblocking(true).unwrap();
    peer.connect(socket.local_addr().unwrap()).unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let negotiated = Negotiated {
        law: Law::Ulaw,
        payload_type: 0,
        telephone_event: Some(101),
        remote_rtp: peer.local_addr().unwrap(),
        remote_direction: Direction::SendRecv,
        local_direction: Direction::SendRecv,
        ptime_ms,
    };
    (peer, Leg::new(socket, &negotiated, 0x5EED, 1000))
}

/// Sends one telephone-event packet for `digit` from the peer.
fn send_event(peer: &UdpSocket, writer: &mut RtpWriter, start: u32, end: bool, duration: u16) {
    let mut payload = [0u8; 4];
    assert!(encode_event('5', end, 10, duration, &mut payload));
    let mut datagram = [0u8; 64];
    let len = writer
        .write_at(101, duration == 160, start, &payload, &mut datagram)
        .unwrap();
    peer.send(&datagram[..len]).unwrap();
}

/// A long press whose end packets are all lost: no report while its
/// updates keep coming, one report once they have stopped for a while,
/// none for its end packets arriving after that.
#[test]
fn a_press_whose_end_is_lost_is_reported_once_after_it_stops() {
    let (peer, mut leg) = pair(20);
    let mut writer = RtpWriter::new(88, 1, 4000);
    let mut reported: Vec<(u64, char)> = Vec::new();
    let mut pcm = [0i16; FRAME];
    let mut last_update = 0;
    for tick in 0..60u64 {
        let now = tick * 20;
        // Updates every 60 ms for 600 ms, then nothing (ends lost).
        if tick % 3 == 0 && now <= 600 {
            let duration = (now as u16 + 60) * 8;
            send_event(&peer, &mut writer, 4000, false, duration);
            last_update = now;
        }
        // A late end packet well after the report: not a second press.
        if now == 1100 {
            send_event(&peer, &mut writer, 4000, true, 5280);
        }
        leg.receive(now, |digit| reported.push((now, digit)));
        leg.play_out(now, &mut pcm);
    }
    assert_eq!(reported.len(), 1, "{reported:?}");
    let (at, digit) = reported[0];
    assert_eq!(digit, '5');
    let after = at - last_update;
    assert!(
        (200..=400).contains(&after),
        "reported {after} ms after the last update"
    );
}
