use super::{doc, invalid, verb};
use crate::{
    CONTENT, Hangup, HangupReason, InvalidReason, Method, Play, Redirect, Speak, Verb, Wait,
    Warning,
};

const fn range(min: u64, max: u64) -> InvalidReason {
    InvalidReason::IntegerRange { min, max }
}

fn check_err(body: &str, attribute: &str, reason: InvalidReason) {
    let e = invalid(body);
    assert_eq!(
        (e.attribute.as_str(), &e.reason),
        (attribute, &reason),
        "{body}"
    );
}

#[test]
fn wait() {
    assert_eq!(
        verb("<Wait/>"),
        Verb::Wait(Wait {
            length: 1,
            silence: false,
            min_silence: 2000,
            beep: false
        })
    );
    assert_eq!(
        verb(r#"<Wait length="86400" silence="true" minSilence="1" beep="TRUE"></Wait>"#),
        Verb::Wait(Wait {
            length: 86_400,
            silence: true,
            min_silence: 1,
            beep: true
        })
    );
    check_err(r#"<Wait length="0"/>"#, "length", range(1, 86_400));
    check_err(r#"<Wait length="86401"/>"#, "length", range(1, 86_400));
    check_err(r#"<Wait length="-1"/>"#, "length", range(1, 86_400));
    check_err(
        r#"<Wait minSilence="0"/>"#,
        "minSilence",
        range(1, 86_400_000),
    );
    check_err(
        r#"<Wait silence="on"/>"#,
        "silence",
        InvalidReason::NotBoolean,
    );
    check_err(r#"<Wait beep="1"/>"#, "beep", InvalidReason::NotBoolean);
    let d = doc("<Wait>text</Wait>");
    assert_eq!(
        d.warnings,
        vec![Warning::UnexpectedText { element: "Wait" }]
    );
}

#[test]
fn hangup() {
    assert_eq!(
        verb("<Hangup/>"),
        Verb::Hangup(Hangup {
            reason: None,
            schedule: None
        })
    );
    assert_eq!(
        verb(r#"<Hangup reason="Busy" schedule="60"/>"#),
        Verb::Hangup(Hangup {
            reason: Some(HangupReason::Busy),
            schedule: Some(60)
        })
    );
    assert_eq!(
        verb(r#"<Hangup reason="rejected" schedule="0"/>"#),
        Verb::Hangup(Hangup {
            reason: Some(HangupReason::Rejected),
            schedule: None
        })
    );
    check_err(
        r#"<Hangup reason="angry"/>"#,
        "reason",
        InvalidReason::OneOf(&["rejected", "busy"]),
    );
    check_err(
        r#"<Hangup schedule="86401"/>"#,
        "schedule",
        range(0, 86_400),
    );
    check_err(r#"<Hangup schedule="soon"/>"#, "schedule", range(0, 86_400));
}

#[test]
fn play() {
    assert_eq!(
        verb("<Play> https://a.example/x.mp3 </Play>"),
        Verb::Play(Play {
            url: "https://a.example/x.mp3".into(),
            loop_count: 1
        })
    );
    assert_eq!(
        verb(r#"<Play loop="0">http://a.example/x.wav</Play>"#),
        Verb::Play(Play {
            url: "http://a.example/x.wav".into(),
            loop_count: 0
        })
    );
    check_err("<Play/>", CONTENT, InvalidReason::Missing);
    check_err("<Play>x.mp3</Play>", CONTENT, InvalidReason::NotUrl);
    check_err(
        r#"<Play loop="-1">https://a.example/x</Play>"#,
        "loop",
        range(0, u32::MAX.into()),
    );
    check_err(
        r#"<Play loop="4294967296">https://a.example/x</Play>"#,
        "loop",
        range(0, u32::MAX.into()),
    );
    // An invalid attribute is reported before missing content.
    check_err(r#"<Play loop="x"/>"#, "loop", range(0, u32::MAX.into()));
}

#[test]
fn speak() {
    assert_eq!(
        verb("<Speak> Hello &amp; welcome </Speak>"),
        Verb::Speak(Speak {
            text: "Hello & welcome".into(),
            voice: "WOMAN".into(),
            language: "en-US".into(),
            loop_count: 1
        })
    );
    assert_eq!(
        verb(r#"<Speak voice="MAN" language="fr-FR" loop="3">Bonjour</Speak>"#),
        Verb::Speak(Speak {
            text: "Bonjour".into(),
            voice: "MAN".into(),
            language: "fr-FR".into(),
            loop_count: 3
        })
    );
    check_err("<Speak>  </Speak>", CONTENT, InvalidReason::Missing);
    check_err(
        r#"<Speak voice="">hi</Speak>"#,
        "voice",
        InvalidReason::Empty,
    );
    check_err(
        r#"<Speak language=" ">hi</Speak>"#,
        "language",
        InvalidReason::Empty,
    );
    check_err(
        r#"<Speak loop="two">hi</Speak>"#,
        "loop",
        range(0, u32::MAX.into()),
    );
}

#[test]
fn redirect() {
    assert_eq!(
        verb("<Redirect>https://a.example/next</Redirect>"),
        Verb::Redirect(Redirect {
            url: "https://a.example/next".into(),
            method: Method::Post
        })
    );
    assert_eq!(
        verb(r#"<Redirect method="get">https://a.example/next</Redirect>"#),
        Verb::Redirect(Redirect {
            url: "https://a.example/next".into(),
            method: Method::Get
        })
    );
    check_err(
        r#"<Redirect method="PATCH">https://a.example</Redirect>"#,
        "method",
        InvalidReason::NotMethod,
    );
    check_err(
        "<Redirect>next.xml</Redirect>",
        CONTENT,
        InvalidReason::NotUrl,
    );
    check_err("<Redirect></Redirect>", CONTENT, InvalidReason::Missing);
    let e = invalid("<Redirect>next.xml</Redirect>");
    assert_eq!(
        e.to_string(),
        r#"Redirect: invalid (content) "next.xml": must be an absolute http:// or https:// URL with a host"#
    );
}

#[test]
fn verb_warnings() {
    let d = doc(r#"<Hangup Reason="busy"><Speak>x</Speak></Hangup>"#);
    assert_eq!(
        d.warnings,
        vec![
            Warning::UnexpectedChild {
                parent: "Hangup",
                name: "Speak".into()
            },
            Warning::UnknownAttribute {
                element: "Hangup",
                attribute: "Reason".into()
            },
        ]
    );
}
