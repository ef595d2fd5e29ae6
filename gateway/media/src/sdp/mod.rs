//! SDP (RFC 4566) parsing and RFC 3264 offer/answer for G.711 audio with
//! RFC 4733 telephone-event.
//!
//! The parser is deliberately tolerant: `\n` or `\r\n` line endings, unknown
//! line types and attributes are ignored, and malformed attributes are skipped
//! (an `a=rtpmap` we cannot read simply means that payload type is not
//! offered). It rejects only what makes negotiation impossible: missing `v=`,
//! `o=` or `m=`, an unreadable `c=` or `m=` line, and an audio m-line with no
//! connection address.

mod negotiate;
#[cfg(test)]
mod tests;

use std::net::IpAddr;

pub use negotiate::{
    LocalMedia, Negotiated, NegotiationError, answer, negotiated_from_answer, offer,
};

/// Why an SDP body could not be parsed.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpError {
    /// No `v=` line.
    #[error("SDP has no v= line")]
    MissingVersion,
    /// No `o=` line.
    #[error("SDP has no o= line")]
    MissingOrigin,
    /// No `m=` line.
    #[error("SDP has no m= line")]
    MissingMedia,
    /// A `c=` line that is not `IN IP4|IP6 <address>`.
    #[error("unreadable c= line at line {line}")]
    BadConnection {
        /// 1-based line number.
        line: usize,
    },
    /// An `m=` line with fewer than three fields.
    #[error("unreadable m= line at line {line}")]
    BadMedia {
        /// 1-based line number.
        line: usize,
    },
    /// An `m=` line whose port is not a number in 0..=65535.
    #[error("bad port in m= line at line {line}")]
    BadPort {
        /// 1-based line number.
        line: usize,
    },
    /// An audio m-line (with a non-zero port) without a session or media `c=`.
    #[error("audio m-line {media_index} has no connection address")]
    MissingConnection {
        /// 0-based index of the m-line.
        media_index: usize,
    },
}

/// Media direction attribute (RFC 3264 §5.1), from the offerer's or
/// answerer's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The direction the other side must use: send-only becomes receive-only
    /// and vice versa.
    pub fn complement(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    /// The attribute name (`sendrecv`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
}

/// One `a=rtpmap:<pt> <name>/<rate>[/<channels>]`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count, if given.
    pub channels: Option<u16>,
}

/// One `m=` section.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type (`audio`, `video`, ...).
    pub media: String,
    /// Transport port; 0 means the stream is rejected/disabled.
    pub port: u16,
    /// Transport protocol (`RTP/AVP`, ...).
    pub proto: String,
    /// Format list in preference order (payload types for RTP).
    pub formats: Vec<String>,
    /// `a=rtpmap` entries.
    pub rtpmaps: Vec<RtpMap>,
    /// `a=fmtp` entries: payload type and parameter string.
    pub fmtps: Vec<(u8, String)>,
    /// Media-level direction attribute, if any.
    pub direction: Option<Direction>,
    /// Media-level connection address, if any.
    pub connection: Option<IpAddr>,
    /// `a=ptime` in milliseconds, if any.
    pub ptime_ms: Option<u32>,
    /// `a=maxptime` in milliseconds, if any: the most audio the sender of
    /// this description takes in one packet (RFC 4566 §6).
    pub max_ptime_ms: Option<u32>,
}

impl MediaDescription {
    /// The rtpmap for a payload type, if present.
    pub fn rtpmap(&self, payload_type: u8) -> Option<&RtpMap> {
        self.rtpmaps.iter().find(|m| m.payload_type == payload_type)
    }

    /// The fmtp parameters for a payload type, if present.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.fmtps
            .iter()
            .find(|(pt, _)| *pt == payload_type)
            .map(|(_, p)| p.as_str())
    }
}

/// A parsed session description.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line's fields after `o=`, space separated, as written.
    pub origin: String,
    /// Session-level connection address.
    pub connection: Option<IpAddr>,
    /// Session-level direction attribute (default for all media).
    pub direction: Option<Direction>,
    /// The m-lines in order.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// Parses an SDP body.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut saw_version = false;
        let mut origin = None;
        let mut connection = None;
        let mut direction = None;
        let mut media: Vec<MediaDescription> = Vec::new();

        for (index, raw) in text.split('\n').enumerate() {
            let line_no = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw).trim_end();
            let Some((kind, value)) = line.split_once('=') else {
                continue;
            };
            match kind {
                "v" => saw_version = true,
                "o" => origin = Some(value.to_owned()),
                "c" => {
                    let addr =
                        parse_connection(value).ok_or(SdpError::BadConnection { line: line_no })?;
                    match media.last_mut() {
                        Some(m) => m.connection = Some(addr),
                        None => connection = Some(addr),
                    }
                }
                "m" => media.push(parse_media(value, line_no)?),
                "a" => match media.last_mut() {
                    Some(m) => parse_media_attribute(m, value),
                    None => {
                        if let Some(d) = Direction::from_attribute(value.trim()) {
                            direction = Some(d);
                        }
                    }
                },
                _ => {}
            }
        }
        if !saw_version {
            return Err(SdpError::MissingVersion);
        }
        let origin = origin.ok_or(SdpError::MissingOrigin)?;
        if media.is_empty() {
            return Err(SdpError::MissingMedia);
        }
        for (media_index, m) in media.iter().enumerate() {
            if m.media.eq_ignore_ascii_case("audio")
                && m.port != 0
                && m.connection.or(connection).is_none()
            {
                return Err(SdpError::MissingConnection { media_index });
            }
        }
        Ok(SessionDescription {
            origin,
            connection,
            direction,
            media,
        })
    }

    /// Connection address for an m-line: media-level, else session-level.
    pub fn connection_for(&self, media: &MediaDescription) -> Option<IpAddr> {
        media.connection.or(self.connection)
    }

    /// Direction for an m-line: media-level, else session-level, else sendrecv.
    pub fn direction_for(&self, media: &MediaDescription) -> Direction {
        media
            .direction
            .or(self.direction)
            .unwrap_or(Direction::SendRecv)
    }
}

/// `IN IP4 192.0.2.1[/ttl[/count]]` → address.
fn parse_connection(value: &str) -> Option<IpAddr> {
    let mut fields = value.split_ascii_whitespace();
    if !fields.next()?.eq_ignore_ascii_case("IN") {
        return None;
    }
    let family = fields.next()?;
    let address = fields.next()?.split('/').next()?;
    let ip: IpAddr = address.parse().ok()?;
    let family_matches = (family.eq_ignore_ascii_case("IP4") && ip.is_ipv4())
        || (family.eq_ignore_ascii_case("IP6") && ip.is_ipv6());
    family_matches.then_some(ip)
}

fn parse_media(value: &str, line: usize) -> Result<MediaDescription, SdpError> {
    let mut fields = value.split_ascii_whitespace();
    let (Some(media), Some(port), Some(proto)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(SdpError::BadMedia { line });
    };
    // `port/count` (RFC 4566 §5.14): only the base port matters for us.
    let port = port.split('/').next().unwrap_or("");
    let port: u16 = port.parse().map_err(|_| SdpError::BadPort { line })?;
    Ok(MediaDescription {
        media: media.to_owned(),
        port,
        proto: proto.to_owned(),
        formats: fields.map(str::to_owned).collect(),
        rtpmaps: Vec::new(),
        fmtps: Vec::new(),
        direction: None,
        connection: None,
        ptime_ms: None,
        max_ptime_ms: None,
    })
}

fn parse_media_attribute(m: &mut MediaDescription, value: &str) {
    let value = value.trim();
    if let Some(d) = Direction::from_attribute(value) {
        m.direction = Some(d);
        return;
    }
    let Some((name, rest)) = value.split_once(':') else {
        return;
    };
    match name {
        "rtpmap" => {
            if let Some(map) = parse_rtpmap(rest) {
                m.rtpmaps.push(map);
            }
        }
        "fmtp" => {
            if let Some((pt, params)) = rest.split_once(' ')
                && let Ok(pt) = pt.parse::<u8>()
            {
                m.fmtps.push((pt, params.trim().to_owned()));
            }
        }
        "ptime" => m.ptime_ms = rest.trim().parse().ok(),
        "maxptime" => m.max_ptime_ms = rest.trim().parse().ok(),
        _ => {}
    }
}

fn parse_rtpmap(rest: &str) -> Option<RtpMap> {
    let (pt, encoding) = rest.trim().split_once(char::is_whitespace)?;
    let payload_type: u8 = pt.parse().ok().filter(|pt| *pt < 128)?;
    let mut parts = encoding.trim().split('/');
    let name = parts.next()?;
    let clock_rate: u32 = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    Some(RtpMap {
        payload_type,
        encoding: name.to_owned(),
        clock_rate,
        channels,
    })
}
