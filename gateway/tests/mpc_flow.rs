//! MultiPartyCall rules end to end that change a call's flow or report
//! what participants do: onExitActionUrl, maxParticipants, digit and speech
//! events. Each with real phones and a real application server.

mod common;

use std::time::Duration;

use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{DialOptions, dial};
use common::{let_media_flow, start_with_answer_url, start_with_room_of_two};

const TIMEOUT: Duration = Duration::from_secs(10);

/// A member released by the MPC (here: another member's endMpcOnExit)
/// fetches its onExitActionUrl and runs that document instead of the
/// element after `<MultiPartyCall>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_exit_action_url_replaces_the_rest_of_the_document() {
    let app = AppServer::start(vec![
        (
            "/onexit".to_owned(),
            Reply::xml("<Response><Hangup/></Response>"),
        ),
        (
            "/next".to_owned(),
            Reply::xml("<Response><Hangup/></Response>"),
        ),
    ])
    .await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" onExitActionUrl="{}" onExitActionMethod="GET">x</MultiPartyCall><Redirect>{}</Redirect></Response>"#,
            app.url("/onexit"),
            app.url("/next")
        )),
    );
    let agent = dial(chorus.sip_addr(), "x", DialOptions::default())
        .await
        .unwrap();
    app.set_route(
        "/answer",
        Reply::xml(r#"<Response><MultiPartyCall role="customer" endMpcOnExit="true">x</MultiPartyCall></Response>"#),
    );
    let customer = dial(chorus.sip_addr(), "x", DialOptions::default())
        .await
        .unwrap();
    let answered = app.wait_for_requests("/answer", 2, TIMEOUT).await;
    let agent_uuid = answered[0].param("CallUUID").unwrap().to_owned();
    let_media_flow(200).await;
    assert_eq!(customer.hangup().await.unwrap(), 200);

    let onexit = app.wait_for_requests("/onexit", 1, TIMEOUT).await;
    assert_eq!(onexit[0].method, "GET");
    assert_eq!(onexit[0].param("CallUUID"), Some(agent_uuid.as_str()));
    // The MPC's fields that seed 000 lists for this request.
    assert_eq!(onexit[0].param("MPCFriendlyName"), Some("x"));
    assert_eq!(onexit[0].param("MemberID"), Some("1"));
    assert_eq!(
        onexit[0].param("ParticipantCallUUID"),
        Some(agent_uuid.as_str())
    );
    assert_eq!(onexit[0].param("ParticipantRole"), Some("Agent"));
    for time in ["ParticipantJoinTime", "ParticipantEndTime"] {
        assert!(
            onexit[0].param(time).is_some_and(|t| t.ends_with("+00:00")),
            "{time}: {:?}",
            onexit[0].param(time)
        );
    }
    assert!(onexit[0].param("MPCUUID").is_some_and(|u| u.len() == 36));
    assert!(
        agent.wait_for_bye(TIMEOUT).await,
        "the onExitActionUrl document's <Hangup/> ends the agent's call"
    );
    assert!(
        app.requests_to("/next").is_empty(),
        "the element after <MultiPartyCall> is not run"
    );
    chorus.stop().await;
}

/// With maxParticipants="2" the third caller is not let in; its document
/// goes on with the next element.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_too_many_goes_on_with_the_next_element() {
    let (app, chorus) = start_with_room_of_two().await;
    let first = dial(chorus.sip_addr(), "two", DialOptions::default())
        .await
        .unwrap();
    let second = dial(chorus.sip_addr(), "two", DialOptions::default())
        .await
        .unwrap();
    let third = dial(chorus.sip_addr(), "two", DialOptions::default())
        .await
        .unwrap();
    let answered = app.wait_for_requests("/answer", 3, TIMEOUT).await;
    let full = app.wait_for_requests("/full", 1, TIMEOUT).await;
    assert_eq!(full[0].param("CallUUID"), answered[2].param("CallUUID"));
    assert!(
        third.wait_for_bye(TIMEOUT).await,
        "the third call is hung up"
    );
    let_media_flow(300).await;
    assert_eq!(app.requests_to("/full").len(), 1, "only the third");
    assert_eq!(first.hangup().await.unwrap(), 200);
    assert_eq!(second.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

/// Digits (RFC 4733) and voice activity become ParticipantDigitInput and
/// ParticipantSpeakStart callbacks when statusCallbackEvents asks for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digits_and_speech_are_reported_when_asked_for() {
    let app = AppServer::start(vec![("/cb".to_owned(), Reply::status(200))]).await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            r#"<Response><MultiPartyCall role="agent" statusCallbackUrl="{}" statusCallbackEvents="participant-digit-input-events,participant-speak-events">d</MultiPartyCall></Response>"#,
            app.url("/cb")
        )),
    );
    let call = dial(chorus.sip_addr(), "d", DialOptions::with_tone(700.0))
        .await
        .unwrap();
    let_media_flow(600).await;
    call.send_dtmf('7').await.unwrap();
    let got = app.wait_for_requests("/cb", 2, TIMEOUT).await;
    let names: Vec<&str> = got
        .iter()
        .map(|r| r.param("EventName").unwrap_or("?"))
        .collect();
    assert_eq!(names, ["ParticipantSpeakStart", "ParticipantDigitInput"]);
    assert_eq!(got[1].param("DigitInput"), Some("7"));
    assert_eq!(
        got[0].param("SequenceNumber"),
        Some("1"),
        "only selected events are numbered"
    );
    assert_eq!(got[1].param("SequenceNumber"), Some("2"));
    assert_eq!(call.hangup().await.unwrap(), 200);
    chorus.stop().await;
}

/// relayDTMFInputs: digits reach exactly the phones that hear the presser,
/// as RFC 4733 events; a coaching supervisor's never reach the customer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayed_digits_reach_exactly_those_who_hear_the_presser() {
    let app = AppServer::start(vec![]).await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let join = |role: &str| {
        app.set_route(
            "/answer",
            Reply::xml(&format!(
                r#"<Response><MultiPartyCall role="{role}" relayDTMFInputs="true" stayAlone="true">dtmf</MultiPartyCall></Response>"#
            )),
        );
        dial(chorus.sip_addr(), "dtmf", DialOptions::default())
    };
    let agent = join("agent").await.unwrap();
    let customer = join("customer").await.unwrap();
    let coach = join("supervisor").await.unwrap();
    let_media_flow(300).await;

    coach.send_dtmf('3').await.unwrap();
    let_media_flow(800).await;
    assert_eq!(agent.received_digits(), ['3'], "the agent hears the coach");
    assert!(
        customer.received_digits().is_empty(),
        "a customer never receives a coaching supervisor's digits"
    );

    customer.send_dtmf('9').await.unwrap();
    let_media_flow(800).await;
    assert_eq!(agent.received_digits(), ['3', '9']);
    assert_eq!(coach.received_digits(), ['9']);
    assert!(
        customer.received_digits().is_empty(),
        "not back to the presser"
    );
    for call in [agent, customer, coach] {
        let _ = call.hangup().await;
    }
    chorus.stop().await;
}
