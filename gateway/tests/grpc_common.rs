//! Shared set-up for the end-to-end tests of the gRPC API: a connection to
//! chorusd's `chorus.v1.MultiPartyCalls`, requests that carry a bearer
//! token, and an MPC addressed by name. Apart from `common` because only
//! the gRPC tests speak gRPC; include it with `mod grpc_common;`.

#![allow(dead_code)]

use chorus_proto::v1 as pb;
use chorus_tests::daemon::{API_TOKEN, Chorusd};
use pb::multi_party_calls_client::MultiPartyCallsClient;
use tonic::Request;
use tonic::transport::Channel;

/// A connection to `chorus`'s gRPC API (for health and reflection as well).
pub async fn channel(chorus: &Chorusd) -> Channel {
    Channel::from_shared(chorus.grpc_url())
        .unwrap()
        .connect()
        .await
        .expect("connect to the gRPC API")
}

/// A `MultiPartyCalls` client of `chorus`.
pub async fn client(chorus: &Chorusd) -> MultiPartyCallsClient<Channel> {
    MultiPartyCallsClient::new(channel(chorus).await)
}

/// A request carrying `authorization: Bearer <token>`.
pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// A request carrying the token the test daemons are started with.
pub fn authed<T>(message: T) -> Request<T> {
    with_token(message, API_TOKEN)
}

/// The MPC with friendly name `name`.
pub fn named(name: &str) -> Option<pb::MultiPartyCallId> {
    Some(pb::MultiPartyCallId {
        id: Some(pb::multi_party_call_id::Id::FriendlyName(name.to_owned())),
    })
}
