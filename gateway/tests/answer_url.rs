//! The inbound call flow driven by a real HTTP answer URL.

mod common;

use std::time::Duration;

use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{DialOptions, PhoneError, dial};
use common::start_with_answer_url;

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_url_gets_call_parameters_and_hangup_sends_bye() {
    let app = AppServer::start(vec![(
        "/answer".to_owned(),
        Reply::xml("<Response><Wait length=\"1\"/><Hangup/></Response>"),
    )])
    .await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    let opts = DialOptions {
        from_user: "alice".to_owned(),
        extra_headers: vec![("X-PH-Ticket".to_owned(), "T-42".to_owned())],
        ..Default::default()
    };
    let call = dial(chorus.sip_addr(), "sales", opts)
        .await
        .expect("answered by <Wait>");
    assert!(
        call.wait_for_bye(TIMEOUT).await,
        "<Hangup/> makes chorus send BYE"
    );

    let requests = app.wait_for_requests("/answer", 1, TIMEOUT).await;
    let r = &requests[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.param("From"), Some("alice"));
    assert_eq!(r.param("To"), Some("sales"));
    assert_eq!(r.param("Direction"), Some("inbound"));
    assert_eq!(r.param("CallStatus"), Some("ringing"));
    assert_eq!(r.param("CallerName"), Some("alice"));
    assert_eq!(r.param("X-PH-Ticket"), Some("T-42"));
    let uuid = r.param("CallUUID").expect("CallUUID");
    assert_eq!(uuid.len(), 36, "a UUID: {uuid}");
    assert!(chorus.log().contains(uuid), "log lines carry the call UUID");
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_method_sends_a_query_string() {
    let app = AppServer::start(vec![(
        "/a".to_owned(),
        Reply::xml("<Response><Hangup reason=\"busy\"/></Response>"),
    )])
    .await;
    let chorus = start_with_answer_url(&app.url("/a"), "GET").await;
    match dial(chorus.sip_addr(), "x", DialOptions::default()).await {
        Err(PhoneError::Rejected { status, .. }) => {
            assert_eq!(status, 486, "<Hangup reason=busy> before answer")
        }
        other => panic!(
            "expected 486, got {:?}",
            other.map(|c| c.call_id().to_owned())
        ),
    }
    let requests = app.wait_for_requests("/a", 1, TIMEOUT).await;
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].param("Direction"), Some("inbound"));
    chorus.stop().await;
}

async fn expect_clean_rejection(
    chorus: &chorus_tests::daemon::Chorusd,
    status: u16,
    log_needle: &str,
) {
    match dial(chorus.sip_addr(), "room", DialOptions::default()).await {
        Err(PhoneError::Rejected { status: s, .. }) => assert_eq!(s, status),
        Err(other) => panic!("expected {status}, got {other}"),
        Ok(_) => panic!("expected {status}, call was answered"),
    }
    let log = chorus.log();
    assert!(
        log.contains(log_needle),
        "log explains ({log_needle}):\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_answer_url_ends_the_call_cleanly() {
    // Bind then drop a listener: nothing serves on that port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let chorus = start_with_answer_url(&format!("http://127.0.0.1:{port}/down"), "POST").await;
    expect_clean_rejection(&chorus, 500, "answer URL failed").await;
    assert_eq!(
        chorus_tests::phone::options(chorus.sip_addr(), TIMEOUT).await,
        Some(200)
    );
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_url_errors_and_bad_xml_end_the_call_cleanly() {
    let app = AppServer::start(vec![
        ("/err".to_owned(), Reply::status(503)),
        ("/bad".to_owned(), Reply::xml("<Response><Wait></Respo")),
    ])
    .await;
    let chorus = start_with_answer_url(&app.url("/err"), "POST").await;
    expect_clean_rejection(&chorus, 500, "answered HTTP 503").await;
    chorus.stop().await;
    let chorus = start_with_answer_url(&app.url("/bad"), "POST").await;
    expect_clean_rejection(&chorus, 500, "not a valid <Response>").await;
    chorus.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_attribute_skips_the_element_with_a_precise_error() {
    let app = AppServer::start(vec![(
        "/answer".to_owned(),
        Reply::xml("<Response><Bogus/><MultiPartyCall role=\"customer\" maxDuration=\"5\">r</MultiPartyCall></Response>"),
    )])
    .await;
    let chorus = start_with_answer_url(&app.url("/answer"), "POST").await;
    // The only element was invalid, so the document ends before answer: 480.
    expect_clean_rejection(&chorus, 480, "maxDuration").await;
    assert!(
        chorus.log().contains("Bogus"),
        "unknown element warned about"
    );
    chorus.stop().await;
}

/// A document that redirects to itself is fetched ten times in a row (the
/// answer URL and nine redirects, none with an element that needs media),
/// then the call ends as if the application had failed: 500 before answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_redirecting_document_ends_the_call_after_ten_documents() {
    let app = AppServer::start(vec![]).await;
    let answer = app.url("/answer");
    app.set_route(
        "/answer",
        Reply::xml(&format!(
            "<Response><Redirect method=\"POST\">{answer}</Redirect></Response>"
        )),
    );
    let chorus = start_with_answer_url(&answer, "POST").await;
    expect_clean_rejection(&chorus, 500, "unusable").await;
    assert_eq!(
        app.requests_to("/answer").len(),
        chorus_flow::MAX_DOCUMENTS_WITHOUT_MEDIA as usize,
        "fetched until the limit, then no more"
    );
    chorus.stop().await;
}
