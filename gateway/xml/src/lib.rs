//! Parsing and validation of Plivo answer-URL XML for chorus.
//!
//! An answer URL returns a `<Response>` document whose elements (verbs) the
//! gateway executes in order. This crate turns such a document into typed,
//! validated values with every default applied; it is pure (no IO, no clock).
//! Supported verbs: [`MultiPartyCall`] (every attribute of Plivo's spec),
//! [`Wait`], [`Hangup`], [`Play`], [`Speak`] and [`Redirect`].
//!
//! # Usage
//!
//! Call [`parse_response`], then walk [`Document::steps`]:
//!
//! ```
//! use chorus_xml::{parse_response, Step, Verb};
//!
//! let doc = parse_response(
//!     r#"<Response><MultiPartyCall role="Agent" maxDuration="600">sales</MultiPartyCall></Response>"#,
//! )?;
//! for warning in &doc.warnings {
//!     println!("warning: {warning}"); // unknown elements/attributes, ignored
//! }
//! for step in &doc.steps {
//!     match step {
//!         Step::Verb(Verb::MultiPartyCall(mpc)) => assert_eq!(mpc.max_duration, 600),
//!         Step::Verb(_other) => { /* execute it */ }
//!         Step::Invalid(error) => println!("skipped: {error}"),
//!     }
//! }
//! # Ok::<(), chorus_xml::DocumentError>(())
//! ```
//!
//! # Error handling rules
//!
//! - **Whole document rejected** ([`DocumentError`]): empty input, more than
//!   [`MAX_DOCUMENT_BYTES`], XML that is not well-formed (with its
//!   [`Position`]), unknown entities, content outside the root, nesting deeper
//!   than [`MAX_DEPTH`], or a root other than `<Response>`. The daemon hangs
//!   the call up, logging the reason.
//! - **Element skipped** ([`Step::Invalid`]): an element with an invalid
//!   attribute is skipped with a precise error; the call continues with the
//!   next element. The same holds for a missing required part (`role`, the
//!   MPC name, a Play/Redirect URL, the Speak text). For a document holding a
//!   lone `<MultiPartyCall>`, this means the call ends. When an element has
//!   several problems, the first one is reported (attributes in document
//!   order, then required attributes, then content).
//! - **Ignored with a warning** ([`Warning`]): unknown elements inside
//!   `<Response>`, unknown attributes on known elements, child elements of
//!   verbs, stray text.
//!
//! # Value rules
//!
//! - Element and attribute **names** are case-sensitive, as in Plivo's
//!   documentation (`relayDTMFInputs`, `maxDuration`): `maxduration` is an
//!   unknown attribute (a warning), not an alias.
//! - Attribute **values** are trimmed. Keywords are case-insensitive:
//!   booleans `true`/`false`, methods `GET`/`POST`, roles, `mp3`/`wav`,
//!   `none`/`beep:1`/`beep:2`, event names. Anything else is an error.
//! - Integers: ASCII decimal digits only (no sign), range checked; overflow
//!   is a range error.
//! - URLs: absolute `http://` or `https://` with a non-empty host (optional
//!   userinfo, bracketed IPv6, port 1-65535); no whitespace or control
//!   characters.
//! - The MPC name (content) is trimmed and must hold 1 to
//!   [`MAX_MPC_NAME_CHARS`] characters, none of them control characters.
//! - [`MultiPartyCall::coach_mode`] stores the *effective* value: always false
//!   for Agent and Customer roles.
//!
//! Music and sound URLs (`waitMusicUrl`, hold music, `enterSound`...) return
//! documents of which only Play, Speak and Wait count: parse them with
//! [`parse_sound_document`].

#![forbid(unsafe_code)]

mod attrs;
mod document;
mod error;
mod mpc;
mod parse;
mod tree;
mod values;
mod verbs;

#[cfg(test)]
mod tests;

pub use document::{
    Document, ROOT, SoundDocument, SoundItem, Step, Verb, parse_response, parse_sound_document,
};
pub use error::{CONTENT, DocumentError, ElementError, InvalidReason, Position, Warning};
pub use mpc::{MAX_MPC_NAME_CHARS, MultiPartyCall, RecordingAudio};
pub use tree::{MAX_DEPTH, MAX_DOCUMENT_BYTES};
pub use values::{
    HangupReason, Method, RecordFileFormat, Role, Sound, StatusCallbackEvent, StatusCallbackEvents,
};
pub use verbs::{Hangup, Play, Redirect, Speak, Wait};

/// An absolute `http://` or `https://` URL as every URL attribute takes it
/// (trimmed), or why not: for APIs that take URLs beside the elements'.
pub fn checked_url(value: &str) -> Result<String, InvalidReason> {
    parse::url(value)
}
