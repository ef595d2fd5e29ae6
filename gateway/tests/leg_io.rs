//! One RTP leg against a peer socket on loopback, driven tick by tick the
//! way a media worker drives it: packets of any duration in, 20 ms frames
//! to the mix, packets of the peer's ptime out; digits whose end packets
//! are lost; arrival times taken from the kernel, not from the tick.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use chorus_gateway::media::Leg;
use chorus_gateway::media::readiness::ReadySet;
use chorus_media::dtmf::encode_event;
use chorus_media::g711::Law;
use chorus_media::rtp::{RtpPacket, RtpWriter};
use chorus_media::sdp::{Direction, Negotiated};
use chorus_tests::tone::ToneGenerator;

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

/// `n` samples of a µ-law sine whose period does not divide 10 ms, so any
/// cut or repeat shows in a sample-exact comparison.
fn tone_bytes(n: usize) -> Vec<u8> {
    let mut pcm = vec![0i16; n];
    ToneGenerator::new(425.0, 8000, -10.0).fill(&mut pcm);
    let mut bytes = vec![0u8; n];
    Law::Ulaw.encode(&pcm, &mut bytes);
    bytes
}

fn decode(bytes: &[u8]) -> Vec<i16> {
    let mut pcm = vec![0i16; bytes.len()];
    Law::Ulaw.decode(bytes, &mut pcm);
    pcm
}

/// Every datagram waiting on the peer socket, parsed:
/// (payload type, marker, sequence, timestamp, payload).
fn drain(peer: &UdpSocket) -> Vec<(u8, bool, u16, u32, Vec<u8>)> {
    peer.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 2048];
    let mut out = Vec::new();
    while let Ok(n) = peer.recv(&mut buf) {
        let p = RtpPacket::parse(&buf[..n]).unwrap();
        out.push((
            p.payload_type,
            p.marker,
            p.sequence,
            p.timestamp,
            p.payload.to_vec(),
        ));
    }
    peer.set_nonblocking(false).unwrap();
    out
}

/// The peer sends `rx_ptime_ms` packets of a tone, in virtual time, just
/// before the tick that may first read them; the leg's 20 ms frames must
/// be that tone sample for sample, with no gap and no concealment, from
/// the first packet on.
fn packets_of_any_duration_become_exact_20_ms_frames(rx_ptime_ms: u32) {
    let (peer, mut leg) = pair(20);
    let packet = rx_ptime_ms as usize * 8;
    let sent = tone_bytes(packet * 40);
    let mut writer = RtpWriter::new(77, 500, 9000);
    let mut datagram = [0u8; 1500];
    let mut next_packet = 0;
    let mut heard: Vec<i16> = Vec::new();
    let mut pcm = [0i16; FRAME];
    let ticks = sent.len() / FRAME;
    for tick in 0..ticks as u64 {
        let now = tick * 20;
        while next_packet * packet < sent.len()
            && next_packet as u64 * u64::from(rx_ptime_ms) <= now
        {
            let payload = &sent[next_packet * packet..(next_packet + 1) * packet];
            let len = writer
                .write(0, false, payload, packet as u32, &mut datagram)
                .unwrap();
            peer.send(&datagram[..len]).unwrap();
            next_packet += 1;
        }
        leg.receive(now, &mut ReadySet::default(), |_| {});
        if leg.play_out(now, &mut pcm) {
            heard.extend_from_slice(&pcm);
        }
    }
    let expected = decode(&sent);
    // A start may be led by silence (packets that are not whole frames are
    // pulled early), never by anything else, and by less than a frame.
    let first_sound = |pcm: &[i16]| pcm.iter().position(|s| *s != 0).unwrap_or(pcm.len());
    let lead = first_sound(&heard) - first_sound(&expected);
    assert!(
        lead < FRAME,
        "{rx_ptime_ms} ms: {lead} samples before the audio"
    );
    let heard = &heard[lead..];
    let played = heard.len().min(expected.len());
    assert!(
        played + 3 * packet.max(FRAME) >= expected.len(),
        "{rx_ptime_ms} ms: only {played} of {} samples played",
        expected.len()
    );
    let first_difference = heard[..played]
        .iter()
        .zip(&expected)
        .position(|(a, b)| a != b);
    assert_eq!(
        first_difference, None,
        "{rx_ptime_ms} ms packets: the frames are not the sent audio"
    );
}

#[test]
fn ten_ms_packets_become_exact_20_ms_frames() {
    packets_of_any_duration_become_exact_20_ms_frames(10);
}

#[test]
fn thirty_ms_packets_become_exact_20_ms_frames() {
    packets_of_any_duration_become_exact_20_ms_frames(30);
}

#[test]
fn sixty_ms_packets_become_exact_20_ms_frames() {
    packets_of_any_duration_become_exact_20_ms_frames(60);
}

/// The room's 20 ms frames go out as `tx_ptime_ms` packets: whole payloads
/// of that size, timestamps and sequence numbers continuous, the bytes
/// exactly the frames' bytes.
fn frames_go_out_at_the_peers_ptime(tx_ptime_ms: u32) {
    let (peer, mut leg) = pair(tx_ptime_ms);
    let size = tx_ptime_ms as usize * 8;
    let frames = tone_bytes(FRAME * 60);
    for frame in frames.chunks_exact(FRAME) {
        leg.send(frame);
    }
    let packets = drain(&peer);
    assert_eq!(packets.len(), frames.len() / size, "{tx_ptime_ms} ms");
    assert!(packets[0].1, "marker on the first packet");
    for p in &packets {
        assert_eq!((p.0, p.4.len()), (0, size), "{tx_ptime_ms} ms payloads");
    }
    for w in packets.windows(2) {
        assert_eq!(w[1].2, w[0].2.wrapping_add(1));
        assert_eq!(w[1].3.wrapping_sub(w[0].3), size as u32);
    }
    let bytes: Vec<u8> = packets.iter().flat_map(|p| p.4.clone()).collect();
    assert_eq!(bytes, frames[..bytes.len()]);
}

#[test]
fn frames_go_out_as_10_ms_packets() {
    frames_go_out_at_the_peers_ptime(10);
}

#[test]
fn frames_go_out_as_30_ms_packets() {
    frames_go_out_at_the_peers_ptime(30);
}

#[test]
fn frames_go_out_as_60_ms_packets() {
    frames_go_out_at_the_peers_ptime(60);
}

/// A re-INVITE asking for another packet time applies from the next
/// packet, with no gap in sequence numbers or timestamps.
#[test]
fn a_renegotiated_ptime_applies_from_the_next_packet() {
    let (peer, mut leg) = pair(20);
    let frames = tone_bytes(FRAME * 12);
    let mut chunks = frames.chunks_exact(FRAME);
    for frame in chunks.by_ref().take(4) {
        leg.send(frame);
    }
    leg.renegotiate(&Negotiated {
        law: Law::Ulaw,
        payload_type: 0,
        telephone_event: Some(101),
        remote_rtp: peer.local_addr().unwrap(),
        remote_direction: Direction::SendRecv,
        local_direction: Direction::SendRecv,
        ptime_ms: 40,
    });
    for frame in chunks {
        leg.send(frame);
    }
    let packets = drain(&peer);
    let sizes: Vec<usize> = packets.iter().map(|p| p.4.len()).collect();
    assert_eq!(sizes, [160, 160, 160, 160, 320, 320, 320, 320]);
    for w in packets.windows(2) {
        assert_eq!(w[1].2, w[0].2.wrapping_add(1));
        assert_eq!(w[1].3.wrapping_sub(w[0].3), w[0].4.len() as u32);
    }
    let bytes: Vec<u8> = packets.iter().flat_map(|p| p.4.clone()).collect();
    assert_eq!(bytes, frames);
}

/// A re-INVITE switching codec drops what waits in the old law, and the
/// clock runs on over it.
#[test]
fn a_codec_change_drops_the_old_laws_waiting_bytes() {
    let (peer, mut leg) = pair(30);
    let frames = tone_bytes(FRAME * 4);
    leg.send(&frames[..FRAME]);
    leg.send(&frames[FRAME..2 * FRAME]);
    leg.renegotiate(&Negotiated {
        law: Law::Alaw,
        payload_type: 8,
        telephone_event: Some(101),
        remote_rtp: peer.local_addr().unwrap(),
        remote_direction: Direction::SendRecv,
        local_direction: Direction::SendRecv,
        ptime_ms: 30,
    });
    leg.send(&frames[2 * FRAME..3 * FRAME]);
    leg.send(&frames[3 * FRAME..]);
    let packets = drain(&peer);
    // 320 bytes: one µ-law packet of 240, 80 left behind and dropped; then
    // 320 more: one A-law packet.
    let shape: Vec<(u8, usize)> = packets.iter().map(|p| (p.0, p.4.len())).collect();
    assert_eq!(shape, [(0, 240), (8, 240)]);
    assert_eq!(packets[1].3.wrapping_sub(packets[0].3), 240 + 80);
    assert_eq!(packets[1].4, frames[2 * FRAME..2 * FRAME + 240]);
}

/// A relayed digit at 30 ms: its packets take the place of whole audio
/// packets, its duration grows by a packet each update, and the audio
/// after it goes on with the clock that ran underneath.
#[test]
fn relayed_digits_follow_the_peers_ptime() {
    let (peer, mut leg) = pair(30);
    let frames = tone_bytes(FRAME * 45);
    let mut chunks = frames.chunks_exact(FRAME);
    for frame in chunks.by_ref().take(6) {
        leg.send(frame);
    }
    assert!(leg.send_digit('9'));
    for frame in chunks {
        leg.send(frame);
    }
    let packets = drain(&peer);
    let first_event = packets.iter().position(|p| p.0 == 101).unwrap();
    let events: Vec<_> = packets.iter().filter(|p| p.0 == 101).collect();
    let durations: Vec<u16> = events
        .iter()
        .map(|e| u16::from_be_bytes([e.4[2], e.4[3]]))
        .collect();
    // At least 100 ms of tone: four 30 ms updates, then three ends.
    assert_eq!(durations, [240, 480, 720, 960, 960, 960, 960]);
    let ends: Vec<bool> = events.iter().map(|e| e.4[1] & 0x80 != 0).collect();
    assert_eq!(ends, [false, false, false, false, true, true, true]);
    let start = packets[first_event].3;
    assert!(events.iter().all(|e| e.3 == start && e.4[0] == 9));
    assert!(
        events[0].1 && !events[1].1,
        "marker on the event's first packet"
    );
    assert_eq!(start, packets[first_event - 1].3 + 240);
    let after = &packets[first_event + events.len()];
    assert_eq!(after.0, 0);
    assert_eq!(after.4.len(), 240);
    assert_eq!(after.3, start + 7 * 240, "the audio clock ran underneath");
    for w in packets.windows(2) {
        assert_eq!(w[1].2, w[0].2.wrapping_add(1), "no sequence gap");
    }
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
        leg.receive(now, &mut ReadySet::default(), |digit| {
            reported.push((now, digit))
        });
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

/// Two packets sent 40 ms apart (their RTP timestamps say the same) are
/// read by one receive call, as when a tick comes late: the jitter
/// estimate must see them arrive 40 ms apart, as they did, not together.
#[test]
fn arrival_times_come_from_the_kernel_not_the_tick() {
    let (peer, mut leg) = pair(20);
    let epoch = Instant::now();
    let now_ms = || epoch.elapsed().as_millis() as u64;
    let mut writer = RtpWriter::new(99, 1, 0);
    let payload = tone_bytes(FRAME);
    let mut datagram = [0u8; 256];
    let mut send_at = |timestamp: u32| {
        let len = writer
            .write_at(0, false, timestamp, &payload, &mut datagram)
            .unwrap();
        peer.send(&datagram[..len]).unwrap();
    };
    let first = Instant::now();
    send_at(0);
    std::thread::sleep(Duration::from_millis(2));
    leg.receive(now_ms(), &mut ReadySet::default(), |_| {});
    // Each later packet's timestamp is the time it really left, so a
    // receiver that sees true arrival times sees no lateness at all.
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(40));
        send_at((first.elapsed().as_micros() * 8 / 1000) as u32);
    }
    std::thread::sleep(Duration::from_millis(2));
    leg.receive(now_ms(), &mut ReadySet::default(), |_| {});
    let stats = leg.jitter_stats();
    assert_eq!(stats.received, 3);
    assert!(
        stats.target_delay_frames <= 2,
        "a packet read late looked late: {stats:?}"
    );
    assert!(
        stats.jitter <= 8,
        "interarrival jitter of {} units (8 = 1 ms): {stats:?}",
        stats.jitter
    );
}
