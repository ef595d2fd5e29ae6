//! The answering side of a [`super::Callee`]: the server transaction of
//! the one INVITE it takes (100, 180, the final response retransmitted
//! until the ACK, CANCEL answered 200 then 487) and the answered call's
//! parts. Runs as one task fed by the endpoint's receive loop.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chorus_media::sdp::{self, LocalMedia};
use tokio::sync::{oneshot, watch};

use super::answer::{CalleeOptions, CalleeRecord, Reaction};
use super::call::CallParts;
use super::endpoint::{Endpoint, Incoming, T1, lock, token};
use super::media::{Media, MediaShared};
use super::message::response_to;
use super::{DialogIds, PhoneError, send_params};
use crate::sip::{self, SipMessage};

/// Cap of the final-response retransmission interval (RFC 3261 T2).
const T2: Duration = Duration::from_secs(4);
/// How long a final response is retransmitted without an ACK (64·T1).
const ACK_WAIT: Duration = Duration::from_secs(32);

/// What reached the answering side while it waited.
enum Event {
    Cancel,
    Ack,
    Deadline,
    Closed,
}

/// The server side of the one INVITE transaction a [`Callee`] takes.
pub(super) struct InviteServer {
    ep: Arc<Endpoint>,
    incoming: Incoming,
    record: watch::Sender<CalleeRecord>,
    invite: Option<SipMessage>,
    /// The last response sent to the INVITE, re-sent on its retransmissions.
    last: Vec<u8>,
    /// The answered call's media, for the key press.
    media: Option<Arc<MediaShared>>,
}

impl InviteServer {
    pub(super) fn new(
        ep: Arc<Endpoint>,
        incoming: Incoming,
        record: watch::Sender<CalleeRecord>,
    ) -> InviteServer {
        InviteServer {
            ep,
            incoming,
            record,
            invite: None,
            last: Vec::new(),
            media: None,
        }
    }

    pub(super) async fn serve(
        mut self,
        media: Media,
        opts: CalleeOptions,
        outcome: oneshot::Sender<Result<CallParts, PhoneError>>,
    ) {
        let result = self.take_call(media, &opts).await;
        let answered = result.is_ok();
        let _ = outcome.send(result);
        // Keep absorbing retransmitted INVITEs and late CANCELs; press the
        // key if asked.
        let mut press = opts.press.filter(|_| answered);
        loop {
            let due = press.map(|(after, _)| self.record.borrow().acked_at.map(|t| t + after));
            match self.next_event(due.flatten()).await {
                Event::Closed => return,
                Event::Deadline => {
                    if let Some((_, key)) = press.take() {
                        self.press(key);
                    }
                }
                Event::Cancel | Event::Ack => {}
            }
        }
    }

    fn press(&self, key: char) {
        let Some(shared) = &self.media else { return };
        let has_event_pt = lock(&shared.params).is_some_and(|p| p.telephone_event.is_some());
        if has_event_pt {
            drop(shared.queue_digit(key, true));
            self.record
                .send_modify(|r| r.pressed = Some((key, Instant::now())));
        }
    }

    /// Waits for the INVITE, then rings, answers or declines per `opts`.
    async fn take_call(
        &mut self,
        media: Media,
        opts: &CalleeOptions,
    ) -> Result<CallParts, PhoneError> {
        let invite = loop {
            match self.incoming.recv().await {
                Some((msg, from)) if msg.method() == Some("INVITE") => {
                    self.ep.set_peer(from);
                    break msg;
                }
                Some(_) => {}
                None => return Err(PhoneError::Cancelled),
            }
        };
        self.record.send_modify(|r| {
            r.invite = Some(invite.clone());
            r.invited_at = Some(Instant::now());
        });
        self.invite = Some(invite.clone());
        self.respond(100, None).await;
        // A phone that declines at once does not ring first.
        if !matches!(opts.reaction, Reaction::Decline(_)) || !opts.ring.is_zero() {
            self.respond(180, None).await;
        }
        let answer_at = match opts.reaction {
            Reaction::Silent => None,
            _ => Some(Instant::now() + opts.ring),
        };
        loop {
            match self.next_event(answer_at).await {
                Event::Deadline => break,
                Event::Cancel => {
                    self.finish(487, None).await;
                    return Err(PhoneError::Cancelled);
                }
                Event::Closed => return Err(PhoneError::Cancelled),
                Event::Ack => {}
            }
        }
        if let Reaction::Decline(status) = opts.reaction {
            self.finish(status, None).await;
            return Err(PhoneError::Rejected {
                status,
                reason: reason(status).to_string(),
                provisional: self.provisional(),
            });
        }
        let session_id = u64::from_str_radix(&token(), 16).unwrap_or(1) >> 1;
        let local = LocalMedia {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: media.local.port(),
            session_id,
            session_version: 1,
        };
        let answer = sdp::SessionDescription::parse(&invite.body)
            .ok()
            .and_then(|offer| sdp::answer(&offer, &local).ok());
        let Some((negotiated, answer_sdp)) = answer else {
            self.finish(488, None).await;
            return Err(PhoneError::OfferNotAcceptable(invite.body));
        };
        *lock(&self.ep.answer_sdp) = answer_sdp.clone();
        // Like a real phone, media flows from the moment it answers.
        media.start_sending(send_params(&negotiated));
        self.media = Some(Arc::clone(&media.shared));
        if !self.finish(200, Some(&answer_sdp)).await {
            return Err(PhoneError::Timeout {
                method: "ACK",
                waited: ACK_WAIT,
            });
        }
        let ok = sip::parse(&self.last).unwrap_or_else(|| invite.clone());
        let to = invite.header("to").unwrap_or("");
        let from_uri = sip::uri_of(invite.header("from").unwrap_or(""));
        Ok(CallParts {
            ep: Arc::clone(&self.ep),
            tasks: Vec::new(),
            media,
            negotiated,
            provisional: self.provisional(),
            ids: DialogIds {
                call_id: invite.call_id().unwrap_or("").to_string(),
                from: format!("{to};tag={}", self.ep.local_tag),
                to: invite.header("from").unwrap_or("").to_string(),
                request_uri: invite.request_uri().unwrap_or("").to_string(),
            },
            remote_target: invite.contact_uri().unwrap_or(from_uri),
            session_id,
            answer: ok,
        })
    }

    fn provisional(&self) -> Vec<u16> {
        let sent = self.record.borrow().sent.clone();
        sent.into_iter().filter(|s| *s < 200).collect()
    }

    /// Sends (and records) a response to the INVITE.
    async fn respond(&mut self, status: u16, sdp: Option<&str>) {
        let Some(invite) = &self.invite else { return };
        let contact = (status > 100).then_some(self.ep.contact.as_str());
        let tag = &self.ep.local_tag;
        self.last = response_to(invite, status, reason(status), tag, contact, sdp);
        self.ep.send(&self.last).await;
        self.record.send_modify(|r| r.sent.push(status));
    }

    /// Sends a final response and retransmits it (RFC 3261 timer G) until
    /// the ACK arrives; false if it never does.
    async fn finish(&mut self, status: u16, sdp: Option<&str>) -> bool {
        self.respond(status, sdp).await;
        let give_up = Instant::now() + ACK_WAIT;
        let mut interval = T1;
        loop {
            let resend = (Instant::now() + interval).min(give_up);
            match self.next_event(Some(resend)).await {
                Event::Ack => return true,
                Event::Closed => return false,
                // A CANCEL after the final response only gets its 200.
                Event::Cancel => {}
                Event::Deadline if Instant::now() >= give_up => return false,
                Event::Deadline => {
                    self.ep.send(&self.last).await;
                    interval = (interval * 2).min(T2);
                }
            }
        }
    }

    /// The next CANCEL or ACK, or `until` passing. Retransmitted INVITEs get
    /// the last response again; another call's INVITE gets 486.
    async fn next_event(&mut self, until: Option<Instant>) -> Event {
        loop {
            let received = match until {
                Some(at) => match tokio::time::timeout_at(at.into(), self.incoming.recv()).await {
                    Ok(received) => received,
                    Err(_) => return Event::Deadline,
                },
                None => self.incoming.recv().await,
            };
            let Some((msg, from)) = received else {
                return Event::Closed;
            };
            let ours = self.invite.as_ref().is_some_and(|i| {
                i.via_branch() == msg.via_branch() && i.call_id() == msg.call_id()
            });
            let tag = &self.ep.local_tag;
            match msg.method().unwrap_or("") {
                "INVITE" if ours => self.ep.send(&self.last).await,
                "INVITE" => {
                    let busy = response_to(&msg, 486, reason(486), tag, None, None);
                    let _ = self.ep.socket.send_to(&busy, from).await;
                }
                "CANCEL" => {
                    let status = if ours { 200 } else { 481 };
                    let reply = response_to(&msg, status, reason(status), tag, None, None);
                    let _ = self.ep.socket.send_to(&reply, from).await;
                    if ours {
                        self.record
                            .send_modify(|r| r.cancelled_at = Some(Instant::now()));
                        return Event::Cancel;
                    }
                }
                _ if msg.call_id() == self.invite.as_ref().and_then(|i| i.call_id()) => {
                    self.record.send_modify(|r| {
                        r.acked_at.get_or_insert_with(Instant::now);
                    });
                    return Event::Ack;
                }
                _ => {}
            }
        }
    }
}

/// The reason phrase the phone sends with `status`.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        200 => "OK",
        404 => "Not Found",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        603 => "Decline",
        _ => "Refused",
    }
}
