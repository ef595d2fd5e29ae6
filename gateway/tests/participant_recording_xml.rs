//! Participant tracks asked for in XML, end to end: `recordParticipantTrack`
//! gives each such member an inbound track file holding its own voice from
//! the moment the MPC recording starts, and `startRecordingAudio` /
//! `stopRecordingAudio` are heard by every phone when the MPC recording
//! starts and stops.

mod common;

use std::time::Duration;

use chorus_tests::daemon::{API_AUTH_ID, API_TOKEN};
use chorus_tests::http::{AppServer, RecordedRequest, Reply};
use chorus_tests::peers::{Scratch, read_wav};
use chorus_tests::plivo_sdk::Sdk;
use chorus_tests::tone::{assert_hears, sine, wav_bytes};
use common::{join_mpc, listen, start_recording_into};

const ALICE: f32 = 950.0;
const BOB: f32 = 1150.0;
const CAROL: f32 = 1350.0;
const ON: f32 = 1650.0;
const OFF: f32 = 1850.0;
const TIMEOUT: Duration = Duration::from_secs(10);

/// A sound document playing 2 s of `hz`, served at `/<name>.xml`.
fn sound_routes(name: &str, hz: f32, app_url: &str) -> [(String, Reply); 2] {
    let wav = wav_bytes(&sine(hz, 8000, -12.0, 16000), 1, 8000);
    [
        (
            format!("/{name}.xml"),
            Reply::xml(&format!(
                "<Response><Play>{app_url}/{name}.wav</Play></Response>"
            )),
        ),
        (format!("/{name}.wav"), Reply::bytes("audio/wav", wav)),
    ]
}

fn param<'a>(request: &'a RecordedRequest, name: &str) -> &'a str {
    request.param(name).unwrap_or("<missing>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_participant_track_files_each_voice_and_everyone_hears_the_recording_sounds() {
    let app = AppServer::start(vec![("/rec".to_owned(), Reply::status(200))]).await;
    let base = app.url("");
    let base = base.trim_end_matches('/');
    for (path, reply) in sound_routes("on", ON, base)
        .into_iter()
        .chain(sound_routes("off", OFF, base))
    {
        app.set_route(&path, reply);
    }
    let dir = Scratch::new("participant-tracks-xml");
    let chorus = start_recording_into(&app, &dir).await;
    let quiet = r#"role="agent" stayAlone="true" enterSound="none" exitSound="none""#;
    // The creator's element holds the MPC's recording settings.
    let creator = format!(
        r#"{quiet} recordParticipantTrack="true" recordFileFormat="wav" recordingCallbackUrl="{}" startRecordingAudio="{}" stopRecordingAudio="{}""#,
        app.url("/rec"),
        app.url("/on.xml"),
        app.url("/off.xml"),
    );
    let alice = join_mpc(&app, &chorus, "xmltracks", &creator, Some(ALICE)).await;
    let bob_attrs = format!(r#"{quiet} recordParticipantTrack="true""#);
    let bob = join_mpc(&app, &chorus, "xmltracks", &bob_attrs, Some(BOB)).await;
    assert!(
        app.requests_to("/rec").is_empty(),
        "nobody asked for the MPC recording yet"
    );
    // Carol's record="true" starts it (and with it alice's and bob's tracks).
    let carol_attrs = format!(r#"{quiet} record="true""#);
    let carol = join_mpc(&app, &chorus, "xmltracks", &carol_attrs, Some(CAROL)).await;
    let heard = listen(&[&alice, &bob, &carol], 400, 1000).await;
    for (who, pcm) in ["alice", "bob", "carol"].iter().zip(&heard) {
        assert_hears(
            &format!("{who} as the recording starts"),
            pcm,
            &[ON],
            &[OFF],
        );
    }

    let sdk = Sdk::new(&chorus.rest_url(), API_AUTH_ID, API_TOKEN);
    let stopped = sdk.run(&["record-stop", "xmltracks"]).await;
    assert!(stopped.get("exception").is_none(), "{stopped}");
    let heard = listen(&[&alice, &bob, &carol], 400, 1000).await;
    for (who, pcm) in ["alice", "bob", "carol"].iter().zip(&heard) {
        // The start sound may still be ending: only the stop sound counts.
        assert_hears(&format!("{who} as the recording stops"), pcm, &[OFF], &[]);
    }
    for call in [alice, bob, carol] {
        assert_eq!(call.hangup().await.unwrap(), 200);
    }

    let events = app.wait_for_requests("/rec", 6, TIMEOUT).await;
    let tracks: Vec<&RecordedRequest> = events
        .iter()
        .filter(|r| param(r, "EventName") == "ParticipantRecordingCompleted")
        .collect();
    assert_eq!(
        tracks.len(),
        2,
        "alice's and bob's, not carol's: {events:#?}"
    );
    for completed in tracks {
        assert_eq!(param(completed, "RecordTrackType"), "inbound");
        assert_eq!(param(completed, "RecordingFormat"), "wav");
        let url = param(completed, "RecordingURL");
        let (_, samples) =
            read_wav(std::path::Path::new(url.trim_start_matches("file://"))).expect("a WAV track");
        let seconds = samples.len() as f64 / 8000.0;
        assert!((2.0..8.0).contains(&seconds), "{seconds:.2} s");
        match param(completed, "MemberID") {
            "1" => assert_hears("alice's track", &samples, &[ALICE], &[BOB, CAROL, ON, OFF]),
            "2" => assert_hears("bob's track", &samples, &[BOB], &[ALICE, CAROL, ON, OFF]),
            other => panic!("member {other} asked for no track"),
        }
    }
    chorus.stop().await;
}
