//! The O(N) mix against the naive O(N²) reference, over random rooms, for
//! every kernel set this CPU runs; and random join/leave/update sequences.

use chorus_mixer::reference::{NaiveMixer, ReferenceTick};
use chorus_mixer::{
    ChannelId, HoldMusic, Kernels, Participant, Role, Room, RoomCommand, RoomConfig,
};
use proptest::collection::vec;
use proptest::option::weighted;
use proptest::prelude::*;

fn participant() -> impl Strategy<Value = Participant> {
    let role = prop_oneof![
        Just(Role::Agent),
        Just(Role::Supervisor),
        Just(Role::Customer)
    ];
    (
        role,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(role, muted, held, coach, plain)| {
            // Half the participants keep defaults so rooms are mostly live.
            if plain {
                Participant {
                    coach,
                    ..Participant::new(role)
                }
            } else {
                Participant {
                    role,
                    muted,
                    held,
                    coach,
                }
            }
        })
}

fn frame_of(len: usize, amplitude: i16) -> impl Strategy<Value = Vec<i16>> {
    vec(-amplitude..=amplitude, len)
}

/// One tick of a room of `n` participants with frames of `len` samples.
fn tick(n: usize, len: usize) -> impl Strategy<Value = ReferenceTick> {
    // Quiet rooms test exactness; full-scale rooms test saturation.
    prop_oneof![Just(300i16), Just(4000), Just(i16::MAX)].prop_flat_map(move |amp| {
        let stream = move |p| weighted(p, frame_of(len, amp));
        (
            any::<bool>(),
            vec(participant(), n),
            vec(stream(0.8), n),
            vec(stream(0.15), n),
            (stream(0.3), stream(0.5), stream(0.5), stream(0.5)),
        )
            .prop_map(
                |(started, participants, voices, privates, feeds)| ReferenceTick {
                    started,
                    participants,
                    voices,
                    privates,
                    bridge: feeds.0,
                    wait_music: feeds.1,
                    agent_hold_music: feeds.2,
                    customer_hold_music: feeds.3,
                },
            )
    })
}

/// Consecutive ticks of the same participants, and where vacated slots sit
/// among them. The room re-plans a tick only when states, written inputs or
/// written feeds changed, so the ticks after the first cover each path: the
/// second keeps the first one's states half the time (only what is written
/// changes); the third repeats it exactly (the plan is reused); the fourth
/// writes the same but goes back to the first one's states; the fifth also
/// takes the first one's feeds.
#[derive(Debug, Clone)]
struct Case {
    frame: usize,
    ghosts: Vec<bool>,
    ticks: [ReferenceTick; 5],
}

fn case() -> impl Strategy<Value = Case> {
    (0usize..=64, prop_oneof![1usize..=40, Just(160)]).prop_flat_map(|(n, frame)| {
        (
            vec(any::<bool>(), n),
            tick(n, frame),
            tick(n, frame),
            any::<bool>(),
        )
            .prop_map(move |(ghosts, a, mut b, same_states)| {
                if same_states {
                    b.started = a.started;
                    b.participants = a.participants.clone();
                }
                let mut states_back = b.clone();
                states_back.started = a.started;
                states_back.participants = a.participants.clone();
                let mut feeds_back = states_back.clone();
                feeds_back.bridge = a.bridge.clone();
                feeds_back.wait_music = a.wait_music.clone();
                feeds_back.agent_hold_music = a.agent_hold_music.clone();
                feeds_back.customer_hold_music = a.customer_hold_music.clone();
                Case {
                    frame,
                    ghosts,
                    ticks: [a, b.clone(), b, states_back, feeds_back],
                }
            })
    })
}

fn fill(buffer: &mut [i16], samples: &[i16]) {
    buffer.copy_from_slice(samples);
}

fn check(case: &Case, kernels: Kernels) -> Result<(), TestCaseError> {
    let n = case.ghosts.len();
    let ghost_count = case.ghosts.iter().filter(|g| **g).count();
    let config = RoomConfig {
        frame_samples: case.frame,
        capacity: n + ghost_count,
    };
    let mut room = Room::with_kernels(config, kernels);
    let mut ids = Vec::new();
    let mut ghosts = Vec::new();
    for (k, ghost) in case.ghosts.iter().enumerate() {
        if *ghost {
            let g = room.join(Participant::new(Role::Agent)).unwrap();
            room.input_mut(g).fill(i16::MAX);
            ghosts.push(g);
        }
        ids.push(room.join(case.ticks[0].participants[k]).unwrap());
    }
    for g in ghosts {
        prop_assert!(room.leave(g));
    }
    prop_assert_eq!(room.len(), n);

    let mut naive = NaiveMixer::new(case.frame);
    let mut expected = vec![vec![0i16; case.frame]; n];
    let mut expected_recording = vec![0i16; case.frame];
    for tick in &case.ticks {
        // Commands only for real changes, as the gateway sends them.
        if room.started() != tick.started {
            room.apply(if tick.started {
                RoomCommand::Start
            } else {
                RoomCommand::Stop
            });
        }
        for (k, id) in ids.iter().enumerate() {
            if room.participant(*id) != Some(tick.participants[k]) {
                room.apply(RoomCommand::Update(*id, tick.participants[k]));
            }
            if let Some(v) = &tick.voices[k] {
                fill(room.input_mut(*id), v);
            }
            if let Some(v) = &tick.privates[k] {
                fill(room.private_mut(*id), v);
            }
        }
        if let Some(v) = &tick.bridge {
            fill(room.bridge_mut(), v);
        }
        if let Some(v) = &tick.wait_music {
            fill(room.wait_music_mut(), v);
        }
        if let Some(v) = &tick.agent_hold_music {
            fill(room.hold_music_mut(HoldMusic::Agent), v);
        }
        if let Some(v) = &tick.customer_hold_music {
            fill(room.hold_music_mut(HoldMusic::Customer), v);
        }
        room.mix();

        naive.mix(tick, &tick.hearing(), &mut expected);
        naive.recording(tick, &mut expected_recording);
        for (k, id) in ids.iter().enumerate() {
            prop_assert_eq!(
                room.output(*id),
                &expected[k][..],
                "listener {} ({})",
                k,
                kernels.name()
            );
            let own = tick.voices[k]
                .clone()
                .unwrap_or_else(|| vec![0; case.frame]);
            prop_assert_eq!(room.track(*id), &own[..]);
        }
        prop_assert_eq!(room.recording_mix(), &expected_recording[..]);
        for a in &ids {
            for b in &ids {
                if room.output_group(*a) == room.output_group(*b) {
                    prop_assert_eq!(room.output(*a), room.output(*b));
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn fast_mix_equals_naive_reference_for_every_kernel_set(case in case()) {
        for kernels in Kernels::available() {
            check(&case, kernels)?;
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Join(Participant),
    Leave(usize),
    Update(usize, Participant),
    Start,
    Stop,
    Talk(usize, i16),
    Private(usize),
    Mix,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => participant().prop_map(Op::Join),
        2 => (0usize..16).prop_map(Op::Leave),
        2 => (0usize..16, participant()).prop_map(|(i, p)| Op::Update(i, p)),
        1 => Just(Op::Start),
        1 => Just(Op::Stop),
        3 => (0usize..16, any::<i16>()).prop_map(|(i, x)| Op::Talk(i, x)),
        1 => (0usize..16).prop_map(Op::Private),
        2 => Just(Op::Mix),
    ]
}

proptest! {
    #[test]
    fn random_join_leave_update_sequences_keep_the_room_consistent(
        capacity in 0usize..12,
        ops in vec(op(), 0..200),
    ) {
        let mut room = Room::new(RoomConfig { frame_samples: 8, capacity });
        let mut model: Vec<Option<Participant>> = vec![None; capacity];
        let mut issued: Vec<ChannelId> = Vec::new();
        for op in ops {
            // Ids the test has seen, including stale ones of left members.
            let pick = |i: usize| issued.get(i % issued.len().max(1)).copied();
            match op {
                Op::Join(p) => match room.join(p) {
                    Ok(id) => {
                        prop_assert!(model[id.index()].is_none());
                        model[id.index()] = Some(p);
                        issued.push(id);
                    }
                    Err(_) => prop_assert!(model.iter().all(Option::is_some)),
                },
                Op::Leave(i) => if let Some(id) = pick(i) {
                    prop_assert_eq!(room.leave(id), model[id.index()].take().is_some());
                },
                Op::Update(i, p) => if let Some(id) = pick(i) {
                    room.update(id, p);
                    if let Some(slot) = &mut model[id.index()] {
                        *slot = p;
                    }
                },
                Op::Start => room.apply(RoomCommand::Start),
                Op::Stop => room.apply(RoomCommand::Stop),
                Op::Talk(i, x) => if let Some(id) = pick(i) {
                    room.input_mut(id).fill(x);
                },
                Op::Private(i) => if let Some(id) = pick(i) {
                    room.private_mut(id).fill(1);
                },
                Op::Mix => {
                    room.mix();
                    for id in &issued {
                        prop_assert_eq!(room.output(*id).len(), 8);
                        prop_assert_eq!(room.track(*id).len(), 8);
                    }
                    prop_assert_eq!(room.recording_mix().len(), 8);
                }
            }
            prop_assert_eq!(room.len(), model.iter().flatten().count());
            prop_assert_eq!(room.is_empty(), model.iter().all(Option::is_none));
            for id in &issued {
                prop_assert_eq!(room.participant(*id), model[id.index()]);
            }
        }
    }
}
