//! The control API: one set of operations on live and recent MPCs
//! ([`ops::Operations`]: list, show, start, end; members listed, shown,
//! muted, held, coached, kicked; participants added by dialling or
//! transfer; every event, live), served over a
//! Plivo-compatible REST facade ([`rest`]) so that Plivo's SDKs work
//! against chorus with only their base URL changed, and over gRPC
//! ([`grpc`]: `chorus.v1.MultiPartyCalls`, what `chorusctl` talks to).
//! Adapters translate and render; every check is in `ops`, and the MPC's
//! own task checks what depends on its state.
//!
//! Both serve TLS with `api.tls_cert` and `api.tls_key` ([`tls`]).
//!
//! To drive it: `rest::serve(listener, Operations::new(registry), &config.api, tls, stop)`
//! and `grpc::serve(…)` alike (the daemon does), then e.g.
//! `curl -u MACHORUS000000000001:$TOKEN http://127.0.0.1:8088/v1/Account/MACHORUS000000000001/MultiPartyCall/`
//! or `chorusctl mpc list`.

pub mod grpc;
pub mod ops;
mod params;
pub mod rest;
mod secret;
pub mod tls;
