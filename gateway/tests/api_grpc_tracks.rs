//! Participant track recordings over gRPC, against the real daemon with
//! real phones: start, pause and stop one member's track, the refusals
//! that change nothing, and the events `WatchEvents` streams about it.

mod common;
mod grpc_common;

use std::time::Duration;

use chorus_proto::v1 as pb;
use chorus_tests::http::AppServer;
use chorus_tests::peers::{Scratch, read_wav};
use chorus_tests::tone::assert_hears;
use common::{join_mpc, let_media_flow, start_recording_into};
use grpc_common::{authed, client, named};
use pb::change_recording_request::Change;
use tonic::{Code, Request};

const ROOM: &str = "grpc-tracks";
const ALICE: f32 = 950.0;
const BOB: f32 = 1150.0;

fn room() -> Option<pb::MultiPartyCallId> {
    named(ROOM)
}

fn change(
    member_id: u32,
    change: Change,
    track: pb::RecordTrackType,
) -> Request<pb::ChangeParticipantRecordingRequest> {
    authed(pb::ChangeParticipantRecordingRequest {
        mpc: room(),
        member_id,
        change: change.into(),
        record_track_type: track.into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_client_records_a_members_outbound_track_and_watches_its_events() {
    let app = AppServer::start(vec![]).await;
    let dir = Scratch::new("grpc-tracks");
    let chorus = start_recording_into(&app, &dir).await;
    // No enter beep: 1000 Hz would show at 950 Hz in what alice heard.
    let attrs = r#"role="agent" stayAlone="true" enterSound="none""#;
    let alice = join_mpc(&app, &chorus, ROOM, attrs, Some(ALICE)).await;
    let bob = join_mpc(&app, &chorus, ROOM, attrs, Some(BOB)).await;
    let mut client = client(&chorus).await;
    let mut stream = client
        .watch_events(authed(pb::WatchEventsRequest { mpc: room() }))
        .await
        .unwrap()
        .into_inner();

    let start = |member_id, track: pb::RecordTrackType| {
        authed(pb::StartParticipantRecordingRequest {
            mpc: room(),
            member_id,
            file_format: "wav".into(),
            recording_callback_url: None,
            recording_callback_method: String::new(),
            record_track_type: track.into(),
        })
    };
    let started = client
        .start_participant_recording(start(1, pb::RecordTrackType::Outbound))
        .await
        .unwrap()
        .into_inner()
        .recordings;
    assert_eq!(started.len(), 1, "{started:?}");
    let recording = &started[0];
    assert_eq!(recording.member_id, Some(1));
    assert_eq!(recording.record_track_type(), pb::RecordTrackType::Outbound);
    assert_eq!(recording.format, "wav");

    // Refusals, each changing nothing.
    let refusals = [
        (
            client
                .start_participant_recording(start(1, pb::RecordTrackType::Unspecified))
                .await,
            Code::FailedPrecondition,
        ),
        (
            client
                .start_participant_recording(start(9, pb::RecordTrackType::Inbound))
                .await,
            Code::NotFound,
        ),
    ];
    for (answer, code) in refusals {
        assert_eq!(answer.unwrap_err().code(), code);
    }
    // ALL names the inbound track, which is not recorded: nothing pauses.
    let all = client
        .change_participant_recording(change(1, Change::Pause, pb::RecordTrackType::All))
        .await;
    assert_eq!(all.unwrap_err().code(), Code::FailedPrecondition);
    let_media_flow(1500).await;
    client
        .change_participant_recording(change(1, Change::Pause, pb::RecordTrackType::Outbound))
        .await
        .unwrap();
    let_media_flow(1000).await;
    client
        .change_participant_recording(change(1, Change::Stop, pb::RecordTrackType::Outbound))
        .await
        .unwrap();

    let mut seen = Vec::new();
    while seen
        .last()
        .is_none_or(|e: &pb::Event| e.name != "ParticipantRecordingCompleted")
    {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .unwrap_or_else(|_| panic!("no ParticipantRecordingCompleted; got {seen:?}"))
            .unwrap()
            .unwrap();
        if let Some(pb::watch_events_response::Item::Event(e)) = next.item
            && e.name.starts_with("ParticipantRecording")
        {
            seen.push(e);
        }
    }
    let names: Vec<&str> = seen.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ParticipantRecordingInitiated",
            "ParticipantRecordingPaused",
            "ParticipantRecordingCompleted"
        ]
    );
    for e in &seen {
        let r = e.recording.as_ref().expect("the recording");
        assert_eq!(r.recording_uuid, recording.recording_uuid);
        assert_eq!(r.member_id, Some(1));
        assert_eq!(r.record_track_type(), pb::RecordTrackType::Outbound);
        assert_eq!(r.participant_call_uuid.as_deref().map(str::len), Some(36));
    }
    let path = recording.url.trim_start_matches("file://");
    let (_, samples) = read_wav(std::path::Path::new(path)).expect("a WAV file");
    let seconds = samples.len() as f64 / 8000.0;
    assert!(
        (1.0..2.5).contains(&seconds),
        "1.5 s before the pause: {seconds:.2}"
    );
    assert_hears("alice's outbound track", &samples, &[BOB], &[ALICE]);
    for call in [alice, bob] {
        assert_eq!(call.hangup().await.unwrap(), 200);
    }
    chorus.stop().await;
}
