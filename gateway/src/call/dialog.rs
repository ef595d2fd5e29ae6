//! A call's SIP dialog, whichever side began it: the driver answers,
//! rejects, hangs up and reads the peer's in-dialog requests the same way
//! for a call that arrived ([`ServerCall`]) and one chorus placed
//! ([`ClientCall`], answered before its flow begins).

use chorus_media::sdp::SessionDescription;

use crate::sip::{CallerGone, ClientCall, DialogEvent, ServerCall, SessionOffer};

/// The dialog under a call's flow.
pub enum CallDialog {
    /// The caller's INVITE to us.
    Inbound(ServerCall),
    /// Our INVITE, answered.
    Outbound(ClientCall),
}

impl CallDialog {
    /// 180 Ringing to a caller; nothing for a call we placed.
    pub fn ringing(&self) {
        if let Self::Inbound(call) = self {
            call.ringing();
        }
    }

    /// 200 OK with our SDP to a caller; a call we placed is answered
    /// already.
    pub fn accept(&mut self, sdp: &str) -> Result<(), CallerGone> {
        match self {
            Self::Inbound(call) => call.accept(sdp),
            Self::Outbound(_) => Ok(()),
        }
    }

    /// A final response to a caller's INVITE. The flow of a call we placed
    /// never rejects (it is answered), so that ends with BYE to be safe.
    pub async fn reject(&self, code: u16, reason: &str) {
        match self {
            Self::Inbound(call) => call.reject(code, reason),
            Self::Outbound(call) => call.bye().await,
        }
    }

    /// Ends the answered call with BYE.
    pub async fn bye(&self) {
        match self {
            Self::Inbound(call) => call.bye().await,
            Self::Outbound(call) => call.bye().await,
        }
    }

    /// The next thing the peer does. Cancel-safe.
    pub async fn next_event(&mut self) -> DialogEvent {
        match self {
            Self::Inbound(call) => call.next_event().await,
            Self::Outbound(call) => call.next_event().await,
        }
    }
}

/// Reads a re-INVITE's or UPDATE's offer, for either kind of call: `Some`
/// to negotiate; `None` once it was answered with `current_sdp` (it offered
/// nothing: our session again) or refused with 400 (not SDP).
pub(super) async fn read_offer(
    offer: SessionOffer,
    current_sdp: &str,
) -> Option<(SessionOffer, SessionDescription)> {
    if offer.body.is_empty() {
        offer.answer(current_sdp.to_owned()).await;
        return None;
    }
    let parsed = std::str::from_utf8(&offer.body)
        .ok()
        .and_then(|text| SessionDescription::parse(text).ok());
    match parsed {
        Some(parsed) => Some((offer, parsed)),
        None => {
            offer.refuse(400).await;
            None
        }
    }
}
