//! `chorus-media`: the pure media core of the chorus SIP/RTP gateway.
//!
//! Everything here is synchronous and deterministic: no sockets, no tokio, no
//! clock reads (time is passed in as `now_ms`), and no allocation on the
//! per-packet or per-tick paths (buffers are allocated in constructors). The
//! daemon owns the IO and drives these pieces:
//!
//! * [`sdp`] — parse the INVITE's offer and [`sdp::answer`] it (or build an
//!   [`sdp::offer`]), yielding a [`sdp::Negotiated`] codec, payload types and
//!   remote address.
//! * [`rtp`] — [`rtp::RtpPacket::parse`] each received datagram (RTCP on the
//!   same port is reported as [`rtp::RtpError::Rtcp`]); [`rtp::RtpWriter`]
//!   stamps outgoing packets.
//! * [`dtmf`] — feed packets carrying the telephone-event payload type to
//!   [`dtmf::DtmfReceiver::on_packet`] and call [`dtmf::DtmfReceiver::poll`]
//!   once per tick; they report each key press once, even one whose end
//!   packets were lost.
//! * [`jitter`] — the tick loop: push each audio packet into the
//!   [`jitter::JitterBuffer`] as it arrives; once per 20 ms tick call
//!   [`jitter::JitterBuffer::pop`] and
//!   - on `Frame`, decode with [`g711::Law::decode`] and hand the PCM to
//!     [`plc::Concealer::good`];
//!   - on `Lost`, fill the frame with [`plc::Concealer::conceal`];
//!   - on `Idle`, play silence.
//! * [`g711`] — encode outgoing PCM (160 samples per 20 ms) and send it with
//!   [`rtp::RtpWriter::write`], even when it is silence, so the peer's
//!   timing never stalls.

#![forbid(unsafe_code)]

pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod plc;
pub mod rtp;
pub mod sdp;
