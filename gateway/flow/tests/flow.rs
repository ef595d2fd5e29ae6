//! Each call flow rule, driven through the interpreter in virtual time:
//! here the elements of a document, in `flow/endings.rs` how a flow ends.
//!
//! Actions are shown as short strings so that each test reads like the
//! rule: `Fetch POST <url> (ringing)`, `Answer`, `Speak <text>`,
//! `Play <url>`, `Join <mpc>`, `Warn <warning>`, `Skip <error>`,
//! `Reject <code>`, `Hangup (<cause>)`.

use std::time::{Duration, Instant};

use chorus_flow::{Action, Flow, HangupCause, Input, Start};
use chorus_mpc::Then;
use chorus_xml::{Document, Method, MultiPartyCall, Role, SoundItem, Step, Verb, parse_response};

#[path = "flow/endings.rs"]
mod endings;

const ANSWER_URL: &str = "https://app.example/answer";

/// One call's flow; time is `t0` plus whole seconds.
struct Call {
    flow: Flow,
    t0: Instant,
}

impl Call {
    /// An inbound call whose answer URL is fetched with POST, and its first
    /// actions.
    fn inbound() -> (Self, Vec<String>) {
        let start = Start::Fetch {
            url: ANSWER_URL.into(),
            method: Method::Post,
        };
        Self::starting(start)
    }

    fn starting(start: Start) -> (Self, Vec<String>) {
        let t0 = Instant::now();
        let mut call = Self {
            flow: Flow::new(t0, start),
            t0,
        };
        let actions = call.actions();
        (call, actions)
    }

    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    /// `input` at `secs`; the actions it causes.
    fn on(&mut self, secs: u64, input: Input) -> Vec<String> {
        self.flow.handle(self.at(secs), input);
        self.actions()
    }

    /// The fetched document `xml` arrives at `secs`; the actions it causes.
    fn fetched(&mut self, secs: u64, xml: &str) -> Vec<String> {
        self.on(secs, Input::Fetched(doc(xml)))
    }

    fn actions(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.flow.poll_action())
            .map(describe)
            .collect()
    }
}

fn doc(xml: &str) -> Document {
    parse_response(xml).expect("a <Response>")
}

fn describe(action: Action) -> String {
    match action {
        Action::Fetch {
            url,
            method,
            status,
            params,
        } => {
            let params: String = params.iter().map(|(k, v)| format!(" {k}={v}")).collect();
            format!("Fetch {method} {url} ({status}){params}")
        }
        Action::Answer => "Answer".into(),
        Action::Play(SoundItem::Play(play)) => format!("Play {}", play.url),
        Action::Play(SoundItem::Speak(speak)) => format!("Speak {}", speak.text),
        Action::Play(SoundItem::Wait(_)) => "Play <Wait>".into(),
        Action::Join(mpc) => format!("Join {}", mpc.name),
        Action::Warn(warning) => format!("Warn {warning}"),
        Action::Skip(error) => format!("Skip {error}"),
        Action::Reject { status } => format!("Reject {}", status.code()),
        Action::Hangup { reason } => format!("Hangup ({reason:?})"),
    }
}

#[test]
fn the_answer_url_is_fetched_ringing_and_its_document_runs() {
    let (mut call, first) = Call::inbound();
    assert_eq!(first, ["Fetch POST https://app.example/answer (ringing)"]);
    assert!(!call.flow.answered());
    let out = call.fetched(
        1,
        r#"<Response>
            <Speak>Welcome</Speak>
            <MultiPartyCall role="customer">sales</MultiPartyCall>
        </Response>"#,
    );
    assert_eq!(out, ["Answer", "Speak Welcome"]);
    assert!(call.flow.answered());
    assert_eq!(call.on(3, Input::Played), ["Join sales"]);
    let out = call.on(60, Input::Left(Then::NextElement));
    assert_eq!(out, ["Hangup (EndOfFlow)"]);
    assert!(call.flow.is_over());
}

#[test]
fn a_redirect_before_answer_fetches_ringing_and_replaces_the_rest() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response>
            <Redirect>https://app.example/next</Redirect>
            <Speak>never said</Speak>
        </Response>"#,
    );
    assert_eq!(out, ["Fetch POST https://app.example/next (ringing)"]);
    let out = call.fetched(2, "<Response><Hangup/></Response>");
    assert_eq!(out, ["Reject 603"]);
}

#[test]
fn a_redirect_after_answer_fetches_in_progress_with_its_method() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response>
            <Wait length="2"/>
            <Redirect method="GET">https://app.example/next</Redirect>
            <Speak>never said</Speak>
        </Response>"#,
    );
    assert_eq!(out, ["Answer"]);
    let out = call.on(3, Input::Tick);
    assert_eq!(out, ["Fetch GET https://app.example/next (in-progress)"]);
    assert_eq!(call.fetched(4, "<Response/>"), ["Hangup (EndOfFlow)"]);
}

#[test]
fn on_exit_action_url_replaces_the_rest_with_status_in_progress() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response>
            <MultiPartyCall role="agent" onExitActionUrl="https://app.example/exit">sales</MultiPartyCall>
            <Speak>never said</Speak>
        </Response>"#,
    );
    assert_eq!(out, ["Answer", "Join sales"]);
    let then = Then::Fetch {
        url: "https://app.example/exit".into(),
        method: Method::Post,
        params: vec![("MemberID".into(), "3".into())],
    };
    let out = call.on(90, Input::Left(then));
    assert_eq!(
        out,
        ["Fetch POST https://app.example/exit (in-progress) MemberID=3"],
        "the MPC's parameters go with the request"
    );
    let out = call.fetched(91, "<Response><Speak>Goodbye</Speak></Response>");
    assert_eq!(out, ["Speak Goodbye"]);
    assert_eq!(call.on(93, Input::Played), ["Hangup (EndOfFlow)"]);
}

#[test]
fn leaving_the_mpc_or_not_being_let_in_continues_with_the_next_element() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response>
            <MultiPartyCall role="customer">sales</MultiPartyCall>
            <MultiPartyCall role="customer">full-room</MultiPartyCall>
            <Speak>After</Speak>
        </Response>"#,
    );
    assert_eq!(out, ["Answer", "Join sales"]);
    let out = call.on(60, Input::Left(Then::NextElement));
    assert_eq!(out, ["Join full-room"]);
    // Not let in: the driver reports it as leaving at once.
    let out = call.on(60, Input::Left(Then::NextElement));
    assert_eq!(out, ["Speak After"]);
}

#[test]
fn an_unknown_element_is_a_warning_and_the_flow_goes_on() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        "<Response><Speak>Hello</Speak><Dial>123</Dial><Wait/></Response>",
    );
    // Warnings come when the document arrives, before its first element.
    assert_eq!(
        out,
        [
            "Warn unknown element <Dial> ignored",
            "Answer",
            "Speak Hello"
        ]
    );
    assert_eq!(call.on(2, Input::Played), Vec::<String>::new());
    assert_eq!(call.flow.poll_timeout(), Some(call.at(3)));
}

#[test]
fn an_invalid_element_is_skipped_and_the_flow_goes_on() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response><Wait length="0"/><Speak>Hello</Speak></Response>"#,
    );
    assert_eq!(
        out,
        [
            r#"Skip Wait: invalid length "0": must be an integer from 1 to 86400"#,
            "Answer",
            "Speak Hello"
        ]
    );
}

#[test]
fn wait_continues_at_its_deadline_and_not_before() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response><Wait length="30"/><Speak>Done</Speak></Response>"#,
    );
    assert_eq!(out, ["Answer"]);
    assert_eq!(call.flow.poll_timeout(), Some(call.at(31)));
    assert_eq!(call.on(30, Input::Tick), Vec::<String>::new());
    assert_eq!(call.flow.poll_timeout(), Some(call.at(31)));
    assert_eq!(call.on(31, Input::Tick), ["Speak Done"]);
    assert_eq!(call.flow.poll_timeout(), None);
}

#[test]
fn the_call_is_answered_once_across_media_elements_and_documents() {
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response>
            <Speak>One</Speak>
            <Wait/>
            <Play>https://app.example/two.mp3</Play>
            <Redirect>https://app.example/next</Redirect>
        </Response>"#,
    );
    assert_eq!(out, ["Answer", "Speak One"]);
    assert_eq!(call.on(2, Input::Played), Vec::<String>::new());
    assert_eq!(
        call.on(3, Input::Tick),
        ["Play https://app.example/two.mp3"]
    );
    let out = call.on(5, Input::Played);
    assert_eq!(out, ["Fetch POST https://app.example/next (in-progress)"]);
    let out = call.fetched(
        6,
        r#"<Response><MultiPartyCall role="agent">sales</MultiPartyCall></Response>"#,
    );
    assert_eq!(out, ["Join sales"]);
}

#[test]
fn the_builtin_document_answers_and_joins_its_mpc() {
    let room = MultiPartyCall {
        stay_alone: true,
        ..MultiPartyCall::for_room("room42", Role::Customer)
    };
    let document = Document {
        steps: vec![Step::Verb(Verb::MultiPartyCall(room.clone()))],
        warnings: Vec::new(),
    };
    let t0 = Instant::now();
    let mut flow = Flow::new(t0, Start::Document(document));
    assert_eq!(flow.poll_action(), Some(Action::Answer));
    assert_eq!(flow.poll_action(), Some(Action::Join(Box::new(room))));
    assert_eq!(flow.poll_action(), None);
    assert!(flow.answered());
    flow.handle(
        t0 + Duration::from_secs(3600),
        Input::Left(Then::NextElement),
    );
    let end = Action::Hangup {
        reason: HangupCause::EndOfFlow,
    };
    assert_eq!(flow.poll_action(), Some(end));
}

#[test]
fn a_call_chorus_placed_joins_without_answering_and_its_exit_document_hangs_up() {
    let join = doc(
        r#"<Response><MultiPartyCall role="agent" onExitActionUrl="https://app.example/exit">sales</MultiPartyCall></Response>"#,
    );
    let t0 = Instant::now();
    let mut call = Call {
        flow: Flow::answered_call(t0, Start::Document(join)),
        t0,
    };
    assert_eq!(
        call.actions(),
        ["Join sales"],
        "answered already: no Answer"
    );
    let then = Then::Fetch {
        url: "https://app.example/exit".into(),
        method: Method::Post,
        params: Vec::new(),
    };
    assert_eq!(
        call.on(5, Input::Left(then)),
        ["Fetch POST https://app.example/exit (in-progress)"]
    );
    assert_eq!(
        call.fetched(6, r#"<Response><Hangup reason="busy"/></Response>"#),
        ["Hangup (Hangup)"],
        "an answered call is hung up, never rejected"
    );
}

#[test]
fn a_transfer_replaces_whatever_runs_and_answers_only_a_call_not_answered_yet() {
    let transfer = || {
        Input::Transferred(doc(
            "<Response><MultiPartyCall role=\"agent\">sales</MultiPartyCall></Response>",
        ))
    };
    // Answered, in a <Wait> with more to come: the MPC replaces it all.
    let (mut call, _) = Call::inbound();
    let out = call.fetched(
        1,
        r#"<Response><Wait length="60"/><Speak>never said</Speak></Response>"#,
    );
    assert_eq!(out, ["Answer"]);
    assert_eq!(call.on(5, transfer()), ["Join sales"]);
    assert_eq!(call.flow.poll_timeout(), None, "the wait is over");
    assert_eq!(
        call.on(9, Input::Left(Then::NextElement)),
        ["Hangup (EndOfFlow)"]
    );
    // Still ringing while its answer URL is fetched: answered to join.
    let (mut ringing, _) = Call::inbound();
    assert_eq!(ringing.on(1, transfer()), ["Answer", "Join sales"]);
    // Over: nothing.
    let (mut over, _) = Call::inbound();
    over.on(1, Input::HungUp);
    assert!(over.on(2, transfer()).is_empty());
}
