//! Peers that packetise at other than 20 ms: chorus takes their packets
//! whole into its 20 ms mix and sends them the packet time they asked for.
//! Proved by ear (each phone hears exactly the other's tone, at a steady
//! level, with nothing at frequencies nobody sends) and by the packets.
//!
//! The ear is strict, so it only judges what chorus is answerable for: a
//! 100 ms window that the talking phone may have spoiled itself (its
//! sender thread starved on a machine busy with other work, see
//! `Call::late_sends`) is left out. A repacketising fault shows in every
//! window, so it cannot hide there.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::phone::{Call, DialOptions, dial};
use chorus_tests::tone::{self, ABSENT_DBFS, RATE, assert_hears};
use common::{let_media_flow, start_builtin};

/// The phones' tones. Neither fits a whole number of periods in 10 ms
/// (4.25 and 7.35), so a packet cut short, a gap or a repeated frame breaks
/// the sine's phase and shows at other frequencies; 400 or 700 Hz would
/// hide it.
const TONE_30: f32 = 425.0;
const TONE_20: f32 = 735.0;
/// Frequencies nobody sends: gaps, cuts and concealment in a repacketised
/// stream splatter energy here.
const NOBODY: [f32; 4] = [1100.0, 1700.0, 2500.0, 3100.0];
/// The far tone's level through chorus: the phones send −10 dBFS and G.711
/// takes about half a dB off.
const SENT_DBFS: f64 = -10.5;
/// Largest drift of the far tone's level from its median over 100 ms
/// windows: G.711 of a steady sine varies by a few tenths of a dB; a
/// concealed or missing 10 ms in a window costs far more.
const STEADY_DB: f64 = 1.5;

/// Samples in one analysis window (100 ms).
const WINDOW: usize = RATE as usize / 10;
/// How long a talker's late packet can still be heard: the jitter
/// buffer's deepest target (160 ms) and a tick.
const SPOILED_FOR: Duration = Duration::from_millis(200);
/// Fewest windows a verdict may rest on.
const MIN_JUDGED: usize = 10;

/// What `listener` heard since `since`, less the windows that `talker`'s
/// own late sends may have spoiled: every window heard between a late
/// packet's due time and [`SPOILED_FOR`] after it left. Also returns how
/// many windows were left out.
fn judged_audio(listener: &Call, talker: &Call, since: Instant) -> (Vec<i16>, usize) {
    // Packets first: the audio can only be longer (more arriving since).
    let packets: Vec<_> = listener
        .received_packets()
        .into_iter()
        .filter(|p| p.at >= since)
        .collect();
    let audio = listener.received_audio_since(since);
    let late = talker.late_sends();
    // Arrival time of the packet holding each sample.
    let mut arrival = Vec::with_capacity(audio.len());
    for p in &packets {
        arrival.extend(std::iter::repeat_n(p.at, p.payload_len));
    }
    let (mut judged, mut left_out) = (Vec::new(), 0);
    for (window, heard) in audio.chunks_exact(WINDOW).zip(arrival.chunks_exact(WINDOW)) {
        let (from, to) = (heard[0], heard[WINDOW - 1]);
        let spoiled = late.iter().any(|&(sent, by)| {
            let due = sent.checked_sub(by).unwrap_or(sent);
            due <= to && sent + SPOILED_FOR >= from
        });
        if spoiled {
            left_out += 1;
        } else {
            judged.extend_from_slice(window);
        }
    }
    assert!(
        judged.len() >= MIN_JUDGED * WINDOW,
        "only {} windows to judge: the phones were too starved ({left_out} left out, late sends {late:?})",
        judged.len() / WINDOW
    );
    (judged, left_out)
}

/// Dials `room` sending `hz` at `ptime_ms`.
async fn phone(addr: std::net::SocketAddr, room: &str, hz: f32, ptime_ms: u32) -> Call {
    let opts = DialOptions {
        ptime_ms,
        ..DialOptions::with_tone(hz)
    };
    dial(addr, room, opts)
        .await
        .unwrap_or_else(|e| panic!("{ptime_ms} ms phone: {e}"))
}

/// Panics unless `far` is heard at a steady level in every 100 ms window
/// and nothing reaches [`ABSENT_DBFS`] at the frequencies nobody sends.
fn assert_clean(label: &str, pcm: &[i16], far: f32) {
    let levels = tone::window_levels(pcm, RATE, far);
    let mut sorted = levels.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    assert!(
        (median - SENT_DBFS).abs() <= 2.0,
        "{label}: {far} Hz arrives at {median:.1} dBFS, sent at {SENT_DBFS} dBFS"
    );
    let worst = levels
        .iter()
        .map(|l| (l - median).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= STEADY_DB,
        "{label}: {far} Hz level drifts {worst:.1} dB from its median {median:.1} dBFS: {levels:.1?}"
    );
    for f in NOBODY {
        let max = tone::window_levels(pcm, RATE, f)
            .into_iter()
            .fold(f64::MIN, f64::max);
        assert!(
            max < ABSENT_DBFS,
            "{label}: {max:.1} dBFS at {f} Hz, which nobody sends"
        );
    }
}

/// Panics unless every audio packet received since `since` carries
/// `ptime_ms` of G.711 and follows the previous one in sequence and time.
fn assert_packets(label: &str, call: &Call, since: Instant, ptime_ms: u32) {
    let samples = ptime_ms as usize * 8;
    let packets: Vec<_> = call
        .received_packets()
        .into_iter()
        .filter(|p| p.at >= since)
        .collect();
    assert!(packets.len() > 20, "{label}: {} packets", packets.len());
    let sizes: Vec<usize> = packets.iter().map(|p| p.payload_len).collect();
    assert!(
        sizes.iter().all(|s| *s == samples),
        "{label}: payload sizes {sizes:?}"
    );
    for w in packets.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1), "{label}");
        assert_eq!(
            w[1].timestamp.wrapping_sub(w[0].timestamp),
            samples as u32,
            "{label}: timestamps advance by one packet"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_and_twenty_ms_phones_hear_each_other_cleanly() {
    let chorus = start_builtin().await;
    let addr = chorus.sip_addr();
    let thirty = phone(addr, "ptime30", TONE_30, 30).await;
    let twenty = phone(addr, "ptime30", TONE_20, 20).await;
    // Let the jitter buffers settle, then listen.
    let_media_flow(600).await;
    let since = Instant::now();
    let_media_flow(2000).await;

    let (heard_by_twenty, left_out_20) = judged_audio(&twenty, &thirty, since);
    let (heard_by_thirty, left_out_30) = judged_audio(&thirty, &twenty, since);
    let by_twenty = format!("20 ms phone ({left_out_20} windows left out)");
    let by_thirty = format!("30 ms phone ({left_out_30} windows left out)");
    assert_hears(&by_twenty, &heard_by_twenty, &[TONE_30], &[TONE_20]);
    assert_hears(&by_thirty, &heard_by_thirty, &[TONE_20], &[TONE_30]);
    assert_clean(&by_twenty, &heard_by_twenty, TONE_30);
    assert_clean(&by_thirty, &heard_by_thirty, TONE_20);
    assert_packets("30 ms phone", &thirty, since, 30);
    assert_packets("20 ms phone", &twenty, since, 20);

    assert_eq!(thirty.hangup().await.unwrap(), 200);
    assert_eq!(twenty.hangup().await.unwrap(), 200);
    assert!(chorus.stop().await.success());
}
