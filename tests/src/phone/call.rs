//! An established call of the test phone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chorus_media::dtmf;
use chorus_media::sdp::Negotiated;

use super::endpoint::{ClientTx, Endpoint, branch, lock};
use super::media::{Media, ReceivedPacket};
use super::{
    AbortOnDrop, DialogIds, IN_DIALOG_TIMEOUT, PhoneError, local_offer, negotiate, send_params,
};

/// What [`super::dial`] hands over to build a [`Call`].
pub(super) struct CallParts {
    pub ep: Arc<Endpoint>,
    /// The tasks serving this call's SIP socket (the receive loop, and for
    /// an answered call also the answering side).
    pub tasks: Vec<Arc<AbortOnDrop>>,
    pub media: Media,
    pub negotiated: Negotiated,
    pub provisional: Vec<u16>,
    pub ids: DialogIds,
    pub remote_target: String,
    pub session_id: u64,
    pub answer: crate::sip::SipMessage,
}

/// An answered call. Dropping it stops its SIP task and media threads
/// (without sending BYE; use [`Call::hangup`] for that).
pub struct Call {
    ep: Arc<Endpoint>,
    media: Media,
    negotiated: Negotiated,
    provisional: Vec<u16>,
    ids: DialogIds,
    remote_target: String,
    session_id: u64,
    answer: crate::sip::SipMessage,
    cseq: AtomicU32,
    sdp_version: AtomicU64,
    // Last so the receive task stops after everything else is torn down.
    _tasks: Vec<Arc<AbortOnDrop>>,
}

impl Call {
    pub(super) fn new(p: CallParts) -> Call {
        Call {
            ep: p.ep,
            media: p.media,
            negotiated: p.negotiated,
            provisional: p.provisional,
            ids: p.ids,
            remote_target: p.remote_target,
            session_id: p.session_id,
            answer: p.answer,
            cseq: AtomicU32::new(1),
            sdp_version: AtomicU64::new(1),
            _tasks: p.tasks,
        }
    }

    /// A header of the 200 OK that answered the call (lower-case name).
    pub fn answer_header(&self, name: &str) -> Option<&str> {
        self.answer.header(name)
    }

    /// The dialog's Call-ID.
    pub fn call_id(&self) -> &str {
        &self.ids.call_id
    }

    /// Provisional statuses (100, 180, 183...) received before the answer.
    pub fn provisional_statuses(&self) -> &[u16] {
        &self.provisional
    }

    /// What the initial answer negotiated.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// Local RTP address (what the phone offered).
    pub fn local_rtp_addr(&self) -> std::net::SocketAddr {
        self.media.local
    }

    /// All decoded 8 kHz audio received so far, in arrival order.
    pub fn received_audio(&self) -> Vec<i16> {
        let rec = lock(&self.media.shared.received);
        rec.audio
            .iter()
            .flat_map(|(_, pcm)| pcm.iter().copied())
            .collect()
    }

    /// Decoded audio of packets that arrived at or after `since`.
    pub fn received_audio_since(&self, since: Instant) -> Vec<i16> {
        let rec = lock(&self.media.shared.received);
        rec.audio
            .iter()
            .filter(|(at, _)| *at >= since)
            .flat_map(|(_, pcm)| pcm.iter().copied())
            .collect()
    }

    /// Forgets the audio received so far (digits and counts are kept).
    pub fn clear_received(&self) {
        let mut rec = lock(&self.media.shared.received);
        rec.audio.clear();
        rec.packets.clear();
    }

    /// When the phone's packets left 5 ms or more after their time, and how
    /// late: the test process was starved (a machine busy with other
    /// work), and the far end hears the gap. Lets a test that judges audio
    /// quality tell the phone's own stalls from chorus's faults.
    pub fn late_sends(&self) -> Vec<(Instant, Duration)> {
        lock(&self.media.shared.late_sends).clone()
    }

    /// RTP header fields of every audio packet received so far, in arrival
    /// order (telephone-event packets are not included).
    pub fn received_packets(&self) -> Vec<ReceivedPacket> {
        lock(&self.media.shared.received).packets.clone()
    }

    /// Number of RTP packets received, telephone-event included.
    pub fn received_rtp_count(&self) -> usize {
        self.media.shared.rtp_count.load(Ordering::Relaxed)
    }

    /// Sends `datagram` as it is from the phone's RTP socket to the far
    /// end's RTP address (junk, RTCP: whatever a test needs the far end to
    /// get from the real peer's address).
    pub fn send_raw_rtp(&self, datagram: &[u8]) -> std::io::Result<()> {
        let remote =
            lock(&self.media.shared.params).map_or(self.negotiated.remote_rtp, |p| p.remote);
        self.media.wire.send_to(datagram, remote).map(drop)
    }

    /// Number of RTP packets sent, telephone-event included.
    pub fn sent_rtp_count(&self) -> usize {
        self.media.shared.sent_count.load(Ordering::Relaxed)
    }

    /// RFC 4733 digits received, each counted once on its first end packet.
    pub fn received_digits(&self) -> Vec<char> {
        lock(&self.media.shared.received).digits.clone()
    }

    /// Methods of the requests the far end sent in this dialog, in order.
    pub fn received_requests(&self) -> Vec<String> {
        lock(&self.ep.requests).clone()
    }

    /// Sends one RFC 4733 digit (start with marker, updates, three end
    /// packets, all on one timestamp) in place of the tone, and returns once
    /// the last end packet is out (about 160 ms).
    pub async fn send_dtmf(&self, digit: char) -> Result<(), PhoneError> {
        self.press(digit, true).await
    }

    /// Sends one RFC 4733 digit whose end packets are all lost: the start
    /// and updates go out, then the event just stops. Returns once the last
    /// update is out (about 100 ms).
    pub async fn send_dtmf_without_end(&self, digit: char) -> Result<(), PhoneError> {
        self.press(digit, false).await
    }

    async fn press(&self, digit: char, send_end: bool) -> Result<(), PhoneError> {
        if !dtmf::encode_event(digit, false, 10, 0, &mut [0u8; 4]) {
            return Err(PhoneError::InvalidDigit(digit));
        }
        let has_event_pt =
            lock(&self.media.shared.params).is_some_and(|p| p.telephone_event.is_some());
        if !has_event_pt {
            return Err(PhoneError::NoTelephoneEvent);
        }
        let done = self.media.shared.queue_digit(digit, send_end);
        match tokio::time::timeout(Duration::from_secs(3), done).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(PhoneError::DtmfNotSent(digit)),
        }
    }

    /// Sends BYE and returns the final status of its response.
    pub async fn hangup(self) -> Result<u16, PhoneError> {
        self.media.shared.active.store(false, Ordering::Relaxed);
        let cseq = self.cseq.fetch_add(1, Ordering::Relaxed) + 1;
        let b = branch();
        let bye = self
            .ids
            .request("BYE", &self.remote_target, &b, &self.ids.to, cseq);
        let mut tx = ClientTx::start(&self.ep, &b, "BYE", bye.to_bytes(self.ep.local)).await;
        let resp = tx
            .final_response(Instant::now() + IN_DIALOG_TIMEOUT, &mut Vec::new())
            .await
            .ok_or(PhoneError::Timeout {
                method: "BYE",
                waited: IN_DIALOG_TIMEOUT,
            })?;
        Ok(resp.status().unwrap_or(0))
    }

    /// Whether the far end sends BYE within `timeout` (true at once if it
    /// already did). The phone answers that BYE with 200 OK by itself.
    pub async fn wait_for_bye(&self, timeout: Duration) -> bool {
        let mut rx = self.ep.bye.subscribe();
        matches!(
            tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await,
            Ok(Ok(_))
        )
    }

    /// What went over the wire so far, in order (see `Endpoint::wire`).
    pub fn wire(&self) -> Vec<String> {
        lock(&self.ep.wire).clone()
    }

    /// Stops sending RTP for good, without a word in SIP: a phone that
    /// crashed, or whose NAT binding expired (the call stays up for it).
    pub fn vanish(&self) {
        self.media
            .shared
            .active
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the far end has sent BYE.
    pub fn got_bye(&self) -> bool {
        self.ep.bye.borrow().is_some()
    }

    /// When the far end sent BYE, if it has.
    pub fn bye_at(&self) -> Option<Instant> {
        *self.ep.bye.borrow()
    }

    /// Re-INVITEs with the phone's offer at a new SDP version and
    /// `direction`, ACKs the final response, and returns its status and body.
    /// On 2xx, sending follows the direction (`inactive`/`recvonly` stop it)
    /// and the answered RTP address.
    pub async fn reinvite(&self, direction: &str) -> Result<(u16, String), PhoneError> {
        if !matches!(direction, "sendrecv" | "sendonly" | "recvonly" | "inactive") {
            return Err(PhoneError::InvalidDirection(direction.to_string()));
        }
        let version = self.sdp_version.fetch_add(1, Ordering::Relaxed) + 1;
        let offer = local_offer(
            self.media.local.port(),
            self.session_id,
            version,
            direction,
            self.media.ptime_ms,
        );
        let cseq = self.cseq.fetch_add(1, Ordering::Relaxed) + 1;
        let b = branch();
        let mut invite = self
            .ids
            .request("INVITE", &self.remote_target, &b, &self.ids.to, cseq);
        invite.contact = Some(&self.ep.contact);
        invite.sdp = Some(&offer);
        let mut tx = ClientTx::start(&self.ep, &b, "INVITE", invite.to_bytes(self.ep.local)).await;
        let resp = tx
            .final_response(Instant::now() + IN_DIALOG_TIMEOUT, &mut Vec::new())
            .await
            .ok_or(PhoneError::Timeout {
                method: "INVITE",
                waited: IN_DIALOG_TIMEOUT,
            })?;
        drop(tx);
        let status = resp.status().unwrap_or(0);
        // A non-2xx ACK reuses the INVITE's branch; a 2xx ACK is its own
        // transaction (RFC 3261 17.1.1.3 and 13.2.2.4).
        let ack_branch = if status >= 300 { b } else { branch() };
        let ack = self
            .ids
            .request("ACK", &self.remote_target, &ack_branch, &self.ids.to, cseq);
        self.ep.send_ack(cseq, ack.to_bytes(self.ep.local)).await;
        if status < 300 {
            *lock(&self.ep.answer_sdp) = offer;
            let sending = matches!(direction, "sendrecv" | "sendonly");
            self.media.shared.active.store(sending, Ordering::Relaxed);
            // A body we cannot use leaves media where it was; the caller
            // gets the body to inspect.
            if let Ok(n) = negotiate(&resp.body) {
                self.media.start_sending(send_params(&n));
            }
        }
        Ok((status, resp.body))
    }
}
