use chorus_xml::{Method, Role, Sound};

use super::*;

fn request(json: &str) -> Result<AddParticipant, BadParam> {
    let params = Params::from_body(Some("application/json"), json.as_bytes()).unwrap();
    add_participant("sales", &params)
}

fn refused(json: &str) -> String {
    request(json).expect_err(json).0
}

fn dialled(json: &str) -> Dial {
    match request(json).unwrap().joining {
        Joining::Dial(dial) => dial,
        other => panic!("not a dial: {other:?}"),
    }
}

#[test]
fn the_seeds_request_gets_plivos_defaults() {
    let added =
        request(r#"{"role": "Agent", "from": "+14155550100", "to": "sip:agent@127.0.0.1:5070"}"#)
            .unwrap();
    let spec = &added.spec;
    assert_eq!((spec.name.as_str(), spec.role), ("sales", Role::Agent));
    assert_eq!((spec.max_duration, spec.max_participants), (14_400, 10));
    assert!(spec.start_mpc_on_enter && !spec.end_mpc_on_exit && !spec.record);
    assert_eq!(
        (spec.enter_sound.clone(), spec.exit_sound.clone()),
        (Sound::Beep1, Sound::Beep2)
    );
    assert_eq!(
        spec.recording_callback_method,
        Method::Post,
        "the API's default"
    );
    let Joining::Dial(dial) = added.joining else {
        panic!("a dial")
    };
    assert_eq!(
        dial.caller_name, "+14155550100",
        "caller_name defaults to from"
    );
    assert_eq!(dial.dial_music, DialMusic::Real);
    assert_eq!(
        dial.destinations,
        [Destination {
            to: "sip:agent@127.0.0.1:5070".into(),
            ring_timeout: 45,
            delay_dial: 0,
            sip_headers: Vec::new(),
        }]
    );
    assert_eq!(
        (dial.call_status_callback, dial.confirm, dial.send_digits),
        (None, None, None)
    );
}

#[test]
fn mpc_settings_are_read_by_the_elements_rules_and_named_as_the_api_names_them() {
    let spec = request(
        r#"{"role": "supervisor", "call_uuid": "c1", "max_duration": 600, "coach_mode": false,
            "relay_dtmf_inputs": true, "enter_sound": "none", "status_callback_events": "participant-audio-events"}"#,
    )
    .unwrap()
    .spec;
    assert_eq!(spec.max_duration, 600);
    assert!(!spec.coach_mode && spec.relay_dtmf_inputs);
    assert_eq!(spec.enter_sound, Sound::None);
    assert!(
        refused(r#"{"role": "Agent", "call_uuid": "c", "max_duration": 5}"#)
            .starts_with("max_duration must be an integer from 300 to 28800")
    );
    assert!(
        refused(r#"{"role": "Agent", "call_uuid": "c", "mute": "maybe"}"#)
            .starts_with("mute must be true or false")
    );
    assert_eq!(refused(r#"{"call_uuid": "c"}"#), "role is required");
    assert!(refused(r#"{"role": "boss", "call_uuid": "c"}"#).starts_with("role must be one of"));
}

#[test]
fn a_new_call_or_a_transfer_never_both() {
    assert_eq!(
        request(r#"{"role": "Customer", "call_uuid": "abc"}"#)
            .unwrap()
            .joining,
        Joining::Transfer {
            call_uuid: "abc".into()
        }
    );
    assert!(refused(r#"{"role": "Agent"}"#).starts_with("give either from and to"));
    assert!(
        refused(r#"{"role": "Agent", "from": "1", "to": "2", "call_uuid": "c"}"#)
            .contains("cannot be given")
    );
    assert!(refused(r#"{"role": "Agent", "to": "2"}"#).contains("both required"));
}

#[test]
fn several_destinations_race_for_agents_only_with_values_one_each_or_one_for_all() {
    let dial = dialled(
        r#"{"role": "agent", "from": "100", "to": "200<sip:b@127.0.0.1<300",
            "ring_timeout": "20<30<40", "delay_dial": 5, "sip_headers": "a=1,b=2<c=3<d=4"}"#,
    );
    let got: Vec<(&str, u32, u32, usize)> = dial
        .destinations
        .iter()
        .map(|d| {
            (
                d.to.as_str(),
                d.ring_timeout,
                d.delay_dial,
                d.sip_headers.len(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("200", 20, 5, 2),
            ("sip:b@127.0.0.1", 30, 5, 1),
            ("300", 40, 5, 1)
        ]
    );
    assert!(refused(r#"{"role": "Customer", "from": "1", "to": "2<3"}"#).contains("Agent role"));
    let many = (0..21).map(|n| n.to_string()).collect::<Vec<_>>().join("<");
    assert!(
        refused(&format!(
            r#"{{"role": "Agent", "from": "1", "to": "{many}"}}"#
        ))
        .contains("at most 20")
    );
    assert!(
        refused(r#"{"role": "Agent", "from": "1", "to": "2<3", "ring_timeout": "20<30<40"}"#)
            .contains("3 values for 2 destinations")
    );
    assert!(
        refused(r#"{"role": "Agent", "from": "1", "to": "2", "ring_timeout": 10}"#)
            .contains("from 15 to 120")
    );
    assert!(
        refused(r#"{"role": "Agent", "from": "1", "to": "2", "delay_dial": 121}"#)
            .contains("from 0 to 120")
    );
    assert!(
        refused(r#"{"role": "Agent", "from": "1", "to": "2", "sip_headers": "a-b=1"}"#)
            .contains("letters and digits")
    );
}

#[test]
fn the_callees_side_confirm_key_music_digits_and_name() {
    let dial = dialled(
        r##"{"role": "Agent", "from": "1", "to": "2", "caller_name": "Support",
            "confirm_key": "#", "dial_music": "none", "send_digits": "12w#",
            "send_on_preanswer": true,
            "call_status_callback_url": "http://127.0.0.1:9/cb"}"##,
    );
    assert_eq!(dial.caller_name, "Support");
    assert_eq!(
        dial.confirm,
        Some(Confirm {
            key: '#',
            sound: None
        })
    );
    assert_eq!(dial.dial_music, DialMusic::Silence);
    assert_eq!(
        dial.send_digits,
        Some(SendDigits {
            digits: "12w#".into(),
            on_preanswer: true
        })
    );
    assert_eq!(
        dial.call_status_callback,
        Some(("http://127.0.0.1:9/cb".into(), Method::Post))
    );
    let long = "x".repeat(51);
    assert!(
        refused(&format!(
            r#"{{"role": "Agent", "from": "1", "to": "2", "caller_name": "{long}"}}"#
        ))
        .contains("at most 50")
    );
    assert!(
        refused(r#"{"role": "Agent", "from": "1", "to": "2", "confirm_key": "12"}"#)
            .contains("confirm_key")
    );
    assert!(
        refused(r#"{"role": "Agent", "from": "1", "to": "2", "send_digits": "12x"}"#)
            .contains("send_digits")
    );
    assert!(
        refused(r#"{"role": "Agent", "from": "1", "to": "2", "dial_music": "loud"}"#)
            .contains("dial_music")
    );
    assert!(
        refused(
            r#"{"role": "Agent", "from": "1", "to": "2", "call_status_callback_url": "ftp://x"}"#
        )
        .contains("call_status_callback_url")
    );
}
