//! The gRPC API (`chorus.v1.MultiPartyCalls`), driven by a tonic client
//! against the real daemon with real phones: what the API answers, what the
//! phones hear, and what `WatchEvents` streams; bearer-token auth, error
//! codes, health and reflection.

mod common;
mod grpc_common;

use std::time::{Duration, Instant};

use chorus_proto::v1 as pb;
use chorus_tests::daemon::{API_TOKEN, Chorusd};
use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{Call, DialOptions, dial};
use chorus_tests::tone::assert_hears;
use common::{chorusd_bin, let_media_flow};
use grpc_common::{channel, named, with_token};
use pb::multi_party_calls_client::MultiPartyCallsClient;
use tonic::{Code, Request};

const WAIT: Duration = Duration::from_secs(5);
const ROOM: &str = "grpc-room";

/// chorusd whose answer document puts callers, as agents, in MPC
/// `grpc-room`, which waits to be started.
async fn start_with_room(env: &[(&str, &str)]) -> (AppServer, Chorusd) {
    let app = AppServer::start(vec![("/status".to_owned(), Reply::status(200))]).await;
    let answer_url = app.url("/answer");
    let mut vars = vec![("CHORUS_INBOUND__ANSWER_URL", answer_url.as_str())];
    vars.extend_from_slice(env);
    let chorus = Chorusd::start(chorusd_bin(), &vars).await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" startMpcOnEnter="false" stayAlone="true" statusCallbackUrl="{}">{ROOM}</MultiPartyCall></Response>"#,
            app.url("/status")
        )),
    );
    (app, chorus)
}

fn room() -> Option<pb::MultiPartyCallId> {
    named(ROOM)
}

fn member(id: u32) -> Option<pb::Members> {
    Some(pb::Members {
        members: Some(pb::members::Members::MemberId(id)),
    })
}

fn all() -> Option<pb::Members> {
    Some(pb::Members {
        members: Some(pb::members::Members::All(true)),
    })
}

fn update(
    members: Option<pb::Members>,
    mute: Option<bool>,
    hold: Option<bool>,
) -> pb::UpdateParticipantsRequest {
    pb::UpdateParticipantsRequest {
        mpc: room(),
        members,
        mute,
        hold,
        coach_mode: None,
    }
}

/// What `a` and `b` hear over the next second.
async fn listen(a: &Call, b: &Call) -> (Vec<i16>, Vec<i16>) {
    let_media_flow(300).await;
    let since = Instant::now();
    let_media_flow(1000).await;
    (a.received_audio_since(since), b.received_audio_since(since))
}

/// Reads the stream until `last` (not counting speech events, which the
/// tones set off at their own pace), or panics after [`WAIT`].
async fn events_until(
    stream: &mut tonic::Streaming<pb::WatchEventsResponse>,
    last: &str,
) -> Vec<pb::Event> {
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let next = tokio::time::timeout_at(deadline, stream.message())
            .await
            .unwrap_or_else(|_| panic!("no {last} within {WAIT:?}; got {:?}", names(&events)))
            .expect("the stream goes on")
            .expect("the stream is not over");
        match next.item {
            Some(pb::watch_events_response::Item::Event(e)) => {
                let done = e.name == last;
                if !e.name.starts_with("ParticipantSpeak") {
                    events.push(e);
                }
                if done {
                    return events;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn names(events: &[pb::Event]) -> Vec<&str> {
    events.iter().map(|e| e.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_client_runs_an_mpc_the_phones_hear_each_change_and_the_events_stream_in_order() {
    let (_app, chorus) = start_with_room(&[]).await;
    let channel = channel(&chorus).await;
    let mut api = MultiPartyCallsClient::new(channel.clone());
    // Watching this MPC only, from before its first member arrives.
    let watch = pb::WatchEventsRequest { mpc: room() };
    let mut stream = api
        .watch_events(with_token(watch, API_TOKEN))
        .await
        .expect("watch")
        .into_inner();
    let elsewhere = pb::WatchEventsRequest {
        mpc: named("another-room"),
    };
    let mut other_stream = api
        .watch_events(with_token(elsewhere, API_TOKEN))
        .await
        .expect("watch")
        .into_inner();
    let a = dial(chorus.sip_addr(), ROOM, DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let b = dial(chorus.sip_addr(), ROOM, DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let joined = events_until(&mut stream, "ParticipantJoin").await;
    let joined_too = events_until(&mut stream, "ParticipantJoin").await;

    // Initialized: the members wait, hearing nobody.
    let listed = api
        .list_multi_party_calls(with_token(
            pb::ListMultiPartyCallsRequest {
                status: pb::MultiPartyCallStatus::Initialized.into(),
                ..Default::default()
            },
            API_TOKEN,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_count, 1, "{listed:?}");
    let mpc = &listed.multi_party_calls[0];
    assert_eq!(mpc.friendly_name, ROOM);
    assert_eq!(mpc.status(), pb::MultiPartyCallStatus::Initialized);
    assert_eq!(mpc.participant_count, Some(2));
    assert!(!mpc.mpc_uuid.is_empty());
    let uuid = mpc.mpc_uuid.clone();
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a before the start", &heard_a, &[], &[700.0]);
    assert_hears("b before the start", &heard_b, &[], &[400.0]);

    // Started: the room mixes.
    let started = api
        .start_multi_party_call(with_token(
            pb::StartMultiPartyCallRequest { mpc: room() },
            API_TOKEN,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.status(), pb::MultiPartyCallStatus::Active);
    assert!(started.start_time.is_some());
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a once started", &heard_a, &[700.0], &[]);
    assert_hears("b once started", &heard_b, &[400.0], &[]);
    let members = api
        .list_participants(with_token(
            pb::ListParticipantsRequest {
                mpc: room(),
                call_uuid: None,
            },
            API_TOKEN,
        ))
        .await
        .unwrap()
        .into_inner()
        .participants;
    let ids: Vec<u32> = members.iter().map(|m| m.member_id).collect();
    assert_eq!(ids, [1, 2]);
    assert_eq!(members[0].role(), pb::Role::Agent);

    // Muting a: b no longer hears it; a still hears b.
    let after = api
        .update_participants(with_token(update(member(1), Some(true), None), API_TOKEN))
        .await
        .unwrap()
        .into_inner()
        .participants;
    assert_eq!(
        after.iter().map(|p| p.mute).collect::<Vec<_>>(),
        [Some(true), Some(false)]
    );
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a, muted", &heard_a, &[700.0], &[]);
    assert_hears("b, a muted", &heard_b, &[], &[400.0]);

    // Everyone held, then unheld and a unmuted.
    api.update_participants(with_token(update(all(), None, Some(true)), API_TOKEN))
        .await
        .unwrap();
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a, all held", &heard_a, &[], &[700.0]);
    assert_hears("b, all held", &heard_b, &[], &[400.0]);
    api.update_participants(with_token(update(all(), None, Some(false)), API_TOKEN))
        .await
        .unwrap();
    api.update_participants(with_token(update(member(1), Some(false), None), API_TOKEN))
        .await
        .unwrap();
    let (heard_a, heard_b) = listen(&a, &b).await;
    assert_hears("a, all back", &heard_a, &[700.0], &[]);
    assert_hears("b, all back", &heard_b, &[400.0], &[]);

    // Kicking a releases its call; ending the MPC releases b's.
    let left = api
        .kick_participants(with_token(
            pb::KickParticipantsRequest {
                mpc: room(),
                members: member(1),
            },
            API_TOKEN,
        ))
        .await
        .unwrap()
        .into_inner()
        .participants;
    assert_eq!(left.iter().map(|p| p.member_id).collect::<Vec<_>>(), [2]);
    assert!(a.wait_for_bye(WAIT).await, "the kicked member's call ends");
    let by_uuid = Some(pb::MultiPartyCallId {
        id: Some(pb::multi_party_call_id::Id::MpcUuid(uuid.clone())),
    });
    let ended = api
        .end_multi_party_call(with_token(
            pb::EndMultiPartyCallRequest {
                mpc: by_uuid.clone(),
            },
            API_TOKEN,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ended.status(), pb::MultiPartyCallStatus::Ended);
    assert!(
        b.wait_for_bye(WAIT).await,
        "ending the MPC releases its members"
    );
    let after = api
        .get_multi_party_call(with_token(
            pb::GetMultiPartyCallRequest { mpc: by_uuid },
            API_TOKEN,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.status(), pb::MultiPartyCallStatus::Ended);
    assert_eq!(
        after.termination_cause.as_deref(),
        Some("MPC Ended Via API")
    );
    assert_eq!(after.termination_cause_code, Some(2000));
    // An ended MPC can only be looked at.
    let refused = api
        .update_participants(with_token(update(all(), Some(true), None), API_TOKEN))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("has ended"), "{refused:?}");

    // The stream told it all, in order, for this MPC.
    let rest = events_until(&mut stream, "MPCEnd").await;
    // The calls' own events come with those of the MPC they are in, at
    // their own pace: both members' calls, released (one kicked, one by the
    // end), run out of document and are hung up; read on until both did.
    let (mut calls, all_events): (Vec<pb::Event>, Vec<pb::Event>) = joined
        .into_iter()
        .chain(joined_too)
        .chain(rest)
        .partition(|e| e.call.is_some());
    while calls.len() < 2 {
        let more = events_until(&mut stream, "Hangup").await;
        calls.extend(more.into_iter().filter(|e| e.call.is_some()));
    }
    assert_eq!(names(&calls), ["Hangup", "Hangup"], "{calls:?}");
    for hangup in &calls {
        let call = hangup.call.as_ref().unwrap();
        assert_eq!(call.hangup_cause, "End Of XML Instructions", "{call:?}");
        assert_eq!(hangup.friendly_name, ROOM);
    }
    assert_eq!(
        names(&all_events),
        [
            "MPCInitialized",
            "ParticipantJoin",
            "ParticipantJoin",
            "MPCStart",
            "ParticipantMute",
            "ParticipantHold",
            "ParticipantHold",
            "ParticipantUnhold",
            "ParticipantUnhold",
            "ParticipantUnmute",
            "ParticipantExit",
            "ParticipantExit",
            "MPCEnd",
        ]
    );
    for e in &all_events {
        assert_eq!(
            (e.friendly_name.as_str(), e.mpc_uuid.as_str()),
            (ROOM, uuid.as_str())
        );
        assert!(e.timestamp.is_some(), "{e:?}");
    }
    let mute = &all_events[4];
    assert_eq!(mute.participant.as_ref().map(|p| p.member_id), Some(1));
    let kicked = &all_events[10];
    assert_eq!(
        kicked
            .participant
            .as_ref()
            .and_then(|p| p.exit_cause.as_deref()),
        Some("Kicked Out of Multiparty Call")
    );
    let kicked_call_uuid = kicked.participant.as_ref().unwrap().call_uuid.as_str();
    assert!(
        calls
            .iter()
            .any(|e| e.call.as_ref().unwrap().call_uuid == kicked_call_uuid),
        "the kicked member's call is among those hung up: {calls:?}"
    );
    let end = all_events.last().unwrap();
    assert_eq!(
        end.mpc
            .as_ref()
            .and_then(|m| m.termination_cause.as_deref()),
        Some("MPC Ended Via API")
    );
    assert!(end.participant.is_none());
    // A watcher of another MPC heard none of it.
    let quiet = tokio::time::timeout(Duration::from_millis(300), other_stream.message()).await;
    assert!(quiet.is_err(), "another MPC's watcher got {quiet:?}");
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_unknown_names_and_bad_values_get_precise_codes_and_change_nothing() {
    let (_app, chorus) = start_with_room(&[]).await;
    let a = dial(chorus.sip_addr(), ROOM, DialOptions::with_tone(400.0))
        .await
        .unwrap();
    let mut api = MultiPartyCallsClient::new(channel(&chorus).await);
    let get = |mpc| pb::GetMultiPartyCallRequest { mpc };

    for token in [None, Some("not-the-token-at-all"), Some("")] {
        let request = match token {
            None => Request::new(get(room())),
            Some(t) => with_token(get(room()), t),
        };
        let refused = api.get_multi_party_call(request).await.unwrap_err();
        assert_eq!(
            refused.code(),
            Code::Unauthenticated,
            "{token:?}: {refused:?}"
        );
    }
    let mut watch = api
        .watch_events(Request::new(pb::WatchEventsRequest { mpc: None }))
        .await;
    assert_eq!(
        watch.as_mut().map(|_| ()).unwrap_err().code(),
        Code::Unauthenticated
    );

    let missing = api
        .get_multi_party_call(with_token(get(named("no-such-room")), API_TOKEN))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        missing.message(),
        r#"MPC friendly_name "no-such-room" not found"#
    );
    let no_member = api
        .update_participants(with_token(update(member(9), Some(true), None), API_TOKEN))
        .await
        .unwrap_err();
    assert_eq!(no_member.code(), Code::NotFound);
    assert!(no_member.message().contains("member 9"), "{no_member:?}");

    let invalid = [
        (
            api.list_multi_party_calls(with_token(
                pb::ListMultiPartyCallsRequest {
                    limit: 50,
                    ..Default::default()
                },
                API_TOKEN,
            ))
            .await
            .map(|_| ()),
            "limit must be between 1 and 20",
        ),
        (
            api.list_multi_party_calls(with_token(
                pb::ListMultiPartyCallsRequest {
                    status: 9,
                    ..Default::default()
                },
                API_TOKEN,
            ))
            .await
            .map(|_| ()),
            "status 9",
        ),
        (
            api.get_multi_party_call(with_token(get(None), API_TOKEN))
                .await
                .map(|_| ()),
            "mpc is required",
        ),
        (
            api.update_participants(with_token(update(member(1), None, None), API_TOKEN))
                .await
                .map(|_| ()),
            "at least one of coach_mode, mute, hold",
        ),
        (
            api.update_participants(with_token(
                pb::UpdateParticipantsRequest {
                    coach_mode: Some(false),
                    ..update(all(), None, None)
                },
                API_TOKEN,
            ))
            .await
            .map(|_| ()),
            "coach_mode cannot be changed for all",
        ),
        (
            api.kick_participants(with_token(
                pb::KickParticipantsRequest {
                    mpc: room(),
                    members: None,
                },
                API_TOKEN,
            ))
            .await
            .map(|_| ()),
            "members is required",
        ),
    ];
    for (answer, text) in invalid {
        let status = answer.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(text), "{status:?} lacks {text:?}");
    }

    // Nothing changed: a still unmuted, the MPC still waiting.
    let a_now = api
        .get_participant(with_token(
            pb::GetParticipantRequest {
                mpc: room(),
                member_id: 1,
            },
            API_TOKEN,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a_now.mute, Some(false));
    let mpc = api
        .get_multi_party_call(with_token(get(room()), API_TOKEN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mpc.status(), pb::MultiPartyCallStatus::Initialized);
    assert!(!a.got_bye());
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_answer_without_a_token_and_the_api_is_closed_until_one_is_set() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let chorus = Chorusd::start(chorusd_bin(), &[("CHORUS_API__AUTH_TOKEN", "")]).await;
    let channel = channel(&chorus).await;

    let mut health = HealthClient::new(channel.clone());
    for service in ["", "chorus.v1.MultiPartyCalls"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }

    let mut reflection = ServerReflectionClient::new(channel.clone());
    let ask = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([ask]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().expect("an answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let services: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(
        services.contains(&"chorus.v1.MultiPartyCalls"),
        "{services:?}"
    );
    assert!(services.contains(&"grpc.health.v1.Health"), "{services:?}");

    // No token configured: even the right-looking one is refused, and the
    // message says how to open the API.
    let mut api = MultiPartyCallsClient::new(channel);
    let refused = api
        .list_multi_party_calls(with_token(
            pb::ListMultiPartyCallsRequest::default(),
            API_TOKEN,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("CHORUS_API__AUTH_TOKEN"),
        "{refused:?}"
    );
    assert!(
        chorus
            .log()
            .contains("the gRPC API refuses every request until a token is set")
    );
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_grpc_port_is_a_start_up_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let sip = chorus_tests::ports::udp_and_tcp();
    let run = tokio::process::Command::new(chorusd_bin())
        .envs([
            ("CHORUS_SIP__UDP_LISTEN", format!("127.0.0.1:{sip}")),
            ("CHORUS_SIP__TCP_LISTEN", "off".to_owned()),
            ("CHORUS_METRICS__LISTEN", "off".to_owned()),
            ("CHORUS_API__REST_LISTEN", "off".to_owned()),
            ("CHORUS_API__GRPC_LISTEN", addr.clone()),
        ])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(WAIT, run)
        .await
        .expect("chorusd exits at once")
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{log}");
    assert!(
        log.contains(&format!("cannot listen for the gRPC API on {addr}")),
        "{log}"
    );
    assert!(!log.contains("chorusd ready"), "{log}");
    drop(taken);
}
