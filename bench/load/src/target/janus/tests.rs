//! Event matching, on events shaped as Janus 1.1.2 sent them.

use super::*;

const MINE: u64 = 2557484995408095;
const OTHER: u64 = 8576185694487901;

/// The `joined` event a handle gets for its own join: with `rtp`.
fn own_joined(handle: u64, port: u16) -> Value {
    json!({
        "janus": "event", "session_id": 1, "transaction": "chorus-7", "sender": handle,
        "plugindata": {"plugin": "janus.plugin.audiobridge", "data": {
            "audiobridge": "joined", "room": 5000, "id": 5674084655406508_u64,
            "participants": [],
            "rtp": {"ip": "127.0.0.1", "port": port, "payload_type": 0}
        }}
    })
}

/// The `joined` event announcing another participant: no `rtp`.
fn announcement(handle: u64) -> Value {
    json!({
        "janus": "event", "session_id": 1, "sender": handle,
        "plugindata": {"plugin": "janus.plugin.audiobridge", "data": {
            "audiobridge": "joined", "room": 5000,
            "participants": [{"id": 4745897564989028_u64, "setup": false, "muted": false}]
        }}
    })
}

fn refusal(handle: u64) -> Value {
    json!({
        "janus": "event", "session_id": 1, "transaction": "chorus-9", "sender": handle,
        "plugindata": {"plugin": "janus.plugin.audiobridge", "data": {
            "audiobridge": "event", "error_code": 485, "error": "No such room (9999)"
        }}
    })
}

fn joining(handle: u64, index: usize) -> (Legs, Instant) {
    let mut legs = Legs::default();
    let since = Instant::now();
    legs.joining(handle, index, since);
    (legs, since)
}

#[test]
fn the_own_joined_event_gives_the_address_and_the_latency() {
    let (mut legs, since) = joining(MINE, 4);
    legs.absorb(&own_joined(MINE, 40100), since + Duration::from_millis(3));
    assert_eq!(
        legs.done,
        vec![Setup {
            leg: 4,
            result: Ok("127.0.0.1:40100".parse().unwrap()),
            latency: Duration::from_millis(3),
        }]
    );
    assert_eq!(legs.count(State::Joined), 1);
}

#[test]
fn a_joined_event_of_another_handle_is_ignored() {
    let (mut legs, since) = joining(MINE, 0);
    legs.absorb(&own_joined(OTHER, 40102), since);
    assert!(legs.done.is_empty());
    assert_eq!(legs.pending(), vec![MINE]);
}

#[test]
fn a_joined_event_without_rtp_is_ignored() {
    let (mut legs, since) = joining(MINE, 0);
    legs.absorb(&announcement(MINE), since);
    assert!(legs.done.is_empty());
    assert_eq!(legs.pending(), vec![MINE]);
    // The answer still counts when it comes after.
    legs.absorb(&own_joined(MINE, 40104), since);
    assert_eq!(legs.done.len(), 1);
}

#[test]
fn a_second_joined_event_does_not_finish_the_leg_twice() {
    let (mut legs, since) = joining(MINE, 0);
    legs.absorb(&own_joined(MINE, 40100), since);
    legs.absorb(&own_joined(MINE, 40100), since);
    assert_eq!(legs.done.len(), 1);
}

#[test]
fn an_audiobridge_error_fails_the_join_with_its_code() {
    let (mut legs, since) = joining(MINE, 2);
    legs.absorb(&refusal(MINE), since);
    let setup = &legs.done[0];
    assert_eq!(setup.leg, 2);
    let err = setup.result.as_ref().unwrap_err();
    assert!(err.contains("485") && err.contains("No such room"), "{err}");
    assert_eq!(legs.count(State::Failed), 1);
}

#[test]
fn an_unusable_rtp_address_fails_the_join() {
    let (mut legs, since) = joining(MINE, 0);
    let mut event = own_joined(MINE, 40100);
    event["plugindata"]["data"]["rtp"]["ip"] = json!("not-an-ip");
    legs.absorb(&event, since);
    assert!(legs.done[0].result.as_ref().unwrap_err().contains("rtp"));
}

#[test]
fn a_pending_join_expires_and_says_how_long_it_waited() {
    let (mut legs, since) = joining(MINE, 1);
    legs.expire(since + Duration::from_secs(9), SETUP_TIMEOUT);
    assert!(legs.done.is_empty());
    assert_eq!(legs.next_expiry(SETUP_TIMEOUT), Some(since + SETUP_TIMEOUT));
    legs.expire(since + SETUP_TIMEOUT, SETUP_TIMEOUT);
    assert!(legs.done[0].result.as_ref().unwrap_err().contains("10s"));
    assert_eq!(legs.next_expiry(SETUP_TIMEOUT), None);
}

#[test]
fn a_detached_or_destroyed_leg_was_ended_by_the_server() {
    let (mut legs, since) = joining(MINE, 0);
    legs.joining(OTHER, 1, since);
    legs.absorb(&own_joined(MINE, 40100), since);
    legs.absorb(&own_joined(OTHER, 40102), since);
    legs.absorb(
        &json!({"janus": "detached", "session_id": 1, "sender": MINE}),
        since,
    );
    let destroyed = json!({"janus": "event", "session_id": 1, "sender": OTHER,
        "plugindata": {"plugin": "janus.plugin.audiobridge",
                       "data": {"audiobridge": "destroyed", "room": 5000}}});
    legs.absorb(&destroyed, since);
    assert_eq!(legs.count(State::EndedByServer), 2);
}

#[test]
fn a_session_timeout_ends_joined_legs_and_fails_pending_ones() {
    let (mut legs, since) = joining(MINE, 0);
    legs.joining(OTHER, 1, since);
    legs.absorb(&own_joined(MINE, 40100), since);
    legs.absorb(&json!({"janus": "timeout", "session_id": 1}), since);
    assert_eq!(legs.count(State::EndedByServer), 1);
    assert!(
        legs.done[1]
            .result
            .as_ref()
            .unwrap_err()
            .contains("session")
    );
}

#[test]
fn long_poll_answers_are_arrays_or_single_events() {
    let many = parse_events(r#"[{"janus":"keepalive"},{"janus":"event"}]"#).unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(parse_events(r#"{"janus":"keepalive"}"#).unwrap().len(), 1);
    assert!(parse_events("nonsense").is_err());
    let gone = json!({"janus": "error", "error": {"code": 458, "reason": "No such session 1"}});
    assert!(ends_session(&gone));
}

#[test]
fn janus_and_plugin_errors_read_as_their_code_and_reason() {
    let janus = json!({"janus": "error", "error": {"code": 458, "reason": "No such session 1"}});
    assert_eq!(
        janus_error(&janus).unwrap().to_string(),
        "Janus error 458: No such session 1"
    );
    let plugin = json!({"janus": "success", "plugindata": {"data": {
        "audiobridge": "event", "error_code": 489, "error": "Plain RTP participants not allowed"}}});
    assert_eq!(
        plugin_error(&plugin).unwrap().to_string(),
        "AudioBridge error 489: Plain RTP participants not allowed"
    );
    assert!(plugin_error(&own_joined(MINE, 1)).is_none());
}
