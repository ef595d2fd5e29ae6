//! Each MultiPartyCall rule, driven through the engine with simulated time.

mod common;

use chorus_mpc::{
    ExitCause, Input, MediaCommand, Mpc, Output, RecordCommand, Rejection, StatusEvent,
    Termination, Then,
};
use chorus_xml::{Method, MultiPartyCall, Role, Sound, StatusCallbackEvent, StatusCallbackEvents};
use common::{T0, at, call, drain, join};

fn spec(role: Role) -> MultiPartyCall {
    MultiPartyCall::for_room("support", role)
}

/// An MPC created by `creator` at T0, with every output of the creation
/// drained.
fn mpc(creator: &MultiPartyCall) -> Mpc {
    let mut m = Mpc::new(T0, "mpc-uuid".into(), creator);
    drain(&mut m);
    m
}

/// `member` leaves at `secs`; the outputs.
fn leave(m: &mut Mpc, secs: u64, member: u32, cause: ExitCause) -> Vec<Output> {
    m.handle(at(secs), Input::Leave { member, cause });
    drain(m)
}

/// The events sent as callbacks (the requested ones).
fn events(out: &[Output]) -> Vec<&StatusEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) if e.requested => Some(e),
            _ => None,
        })
        .collect()
}

fn names(out: &[Output]) -> Vec<&'static str> {
    events(out).iter().map(|e| e.name.as_str()).collect()
}

fn bridges(out: &[Output]) -> Vec<Sound> {
    out.iter()
        .filter_map(|o| match o {
            Output::Media(MediaCommand::Bridge { sound, .. }) => Some(sound.clone()),
            _ => None,
        })
        .collect()
}

fn released(out: &[Output]) -> Vec<(u32, Then)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Released { member, then, .. } => Some((*member, then.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn start_mpc_on_enter_false_waits_for_a_later_participant() {
    let customer = MultiPartyCall {
        start_mpc_on_enter: false,
        ..spec(Role::Customer)
    };
    let mut m = mpc(&customer);
    let (_, out) = join(&mut m, 1, 1, &customer);
    assert_eq!(names(&out), ["ParticipantJoin"]);
    assert!(!out.contains(&Output::Media(MediaCommand::Start)));
    assert_eq!(m.started(), None);
    let (_, out) = join(&mut m, 30, 2, &spec(Role::Agent));
    assert_eq!(names(&out), ["ParticipantJoin", "MPCStart"]);
    assert!(out.contains(&Output::Media(MediaCommand::Start)));
    assert_eq!(m.started(), Some(at(30)));
}

#[test]
fn end_mpc_on_exit_ends_it_for_everyone() {
    let mut m = mpc(&spec(Role::Agent));
    let (agent, _) = join(&mut m, 1, 1, &spec(Role::Agent));
    let boss = MultiPartyCall {
        end_mpc_on_exit: true,
        ..spec(Role::Customer)
    };
    let (customer, _) = join(&mut m, 2, 2, &boss);
    let (other, _) = join(&mut m, 3, 3, &spec(Role::Customer));
    let out = leave(&mut m, 60, customer, ExitCause::Hangup);
    assert_eq!(
        names(&out),
        [
            "ParticipantExit",
            "ParticipantExit",
            "ParticipantExit",
            "MPCEnd"
        ]
    );
    let exits: Vec<_> = events(&out)
        .iter()
        .filter_map(|e| e.member.as_ref())
        .map(|f| (f.member_id, f.exited.unwrap().1))
        .collect();
    assert_eq!(
        exits,
        [
            (customer, ExitCause::Hangup),
            (agent, ExitCause::MpcEnded),
            (other, ExitCause::MpcEnded)
        ]
    );
    // The hung-up call is gone; the others go on with their documents.
    assert_eq!(
        released(&out),
        [(agent, Then::NextElement), (other, Then::NextElement)]
    );
    assert_eq!(m.ended(), Some((at(60), Termination::EndMpcOnExit)));
    let end = events(&out)[3];
    assert_eq!(end.mpc.ended, Some((at(60), Termination::EndMpcOnExit)));
}

#[test]
fn without_stay_alone_the_last_member_leaves_and_the_mpc_ends() {
    let mut m = mpc(&spec(Role::Agent));
    let (agent, _) = join(&mut m, 1, 1, &spec(Role::Agent));
    let (customer, _) = join(&mut m, 2, 2, &spec(Role::Customer));
    let out = leave(&mut m, 10, customer, ExitCause::Hangup);
    assert_eq!(
        names(&out),
        ["ParticipantExit", "ParticipantExit", "MPCEnd"]
    );
    assert_eq!(released(&out), [(agent, Then::NextElement)]);
    assert_eq!(m.ended(), Some((at(10), Termination::NoParticipants)));
}

#[test]
fn with_stay_alone_the_last_member_stays() {
    let stays = MultiPartyCall {
        stay_alone: true,
        ..spec(Role::Agent)
    };
    let mut m = mpc(&stays);
    let (agent, _) = join(&mut m, 1, 1, &stays);
    let (customer, _) = join(&mut m, 2, 2, &spec(Role::Customer));
    let out = leave(&mut m, 10, customer, ExitCause::Hangup);
    assert_eq!(names(&out), ["ParticipantExit"]);
    assert_eq!(m.members(), [agent]);
    assert_eq!(m.ended(), None);
    // A lone first participant is not "remaining": it waits for others.
    let mut m = mpc(&spec(Role::Agent));
    join(&mut m, 1, 1, &spec(Role::Agent));
    m.handle(at(100), Input::Tick);
    assert_eq!(m.ended(), None);
}

#[test]
fn one_too_many_is_rejected_and_nothing_else_happens() {
    let two = MultiPartyCall {
        max_participants: 2,
        ..spec(Role::Agent)
    };
    let mut m = mpc(&two);
    join(&mut m, 1, 1, &two);
    join(&mut m, 2, 2, &spec(Role::Customer));
    m.handle(
        at(3),
        Input::Join {
            call: call(3),
            spec: Box::new(spec(Role::Customer)),
        },
    );
    assert_eq!(
        drain(&mut m),
        [Output::Rejected {
            call_uuid: "call-3".into(),
            reason: Rejection::Full { max: 2 }
        }]
    );
    assert_eq!(m.members().len(), 2);
}

#[test]
fn max_duration_counts_from_initialization() {
    let short = MultiPartyCall {
        max_duration: 300,
        ..spec(Role::Agent)
    };
    let mut m = mpc(&short);
    assert_eq!(m.poll_timeout(), Some(at(300)));
    let (agent, _) = join(&mut m, 100, 1, &short);
    m.handle(at(299), Input::Tick);
    assert!(drain(&mut m).is_empty());
    m.handle(at(300), Input::Tick);
    let out = drain(&mut m);
    assert_eq!(names(&out), ["ParticipantExit", "MPCEnd"]);
    assert_eq!(released(&out), [(agent, Then::NextElement)]);
    assert_eq!(m.ended(), Some((at(300), Termination::MaxDuration)));
    assert_eq!(m.poll_timeout(), None);
    // A late arrival finds it ended.
    m.handle(
        at(301),
        Input::Join {
            call: call(9),
            spec: Box::new(short.clone()),
        },
    );
    assert_eq!(
        drain(&mut m),
        [Output::Rejected {
            call_uuid: "call-9".into(),
            reason: Rejection::Ended
        }]
    );
}

#[test]
fn input_after_the_deadline_ends_the_mpc_first() {
    let short = MultiPartyCall {
        max_duration: 300,
        ..spec(Role::Agent)
    };
    let mut m = mpc(&short);
    join(&mut m, 1, 1, &short);
    m.handle(
        at(500),
        Input::Join {
            call: call(2),
            spec: Box::new(short.clone()),
        },
    );
    let out = drain(&mut m);
    assert_eq!(m.ended(), Some((at(500), Termination::MaxDuration)));
    assert!(matches!(
        out.last(),
        Some(Output::Rejected {
            reason: Rejection::Ended,
            ..
        })
    ));
}

#[test]
fn enter_and_exit_sounds_and_the_coaching_supervisor_exception() {
    let mut m = mpc(&spec(Role::Agent));
    let (_, out) = join(&mut m, 1, 1, &spec(Role::Agent));
    assert_eq!(bridges(&out), [Sound::Beep1]);
    let quiet = MultiPartyCall {
        enter_sound: Sound::None,
        exit_sound: Sound::Url("http://127.0.0.1/bye.xml".into()),
        exit_sound_method: Method::Post,
        ..spec(Role::Customer)
    };
    let (customer, out) = join(&mut m, 2, 2, &quiet);
    assert!(bridges(&out).is_empty());
    let (coach, out) = join(&mut m, 3, 3, &spec(Role::Supervisor));
    assert!(bridges(&out).is_empty(), "never for a coaching supervisor");
    let open = MultiPartyCall {
        coach_mode: false,
        ..spec(Role::Supervisor)
    };
    let (open, out) = join(&mut m, 4, 4, &open);
    assert_eq!(bridges(&out), [Sound::Beep1], "a supervisor not coaching");
    // The exit sound plays on hangup too, fetched with its method.
    assert!(
        leave(&mut m, 5, customer, ExitCause::Hangup).contains(&Output::Media(
            MediaCommand::Bridge {
                sound: Sound::Url("http://127.0.0.1/bye.xml".into()),
                method: Method::Post
            }
        ))
    );
    assert!(bridges(&leave(&mut m, 6, coach, ExitCause::Hangup)).is_empty());
    assert_eq!(
        bridges(&leave(&mut m, 7, open, ExitCause::Kicked)),
        [Sound::Beep2]
    );
}

#[test]
fn mute_hold_and_coach_changes_reach_media_and_callbacks() {
    let mut m = mpc(&spec(Role::Agent));
    let (agent, _) = join(&mut m, 1, 1, &spec(Role::Agent));
    let (sup, _) = join(&mut m, 2, 2, &spec(Role::Supervisor));
    let update = |member, mute, hold, coach_mode| Input::Update {
        member,
        mute,
        hold,
        coach_mode,
    };
    m.handle(at(3), update(agent, Some(true), Some(true), Some(true)));
    let out = drain(&mut m);
    assert_eq!(names(&out), ["ParticipantMute", "ParticipantHold"]);
    let Some(Output::Media(MediaCommand::Update { participant, .. })) = out.first() else {
        panic!("{out:?}")
    };
    assert!(participant.muted && participant.held && !participant.coach);
    m.handle(at(4), update(agent, Some(true), None, None));
    assert!(drain(&mut m).is_empty(), "no change, no event");
    m.handle(at(5), update(sup, None, None, Some(false)));
    let out = drain(&mut m);
    assert_eq!(names(&out), ["ParticipantCoachModeStop"]);
    assert!(!events(&out)[0].member.as_ref().unwrap().coach_mode);
    let beeps = |out: &[Output]| -> Vec<Sound> {
        out.iter()
            .filter_map(|o| match o {
                Output::Media(MediaCommand::Bridge { sound, .. }) => Some(sound.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        beeps(&out),
        [Sound::Beep1],
        "Plivo announces a coach mode change with beep:1"
    );
    m.handle(at(6), update(sup, None, None, Some(true)));
    m.handle(at(7), update(agent, Some(false), Some(false), None));
    let out = drain(&mut m);
    assert_eq!(
        beeps(&out),
        [Sound::Beep1],
        "only the coach mode change beeps"
    );
    assert_eq!(
        names(&out),
        [
            "ParticipantCoachModeStart",
            "ParticipantUnmute",
            "ParticipantUnhold"
        ]
    );
}

#[test]
fn digits_are_relayed_to_exactly_those_who_hear_the_presser() {
    let relay = |role| MultiPartyCall {
        relay_dtmf_inputs: true,
        status_callback_events: StatusCallbackEvents::all(),
        ..spec(role)
    };
    let mut m = mpc(&relay(Role::Agent));
    let (agent, _) = join(&mut m, 1, 1, &relay(Role::Agent));
    let (customer, _) = join(&mut m, 2, 2, &relay(Role::Customer));
    let (coach, _) = join(&mut m, 3, 3, &relay(Role::Supervisor));
    let (held, _) = join(
        &mut m,
        4,
        4,
        &MultiPartyCall {
            hold: true,
            ..relay(Role::Agent)
        },
    );
    let (plain, _) = join(&mut m, 5, 5, &spec(Role::Customer));
    let press = |m: &mut Mpc, member| {
        m.handle(
            at(10),
            Input::Digits {
                member,
                digits: "5#".into(),
            },
        );
        drain(m)
    };
    let relays = |out: &[Output]| -> Vec<Vec<u32>> {
        out.iter()
            .filter_map(|o| match o {
                Output::Media(MediaCommand::Relay { to, .. }) => Some(to.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        relays(&press(&mut m, coach)),
        [vec![agent]],
        "never to customers or the held"
    );
    assert_eq!(
        relays(&press(&mut m, customer)),
        [vec![agent, coach, plain]]
    );
    let out = press(&mut m, plain);
    assert!(
        relays(&out).is_empty(),
        "relayDTMFInputs is off for this member"
    );
    assert_eq!(names(&out), ["ParticipantDigitInput"], "still reported");
    assert_eq!(events(&out)[0].digits.as_deref(), Some("5#"));
    assert!(
        relays(&press(&mut m, held)).is_empty(),
        "a held member is heard by nobody"
    );
}

#[test]
fn on_exit_action_url_continues_the_call_unless_it_hung_up_or_was_transferred() {
    let fetch = MultiPartyCall {
        on_exit_action_url: Some("http://127.0.0.1/next".into()),
        on_exit_action_method: Method::Get,
        stay_alone: true,
        ..spec(Role::Agent)
    };
    let then = |member: u32, joined: u64, ended: u64| Then::Fetch {
        url: "http://127.0.0.1/next".into(),
        method: Method::Get,
        params: [
            ("MPCUUID", "mpc-uuid".to_owned()),
            ("MPCFriendlyName", "support".to_owned()),
            ("MemberID", member.to_string()),
            ("ParticipantCallUUID", format!("call-{member}")),
            ("ParticipantJoinTime", at(joined).to_string()),
            ("ParticipantEndTime", at(ended).to_string()),
            ("ParticipantRole", "Agent".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    };
    let mut m = mpc(&fetch);
    let (a, _) = join(&mut m, 1, 1, &fetch);
    let (b, _) = join(&mut m, 2, 2, &fetch);
    let (c, _) = join(&mut m, 3, 3, &fetch);
    let (d, _) = join(&mut m, 4, 4, &fetch);
    let mut leave = |member, cause| {
        m.handle(at(5), Input::Leave { member, cause });
        released(&drain(&mut m))
    };
    assert_eq!(leave(a, ExitCause::Kicked), [(a, then(a, 1, 5))]);
    assert!(leave(b, ExitCause::Hangup).is_empty());
    assert!(leave(c, ExitCause::Transferred).is_empty());
    m.handle(at(6), Input::End);
    assert_eq!(released(&drain(&mut m)), [(d, then(d, 4, 6))]);
    assert_eq!(m.ended(), Some((at(6), Termination::Api)));
}

#[test]
fn recording_starts_at_the_minimum_member_count_and_stops_at_the_end() {
    let record = MultiPartyCall {
        record: true,
        record_min_member_count: 2,
        ..spec(Role::Agent)
    };
    let records = |out: &[Output]| -> Vec<RecordCommand> {
        out.iter()
            .filter_map(|o| match o {
                Output::Record(r) => Some(*r),
                _ => None,
            })
            .collect()
    };
    let mut m = mpc(&record);
    let (_, out) = join(&mut m, 1, 1, &record);
    assert!(records(&out).is_empty(), "one member is not enough");
    // A later member without `record` neither starts nor stops it.
    let (_, out) = join(&mut m, 2, 2, &spec(Role::Customer));
    assert_eq!(
        records(&out),
        [RecordCommand::Start {
            format: chorus_xml::RecordFileFormat::Mp3
        }]
    );
    let (_, out) = join(&mut m, 3, 3, &record);
    assert!(records(&out).is_empty(), "already recording");
    m.handle(at(9), Input::End);
    assert_eq!(records(&drain(&mut m)), [RecordCommand::Stop]);
    // Nobody asked for a recording: none.
    let mut m = mpc(&spec(Role::Agent));
    let (_, out) = join(&mut m, 1, 1, &spec(Role::Agent));
    assert!(records(&out).is_empty());
}

#[test]
fn status_callback_events_filter_and_sequence_numbers_count_what_is_sent() {
    let only = MultiPartyCall {
        status_callback_events: [
            StatusCallbackEvent::ParticipantSpeakEvents,
            StatusCallbackEvent::MpcStateChanges,
        ]
        .into_iter()
        .collect::<StatusCallbackEvents>(),
        ..spec(Role::Agent)
    };
    let mut m = Mpc::new(T0, "u".into(), &only);
    let mut out = drain(&mut m);
    let (agent, more) = join(&mut m, 1, 1, &only);
    out.extend(more);
    m.handle(
        at(2),
        Input::Speaking {
            member: agent,
            speaking: true,
        },
    );
    m.handle(
        at(3),
        Input::Speaking {
            member: agent,
            speaking: false,
        },
    );
    m.handle(
        at(4),
        Input::Digits {
            member: agent,
            digits: "1".into(),
        },
    );
    m.handle(at(5), Input::End);
    out.extend(drain(&mut m));
    assert_eq!(
        names(&out),
        [
            "MPCInitialized",
            "MPCStart",
            "ParticipantSpeakStart",
            "ParticipantSpeakStop",
            "MPCEnd"
        ]
    );
    let sequence: Vec<u64> = events(&out).iter().map(|e| e.sequence).collect();
    assert_eq!(sequence, [1, 2, 3, 4, 5]);
    // The others are still reported (for logs and metrics), unnumbered.
    let unrequested: Vec<(&str, u64)> = out
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) if !e.requested => Some((e.name.as_str(), e.sequence)),
            _ => None,
        })
        .collect();
    assert_eq!(
        unrequested,
        [
            ("ParticipantJoin", 0),
            ("ParticipantDigitInput", 0),
            ("ParticipantExit", 0)
        ]
    );
}

#[test]
fn every_field_of_an_exit_event() {
    let mut m = mpc(&spec(Role::Agent));
    let (agent, _) = join(&mut m, 1, 1, &spec(Role::Agent));
    m.handle(at(125), Input::End);
    let out = drain(&mut m);
    let exit = events(&out)[0];
    assert_eq!(exit.member.as_ref().unwrap().member_id, agent);
    let end = events(&out)[1];
    let fields = |e: &StatusEvent| -> Vec<(String, String)> {
        e.fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    };
    let expect = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        fields(exit),
        expect(&[
            ("EventName", "ParticipantExit"),
            ("EventTimestamp", "2020-07-09 07:27:12+00:00"),
            ("SequenceNumber", "4"),
            ("MPCUUID", "mpc-uuid"),
            ("MPCName", "support"),
            ("MPCCreationTime", "2020-07-09 07:25:07+00:00"),
            ("MPCStartTime", "2020-07-09 07:25:08+00:00"),
            ("MPCEndTime", ""),
            ("MPCDuration", ""),
            ("MPCBilledDuration", ""),
            ("MPCBilledAmount", ""),
            ("MPCTerminationCause", ""),
            ("MPCTerminationCauseCode", ""),
            ("MemberID", "1"),
            ("MemberAddress", "caller1"),
            ("ParticipantCallUUID", "call-1"),
            ("ParticipantCallFrom", "caller1"),
            ("ParticipantCallTo", "support"),
            ("ParticipantCallDirection", "inbound"),
            ("ParticipantRole", "Agent"),
            ("ParticipantCoachMode", "false"),
            ("ParticipantJoinTime", "2020-07-09 07:25:08+00:00"),
            ("ParticipantExitTime", "2020-07-09 07:27:12+00:00"),
            ("ParticipantExitCause", "Multiparty Call Ended"),
        ])
    );
    assert_eq!(
        fields(end),
        expect(&[
            ("EventName", "MPCEnd"),
            ("EventTimestamp", "2020-07-09 07:27:12+00:00"),
            ("SequenceNumber", "5"),
            ("MPCUUID", "mpc-uuid"),
            ("MPCName", "support"),
            ("MPCCreationTime", "2020-07-09 07:25:07+00:00"),
            ("MPCStartTime", "2020-07-09 07:25:08+00:00"),
            ("MPCEndTime", "2020-07-09 07:27:12+00:00"),
            ("MPCDuration", "124"),
            ("MPCBilledDuration", "180"),
            ("MPCBilledAmount", "0.00000"),
            ("MPCTerminationCause", "MPC Ended Via API"),
            ("MPCTerminationCauseCode", "2000"),
        ])
    );
}

/// The four-party flow: a customer waits (no start), an agent
/// starts the MPC, a supervisor coaches, the customer hangs up with
/// endMpcOnExit. Every callback, in order, checked field by field.
#[test]
fn four_party_flow_produces_the_exact_callback_sequence() {
    let customer = MultiPartyCall {
        start_mpc_on_enter: false,
        end_mpc_on_exit: true,
        ..spec(Role::Customer)
    };
    let mut m = Mpc::new(T0, "mpc-uuid".into(), &customer);
    let mut out = drain(&mut m);
    let (c, more) = join(&mut m, 2, 1, &customer);
    out.extend(more);
    let (a, more) = join(&mut m, 40, 2, &spec(Role::Agent));
    out.extend(more);
    let (s, more) = join(&mut m, 55, 3, &spec(Role::Supervisor));
    out.extend(more);
    m.handle(
        at(300),
        Input::Leave {
            member: c,
            cause: ExitCause::Hangup,
        },
    );
    out.extend(drain(&mut m));

    let ts = |secs| at(secs).to_string();
    let rows: Vec<Vec<String>> = events(&out)
        .iter()
        .map(|e| {
            let f: std::collections::HashMap<_, _> = e.fields().into_iter().collect();
            [
                "SequenceNumber",
                "EventName",
                "EventTimestamp",
                "MPCStartTime",
                "MPCEndTime",
                "MPCTerminationCause",
                "MemberID",
                "ParticipantRole",
                "ParticipantCoachMode",
                "ParticipantExitCause",
            ]
            .iter()
            .map(|k| f.get(k).cloned().unwrap_or_else(|| "-".into()))
            .collect()
        })
        .collect();
    let row = |cells: [&str; 10]| -> Vec<String> { cells.iter().map(|c| c.to_string()).collect() };
    let (t0, t2, t40, t55, t300) = (ts(0), ts(2), ts(40), ts(55), ts(300));
    let (c, a, s) = (c.to_string(), a.to_string(), s.to_string());
    let ended = "Participant With endMpcOnExit Exited";
    let expected = vec![
        row(["1", "MPCInitialized", &t0, "", "", "", "-", "-", "-", "-"]),
        row([
            "2",
            "ParticipantJoin",
            &t2,
            "",
            "",
            "",
            &c,
            "Customer",
            "false",
            "",
        ]),
        row([
            "3",
            "ParticipantJoin",
            &t40,
            "",
            "",
            "",
            &a,
            "Agent",
            "false",
            "",
        ]),
        row(["4", "MPCStart", &t40, &t40, "", "", "-", "-", "-", "-"]),
        row([
            "5",
            "ParticipantJoin",
            &t55,
            &t40,
            "",
            "",
            &s,
            "Supervisor",
            "true",
            "",
        ]),
        row([
            "6",
            "ParticipantExit",
            &t300,
            &t40,
            "",
            "",
            &c,
            "Customer",
            "false",
            "Participant Call Hangup",
        ]),
        row([
            "7",
            "ParticipantExit",
            &t300,
            &t40,
            "",
            "",
            &a,
            "Agent",
            "false",
            "Multiparty Call Ended",
        ]),
        row([
            "8",
            "ParticipantExit",
            &t300,
            &t40,
            "",
            "",
            &s,
            "Supervisor",
            "true",
            "Multiparty Call Ended",
        ]),
        row(["9", "MPCEnd", &t300, &t40, &t300, ended, "-", "-", "-", "-"]),
    ];
    assert_eq!(rows, expected);
    // The customer's call is gone; the agent and supervisor go on.
    assert_eq!(
        released(&out),
        [
            (a.parse().unwrap(), Then::NextElement),
            (s.parse().unwrap(), Then::NextElement)
        ]
    );
}

/// What the API shows: the MPC and its present members with the mixer's
/// mute, hold and coach mode as they are now.
#[test]
fn state_shows_present_members_as_they_are_now() {
    let agent = spec(Role::Agent);
    let mut m = mpc(&agent);
    let (a, _) = join(&mut m, 1, 1, &agent);
    let (b, _) = join(&mut m, 2, 2, &spec(Role::Supervisor));
    m.handle(
        at(3),
        Input::Update {
            member: a,
            mute: Some(true),
            hold: None,
            coach_mode: None,
        },
    );
    m.handle(
        at(4),
        Input::Update {
            member: b,
            mute: None,
            hold: Some(true),
            coach_mode: Some(false),
        },
    );
    drain(&mut m);
    let state = m.state();
    assert_eq!(state.mpc.uuid, "mpc-uuid");
    assert_eq!(state.mpc.started, Some(at(1)));
    let seen: Vec<_> = state
        .members
        .iter()
        .map(|s| {
            (
                s.fields.member_id,
                s.fields.call_uuid.as_str(),
                s.muted,
                s.held,
                s.fields.coach_mode,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (a, "call-1", true, false, false),
            (b, "call-2", false, true, false)
        ]
    );
    leave(&mut m, 5, a, ExitCause::Kicked);
    assert!(m.state().members.iter().all(|s| s.fields.member_id != a));
}

/// The API's recording requests: each one that changes something gives its
/// command, the rest (pausing a paused recording, stopping none) nothing;
/// ending the MPC stops a paused recording too.
#[test]
fn the_api_starts_pauses_resumes_and_stops_the_recording() {
    use chorus_xml::RecordFileFormat;
    let agent = spec(Role::Agent);
    let mut m = mpc(&agent);
    join(&mut m, 1, 1, &agent);
    let record = |m: &mut Mpc, command| {
        m.handle(at(2), Input::Record(command));
        drain(m)
            .into_iter()
            .filter_map(|o| match o {
                Output::Record(c) => Some(c),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(record(&mut m, RecordCommand::Pause), [], "nothing to pause");
    let wav = RecordCommand::Start {
        format: RecordFileFormat::Wav,
    };
    assert_eq!(record(&mut m, wav), [wav]);
    assert_eq!(record(&mut m, wav), [], "already recording");
    assert_eq!(record(&mut m, RecordCommand::Pause), [RecordCommand::Pause]);
    assert!(m.state().recording_paused);
    assert_eq!(record(&mut m, RecordCommand::Pause), []);
    assert_eq!(
        record(&mut m, RecordCommand::Resume),
        [RecordCommand::Resume]
    );
    assert_eq!(record(&mut m, RecordCommand::Resume), []);
    assert_eq!(record(&mut m, RecordCommand::Stop), [RecordCommand::Stop]);
    assert_eq!(record(&mut m, RecordCommand::Stop), []);
    assert_eq!(record(&mut m, wav), [wav]);
    record(&mut m, RecordCommand::Pause);
    m.handle(at(3), Input::End);
    assert!(drain(&mut m).contains(&Output::Record(RecordCommand::Stop)));
    let state = m.state();
    assert!(!state.recording && !state.recording_paused);
}
