//! The MPC recording end to end: real phones each sending their own tone,
//! a real HTTP server receiving the recording callbacks, and the file
//! chorusd wrote, read back and checked for exactly the voices it must hold
//! (a coaching supervisor's included, as the spec says).

mod common;

use std::time::Duration;

use chorus_tests::daemon::Chorusd;
use chorus_tests::http::{AppServer, RecordedRequest, Reply};
use chorus_tests::peers::{Scratch, read_wav};
use chorus_tests::phone::Call;
use chorus_tests::tone::{assert_hears, assert_hears_above_floor};
use common::{join_mpc, let_media_flow, listen, start_with_settings, wait_for_metric};

const CUSTOMER: f32 = 950.0;
const AGENT: f32 = 1150.0;
const SUPERVISOR: f32 = 1350.0;
/// Sent by nobody: must be in no recording.
const NOBODY: [f32; 2] = [1550.0, 1750.0];
const TIMEOUT: Duration = Duration::from_secs(10);

/// chorusd fetching its flow from `app`'s /answer, recording into `dir`,
/// mixing at `sample_rate`.
async fn start(app: &AppServer, dir: &str, sample_rate: &str) -> Chorusd {
    start_with_settings(
        &app.url("/answer"),
        &[
            ("CHORUS_RECORDING__DIR", dir),
            ("CHORUS_MEDIA__SAMPLE_RATE", sample_rate),
        ],
    )
    .await
}

async fn join(app: &AppServer, chorus: &Chorusd, attributes: &str, tone: f32) -> Call {
    join_mpc(app, chorus, "recorded", attributes, Some(tone)).await
}

fn param<'a>(request: &'a RecordedRequest, name: &str) -> &'a str {
    request.param(name).unwrap_or("<missing>")
}

/// The issue's example: record with recordMinMemberCount 2, a WAV file and
/// callbacks by GET. Nothing is recorded while the customer is alone; the
/// agent's join starts it; the coaching supervisor, whom the customer never
/// hears, is in the recording; the customer's endMpcOnExit ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recording_holds_every_voice_from_the_second_member_and_is_reported() {
    let app = AppServer::start(vec![("/rec".to_owned(), Reply::status(200))]).await;
    let dir = Scratch::new("recording-wav");
    let dir_path = dir.path("recordings");
    let chorus = start(&app, dir_path.to_str().unwrap(), "8000").await;
    let record = format!(
        r#"record="true" recordFileFormat="wav" recordMinMemberCount="2" recordingCallbackUrl="{}" recordingCallbackMethod="GET""#,
        app.url("/rec")
    );

    let customer = join(
        &app,
        &chorus,
        &format!(r#"role="customer" endMpcOnExit="true" {record}"#),
        CUSTOMER,
    )
    .await;
    let_media_flow(600).await;
    assert!(
        app.requests_to("/rec").is_empty(),
        "one member is below recordMinMemberCount=\"2\": no recording yet"
    );
    assert!(!dir_path.exists(), "no file for a recording not started");

    let agent = join(&app, &chorus, r#"role="agent""#, AGENT).await;
    let supervisor = join(
        &app,
        &chorus,
        r#"role="supervisor" coachMode="true""#,
        SUPERVISOR,
    )
    .await;
    let heard = listen(&[&customer], 300, 1500).await;
    assert_hears(
        "the customer (the supervisor coaches)",
        &heard[0],
        &[AGENT],
        &[SUPERVISOR],
    );
    assert_eq!(customer.hangup().await.unwrap(), 200);
    for call in [&agent, &supervisor] {
        assert!(
            call.wait_for_bye(TIMEOUT).await,
            "released at the MPC's end"
        );
    }

    let got = app.wait_for_requests("/rec", 2, TIMEOUT).await;
    assert_eq!(got.len(), 2, "{got:#?}");
    let (initiated, completed) = (&got[0], &got[1]);
    for (r, name, seq) in [
        (initiated, "MPCRecordingInitiated", "1"),
        (completed, "MPCRecordingCompleted", "2"),
    ] {
        assert_eq!(r.method, "GET");
        assert_eq!(param(r, "EventName"), name);
        assert_eq!(param(r, "SequenceNumber"), seq);
        assert_eq!(param(r, "MPCName"), "recorded");
        assert_eq!(param(r, "MPCUUID").len(), 36);
        assert_eq!(param(r, "RecordingFormat"), "wav");
        assert_eq!(param(r, "RecordingResourceURL"), "");
        let ts = param(r, "EventTimestamp");
        assert!(ts.len() == 25 && ts.ends_with("+00:00"), "{ts}");
    }
    for field in [
        "MPCUUID",
        "RecordingUUID",
        "RecordingURL",
        "RecordingStartTime",
    ] {
        assert_eq!(param(initiated, field), param(completed, field), "{field}");
    }
    assert_eq!(param(initiated, "RecordingEndTime"), "");
    assert_eq!(param(initiated, "RecordingDuration"), "");
    assert_eq!(
        param(completed, "RecordingEndTime"),
        param(completed, "EventTimestamp")
    );
    let uuid = param(completed, "RecordingUUID");
    let file = dir_path.join(format!("{uuid}.wav"));
    assert_eq!(
        param(completed, "RecordingURL"),
        format!("file://{}", file.display())
    );

    let (rate, samples) = read_wav(&file).expect("a readable WAV file");
    assert_eq!(rate, 8000);
    let seconds = samples.len() as f64 / 8000.0;
    let reported: f64 = param(completed, "RecordingDuration").parse().unwrap();
    assert!(
        (reported - seconds).abs() <= 0.5,
        "RecordingDuration {reported} for {seconds:.2} s of audio"
    );
    // From the agent's join to the hangup: 0.3 + 1.5 s of listening plus
    // the supervisor's call set-up, give or take.
    assert!((1.5..6.0).contains(&seconds), "{seconds:.2} s");
    assert_hears(
        "the MPC recording",
        &samples,
        &[CUSTOMER, AGENT, SUPERVISOR],
        &NOBODY,
    );

    wait_for_metric(
        &chorus,
        r#"chorus_recordings_total{outcome="completed"}"#,
        1.0,
    )
    .await;
    wait_for_metric(
        &chorus,
        r#"chorus_recording_callbacks_total{outcome="delivered"}"#,
        2.0,
    )
    .await;
    chorus.stop().await;
}

/// An MP3 recording at the wideband mixing rate, started by the first
/// participant to join with record="true" (the MPC's creator did not ask),
/// not stopped by a later one with record="false", ended when the last
/// member leaves; callbacks by POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mp3_recording_starts_with_the_first_member_asking_for_it() {
    let app = AppServer::start(vec![("/rec".to_owned(), Reply::status(200))]).await;
    let dir = Scratch::new("recording-mp3");
    let chorus = start(&app, dir.path("").to_str().unwrap(), "16000").await;
    let mpc = format!(
        r#"recordFileFormat="mp3" recordingCallbackUrl="{}" recordingCallbackMethod="POST""#,
        app.url("/rec")
    );
    let customer = join(
        &app,
        &chorus,
        &format!(r#"role="customer" record="false" {mpc}"#),
        CUSTOMER,
    )
    .await;
    let_media_flow(400).await;
    assert!(app.requests_to("/rec").is_empty(), "nobody asked yet");
    let agent = join(&app, &chorus, r#"role="agent" record="true""#, AGENT).await;
    let second = join(&app, &chorus, r#"role="agent" record="false""#, SUPERVISOR).await;
    let_media_flow(1500).await;
    assert_eq!(
        app.requests_to("/rec").len(),
        1,
        "started once, not stopped"
    );
    assert_eq!(customer.hangup().await.unwrap(), 200);
    assert_eq!(agent.hangup().await.unwrap(), 200);
    // Left alone (stayAlone is false), the last member ends the MPC.
    assert!(second.wait_for_bye(TIMEOUT).await);

    let got = app.wait_for_requests("/rec", 2, TIMEOUT).await;
    let names: Vec<&str> = got.iter().map(|r| param(r, "EventName")).collect();
    assert_eq!(names, ["MPCRecordingInitiated", "MPCRecordingCompleted"]);
    assert!(got.iter().all(|r| r.method == "POST"));
    let completed = &got[1];
    assert_eq!(param(completed, "RecordingFormat"), "mp3");
    let url = param(completed, "RecordingURL");
    let path = url.strip_prefix("file://").expect(url);
    assert!(path.ends_with(".mp3"), "{path}");
    let mp3 = std::fs::read(path).expect("the recording file");
    let samples = chorus_gateway::player::decode::decode(mp3, Some("mp3"), 8000)
        .expect("an MP3 file that decodes");
    let seconds = samples.len() as f64 / 8000.0;
    assert!((1.5..6.0).contains(&seconds), "{seconds:.2} s");
    // MP3 at 48 kbit/s spreads codec noise beside three loud tones (up to
    // about −40 dBFS at 1550 Hz, 200 Hz from the supervisor's tone), so
    // silence here is "no window at the heard line", not G.711's floor.
    assert_hears_above_floor(
        "the MP3 recording",
        &samples,
        &[CUSTOMER, AGENT, SUPERVISOR],
        &NOBODY,
        chorus_tests::tone::PRESENT_DBFS,
    );
    chorus.stop().await;
}

/// A recording that cannot be written (its directory is a file) fails with
/// a callback, is counted and logged, and the call goes on unharmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_that_cannot_be_written_fails_and_the_call_goes_on() {
    let app = AppServer::start(vec![("/rec".to_owned(), Reply::status(200))]).await;
    let dir = Scratch::new("recording-fail");
    let blocker = dir.path("not-a-directory");
    std::fs::write(&blocker, b"in the way").unwrap();
    let chorus = start(&app, blocker.join("recordings").to_str().unwrap(), "8000").await;
    let record = format!(
        r#"record="true" recordFileFormat="wav" recordingCallbackUrl="{}""#,
        app.url("/rec")
    );
    let customer = join(
        &app,
        &chorus,
        &format!(r#"role="customer" {record}"#),
        CUSTOMER,
    )
    .await;
    let got = app.wait_for_requests("/rec", 2, TIMEOUT).await;
    let names: Vec<&str> = got.iter().map(|r| param(r, "EventName")).collect();
    assert_eq!(names, ["MPCRecordingInitiated", "MPCRecordingFailed"]);
    assert_eq!(param(&got[1], "SequenceNumber"), "2");
    assert_eq!(param(&got[1], "RecordingDuration"), "");
    wait_for_metric(&chorus, r#"chorus_recordings_total{outcome="failed"}"#, 1.0).await;
    assert!(
        chorus.log().contains("MPC recording failed"),
        "{}",
        chorus.log()
    );

    let agent = join(&app, &chorus, r#"role="agent""#, AGENT).await;
    let heard = listen(&[&customer, &agent], 300, 1200).await;
    assert_hears("the customer", &heard[0], &[AGENT], &NOBODY);
    assert_hears("the agent", &heard[1], &[CUSTOMER], &NOBODY);
    assert_eq!(customer.hangup().await.unwrap(), 200);
    assert!(agent.wait_for_bye(TIMEOUT).await);
    chorus.stop().await;
}

/// A WAV recording a crash cut short (its header counts only what was there
/// at the last checkpoint) plays to its end once chorusd has started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_cut_short_by_a_crash_is_repaired_at_start_up() {
    use chorus_recorder::{Format, TrackWriter};
    let app = AppServer::start(vec![]).await;
    let dir = Scratch::new("recording-crash");
    let path = dir.path("cut-short.wav");
    let part = chorus_recorder::part_path(&path);
    let audio: Vec<i16> = (0..12_000)
        .map(|i| (i % 400) as i16 * 50 - 10_000)
        .collect();
    let mut track =
        TrackWriter::new(std::fs::File::create(&part).unwrap(), Format::Wav, 8000).unwrap();
    track.write(&audio[..8000]).unwrap();
    track.checkpoint().unwrap();
    track.write(&audio[8000..]).unwrap();
    std::mem::forget(track); // the crash: nothing is finalised
    assert_eq!(read_wav(&part).unwrap().1.len(), 8000);

    let chorus = start(&app, dir.path("").to_str().unwrap(), "8000").await;
    assert_eq!(read_wav(&path).unwrap().1, audio, "repaired before ready");
    assert!(!part.exists(), "and named");
    assert!(
        chorus
            .log()
            .contains("a recording cut short by a crash was repaired"),
        "{}",
        chorus.log()
    );
    chorus.stop().await;
}

/// Recording settings are MPC level: a later member's `record="true"`
/// cannot change the format or callback URL the MPC was created with; it is
/// told in the log, not silently dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_members_recording_settings_are_logged_not_silently_dropped() {
    let app = AppServer::start(vec![
        ("/rec".to_owned(), Reply::status(200)),
        ("/other".to_owned(), Reply::status(200)),
    ])
    .await;
    let dir = Scratch::new("recording-later");
    let dir_path = dir.path("recordings");
    let chorus = start(&app, dir_path.to_str().unwrap(), "8000").await;
    let first = join(
        &app,
        &chorus,
        &format!(
            r#"role="agent" stayAlone="true" recordFileFormat="wav" recordingCallbackUrl="{}""#,
            app.url("/rec")
        ),
        AGENT,
    )
    .await;
    let later = join(
        &app,
        &chorus,
        &format!(
            r#"role="customer" record="true" recordFileFormat="mp3" recordingCallbackUrl="{}""#,
            app.url("/other")
        ),
        CUSTOMER,
    )
    .await;
    let started = app.wait_for_requests("/rec", 1, TIMEOUT).await;
    assert_eq!(
        param(&started[0], "RecordingFormat"),
        "wav",
        "the MPC's format"
    );
    assert!(
        app.requests_to("/other").is_empty(),
        "the MPC's callback URL"
    );
    assert!(
        chorus
            .log()
            .contains("a later member's recordFileFormat/recordingCallbackUrl are ignored"),
        "said in the log"
    );
    assert_eq!(later.hangup().await.unwrap(), 200);
    assert_eq!(first.hangup().await.unwrap(), 200);
    chorus.stop().await;
}
