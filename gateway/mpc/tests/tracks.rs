//! Participant track recording rules, driven through the engine with
//! simulated time: what the API may do to a member's tracks, and when
//! `recordParticipantTrack` starts them and a member's leaving stops them.

mod common;

use chorus_mpc::{ExitCause, Input, Mpc, Output, RecordCommand, Track, TrackStates};
use chorus_xml::{MultiPartyCall, RecordFileFormat, Role};
use common::{T0, drain, join};

const WAV: RecordCommand = RecordCommand::Start {
    format: RecordFileFormat::Wav,
};

fn spec(attrs: impl FnOnce(&mut MultiPartyCall)) -> MultiPartyCall {
    let mut spec = MultiPartyCall::for_room("support", Role::Agent);
    spec.stay_alone = true;
    attrs(&mut spec);
    spec
}

/// The track outputs among `out`.
fn tracks(out: &[Output]) -> Vec<(u32, Track, RecordCommand)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Track {
                member,
                track,
                command,
            } => Some((*member, *track, *command)),
            _ => None,
        })
        .collect()
}

fn states(m: &Mpc, member: u32) -> TrackStates {
    m.state()
        .members
        .iter()
        .find(|s| s.fields.member_id == member)
        .expect("present")
        .tracks
}

fn api(m: &mut Mpc, member: u32, track: Track, command: RecordCommand) -> Vec<Output> {
    m.handle(
        T0.plus_secs(60),
        Input::Track {
            member,
            track,
            command,
        },
    );
    drain(m)
}

#[test]
fn the_api_drives_each_track_and_requests_that_do_not_fit_change_nothing() {
    let creator = spec(|_| {});
    let mut m = Mpc::new(T0, "mpc".into(), &creator);
    let (alice, _) = join(&mut m, 1, 1, &creator);
    let (bob, _) = join(&mut m, 2, 2, &creator);
    assert_eq!(
        tracks(&api(&mut m, alice, Track::Outbound, WAV)),
        [(alice, Track::Outbound, WAV)]
    );
    assert_eq!(states(&m, alice).get(Track::Outbound), Some(false));
    assert_eq!(states(&m, bob), TrackStates::default(), "bob untouched");
    assert!(api(&mut m, alice, Track::Outbound, WAV).is_empty());
    assert!(api(&mut m, alice, Track::Inbound, RecordCommand::Pause).is_empty());
    assert!(
        api(&mut m, 99, Track::Inbound, WAV).is_empty(),
        "no member 99"
    );
    let pause = api(&mut m, alice, Track::Outbound, RecordCommand::Pause);
    assert_eq!(
        tracks(&pause),
        [(alice, Track::Outbound, RecordCommand::Pause)]
    );
    assert_eq!(states(&m, alice).get(Track::Outbound), Some(true));
    assert!(!m.state().recording, "the MPC recording is another thing");
}

#[test]
fn a_leaving_member_and_the_mpc_ending_stop_its_tracks() {
    let creator = spec(|_| {});
    let mut m = Mpc::new(T0, "mpc".into(), &creator);
    let (alice, _) = join(&mut m, 1, 1, &creator);
    let (bob, _) = join(&mut m, 2, 2, &creator);
    for track in Track::BOTH {
        api(&mut m, alice, track, WAV);
    }
    api(&mut m, bob, Track::Inbound, WAV);
    m.handle(
        T0.plus_secs(70),
        Input::Leave {
            member: alice,
            cause: ExitCause::Hangup,
        },
    );
    let out = drain(&mut m);
    assert_eq!(
        tracks(&out),
        [
            (alice, Track::Inbound, RecordCommand::Stop),
            (alice, Track::Outbound, RecordCommand::Stop)
        ]
    );
    m.handle(T0.plus_secs(80), Input::End);
    assert_eq!(
        tracks(&drain(&mut m)),
        [(bob, Track::Inbound, RecordCommand::Stop)]
    );
}

#[test]
fn record_participant_track_starts_with_the_mpc_recording_and_on_a_later_join() {
    let plain = spec(|s| s.record_file_format = RecordFileFormat::Wav);
    let tracked = spec(|s| {
        s.record_participant_track = true;
        s.record_file_format = RecordFileFormat::Mp3;
    });
    let mut m = Mpc::new(T0, "mpc".into(), &plain);
    let (alice, out) = join(&mut m, 1, 1, &tracked);
    assert!(tracks(&out).is_empty(), "the MPC is not recorded yet");
    let (_bob, _) = join(&mut m, 2, 2, &plain);
    m.handle(T0.plus_secs(5), Input::Record(WAV));
    let out = drain(&mut m);
    // The MPC's format, inbound only, for the member that asked only.
    assert_eq!(tracks(&out), [(alice, Track::Inbound, WAV)]);
    let record_at = out
        .iter()
        .position(|o| matches!(o, Output::Record(_)))
        .unwrap();
    let track_at = out
        .iter()
        .position(|o| matches!(o, Output::Track { .. }))
        .unwrap();
    assert!(record_at < track_at, "the MPC recording first");
    let (carol, out) = join(&mut m, 3, 3, &tracked);
    assert_eq!(tracks(&out), [(carol, Track::Inbound, WAV)]);
    // Pausing and stopping the MPC recording leave the tracks alone.
    m.handle(T0.plus_secs(9), Input::Record(RecordCommand::Stop));
    assert!(tracks(&drain(&mut m)).is_empty());
    assert_eq!(states(&m, carol).get(Track::Inbound), Some(false));
}

#[test]
fn a_join_that_starts_the_mpc_recording_starts_its_own_track_too() {
    let tracked = spec(|s| {
        s.record = true;
        s.record_participant_track = true;
    });
    let mut m = Mpc::new(T0, "mpc".into(), &tracked);
    let (alice, out) = join(&mut m, 1, 1, &tracked);
    let start = RecordCommand::Start {
        format: RecordFileFormat::Mp3,
    };
    assert!(out.contains(&Output::Record(start)));
    assert_eq!(tracks(&out), [(alice, Track::Inbound, start)]);
}
