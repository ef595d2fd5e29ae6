//! Phones in one MPC hear each other and never themselves (built-in app).

mod common;

use std::time::Instant;

use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::tone::assert_hears;
use common::{let_media_flow, start_builtin, wait_for_metric};

/// Three phones (400, 700, 1100 Hz) join `room`; after `listen_ms` each must
/// have heard exactly the other two tones.
async fn three_tones_each_hear_the_other_two(
    addr: std::net::SocketAddr,
    room: &str,
    listen_ms: u64,
) -> [chorus_tests::phone::Call; 3] {
    let mut calls = Vec::new();
    for hz in [400.0, 700.0, 1100.0] {
        let call = dial(addr, room, DialOptions::with_tone(hz))
            .await
            .unwrap_or_else(|e| panic!("{hz} Hz phone joins {room}: {e}"));
        calls.push(call);
    }
    // Give the jitter buffers a moment, then listen.
    let_media_flow(500).await;
    let since = Instant::now();
    let_media_flow(listen_ms).await;
    let tones = [400.0, 700.0, 1100.0];
    for (call, own) in calls.iter().zip(tones) {
        let others: Vec<f32> = tones.into_iter().filter(|t| *t != own).collect();
        let label = format!("{room}: phone at {own} Hz");
        assert_hears(&label, &call.received_audio_since(since), &others, &[own]);
    }
    calls
        .try_into()
        .unwrap_or_else(|_| unreachable!("three calls"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_phones_hear_the_other_two_and_stop_hearing_one_that_leaves() {
    let chorus = start_builtin().await;
    let addr = chorus.sip_addr();
    let [a, b, c] = three_tones_each_hear_the_other_two(addr, "room1", 2000).await;
    assert!(
        a.provisional_statuses().contains(&180),
        "180 Ringing before 200"
    );

    assert_eq!(c.hangup().await.expect("BYE answered"), 200);
    let_media_flow(300).await;
    let since = Instant::now();
    let_media_flow(1500).await;
    assert_hears(
        "a after c left",
        &a.received_audio_since(since),
        &[700.0],
        &[400.0, 1100.0],
    );
    assert_hears(
        "b after c left",
        &b.received_audio_since(since),
        &[400.0],
        &[700.0, 1100.0],
    );

    assert_eq!(a.hangup().await.unwrap(), 200);
    assert_eq!(b.hangup().await.unwrap(), 200);
    assert!(chorus.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_rooms_do_not_hear_each_other() {
    let chorus = start_builtin().await;
    let addr = chorus.sip_addr();
    let a1 = dial(addr, "alpha", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let a2 = dial(addr, "alpha", DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let b1 = dial(addr, "beta", DialOptions::with_tone(1100.0))
        .await
        .unwrap();
    let b2 = dial(addr, "beta", DialOptions::with_tone(1700.0))
        .await
        .unwrap();
    let_media_flow(500).await;
    let since = Instant::now();
    let_media_flow(1500).await;
    assert_hears(
        "alpha 400",
        &a1.received_audio_since(since),
        &[700.0],
        &[400.0, 1100.0, 1700.0],
    );
    assert_hears(
        "beta 1100",
        &b1.received_audio_since(since),
        &[1700.0],
        &[400.0, 700.0, 1100.0],
    );
    drop((a2, b2));
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendonly_reinvite_is_answered_recvonly_and_the_call_goes_on() {
    let chorus = start_builtin().await;
    let addr = chorus.sip_addr();
    let a = dial(addr, "hold", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let b = dial(addr, "hold", DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let (status, sdp) = a.reinvite("sendonly").await.expect("re-INVITE answered");
    assert_eq!(status, 200);
    assert!(
        sdp.contains("a=recvonly"),
        "answer to sendonly must be recvonly:\n{sdp}"
    );
    // a still talks (sendonly), so b hears it; chorus stops sending to a.
    let_media_flow(400).await;
    let since = Instant::now();
    let_media_flow(1500).await;
    assert_hears(
        "b while a holds",
        &b.received_audio_since(since),
        &[400.0],
        &[700.0],
    );
    let (status, sdp) = a.reinvite("inactive").await.unwrap();
    assert_eq!(status, 200);
    assert!(sdp.contains("a=inactive"), "{sdp}");
    let (status, sdp) = a.reinvite("sendrecv").await.unwrap();
    assert_eq!(status, 200);
    assert!(sdp.contains("a=sendrecv"), "{sdp}");
    let_media_flow(400).await;
    let since = Instant::now();
    let_media_flow(1500).await;
    assert_hears(
        "a resumed",
        &a.received_audio_since(since),
        &[700.0],
        &[400.0],
    );
    assert_eq!(a.hangup().await.unwrap(), 200);
    assert_eq!(b.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc4733_digits_from_a_phone_are_surfaced() {
    let chorus = start_builtin().await;
    let a = dial(chorus.sip_addr(), "digits", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let_media_flow(300).await;
    for digit in ['5', '#'] {
        a.send_dtmf(digit).await.expect("digit sent");
    }
    // Each digit reported once to the MPC...
    let key = r#"chorus_mpc_events_total{event="ParticipantDigitInput"}"#;
    wait_for_metric(&chorus, key, 2.0).await;
    // ...and logged with its value.
    let log = chorus.log();
    let digits: Vec<&str> = log.lines().filter(|l| l.contains("DTMF digit")).collect();
    assert_eq!(digits.len(), 2, "each digit logged once:\n{log}");
    assert!(
        digits[0].contains("digit=5") && digits[1].contains("digit=#"),
        "{digits:?}"
    );
    a.hangup().await.unwrap();
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wideband_mixer_keeps_every_voice_apart_too() {
    let chorus = chorus_tests::daemon::Chorusd::start(
        common::chorusd_bin(),
        &[("CHORUS_MEDIA__SAMPLE_RATE", "16000")],
    )
    .await;
    assert!(
        chorus.log().contains("sample_rate=16000"),
        "{}",
        chorus.log()
    );
    let addr = chorus.sip_addr();
    let [a, b, c] = three_tones_each_hear_the_other_two(addr, "wide", 1500).await;
    for call in [a, b, c] {
        assert_eq!(call.hangup().await.unwrap(), 200);
    }
    chorus.stop().await;
}
