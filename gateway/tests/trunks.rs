//! SIP trunks (`[[trunks]]`) over real SIP: Add Participant dials a phone
//! number through a trunk that challenges with 407 (SIPp checks our digest
//! answer, the number as the trunk's rules rewrite it and the From domain),
//! fails over from a trunk that answers 503 to the next, and skips a trunk
//! its OPTIONS pings find down.

mod common;

use std::time::{Duration, Instant};

use chorus_tests::daemon::Chorusd;
use chorus_tests::http::AppServer;
use chorus_tests::peers::{Scratch, sipp_answer, sipp_callee};
use chorus_tests::phone::{Call, Callee, CalleeOptions};
use chorus_tests::ports;
use chorus_tests::tone::assert_hears;
use common::{add_participant, chorusd_bin, listen, support_desk_app};

const CUSTOMER: f32 = 400.0;
const AGENT: f32 = 700.0;

/// chorusd with `trunks` (TOML `[[trunks]]` tables) in its config file,
/// whose answer document puts callers in MPC `support` as customers.
async fn start(dir: &Scratch, trunks: &str) -> (AppServer, Chorusd) {
    let app = support_desk_app().await;
    let config = dir.path("chorusd.toml");
    std::fs::write(&config, trunks).unwrap();
    let answer_url = app.url("/answer");
    let chorus = Chorusd::start_with_args(
        chorusd_bin(),
        &["--config", config.to_str().unwrap()],
        &[("CHORUS_INBOUND__ANSWER_URL", answer_url.as_str())],
    )
    .await;
    (app, chorus)
}

async fn customer_calls_in(chorus: &Chorusd) -> Call {
    common::customer_calls_in(chorus, CUSTOMER).await
}

/// Adds an agent at `number`; asserts the request was taken.
async fn add_agent(chorus: &Chorusd, number: &str) {
    let body = serde_json::json!({
        "role": "Agent", "from": "15550001111", "to": number, "enter_sound": "none",
    });
    let (status, added) = add_participant(chorus, "support", &body).await;
    assert_eq!(status, 201, "{added}");
}

/// A trunk that challenges the INVITE with 407, then takes it only with
/// the right digest answer (`EXPECTED`, put in by [`challenging_trunk`],
/// with `BYE_OK`),
/// the rewritten number in the Request-URI and our From domain; answers,
/// echoes RTP, expects BYE. A check that fails fails SIPp's call.
const CHALLENGING_TRUNK: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="challenging trunk">
<recv request="INVITE">
  <action>
    <ereg regexp="^INVITE sip:0015551234567@" search_in="msg" check_it="true" assign_to="ruri"/>
    <ereg regexp="@pbx\.example" search_in="hdr" header="From:" check_it="true" assign_to="domain"/>
  </action>
</recv>
<send><![CDATA[
SIP/2.0 407 Proxy Authentication Required
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Proxy-Authenticate: Digest realm="carrier.example", nonce="4f6e6f6e6365", algorithm=MD5
X-Checked: [$ruri] [$domain]
Content-Length: 0
]]></send>
<recv request="ACK"/>
<recv request="INVITE">
  <action>
    <ereg regexp="Digest username=\"acct\".*response=\"EXPECTED\"" search_in="hdr" header="Proxy-Authorization:" check_it="true" assign_to="auth"/>
  </action>
</recv>
<send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag02[call_number]
[last_Call-ID:]
[last_CSeq:]
X-Auth: [$auth]
Contact: <sip:trunk@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=trunk 1 1 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
<recv request="ACK"/>
<recv request="BYE"/>
BYE_OK
</scenario>
"#;

/// The scenario, with the one right answer to its challenge (RFC 2617
/// without qop, as the 407 offers none): MD5(HA1:nonce:HA2).
fn challenging_trunk(sip_port: u16) -> String {
    let md5 = |text: String| -> String {
        use md5::{Digest as _, Md5};
        Md5::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let ha1 = md5("acct:carrier.example:s3cret".to_owned());
    let ha2 = md5(format!("INVITE:sip:0015551234567@127.0.0.1:{sip_port}"));
    let expected = md5(format!("{ha1}:4f6e6f6e6365:{ha2}"));
    CHALLENGING_TRUNK
        .replace("EXPECTED", &expected)
        .replace("BYE_OK", &sipp_answer("200 OK", ""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_is_dialled_through_a_trunk_that_challenges_with_407() {
    let dir = Scratch::new("trunk407");
    let scenario = dir.path("trunk.xml");
    let sip_port = ports::udp();
    std::fs::write(&scenario, challenging_trunk(sip_port)).unwrap();
    let trunks = format!(
        r#"[[trunks]]
name = "carrier"
proxy = "127.0.0.1:{sip_port}"
username = "acct"
password = "s3cret"
from_domain = "pbx.example"
prefixes = "+1"
strip = 1
add = "00"
ping_interval = 0
"#
    );
    let (_app, chorus) = start(&dir, &trunks).await;
    let (_, mut sipp) = sipp_callee(
        &["-sf", scenario.to_str().unwrap(), "-rtp_echo"],
        Some(sip_port),
    );
    let customer = customer_calls_in(&chorus).await;
    add_agent(&chorus, "+15551234567").await;
    let heard = listen(&[&customer], 1500, 1500).await;
    // The trunk echoes: the customer hears itself only through it.
    assert_hears("customer", &heard[0], &[CUSTOMER], &[]);
    customer.hangup().await.unwrap();
    let status = tokio::task::spawn_blocking(move || sipp.wait(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(
        status.is_some_and(|s| s.success()),
        "the trunk saw our digest answer, the number, the From domain and our BYE \
         ({status:?}); chorusd log:\n{}",
        chorus.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_that_answers_503_hands_the_call_to_the_next() {
    let dir = Scratch::new("trunk503");
    let failing = Callee::listen(CalleeOptions::decline(503)).await.unwrap();
    let mut working = Callee::listen(CalleeOptions::answer_with_tone(AGENT))
        .await
        .unwrap();
    let trunks = format!(
        "[[trunks]]\nname = \"first\"\nproxy = \"{}\"\nping_interval = 0\n\
         [[trunks]]\nname = \"second\"\nproxy = \"{}\"\nping_interval = 0\n",
        failing.sip_addr(),
        working.sip_addr()
    );
    let (_app, chorus) = start(&dir, &trunks).await;
    let customer = customer_calls_in(&chorus).await;
    add_agent(&chorus, "445551234").await;
    let agent = working.answered(Duration::from_secs(10)).await.unwrap();
    assert!(
        failing.record().invite.is_some(),
        "the first trunk was tried"
    );
    assert_eq!(
        working.record().request_uri(),
        Some(format!("sip:445551234@{}", working.sip_addr()).as_str())
    );
    let heard = listen(&[&customer, &agent], 500, 1000).await;
    assert_hears("customer", &heard[0], &[AGENT], &[CUSTOMER]);
    assert_hears("agent", &heard[1], &[CUSTOMER], &[AGENT]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_its_pings_find_down_is_skipped() {
    let dir = Scratch::new("trunkdown");
    // A "trunk" that reads what comes and never answers.
    let silent = std::net::UdpSocket::bind(("127.0.0.1", ports::udp())).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut working = Callee::listen(CalleeOptions::answer_with_tone(AGENT))
        .await
        .unwrap();
    let trunks = format!(
        "[[trunks]]\nname = \"silent\"\nproxy = \"{}\"\nping_interval = 1\n\
         [[trunks]]\nname = \"working\"\nproxy = \"{}\"\nping_interval = 0\n",
        silent.local_addr().unwrap(),
        working.sip_addr()
    );
    let (_app, chorus) = start(&dir, &trunks).await;
    let deadline = Instant::now() + Duration::from_secs(12);
    while !chorus.log().contains("trunk down") {
        assert!(
            Instant::now() < deadline,
            "the silent trunk is never marked down:\n{}",
            chorus.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let customer = customer_calls_in(&chorus).await;
    add_agent(&chorus, "445551234").await;
    let agent = working.answered(Duration::from_secs(10)).await.unwrap();
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    while let Ok(n) = silent.recv(&mut buf) {
        seen.push(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_owned(),
        );
    }
    assert!(
        seen.iter().all(|line| line.starts_with("OPTIONS ")),
        "only pings reach the down trunk, no INVITE: {seen:?}"
    );
    let heard = listen(&[&customer, &agent], 500, 1000).await;
    assert_hears("customer", &heard[0], &[AGENT], &[CUSTOMER]);
}
