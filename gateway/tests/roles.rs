//! Who hears whom, end to end: roles, coach mode, mute, hold and the MPC
//! start, driven by `<MultiPartyCall>` attributes from a real answer URL and
//! checked by what each test phone hears.

mod common;

use std::time::Instant;

use chorus_tests::daemon::Chorusd;
use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{Call, DialOptions, dial};
use chorus_tests::tone::{assert_hears, rms_dbfs};
use common::{join_mpc, let_media_flow, mpc_document, start_with_answer_url};

/// Every tone a phone in these tests sends.
const TONES: [f32; 5] = [400.0, 700.0, 1100.0, 1900.0, 1700.0];

fn mpc(attributes: &str) -> Reply {
    mpc_document("roles", attributes)
}

/// Dials in with `tone` after pointing the answer URL at `attributes`.
async fn join(app: &AppServer, chorus: &Chorusd, attributes: &str, tone: f32) -> Call {
    join_mpc(app, chorus, "roles", attributes, Some(tone)).await
}

/// What each phone heard during the next `ms` milliseconds.
async fn listen(calls: &[&Call], ms: u64) -> Vec<Vec<i16>> {
    common::listen(calls, 400, ms).await
}

fn absent_except(present: &[f32]) -> Vec<f32> {
    TONES
        .iter()
        .copied()
        .filter(|t| !present.contains(t))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_coach_mode_mute_and_hold_shape_what_everyone_hears() {
    let app = AppServer::start(vec![]).await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let customer = join(&app, &chorus, r#"role="customer""#, 400.0).await;
    let agent = join(&app, &chorus, r#"role="agent""#, 700.0).await;
    let supervisor = join(&app, &chorus, r#"role="supervisor""#, 1100.0).await;
    let muted = join(&app, &chorus, r#"role="customer" mute="true""#, 1700.0).await;
    let held = join(&app, &chorus, r#"role="agent" hold="true""#, 1900.0).await;

    let heard = listen(&[&customer, &agent, &supervisor, &muted, &held], 2000).await;
    // Customers never hear the coaching supervisor (1100) or the muted
    // customer (1700); nobody hears the held agent (1900).
    assert_hears("customer", &heard[0], &[700.0], &absent_except(&[700.0]));
    assert_hears(
        "agent",
        &heard[1],
        &[400.0, 1100.0],
        &absent_except(&[400.0, 1100.0]),
    );
    assert_hears(
        "supervisor",
        &heard[2],
        &[400.0, 700.0],
        &absent_except(&[400.0, 700.0]),
    );
    assert_hears(
        "muted customer",
        &heard[3],
        &[400.0, 700.0],
        &absent_except(&[400.0, 700.0]),
    );
    // The held agent hears hold music: sound, but none of the voices.
    assert_hears("held agent", &heard[4], &[], &TONES);
    let held_level = rms_dbfs(&heard[4]);
    assert!(
        held_level > -40.0,
        "held agent hears hold music, got {held_level:.1} dBFS"
    );

    // Phase 2: the supervisor re-joins with coach mode off; now customers hear it.
    assert_eq!(supervisor.hangup().await.unwrap(), 200);
    let supervisor = join(
        &app,
        &chorus,
        r#"role="supervisor" coachMode="false""#,
        1100.0,
    )
    .await;
    let heard = listen(&[&customer, &muted, &agent], 2000).await;
    assert_hears(
        "customer, coach off",
        &heard[0],
        &[700.0, 1100.0],
        &absent_except(&[700.0, 1100.0]),
    );
    assert_hears(
        "muted customer, coach off",
        &heard[1],
        &[400.0, 700.0, 1100.0],
        &[1900.0, 1700.0],
    );
    assert_hears(
        "agent, coach off",
        &heard[2],
        &[400.0, 1100.0],
        &absent_except(&[400.0, 1100.0]),
    );

    for call in [customer, agent, supervisor, muted, held] {
        let _ = call.hangup().await;
    }
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_participants_hear_wait_music_until_someone_starts_the_mpc() {
    let app = AppServer::start(vec![]).await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let first = join(
        &app,
        &chorus,
        r#"role="customer" startMpcOnEnter="false""#,
        400.0,
    )
    .await;
    let second = join(
        &app,
        &chorus,
        r#"role="customer" startMpcOnEnter="false""#,
        700.0,
    )
    .await;
    let heard = listen(&[&first, &second], 1500).await;
    assert_hears("first, waiting", &heard[0], &[], &TONES);
    assert_hears("second, waiting", &heard[1], &[], &TONES);
    for (who, pcm) in ["first", "second"].iter().zip(&heard) {
        let level = rms_dbfs(pcm);
        assert!(level > -40.0, "{who} hears wait music, got {level:.1} dBFS");
    }

    let agent = join(&app, &chorus, r#"role="agent""#, 1100.0).await;
    let heard = listen(&[&first, &second, &agent], 1500).await;
    assert_hears("first, started", &heard[0], &[700.0, 1100.0], &[400.0]);
    assert_hears("second, started", &heard[1], &[400.0, 1100.0], &[700.0]);
    assert_hears("agent", &heard[2], &[400.0, 700.0], &[1100.0]);
    // Voice activity: each of the three talking phones started speaking once.
    let speaking = speech_starts(&chorus).await;
    assert_eq!(speaking, 3.0, "one speech start per talking phone");
    for call in [first, second, agent] {
        let _ = call.hangup().await;
    }
    chorus.stop().await;
}

/// How many times participants started speaking (every MPC event is
/// counted, whether or not a callback asked for it).
async fn speech_starts(chorus: &Chorusd) -> f64 {
    chorus.metrics().await[r#"chorus_mpc_events_total{event="ParticipantSpeakStart"}"#]
}

/// Loudest 100 ms window of `freq` in what a phone heard, in dBFS.
fn peak_dbfs(pcm: &[i16], freq: f32) -> f64 {
    chorus_tests::tone::window_levels(pcm, 8000, freq)
        .into_iter()
        .fold(f64::NEG_INFINITY, f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_and_exit_sounds_are_heard_but_never_for_a_coaching_supervisor() {
    const BEEP_1: f32 = 1000.0; // beep:1, the default enterSound
    const BEEP_2: f32 = 600.0; // beep:2, the default exitSound
    let app = AppServer::start(vec![]).await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let silent = |attributes: &'static str| {
        app.set_route("/answer", mpc(attributes));
        dial(chorus.sip_addr(), "roles", DialOptions::default())
    };
    // stayAlone: the listener must outlive the others' hang-ups.
    let listener = silent(r#"role="customer" enterSound="none" stayAlone="true""#)
        .await
        .unwrap();
    let_media_flow(300).await;

    let since = Instant::now();
    let coach = silent(r#"role="supervisor""#).await.unwrap();
    let_media_flow(600).await;
    let heard = listener.received_audio_since(since);
    assert!(
        peak_dbfs(&heard, BEEP_1) < -40.0,
        "no enter sound for a coaching supervisor"
    );
    assert_eq!(coach.hangup().await.unwrap(), 200);
    let_media_flow(600).await;
    let heard = listener.received_audio_since(since);
    assert!(
        peak_dbfs(&heard, BEEP_2) < -40.0,
        "no exit sound for a coaching supervisor"
    );

    let since = Instant::now();
    let guest = silent(r#"role="customer""#).await.unwrap();
    let_media_flow(600).await;
    let heard = listener.received_audio_since(since);
    let enter = peak_dbfs(&heard, BEEP_1);
    assert!(enter > -25.0, "beep:1 on entry, peak {enter:.1} dBFS");
    assert!(peak_dbfs(&heard, BEEP_2) < -40.0, "no beep:2 on entry");

    let since = Instant::now();
    assert_eq!(guest.hangup().await.unwrap(), 200);
    let_media_flow(700).await;
    let heard = listener.received_audio_since(since);
    let exit = peak_dbfs(&heard, BEEP_2);
    assert!(
        exit > -25.0,
        "beep:2 on exit (hang-up), peak {exit:.1} dBFS"
    );
    assert!(peak_dbfs(&heard, BEEP_1) < -40.0, "no beep:1 on exit");

    // Silent phones (and beeps, which are what the others hear, not what
    // anyone says) never count as speech.
    assert_eq!(speech_starts(&chorus).await, 0.0);
    listener.hangup().await.unwrap();
    chorus.stop().await;
}
