//! Property tests: network input never panics, and the jitter buffer plays
//! every stored frame exactly once, in order, under loss, reordering and
//! duplication.

use chorus_media::dtmf::DtmfReceiver;
use chorus_media::jitter::{JitterBuffer, JitterConfig, Playout, PushOutcome};
use chorus_media::rtp::{RtpPacket, RtpWriter};
use chorus_media::sdp::{self, LocalMedia, SessionDescription};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

proptest! {
    #[test]
    fn rtp_parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = RtpPacket::parse(&data) {
            prop_assert!(p.payload.len() + 12 <= data.len());
            prop_assert!(p.payload_type < 128);
        }
    }

    #[test]
    fn rtp_writer_output_parses_back(
        ssrc in any::<u32>(), seq in any::<u16>(), ts in any::<u32>(),
        pt in 0u8..128, marker in any::<bool>(),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut w = RtpWriter::new(ssrc, seq, ts);
        let mut buf = [0u8; 400];
        let n = w.write(pt, marker, &payload, 160, &mut buf).unwrap();
        match RtpPacket::parse(&buf[..n]) {
            Ok(p) => {
                prop_assert_eq!((p.ssrc, p.sequence, p.timestamp, p.payload_type, p.marker), (ssrc, seq, ts, pt, marker));
                prop_assert_eq!(p.payload, &payload[..]);
            }
            // Marker + PT 72..=76 is indistinguishable from RTCP (RFC 5761 §4).
            Err(e) => prop_assert!(marker && (72..=76).contains(&pt), "{e:?}"),
        }
    }

    #[test]
    fn dtmf_receiver_never_panics(
        packets in proptest::collection::vec(
            (0u32..3, any::<u32>(), proptest::collection::vec(any::<u8>(), 0..8)), 0..60),
    ) {
        let mut rx = DtmfReceiver::new(8000);
        for (ssrc, ts, payload) in &packets {
            let p = RtpPacket { marker: false, payload_type: 101, sequence: 0, timestamp: *ts, ssrc: *ssrc, payload };
            if let Some(e) = rx.on_packet(0, &p) {
                prop_assert!("0123456789*#ABCD".contains(e.digit));
            }
        }
        let _ = rx.flush();
    }

    /// However one source's event packets arrive (any order, any loss,
    /// repeats, any arrival times) and whenever the receiver is polled, no
    /// event is reported twice. Timestamps stay far from wrapping, where an
    /// old event's timestamp could honestly come round again.
    #[test]
    fn dtmf_receiver_reports_each_event_at_most_once(
        packets in proptest::collection::vec(
            (0u32..6, any::<bool>(), 0u64..400, any::<bool>()), 0..80),
    ) {
        let mut rx = DtmfReceiver::new(8000);
        let mut now = 0u64;
        let mut reported = Vec::new();
        for &(event, end, gap_ms, poll) in &packets {
            now += gap_ms;
            let payload = [event as u8, if end { 0x80 } else { 0 }, 0, 160];
            let p = RtpPacket { marker: false, payload_type: 101, sequence: 0, timestamp: event * 1000, ssrc: 3, payload: &payload };
            reported.extend(rx.on_packet(now, &p).map(|e| e.timestamp));
            if poll {
                reported.extend(rx.poll(now).map(|e| e.timestamp));
            }
        }
        reported.extend(rx.poll(now + 1000).map(|e| e.timestamp));
        reported.extend(rx.flush().map(|e| e.timestamp));
        let mut unique = reported.clone();
        unique.dedup();
        unique.sort_unstable();
        unique.dedup();
        prop_assert_eq!(unique.len(), reported.len(), "{:?}", reported);
    }

    #[test]
    fn sdp_parse_never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = SessionDescription::parse(&text);
    }

    #[test]
    fn sdp_parse_and_answer_never_panic_on_sdp_like_text(
        lines in proptest::collection::vec(prop_oneof![
            Just("v=0".to_owned()),
            Just("o=- 1 1 IN IP4 10.0.0.1".to_owned()),
            Just("c=IN IP4 10.0.0.1".to_owned()),
            Just("c=IN IP4 0.0.0.0".to_owned()),
            Just("a=sendonly".to_owned()),
            Just("a=inactive".to_owned()),
            "m=(audio|video) [0-9]{1,6}(/2)? RTP/(AVP|SAVP)( [0-9]{1,3}){0,4}",
            "a=rtpmap:[0-9]{1,3} (PCMU|PCMA|telephone-event|G729)/[0-9]{1,5}(/[0-9])?",
            "a=(fmtp|ptime):[0-9 -]{0,6}",
            "[a-z]=[ -~]{0,20}",
        ], 0..16),
        crlf in any::<bool>(),
    ) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        if let Ok(offer) = SessionDescription::parse(&text) {
            let local = LocalMedia { address: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 4000, session_id: 1, session_version: 1 };
            if let Ok((_, answer)) = sdp::answer(&offer, &local) {
                let parsed = SessionDescription::parse(&answer).unwrap();
                prop_assert_eq!(parsed.media.len(), offer.media.len());
                prop_assert!(sdp::negotiated_from_answer(&parsed).is_ok());
            }
            let _ = sdp::negotiated_from_answer(&offer);
        }
    }

    #[test]
    fn jitter_buffer_plays_each_stored_frame_once_in_order(
        first_seq in any::<u16>(),
        first_ts in any::<u32>(),
        frames in proptest::collection::vec((0u8..100, 0u64..150, 0u8..100, 0u64..150), 1..150),
        phase in 0u64..20,
    ) {
        // Each frame: (drop roll, delay, duplicate roll, duplicate delay).
        let mut arrivals: Vec<(u64, u16)> = Vec::new();
        for (i, &(drop, delay, dup, dup_delay)) in frames.iter().enumerate() {
            let sent = i as u64 * 20 + phase;
            if drop >= 10 {
                arrivals.push((sent + delay, i as u16));
            }
            if dup < 10 {
                arrivals.push((sent + dup_delay, i as u16));
            }
        }
        arrivals.sort_by_key(|a| a.0);

        let mut jb = JitterBuffer::new(JitterConfig::default());
        let mut stored = vec![0u32; frames.len()];
        let mut played = vec![0u32; frames.len()];
        let mut last_played: Option<u16> = None;
        let mut next = 0;
        let ticks = frames.len() as u64 + 20;
        for tick in 1..=ticks {
            let now = tick * 20;
            while next < arrivals.len() && arrivals[next].0 <= now {
                let (at, index) = arrivals[next];
                let seq = first_seq.wrapping_add(index);
                let ts = first_ts.wrapping_add(u32::from(index) * 160);
                let body = index.to_be_bytes();
                let p = RtpPacket { marker: false, payload_type: 0, sequence: seq, timestamp: ts, ssrc: 9, payload: &body };
                let outcome = jb.push(at, &p);
                prop_assert_ne!(outcome, PushOutcome::Reset);
                if outcome == PushOutcome::Stored {
                    stored[usize::from(index)] += 1;
                }
                next += 1;
            }
            if let Playout::Frame { payload, .. } = jb.pop(now) {
                let index = u16::from_be_bytes([payload[0], payload[1]]);
                prop_assert!(last_played.is_none_or(|l| l < index), "out of order: {index} after {last_played:?}");
                last_played = Some(index);
                played[usize::from(index)] += 1;
            }
        }
        // Drain whatever is left.
        for tick in ticks + 1..ticks + 60 {
            if let Playout::Frame { payload, .. } = jb.pop(tick * 20) {
                let index = u16::from_be_bytes([payload[0], payload[1]]);
                prop_assert!(last_played.is_none_or(|l| l < index));
                last_played = Some(index);
                played[usize::from(index)] += 1;
            }
        }
        let stats = jb.stats();
        for i in 0..frames.len() {
            prop_assert!(stored[i] <= 1, "frame {i} stored twice");
            prop_assert!(played[i] <= stored[i], "frame {i} played without being stored");
        }
        let stored_total: u32 = stored.iter().sum();
        let played_total: u32 = played.iter().sum();
        prop_assert_eq!(u64::from(played_total) + stats.dropped, u64::from(stored_total), "{:?}", stats);
        prop_assert_eq!(stats.buffered_frames, 0);
    }
}
