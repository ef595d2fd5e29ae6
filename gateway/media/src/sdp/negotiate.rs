//! RFC 3264 offer/answer for one G.711 audio stream plus telephone-event.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::{Direction, MediaDescription, SessionDescription};
use crate::g711::Law;
use crate::ptime::send_ptime_ms;

/// Packet time we ask for in our own SDP (peers may send other packet
/// times; we take 10 to 120 ms).
const PTIME_MS: u32 = 20;

/// Our side of the media session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMedia {
    /// Address we receive RTP on (goes into `c=` and `o=`).
    pub address: IpAddr,
    /// RTP port we receive on.
    pub port: u16,
    /// `o=` session id.
    pub session_id: u64,
    /// `o=` session version; bump it for every new offer/answer in a dialog.
    pub session_version: u64,
}

/// The outcome of a negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The audio codec both sides use.
    pub law: Law,
    /// Its payload type (static 0/8 or the offer's dynamic number).
    pub payload_type: u8,
    /// telephone-event payload type, if both sides support it.
    pub telephone_event: Option<u8>,
    /// Where to send RTP.
    pub remote_rtp: SocketAddr,
    /// The peer's direction, after the `c=0.0.0.0` hold rule (see [`answer`]).
    pub remote_direction: Direction,
    /// Our direction (the complement of the peer's).
    pub local_direction: Direction,
    /// Packet time to send the peer: its `a=ptime` (default 20 ms), never
    /// above its `a=maxptime`, within 10..=120 ms (see
    /// [`crate::ptime::send_ptime_ms`]). What it sends us may differ: any
    /// packet time in that range is accepted.
    pub ptime_ms: u32,
}

/// Why an offer (or answer) cannot be used.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiationError {
    /// No audio m-line with a non-zero port.
    #[error("no active audio stream")]
    NoAudio,
    /// Audio offered only over a transport we do not speak (e.g. RTP/SAVP).
    #[error("audio m-line {media_index} uses an unsupported transport")]
    UnsupportedTransport {
        /// 0-based index of the first such m-line.
        media_index: usize,
    },
    /// Audio offered, but neither PCMU nor PCMA: answer 488.
    #[error("no common codec (need PCMU or PCMA)")]
    NoCommonCodec,
    /// The connection address is multicast or broadcast: media would go to
    /// (or be taken from) a group, never one peer. Answer 488.
    #[error("audio m-line {media_index} has a multicast or broadcast connection address")]
    GroupAddress {
        /// 0-based index of the m-line.
        media_index: usize,
    },
    /// The chosen m-line has no connection address.
    #[error("audio m-line {media_index} has no connection address")]
    MissingConnection {
        /// 0-based index of the m-line.
        media_index: usize,
    },
}

/// First PCMU/PCMA format in the m-line's preference order.
fn choose_codec(m: &MediaDescription) -> Option<(Law, u8)> {
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find_map(|pt| {
            let law = match m.rtpmap(pt) {
                Some(map) if map.clock_rate == 8000 && map.channels.unwrap_or(1) == 1 => {
                    if map.encoding.eq_ignore_ascii_case("PCMU") {
                        Law::Ulaw
                    } else if map.encoding.eq_ignore_ascii_case("PCMA") {
                        Law::Alaw
                    } else {
                        return None;
                    }
                }
                Some(_) => return None,
                // Static payload types may be used without an rtpmap (RFC 3551).
                None if pt == 0 => Law::Ulaw,
                None if pt == 8 => Law::Alaw,
                None => return None,
            };
            Some((law, pt))
        })
}

/// The telephone-event/8000 payload type, if listed in the format list.
fn telephone_event(m: &MediaDescription) -> Option<u8> {
    m.formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find(|&pt| {
            m.rtpmap(pt).is_some_and(|map| {
                map.encoding.eq_ignore_ascii_case("telephone-event") && map.clock_rate == 8000
            })
        })
}

fn is_rtp_avp(m: &MediaDescription) -> bool {
    m.proto.eq_ignore_ascii_case("RTP/AVP")
}

/// Finds the first usable audio m-line and builds the negotiation result.
fn negotiate(sdp: &SessionDescription) -> Result<(usize, Negotiated), NegotiationError> {
    let mut first_unsupported = None;
    let mut saw_codec_candidate = false;
    for (index, m) in sdp.media.iter().enumerate() {
        if !m.media.eq_ignore_ascii_case("audio") || m.port == 0 {
            continue;
        }
        if !is_rtp_avp(m) {
            first_unsupported.get_or_insert(index);
            continue;
        }
        saw_codec_candidate = true;
        let Some((law, payload_type)) = choose_codec(m) else {
            continue;
        };
        let address = sdp
            .connection_for(m)
            .ok_or(NegotiationError::MissingConnection { media_index: index })?;
        let broadcast = matches!(address, IpAddr::V4(v4) if v4.is_broadcast());
        if address.is_multicast() || broadcast {
            return Err(NegotiationError::GroupAddress { media_index: index });
        }
        let mut remote_direction = sdp.direction_for(m);
        if address.is_unspecified() {
            // RFC 2543 hold: c=0.0.0.0 means "do not send to me". The peer may
            // still send, so its direction degrades to sendonly (or inactive
            // if it was not sending either); ours becomes its complement.
            remote_direction = match remote_direction {
                Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
                Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
            };
        }
        let negotiated = Negotiated {
            law,
            payload_type,
            telephone_event: telephone_event(m),
            remote_rtp: SocketAddr::new(address, m.port),
            remote_direction,
            local_direction: remote_direction.complement(),
            ptime_ms: send_ptime_ms(m.ptime_ms, m.max_ptime_ms),
        };
        return Ok((index, negotiated));
    }
    if saw_codec_candidate {
        Err(NegotiationError::NoCommonCodec)
    } else if let Some(media_index) = first_unsupported {
        Err(NegotiationError::UnsupportedTransport { media_index })
    } else {
        Err(NegotiationError::NoAudio)
    }
}

fn address_type(address: IpAddr) -> &'static str {
    if address.is_ipv4() { "IP4" } else { "IP6" }
}

/// Session-level lines shared by offers and answers.
fn session_header(local: &LocalMedia) -> String {
    let family = address_type(local.address);
    format!(
        "v=0\r\no=chorus {} {} IN {family} {}\r\ns=chorus\r\nc=IN {family} {}\r\nt=0 0\r\n",
        local.session_id, local.session_version, local.address, local.address
    )
}

fn write_telephone_event(sdp: &mut String, pt: u8) {
    let _ = write!(
        sdp,
        "a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n"
    );
}

/// Answer an offer: choose the first audio codec in the offer's preference
/// order that is PCMU or PCMA, plus telephone-event/8000 at the offer's PT if
/// present. Our direction is the complement of theirs.
///
/// `c=0.0.0.0` (RFC 2543 hold) is read as "the peer does not want media sent
/// to it": a sendrecv/sendonly peer is treated as sendonly (we answer
/// recvonly), a recvonly/inactive peer as inactive (we answer inactive).
///
/// Only the first audio m-line with a common codec is accepted; every other
/// m-line (non-audio, extra audio, unsupported transport) is answered with
/// port 0, so the answer has the same m-lines in the same order (RFC 3264 §6).
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMedia,
) -> Result<(Negotiated, String), NegotiationError> {
    let (chosen, negotiated) = negotiate(offer)?;
    let mut sdp = session_header(local);
    for (index, m) in offer.media.iter().enumerate() {
        if index != chosen {
            let formats = if m.formats.is_empty() {
                "0".to_owned()
            } else {
                m.formats.join(" ")
            };
            let _ = write!(sdp, "m={} 0 {} {formats}\r\n", m.media, m.proto);
            continue;
        }
        let pt = negotiated.payload_type;
        let _ = write!(sdp, "m=audio {} RTP/AVP {pt}", local.port);
        if let Some(te) = negotiated.telephone_event {
            let _ = write!(sdp, " {te}");
        }
        let _ = write!(
            sdp,
            "\r\na=rtpmap:{pt} {}/8000\r\n",
            negotiated.law.encoding_name()
        );
        if let Some(te) = negotiated.telephone_event {
            write_telephone_event(&mut sdp, te);
        }
        let _ = write!(
            sdp,
            "a=ptime:{PTIME_MS}\r\na={}\r\n",
            negotiated.local_direction.as_str()
        );
    }
    Ok((negotiated, sdp))
}

/// Build an offer (for the test phone and for outbound calls): PCMU 0, PCMA 8,
/// telephone-event at `te_pt` (e.g. 101), `a=ptime:20`, `a=sendrecv`.
pub fn offer(local: &LocalMedia, te_pt: u8) -> String {
    let mut sdp = session_header(local);
    let _ = write!(
        sdp,
        "m=audio {} RTP/AVP 0 8 {te_pt}\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n",
        local.port
    );
    write_telephone_event(&mut sdp, te_pt);
    let _ = write!(sdp, "a=ptime:{PTIME_MS}\r\na=sendrecv\r\n");
    sdp
}

/// Parse an answer to our offer into the same [`Negotiated`] shape (same
/// hold and direction rules as [`answer`]).
pub fn negotiated_from_answer(answer: &SessionDescription) -> Result<Negotiated, NegotiationError> {
    negotiate(answer).map(|(_, negotiated)| negotiated)
}
