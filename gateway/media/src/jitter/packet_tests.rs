//! The jitter buffer with packets other than 20 ms, popped the way a leg
//! pops it: whenever less than a 20 ms frame of decoded audio is left.

use super::*;

/// A frame at 8 kHz, which the driver takes off every 20 ms tick.
const FRAME: u32 = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Packet(u16),
    Lost,
}

fn packet(seq: u16, ts: u32, payload: &[u8]) -> RtpPacket<'_> {
    RtpPacket {
        marker: false,
        payload_type: 0,
        sequence: seq,
        timestamp: ts,
        ssrc: 5,
        payload,
    }
}

/// `count` packets of `ms` each, sent on time from `phase_ms`; `late(i)`
/// adds to packet i's arrival. The payload is the sequence number, padded
/// to the packet's length in samples.
fn arrivals(ms: u32, count: u16, phase_ms: u64, late: impl Fn(u16) -> u64) -> Vec<(u64, u16)> {
    (0..count)
        .map(|i| (u64::from(i) * u64::from(ms) + phase_ms + late(i), i))
        .collect()
}

/// Ticks every 20 ms for `ticks`; before each, pushes what has arrived,
/// then pops until a frame of audio is waiting. Returns what was popped
/// and the ticks on which playout was idle with nothing left.
fn drive(
    jb: &mut JitterBuffer,
    ms: u32,
    arrivals: &[(u64, u16)],
    ticks: u64,
) -> (Vec<Out>, Vec<u64>) {
    let samples = ms * 8;
    let mut order = arrivals.to_vec();
    order.sort_by_key(|a| a.0);
    let (mut next, mut waiting) = (0, 0u32);
    let (mut outs, mut idle) = (Vec::new(), Vec::new());
    let mut body = vec![0u8; samples as usize];
    for tick in 1..=ticks {
        let now = tick * 20;
        while next < order.len() && order[next].0 <= now {
            let (at, i) = order[next];
            body[..2].copy_from_slice(&i.to_be_bytes());
            jb.push(at, &packet(i, u32::from(i) * samples, &body));
            next += 1;
        }
        while waiting < FRAME {
            match jb.pop(now) {
                Playout::Frame { payload, .. } => {
                    outs.push(Out::Packet(u16::from_be_bytes([payload[0], payload[1]])));
                    waiting += payload.len() as u32;
                }
                Playout::Lost => {
                    outs.push(Out::Lost);
                    waiting += jb.packet_samples();
                }
                Playout::Idle => break,
            }
        }
        if waiting == 0 {
            idle.push(tick);
        }
        waiting = waiting.saturating_sub(FRAME);
    }
    (outs, idle)
}

fn played(outs: &[Out]) -> Vec<u16> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Packet(i) => Some(*i),
            Out::Lost => None,
        })
        .collect()
}

/// `Lost` between the first and last packet played.
fn inner_losses(outs: &[Out]) -> usize {
    let first = outs.iter().position(|o| matches!(o, Out::Packet(_)));
    let last = outs.iter().rposition(|o| matches!(o, Out::Packet(_)));
    match (first, last) {
        (Some(f), Some(l)) => outs[f..=l].iter().filter(|o| **o == Out::Lost).count(),
        _ => 0,
    }
}

#[test]
fn packets_of_any_duration_play_in_order_once_each() {
    for ms in [10u32, 30, 40, 60, 120] {
        for phase in [1u64, 5, 15, 19] {
            let count = (4000 / ms) as u16;
            let mut jb = JitterBuffer::new(JitterConfig {
                max_payload: 960,
                ..JitterConfig::default()
            });
            let (outs, _) = drive(&mut jb, ms, &arrivals(ms, count, phase, |_| 0), 220);
            assert_eq!(jb.packet_samples(), ms * 8, "{ms} ms learned");
            assert_eq!(played(&outs), (0..count).collect::<Vec<_>>(), "{ms} ms");
            // The pops of an uneven packet rate may find the first packets
            // a little early: one concealment shifts playout, then none.
            let losses = inner_losses(&outs);
            assert!(losses <= 1, "{ms} ms at phase {phase}: {losses} losses");
            assert_eq!(jb.stats().lost, 0);
        }
    }
}

#[test]
fn delays_are_times_whatever_the_packet_duration() {
    // Every fifth packet 55 ms late: the target covers 55 ms in any unit.
    for ms in [10u32, 20, 30, 60] {
        let mut jb = JitterBuffer::new(JitterConfig {
            max_payload: 960,
            ..JitterConfig::default()
        });
        let count = (3000 / ms) as u16;
        let late = arrivals(ms, count, 3, |i| if i % 5 == 4 { 55 } else { 0 });
        drive(&mut jb, ms, &late, 150);
        let target_ms = u32::from(jb.stats().target_delay_frames) * ms;
        assert!(
            (75..=120).contains(&target_ms),
            "{ms} ms packets: target {target_ms} ms"
        );
    }
    // The ceiling is a time too: 160 ms is two 120 ms packets, not eight.
    let mut jb = JitterBuffer::new(JitterConfig {
        max_payload: 960,
        ..JitterConfig::default()
    });
    let late = arrivals(120, 30, 3, |i| if i == 10 { 900 } else { 0 });
    drive(&mut jb, 120, &late, 120);
    assert_eq!(jb.stats().target_delay_frames, 2);
}

#[test]
fn a_stopped_stream_goes_idle_after_about_200_ms_at_any_duration() {
    for ms in [10u32, 30, 60, 120] {
        let mut jb = JitterBuffer::new(JitterConfig {
            max_payload: 960,
            ..JitterConfig::default()
        });
        let count = (1200 / ms) as u16;
        let (_, idle) = drive(&mut jb, ms, &arrivals(ms, count, 5, |_| 0), 100);
        // The last packet arrives at 1.2 s; idle follows after its audio
        // and about 200 ms of concealment.
        let first_idle_after_stream = idle.iter().find(|t| **t > 10).copied().unwrap();
        let quiet_ms = first_idle_after_stream * 20 - u64::from(count) * u64::from(ms);
        assert!(
            (200..=300).contains(&quiet_ms),
            "{ms} ms packets: idle {quiet_ms} ms after the stream's end"
        );
    }
}

#[test]
fn a_long_loss_of_long_packets_is_not_a_new_stream() {
    let mut jb = JitterBuffer::new(JitterConfig {
        max_payload: 960,
        ..JitterConfig::default()
    });
    // 30 ms packets; 250 of them (7.5 s) lost in a row. At 20 ms per
    // packet the timestamps would look 2.5 s off their sequence numbers.
    let mut stream = arrivals(30, 20, 5, |_| 0);
    stream.extend((270..290u16).map(|i| (u64::from(i) * 30 + 5, i)));
    drive(&mut jb, 30, &stream, 460);
    let stats = jb.stats();
    assert_eq!(stats.resets, 0, "{stats:?}");
    assert_eq!(stats.received, 40);
}
