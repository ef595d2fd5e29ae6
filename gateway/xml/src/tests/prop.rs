use proptest::prelude::*;

use crate::{parse_response, parse_sound_document};

const ATTRS: &[&str] = &[
    "maxDuration",
    "maxParticipants",
    "waitMusicUrl",
    "recordMinMemberCount",
    "statusCallbackEvents",
    "role",
    "coachMode",
    "enterSound",
    "exitSound",
    "onExitActionMethod",
    "relayDTMFInputs",
];

/// Escapes a string for use inside a double-quoted attribute.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_input_never_panics(s in any::<String>()) {
        let _ = parse_response(&s);
        let _ = parse_sound_document(&s);
    }

    #[test]
    fn xml_like_input_never_panics(s in "[<>/a-zA-Z=\"' &;#x0-9!?\\[\\]-]{0,200}") {
        let _ = parse_response(&s);
        let _ = parse_response(&format!("<Response>{s}</Response>"));
    }

    #[test]
    fn arbitrary_attribute_values_never_panic(
        attr in proptest::sample::select(ATTRS),
        value in any::<String>(),
        content in any::<String>(),
    ) {
        let xml = format!(
            r#"<Response><MultiPartyCall role="agent" {attr}="{}">{}</MultiPartyCall><Wait length="{0}"/><Play loop="{0}">{1}</Play></Response>"#,
            escape(&value),
            escape(&content),
        );
        // Escaped values are well-formed unless they hold characters XML forbids.
        if let Ok(doc) = parse_response(&xml) {
            prop_assert_eq!(doc.steps.len(), 3);
            for step in &doc.steps {
                if let crate::Step::Invalid(e) = step {
                    let _ = e.to_string();
                }
            }
        }
    }
}
