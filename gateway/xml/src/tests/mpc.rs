use super::{doc, invalid, verb};
use crate::{
    CONTENT, ElementError, InvalidReason, Method, MultiPartyCall, RecordFileFormat, RecordingAudio,
    Role, Sound, Step, Verb, Warning,
};

/// Parses a customer MPC named `room` with extra attributes.
pub(super) fn mpc(attrs: &str) -> MultiPartyCall {
    match verb(&format!(
        r#"<MultiPartyCall role="customer" {attrs}>room</MultiPartyCall>"#
    )) {
        Verb::MultiPartyCall(m) => m,
        other => panic!("not an MPC: {other:?}"),
    }
}

/// The error for a customer MPC with extra attributes.
pub(super) fn mpc_err(attrs: &str) -> ElementError {
    invalid(&format!(
        r#"<MultiPartyCall role="customer" {attrs}>room</MultiPartyCall>"#
    ))
}

pub(super) fn assert_invalid(attr: &str, value: &str, reason: InvalidReason) {
    let e = mpc_err(&format!(r#"{attr}="{value}""#));
    assert_eq!(e.element, "MultiPartyCall");
    assert_eq!(e.attribute, attr);
    assert_eq!(e.value, value);
    assert_eq!(e.reason, reason, "{attr}={value}");
}

const SPEC_EXAMPLE: &str = r#"<Response>
<MultiPartyCall role="customer" maxDuration="10000" maxParticipants="10" waitMusicMethod="GET" agentHoldMusicMethod="GET" customerHoldMusicMethod="GET" record="false" recordFileFormat="mp3" recordingCallbackMethod="GET" statusCallbackEvents="mpc-state-changes,participant-state-changes" statusCallbackMethod="POST" stayAlone="false" coachMode="true" mute="false" hold="false" startMpcOnEnter="true" endMpcOnExit="false" enterSound="beep:1" enterSoundMethod="GET" exitSound="beep:2" exitSoundMethod="GET" onExitActionMethod="POST" relayDTMFInputs="false">mpc_name</MultiPartyCall>
</Response>"#;

#[test]
fn spec_example() {
    let d = crate::parse_response(SPEC_EXAMPLE).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let mut expected = MultiPartyCall::for_room("mpc_name", Role::Customer);
    expected.max_duration = 10_000;
    assert_eq!(d.steps, vec![Step::Verb(Verb::MultiPartyCall(expected))]);
}

#[test]
fn for_room_equals_minimal_parse() {
    for (role, r) in [
        ("customer", Role::Customer),
        ("agent", Role::Agent),
        ("supervisor", Role::Supervisor),
    ] {
        let parsed = verb(&format!(
            r#"<MultiPartyCall role="{role}">room</MultiPartyCall>"#
        ));
        assert_eq!(
            parsed,
            Verb::MultiPartyCall(MultiPartyCall::for_room("room", r))
        );
    }
}

#[test]
fn defaults() {
    let m = mpc("");
    assert_eq!(m.name, "room");
    assert_eq!((m.max_duration, m.max_participants), (14_400, 10));
    assert_eq!(
        (m.wait_music_url.as_deref(), m.wait_music_method),
        (None, Method::Get)
    );
    assert_eq!(
        (m.agent_hold_music_url.as_deref(), m.agent_hold_music_method),
        (None, Method::Get)
    );
    assert_eq!(m.customer_hold_music_url, None);
    assert_eq!(m.customer_hold_music_method, Method::Get);
    assert!(!m.record);
    assert_eq!(m.record_file_format, RecordFileFormat::Mp3);
    assert_eq!(
        (
            m.recording_callback_url.as_deref(),
            m.recording_callback_method
        ),
        (None, Method::Get)
    );
    assert_eq!(m.record_min_member_count, 1);
    assert_eq!(
        (m.status_callback_url.as_deref(), m.status_callback_method),
        (None, Method::Post)
    );
    assert_eq!(
        m.status_callback_events.to_string(),
        "mpc-state-changes,participant-state-changes"
    );
    assert_eq!(m.role, Role::Customer);
    assert!(!m.stay_alone && !m.coach_mode && !m.mute && !m.hold && !m.end_mpc_on_exit);
    assert!(m.start_mpc_on_enter);
    assert_eq!(
        (m.enter_sound.clone(), m.enter_sound_method),
        (Sound::Beep1, Method::Get)
    );
    assert_eq!(
        (m.exit_sound.clone(), m.exit_sound_method),
        (Sound::Beep2, Method::Get)
    );
    assert_eq!(
        (m.on_exit_action_url.as_deref(), m.on_exit_action_method),
        (None, Method::Post)
    );
    assert!(!m.relay_dtmf_inputs);
}

#[test]
fn integer_boundaries() {
    let range = |min, max| InvalidReason::IntegerRange { min, max };
    assert_invalid("maxDuration", "299", range(300, 28_800));
    assert_eq!(mpc(r#"maxDuration="300""#).max_duration, 300);
    assert_eq!(mpc(r#"maxDuration="28800""#).max_duration, 28_800);
    assert_eq!(mpc(r#"maxDuration=" 600 ""#).max_duration, 600);
    for bad in [
        "28801",
        "",
        "-300",
        "+300",
        "3e3",
        "600.0",
        "0x258",
        "99999999999999999999",
        "six",
    ] {
        assert_invalid("maxDuration", bad, range(300, 28_800));
    }
    assert_invalid("maxParticipants", "1", range(2, 10));
    assert_eq!(mpc(r#"maxParticipants="2""#).max_participants, 2);
    assert_eq!(mpc(r#"maxParticipants="10""#).max_participants, 10);
    assert_invalid("maxParticipants", "11", range(2, 10));
    assert_invalid("recordMinMemberCount", "0", range(1, 2));
    assert_eq!(
        mpc(r#"recordMinMemberCount="1""#).record_min_member_count,
        1
    );
    assert_eq!(
        mpc(r#"recordMinMemberCount="2""#).record_min_member_count,
        2
    );
    assert_invalid("recordMinMemberCount", "3", range(1, 2));
}

#[test]
fn error_display() {
    let e = mpc_err(r#"maxDuration="100""#);
    assert_eq!(
        e.to_string(),
        r#"MultiPartyCall: invalid maxDuration "100": must be an integer from 300 to 28800"#
    );
    let e = invalid("<MultiPartyCall>room</MultiPartyCall>");
    assert_eq!(e.to_string(), "MultiPartyCall: missing required role");
    let e = invalid(r#"<MultiPartyCall role="agent">  </MultiPartyCall>"#);
    assert_eq!(e.to_string(), "MultiPartyCall: missing required content");
}

#[test]
fn booleans() {
    type Getter = fn(&MultiPartyCall) -> bool;
    let cases: [(&str, Getter, bool); 9] = [
        ("record", |m| m.record, false),
        ("stayAlone", |m| m.stay_alone, false),
        ("mute", |m| m.mute, false),
        ("hold", |m| m.hold, false),
        ("startMpcOnEnter", |m| m.start_mpc_on_enter, true),
        ("endMpcOnExit", |m| m.end_mpc_on_exit, false),
        ("relayDTMFInputs", |m| m.relay_dtmf_inputs, false),
        (
            "recordParticipantTrack",
            |m| m.record_participant_track,
            false,
        ),
        ("coachMode", |m| m.coach_mode, false), // forced false for customers
    ];
    for (attr, get, default) in cases {
        assert_eq!(get(&mpc("")), default, "{attr}");
        if attr != "coachMode" {
            assert!(get(&mpc(&format!(r#"{attr}="TRUE""#))), "{attr}");
            assert!(!get(&mpc(&format!(r#"{attr}="False""#))), "{attr}");
            assert!(get(&mpc(&format!(r#"{attr}=" true ""#))), "{attr}");
        }
        for bad in ["yes", "1", "", "truee"] {
            assert_invalid(attr, bad, InvalidReason::NotBoolean);
        }
    }
}

#[test]
fn coach_mode_effective_value() {
    let sup = |attrs: &str| match verb(&format!(
        r#"<MultiPartyCall role="Supervisor" {attrs}>r</MultiPartyCall>"#
    )) {
        Verb::MultiPartyCall(m) => m.coach_mode,
        _ => unreachable!(),
    };
    assert!(sup(""));
    assert!(sup(r#"coachMode="true""#));
    assert!(!sup(r#"coachMode="false""#));
    assert!(!mpc(r#"coachMode="true""#).coach_mode);
    let agent = verb(r#"<MultiPartyCall role="agent" coachMode="true">r</MultiPartyCall>"#);
    assert!(matches!(agent, Verb::MultiPartyCall(m) if !m.coach_mode));
}

#[test]
fn roles() {
    for (value, role) in [
        ("agent", Role::Agent),
        ("Agent", Role::Agent),
        ("SUPERVISOR", Role::Supervisor),
        ("Customer", Role::Customer),
        (" customer ", Role::Customer),
    ] {
        let v = verb(&format!(
            r#"<MultiPartyCall role="{value}">r</MultiPartyCall>"#
        ));
        assert!(
            matches!(v, Verb::MultiPartyCall(m) if m.role == role),
            "{value}"
        );
    }
    let e = invalid(r#"<MultiPartyCall role="boss">r</MultiPartyCall>"#);
    assert_eq!((e.attribute.as_str(), e.value.as_str()), ("role", "boss"));
    assert_eq!(
        e.reason,
        InvalidReason::OneOf(&["agent", "supervisor", "customer"])
    );
    let e = invalid("<MultiPartyCall>r</MultiPartyCall>");
    assert_eq!(
        (e.attribute.as_str(), e.reason),
        ("role", InvalidReason::Missing)
    );
    // Attribute names are case-sensitive: Role is unknown, so role is missing.
    let d = doc(r#"<MultiPartyCall Role="agent">r</MultiPartyCall>"#);
    assert!(matches!(&d.steps[0], Step::Invalid(e) if e.reason == InvalidReason::Missing));
}

#[test]
fn name_rules() {
    let v = verb("<MultiPartyCall role=\"agent\">\n  My MPC \n</MultiPartyCall>");
    assert!(matches!(v, Verb::MultiPartyCall(m) if m.name == "My MPC"));
    let v = verb(r#"<MultiPartyCall role="agent"><![CDATA[a&b]]> &amp; c</MultiPartyCall>"#);
    assert!(matches!(v, Verb::MultiPartyCall(m) if m.name == "a&b & c"));
    let e = invalid(r#"<MultiPartyCall role="agent"/>"#);
    assert_eq!(
        (e.attribute.as_str(), e.reason),
        (CONTENT, InvalidReason::Missing)
    );
    let long = "x".repeat(crate::MAX_MPC_NAME_CHARS + 1);
    let e = invalid(&format!(
        r#"<MultiPartyCall role="agent">{long}</MultiPartyCall>"#
    ));
    assert_eq!(
        e.reason,
        InvalidReason::TooLong {
            max: crate::MAX_MPC_NAME_CHARS
        }
    );
    let ok = "é".repeat(crate::MAX_MPC_NAME_CHARS);
    assert!(matches!(
        verb(&format!(
            r#"<MultiPartyCall role="agent">{ok}</MultiPartyCall>"#
        )),
        Verb::MultiPartyCall(_)
    ));
    let e = invalid("<MultiPartyCall role=\"agent\">a&#1;b</MultiPartyCall>");
    assert_eq!(e.reason, InvalidReason::ControlCharacter);
}

#[test]
fn first_error_wins_and_warnings_still_reported() {
    let d = doc(
        r#"<MultiPartyCall role="agent" mute="x" maxDuration="1" Mute="true">r</MultiPartyCall>"#,
    );
    assert!(matches!(&d.steps[0], Step::Invalid(e) if e.attribute == "mute"));
    assert_eq!(
        d.warnings,
        vec![Warning::UnknownAttribute {
            element: "MultiPartyCall",
            attribute: "Mute".into()
        }]
    );
}

#[test]
fn unknown_attribute_and_child() {
    let d = doc(
        r#"<MultiPartyCall role="agent" maxduration="1" foo="bar"><Play>x</Play>r</MultiPartyCall>"#,
    );
    let Step::Verb(Verb::MultiPartyCall(m)) = &d.steps[0] else {
        panic!("{:?}", d.steps)
    };
    assert_eq!(m.max_duration, 14_400);
    assert_eq!(m.name, "r");
    assert_eq!(
        d.warnings,
        vec![
            Warning::UnexpectedChild {
                parent: "MultiPartyCall",
                name: "Play".into()
            },
            Warning::UnknownAttribute {
                element: "MultiPartyCall",
                attribute: "maxduration".into()
            },
            Warning::UnknownAttribute {
                element: "MultiPartyCall",
                attribute: "foo".into()
            },
        ]
    );
}

#[test]
fn recording_audio_documents_and_their_methods() {
    assert_eq!(mpc("").recording_audio, None);
    let m = mpc(
        r#"startRecordingAudio="https://a.example/on.xml" startRecordingAudioMethod="post" stopRecordingAudio="https://a.example/off.xml" stopRecordingAudioMethod="GET""#,
    );
    let expected = RecordingAudio {
        start: Some("https://a.example/on.xml".into()),
        start_method: Method::Post,
        stop: Some("https://a.example/off.xml".into()),
        stop_method: Method::Get,
    };
    assert_eq!(m.recording_audio.as_deref(), Some(&expected));
    let only_stop = mpc(r#"stopRecordingAudio="https://a.example/off.xml""#);
    let audio = only_stop.recording_audio.expect("given");
    assert_eq!((audio.start, audio.stop_method), (None, Method::Get));
    for attr in ["startRecordingAudioMethod", "stopRecordingAudioMethod"] {
        assert_invalid(attr, "PUT", InvalidReason::NotMethod);
    }
    for attr in ["startRecordingAudio", "stopRecordingAudio"] {
        assert_eq!(mpc_err(&format!(r#"{attr}="not a url""#)).attribute, attr);
    }
}

#[test]
fn from_attributes_follows_the_elements_rules() {
    let attrs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let (m, warnings) = MultiPartyCall::from_attributes(
        "sales",
        attrs(&[
            ("role", "Agent"),
            ("maxDuration", "600"),
            ("relayDTMFInputs", "true"),
        ]),
    )
    .unwrap();
    let xml = verb(
        r#"<MultiPartyCall role="Agent" maxDuration="600" relayDTMFInputs="true">sales</MultiPartyCall>"#,
    );
    assert_eq!(Verb::MultiPartyCall(m), xml);
    assert!(warnings.is_empty());
    let error =
        MultiPartyCall::from_attributes("sales", attrs(&[("role", "agent"), ("maxDuration", "5")]))
            .unwrap_err();
    assert_eq!(error.attribute, "maxDuration");
    assert_eq!(
        error.reason,
        InvalidReason::IntegerRange {
            min: 300,
            max: 28_800
        }
    );
    let missing = MultiPartyCall::from_attributes("sales", Vec::new()).unwrap_err();
    assert_eq!(
        (missing.attribute.as_str(), missing.reason),
        ("role", InvalidReason::Missing)
    );
}
