//! An Add Participant request (seed 001), checked, typed, every default
//! applied (the control APIs read theirs into one). The participant's
//! settings (and the MPC's, when the request creates the MPC) are a
//! [`MultiPartyCall`], exactly as `<MultiPartyCall>` would carry them; how
//! the participant arrives is a [`Joining`]: dial one destination or race
//! several, or transfer a live call.

use chorus_xml::{Method, MultiPartyCall};

/// The most destinations one request may race (Plivo's limit).
pub const MAX_DESTINATIONS: usize = 20;
/// `ring_timeout` bounds and default, seconds.
pub const RING_TIMEOUT: (u32, u32, u32) = (15, 120, 45);
/// `delay_dial` bounds and default, seconds.
pub const DELAY_DIAL: (u32, u32, u32) = (0, 120, 0);
/// Longest `caller_name`, characters.
pub const MAX_CALLER_NAME: usize = 50;

/// A checked Add Participant request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddParticipant {
    /// The participant's `<MultiPartyCall>` settings, MPC-level ones
    /// included (applied when this request creates the MPC).
    pub spec: MultiPartyCall,
    /// How the participant arrives.
    pub joining: Joining,
}

/// How an added participant arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joining {
    /// Dial `to` (one destination, or a race of several: Agent only).
    Dial(Dial),
    /// Move a live call (`call_uuid`) into the MPC.
    Transfer {
        /// The call.
        call_uuid: String,
    },
}

/// A new outbound call (or a race of several).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dial {
    /// The caller id (`from`).
    pub from: String,
    /// The display name (`caller_name`; default: `from`).
    pub caller_name: String,
    /// Where to call, in the order given.
    pub destinations: Vec<Destination>,
    /// `call_status_callback_url` and its method (default POST).
    pub call_status_callback: Option<(String, Method)>,
    /// `confirm_key` and what the callee hears first.
    pub confirm: Option<Confirm>,
    /// What the MPC's waiting side hears while this dials (`dial_music`).
    pub dial_music: DialMusic,
    /// `send_digits`: DTMF sent once the call is answered (or on early
    /// media with `send_on_preanswer`).
    pub send_digits: Option<SendDigits>,
}

/// One destination of a dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// A number or a `sip:` URI, as given.
    pub to: String,
    /// Seconds to ring before giving up.
    pub ring_timeout: u32,
    /// Seconds to wait before dialling it.
    pub delay_dial: u32,
    /// `X-PH-<name>: <value>` headers for its INVITE.
    pub sip_headers: Vec<(String, String)>,
}

/// `confirm_key`: the callee must press it to be bridged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    /// One of `0`–`9`, `#`, `*`.
    pub key: char,
    /// A sound document played to the callee; `None`: "Please enter
    /// {key} to accept the call" from the speech engine.
    pub sound: Option<(String, Method)>,
}

/// `dial_music`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialMusic {
    /// `real` (default): the callee's own ringback (early media).
    Real,
    /// `none`: silence.
    Silence,
    /// A sound document URL.
    Url(String),
}

/// `send_digits` and `send_on_preanswer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendDigits {
    /// The digits (`0`–`9`, `#`, `*`, `w`/`W` for waits).
    pub digits: String,
    /// Sent on early media rather than after the answer.
    pub on_preanswer: bool,
}
