//! Typed attribute values: methods, roles, formats, sounds, events.

use std::fmt;

/// An HTTP method for a callback or document URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl Method {
    /// The method name in upper case, as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A participant's role in a multiparty call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `agent`
    Agent,
    /// `supervisor`: may coach (be heard by agents and supervisors only).
    Supervisor,
    /// `customer`
    Customer,
}

impl Role {
    /// The role as Plivo reports it (`Agent`, `Supervisor`, `Customer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "Agent",
            Self::Supervisor => "Supervisor",
            Self::Customer => "Customer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Audio format of an MPC recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RecordFileFormat {
    /// `mp3` (the default)
    #[default]
    Mp3,
    /// `wav`
    Wav,
}

impl RecordFileFormat {
    /// `mp3` or `wav`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mp3 => "mp3",
            Self::Wav => "wav",
        }
    }
}

/// A bridge sound played when a participant enters or exits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Sound {
    /// `none`: no sound.
    None,
    /// `beep:1` (default enter sound).
    Beep1,
    /// `beep:2` (default exit sound).
    Beep2,
    /// A URL returning a sound document (Play/Speak/Wait only); see
    /// [`parse_sound_document`](crate::parse_sound_document).
    Url(String),
}

/// The `reason` of a `<Hangup>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HangupReason {
    /// `rejected`
    Rejected,
    /// `busy`
    Busy,
}

/// One group of MPC status callback events (`statusCallbackEvents` item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusCallbackEvent {
    /// `mpc-state-changes`: MPCInitialized, MPCStart, MPCEnd.
    MpcStateChanges,
    /// `participant-state-changes`: join, exit, mute, hold, coach mode.
    ParticipantStateChanges,
    /// `participant-digit-input-events`: ParticipantDigitInput.
    ParticipantDigitInputEvents,
    /// `participant-speak-events`: ParticipantSpeakStart/Stop.
    ParticipantSpeakEvents,
    /// `add-participant-api-events`: AddParticipantByAPIAction…
    AddParticipantApiEvents,
    /// `participant-audio-events`: ParticipantAudioPlayed/Stopped.
    ParticipantAudioEvents,
}

impl StatusCallbackEvent {
    /// Every event group, in canonical order.
    pub const ALL: [Self; 6] = [
        Self::MpcStateChanges,
        Self::ParticipantStateChanges,
        Self::ParticipantDigitInputEvents,
        Self::ParticipantSpeakEvents,
        Self::AddParticipantApiEvents,
        Self::ParticipantAudioEvents,
    ];

    /// The name as written in `statusCallbackEvents`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MpcStateChanges => "mpc-state-changes",
            Self::ParticipantStateChanges => "participant-state-changes",
            Self::ParticipantDigitInputEvents => "participant-digit-input-events",
            Self::ParticipantSpeakEvents => "participant-speak-events",
            Self::AddParticipantApiEvents => "add-participant-api-events",
            Self::ParticipantAudioEvents => "participant-audio-events",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`StatusCallbackEvent`]s. The default is
/// `mpc-state-changes,participant-state-changes`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCallbackEvents(u8);

impl StatusCallbackEvents {
    /// The empty set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Every event group.
    pub fn all() -> Self {
        StatusCallbackEvent::ALL.into_iter().collect()
    }

    /// Whether `event` is in the set.
    pub fn contains(self, event: StatusCallbackEvent) -> bool {
        self.0 & event.bit() != 0
    }

    /// Adds `event` to the set.
    pub fn insert(&mut self, event: StatusCallbackEvent) {
        self.0 |= event.bit();
    }

    /// Removes `event` from the set.
    pub fn remove(&mut self, event: StatusCallbackEvent) {
        self.0 &= !event.bit();
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = StatusCallbackEvent> {
        StatusCallbackEvent::ALL
            .into_iter()
            .filter(move |e| self.contains(*e))
    }
}

impl Default for StatusCallbackEvents {
    fn default() -> Self {
        [
            StatusCallbackEvent::MpcStateChanges,
            StatusCallbackEvent::ParticipantStateChanges,
        ]
        .into_iter()
        .collect()
    }
}

impl FromIterator<StatusCallbackEvent> for StatusCallbackEvents {
    fn from_iter<I: IntoIterator<Item = StatusCallbackEvent>>(iter: I) -> Self {
        let mut set = Self::empty();
        for e in iter {
            set.insert(e);
        }
        set
    }
}

/// Comma separated, canonical order, e.g. `mpc-state-changes,participant-state-changes`.
impl fmt::Display for StatusCallbackEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(e.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for StatusCallbackEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
