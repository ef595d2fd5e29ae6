//! Call events in gRPC `WatchEvents`: each inbound call's `Initiated`,
//! `Ringing`, `Answered` and `Hangup` (Plivo's call status events), with
//! the MPC the call was in and why it ended: the caller's BYE, a
//! `<Hangup>` before the answer, the document's end.

mod common;
mod grpc_common;

use std::time::Duration;

use chorus_proto::v1 as pb;
use chorus_tests::daemon::Chorusd;
use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{DialOptions, dial};
use common::{chorusd_bin, let_media_flow};
use grpc_common::{authed, client, named};

const WAIT: Duration = Duration::from_secs(5);

/// The call events on `stream` up to the next `Hangup` (other events are
/// skipped), or panics after [`WAIT`].
async fn call_events_until_hangup(
    stream: &mut tonic::Streaming<pb::WatchEventsResponse>,
) -> Vec<pb::Event> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, stream.message())
            .await
            .unwrap_or_else(|_| panic!("no Hangup within {WAIT:?}; got {events:?}"))
            .expect("the stream goes on")
            .expect("the stream is not over");
        let Some(pb::watch_events_response::Item::Event(e)) = next.item else {
            panic!("unexpected {next:?}");
        };
        if e.call.is_some() {
            let done = e.name == "Hangup";
            events.push(e);
            if done {
                return events;
            }
        }
    }
}

async fn watch(chorus: &Chorusd, mpc: Option<&str>) -> tonic::Streaming<pb::WatchEventsResponse> {
    let mut api = client(chorus).await;
    let request = authed(pb::WatchEventsRequest {
        mpc: mpc.and_then(named),
    });
    api.watch_events(request).await.unwrap().into_inner()
}

fn names(events: &[pb::Event]) -> Vec<&str> {
    events.iter().map(|e| e.name.as_str()).collect()
}

fn call(e: &pb::Event) -> &pb::Call {
    e.call.as_ref().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_call_is_reported_from_initiated_to_hangup_with_why_it_ended() {
    let app = AppServer::start(vec![]).await;
    let chorus = Chorusd::start(
        chorusd_bin(),
        &[("CHORUS_INBOUND__ANSWER_URL", app.url("/answer").as_str())],
    )
    .await;

    // In an MPC, until the caller hangs up; watched by the MPC's name.
    app.set_route(
        "/answer",
        Reply::xml(r#"<Response><MultiPartyCall role="agent" stayAlone="true">evented</MultiPartyCall></Response>"#),
    );
    let mut in_room = watch(&chorus, Some("evented")).await;
    let mut everything = watch(&chorus, None).await;
    let phone = dial(chorus.sip_addr(), "evented", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let_media_flow(300).await;
    assert_eq!(phone.hangup().await.unwrap(), 200);
    let events = call_events_until_hangup(&mut everything).await;
    assert_eq!(
        names(&events),
        ["Initiated", "Ringing", "Answered", "Hangup"]
    );
    let hangup = &events[3];
    assert_eq!(call(hangup).direction, "inbound");
    assert_eq!(call(hangup).to, "evented");
    assert_eq!(
        (
            call(hangup).hangup_cause.as_str(),
            call(hangup).hangup_cause_code,
            call(hangup).hangup_source.as_str()
        ),
        ("Normal Hangup", Some(4000), "Caller")
    );
    assert_eq!(hangup.friendly_name, "evented", "the MPC the call was in");
    assert!(
        events
            .iter()
            .all(|e| call(e).call_uuid == call(hangup).call_uuid)
    );
    // Watching the MPC shows the call's hangup there; its earlier steps
    // happened before it was in any MPC.
    let in_room = call_events_until_hangup(&mut in_room).await;
    assert_eq!(names(&in_room), ["Hangup"]);

    // Refused by a <Hangup> before any answer.
    app.set_route(
        "/answer",
        Reply::xml(r#"<Response><Hangup reason="rejected"/></Response>"#),
    );
    let refused = dial(chorus.sip_addr(), "nobody", DialOptions::default()).await;
    assert!(refused.is_err(), "the call is refused");
    let events = call_events_until_hangup(&mut everything).await;
    assert_eq!(names(&events), ["Initiated", "Ringing", "Hangup"]);
    let hangup = call(&events[2]);
    assert_eq!(
        (hangup.hangup_cause.as_str(), hangup.hangup_source.as_str()),
        ("Rejected", "Answer XML")
    );

    // A document that runs out after playing: Plivo's End Of XML
    // Instructions, from chorus.
    app.set_route(
        "/answer",
        Reply::xml(
            r#"<Response><Wait length="1"/><Play>http://127.0.0.1:9/none.wav</Play></Response>"#,
        ),
    );
    let short = dial(chorus.sip_addr(), "short", DialOptions::default())
        .await
        .unwrap();
    assert!(short.wait_for_bye(WAIT).await, "chorus hangs up at the end");
    let events = call_events_until_hangup(&mut everything).await;
    let hangup = call(events.last().unwrap());
    assert_eq!(
        (
            hangup.hangup_cause.as_str(),
            hangup.hangup_cause_code,
            hangup.hangup_source.as_str()
        ),
        ("End Of XML Instructions", Some(4010), "chorus")
    );
    assert_eq!(events.last().unwrap().friendly_name, "", "never in an MPC");
    chorus.stop().await;
}
