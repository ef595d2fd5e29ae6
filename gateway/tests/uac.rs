//! The UAC leg (issue 13 item 1) against SIPp callees: chorus dials an
//! echo callee and hears its own tone come back; a busy callee, one that
//! only rings (CANCEL after the ring timeout), and BYE either way. Each
//! SIPp scenario checks what chorus sent (the From display name, an
//! X-PH header, the CANCEL, the BYE): SIPp exits 0 only if it all came.
//!
//! Signalling and the media plane are built here the way `daemon.rs`
//! builds them; no HTTP API is involved.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chorus_config::SipConfig;
use chorus_gateway::call::outbound::{CallEnd, DialCanceller, DialCause, DialOptions, dial};
use chorus_gateway::media::readiness::ReadySet;
use chorus_gateway::media::{Leg, MediaPlane, RoomSettings};
use chorus_gateway::sip::Signalling;
use chorus_gateway::sip::uac::Dialer;
use chorus_tests::peers::{Peer, Scratch, sipp_answer};
use chorus_tests::tone::{ToneGenerator, assert_hears};
use tokio_util::sync::CancellationToken;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// chorus's side: signalling serving on a free port, and one media worker.
struct Gateway {
    dialer: Dialer,
    media: Arc<MediaPlane>,
    stop: CancellationToken,
}

impl Gateway {
    async fn start() -> Self {
        let sip = SipConfig {
            udp_listen: SocketAddr::new(LOOPBACK, 0),
            tcp_listen: None,
            ..SipConfig::default()
        };
        let stop = CancellationToken::new();
        let signalling = Signalling::start(&sip, stop.clone()).await.unwrap();
        let dialer = signalling.dialer();
        let (calls, _) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(signalling.serve(calls));
        let (min, max) = chorus_tests::ports::udp_range(8);
        let media = MediaPlane::start(1, RoomSettings::default(), LOOPBACK, min, max).unwrap();
        Self {
            dialer,
            media,
            stop,
        }
    }

    fn options(&self, ring_timeout: Duration) -> DialOptions {
        DialOptions {
            from: "alice".into(),
            caller_name: Some("Alice Agent".into()),
            sip_headers: vec![("X-PH-Ticket".into(), "42".into())],
            ring_timeout,
            credentials: None,
            advertised_ip: LOOPBACK,
            canceller: DialCanceller::default(),
            progress: None,
            from_host: None,
            destination: None,
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop.cancel();
        self.media.shutdown();
    }
}

/// A SIPp callee on free ports (see [`chorus_tests::peers::sipp_callee`]).
fn sipp_callee(scenario: &[&str]) -> (String, Peer) {
    chorus_tests::peers::sipp_callee(scenario, None)
}

/// Waits for SIPp to finish and asserts it exited 0 (its scenario passed).
async fn assert_sipp_passed(mut peer: Peer, what: &str) {
    let status = tokio::task::spawn_blocking(move || peer.wait(Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(
        status.is_some_and(|s| s.success()),
        "sipp's scenario failed ({status:?}): {what}"
    );
}

fn scenario(dir: &Scratch, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.path(&format!("{name}.xml"));
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n<scenario name=\"{name}\">\n{body}\n</scenario>\n"
    );
    std::fs::write(&path, xml).unwrap();
    path
}

/// The INVITE must carry our caller name and X-PH header.
const CHECK_INVITE: &str = r#"<recv request="INVITE" rrs="true">
  <action>
    <ereg regexp="\"Alice Agent\" &lt;sip:alice@" search_in="hdr" header="From:" check_it="true" assign_to="name"/>
    <ereg regexp="42" search_in="hdr" header="X-PH-Ticket:" check_it="true" assign_to="ticket"/>
    <ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="seq"/>
    <ereg regexp=".*" search_in="hdr" header="From:" assign_to="caller"/>
    <ereg regexp=".*" search_in="hdr" header="To:" assign_to="callee"/>
  </action>
</recv>"#;

/// A reply to the INVITE, using every variable `CHECK_INVITE` set.
fn reply(status: &str, extra: &str) -> String {
    format!(
        r#"<send><![CDATA[
SIP/2.0 {status}
[last_Via:]
From:[$caller]
To:[$callee];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: [$seq] INVITE
Contact: <sip:callee@[local_ip]:[local_port]>
X-Seen: [$name] [$ticket]
{extra}]]></send>"#
    )
}

const ANSWER_SDP: &str = "Content-Type: application/sdp\nContent-Length: [len]\n\nv=0\no=callee 1 1 IN IP4 [media_ip]\ns=-\nc=IN IP4 [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP 0\na=rtpmap:0 PCMU/8000\n";

/// Drives the leg the way a media worker would for `seconds`, sending a
/// 400 Hz tone; returns what it heard.
fn talk(mut leg: Box<Leg>, seconds: u32) -> Vec<i16> {
    let law = leg.law();
    let mut tone = ToneGenerator::new(400.0, 8000, -10.0);
    let (mut pcm, mut frame, mut heard_frame) = ([0i16; 160], [0u8; 160], [0i16; 160]);
    let mut heard = Vec::new();
    let start = Instant::now();
    for tick in 0..u64::from(seconds) * 50 {
        let due = start + Duration::from_millis(tick * 20);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let now_ms = start.elapsed().as_millis() as u64;
        leg.receive(now_ms, &mut ReadySet::default(), |_| {});
        if !leg.play_out(now_ms, &mut heard_frame) {
            heard_frame.fill(0);
        }
        heard.extend_from_slice(&heard_frame);
        tone.fill(&mut pcm);
        law.encode(&pcm, &mut frame);
        leg.send(&frame);
    }
    heard
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_echo_callee_answers_and_sends_our_tone_back_then_we_hang_up() {
    let gateway = Gateway::start().await;
    let (target, sipp) = sipp_callee(&["-sn", "uas", "-rtp_echo"]);
    let options = gateway.options(Duration::from_secs(10));
    let mut call = dial(&gateway.dialer, &gateway.media, &target, options)
        .await
        .expect("the echo callee answers");
    assert!(
        call.provisional().contains(&180),
        "{:?}",
        call.provisional()
    );
    let leg = call.take_leg().unwrap();
    let heard = tokio::task::spawn_blocking(move || talk(leg, 3))
        .await
        .unwrap();
    // The first half second is the round trip and the jitter buffer.
    assert_hears("the echo", &heard[4000..], &[400.0], &[1100.0]);
    call.hang_up().await;
    assert_sipp_passed(sipp, "the built-in uas expects our BYE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_callee_is_a_busy_line_with_status_486() {
    let gateway = Gateway::start().await;
    let dir = Scratch::new("uac-busy");
    let busy = format!(
        "{CHECK_INVITE}\n{}\n<recv request=\"ACK\"/>",
        reply("486 Busy Here", "Content-Length: 0\n")
    );
    let file = scenario(&dir, "busy", &busy);
    let (target, sipp) = sipp_callee(&["-sf", file.to_str().unwrap()]);
    let failure = dial(
        &gateway.dialer,
        &gateway.media,
        &target,
        gateway.options(Duration::from_secs(10)),
    )
    .await
    .err()
    .expect("a busy callee does not answer");
    assert_eq!(failure.status, Some(486));
    assert_eq!(failure.cause, DialCause::Busy);
    assert_eq!(failure.cause.info().cause, "Busy Line");
    assert_sipp_passed(sipp, "the INVITE's From and X-PH header, the ACK").await;
}

/// A callee that rings until CANCELled, and answers the CANCEL.
fn ringing_callee(dir: &Scratch) -> (String, Peer) {
    let ring = format!(
        r#"{CHECK_INVITE}
{}
<recv request="CANCEL"/>
{}
{}
<recv request="ACK"/>"#,
        reply("180 Ringing", "Content-Length: 0\n"),
        sipp_answer("200 OK", ""),
        reply("487 Request Terminated", "Content-Length: 0\n"),
    );
    let file = scenario(dir, "ring", &ring);
    sipp_callee(&["-sf", file.to_str().unwrap()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_that_only_rings_is_cancelled_after_the_ring_timeout() {
    let gateway = Gateway::start().await;
    let dir = Scratch::new("uac-ring");
    let (target, sipp) = ringing_callee(&dir);
    let started = Instant::now();
    let dialled = dial(
        &gateway.dialer,
        &gateway.media,
        &target,
        gateway.options(Duration::from_secs(1)),
    );
    let failure = tokio::time::timeout(Duration::from_secs(10), dialled)
        .await
        .expect("the dial ends after its ring timeout")
        .err()
        .expect("nobody answers");
    let took = started.elapsed();
    assert_eq!(failure.cause, DialCause::NoAnswer);
    assert_eq!(failure.cause.info().cause, "No Answer");
    assert_eq!(failure.status, Some(487));
    assert_eq!(failure.provisional, [180]);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_sipp_passed(sipp, "the CANCEL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_that_hangs_up_ends_the_call() {
    let gateway = Gateway::start().await;
    let dir = Scratch::new("uac-bye");
    let bye = format!(
        r#"{CHECK_INVITE}
{}
<recv request="ACK"/>
<pause milliseconds="300"/>
<send><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From:[$callee];tag=[pid]SIPpTag01[call_number]
To:[$caller]
[last_Call-ID:]
CSeq: 1 BYE
Contact: <sip:callee@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
<recv response="200"/>"#,
        reply("200 OK", ANSWER_SDP),
    );
    let file = scenario(&dir, "bye", &bye);
    let (target, sipp) = sipp_callee(&["-sf", file.to_str().unwrap()]);
    let mut call = dial(
        &gateway.dialer,
        &gateway.media,
        &target,
        gateway.options(Duration::from_secs(10)),
    )
    .await
    .expect("the callee answers");
    let ended = tokio::time::timeout(Duration::from_secs(5), call.ended())
        .await
        .expect("the callee's BYE ends the call");
    assert_eq!(ended, CallEnd::ByCallee);
    assert_sipp_passed(sipp, "our 200 to its BYE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dial_that_lost_the_race_is_cancelled_at_once() {
    let gateway = Gateway::start().await;
    let dir = Scratch::new("uac-race");
    let (target, sipp) = ringing_callee(&dir);
    let options = gateway.options(Duration::from_secs(30));
    let canceller = options.canceller.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        canceller.lost_race();
    });
    let dialled = dial(&gateway.dialer, &gateway.media, &target, options);
    let failure = tokio::time::timeout(Duration::from_secs(10), dialled)
        .await
        .expect("the dial ends when cancelled")
        .err()
        .expect("nobody answers");
    assert_eq!(failure.cause, DialCause::LostRace);
    assert_eq!(failure.cause.info().cause, "LOST RACE");
    assert_eq!(failure.status, Some(487));
    assert_sipp_passed(sipp, "the CANCEL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canceller_hangs_up_an_answered_call_with_bye() {
    let gateway = Gateway::start().await;
    let (target, sipp) = sipp_callee(&["-sn", "uas", "-rtp_echo"]);
    let options = gateway.options(Duration::from_secs(10));
    let canceller = options.canceller.clone();
    let mut call = dial(&gateway.dialer, &gateway.media, &target, options)
        .await
        .expect("the echo callee answers");
    canceller.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), call.ended())
        .await
        .expect("the cancel ends the call");
    assert_eq!(ended, CallEnd::Cancelled);
    assert_sipp_passed(sipp, "the built-in uas expects our BYE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_timer_the_callee_sets_with_us_as_refresher_is_refreshed() {
    // RFC 4028's shortest interval is 90 s: our refresh is due at 45 s.
    let gateway = Gateway::start().await;
    let dir = Scratch::new("uac-timer");
    let timer = format!(
        r#"{CHECK_INVITE}
{}
<recv request="ACK"/>
<recv request="UPDATE" timeout="55000">
  <action>
    <ereg regexp="90;refresher=uac" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="refresh"/>
  </action>
</recv>
{}
<recv request="BYE"/>
{}"#,
        reply(
            "200 OK",
            &format!(
                "Session-Expires: 90;refresher=uac\nRequire: timer\nAllow: INVITE, ACK, BYE, CANCEL, UPDATE\n{ANSWER_SDP}"
            )
        ),
        sipp_answer(
            "200 OK",
            "Session-Expires: 90;refresher=uac\nX-Refresh: [$refresh]\n"
        ),
        sipp_answer("200 OK", ""),
    );
    let file = scenario(&dir, "timer", &timer);
    let (target, sipp) =
        chorus_tests::peers::sipp_callee_for(&["-sf", file.to_str().unwrap()], None, 70);
    let options = gateway.options(Duration::from_secs(10));
    let canceller = options.canceller.clone();
    let mut call = dial(&gateway.dialer, &gateway.media, &target, options)
        .await
        .expect("the callee answers");
    let ended = tokio::spawn(async move { call.ended().await });
    // Past the refresh (45 s) and short of expiry: the call still stands.
    tokio::time::sleep(Duration::from_secs(50)).await;
    assert!(!ended.is_finished(), "refreshed, the session lives on");
    canceller.cancel();
    assert_eq!(ended.await.unwrap(), CallEnd::Cancelled);
    assert_sipp_passed(sipp, "our UPDATE at 45 s, then our BYE").await;
}
