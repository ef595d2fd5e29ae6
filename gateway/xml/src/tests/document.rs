use super::doc;
use crate::{
    DocumentError, MAX_DEPTH, MAX_DOCUMENT_BYTES, Play, Position, SoundItem, Speak, Step, Verb,
    Wait, Warning, parse_response, parse_sound_document,
};

fn err(xml: &str) -> DocumentError {
    parse_response(xml).expect_err(xml)
}

#[test]
fn unknown_element_is_skipped() {
    let d = doc(
        r#"<Dial>123</Dial><Wait length="2"/><play>x</play><MultiPartyCall role="agent" maxDuration="1">r</MultiPartyCall><Hangup/>"#,
    );
    assert_eq!(
        d.warnings,
        vec![
            Warning::UnknownElement {
                name: "Dial".into()
            },
            Warning::UnknownElement {
                name: "play".into()
            },
        ]
    );
    assert_eq!(d.steps.len(), 3);
    assert!(matches!(&d.steps[0], Step::Verb(Verb::Wait(w)) if w.length == 2));
    assert!(matches!(&d.steps[1], Step::Invalid(e) if e.attribute == "maxDuration"));
    assert!(matches!(&d.steps[2], Step::Verb(Verb::Hangup(_))));
    assert_eq!(d.warnings[0].to_string(), "unknown element <Dial> ignored");
}

#[test]
fn response_level_oddities() {
    let d = doc("stray<!-- comment --><?pi x?><Hangup/>");
    assert_eq!(
        d.warnings,
        vec![Warning::UnexpectedText {
            element: "Response"
        }]
    );
    let d = parse_response(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE Response>\n<Response lang=\"x\">\n</Response>\n",
    )
    .unwrap();
    assert!(d.steps.is_empty());
    assert_eq!(
        d.warnings,
        vec![Warning::UnknownAttribute {
            element: "Response",
            attribute: "lang".into()
        }]
    );
    assert!(
        parse_response("\u{feff}<Response/>")
            .unwrap()
            .steps
            .is_empty()
    );
}

#[test]
fn document_errors() {
    assert_eq!(err(""), DocumentError::Empty);
    assert_eq!(err(" \n\t"), DocumentError::Empty);
    assert_eq!(err("<!-- only a comment -->"), DocumentError::NoRootElement);
    assert_eq!(
        err("<Document/>"),
        DocumentError::WrongRoot {
            found: "Document".into()
        }
    );
    assert_eq!(
        err("<response></response>"),
        DocumentError::WrongRoot {
            found: "response".into()
        }
    );
    assert!(matches!(
        err("<Response><Wait></Response>"),
        DocumentError::Malformed { .. }
    ));
    assert!(
        matches!(err("<Response><Wait/>"), DocumentError::UnclosedElement { name } if name == "Response")
    );
    assert!(matches!(
        err("</Response>"),
        DocumentError::Malformed { .. }
    ));
    assert!(matches!(
        err(r#"<Response a="1" a="2"/>"#),
        DocumentError::Malformed { .. }
    ));
    assert!(matches!(
        err("<Response a=1/>"),
        DocumentError::Malformed { .. }
    ));
    assert!(matches!(
        err("<Response><Wait"),
        DocumentError::Malformed { .. }
    ));
    assert!(matches!(
        err("<Response/><Response/>"),
        DocumentError::ContentOutsideRoot { .. }
    ));
    assert!(matches!(
        err("<Response/>trailing"),
        DocumentError::ContentOutsideRoot { .. }
    ));
    assert!(matches!(
        err("text<Response/>"),
        DocumentError::ContentOutsideRoot { .. }
    ));
    assert!(matches!(
        err("<Response/>&amp;"),
        DocumentError::ContentOutsideRoot { .. }
    ));
    assert!(matches!(
        err("<Response><Speak>&nbsp;</Speak></Response>"),
        DocumentError::UnknownEntity { entity, .. } if entity == "nbsp"
    ));
    assert!(matches!(
        err("<Response><Speak>&#0;</Speak></Response>"),
        DocumentError::Malformed { .. }
    ));
    assert!(matches!(
        err(r#"<Response><Play a="&bogus;"/></Response>"#),
        DocumentError::Malformed { .. }
    ));
}

#[test]
fn malformed_position() {
    let e = err("<Response>\n  <Wait>\n</Response>");
    let DocumentError::Malformed { position, detail } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(position.line, 3, "{e}");
    assert!(!detail.is_empty());
    assert!(
        e.to_string()
            .starts_with("malformed XML at line 3, column "),
        "{e}"
    );
    assert_eq!(
        Position::in_input("ab\ncé d", 8),
        Position {
            offset: 8,
            line: 2,
            column: 5
        }
    );
    assert_eq!(
        Position::in_input("ab", 99),
        Position {
            offset: 2,
            line: 1,
            column: 3
        }
    );
}

#[test]
fn size_and_depth_limits() {
    let big = format!("<Response>{}</Response>", " ".repeat(MAX_DOCUMENT_BYTES));
    assert_eq!(
        err(&big),
        DocumentError::TooLarge {
            size: big.len(),
            limit: MAX_DOCUMENT_BYTES
        }
    );
    let fits = format!(
        "<Response>{}</Response>",
        " ".repeat(MAX_DOCUMENT_BYTES - 21)
    );
    assert_eq!(fits.len(), MAX_DOCUMENT_BYTES);
    assert!(parse_response(&fits).is_ok());

    let nest = |depth: usize| {
        format!(
            "{}{}",
            "<Response>".repeat(depth),
            "</Response>".repeat(depth)
        )
    };
    assert!(parse_response(&nest(MAX_DEPTH)).is_ok());
    assert!(matches!(
        err(&nest(MAX_DEPTH + 1)),
        DocumentError::TooDeep {
            limit: MAX_DEPTH,
            ..
        }
    ));
    let open_only = "<a>".repeat(10_000);
    assert!(matches!(err(&open_only), DocumentError::TooDeep { .. }));
}

#[test]
fn sound_document() {
    let d = parse_sound_document(
        r#"<Response>
            <Play loop="0">https://m.example/a.mp3</Play>
            <MultiPartyCall role="agent">r</MultiPartyCall>
            <Speak>hold on</Speak>
            <Dial/>
            <Wait length="bad"/>
            <Wait length="5"/>
            <Redirect>https://x.example</Redirect>
        </Response>"#,
    )
    .unwrap();
    assert_eq!(
        d.items,
        vec![
            SoundItem::Play(Play {
                url: "https://m.example/a.mp3".into(),
                loop_count: 0
            }),
            SoundItem::Speak(Speak {
                text: "hold on".into(),
                voice: "WOMAN".into(),
                language: "en-US".into(),
                loop_count: 1
            }),
            SoundItem::Wait(Wait {
                length: 5,
                ..Wait::default()
            }),
        ]
    );
    assert_eq!(d.warnings.len(), 4, "{:?}", d.warnings);
    assert_eq!(
        d.warnings[0],
        Warning::IgnoredElement {
            name: "MultiPartyCall".into()
        }
    );
    assert_eq!(
        d.warnings[1],
        Warning::UnknownElement {
            name: "Dial".into()
        }
    );
    assert!(matches!(&d.warnings[2], Warning::InvalidElement(e) if e.element == "Wait"));
    assert_eq!(
        d.warnings[3],
        Warning::IgnoredElement {
            name: "Redirect".into()
        }
    );
    assert!(matches!(
        parse_sound_document("<Play/>"),
        Err(DocumentError::WrongRoot { .. })
    ));
    assert_eq!(parse_sound_document(""), Err(DocumentError::Empty));
}

#[test]
fn multiple_verbs_in_order() {
    let d = doc(
        r#"<Speak>hi</Speak><Play>https://a.example/x.mp3</Play><Wait/><MultiPartyCall role="agent">r</MultiPartyCall><Redirect>https://a.example/n</Redirect><Hangup/>"#,
    );
    let kinds: Vec<&str> = d
        .steps
        .iter()
        .map(|s| match s {
            Step::Verb(Verb::Speak(_)) => "speak",
            Step::Verb(Verb::Play(_)) => "play",
            Step::Verb(Verb::Wait(_)) => "wait",
            Step::Verb(Verb::MultiPartyCall(_)) => "mpc",
            Step::Verb(Verb::Redirect(_)) => "redirect",
            Step::Verb(Verb::Hangup(_)) => "hangup",
            Step::Invalid(e) => panic!("{e}"),
        })
        .collect();
    assert_eq!(
        kinds,
        ["speak", "play", "wait", "mpc", "redirect", "hangup"]
    );
    assert!(d.warnings.is_empty());
}
