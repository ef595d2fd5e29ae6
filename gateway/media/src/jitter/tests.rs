use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Frame(u16),
    Lost,
    Idle,
}

fn packet(ssrc: u32, seq: u16, ts: u32, payload: &[u8]) -> RtpPacket<'_> {
    RtpPacket {
        marker: false,
        payload_type: 0,
        sequence: seq,
        timestamp: ts,
        ssrc,
        payload,
    }
}

fn out_of(p: Playout<'_>) -> Out {
    match p {
        Playout::Frame {
            payload,
            payload_type,
        } => {
            assert_eq!(payload_type, 0);
            Out::Frame(u16::from_be_bytes([payload[0], payload[1]]))
        }
        Playout::Lost => Out::Lost,
        Playout::Idle => Out::Idle,
    }
}

/// One packet to deliver: arrival time, sequence, timestamp, SSRC. The payload
/// carries the sequence number so the output shows what was played.
#[derive(Clone, Copy)]
struct Arrival {
    at_ms: u64,
    seq: u16,
    ts: u32,
    ssrc: u32,
}

fn stream(first_seq: u16, first_ts: u32, count: u16) -> Vec<Arrival> {
    (0..count)
        .map(|i| Arrival {
            at_ms: u64::from(i) * 20 + 5,
            seq: first_seq.wrapping_add(i),
            ts: first_ts.wrapping_add(u32::from(i) * 160),
            ssrc: 42,
        })
        .collect()
}

/// Runs the tick loop: before each 20 ms tick, push everything that arrived.
fn simulate(
    jb: &mut JitterBuffer,
    arrivals: &[Arrival],
    ticks: u64,
) -> (Vec<Out>, Vec<PushOutcome>) {
    let mut order: Vec<Arrival> = arrivals.to_vec();
    order.sort_by_key(|a| a.at_ms);
    let mut next = 0;
    let mut outs = Vec::new();
    let mut pushes = Vec::new();
    for tick in 1..=ticks {
        let now = tick * 20;
        while next < order.len() && order[next].at_ms <= now {
            let a = order[next];
            let body = a.seq.to_be_bytes();
            pushes.push(jb.push(a.at_ms, &packet(a.ssrc, a.seq, a.ts, &body)));
            next += 1;
        }
        outs.push(out_of(jb.pop(now)));
    }
    (outs, pushes)
}

/// `Lost` entries between the first and last played frame.
fn inner_losses(outs: &[Out]) -> usize {
    let first = outs
        .iter()
        .position(|o| matches!(o, Out::Frame(_)))
        .unwrap_or(0);
    let last = outs
        .iter()
        .rposition(|o| matches!(o, Out::Frame(_)))
        .unwrap_or(0);
    outs[first..=last]
        .iter()
        .filter(|o| **o == Out::Lost)
        .count()
}

fn frames(outs: &[Out]) -> Vec<u16> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Frame(s) => Some(*s),
            _ => None,
        })
        .collect()
}

#[test]
fn plays_in_order_stream_without_gaps() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let (outs, pushes) = simulate(&mut jb, &stream(100, 0, 50), 52);
    assert!(pushes.iter().all(|p| *p == PushOutcome::Stored));
    assert_eq!(frames(&outs), (100..150).collect::<Vec<_>>());
    let first = outs
        .iter()
        .position(|o| matches!(o, Out::Frame(_)))
        .unwrap();
    assert!(
        outs[first..first + 50]
            .iter()
            .all(|o| matches!(o, Out::Frame(_)))
    );
    assert_eq!(jb.stats().lost, 0);
    assert_eq!(jb.stats().target_delay_frames, 1);
}

#[test]
fn reordered_packets_play_in_order() {
    let config = JitterConfig {
        min_delay_frames: 3,
        ..JitterConfig::default()
    };
    let mut jb = JitterBuffer::new(config);
    let mut arrivals = stream(0, 0, 10);
    arrivals.swap(2, 3);
    arrivals[2].at_ms = arrivals[3].at_ms; // 3 and 2 arrive together, 3 first
    arrivals.swap(0, 1);
    arrivals[0].at_ms = 5;
    arrivals[1].at_ms = 5;
    let (outs, pushes) = simulate(&mut jb, &arrivals, 20);
    assert!(
        pushes.iter().all(|p| *p == PushOutcome::Stored),
        "{pushes:?}"
    );
    assert_eq!(frames(&outs), (0..10).collect::<Vec<_>>());
    assert_eq!(jb.stats().reordered, 2);
    assert_eq!(jb.stats().lost, 0);
}

#[test]
fn missing_packet_is_reported_lost_once() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let arrivals: Vec<_> = stream(0, 0, 10)
        .into_iter()
        .filter(|a| a.seq != 4)
        .collect();
    let (outs, _) = simulate(&mut jb, &arrivals, 12);
    let played: Vec<Out> = outs
        .into_iter()
        .skip_while(|o| *o == Out::Idle)
        .take(10)
        .collect();
    let mut expected: Vec<Out> = (0..10).map(Out::Frame).collect();
    expected[4] = Out::Lost;
    assert_eq!(played, expected);
    assert_eq!(jb.stats().lost, 1);
}

#[test]
fn duplicates_are_dropped_before_and_after_playout() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let body = [0u8, 7];
    assert_eq!(jb.push(0, &packet(1, 7, 0, &body)), PushOutcome::Stored);
    assert_eq!(jb.push(1, &packet(1, 7, 0, &body)), PushOutcome::Duplicate);
    assert_eq!(out_of(jb.pop(20)), Out::Frame(7));
    assert_eq!(jb.push(21, &packet(1, 7, 0, &body)), PushOutcome::Duplicate);
    assert_eq!(
        jb.push(22, &packet(1, 6, 0u32.wrapping_sub(160), &body)),
        PushOutcome::Late
    );
    assert_eq!(
        jb.push(23, &packet(1, 6, 0u32.wrapping_sub(160), &body)),
        PushOutcome::Duplicate
    );
    let s = jb.stats();
    assert_eq!((s.duplicates, s.late, s.received), (3, 1, 5));
}

#[test]
fn sequence_and_timestamp_wrap_around() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let arrivals = stream(65530, u32::MAX - 800, 12);
    let (outs, pushes) = simulate(&mut jb, &arrivals, 14);
    assert!(
        pushes.iter().all(|p| *p == PushOutcome::Stored),
        "{pushes:?}"
    );
    let expected: Vec<u16> = (0..12u16).map(|i| 65530u16.wrapping_add(i)).collect();
    assert_eq!(frames(&outs), expected);
    assert_eq!(jb.stats().resets, 0);
}

#[test]
fn ssrc_change_resynchronises_without_lost_run() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut arrivals = stream(0, 0, 10);
    for a in stream(30000, 999_999, 10) {
        arrivals.push(Arrival {
            at_ms: a.at_ms + 200,
            ssrc: 77,
            ..a
        });
    }
    let (outs, pushes) = simulate(&mut jb, &arrivals, 25);
    assert_eq!(pushes[10], PushOutcome::Reset);
    let mut expected: Vec<u16> = (0..10).collect();
    expected.extend(30000..30010);
    assert_eq!(frames(&outs), expected);
    assert!(inner_losses(&outs) <= 1, "{outs:?}");
    assert_eq!(jb.stats().resets, 1);
}

#[test]
fn timestamp_and_sequence_jumps_reset() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut arrivals = stream(0, 0, 10);
    // Same SSRC, contiguous sequence, timestamp jumps by 10 s.
    for a in stream(10, 80_000 + 1600, 10) {
        arrivals.push(Arrival {
            at_ms: a.at_ms + 200,
            ..a
        });
    }
    // Then the sequence jumps by 20000 with a consistent timestamp.
    for a in stream(20020, 80_000 + 3200, 5) {
        arrivals.push(Arrival {
            at_ms: a.at_ms + 400,
            ..a
        });
    }
    let (outs, pushes) = simulate(&mut jb, &arrivals, 32);
    assert_eq!(pushes[10], PushOutcome::Reset);
    assert_eq!(pushes[20], PushOutcome::Reset);
    assert_eq!(jb.stats().resets, 2);
    assert_eq!(frames(&outs).len(), 25);
    assert!(inner_losses(&outs) <= 2, "{outs:?}");
}

#[test]
fn silence_suppression_gap_does_not_count_as_loss() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut arrivals = stream(0, 0, 10);
    // 600 ms of silence: the sender skips timestamps but not sequence numbers.
    for a in stream(10, 1600 + 4800, 10) {
        arrivals.push(Arrival {
            at_ms: a.at_ms + 800,
            ..a
        });
    }
    let (outs, pushes) = simulate(&mut jb, &arrivals, 50);
    assert!(pushes.iter().all(|p| *p == PushOutcome::Stored));
    assert_eq!(frames(&outs), (0..20).collect::<Vec<_>>());
    assert_eq!(jb.stats().lost, 0);
    assert_eq!(jb.stats().resets, 0);
}

#[test]
fn goes_idle_after_sender_stops_and_restarts() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut arrivals = stream(0, 0, 5);
    for a in stream(5, 800 + 24000, 5) {
        arrivals.push(Arrival {
            at_ms: a.at_ms + 3000,
            ..a
        });
    }
    let (outs, _) = simulate(&mut jb, &arrivals, 170);
    // Played 5, at most IDLE_AFTER_EMPTY_TICKS concealments, then idle.
    let after_first: Vec<Out> = outs
        .iter()
        .copied()
        .skip_while(|o| *o == Out::Idle)
        .skip(5)
        .collect();
    let lost_run = after_first.iter().take_while(|o| **o == Out::Lost).count();
    assert!(lost_run <= IDLE_AFTER_EMPTY_TICKS as usize, "{lost_run}");
    assert_eq!(after_first[lost_run], Out::Idle);
    assert!(
        after_first[lost_run..lost_run + 100]
            .iter()
            .all(|o| *o == Out::Idle)
    );
    assert_eq!(frames(&outs), (0..10).collect::<Vec<_>>());
}

#[test]
fn adapts_to_jitter_then_stops_losing_packets() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut arrivals = stream(0, 0, 500);
    for a in arrivals.iter_mut() {
        if a.seq % 5 == 0 {
            a.at_ms += 55; // every fifth packet is 55 ms late
        }
    }
    let (outs, _) = simulate(&mut jb, &arrivals[..250], 250);
    let early = jb.stats();
    assert!(early.target_delay_frames >= 3, "{early:?}");
    assert!(early.target_delay_frames <= 8);
    let (outs2, _) = simulate_from(&mut jb, &arrivals[250..], 250, 250);
    let late = jb.stats();
    assert_eq!(
        late.late, early.late,
        "no late packets once adapted: {late:?}"
    );
    assert_eq!(late.lost, early.lost);
    assert!(frames(&outs).len() + frames(&outs2).len() > 480);
}

/// Like `simulate` but starting at tick `first_tick`.
fn simulate_from(
    jb: &mut JitterBuffer,
    arrivals: &[Arrival],
    first_tick: u64,
    ticks: u64,
) -> (Vec<Out>, Vec<PushOutcome>) {
    let mut order = arrivals.to_vec();
    order.sort_by_key(|a| a.at_ms);
    let mut next = 0;
    let (mut outs, mut pushes) = (Vec::new(), Vec::new());
    for tick in first_tick + 1..=first_tick + ticks {
        let now = tick * 20;
        while next < order.len() && order[next].at_ms <= now {
            let a = order[next];
            let body = a.seq.to_be_bytes();
            pushes.push(jb.push(a.at_ms, &packet(a.ssrc, a.seq, a.ts, &body)));
            next += 1;
        }
        outs.push(out_of(jb.pop(now)));
    }
    (outs, pushes)
}

#[test]
fn shrinks_slowly_once_the_network_calms_down() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut arrivals = stream(0, 0, 1500);
    for a in arrivals.iter_mut().take(100) {
        if a.seq % 4 == 0 {
            a.at_ms += 90;
        }
    }
    let (_, _) = simulate(&mut jb, &arrivals[..100], 100);
    let grown = jb.stats().target_delay_frames;
    assert!(grown >= 5, "{grown}");
    let (outs, _) = simulate_from(&mut jb, &arrivals[100..], 100, 1400);
    let s = jb.stats();
    assert_eq!(s.target_delay_frames, 1, "{s:?}");
    assert!(s.dropped > 0, "depth reduced by dropping frames: {s:?}");
    assert!(s.buffered_frames <= 2, "{s:?}");
    // Shrinking is gradual: never more than one frame dropped per tick window.
    assert!(frames(&outs).len() > 1350);
}

#[test]
fn too_large_and_burst_overflow() {
    let config = JitterConfig {
        max_payload: 4,
        capacity_frames: 8,
        max_delay_frames: 4,
        ..JitterConfig::default()
    };
    let mut jb = JitterBuffer::new(config);
    assert_eq!(jb.push(0, &packet(1, 0, 0, &[0; 5])), PushOutcome::TooLarge);
    assert_eq!(jb.stats().too_large, 1);
    for i in 0..20u16 {
        let body = i.to_be_bytes();
        assert_eq!(
            jb.push(0, &packet(1, i, u32::from(i) * 160, &body)),
            PushOutcome::Stored
        );
    }
    assert!(jb.stats().buffered_frames <= 8);
    // Playout catches up to the newest frames instead of playing stale audio.
    let mut played = Vec::new();
    for t in 1..=10 {
        if let Out::Frame(s) = out_of(jb.pop(t * 20)) {
            played.push(s);
        }
    }
    assert_eq!(played.last(), Some(&19));
    assert!(played.len() <= 4, "{played:?}");
    assert!(played.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn idle_before_first_packet() {
    let mut jb = JitterBuffer::new(JitterConfig::default());
    assert_eq!(out_of(jb.pop(0)), Out::Idle);
    assert_eq!(out_of(jb.pop(20)), Out::Idle);
}
