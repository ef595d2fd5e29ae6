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
//!   [`jitter::JitterBuffer`] with its arrival time (the kernel's receive
//!   time, not the tick's); every 20 ms tick, while less than a frame of
//!   decoded audio waits in the [`ptime::SampleFifo`], call
//!   [`jitter::JitterBuffer::pop`] and
//!   - on `Frame`, decode the whole packet (10 to 120 ms) onto the FIFO
//!     with [`g711::Law::decode`] and hand it to [`plc::Concealer::extend`];
//!   - on `Lost`, conceal one packet's worth with [`plc::Concealer::conceal`];
//!   - on `Idle`, stop: the tick plays what waits, or silence.
//!
//!   Then take one 160-sample frame off the FIFO
//!   ([`ptime::start_padding`] says how much silence to put ahead of a
//!   stream whose packets are not whole frames).
//! * [`g711`] — encode outgoing PCM (160 samples per 20 ms), gather it into
//!   packets of the peer's packet time with [`ptime::Packetizer`]
//!   ([`sdp::Negotiated::ptime_ms`]) and send each with
//!   [`rtp::RtpWriter::write`], even when it is silence, so the peer's
//!   timing never stalls.

#![forbid(unsafe_code)]

pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod plc;
pub mod ptime;
pub mod rtp;
pub mod sdp;
