//! How a flow ends: `<Hangup>`, the end of a document, the caller hanging
//! up, shutdown, an unusable document, a redirect loop; and the inputs it
//! ignores.

use std::time::Instant;

use chorus_flow::{
    Action, CallStatus, Flow, HangupCause, Input, MAX_DOCUMENTS_WITHOUT_MEDIA, RejectStatus, Start,
};
use chorus_mpc::Then;
use chorus_xml::Method;

use super::{ANSWER_URL, Call, doc};

#[test]
fn hangup_busy_before_answer_rejects_with_486() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response><Hangup reason="busy"/><Speak>never said</Speak></Response>"#,
    );
    assert_eq!(out, ["Reject 486"]);
    assert!(call.flow.is_over());
    assert!(!call.flow.answered());
}

#[test]
fn any_other_hangup_before_answer_rejects_with_603() {
    for hangup in ["<Hangup/>", r#"<Hangup reason="rejected"/>"#] {
        let (mut call, _) = Call::inbound();
        let out = call.fetched(1, &format!("<Response>{hangup}</Response>"));
        assert_eq!(out, ["Reject 603"], "{hangup}");
        assert!(call.flow.is_over());
    }
}

#[test]
fn hangup_after_answer_hangs_up() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response><Speak>Bye</Speak><Hangup reason="busy"/><Speak>never said</Speak></Response>"#,
    );
    assert_eq!(out, ["Answer", "Speak Bye"]);
    assert_eq!(call.on(2, Input::Played), ["Hangup (Hangup)"]);
    assert!(call.flow.is_over());
}

#[test]
fn hangup_with_a_schedule_hangs_up_at_once() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response><Hangup schedule="30"/><Speak>never said</Speak></Response>"#,
    );
    assert_eq!(out, ["Reject 603"]);
    assert_eq!(call.flow.poll_timeout(), None);
}

#[test]
fn a_document_that_ends_answered_hangs_up() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        "<Response><Play>https://app.example/hi.mp3</Play></Response>",
    );
    assert_eq!(out, ["Answer", "Play https://app.example/hi.mp3"]);
    assert_eq!(call.on(4, Input::Played), ["Hangup (EndOfFlow)"]);
    assert!(call.flow.is_over());
}

#[test]
fn a_document_that_ends_unanswered_rejects_with_480() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(1, "<Response><Play>not a url</Play></Response>");
    assert_eq!(
        out,
        [
            "Skip Play: invalid (content) \"not a url\": must be an absolute http:// or https:// URL with a host",
            "Reject 480"
        ]
    );
    assert!(call.flow.is_over());
    assert!(!call.flow.answered());
}

#[test]
fn an_empty_response_rejects_with_480() {
    let (mut call, _) = Call::inbound();
    assert_eq!(call.fetched(1, "<Response/>"), ["Reject 480"]);
    assert!(call.flow.is_over());
}

#[test]
fn hanging_up_during_a_wait_a_play_a_join_or_a_fetch_ends_the_flow_with_no_action() {
    let cases = [
        (r#"<Wait length="10"/>"#, Input::Tick),
        ("<Speak>Hello</Speak>", Input::Played),
        (
            r#"<MultiPartyCall role="agent">sales</MultiPartyCall>"#,
            Input::Left(Then::NextElement),
        ),
        (
            "<Wait/><Redirect>https://app.example/next</Redirect>",
            Input::Fetched(doc("<Response><Speak>never said</Speak></Response>")),
        ),
    ];
    for (element, late_reply) in cases {
        let (mut call, _) = Call::inbound();
        call.fetched(
            1,
            &format!("<Response>{element}<Speak>never said</Speak></Response>"),
        );
        if element.starts_with("<Wait/>") {
            call.on(2, Input::Tick); // now fetching
        }
        assert_eq!(
            call.on(20, Input::HungUp),
            Vec::<String>::new(),
            "{element}"
        );
        assert!(call.flow.is_over());
        assert_eq!(call.flow.poll_timeout(), None);
        assert_eq!(call.on(30, late_reply), Vec::<String>::new(), "{element}");
    }
}

#[test]
fn hanging_up_while_the_answer_url_is_fetched_ends_the_flow_with_no_action() {
    let (mut call, _) = Call::inbound();
    assert_eq!(call.on(1, Input::HungUp), Vec::<String>::new());
    assert!(call.flow.is_over());
    assert_eq!(
        call.fetched(2, "<Response><Speak>Hi</Speak></Response>"),
        Vec::<String>::new()
    );
}

#[test]
fn a_failed_answer_drops_the_actions_queued_after_it() {
    let t0 = Instant::now();
    let document =
        doc(r#"<Response><MultiPartyCall role="agent">sales</MultiPartyCall></Response>"#);
    let mut flow = Flow::new(t0, Start::Document(document));
    assert_eq!(flow.poll_action(), Some(Action::Answer));
    flow.handle(t0, Input::HungUp); // the 200 OK could not be sent
    assert_eq!(flow.poll_action(), None);
    assert!(flow.is_over());
}

#[test]
fn shutdown_before_answer_rejects_with_503() {
    let (mut call, _) = Call::inbound();
    assert_eq!(call.on(1, Input::Shutdown), ["Reject 503"]);
    assert!(call.flow.is_over());
}

#[test]
fn shutdown_after_answer_hangs_up() {
    let (mut call, _) = Call::inbound();
    call.fetched(
        1,
        r#"<Response><MultiPartyCall role="agent">sales</MultiPartyCall></Response>"#,
    );
    assert_eq!(call.on(600, Input::Shutdown), ["Hangup (Shutdown)"]);
    assert!(call.flow.is_over());
}

#[test]
fn an_unusable_answer_url_rejects_with_500() {
    let (mut call, _) = Call::inbound();
    assert_eq!(call.on(1, Input::Unusable), ["Reject 500"]);
    assert!(call.flow.is_over());
}

#[test]
fn an_unusable_document_after_answer_hangs_up() {
    let (mut call, _) = Call::inbound();
    call.fetched(
        1,
        r#"<Response><MultiPartyCall role="agent">sales</MultiPartyCall></Response>"#,
    );
    let then = Then::Fetch {
        url: "https://app.example/exit".into(),
        method: Method::Get,
        params: Vec::new(),
    };
    assert_eq!(
        call.on(60, Input::Left(then)),
        ["Fetch GET https://app.example/exit (in-progress)"]
    );
    assert_eq!(call.on(61, Input::Unusable), ["Hangup (AppFailed)"]);
    assert!(call.flow.is_over());
}

#[test]
fn inputs_that_do_not_fit_are_ignored() {
    let none = Vec::<String>::new();
    let (mut call, _) = Call::inbound();
    // Waiting for the answer document.
    assert_eq!(call.on(1, Input::Played), none);
    assert_eq!(call.on(1, Input::Left(Then::NextElement)), none);
    assert_eq!(call.on(1, Input::Tick), none);
    let out = call.fetched(2, "<Response><Speak>Hi</Speak></Response>");
    assert_eq!(out, ["Answer", "Speak Hi"]);
    // Playing.
    assert_eq!(call.fetched(3, "<Response><Hangup/></Response>"), none);
    assert_eq!(call.on(3, Input::Unusable), none);
    assert_eq!(call.on(3, Input::Tick), none);
    let then = Then::Fetch {
        url: "https://app.example/exit".into(),
        method: Method::Post,
        params: Vec::new(),
    };
    assert_eq!(call.on(3, Input::Left(then.clone())), none);
    assert_eq!(call.on(4, Input::Played), ["Hangup (EndOfFlow)"]);
    // Over.
    for input in [
        Input::Played,
        Input::Tick,
        Input::Unusable,
        Input::Shutdown,
        Input::Left(then),
        Input::Fetched(doc("<Response><Speak>Hi</Speak></Response>")),
        Input::HungUp,
    ] {
        assert_eq!(call.on(5, input), none);
        assert!(call.flow.is_over());
    }
}

#[test]
fn a_redirect_loop_ends_the_flow_as_the_application_failing() {
    let redirect = format!("<Response><Redirect>{ANSWER_URL}</Redirect></Response>");
    let (mut call, _) = Call::inbound();
    // The answer document is the first of the documents without media.
    for n in 1..MAX_DOCUMENTS_WITHOUT_MEDIA {
        let out = call.fetched(u64::from(n), &redirect);
        assert_eq!(out, ["Fetch POST https://app.example/answer (ringing)"]);
    }
    let out = call.fetched(60, &redirect);
    assert_eq!(out, ["Reject 500"]);
    assert!(call.flow.is_over());
}

#[test]
fn redirects_between_media_elements_are_no_loop() {
    let again = format!("<Response><Wait/><Redirect>{ANSWER_URL}</Redirect></Response>");
    let (mut call, _) = Call::inbound();
    assert_eq!(call.fetched(0, &again), ["Answer"]);
    for round in 1..=2 * u64::from(MAX_DOCUMENTS_WITHOUT_MEDIA) {
        let out = call.on(2 * round - 1, Input::Tick);
        assert_eq!(out, ["Fetch POST https://app.example/answer (in-progress)"]);
        assert_eq!(call.fetched(2 * round, &again), Vec::<String>::new());
    }
    assert!(!call.flow.is_over());
}

#[test]
fn reject_statuses_and_hangup_causes_say_what_they_are() {
    let rejects = [
        (RejectStatus::Busy, 486, "Busy"),
        (RejectStatus::Declined, 603, "Rejected"),
        (RejectStatus::Unanswered, 480, "end of the call flow"),
        (
            RejectStatus::AppFailed,
            500,
            "the application's document is unusable",
        ),
        (RejectStatus::Unavailable, 503, "chorusd is stopping"),
    ];
    for (status, code, reason) in rejects {
        assert_eq!((status.code(), status.reason()), (code, reason));
    }
    assert_eq!(HangupCause::Hangup.as_str(), "hung up by <Hangup>");
    assert_eq!(HangupCause::EndOfFlow.as_str(), "end of the call flow");
    assert_eq!(CallStatus::Ringing.as_str(), "ringing");
    assert_eq!(CallStatus::InProgress.as_str(), "in-progress");
}
