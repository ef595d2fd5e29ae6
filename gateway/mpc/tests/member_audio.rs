//! Sounds played to one member: ParticipantAudioPlayed and
//! ParticipantAudioStopped pair up whatever ends the sound, and are sent
//! only when `participant-audio-events` is asked for.

mod common;

use chorus_mpc::{ExitCause, Input, Mpc, Output};
use chorus_xml::{MultiPartyCall, Role, StatusCallbackEvent, StatusCallbackEvents};
use common::{T0, call};

fn spec(events: &[StatusCallbackEvent]) -> MultiPartyCall {
    MultiPartyCall {
        status_callback_events: events.iter().copied().collect::<StatusCallbackEvents>(),
        ..MultiPartyCall::for_room("support", Role::Agent)
    }
}

/// An MPC of two agents (members 1 and 2), its creation drained.
fn mpc(events: &[StatusCallbackEvent]) -> Mpc {
    let spec = spec(events);
    let mut m = Mpc::new(T0, "mpc-uuid".into(), &spec);
    for n in 1..=2 {
        let call = call(n);
        let spec = Box::new(spec.clone());
        m.handle(T0, Input::Join { call, spec });
    }
    while m.poll_output().is_some() {}
    m
}

/// The callbacks `input` causes: (name, member, sequence).
fn sent(m: &mut Mpc, input: Input) -> Vec<(&'static str, Option<u32>, u64)> {
    m.handle(T0.plus_secs(1), input);
    std::iter::from_fn(|| m.poll_output())
        .filter_map(|o| match o {
            Output::Event(e) if e.requested => {
                Some((e.name.as_str(), e.member.map(|m| m.member_id), e.sequence))
            }
            _ => None,
        })
        .collect()
}

const AUDIO: [StatusCallbackEvent; 2] = [
    StatusCallbackEvent::ParticipantAudioEvents,
    StatusCallbackEvent::ParticipantStateChanges,
];

#[test]
fn a_sound_that_ends_sends_played_then_stopped_for_its_member() {
    let mut m = mpc(&AUDIO);
    let played = sent(&mut m, Input::AudioPlayed { member: 2 });
    assert_eq!(played, [("ParticipantAudioPlayed", Some(2), 3)]);
    let stopped = sent(&mut m, Input::AudioStopped { member: 2 });
    assert_eq!(stopped, [("ParticipantAudioStopped", Some(2), 4)]);
    // Nothing plays any more: stopping again says nothing.
    assert_eq!(sent(&mut m, Input::AudioStopped { member: 2 }), []);
}

#[test]
fn a_sound_that_replaces_another_stops_it_first() {
    let mut m = mpc(&AUDIO);
    sent(&mut m, Input::AudioPlayed { member: 1 });
    let names: Vec<_> = sent(&mut m, Input::AudioPlayed { member: 1 })
        .into_iter()
        .map(|(name, ..)| name)
        .collect();
    assert_eq!(names, ["ParticipantAudioStopped", "ParticipantAudioPlayed"]);
}

#[test]
fn a_member_who_leaves_while_its_sound_plays_gets_stopped_before_its_exit() {
    let mut m = mpc(&AUDIO);
    sent(&mut m, Input::AudioPlayed { member: 1 });
    let cause = ExitCause::Kicked;
    let names: Vec<_> = sent(&mut m, Input::Leave { member: 1, cause })
        .into_iter()
        .map(|(name, member, _)| (name, member))
        .collect();
    assert_eq!(
        names[..2],
        [
            ("ParticipantAudioStopped", Some(1)),
            ("ParticipantExit", Some(1))
        ]
    );
}

#[test]
fn audio_events_are_sent_only_when_participant_audio_events_is_asked_for() {
    let mut m = mpc(&[StatusCallbackEvent::ParticipantStateChanges]);
    assert_eq!(sent(&mut m, Input::AudioPlayed { member: 1 }), []);
    assert_eq!(sent(&mut m, Input::AudioStopped { member: 1 }), []);
    // Still reported (logs, metrics, the event stream), just not sent.
    m.handle(T0, Input::AudioPlayed { member: 1 });
    let reported = std::iter::from_fn(|| m.poll_output()).any(
        |o| matches!(o, Output::Event(e) if !e.requested && e.name.as_str() == "ParticipantAudioPlayed"),
    );
    assert!(reported);
}

#[test]
fn audio_for_a_member_who_is_not_there_changes_nothing() {
    let mut m = mpc(&AUDIO);
    assert_eq!(sent(&mut m, Input::AudioPlayed { member: 9 }), []);
}
