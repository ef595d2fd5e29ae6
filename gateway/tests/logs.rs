//! Whose log line is it: every line an MPC's task writes (its events, its
//! callback retries, its sound loads) carries the MPC's span, every line
//! about a member names the member's call UUID, and every line a call's
//! task writes carries the call's span — read from chorusd's JSON log.

mod common;

use std::time::Duration;

use chorus_tests::http::{AppServer, Reply};
use chorus_tests::phone::{DialOptions, dial};
use chorus_tests::tone::wav_bytes;
use common::{let_media_flow, mpc_document, start_with_settings, wait_for_metric};

const TIMEOUT: Duration = Duration::from_secs(10);

/// One JSON log line, as text (the checks are substring searches, which is
/// all this needs of tracing's JSON).
struct Line<'a>(&'a str);

impl Line<'_> {
    fn target(&self) -> &str {
        field(self.0, "target").unwrap_or("")
    }

    fn message(&self) -> &str {
        field(self.0, "message").unwrap_or("")
    }

    /// Whether it was written inside a span named `name` carrying `key`.
    fn in_span(&self, name: &str, key: &str) -> bool {
        let Some(spans) = self.0.split("\"spans\":[").nth(1) else {
            return false;
        };
        spans
            .split('}')
            .any(|span| span.contains(&format!("\"name\":\"{name}\"")) && span.contains(key))
    }

    fn has_field(&self, key: &str) -> bool {
        self.0
            .split("\"fields\":{")
            .nth(1)
            .and_then(|fields| fields.split('}').next())
            .is_some_and(|fields| fields.contains(&format!("\"{key}\":")))
    }
}

/// The string value of `"key":"value"` in a JSON line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let end = start + line[start..].find('"')?;
    Some(&line[start..end])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_line_of_an_mpc_and_of_a_call_carries_whose_it_is() {
    let app = AppServer::start(vec![
        ("/cb".to_owned(), Reply::status(500)),
        (
            "/beep.wav".to_owned(),
            Reply::bytes("audio/wav", wav_bytes(&[1000; 800], 1, 8000)),
        ),
    ])
    .await;
    let chorus = start_with_settings(
        &app.url("/answer"),
        &[
            ("CHORUS_INBOUND__ANSWER_METHOD", "GET"),
            ("CHORUS_LOG__FORMAT", "json"),
        ],
    )
    .await;
    // The enter sound: a document playing a WAV from the same server.
    let enter = app.url("/enter.xml");
    app.set_route(
        "/enter.xml",
        Reply::xml(&format!(
            "<Response><Play>{}</Play></Response>",
            app.url("/beep.wav")
        )),
    );
    let attributes = format!(
        r#"role="agent" stayAlone="true" statusCallbackUrl="{}" enterSound="{enter}""#,
        app.url("/cb")
    );
    app.set_route("/answer", mpc_document("logged", &attributes));
    let a = dial(chorus.sip_addr(), "logged", DialOptions::with_tone(400.0))
        .await
        .unwrap();
    // The first callback fails and is retried (from the MPC's task).
    app.wait_for_requests("/cb", 1, TIMEOUT).await;
    app.set_route("/cb", Reply::status(200));
    wait_for_metric(
        &chorus,
        r#"chorus_sound_documents_total{outcome="loaded"}"#,
        1.0,
    )
    .await;
    a.send_dtmf('5').await.unwrap();
    let_media_flow(500).await;
    assert_eq!(a.hangup().await.unwrap(), 200);
    wait_for_metric(&chorus, "chorus_calls_active", 0.0).await;
    wait_for_metric(&chorus, "chorus_mpcs_active", 0.0).await;
    let log = chorus.log();
    assert!(chorus.stop().await.success());

    let lines: Vec<Line> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(Line)
        .collect();
    let mut seen = [0usize; 4];
    for line in &lines {
        let target = line.target();
        if target.starts_with("chorus_gateway::mpc") || target.starts_with("chorus_gateway::events")
        {
            seen[0] += 1;
            assert!(
                line.in_span("mpc", "\"mpc_uuid\":"),
                "an MPC's line outside its span: {}",
                line.0
            );
        }
        if target.starts_with("chorus_gateway::call") {
            seen[1] += 1;
            assert!(
                line.in_span("call", "\"call_uuid\":"),
                "a call's line outside its span: {}",
                line.0
            );
        }
        if line.has_field("member") {
            seen[2] += 1;
            assert!(
                line.has_field("call_uuid") || line.in_span("call", "\"call_uuid\":"),
                "a member's line without its call UUID: {}",
                line.0
            );
        }
        if line.message() == "callback failed; retrying"
            || line.message() == "sound document loaded"
        {
            seen[3] += 1;
        }
    }
    assert!(
        seen.iter().all(|&n| n > 0),
        "lines of each kind were checked: {seen:?}\n{log}"
    );
}
