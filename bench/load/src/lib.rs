//! `chorus-load`: the media load generator behind `bench/capacity`.
//!
//! It places N calls into rooms of K through a server's real front door
//! (SIP over UDP for chorusd; each baseline's own control protocol for the
//! others, see [`target`]), streams a distinct pulsed tone per leg at the
//! real 20 ms pace, receives every leg's audio, and reports per leg: packets
//! sent and received, loss, late and early packets, RFC 3550 jitter,
//! mouth-to-ear latency (from each tone's onsets), and whether the leg heard
//! exactly its room. It reads the server's CPU time from `/proc` and, for
//! chorusd, its `/metrics` over the same window.
//!
//! Drive it from the command line (`chorus-load --help`), or from a test
//! through [`run::run`] with [`run::Options`] (as `gateway/tests/load.rs`
//! does against the real chorusd).

pub mod capacity;
pub mod hearing;
pub mod http;
pub mod media;
pub mod plan;
pub mod probe;
pub mod report;
pub mod run;
pub mod stats;
pub mod target;
