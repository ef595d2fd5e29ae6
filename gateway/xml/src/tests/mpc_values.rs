//! MultiPartyCall attribute value kinds: methods, URLs, formats, events, sounds.

use super::mpc::{assert_invalid, mpc, mpc_err};
use crate::{
    InvalidReason, Method, RecordFileFormat, Sound, StatusCallbackEvent as E, StatusCallbackEvents,
};

#[test]
fn methods() {
    let attrs = [
        "waitMusicMethod",
        "agentHoldMusicMethod",
        "customerHoldMusicMethod",
        "recordingCallbackMethod",
        "statusCallbackMethod",
        "enterSoundMethod",
        "exitSoundMethod",
        "onExitActionMethod",
    ];
    for attr in attrs {
        let get = mpc(&format!(r#"{attr}="get""#));
        let post = mpc(&format!(r#"{attr}="Post""#));
        assert_ne!(get, post, "{attr}");
        assert_invalid(attr, "PUT", InvalidReason::NotMethod);
        assert_invalid(attr, "", InvalidReason::NotMethod);
    }
    let m = mpc(r#"statusCallbackMethod="GET" onExitActionMethod="GET" waitMusicMethod="POST""#);
    assert_eq!(m.status_callback_method, Method::Get);
    assert_eq!(m.on_exit_action_method, Method::Get);
    assert_eq!(m.wait_music_method, Method::Post);
    assert_eq!(Method::Post.as_str(), "POST");
}

#[test]
fn urls() {
    let m = mpc(
        r#"waitMusicUrl="https://a.example/wait.xml" agentHoldMusicUrl="http://h:8080/a"
           customerHoldMusicUrl="HTTP://[::1]:80/c?x=1&amp;y=2" recordingCallbackUrl="https://u:p@r.example"
           statusCallbackUrl=" https://s.example/cb " onExitActionUrl="https://e.example#frag""#,
    );
    assert_eq!(
        m.wait_music_url.as_deref(),
        Some("https://a.example/wait.xml")
    );
    assert_eq!(m.agent_hold_music_url.as_deref(), Some("http://h:8080/a"));
    assert_eq!(
        m.customer_hold_music_url.as_deref(),
        Some("HTTP://[::1]:80/c?x=1&y=2")
    );
    assert_eq!(
        m.recording_callback_url.as_deref(),
        Some("https://u:p@r.example")
    );
    assert_eq!(
        m.status_callback_url.as_deref(),
        Some("https://s.example/cb")
    );
    assert_eq!(
        m.on_exit_action_url.as_deref(),
        Some("https://e.example#frag")
    );
    assert_eq!(
        m.hold_music(),
        (Some("HTTP://[::1]:80/c?x=1&y=2"), Method::Get)
    );
    for bad in [
        "",
        "example.com/x",
        "ftp://example.com",
        "https://",
        "https:///path",
        "https://exa mple.com",
        "https://host:0/",
        "https://host:70000/",
        "https://host:x/",
        "https://[::1/",
        "/relative",
        "https://u@/x",
    ] {
        for attr in ["waitMusicUrl", "statusCallbackUrl", "onExitActionUrl"] {
            assert_invalid(attr, bad, InvalidReason::NotUrl);
        }
    }
}

#[test]
fn record_file_format() {
    assert_eq!(
        mpc(r#"recordFileFormat="wav""#).record_file_format,
        RecordFileFormat::Wav
    );
    assert_eq!(
        mpc(r#"recordFileFormat="MP3""#).record_file_format,
        RecordFileFormat::Mp3
    );
    assert_invalid(
        "recordFileFormat",
        "ogg",
        InvalidReason::OneOf(&["mp3", "wav"]),
    );
}

#[test]
fn status_callback_events() {
    let events = |v: &str| mpc(&format!(r#"statusCallbackEvents="{v}""#)).status_callback_events;
    let set = |list: &[E]| list.iter().copied().collect::<StatusCallbackEvents>();
    assert_eq!(
        events("participant-speak-events"),
        set(&[E::ParticipantSpeakEvents])
    );
    assert_eq!(
        events(" participant-audio-events ,mpc-state-changes,, add-participant-api-events,"),
        set(&[
            E::ParticipantAudioEvents,
            E::MpcStateChanges,
            E::AddParticipantApiEvents
        ])
    );
    let all = E::ALL.map(E::as_str).join(",");
    assert_eq!(events(&all), StatusCallbackEvents::all());
    assert_eq!(
        events("MPC-State-Changes,mpc-state-changes"),
        set(&[E::MpcStateChanges])
    );
    assert_eq!(StatusCallbackEvents::all().to_string(), all);
    assert!(events("participant-digit-input-events").contains(E::ParticipantDigitInputEvents));
    assert!(!events("participant-digit-input-events").contains(E::MpcStateChanges));

    let e = mpc_err(r#"statusCallbackEvents="mpc-state-changes,bogus""#);
    assert_eq!(
        e.reason,
        InvalidReason::UnknownEvent {
            token: "bogus".into()
        }
    );
    assert!(e.to_string().contains(r#"unknown event "bogus""#), "{e}");
    assert_invalid("statusCallbackEvents", "", InvalidReason::Empty);
    assert_invalid("statusCallbackEvents", " , ", InvalidReason::Empty);
}

#[test]
fn sounds() {
    let m = mpc(r#"enterSound="none" exitSound="BEEP:1""#);
    assert_eq!((m.enter_sound, m.exit_sound), (Sound::None, Sound::Beep1));
    let m = mpc(r#"enterSound="beep:2" exitSound="https://s.example/bye.xml""#);
    assert_eq!(m.enter_sound, Sound::Beep2);
    assert_eq!(m.exit_sound, Sound::Url("https://s.example/bye.xml".into()));
    for bad in ["beep:3", "beep", "", "s.example/x.xml", "ftp://x"] {
        assert_invalid("enterSound", bad, InvalidReason::NotSound);
        assert_invalid("exitSound", bad, InvalidReason::NotSound);
    }
}
