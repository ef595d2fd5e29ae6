//! Third-party peers for the interop suite: SIPp callers, a baresip softphone,
//! and a tshark capture, with the file formats they need (headerless µ-law
//! for SIPp's `rtp_stream`, WAV for baresip, pcap from tshark).
//!
//! Every process is bounded by its own timeout and killed on drop; everything
//! stays on 127.0.0.1. See `shared/notes/real-peers.md` for the recipes.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chorus_media::g711::Law;
use chorus_media::rtp::RtpPacket;

use crate::tone::{sine, wav_bytes};

/// A scratch directory removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates `$TMPDIR/chorus-<label>-<pid>-<nanos>`.
    pub fn new(label: &str) -> Scratch {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("chorus-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `seconds` of a sine as headerless µ-law (SIPp `rtp_stream` input).
pub fn write_ulaw_tone(path: &Path, hz: f32, seconds: f32) {
    let pcm = sine(hz, 8000, -10.0, (seconds * 8000.0) as usize);
    let mut bytes = vec![0u8; pcm.len()];
    Law::Ulaw.encode(&pcm, &mut bytes);
    std::fs::write(path, bytes).expect("write tone");
}

/// Writes `seconds` of a sine as a 16-bit mono 8 kHz WAV file (baresip `aufile`).
pub fn write_wav_tone(path: &Path, hz: f32, seconds: f32) {
    let pcm = sine(hz, 8000, -10.0, (seconds * 8000.0) as usize);
    std::fs::write(path, wav_bytes(&pcm, 1, 8000)).expect("write wav");
}

/// Reads the samples of a 16-bit PCM WAV file (mono, or the first channel).
pub fn read_wav(path: &Path) -> Option<(u32, Vec<i16>)> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let (mut rate, mut channels, mut pos) = (0u32, 1usize, 12usize);
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().ok()?) as usize;
        let body = &bytes[pos + 8..(pos + 8 + len).min(bytes.len())];
        if id == b"fmt " && body.len() >= 16 {
            channels = usize::from(u16::from_le_bytes([body[2], body[3]])).max(1);
            rate = u32::from_le_bytes(body[4..8].try_into().ok()?);
        } else if id == b"data" {
            let samples = body
                .chunks_exact(2 * channels)
                .map(|f| i16::from_le_bytes([f[0], f[1]]))
                .collect();
            return Some((rate, samples));
        }
        pos += 8 + len + (len % 2);
    }
    None
}

/// One captured RTP packet.
#[derive(Debug, Clone)]
pub struct CapturedRtp {
    /// Capture time, seconds since the epoch.
    pub at: f64,
    /// UDP destination port.
    pub dst_port: u16,
    /// RTP payload type.
    pub payload_type: u8,
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP payload.
    pub payload: Vec<u8>,
}

/// Reads the IPv4/UDP RTP packets of a pcap file (Ethernet or Linux cooked
/// link types, as tshark writes them for `lo` and `any`).
pub fn read_pcap_rtp(path: &Path) -> Vec<CapturedRtp> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    if bytes.len() < 24 {
        return Vec::new();
    }
    let magic = u32::from_le_bytes(bytes[..4].try_into().unwrap_or_default());
    // Little-endian files only: tshark writes the host's byte order.
    let nanos = match magic {
        0xa1b2c3d4 => false,
        0xa1b23c4d => true,
        _ => return Vec::new(),
    };
    let link = u32::from_le_bytes(bytes[20..24].try_into().unwrap_or_default());
    let link_header = match link {
        1 => 14,   // Ethernet
        113 => 16, // Linux cooked (SLL)
        276 => 20, // Linux cooked v2
        0 => 4,    // BSD loopback
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut pos = 24;
    while pos + 16 <= bytes.len() {
        let word = |o: usize| {
            u32::from_le_bytes(bytes[pos + o..pos + o + 4].try_into().unwrap_or_default())
        };
        let (sec, frac, incl) = (word(0), word(4), word(8) as usize);
        let at = f64::from(sec) + f64::from(frac) / if nanos { 1e9 } else { 1e6 };
        let frame = &bytes[pos + 16..(pos + 16 + incl).min(bytes.len())];
        pos += 16 + incl;
        let Some(ip) = frame.get(link_header..) else {
            continue;
        };
        if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
            continue;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let Some(udp) = ip.get(ihl..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        let dst_port = u16::from_be_bytes([udp[2], udp[3]]);
        if let Ok(rtp) = RtpPacket::parse(&udp[8..]) {
            out.push(CapturedRtp {
                at,
                dst_port,
                payload_type: rtp.payload_type,
                sequence: rtp.sequence,
                payload: rtp.payload.to_vec(),
            });
        }
    }
    out
}

/// Decodes the G.711 packets sent to `dst_port` captured within `[from, to]`
/// (absolute capture times), in arrival order.
pub fn decode_stream(packets: &[CapturedRtp], dst_port: u16, from: f64, to: f64) -> Vec<i16> {
    let mut pcm = Vec::new();
    for p in packets
        .iter()
        .filter(|p| p.dst_port == dst_port && p.at >= from && p.at <= to)
    {
        let law = match p.payload_type {
            0 => Law::Ulaw,
            8 => Law::Alaw,
            _ => continue,
        };
        let start = pcm.len();
        pcm.resize(start + p.payload.len(), 0);
        law.decode(&p.payload, &mut pcm[start..]);
    }
    pcm
}

/// A peer process (run under `timeout`), stopped on drop.
pub struct Peer {
    name: String,
    child: Child,
}

impl Peer {
    /// Spawns `command`, panicking with a clear message if the program is
    /// missing (the interop suite needs it installed).
    pub fn spawn(name: &str, command: &mut Command) -> Peer {
        let child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {name} ({e}); install it: apt-get install sip-tester baresip tshark"
            )
        });
        Peer {
            name: name.to_owned(),
            child,
        }
    }

    /// Waits up to `limit` for the process to exit; kills it past that.
    pub fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not finish within {limit:?}; stopping it", self.name);
        self.terminate();
        None
    }

    /// Stops the process now (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        self.terminate();
    }

    /// Stops the process. Peers run under `timeout`, which passes SIGTERM on
    /// to the peer; SIGKILL would orphan the peer and leave its ports taken.
    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Writes a line to the process's stdin (for baresip's menu).
    pub fn type_line(&mut self, line: &str) {
        if let Some(stdin) = self.child.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// Starts a tshark capture of UDP to `ports` on `lo` into `file`, returning
/// once tshark is capturing.
pub fn start_capture(file: &Path, ports: &[u16], seconds: u32) -> Peer {
    let filter = ports
        .iter()
        .map(|p| format!("udp dst port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    let log = file.with_extension("log");
    let mut peer = Peer::spawn(
        "tshark",
        Command::new("timeout")
            .args([
                "-k",
                "2",
                &(seconds + 5).to_string(),
                "tshark",
                "-i",
                "lo",
                "-F",
                "pcap",
                "-q",
            ])
            .arg("-w")
            .arg(file)
            .args(["-f", &filter, "-a", &format!("duration:{seconds}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("tshark log")),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        if said.contains("Capturing on") {
            // tshark prints this just before the capture loop; give it a beat.
            std::thread::sleep(Duration::from_millis(500));
            return peer;
        }
        if let Ok(Some(status)) = peer.child.try_wait() {
            panic!("tshark exited ({status}) before capturing: {said}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "tshark did not start capturing: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

/// A SIPp UAC scenario: INVITE with a PCMU offer, ACK, stream `tone` for
/// `talk_ms`, BYE. Returns the scenario file's path.
pub fn sipp_tone_caller(dir: &Scratch, name: &str, tone: &Path, talk_ms: u32) -> PathBuf {
    let scenario = format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="chorus tone caller">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=ptime:20
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <nop><action><exec rtp_stream="{tone},-1,0"/></action></nop>
  <pause milliseconds="{talk_ms}"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"#,
        tone = tone.display()
    );
    let path = dir.path(&format!("{name}.xml"));
    std::fs::write(&path, scenario).expect("write scenario");
    path
}

/// Starts one SIPp caller dialling `sip:<room>@<chorus>` with `scenario`,
/// using SIP port `sip_port`, media port `media_port` and control port
/// `control_port` (each SIPp needs its own three), over SIPp's `transport`
/// mode: `u1` (UDP) or `t1` (one TCP connection).
pub fn start_sipp(
    scenario: &Path,
    chorus: SocketAddr,
    room: &str,
    sip_port: u16,
    media_port: u16,
    control_port: u16,
    transport: &str,
) -> Peer {
    Peer::spawn(
        "sipp",
        Command::new("timeout")
            .args(["-k", "2", "40", "sipp"])
            .arg(chorus.to_string())
            .arg("-sf")
            .arg(scenario)
            .args(["-s", room, "-i", "127.0.0.1", "-p", &sip_port.to_string()])
            .args(["-mi", "127.0.0.1", "-mp", &media_port.to_string()])
            .args(["-cp", &control_port.to_string(), "-t", transport])
            .args([
                "-m",
                "1",
                "-l",
                "1",
                "-nostdin",
                "-timeout",
                "30",
                "-timeout_error",
            ])
            .args(["-recv_timeout", "10000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// A SIPp scenario's `<send>` that answers the request it just received
/// in a dialog (CANCEL, UPDATE, BYE: its To keeps the tag it has) with
/// `status` and `extra` header lines (each ending in a newline).
pub fn sipp_answer(status: &str, extra: &str) -> String {
    format!(
        "<send><![CDATA[\nSIP/2.0 {status}\n[last_Via:]\n[last_From:]\n[last_To:]\n\
         [last_Call-ID:]\n[last_CSeq:]\n{extra}Content-Length: 0\n]]></send>"
    )
}

/// SIPp as the callee (UAS) of one call on free ports, listening on
/// `sip_port` (a free one if `None`) once this returns: its URI
/// `sip:callee@127.0.0.1:<port>` and the process. `scenario` is
/// `["-sn", "uas", "-rtp_echo"]` or `["-sf", <file>, …]`; it gives up
/// after 25 s.
pub fn sipp_callee(scenario: &[&str], sip_port: Option<u16>) -> (String, Peer) {
    sipp_callee_for(scenario, sip_port, 25)
}

/// [`sipp_callee`] giving up after `limit_secs`.
pub fn sipp_callee_for(
    scenario: &[&str],
    sip_port: Option<u16>,
    limit_secs: u32,
) -> (String, Peer) {
    let sip_port = sip_port.unwrap_or_else(crate::ports::udp);
    let (media_port, _) = crate::ports::udp_range(4);
    let control_port = crate::ports::udp();
    let peer = Peer::spawn(
        "sipp",
        Command::new("timeout")
            .args(["-k", "2", &(limit_secs + 5).to_string(), "sipp"])
            .args(scenario)
            .args(["-i", "127.0.0.1", "-p", &sip_port.to_string()])
            .args(["-mi", "127.0.0.1", "-mp", &media_port.to_string()])
            .args(["-cp", &control_port.to_string()])
            .args(["-m", "1", "-nostdin", "-timeout", &limit_secs.to_string()])
            .arg("-timeout_error")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    // Listening once its port is taken.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::UdpSocket::bind(("127.0.0.1", sip_port)).is_ok() {
        assert!(Instant::now() < deadline, "sipp did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
    (format!("sip:callee@127.0.0.1:{sip_port}"), peer)
}

/// Where Debian's baresip packages install its modules.
const BARESIP_MODULES: &str = "/usr/lib/baresip/modules";

/// A baresip softphone that sends `source_wav` and records what it hears.
pub struct Baresip {
    /// The process.
    pub peer: Peer,
    dir: PathBuf,
}

impl Baresip {
    /// Starts baresip with its own config directory in `scratch`, listening
    /// for SIP on `sip_port` and RTP on `rtp_ports`, with an account that
    /// does not register and answers calls.
    pub fn start(
        scratch: &Scratch,
        source_wav: &Path,
        sip_port: u16,
        rtp_ports: (u16, u16),
    ) -> Baresip {
        let account = format!(
            "<sip:bob@127.0.0.1:{sip_port}>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA"
        );
        Self::start_with_account(scratch, source_wav, sip_port, rtp_ports, &account)
    }

    /// The same with `account` as its one line of baresip's `accounts`
    /// (e.g. `<sip:alice@registrar>;auth_pass=…;regint=60` to register).
    pub fn start_with_account(
        scratch: &Scratch,
        source_wav: &Path,
        sip_port: u16,
        rtp_ports: (u16, u16),
        account: &str,
    ) -> Baresip {
        let dir = scratch.path("baresip");
        let rec = dir.join("rec");
        std::fs::create_dir_all(&rec).expect("baresip dirs");
        let config = format!(
            "module_path\t\t{modules}\n\
             sip_listen\t\t127.0.0.1:{sip_port}\n\
             net_interface\t\t127.0.0.1\n\
             audio_source\t\taufile,{src}\n\
             audio_player\t\taubridge,nil\n\
             audio_alert\t\taubridge,nil\n\
             ausrc_srate\t\t8000\n\
             auplay_srate\t\t8000\n\
             ausrc_channels\t\t1\n\
             auplay_channels\t\t1\n\
             rtp_ports\t\t{lo}-{hi}\n\
             module\t\t\tstdio.so\nmodule\t\t\tg711.so\nmodule\t\t\taufile.so\n\
             module\t\t\taubridge.so\nmodule\t\t\tsndfile.so\n\
             module_tmp\t\tuuid.so\nmodule_tmp\t\taccount.so\n\
             module_app\t\tmenu.so\n\
             snd_path\t\t{rec}\n",
            modules = BARESIP_MODULES,
            src = source_wav.display(),
            lo = rtp_ports.0,
            hi = rtp_ports.1,
            rec = rec.display(),
        );
        std::fs::write(dir.join("config"), config).expect("baresip config");
        std::fs::write(dir.join("accounts"), format!("{account}\n")).expect("baresip accounts");
        let peer = Peer::spawn(
            "baresip",
            Command::new("timeout")
                .args(["-k", "2", "40", "baresip", "-f"])
                .arg(&dir)
                .stdin(Stdio::piped())
                .stdout(std::fs::File::create(dir.join("stdout.log")).expect("log"))
                .stderr(Stdio::null()),
        );
        Baresip { peer, dir }
    }

    /// What baresip printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
    }

    /// The decoded audio baresip heard (sndfile's `dump-*-dec.wav`).
    pub fn heard(&self) -> Vec<i16> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("rec")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .filter_map(|p| read_wav(&p))
            .flat_map(|(_, pcm)| pcm)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_round_trips() {
        let dir = Scratch::new("wav");
        let path = dir.path("t.wav");
        write_wav_tone(&path, 700.0, 0.5);
        let (rate, pcm) = read_wav(&path).unwrap();
        assert_eq!(rate, 8000);
        assert_eq!(pcm.len(), 4000);
        assert!(crate::tone::hears(&pcm, 700.0));
        assert!(!crate::tone::hears(&pcm, 400.0));
    }

    #[test]
    fn pcap_with_one_rtp_packet_is_read() {
        let dir = Scratch::new("pcap");
        let mut rtp = vec![0x80, 0x00, 0x00, 0x07, 0, 0, 0, 160, 0, 0, 0, 1];
        rtp.extend_from_slice(&[0xff; 160]);
        let mut udp = vec![0x17, 0x70, 0x17, 0xd4];
        udp.extend_from_slice(&((8 + rtp.len()) as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(&rtp);
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        ip.extend_from_slice(&udp);
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x08, 0x00]);
        frame.extend_from_slice(&ip);
        let mut file = Vec::new();
        file.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
        file.extend_from_slice(&2u16.to_le_bytes());
        file.extend_from_slice(&4u16.to_le_bytes());
        file.extend_from_slice(&[0; 8]);
        file.extend_from_slice(&65535u32.to_le_bytes());
        file.extend_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&10u32.to_le_bytes());
        file.extend_from_slice(&500_000u32.to_le_bytes());
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(&frame);
        let path = dir.path("one.pcap");
        std::fs::write(&path, file).unwrap();
        let packets = read_pcap_rtp(&path);
        assert_eq!(packets.len(), 1);
        assert_eq!(packets[0].dst_port, 6100);
        assert_eq!(packets[0].sequence, 7);
        assert!((packets[0].at - 10.5).abs() < 1e-9);
        assert_eq!(decode_stream(&packets, 6100, 0.0, 20.0).len(), 160);
    }
}
