//! The application's own audio, end to end: wait and hold music URLs,
//! enter/exit sound URLs and `<Play>` in a call flow, served as sound
//! documents and WAV/MP3 files by a real HTTP server and checked by what the
//! test phones hear. Every sound has its own tone, and so has every phone.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::daemon::Chorusd;
use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{Call, DialOptions, dial};
use chorus_tests::tone::{assert_hears, rms_dbfs, sine, wav_bytes};
use common::{join_mpc, let_media_flow, start_with_answer_url};

/// The voices of the phones.
const VOICES: [f32; 3] = [950.0, 1150.0, 1350.0];
/// Fundamentals of the built-in tunes (C5 and E5 are in both): present
/// only if chorus fell back to its own music.
const BUILT_IN: [f32; 2] = [523.25, 659.25];
const WAIT: f32 = 1250.0;
const AGENT_HOLD: f32 = 1450.0;
const CUSTOMER_HOLD: f32 = 1850.0;
const ENTER: f32 = 1650.0;
const EXIT: f32 = 1550.0;
const GREETING: f32 = 850.0;

/// A WAV file of `seconds` of `hz` at `rate` Hz with `channels`.
fn wav(hz: f32, seconds: f32, rate: u32, channels: u16) -> Reply {
    let mono = sine(hz, rate, -12.0, (seconds * rate as f32) as usize);
    let pcm: Vec<i16> = mono
        .iter()
        .flat_map(|&s| std::iter::repeat_n(s, usize::from(channels)))
        .collect();
    Reply::bytes("audio/wav", wav_bytes(&pcm, channels, rate))
}

/// An MP3 file of `seconds` of `hz` (mono, 16 kHz), made by chorus's own
/// recorder.
fn mp3(hz: f32, seconds: f32) -> Reply {
    use chorus_recorder::{Format, TrackWriter};
    let pcm = sine(hz, 16000, -12.0, (seconds * 16000.0) as usize);
    let mut out = std::io::Cursor::new(Vec::new());
    let mut track = TrackWriter::new(&mut out, Format::Mp3, 16000).expect("encoder");
    track.write(&pcm).expect("encode");
    track.finish().expect("flush");
    Reply::bytes("audio/mpeg", out.into_inner())
}

/// A sound document playing `files` (paths on `app`) in order.
fn sound_document(app: &AppServer, files: &[&str]) -> Reply {
    let plays: String = files
        .iter()
        .map(|f| format!("<Play>{}</Play>", app.url(f)))
        .collect();
    Reply::xml(&format!("<Response>{plays}</Response>"))
}

async fn join(app: &AppServer, chorus: &Chorusd, attributes: &str, tone: Option<f32>) -> Call {
    join_mpc(app, chorus, "sounds", attributes, tone).await
}

/// What each phone heard during the next `ms` milliseconds, after 600 ms
/// (a sound document loads in the background).
async fn listen(calls: &[&Call], ms: u64) -> Vec<Vec<i16>> {
    common::listen(calls, 600, ms).await
}

fn all_but(present: &[f32]) -> Vec<f32> {
    let every = [WAIT, AGENT_HOLD, CUSTOMER_HOLD, ENTER, EXIT, GREETING];
    every
        .iter()
        .chain(&VOICES)
        .chain(&BUILT_IN)
        .copied()
        .filter(|t| !present.contains(t))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_and_hold_music_urls_play_the_applications_audio() {
    let app = AppServer::start(vec![]).await;
    app.set_route("/wait.xml", sound_document(&app, &["/wait.wav"]));
    // Other elements in a music document are ignored, as Plivo does.
    app.set_route(
        "/agent-hold.xml",
        Reply::xml(&format!(
            "<Response><Hangup/><Play>{}</Play><Redirect>{}</Redirect></Response>",
            app.url("/agent-hold.wav"),
            app.url("/answer")
        )),
    );
    app.set_route(
        "/customer-hold.xml",
        sound_document(&app, &["/customer-hold.mp3"]),
    );
    // 8 kHz mono, 44.1 kHz stereo (resampled, mixed down), MP3.
    app.set_route("/wait.wav", wav(WAIT, 1.0, 8000, 1));
    app.set_route("/agent-hold.wav", wav(AGENT_HOLD, 1.0, 44_100, 2));
    app.set_route("/customer-hold.mp3", mp3(CUSTOMER_HOLD, 1.0));
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let music = format!(
        r#"waitMusicUrl="{}" waitMusicMethod="GET" agentHoldMusicUrl="{}" customerHoldMusicUrl="{}" customerHoldMusicMethod="POST""#,
        app.url("/wait.xml"),
        app.url("/agent-hold.xml"),
        app.url("/customer-hold.xml"),
    );

    let waiting = join(
        &app,
        &chorus,
        &format!(r#"role="customer" startMpcOnEnter="false" {music}"#),
        Some(VOICES[0]),
    )
    .await;
    // Longer than one loop of the 1 s file: the music repeats.
    let heard = listen(&[&waiting], 2500).await;
    assert_hears("waiting customer", &heard[0], &[WAIT], &all_but(&[WAIT]));

    let agent = join(
        &app,
        &chorus,
        r#"role="agent" hold="true""#,
        Some(VOICES[1]),
    )
    .await;
    let held = join(
        &app,
        &chorus,
        r#"role="customer" hold="true""#,
        Some(VOICES[2]),
    )
    .await;
    let heard = listen(&[&waiting, &agent, &held], 2000).await;
    assert_hears("started customer", &heard[0], &[], &all_but(&[]));
    assert_hears(
        "held agent",
        &heard[1],
        &[AGENT_HOLD],
        &all_but(&[AGENT_HOLD]),
    );
    assert_hears(
        "held customer",
        &heard[2],
        &[CUSTOMER_HOLD],
        &all_but(&[CUSTOMER_HOLD]),
    );

    // Each document and file was fetched once, with the configured method.
    let method = |path: &str| {
        let requests = app.requests_to(path);
        assert_eq!(requests.len(), 1, "{path}: {requests:?}");
        requests[0].method.clone()
    };
    assert_eq!(method("/wait.xml"), "GET");
    assert_eq!(method("/agent-hold.xml"), "GET"); // the default
    assert_eq!(method("/customer-hold.xml"), "POST");
    for file in ["/wait.wav", "/agent-hold.wav", "/customer-hold.mp3"] {
        assert_eq!(method(file), "GET");
    }
    assert!(
        app.requests_to("/answer").len() == 3,
        "the <Redirect> was ignored"
    );
    for call in [waiting, agent, held] {
        let _ = call.hangup().await;
    }
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_music_urls_play_silence_not_the_built_in_music() {
    let app = AppServer::start(vec![]).await;
    // 404, a document that is not XML, and a document whose audio is not audio.
    app.set_route("/not-xml", Reply::xml("this is not a document"));
    app.set_route("/noise.xml", sound_document(&app, &["/noise.wav"]));
    app.set_route(
        "/noise.wav",
        Reply::bytes("audio/wav", b"RIFF garbage".to_vec()),
    );
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let music = format!(
        r#"waitMusicUrl="{}" agentHoldMusicUrl="{}" customerHoldMusicUrl="{}""#,
        app.url("/missing.xml"),
        app.url("/not-xml"),
        app.url("/noise.xml"),
    );
    let waiting = join(
        &app,
        &chorus,
        &format!(r#"role="customer" startMpcOnEnter="false" {music}"#),
        None,
    )
    .await;
    let heard = listen(&[&waiting], 1500).await;
    let level = rms_dbfs(&heard[0]);
    assert!(
        level < -60.0,
        "waiting with a 404 wait music URL: {level:.1} dBFS"
    );

    let agent = join(&app, &chorus, r#"role="agent" hold="true""#, None).await;
    let held = join(&app, &chorus, r#"role="customer" hold="true""#, None).await;
    let heard = listen(&[&agent, &held], 1500).await;
    for (who, pcm) in ["held agent (not XML)", "held customer (not audio)"]
        .iter()
        .zip(&heard)
    {
        let level = rms_dbfs(pcm);
        assert!(level < -60.0, "{who}: {level:.1} dBFS");
    }
    let log = chorus.log();
    assert!(
        log.contains("<Play> skipped"),
        "the undecodable file is explained:\n{log}"
    );
    let metrics = chorus.metrics().await;
    let sounds =
        |outcome: &str| metrics[&format!("chorus_sound_documents_total{{outcome=\"{outcome}\"}}")];
    assert_eq!(
        (sounds("loaded"), sounds("failed")),
        (1.0, 2.0),
        "one loaded; the 404 and the non-XML document failed: {metrics:#?}"
    );
    for call in [waiting, agent, held] {
        let _ = call.hangup().await;
    }
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_and_exit_sound_urls_are_played_on_the_bridge() {
    let app = AppServer::start(vec![]).await;
    app.set_route("/enter.xml", sound_document(&app, &["/enter.wav"]));
    app.set_route("/exit.xml", sound_document(&app, &["/exit.wav"]));
    app.set_route("/enter.wav", wav(ENTER, 0.6, 16000, 1));
    app.set_route("/exit.wav", wav(EXIT, 0.6, 8000, 1));
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let listener = join(
        &app,
        &chorus,
        r#"role="agent" enterSound="none" stayAlone="true""#,
        None,
    )
    .await;
    let_media_flow(300).await;

    let sounds = format!(
        r#"enterSound="{}" exitSound="{}" exitSoundMethod="POST""#,
        app.url("/enter.xml"),
        app.url("/exit.xml")
    );
    let since = Instant::now();
    let guest = join(&app, &chorus, &format!(r#"role="customer" {sounds}"#), None).await;
    let_media_flow(1500).await;
    let heard = listener.received_audio_since(since);
    assert_hears("listener, entry", &heard, &[ENTER], &all_but(&[ENTER]));

    let since = Instant::now();
    assert_eq!(guest.hangup().await.unwrap(), 200);
    let_media_flow(1500).await;
    let heard = listener.received_audio_since(since);
    assert_hears("listener, exit", &heard, &[EXIT], &all_but(&[EXIT]));
    assert_eq!(app.requests_to("/exit.xml")[0].method, "POST");
    listener.hangup().await.unwrap();
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn play_in_the_call_flow_is_heard_before_the_next_element() {
    let app = AppServer::start(vec![]).await;
    app.set_route("/greeting.wav", wav(GREETING, 0.8, 8000, 1));
    // An unreachable file is skipped; the looped greeting plays twice; then
    // the caller joins the MPC, where it hears the other phone.
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><Play>{}</Play><Play loop="2">{}</Play><MultiPartyCall role="agent" enterSound="none" stayAlone="true">sounds</MultiPartyCall></Response>"#,
            app.url("/missing.wav"),
            app.url("/greeting.wav"),
        )),
    );
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let since = Instant::now();
    let caller = dial(chorus.sip_addr(), "sounds", DialOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", chorus.log()));
    let_media_flow(1400).await;
    let greeting = caller.received_audio_since(since);
    assert_hears(
        "caller, greeting",
        &greeting,
        &[GREETING],
        &all_but(&[GREETING]),
    );

    let other = join(
        &app,
        &chorus,
        r#"role="agent" enterSound="none""#,
        Some(VOICES[0]),
    )
    .await;
    let heard = listen(&[&caller], 1000).await;
    assert_hears(
        "caller, in the MPC",
        &heard[0],
        &[VOICES[0]],
        &all_but(&[VOICES[0]]),
    );
    assert_eq!(
        app.requests_to("/greeting.wav").len(),
        1,
        "a loop reuses the file"
    );
    for call in [caller, other] {
        let _ = call.hangup().await;
    }
    chorus.stop().await;
}

/// `<Speak>` without its text-to-speech program is skipped with an error
/// naming the program, and the flow goes on with the next element.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speak_without_its_program_is_skipped_and_the_flow_goes_on() {
    let app = AppServer::start(vec![(
        "/greeting.wav".to_owned(),
        wav(GREETING, 0.6, 8000, 1),
    )])
    .await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            "<Response><Speak>Welcome</Speak><Play>{}</Play><Hangup/></Response>",
            app.url("/greeting.wav")
        )),
    );
    let chorus = common::start_with_settings(
        &app.url("/answer"),
        &[("CHORUS_SPEECH__COMMAND", "/nonexistent/espeak-ng")],
    )
    .await;
    let since = Instant::now();
    let caller = dial(chorus.sip_addr(), "speak", DialOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", chorus.log()));
    assert!(
        caller.wait_for_bye(Duration::from_secs(5)).await,
        "<Hangup> after <Play>"
    );
    assert_hears(
        "caller",
        &caller.received_audio_since(since),
        &[GREETING],
        &all_but(&[GREETING]),
    );
    let log = chorus.log();
    assert!(
        log.contains("<Speak> skipped") && log.contains("/nonexistent/espeak-ng"),
        "{log}"
    );
    chorus.stop().await;
}
