//! A tick never allocates: 10,000 ticks of a 10-party room, with state
//! changes flowing through an SPSC ring between ticks as in the gateway's
//! media worker, under a global allocator that counts every allocation.
//!
//! Only allocations on the thread under test count: libtest's own threads
//! may allocate at any moment (a rare failure of an earlier, global count).
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use chorus_mixer::{HoldMusic, Participant, Role, Room, RoomCommand, RoomConfig};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Const-initialised, so reading it never allocates (no recursion).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees carry over; the counter is an atomic
// and a const thread-local, neither of which allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` was allocated by this allocator, i.e. by `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, i.e. by `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const TICKS: usize = 10_000;
const PARTIES: usize = 10;

/// A cheap deterministic generator: no allocation, no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

#[test]
fn ten_thousand_ticks_with_state_changes_allocate_nothing() {
    let roles = [Role::Agent, Role::Customer, Role::Supervisor];
    let mut room = Room::new(RoomConfig {
        frame_samples: 160,
        capacity: PARTIES,
    });
    let mut ids: Vec<_> = (0..PARTIES)
        .map(|k| room.join(Participant::new(roles[k % 3])).unwrap())
        .collect();
    let (mut control, mut media) = rtrb::RingBuffer::<RoomCommand>::new(64);
    let mut rng = Lcg(7);
    let mut checksum = 0i64;
    let mut groups = [None; PARTIES];

    COUNTING.with(|c| c.set(true));
    for tick in 0..TICKS {
        // Control side: a few state changes per tick.
        for _ in 0..(rng.next() % 4) {
            let k = rng.next() as usize % PARTIES;
            let mut p = room
                .participant(ids[k])
                .unwrap_or(Participant::new(Role::Agent));
            let command = match rng.next() % 7 {
                0 => RoomCommand::Update(
                    ids[k],
                    Participant {
                        muted: !p.muted,
                        ..p
                    },
                ),
                1 => RoomCommand::Update(ids[k], Participant { held: !p.held, ..p }),
                2 => RoomCommand::Update(
                    ids[k],
                    Participant {
                        coach: !p.coach,
                        ..p
                    },
                ),
                3 => {
                    p.role = roles[rng.next() as usize % 3];
                    RoomCommand::Update(ids[k], p)
                }
                4 => RoomCommand::Start,
                5 => RoomCommand::Stop,
                _ => RoomCommand::Start,
            };
            control.push(command).unwrap();
        }
        // Media side, at the tick boundary: drain and apply.
        while let Ok(command) = media.pop() {
            room.apply(command);
        }
        if tick.is_multiple_of(97) {
            let k = rng.next() as usize % PARTIES;
            let p = room.participant(ids[k]).unwrap();
            assert!(room.leave(ids[k]));
            ids[k] = room.join(p).unwrap();
        }
        for (k, id) in ids.iter().enumerate() {
            if !rng.next().is_multiple_of(3) {
                let level = (rng.next() % 4000) as i16 - 2000;
                room.input_mut(*id).fill(level + k as i16);
            } else {
                room.set_silent(*id);
            }
        }
        if tick.is_multiple_of(5) {
            room.bridge_mut().fill(300);
            room.private_mut(ids[tick % PARTIES]).fill(-100);
        }
        room.wait_music_mut().fill(11);
        room.hold_music_mut(HoldMusic::Agent).fill(22);
        room.hold_music_mut(HoldMusic::Customer).fill(33);

        room.mix();

        for (k, id) in ids.iter().enumerate() {
            checksum += i64::from(room.output(*id)[tick % 160]);
            checksum += i64::from(room.track(*id)[0]);
            groups[k] = Some(room.output_group(*id));
        }
        checksum += i64::from(room.recording_mix()[0]);
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.load(Ordering::SeqCst);

    assert!(groups.iter().all(Option::is_some));
    assert_ne!(checksum, 0, "the loop did real work");
    assert_eq!(allocations, 0, "allocations during {TICKS} ticks");
}
