//! Loopback tests of the phone against a tiny scripted fake UAS.

use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chorus_media::g711::Law;
use chorus_media::rtp::{RtpPacket, RtpWriter};
use tokio::net::UdpSocket;

use super::endpoint::lock;
use super::message::response_to;
use super::*;
use crate::sip::{self, SipMessage};
use crate::tone;

/// What the fake UAS does with an initial INVITE.
#[derive(Clone, Copy, PartialEq)]
enum Script {
    /// 100, 180, then 200 with SDP; sends a 1100 Hz tone for a second.
    Answer,
    /// 100 then this final status.
    Reject(u16),
    /// 100, 180 and wait for CANCEL.
    Ring,
}

struct Uas {
    addr: SocketAddr,
    sip: Arc<UdpSocket>,
    rtp: Arc<StdUdp>,
    seen: Arc<Mutex<Vec<SipMessage>>>,
    _task: AbortOnDrop,
}

fn answer_sdp(port: u16, direction: &str) -> String {
    format!(
        "v=0\r\no=uas 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na={direction}\r\n"
    )
}

/// The phone's RTP address from its SDP offer (`m=audio <port>`).
fn offered_rtp(body: &str) -> Option<SocketAddr> {
    let port = body
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))?
        .split_whitespace()
        .next()?
        .parse::<u16>()
        .ok()?;
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Sends one second of a 1100 Hz PCMU tone to `to`, from `rtp`.
fn send_tone(rtp: Arc<StdUdp>, to: SocketAddr) {
    std::thread::spawn(move || {
        let mut generator = tone::ToneGenerator::new(1100.0, 8000, -10.0);
        let mut writer = RtpWriter::new(0x1234, 1, 0);
        let (mut pcm, mut payload, mut out) = ([0i16; 160], [0u8; 160], [0u8; 300]);
        for _ in 0..50 {
            generator.fill(&mut pcm);
            Law::Ulaw.encode(&pcm, &mut payload);
            if let Ok(n) = writer.write(0, false, &payload, 160, &mut out) {
                let _ = rtp.send_to(&out[..n], to);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}

impl Uas {
    async fn start(script: Script, ignore_first_invite: bool) -> Uas {
        let sip = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let rtp = Arc::new(StdUdp::bind("127.0.0.1:0").unwrap());
        rtp.set_nonblocking(true).unwrap();
        let addr = sip.local_addr().unwrap();
        let rtp_port = rtp.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, r, log) = (Arc::clone(&sip), Arc::clone(&rtp), Arc::clone(&seen));
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            let mut pending_invite: Option<(SipMessage, SocketAddr)> = None;
            let mut invites = 0;
            while let Ok((n, from)) = s.recv_from(&mut buf).await {
                let Some(msg) = sip::parse(&buf[..n]) else {
                    continue;
                };
                lock(&log).push(msg.clone());
                let contact = format!("sip:uas@{addr}");
                let reply =
                    |status, reason| response_to(&msg, status, reason, "uastag", None, None);
                let out: Vec<Vec<u8>> = match msg.method().unwrap_or("") {
                    "INVITE" if msg.to_tag().is_some() => {
                        let sdp = answer_sdp(rtp_port, "recvonly");
                        vec![response_to(
                            &msg,
                            200,
                            "OK",
                            "uastag",
                            Some(&contact),
                            Some(&sdp),
                        )]
                    }
                    "INVITE" => {
                        invites += 1;
                        if ignore_first_invite && invites == 1 {
                            continue; // force a timer A retransmission
                        }
                        let mut out = vec![reply(100, "Trying")];
                        match script {
                            Script::Answer => {
                                out.push(reply(180, "Ringing"));
                                let sdp = answer_sdp(rtp_port, "sendrecv");
                                out.push(response_to(
                                    &msg,
                                    200,
                                    "OK",
                                    "uastag",
                                    Some(&contact),
                                    Some(&sdp),
                                ));
                                if let Some(to) = offered_rtp(&msg.body) {
                                    send_tone(Arc::clone(&r), to);
                                }
                            }
                            Script::Reject(status) => out.push(reply(status, "Busy Here")),
                            Script::Ring => {
                                out.push(reply(180, "Ringing"));
                                pending_invite = Some((msg.clone(), from));
                            }
                        }
                        out
                    }
                    "CANCEL" => {
                        let mut out = vec![reply(200, "OK")];
                        if let Some((invite, _)) = pending_invite.take() {
                            out.push(response_to(
                                &invite,
                                487,
                                "Request Terminated",
                                "uastag",
                                None,
                                None,
                            ));
                        }
                        out
                    }
                    "ACK" => Vec::new(),
                    _ => vec![reply(200, "OK")],
                };
                for datagram in out {
                    let _ = s.send_to(&datagram, from).await;
                }
            }
        });
        Uas {
            addr,
            sip,
            rtp,
            seen,
            _task: AbortOnDrop(task),
        }
    }

    fn requests(&self, method: &str) -> Vec<SipMessage> {
        lock(&self.seen)
            .iter()
            .filter(|m| m.method() == Some(method))
            .cloned()
            .collect()
    }

    /// RTP packets received so far: (payload type, marker, timestamp, payload).
    fn drain_rtp(&self) -> Vec<(u8, bool, u32, Vec<u8>)> {
        let mut buf = [0u8; 2048];
        let mut out = Vec::new();
        while let Ok(n) = self.rtp.recv(&mut buf) {
            if let Ok(p) = RtpPacket::parse(&buf[..n]) {
                out.push((p.payload_type, p.marker, p.timestamp, p.payload.to_vec()));
            }
        }
        out
    }

    /// Sends an in-dialog request (BYE, OPTIONS) to the phone of `invite`.
    async fn request_to_phone(&self, method: &str, invite: &SipMessage) {
        let contact = invite.contact_uri().unwrap();
        let phone: SocketAddr = contact.rsplit('@').next().unwrap().parse().unwrap();
        let text = format!(
            "{method} {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bKuas{method}\r\n\
             From: {};tag=uastag\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n",
            self.addr,
            invite.header("to").unwrap(),
            invite.header("from").unwrap(),
            invite.call_id().unwrap(),
        );
        self.sip.send_to(text.as_bytes(), phone).await.unwrap();
    }
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("test finished within 20 s")
}

fn pcmu_audio(packets: &[(u8, bool, u32, Vec<u8>)]) -> Vec<i16> {
    let mut pcm = Vec::new();
    for (_, _, _, payload) in packets.iter().filter(|p| p.0 == 0) {
        let mut frame = vec![0i16; payload.len()];
        Law::Ulaw.decode(payload, &mut frame);
        pcm.extend(frame);
    }
    pcm
}

#[tokio::test]
async fn dial_media_dtmf_reinvite_hangup_round_trip() {
    bounded(async {
        let uas = Uas::start(Script::Answer, true).await;
        let call = dial(uas.addr, "conf", DialOptions::with_tone(700.0))
            .await
            .unwrap();
        assert_eq!(call.provisional_statuses(), &[100, 180]);
        assert_eq!(call.negotiated().payload_type, 0);
        assert_eq!(call.negotiated().telephone_event, Some(101));
        assert_eq!(uas.requests("INVITE").len(), 2, "timer A retransmitted");
        tokio::time::sleep(Duration::from_millis(1200)).await;

        let sent = uas.drain_rtp();
        tone::assert_hears("fake UAS", &pcmu_audio(&sent), &[700.0], &[400.0, 1100.0]);
        assert!(sent[0].1, "first packet of the talkspurt has the marker");
        tone::assert_hears("phone", &call.received_audio(), &[1100.0], &[700.0]);
        assert!(call.received_rtp_count() >= 40);

        call.send_dtmf('5').await.unwrap();
        let events: Vec<_> = uas.drain_rtp().into_iter().filter(|p| p.0 == 101).collect();
        assert_eq!(events.len(), 8, "start, 4 updates, 3 ends");
        assert!(events[0].1 && events.iter().skip(1).all(|e| !e.1));
        assert!(events.iter().all(|e| e.2 == events[0].2 && e.3[0] == 5));
        assert_eq!(events.iter().filter(|e| e.3[1] & 0x80 != 0).count(), 3);

        // Digits sent to the phone are counted once per event.
        let mut writer = RtpWriter::new(0x99, 1, 8000);
        let mut out = [0u8; 64];
        let phone_rtp = call.local_rtp_addr();
        for (end, duration) in [(false, 160), (true, 800), (true, 800), (true, 800)] {
            let mut event = [0u8; 4];
            assert!(chorus_media::dtmf::encode_event(
                '7', end, 10, duration, &mut event
            ));
            let n = writer.write_at(101, !end, 8000, &event, &mut out).unwrap();
            uas.rtp.send_to(&out[..n], phone_rtp).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(call.received_digits(), vec!['7']);

        let (status, body) = call.reinvite("sendonly").await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("a=recvonly"));
        let reinvite = uas.requests("INVITE").pop().unwrap();
        assert!(reinvite.body.contains("a=sendonly"));
        assert_eq!(reinvite.cseq(), Some((2, "INVITE".into())));
        assert!(matches!(
            call.reinvite("sideways").await,
            Err(PhoneError::InvalidDirection(_))
        ));

        assert_eq!(call.hangup().await.unwrap(), 200);
        let acks = uas.requests("ACK");
        assert_eq!(acks.len(), 2);
        assert!(acks.iter().all(|a| a.to_tag().as_deref() == Some("uastag")));
        let bye = uas.requests("BYE").pop().unwrap();
        assert_eq!(bye.cseq(), Some((3, "BYE".into())));
        assert_eq!(bye.to_tag().as_deref(), Some("uastag"));
    })
    .await;
}

#[tokio::test]
async fn far_end_bye_and_options_are_answered() {
    bounded(async {
        let uas = Uas::start(Script::Answer, false).await;
        let call = dial(uas.addr, "conf", DialOptions::default())
            .await
            .unwrap();
        assert!(!call.wait_for_bye(Duration::from_millis(100)).await);
        let invite = uas.requests("INVITE").pop().unwrap();
        uas.request_to_phone("OPTIONS", &invite).await;
        uas.request_to_phone("BYE", &invite).await;
        assert!(call.wait_for_bye(Duration::from_secs(3)).await);
        assert!(call.got_bye());
        assert_eq!(call.received_requests(), vec!["OPTIONS", "BYE"]);
        // The UAS task records the phone's 200s as (status-only) messages.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let oks = lock(&uas.seen)
            .iter()
            .filter(|m| m.status() == Some(200))
            .count();
        assert_eq!(oks, 2);
    })
    .await;
}

#[tokio::test]
async fn rejection_is_acknowledged_on_the_invite_branch() {
    bounded(async {
        let uas = Uas::start(Script::Reject(486), false).await;
        let err = dial(uas.addr, "busy", DialOptions::default())
            .await
            .err()
            .unwrap();
        match err {
            PhoneError::Rejected {
                status,
                reason,
                provisional,
            } => {
                assert_eq!(
                    (status, reason.as_str(), provisional),
                    (486, "Busy Here", vec![100])
                );
            }
            other => panic!("unexpected {other}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let invite = uas.requests("INVITE").pop().unwrap();
        let ack = uas.requests("ACK").pop().expect("ACK for 486");
        assert_eq!(ack.via_branch(), invite.via_branch());
        assert_eq!(ack.cseq(), Some((1, "ACK".into())));
    })
    .await;
}

/// What [`invite_then_cancel`] sees from a far end that rang (100, 180)
/// and honoured the CANCEL (200, then 487 to the INVITE).
pub(super) fn rang_then_cancelled() -> CancelOutcome {
    CancelOutcome {
        provisional: vec![100, 180],
        cancel_status: 200,
        invite_status: 487,
    }
}

#[tokio::test]
async fn cancel_gets_200_and_487() {
    bounded(async {
        let uas = Uas::start(Script::Ring, false).await;
        let outcome = invite_then_cancel(uas.addr, "conf", Duration::from_millis(200))
            .await
            .unwrap();
        assert_eq!(outcome, rang_then_cancelled());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(uas.requests("ACK").len(), 1);
        let cancel = uas.requests("CANCEL").pop().unwrap();
        assert_eq!(cancel.via_branch(), uas.requests("INVITE")[0].via_branch());
    })
    .await;
}

#[tokio::test]
async fn options_and_raw_datagrams() {
    bounded(async {
        let uas = Uas::start(Script::Answer, false).await;
        assert_eq!(options(uas.addr, Duration::from_secs(2)).await, Some(200));
        let raw = b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKraw\r\n\
                    CSeq: 9 OPTIONS\r\nCall-ID: raw\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\n\r\n";
        let reply = send_raw(uas.addr, raw, Duration::from_secs(2)).await.unwrap();
        assert!(reply.starts_with("SIP/2.0 200"), "{reply}");
        // Nobody listens on a freshly closed port: nothing comes back.
        let dead = StdUdp::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        assert_eq!(send_raw(dead, b"junk", Duration::from_millis(200)).await, None);
        assert_eq!(options(dead, Duration::from_millis(300)).await, None);
    })
    .await;
}

#[tokio::test]
async fn ptime_option_sets_the_offer_and_every_packet_sent() {
    bounded(async {
        let uas = Uas::start(Script::Answer, false).await;
        let opts = DialOptions {
            ptime_ms: 30,
            ..DialOptions::with_tone(700.0)
        };
        let call = dial(uas.addr, "conf", opts).await.unwrap();
        let invite = uas.requests("INVITE").pop().unwrap();
        assert!(invite.body.contains("a=ptime:30\r\n"), "{}", invite.body);
        assert_eq!(invite.body.matches("a=ptime:").count(), 1);
        tokio::time::sleep(Duration::from_millis(600)).await;

        let sent: Vec<_> = uas.drain_rtp().into_iter().filter(|p| p.0 == 0).collect();
        assert!(sent.len() >= 10, "{} packets", sent.len());
        assert!(sent.iter().all(|p| p.3.len() == 240), "30 ms of PCMU each");
        assert!(sent.windows(2).all(|w| w[1].2.wrapping_sub(w[0].2) == 240));
        tone::assert_hears("fake UAS", &pcmu_audio(&sent), &[700.0], &[1100.0]);

        // The UAS sends 20 ms packets: the phone records each one's fields.
        let got = call.received_packets();
        assert!(got.len() >= 10, "{} packets", got.len());
        assert!(got.iter().all(|p| p.payload_len == 160));
        assert!(
            got.windows(2)
                .all(|w| w[1].timestamp.wrapping_sub(w[0].timestamp) == 160
                    && w[1].sequence.wrapping_sub(w[0].sequence) == 1
                    && w[1].at >= w[0].at)
        );

        // A digit at 30 ms: durations grow by 240 per update.
        call.send_dtmf('4').await.unwrap();
        let events: Vec<_> = uas.drain_rtp().into_iter().filter(|p| p.0 == 101).collect();
        let durations: Vec<u16> = events
            .iter()
            .map(|e| u16::from_be_bytes([e.3[2], e.3[3]]))
            .collect();
        assert_eq!(durations, [240, 480, 720, 960, 1200, 1200, 1200, 1200]);
        let _ = call.hangup().await;
    })
    .await;
}

#[tokio::test]
async fn a_digit_can_lose_all_its_end_packets() {
    bounded(async {
        let uas = Uas::start(Script::Answer, false).await;
        let call = dial(uas.addr, "conf", DialOptions::default())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        call.send_dtmf_without_end('8').await.unwrap();
        let events: Vec<_> = uas.drain_rtp().into_iter().filter(|p| p.0 == 101).collect();
        assert_eq!(events.len(), 5, "start and 4 updates, no end");
        assert!(events.iter().all(|e| e.3[0] == 8 && e.3[1] & 0x80 == 0));
        assert!(events.iter().all(|e| e.2 == events[0].2));
        // The phone goes on with audio after the cut-off event.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = uas.drain_rtp();
        assert!(!after.is_empty() && after.iter().all(|p| p.0 == 0));
        let _ = call.hangup().await;
    })
    .await;
}
