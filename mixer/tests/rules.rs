//! The hearing rule of the notes, row by row, through the public Room API.

use chorus_mixer::{
    ChannelId, HoldMusic, Kernels, Participant, Role, Room, RoomCommand, RoomConfig, RoomFull,
};

const FRAME: usize = 4;

fn room(capacity: usize) -> Room {
    Room::new(RoomConfig {
        frame_samples: FRAME,
        capacity,
    })
}

fn at(room: &Room, id: ChannelId) -> i16 {
    room.output(id)[0]
}

/// Agent talks 1, customer 10, coaching supervisor 100, plus a silent agent.
fn call_with_coach() -> (Room, [ChannelId; 4]) {
    let mut r = room(10);
    let agent = r.join(Participant::new(Role::Agent)).unwrap();
    let customer = r.join(Participant::new(Role::Customer)).unwrap();
    let coach = r.join(Participant::new(Role::Supervisor)).unwrap();
    let quiet = r.join(Participant::new(Role::Agent)).unwrap();
    r.apply(RoomCommand::Start);
    (r, [agent, customer, coach, quiet])
}

fn talk(r: &mut Room, ids: &[ChannelId; 4]) {
    r.input_mut(ids[0]).fill(1);
    r.input_mut(ids[1]).fill(10);
    r.input_mut(ids[2]).fill(100);
}

#[test]
fn coaching_supervisor_heard_by_agents_and_supervisors_not_customers() {
    let (mut r, ids @ [agent, customer, coach, quiet]) = call_with_coach();
    let second = r.join(Participant::new(Role::Supervisor)).unwrap();
    talk(&mut r, &ids);
    r.mix();
    assert_eq!(at(&r, agent), 110);
    assert_eq!(at(&r, customer), 1);
    assert_eq!(at(&r, coach), 11);
    assert_eq!(at(&r, quiet), 111);
    assert_eq!(at(&r, second), 111);
    assert_eq!(r.output_group(quiet), r.output_group(second));
    assert!(r.output_group(quiet).is_shared());
    assert!(!r.output_group(agent).is_shared());
}

#[test]
fn supervisor_with_coach_off_is_heard_by_all() {
    let (mut r, ids @ [_, customer, coach, quiet]) = call_with_coach();
    let silent_customer = r.join(Participant::new(Role::Customer)).unwrap();
    r.update(
        coach,
        Participant {
            coach: false,
            ..Participant::new(Role::Supervisor)
        },
    );
    talk(&mut r, &ids);
    r.mix();
    assert_eq!(at(&r, customer), 101);
    assert_eq!(at(&r, silent_customer), 111);
    // Without a coach talking, customers share the everyone mix.
    assert_eq!(r.output_group(silent_customer), r.output_group(quiet));
}

#[test]
fn customers_get_their_own_group_only_while_a_coach_talks() {
    let (mut r, ids @ [_, _, _, quiet]) = call_with_coach();
    let silent_customer = r.join(Participant::new(Role::Customer)).unwrap();
    talk(&mut r, &ids);
    r.mix();
    assert_ne!(r.output_group(silent_customer), r.output_group(quiet));
    assert_eq!(at(&r, silent_customer), 11);
    r.input_mut(ids[0]).fill(1);
    r.mix();
    assert_eq!(r.output_group(silent_customer), r.output_group(quiet));
}

#[test]
fn muted_and_held_speakers_are_heard_by_nobody() {
    let (mut r, ids @ [agent, customer, coach, quiet]) = call_with_coach();
    r.update(
        customer,
        Participant {
            muted: true,
            ..Participant::new(Role::Customer)
        },
    );
    r.update(
        coach,
        Participant {
            held: true,
            ..Participant::new(Role::Supervisor)
        },
    );
    talk(&mut r, &ids);
    r.mix();
    assert_eq!(at(&r, agent), 0);
    assert_eq!(at(&r, quiet), 1);
    // A muted listener still hears the room, and its own voice is not removed.
    assert_eq!(at(&r, customer), 1);
    assert_eq!(r.output_group(customer), r.output_group(quiet));
    assert_eq!(r.recording_mix()[0], 1);
    // The per-participant track is the raw voice, whatever the state.
    assert_eq!(r.track(customer)[0], 10);
}

#[test]
fn held_listener_hears_only_the_hold_music_of_its_role() {
    let (mut r, ids @ [agent, customer, coach, _]) = call_with_coach();
    for id in [agent, customer, coach] {
        let p = r.participant(id).unwrap();
        r.apply(RoomCommand::Update(id, Participant { held: true, ..p }));
    }
    talk(&mut r, &ids);
    r.hold_music_mut(HoldMusic::Agent).fill(-5);
    r.hold_music_mut(HoldMusic::Customer).fill(-7);
    r.bridge_mut().fill(1000);
    r.wait_music_mut().fill(3);
    r.mix();
    assert_eq!(at(&r, agent), -5);
    assert_eq!(at(&r, coach), -5);
    assert_eq!(at(&r, customer), -7);
    assert_eq!(r.output_group(agent), r.output_group(coach));
    assert_ne!(r.output_group(agent), r.output_group(customer));
    // Hold music not written this tick is silence.
    r.mix();
    assert_eq!(r.output(agent), &[0; FRAME]);
}

#[test]
fn waiting_room_hears_only_wait_music_and_records_silence() {
    let (mut r, ids @ [agent, customer, coach, quiet]) = call_with_coach();
    r.apply(RoomCommand::Stop);
    r.update(
        agent,
        Participant {
            held: true,
            ..Participant::new(Role::Agent)
        },
    );
    talk(&mut r, &ids);
    r.bridge_mut().fill(1000);
    r.hold_music_mut(HoldMusic::Agent).fill(-5);
    r.wait_music_mut().fill(3);
    r.mix();
    for id in [agent, customer, coach, quiet] {
        assert_eq!(at(&r, id), 3);
        assert_eq!(r.output_group(id), r.output_group(agent));
    }
    assert_eq!(r.recording_mix(), &[0; FRAME]);
}

#[test]
fn bridge_is_heard_by_started_unheld_listeners_and_recorded() {
    let (mut r, [agent, customer, coach, quiet]) = call_with_coach();
    r.update(
        quiet,
        Participant {
            held: true,
            ..Participant::new(Role::Agent)
        },
    );
    r.bridge_mut().fill(1000);
    r.mix();
    for id in [agent, customer, coach] {
        assert_eq!(at(&r, id), 1000);
    }
    assert_eq!(at(&r, quiet), 0);
    assert_eq!(r.recording_mix()[0], 1000);
}

#[test]
fn private_audio_reaches_only_its_member() {
    let (mut r, ids @ [agent, customer, coach, quiet]) = call_with_coach();
    talk(&mut r, &ids);
    r.private_mut(quiet).fill(5000);
    r.private_mut(agent).fill(7);
    r.mix();
    assert_eq!(at(&r, quiet), 5111);
    assert_eq!(at(&r, agent), 117);
    assert_eq!(at(&r, customer), 1);
    assert_eq!(at(&r, coach), 11);
    assert!(!r.output_group(quiet).is_shared());
    assert_eq!(r.recording_mix()[0], 111);
    // Also on hold and before the start.
    r.update(
        quiet,
        Participant {
            held: true,
            ..Participant::new(Role::Agent)
        },
    );
    r.private_mut(quiet).fill(9);
    r.hold_music_mut(HoldMusic::Agent).fill(1);
    r.mix();
    assert_eq!(at(&r, quiet), 10);
    r.set_started(false);
    r.private_mut(quiet).fill(9);
    r.mix();
    assert_eq!(at(&r, quiet), 9);
    assert_eq!(at(&r, agent), 0);
}

#[test]
fn recording_holds_coaching_supervisors_and_tracks_hold_own_voice() {
    let (mut r, ids @ [agent, customer, coach, quiet]) = call_with_coach();
    talk(&mut r, &ids);
    r.mix();
    assert_eq!(r.recording_mix()[0], 111);
    assert_eq!(r.track(agent), &[1; FRAME]);
    assert_eq!(r.track(customer), &[10; FRAME]);
    assert_eq!(r.track(coach), &[100; FRAME]);
    assert_eq!(r.track(quiet), &[0; FRAME]);
}

#[test]
fn unwritten_inputs_are_silence_next_tick() {
    let (mut r, ids @ [agent, _, _, quiet]) = call_with_coach();
    talk(&mut r, &ids);
    r.mix();
    assert_eq!(at(&r, quiet), 111);
    r.input_mut(agent).fill(2);
    r.set_silent(agent);
    r.mix();
    assert_eq!(r.output(quiet), &[0; FRAME]);
    assert_eq!(r.track(agent), &[0; FRAME]);
}

#[test]
fn loud_room_saturates_instead_of_wrapping() {
    for kernels in Kernels::available() {
        let mut r = Room::with_kernels(
            RoomConfig {
                frame_samples: 33,
                capacity: 11,
            },
            kernels,
        );
        r.set_started(true);
        let ids: Vec<_> = (0..10)
            .map(|_| r.join(Participant::new(Role::Agent)).unwrap())
            .collect();
        let listener = r.join(Participant::new(Role::Customer)).unwrap();
        for level in [30_000i16, -30_000] {
            for id in &ids {
                r.input_mut(*id).fill(level);
            }
            r.mix();
            let pinned = if level > 0 { i16::MAX } else { i16::MIN };
            assert!(
                r.output(listener).iter().all(|s| *s == pinned),
                "{}",
                kernels.name()
            );
            assert!(
                r.output(ids[3]).iter().all(|s| *s == pinned),
                "{}",
                kernels.name()
            );
            assert!(r.recording_mix().iter().all(|s| *s == pinned));
        }
    }
}

#[test]
fn join_leave_reuse_slots_without_growing() {
    let mut r = room(2);
    assert!(r.is_empty());
    let a = r.join(Participant::new(Role::Agent)).unwrap();
    let b = r.join(Participant::new(Role::Customer)).unwrap();
    assert_eq!(r.join(Participant::new(Role::Agent)), Err(RoomFull));
    assert_eq!(RoomFull.to_string(), "room is full");
    assert!(r.leave(a));
    assert!(!r.leave(a));
    assert_eq!(r.participant(a), None);
    assert_eq!(r.len(), 1);
    r.update(a, Participant::new(Role::Supervisor)); // ignored: not in the room
    assert_eq!(r.participant(a), None);
    let c = r.join(Participant::new(Role::Agent)).unwrap();
    assert_eq!(c, a);
    assert_eq!(c.index(), 0);
    assert_eq!(r.participant(b), Some(Participant::new(Role::Customer)));
    assert_eq!((r.len(), r.capacity(), r.frame_samples()), (2, 2, FRAME));
    // A left participant's output is silence after the next mix.
    r.set_started(true);
    r.input_mut(c).fill(4);
    r.mix();
    assert_eq!(at(&r, b), 4);
    r.leave(b);
    r.mix();
    assert_eq!(r.output(b), &[0; FRAME]);
}

/// The room re-plans only when something changed; a member who joins or
/// leaves while nobody's inputs change is such a change.
#[test]
fn silent_member_who_joins_or_leaves_mid_call_is_planned_at_once() {
    let (mut r, ids @ [agent, customer, coach, quiet]) = call_with_coach();
    for _ in 0..3 {
        talk(&mut r, &ids);
        r.mix();
    }
    let late = r.join(Participant::new(Role::Agent)).unwrap();
    talk(&mut r, &ids);
    r.mix();
    assert_eq!(at(&r, late), 111, "a silent newcomer hears the room");
    assert!(r.leave(quiet));
    let replaced = r.join(Participant::new(Role::Customer)).unwrap();
    assert_eq!(replaced, quiet, "the slot is reused");
    talk(&mut r, &ids);
    r.mix();
    assert_eq!(
        at(&r, replaced),
        11,
        "the new customer does not hear the coach"
    );
    assert_eq!(
        [at(&r, agent), at(&r, customer), at(&r, coach)],
        [110, 1, 11]
    );
    assert!(r.leave(late));
    talk(&mut r, &ids);
    r.mix();
    assert_eq!(at(&r, late), 0, "a member who left hears nothing");
}
