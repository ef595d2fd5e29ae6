//! Unit tests of the gRPC adapter: tokens, codes, a lagging watcher, bounds.

use chorus_mpc::Timestamp;
use tokio::sync::broadcast;

use super::requests::bound;
use super::*;
use crate::mpc::{MpcAddress, Watched};

fn with_auth(value: Option<&str>) -> Request<()> {
    let mut request = Request::new(());
    if let Some(v) = value {
        request
            .metadata_mut()
            .insert("authorization", v.parse().unwrap());
    }
    request
}

#[test]
fn only_the_configured_bearer_token_gets_in() {
    let token = BearerToken(Some(Arc::from("0123456789abcdef")));
    assert!(
        token
            .check(with_auth(Some("Bearer 0123456789abcdef")))
            .is_ok()
    );
    for wrong in [
        None,
        Some("Bearer 0123456789abcdeX"),
        Some("Basic 0123456789abcdef"),
        Some("0123456789abcdef"),
        Some("Bearer "),
    ] {
        let refused = token.check(with_auth(wrong)).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{wrong:?}");
    }
    let closed = BearerToken(None).check(with_auth(Some("Bearer anything-at-all")));
    let status = closed.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    assert!(status.message().contains("CHORUS_API__AUTH_TOKEN"));
}

#[test]
fn refusals_map_to_grpc_codes_with_the_mpc_named() {
    let mpc = MpcAddress::Name("sales".into());
    let cases = [
        (
            OpError::NoSuchMpc,
            tonic::Code::NotFound,
            "friendly_name \"sales\"",
        ),
        (OpError::NoSuchMember(9), tonic::Code::NotFound, "member 9"),
        (OpError::Ended, tonic::Code::FailedPrecondition, "has ended"),
        (
            OpError::Invalid("limit must be".into()),
            tonic::Code::InvalidArgument,
            "limit must be",
        ),
    ];
    for (error, code, text) in cases {
        let status = refused(error, &mpc);
        assert_eq!(status.code(), code);
        assert!(status.message().contains(text), "{}", status.message());
    }
}

/// A participant event of MPC `room`, numbered `n`.
fn event(n: u64) -> Watched {
    use chorus_mpc::{EventName, MpcFields, StatusEvent};
    Watched::Mpc(Arc::new(StatusEvent {
        name: EventName::ParticipantJoin,
        at: Timestamp(n),
        requested: true,
        sequence: n,
        mpc: MpcFields {
            uuid: "u".into(),
            name: "room".into(),
            created: Timestamp(0),
            started: None,
            ended: None,
        },
        member: None,
        digits: None,
    }))
}

#[tokio::test]
async fn a_watcher_that_falls_behind_is_told_how_many_it_missed_and_goes_on() {
    let (bus, events) = broadcast::channel(2);
    for n in 0..5 {
        bus.send(event(n)).unwrap();
    }
    let (tx, mut rx) = mpsc::channel(8);
    let stop = CancellationToken::new();
    let only = Some(MpcAddress::Name("room".into()));
    let forwarding = tokio::spawn(forward(events, only, tx, stop.clone()));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(rx.recv().await.unwrap().unwrap().item.unwrap());
    }
    use pb::watch_events_response::Item;
    assert_eq!(got[0], Item::Missed(3));
    let sequences: Vec<u64> = got[1..]
        .iter()
        .map(|i| match i {
            Item::Event(e) => e.sequence_number,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sequences, [3, 4]);
    stop.cancel();
    forwarding.await.unwrap();
    assert!(
        rx.recv().await.is_none(),
        "the stream ends when chorusd stops"
    );
}

#[test]
fn both_bounds_of_a_kind_are_refused() {
    let t = Some(prost_types::Timestamp {
        seconds: 1,
        nanos: 0,
    });
    let both = bound("creation_time_gt", t, t).unwrap_err();
    assert_eq!(both.code(), tonic::Code::InvalidArgument);
    assert!(both.message().contains("creation_time_gte"));
    assert_eq!(
        bound("end_time_lt", None, t).unwrap(),
        Some((Timestamp(1000), true))
    );
}
