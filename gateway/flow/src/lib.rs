//! The XML call flow: a call stepping through Plivo `<Response>` documents,
//! as a sans-IO state machine.
//!
//! One [`Flow`] per call. Its driver (the gateway) creates it with the
//! application's answer URL to fetch or a document at hand ([`Flow::new`]),
//! then loops: it drains [`Flow::poll_action`] and performs each [`Action`]
//! in order (fetch and parse a document, answer, play, join an MPC, reject
//! or hang up, log a warning), and reports with [`Flow::handle`]`(now,
//! input)` whatever happens ([`Input`]): a document fetched, a clip played,
//! the MPC left, the caller gone, [`Input::Tick`] once [`Flow::poll_timeout`]
//! passes. Once [`Flow::is_over`] and the actions are drained, the call is
//! done. The flow reads no clock and does no IO:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use chorus_flow::{Action, CallStatus, Flow, HangupCause, Input, Start};
//! use chorus_xml::{Method, parse_response};
//!
//! let t0 = Instant::now();
//! let answer_url = "https://app.example/answer".to_owned();
//! let mut flow = Flow::new(t0, Start::Fetch { url: answer_url.clone(), method: Method::Post });
//! assert_eq!(
//!     flow.poll_action(),
//!     Some(Action::Fetch { url: answer_url, method: Method::Post, status: CallStatus::Ringing, params: vec![] })
//! );
//! let document = parse_response(r#"<Response><Wait length="5"/><Hangup/></Response>"#)?;
//! flow.handle(t0, Input::Fetched(document));
//! assert_eq!(flow.poll_action(), Some(Action::Answer));
//! assert_eq!(flow.poll_timeout(), Some(t0 + Duration::from_secs(5)));
//!
//! flow.handle(t0 + Duration::from_secs(5), Input::Tick);
//! assert_eq!(flow.poll_action(), Some(Action::Hangup { reason: HangupCause::Hangup }));
//! assert!(flow.is_over());
//! # Ok::<(), chorus_xml::DocumentError>(())
//! ```
//!
//! The rules: elements run in order; the first that needs media
//! (`<MultiPartyCall>`, `<Wait>`, `<Play>`, `<Speak>`) answers the call,
//! once. `<Redirect>` and an MPC's `onExitActionUrl` fetch a document that
//! replaces the rest of the current one. `<Hangup>` rejects an unanswered
//! call (486 for `reason="busy"`, else 603) and hangs up an answered one;
//! so does the end of the document (480 unanswered). An unusable document
//! ends the call (500 unanswered), and so does a run of more than
//! [`MAX_DOCUMENTS_WITHOUT_MEDIA`] documents without an element that needs
//! media. Invalid elements are skipped and document warnings reported, both
//! for the driver to log. [`Input::Transferred`] (Add Participant moving a
//! live call) replaces whatever runs with its document. A call chorus placed is answered before its flow
//! begins ([`Flow::answered_call`]): it is never answered or rejected, only
//! hung up.
//!
//! Rules that are chorus's own: inputs that do not fit what the flow waits
//! for are ignored, and so is everything after the end except
//! [`Input::HungUp`], which drops the actions not yet drained. Not
//! supported yet (as before this crate): `<Hangup schedule>` hangs up at
//! once, and `<Wait>` honours only `length`.
#![forbid(unsafe_code)]

mod flow;
mod io;

pub use flow::{Flow, MAX_DOCUMENTS_WITHOUT_MEDIA};
pub use io::{Action, CallStatus, HangupCause, Input, RejectStatus, Start};
