use super::*;

const FRAME_NS: u64 = 20_000_000;

/// A steady stream: packet `i` sent at 20 ms × i, arriving `transit_ms`
/// later (per packet), `seq` and timestamp counting up from near a wrap.
fn feed(stats: &mut StreamStats, packets: impl IntoIterator<Item = (u64, f64)>) {
    for (i, transit_ms) in packets {
        let arrival = i * FRAME_NS + (transit_ms * 1e6) as u64;
        let seq = (65_530u64 + i) as u16;
        let ts = (u32::MAX - 800).wrapping_add((i * 160) as u32);
        stats.on_packet(arrival, 0x1234, seq, ts);
    }
}

#[test]
fn a_steady_stream_has_no_loss_no_jitter_and_nothing_late() {
    let mut stats = StreamStats::default();
    feed(&mut stats, (0..500).map(|i| (i, 1.0)));
    let s = stats.summary();
    assert_eq!((s.received, s.expected, s.lost), (500, 500, 0));
    assert!(s.jitter_ms < 1e-6, "{s:?}");
    assert_eq!((s.late, s.early), (0, 0));
}

#[test]
fn injected_loss_is_counted_across_a_sequence_wrap() {
    let mut stats = StreamStats::default();
    // Every tenth packet dropped: 50 of 500, some on each side of the wrap.
    feed(
        &mut stats,
        (0..500).filter(|i| i % 10 != 3).map(|i| (i, 1.0)),
    );
    let s = stats.summary();
    assert_eq!((s.received, s.expected, s.lost), (450, 500, 50));
}

#[test]
fn reordering_is_not_loss() {
    let mut stats = StreamStats::default();
    let mut order: Vec<u64> = (0..100).collect();
    order.swap(0, 1);
    order.swap(40, 41);
    feed(&mut stats, order.into_iter().map(|i| (i, 1.0)));
    assert_eq!(stats.summary().lost, 0);
    assert_eq!(stats.summary().expected, 100);
}

#[test]
fn injected_jitter_reads_as_rfc3550_jitter() {
    // Transit alternating 0 and 8 ms: |D| = 8 every packet, so J tends to 8.
    let mut stats = StreamStats::default();
    feed(
        &mut stats,
        (0..1000).map(|i| (i, if i % 2 == 0 { 0.0 } else { 8.0 })),
    );
    let j = stats.summary().jitter_ms;
    assert!((j - 8.0).abs() < 0.1, "jitter {j}");
    assert_eq!(stats.summary().late, 0);
}

#[test]
fn a_stall_counts_one_late_packet_and_its_burst_early_ones() {
    let mut stats = StreamStats::default();
    // Packets 100..103 held 60 ms then released at once: 100 is 60 ms
    // late; the rest arrive with it (their transit shrinks 20 ms each,
    // under the threshold); then the stream is back on time, 103's
    // successor arriving 60 ms "early" against 103's held transit.
    let transit = |i: u64| match i {
        100 => 60.0,
        101 => 40.0,
        102 => 20.0,
        _ => 0.0,
    };
    feed(&mut stats, (0..200).map(|i| (i, transit(i))));
    let s = stats.summary();
    assert_eq!(s.late, 1, "{s:?}");
    assert_eq!(s.early, 0, "{s:?}");

    // A stream that stalls and then bursts a whole 100 ms back at once.
    let mut stats = StreamStats::default();
    feed(
        &mut stats,
        (0..200).map(|i| (i, if (100..105).contains(&i) { 100.0 } else { 0.0 })),
    );
    let s = stats.summary();
    assert_eq!((s.late, s.early), (1, 1), "{s:?}");
}

#[test]
fn a_new_ssrc_starts_a_new_account_without_losing_the_old_one() {
    let mut stats = StreamStats::default();
    for i in 0..10u16 {
        stats.on_packet(u64::from(i) * FRAME_NS, 1, 100 + i, u32::from(i) * 160);
    }
    for i in 0..10u16 {
        if i == 5 {
            continue;
        }
        stats.on_packet(
            u64::from(10 + i) * FRAME_NS,
            2,
            9000 + i,
            777 + u32::from(i) * 160,
        );
    }
    let s = stats.summary();
    assert_eq!(
        (s.received, s.expected, s.lost, s.ssrc_changes),
        (19, 20, 1, 1)
    );
    assert_eq!((s.late, s.early), (0, 0));
}
