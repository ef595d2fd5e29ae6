//! An MPC's task from creation to its end, in virtual time: its
//! `maxDuration` deadline runs on the monotonic clock (a wall clock stepped
//! back an hour does not delay it), and an ended MPC leaves no task, timer
//! or registry entry behind. Real media workers and a real leg on a
//! loopback socket; tokio's clock is paused and advanced by the test.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chorus_config::RecordingConfig;
use chorus_gateway::media::{Leg, LegEvent, MediaPlane, RoomSettings};
use chorus_gateway::metrics::Metrics;
use chorus_gateway::mpc::{Membership, MpcRegistry, MpcServices};
use chorus_gateway::player::Player;
use chorus_media::sdp::{self, LocalMedia, SessionDescription};
use chorus_mpc::{CallInfo, ExitCause, Then, Timestamp};
use chorus_xml::{MultiPartyCall, Role};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// 2020-07-09 07:25:07 UTC.
const T0: Timestamp = Timestamp(1_594_279_507_000);

static STEPPED: AtomicBool = AtomicBool::new(false);

/// A wall clock that reads T0 once, then an hour earlier for ever after
/// (an NTP step back right after the MPC was created).
fn stepping_wall_clock() -> Timestamp {
    if STEPPED.swap(true, Ordering::SeqCst) {
        Timestamp(T0.0 - 3_600_000)
    } else {
        T0
    }
}

/// One media worker; its RTP port range is never used (the test binds its
/// own leg sockets) but is free all the same.
fn plane() -> Arc<MediaPlane> {
    let (min, max) = chorus_tests::ports::udp_range(2);
    MediaPlane::start(1, RoomSettings::default(), LOCALHOST, min, max).unwrap()
}

fn registry(media: &Arc<MediaPlane>) -> MpcRegistry {
    let http = chorus_gateway::fetch::http_client("chorus-test").unwrap();
    MpcRegistry::new(MpcServices {
        media: media.clone(),
        player: Player::new(http.clone(), 8000, "espeak-ng".into()),
        http,
        metrics: Arc::new(Metrics::default()),
        recording: RecordingConfig::default(),
        wall_clock: stepping_wall_clock,
        events: chorus_gateway::mpc::EventBus::default(),
    })
}

/// A leg on a loopback socket, negotiated from a minimal PCMU offer by a
/// peer on `peer` (which nobody reads: the leg's RTP just lands there).
fn leg(peer: &UdpSocket) -> Box<Leg> {
    let socket = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    socket.set_nonblocking(true).unwrap();
    let offer = SessionDescription::parse(&format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
        peer.local_addr().unwrap().port()
    ))
    .unwrap();
    let local = LocalMedia {
        address: LOCALHOST,
        port: socket.local_addr().unwrap().port(),
        session_id: 1,
        session_version: 1,
    };
    let (negotiated, _) = sdp::answer(&offer, &local).unwrap();
    Box::new(Leg::new(socket, &negotiated, 7, 1))
}

async fn join(
    mpcs: &MpcRegistry,
    media: &MediaPlane,
    spec: &MultiPartyCall,
    peer: &UdpSocket,
) -> Membership {
    let call = CallInfo {
        call_uuid: "call-1".into(),
        from: "alice".into(),
        to: spec.name.clone(),
        inbound: true,
    };
    mpcs.join(spec, call, media.next_leg_id(), leg(peer))
        .await
        .expect("joined")
}

/// Waits (in virtual time) for the member's leg to come back.
async fn leg_back(membership: &mut Membership) {
    let back = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match membership.events.recv().await {
                Some(LegEvent::Left(_)) => return true,
                Some(_) => continue,
                None => return false,
            }
        }
    });
    assert_eq!(back.await, Ok(true), "the leg came back");
}

/// Lets the MPC task and the media plane act on what just happened.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    // The media workers run on real time: give them a moment.
    std::thread::sleep(Duration::from_millis(30));
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn max_duration_runs_on_the_monotonic_clock_even_when_the_wall_clock_steps_back() {
    let media = plane();
    let mpcs = registry(&media);
    let spec = MultiPartyCall {
        max_duration: 300,
        stay_alone: true,
        ..MultiPartyCall::for_room("timed", Role::Agent)
    };
    let peer = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let mut member = join(&mpcs, &media, &spec, &peer).await;
    assert_eq!(mpcs.len(), 1);

    tokio::time::advance(Duration::from_secs(299)).await;
    settle().await;
    assert_eq!(mpcs.len(), 1, "still live a second before maxDuration");

    tokio::time::advance(Duration::from_secs(2)).await;
    settle().await;
    leg_back(&mut member).await;
    assert_eq!(
        member.take_release(),
        Some(Then::NextElement),
        "maxDuration released the member to its next element"
    );
    assert_eq!(mpcs.len(), 0, "the ended MPC is off the registry");
    assert_eq!(mpcs.tasks(), 0, "and its task has ended");
    media.shutdown();
}

#[tokio::test(start_paused = true)]
async fn an_mpc_that_ends_early_leaves_no_task_or_timer_behind() {
    let media = plane();
    let mpcs = registry(&media);
    let runtime = tokio::runtime::Handle::current().metrics();
    let before = runtime.num_alive_tasks();

    // maxDuration is 4 h by default: the MPC ends long before, when its
    // only member hangs up.
    let spec = MultiPartyCall::for_room("short", Role::Customer);
    let peer = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let mut member = join(&mpcs, &media, &spec, &peer).await;
    assert!(runtime.num_alive_tasks() > before, "the MPC runs a task");
    member.leave(ExitCause::Hangup);
    settle().await;
    leg_back(&mut member).await;
    settle().await;

    assert_eq!(mpcs.len(), 0);
    assert_eq!(mpcs.tasks(), 0);
    assert_eq!(
        runtime.num_alive_tasks(),
        before,
        "nothing of the MPC is left: no task, no 4 h timer"
    );
    media.shutdown();
}
