//! The little SDP a leg needs: one PCMU audio stream at its RTP socket
//! out (rtpengine's offers and answers), and the audio address of the
//! server's SDP back (rtpengine's replies, chorusd's 200 OKs).

use std::net::{IpAddr, SocketAddr};

/// An offer or answer for one `sendrecv` PCMU stream at `rtp`.
pub fn audio(rtp: SocketAddr, session: usize) -> String {
    let (family, ip) = match rtp.ip() {
        IpAddr::V4(ip) => ("IP4", ip.to_string()),
        IpAddr::V6(ip) => ("IP6", ip.to_string()),
    };
    format!(
        "v=0\r\n\
         o=- {session} 1 IN {family} {ip}\r\n\
         s=chorus-load\r\n\
         c=IN {family} {ip}\r\n\
         t=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=sendrecv\r\n",
        port = rtp.port()
    )
}

/// Where the first audio stream of `sdp` receives: its `m=audio` port at
/// the `c=` address in force for it (its own, else the session's).
pub fn audio_address(sdp: &str) -> Result<SocketAddr, String> {
    let (mut session_ip, mut audio_ip, mut port) = (None, None, None);
    // Which section a line is in: the session's (None), the audio
    // stream's (Some(true)) or another stream's (Some(false)).
    let mut in_audio = None;
    for line in sdp.lines().map(str::trim_end) {
        if let Some(media) = line.strip_prefix("m=") {
            if port.is_some() {
                break; // the next stream's lines are not ours
            }
            let rest = media.strip_prefix("audio ");
            in_audio = Some(rest.is_some());
            port = rest.map(media_port).transpose()?;
        } else if let Some(connection) = line.strip_prefix("c=") {
            match in_audio {
                None => session_ip = Some(connection_address(connection)?),
                Some(true) => audio_ip = Some(connection_address(connection)?),
                Some(false) => {}
            }
        }
    }
    match (audio_ip.or(session_ip), port) {
        (_, None) => Err("the SDP has no audio stream".into()),
        (None, _) => Err("the SDP has no c= address".into()),
        (_, Some(0)) => Err("the audio stream was rejected (port 0)".into()),
        (Some(ip), Some(port)) => Ok(SocketAddr::new(ip, port)),
    }
}

fn media_port(rest: &str) -> Result<u16, String> {
    rest.split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("bad m=audio line: m=audio {rest}"))
}

/// `IN IP4 127.0.0.1` (a multicast `/ttl` suffix ignored).
fn connection_address(connection: &str) -> Result<IpAddr, String> {
    connection
        .split_whitespace()
        .nth(2)
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("bad c= line: c={connection}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_describes_the_leg_and_reads_back() {
        let rtp: SocketAddr = "127.0.0.1:34000".parse().unwrap();
        let sdp = audio(rtp, 3);
        assert!(sdp.contains("c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 34000 RTP/AVP 0\r\n"));
        assert!(sdp.contains("a=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"));
        assert_eq!(audio_address(&sdp), Ok(rtp));
    }

    #[test]
    fn rtpengines_reply_gives_its_port() {
        // An answer as rtpengine 10.5 wrote it.
        let reply = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                     m=audio 20008 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\na=rtcp:20009\r\n";
        assert_eq!(audio_address(reply), Ok("127.0.0.1:20008".parse().unwrap()));
    }

    #[test]
    fn a_media_level_address_wins_and_later_streams_are_ignored() {
        let sdp = "c=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 127.0.0.2\r\n\
                   m=video 5000 RTP/AVP 96\r\nc=IN IP4 10.9.9.9\r\n";
        assert_eq!(audio_address(sdp), Ok("127.0.0.2:4000".parse().unwrap()));
        // Another stream's address before the audio is not the audio's.
        let sdp = "c=IN IP4 127.0.0.1\r\nm=video 5000 RTP/AVP 96\r\nc=IN IP4 10.9.9.9\r\n\
                   m=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(audio_address(sdp), Ok("127.0.0.1:4000".parse().unwrap()));
    }

    #[test]
    fn unusable_sdp_says_why() {
        assert!(audio_address("").unwrap_err().contains("no audio"));
        assert!(
            audio_address("m=audio 4000 RTP/AVP 0\r\n")
                .unwrap_err()
                .contains("no c=")
        );
        let rejected = "c=IN IP4 127.0.0.1\r\nm=audio 0 RTP/AVP 0\r\n";
        assert!(audio_address(rejected).unwrap_err().contains("port 0"));
        assert!(audio_address("c=IN IP4 nowhere\r\nm=audio 1 RTP/AVP 0\r\n").is_err());
        assert!(audio_address("c=IN IP4 127.0.0.1\r\nm=audio x RTP/AVP 0\r\n").is_err());
    }

    #[test]
    fn an_answers_audio_address_is_its_connection_and_port() {
        let sdp = "v=0\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 20002 RTP/AVP 0\r\n";
        assert_eq!(
            audio_address(sdp).ok(),
            Some("127.0.0.1:20002".parse().unwrap())
        );
        assert_eq!(
            audio_address("v=0\r\nm=audio 20002 RTP/AVP 0\r\n").ok(),
            None
        );
        assert_eq!(
            audio_address("c=IN IP4 127.0.0.1\r\nm=audio x RTP/AVP 0").ok(),
            None
        );
    }
}
