//! Test support for chorus end-to-end tests.
//!
//! Everything an end-to-end test needs to drive the real `chorusd` binary
//! from the outside, with nothing borrowed from the daemon's own SIP stack so
//! that the two check each other:
//!
//! - [`daemon`]: spawns `chorusd` on free loopback ports and waits until it
//!   answers SIP `OPTIONS`.
//! - [`phone`]: a hand-written SIP user agent over UDP that dials or is
//!   called (rings, answers, declines, stays silent), sends a sine tone as
//!   G.711, records what it hears, sends RFC 4733 digits, re-INVITEs and
//!   hangs up.
//! - [`tone`]: Goertzel level measurement to prove which participants were
//!   heard (see "Proving what a participant heard" in the project notes).
//! - [`http`]: a real HTTP server for answer URLs and callbacks that records
//!   every request.
//! - [`ports`]: free loopback ports and port ranges.
//! - [`sip`]: the tolerant SIP message parser the phone uses.
//! - [`threads`]: which of a process's threads wake others (strace).
//! - [`plivo_sdk`]: Plivo's own Python SDK, in a venv made on first use,
//!   driving chorus's REST API.
//!
//! ```no_run
//! use std::{path::Path, time::Duration};
//! use chorus_tests::{daemon::Chorusd, http::{AppServer, Reply}, phone, tone};
//!
//! // In a test of the crate that builds chorusd:
//! // let bin = Path::new(env!("CARGO_BIN_EXE_chorusd"));
//! # async fn example(bin: &Path) {
//! let app = AppServer::start(vec![(
//!     "/answer".into(),
//!     Reply::xml("<Response><Speak>hi</Speak></Response>"),
//! )])
//! .await;
//! let answer_url = app.url("/answer");
//! let chorus = Chorusd::start(
//!     bin,
//!     &[("CHORUS_INBOUND__ANSWER_URL", answer_url.as_str())],
//! )
//! .await;
//! let call = phone::dial(chorus.sip_addr(), "conf", phone::DialOptions::with_tone(700.0))
//!     .await
//!     .unwrap();
//! tokio::time::sleep(Duration::from_secs(2)).await;
//! tone::assert_hears("caller", &call.received_audio(), &[], &[700.0]);
//! assert_eq!(call.hangup().await.unwrap(), 200);
//! chorus.stop().await;
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod daemon;
pub mod http;
pub mod peers;
pub mod phone;
pub mod plivo_sdk;
pub mod ports;
pub mod sip;
pub mod threads;
pub mod tone;
