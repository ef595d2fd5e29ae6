//! The payload store: payloads kept in arrival order in a store sized by
//! time, wrapping round, never split, never overwritten while buffered.

use super::*;

fn packet(seq: u16, payload: &[u8]) -> RtpPacket<'_> {
    RtpPacket {
        marker: false,
        payload_type: 0,
        sequence: seq,
        timestamp: u32::from(seq) * 160,
        ssrc: 9,
        payload,
    }
}

/// 160 bytes that say which packet they are, byte by byte.
fn body(seq: u16) -> Vec<u8> {
    (0..160u16)
        .map(|j| (seq.wrapping_add(j) % 251) as u8)
        .collect()
}

#[test]
fn payloads_come_back_whole_as_the_store_wraps_round() {
    // Room for three 20 ms payloads, and a fourth's start: every few
    // packets the next one goes back to the store's start.
    let mut jb = JitterBuffer::new(JitterConfig {
        store_bytes: 500,
        ..JitterConfig::default()
    });
    let mut played = Vec::new();
    for seq in 0..300u16 {
        let now = u64::from(seq) * 20;
        assert_eq!(jb.push(now, &packet(seq, &body(seq))), PushOutcome::Stored);
        if let Playout::Frame { payload, .. } = jb.pop(now + 10) {
            played.push(payload.to_vec());
        }
    }
    assert!(played.len() >= 295, "played {}", played.len());
    for (seq, payload) in played.iter().enumerate() {
        assert_eq!(payload, &body(seq as u16), "packet {seq} came back changed");
    }
    assert_eq!(jb.stats().dropped, 0);
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn a_full_store_skips_playout_forward_to_the_newest_packets() {
    let mut jb = JitterBuffer::new(JitterConfig {
        store_bytes: 3 * 160,
        ..JitterConfig::default()
    });
    // A burst of six after a stall, before anything plays: only the
    // newest three fit, the older three are given up.
    for seq in 0..6u16 {
        assert_eq!(jb.push(0, &packet(seq, &body(seq))), PushOutcome::Stored);
    }
    assert_eq!(jb.stats().dropped, 3);
    let mut played = Vec::new();
    for tick in 0..10u64 {
        if let Playout::Frame { payload, .. } = jb.pop(tick * 20) {
            played.push(payload.to_vec());
        }
    }
    assert_eq!(played, vec![body(3), body(4), body(5)]);
}

#[test]
fn the_store_is_never_smaller_than_one_largest_packet() {
    let mut jb = JitterBuffer::new(JitterConfig {
        store_bytes: 10,
        max_payload: 960,
        ..JitterConfig::default()
    });
    let long = vec![7u8; 960];
    assert_eq!(jb.push(0, &packet(0, &long)), PushOutcome::Stored);
    let Playout::Frame { payload, .. } = jb.pop(100) else {
        panic!("the packet plays");
    };
    assert_eq!(payload, &long[..]);
}
