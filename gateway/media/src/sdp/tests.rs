use super::*;
use crate::g711::Law;
use std::net::{Ipv4Addr, Ipv6Addr};

fn local() -> LocalMedia {
    LocalMedia {
        address: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5)),
        port: 30000,
        session_id: 42,
        session_version: 1,
    }
}

fn crlf(s: &str) -> String {
    s.lines().map(|l| format!("{}\r\n", l.trim())).collect()
}

const LINPHONE: &str = "v=0
o=linphone 123 456 IN IP4 192.168.1.10
s=Talk
c=IN IP4 192.168.1.10
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
";

const BARESIP: &str = "v=0
o=- 1234 5678 IN IP4 10.0.0.2
s=-
c=IN IP4 10.0.0.2
t=0 0
m=audio 10000 RTP/AVP 8 0 101
b=AS:64
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=ptime:20
";

const SIPP: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
";

#[test]
fn linphone_offer_picks_pcmu_and_8k_telephone_event() {
    let offer = SessionDescription::parse(&crlf(LINPHONE)).unwrap();
    let (n, text) = answer(&offer, &local()).unwrap();
    assert_eq!(
        (n.law, n.payload_type, n.telephone_event),
        (Law::Ulaw, 0, Some(100))
    );
    assert_eq!(n.remote_rtp, "192.168.1.10:7078".parse().unwrap());
    assert_eq!(
        (n.remote_direction, n.local_direction),
        (Direction::SendRecv, Direction::SendRecv)
    );
    assert_eq!(n.ptime_ms, 20);
    assert!(text.contains("m=audio 30000 RTP/AVP 0 100\r\n"), "{text}");
    assert!(text.contains("a=rtpmap:0 PCMU/8000\r\n"));
    assert!(text.contains("a=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-16\r\n"));
    assert!(text.contains("a=ptime:20\r\na=sendrecv\r\n"));
    assert!(text.starts_with("v=0\r\no=chorus 42 1 IN IP4 203.0.113.5\r\n"));
    assert!(text.contains("c=IN IP4 203.0.113.5\r\n"));
    assert!(!text.contains('\n') || text.split('\n').all(|l| l.is_empty() || l.ends_with('\r')));
}

#[test]
fn baresip_offer_respects_preference_order() {
    // Bare \n line endings are accepted too.
    let offer = SessionDescription::parse(BARESIP).unwrap();
    let (n, text) = answer(&offer, &local()).unwrap();
    assert_eq!(
        (n.law, n.payload_type, n.telephone_event),
        (Law::Alaw, 8, Some(101))
    );
    assert!(
        text.contains("m=audio 30000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"),
        "{text}"
    );
}

#[test]
fn sipp_offer_without_telephone_event() {
    let offer = SessionDescription::parse(SIPP).unwrap();
    let (n, text) = answer(&offer, &local()).unwrap();
    assert_eq!(
        (n.law, n.payload_type, n.telephone_event),
        (Law::Ulaw, 0, None)
    );
    assert!(text.contains("m=audio 30000 RTP/AVP 0\r\n"));
    assert!(!text.contains("telephone-event"));
}

#[test]
fn static_payload_types_without_rtpmap() {
    let sdp =
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 5000 RTP/AVP 18 8\n";
    let (n, _) = answer(&SessionDescription::parse(sdp).unwrap(), &local()).unwrap();
    assert_eq!((n.law, n.payload_type), (Law::Alaw, 8));
}

#[test]
fn dynamic_pcma_and_telephone_event_at_96_or_101() {
    let sdp = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0
m=audio 5000 RTP/AVP 18 96 101\na=rtpmap:18 G729/8000\na=rtpmap:96 pcma/8000\na=rtpmap:101 Telephone-Event/8000\n";
    let (n, text) = answer(&SessionDescription::parse(sdp).unwrap(), &local()).unwrap();
    assert_eq!(
        (n.law, n.payload_type, n.telephone_event),
        (Law::Alaw, 96, Some(101))
    );
    assert!(
        text.contains("m=audio 30000 RTP/AVP 96 101\r\na=rtpmap:96 PCMA/8000\r\n"),
        "{text}"
    );

    let sdp = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0
m=audio 5000 RTP/AVP 0 96\na=rtpmap:96 telephone-event/8000\na=fmtp:96 0-16\n";
    let (n, text) = answer(&SessionDescription::parse(sdp).unwrap(), &local()).unwrap();
    assert_eq!((n.payload_type, n.telephone_event), (0, Some(96)));
    assert!(text.contains("a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n"));
}

#[test]
fn rtpmap_overrides_static_meaning_and_rejects_wideband() {
    // PT 0 remapped to something else, PCMU/16000 is not G.711.
    let sdp = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0
m=audio 5000 RTP/AVP 0 97 8\na=rtpmap:0 L16/8000\na=rtpmap:97 PCMU/16000\n";
    let (n, _) = answer(&SessionDescription::parse(sdp).unwrap(), &local()).unwrap();
    assert_eq!(n.payload_type, 8);
}

#[test]
fn g729_only_is_no_common_codec() {
    let sdp = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0
m=audio 5000 RTP/AVP 18 101\na=rtpmap:18 G729/8000\na=rtpmap:101 telephone-event/8000\n";
    let offer = SessionDescription::parse(sdp).unwrap();
    assert_eq!(
        answer(&offer, &local()),
        Err(NegotiationError::NoCommonCodec)
    );
}

#[test]
fn no_audio_and_unsupported_transport() {
    let video =
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=video 5002 RTP/AVP 31\n";
    let offer = SessionDescription::parse(video).unwrap();
    assert_eq!(answer(&offer, &local()), Err(NegotiationError::NoAudio));
    let srtp =
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 5000 RTP/SAVP 0\n";
    let offer = SessionDescription::parse(srtp).unwrap();
    assert_eq!(
        answer(&offer, &local()),
        Err(NegotiationError::UnsupportedTransport { media_index: 0 })
    );
}

fn direction_offer(session_attr: &str, media_attr: &str, address: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n{session_attr}m=audio 5000 RTP/AVP 0\r\n{media_attr}"
    )
}

#[test]
fn directions_are_complemented() {
    let cases = [
        ("", "", Direction::SendRecv, Direction::SendRecv),
        (
            "",
            "a=sendonly\r\n",
            Direction::SendOnly,
            Direction::RecvOnly,
        ),
        (
            "",
            "a=recvonly\r\n",
            Direction::RecvOnly,
            Direction::SendOnly,
        ),
        (
            "",
            "a=inactive\r\n",
            Direction::Inactive,
            Direction::Inactive,
        ),
        (
            "a=sendonly\r\n",
            "",
            Direction::SendOnly,
            Direction::RecvOnly,
        ),
        (
            "a=inactive\r\n",
            "a=sendrecv\r\n",
            Direction::SendRecv,
            Direction::SendRecv,
        ),
    ];
    for (session, media, remote, ours) in cases {
        let offer =
            SessionDescription::parse(&direction_offer(session, media, "10.0.0.1")).unwrap();
        let (n, text) = answer(&offer, &local()).unwrap();
        assert_eq!(
            (n.remote_direction, n.local_direction),
            (remote, ours),
            "{session}{media}"
        );
        assert!(
            text.ends_with(&format!("a={}\r\n", ours.as_str())),
            "{text}"
        );
    }
}

#[test]
fn zero_address_is_hold() {
    let offer = SessionDescription::parse(&direction_offer("", "", "0.0.0.0")).unwrap();
    let (n, text) = answer(&offer, &local()).unwrap();
    assert_eq!(
        (n.remote_direction, n.local_direction),
        (Direction::SendOnly, Direction::RecvOnly)
    );
    assert!(text.contains("a=recvonly\r\n"));
    let offer =
        SessionDescription::parse(&direction_offer("", "a=recvonly\r\n", "0.0.0.0")).unwrap();
    let (n, _) = answer(&offer, &local()).unwrap();
    assert_eq!(n.local_direction, Direction::Inactive);
}

#[test]
fn answer_keeps_every_m_line_in_order() {
    let sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r
m=audio 0 RTP/AVP 0\r
m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r
m=audio 5000 RTP/AVP 8\r
c=IN IP4 10.0.0.9\r
a=ptime:30\r
m=audio 5004 RTP/AVP 0\r
m=application 5006 UDP/DTLS/SCTP webrtc-datachannel\r\n";
    let offer = SessionDescription::parse(sdp).unwrap();
    let (n, text) = answer(&offer, &local()).unwrap();
    assert_eq!(n.remote_rtp, "10.0.0.9:5000".parse().unwrap());
    assert_eq!(n.ptime_ms, 30);
    let m_lines: Vec<&str> = text.split("\r\n").filter(|l| l.starts_with("m=")).collect();
    assert_eq!(
        m_lines,
        vec![
            "m=audio 0 RTP/AVP 0",
            "m=video 0 RTP/AVP 96",
            "m=audio 30000 RTP/AVP 8",
            "m=audio 0 RTP/AVP 0",
            "m=application 0 UDP/DTLS/SCTP webrtc-datachannel",
        ]
    );
    let reparsed = SessionDescription::parse(&text).unwrap();
    assert_eq!(reparsed.media.len(), offer.media.len());
}

#[test]
fn packet_time_to_send_follows_ptime_capped_by_maxptime() {
    let offer = |attributes: &str| {
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
             m=audio 5000 RTP/AVP 0\r\n{attributes}"
        );
        let parsed = SessionDescription::parse(&sdp).unwrap();
        (
            parsed.media[0].max_ptime_ms,
            answer(&parsed, &local()).unwrap().0.ptime_ms,
        )
    };
    assert_eq!(offer(""), (None, 20));
    assert_eq!(offer("a=ptime:60\r\n"), (None, 60));
    assert_eq!(offer("a=ptime:60\r\na=maxptime:40\r\n"), (Some(40), 40));
    assert_eq!(offer("a=maxptime:10\r\n"), (Some(10), 10));
    assert_eq!(offer("a=maxptime:150\r\na=ptime:200\r\n"), (Some(150), 120));
    assert_eq!(offer("a=ptime:2\r\na=maxptime:junk\r\n"), (None, 10));
}

#[test]
fn parse_errors() {
    let ok =
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 5000 RTP/AVP 0\n";
    assert!(SessionDescription::parse(ok).is_ok());
    assert_eq!(
        SessionDescription::parse(&ok.replace("v=0\n", "")),
        Err(SdpError::MissingVersion)
    );
    assert_eq!(
        SessionDescription::parse(&ok.replace("o=- 1 1 IN IP4 10.0.0.1\n", "")),
        Err(SdpError::MissingOrigin)
    );
    assert_eq!(
        SessionDescription::parse(&ok.replace("m=audio 5000 RTP/AVP 0\n", "")),
        Err(SdpError::MissingMedia)
    );
    assert_eq!(
        SessionDescription::parse(&ok.replace("c=IN IP4 10.0.0.1\n", "")),
        Err(SdpError::MissingConnection { media_index: 0 })
    );
    assert_eq!(
        SessionDescription::parse(&ok.replace("5000", "70000")),
        Err(SdpError::BadPort { line: 6 })
    );
    assert_eq!(
        SessionDescription::parse(&ok.replace("5000 RTP/AVP 0", "5000")),
        Err(SdpError::BadMedia { line: 6 })
    );
    assert_eq!(
        SessionDescription::parse(&ok.replace("IN IP4 10.0.0.1\nt", "IN IP4 pbx.example\nt")),
        Err(SdpError::BadConnection { line: 4 })
    );
    // A rejected audio line needs no address; junk lines are ignored.
    let relaxed = "v=0\no=x\nm=audio 0 RTP/AVP 0\nnonsense\nz=whatever\na=rtpmap:junk\n";
    assert!(SessionDescription::parse(relaxed).is_ok());
}

#[test]
fn parses_port_count_ipv6_and_attributes() {
    let sdp = "v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nt=0 0
m=audio 5000/2 RTP/AVP 0 101\nc=IN IP6 2001:db8::2\na=rtpmap:101 telephone-event/8000/1\na=fmtp:101 0-15\na=ptime:40\n";
    let s = SessionDescription::parse(sdp).unwrap();
    let m = &s.media[0];
    assert_eq!(m.port, 5000);
    assert_eq!(m.fmtp(101), Some("0-15"));
    assert_eq!(m.rtpmap(101).unwrap().channels, Some(1));
    assert_eq!(m.ptime_ms, Some(40));
    let (n, text) = answer(
        &s,
        &LocalMedia {
            address: IpAddr::V6(Ipv6Addr::LOCALHOST),
            ..local()
        },
    )
    .unwrap();
    assert_eq!(n.remote_rtp, "[2001:db8::2]:5000".parse().unwrap());
    assert!(text.contains("c=IN IP6 ::1\r\n"));
}

#[test]
fn offer_answer_round_trip() {
    let ours = offer(&local(), 101);
    assert_eq!(
        ours,
        "v=0\r\no=chorus 42 1 IN IP4 203.0.113.5\r\ns=chorus\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\n\
         m=audio 30000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    let parsed = SessionDescription::parse(&ours).unwrap();
    let peer = LocalMedia {
        address: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
        port: 40000,
        ..local()
    };
    let (their_view, answer_text) = answer(&parsed, &peer).unwrap();
    assert_eq!(
        (their_view.law, their_view.telephone_event),
        (Law::Ulaw, Some(101))
    );
    let ours_view =
        negotiated_from_answer(&SessionDescription::parse(&answer_text).unwrap()).unwrap();
    assert_eq!(ours_view.remote_rtp, "198.51.100.7:40000".parse().unwrap());
    assert_eq!(
        (
            ours_view.law,
            ours_view.payload_type,
            ours_view.telephone_event
        ),
        (Law::Ulaw, 0, Some(101))
    );
    assert_eq!(ours_view.local_direction, Direction::SendRecv);
}

#[test]
fn rejected_answer_is_no_audio() {
    let sdp = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 0 RTP/AVP 0\n";
    let s = SessionDescription::parse(sdp).unwrap();
    assert_eq!(negotiated_from_answer(&s), Err(NegotiationError::NoAudio));
}

#[test]
fn multicast_or_broadcast_addresses_are_refused() {
    for address in ["239.1.2.3", "224.0.0.1", "255.255.255.255"] {
        let offer = SessionDescription::parse(&direction_offer("", "", address)).unwrap();
        assert_eq!(
            answer(&offer, &local()).unwrap_err(),
            NegotiationError::GroupAddress { media_index: 0 },
            "{address}"
        );
    }
}
