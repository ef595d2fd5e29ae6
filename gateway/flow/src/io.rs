//! What goes into a [`Flow`](crate::Flow) and what comes out of it.

use std::fmt;

use chorus_mpc::Then;
use chorus_xml::{Document, ElementError, Method, MultiPartyCall, SoundItem, Warning};

/// How a flow begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Fetch the application's first document (the answer URL) and run it.
    Fetch {
        /// The answer URL.
        url: String,
        /// GET or POST.
        method: Method,
    },
    /// Run this document, already at hand (the built-in application).
    Document(Document),
}

/// What happens to the flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The document the last [`Action::Fetch`] asked for, fetched and
    /// parsed by the driver.
    Fetched(Document),
    /// The last fetch failed: unreachable, a non-2xx status, or not a
    /// `<Response>`. The driver has logged why.
    Unusable,
    /// The last [`Action::Play`] finished (or the driver skipped it).
    Played,
    /// The call left the MPC of the last [`Action::Join`]: released by the
    /// MPC, or not let in ([`Then::NextElement`]).
    Left(Then),
    /// [`Flow::poll_timeout`](crate::Flow::poll_timeout) passed.
    Tick,
    /// The caller hung up, or answering failed: the flow is over, with no
    /// further action.
    HungUp,
    /// The daemon is stopping.
    Shutdown,
    /// The call was moved elsewhere (Add Participant's `call_uuid`): the
    /// driver stopped what it was doing (a play, a wait, a fetch, or its
    /// MPC, which it left), and this document replaces everything left.
    Transferred(Document),
}

/// What the driver has to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fetch a document; reply [`Input::Fetched`] or [`Input::Unusable`].
    Fetch {
        /// The document's URL.
        url: String,
        /// GET or POST.
        method: Method,
        /// The call's status, sent as Plivo's `CallStatus` parameter.
        status: CallStatus,
        /// More parameters to send beside the call's: the MPC's, for an
        /// `onExitActionUrl` (empty otherwise).
        params: Vec<(String, String)>,
    },
    /// Answer the call (200 OK). Emitted once, before the first element
    /// that needs media. If answering fails, reply [`Input::HungUp`]: the
    /// actions queued after this one are dropped.
    Answer,
    /// Play `<Play>` or `<Speak>` to the caller alone; reply
    /// [`Input::Played`].
    Play(SoundItem),
    /// Join the MPC; reply [`Input::Left`] when the call leaves it (or is
    /// not let in).
    Join(Box<MultiPartyCall>),
    /// A document warning (unknown element or attribute, stray text), to
    /// log.
    Warn(Warning),
    /// An invalid element, skipped, to log.
    Skip(ElementError),
    /// Send this final response to the unanswered call. The flow is over.
    Reject {
        /// The response status.
        status: RejectStatus,
    },
    /// Send BYE to the answered call. The flow is over.
    Hangup {
        /// Why the call ends.
        reason: HangupCause,
    },
}

/// The call's status as Plivo reports it to the application (`CallStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// Not answered yet.
    Ringing,
    /// Answered.
    InProgress,
}

impl CallStatus {
    /// `ringing` or `in-progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ringing => "ringing",
            Self::InProgress => "in-progress",
        }
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The final response that ends an unanswered call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectStatus {
    /// 486: `<Hangup reason="busy">`.
    Busy,
    /// 603: any other `<Hangup>`.
    Declined,
    /// 480: the flow ended with nothing that answered.
    Unanswered,
    /// 500: the application's document was unusable.
    AppFailed,
    /// 503: the daemon is stopping.
    Unavailable,
}

impl RejectStatus {
    /// The SIP status code.
    pub fn code(self) -> u16 {
        match self {
            Self::Busy => 486,
            Self::Declined => 603,
            Self::Unanswered => 480,
            Self::AppFailed => 500,
            Self::Unavailable => 503,
        }
    }

    /// The reason phrase sent with the code.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Busy => "Busy",
            Self::Declined => "Rejected",
            Self::Unanswered => "end of the call flow",
            Self::AppFailed => "the application's document is unusable",
            Self::Unavailable => "chorusd is stopping",
        }
    }
}

impl fmt::Display for RejectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.reason())
    }
}

/// Why an answered call is hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HangupCause {
    /// A `<Hangup>` element.
    Hangup,
    /// The document ran out of elements.
    EndOfFlow,
    /// The application's document was unusable.
    AppFailed,
    /// The daemon is stopping.
    Shutdown,
}

impl HangupCause {
    /// A short human-readable description, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hangup => "hung up by <Hangup>",
            Self::EndOfFlow => "end of the call flow",
            Self::AppFailed => "the application's document is unusable",
            Self::Shutdown => "chorusd is stopping",
        }
    }
}

impl fmt::Display for HangupCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
