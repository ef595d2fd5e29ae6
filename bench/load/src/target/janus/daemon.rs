//! Runs a private Janus for a test or a benchmark: only the AudioBridge
//! plugin and the plain-HTTP transport, every socket on 127.0.0.1, ports
//! from the caller.
//!
//! The configuration is the distribution's own (`/etc/janus`), edited at
//! run time and written into the caller's directory: `janus.jcfg`,
//! `janus.transport.http.jcfg` and `janus.plugin.audiobridge.jcfg`. The
//! edits, and why:
//! - `general.configs_folder` is that directory, so Janus reads these three
//!   files and not `/etc/janus` (the other plugins' files are not needed:
//!   those plugins are disabled);
//! - `plugins.disable` names every plugin but AudioBridge and
//!   `transports.disable` every transport but HTTP (WebSockets, MQTT and the
//!   rest would open their own ports or reach for brokers), and
//!   `loggers.disable` the external loggers (their configuration is absent,
//!   so they would only log errors);
//! - `media.rtp_port_range` and AudioBridge's `rtp_port_range` are the
//!   caller's ranges, so Janus binds nothing outside them (AudioBridge's
//!   default is 10000-60000), and AudioBridge's `local_ip` is 127.0.0.1, the
//!   address its `joined` events hand to plain-RTP participants;
//! - `nat.ice_enforce_list` is 127.0.0.1, so ICE would gather nothing else;
//! - the HTTP transport listens on `127.0.0.1:<http_port>`.
//!
//! Janus starts as `janus -C DIR/janus.jcfg -F DIR -o` (`-o`: no colour
//! codes in its log), with stdout and stderr in `DIR/janus.log`. It is
//! ready when `GET /janus/info` answers and lists AudioBridge, and it is
//! killed when the [`JanusDaemon`] is dropped, a panicking test included.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http;

/// The Janus binary (Debian's `janus` package).
pub const JANUS_BIN: &str = "/usr/bin/janus";
/// The distribution's configuration, which the generated files start from.
pub const JANUS_ETC: &str = "/etc/janus";
/// The one plugin left enabled.
const AUDIOBRIDGE: &str = "libjanus_audiobridge.so";
/// The one transport left enabled.
const HTTP_TRANSPORT: &str = "libjanus_http.so";
/// How long Janus may take to answer `/janus/info`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The UDP ports a Janus may bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpRanges {
    /// The core's range (WebRTC media; unused by plain-RTP participants,
    /// but fenced in all the same).
    pub core: RangeInclusive<u16>,
    /// AudioBridge's plain-RTP participants, one even port each.
    pub audiobridge: RangeInclusive<u16>,
}

/// A running Janus; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct JanusDaemon {
    child: Child,
    http: SocketAddr,
    log: PathBuf,
}

impl JanusDaemon {
    /// Writes the configuration into `dir` (created if needed), starts
    /// Janus with it and waits until its HTTP API answers.
    ///
    /// Fails, with the log's tail, if Janus is not installed, exits, or
    /// does not answer within 10 s.
    pub fn start(dir: &Path, http_port: u16, rtp: &RtpRanges) -> Result<JanusDaemon, String> {
        if !Path::new(JANUS_BIN).exists() {
            return Err(format!(
                "{JANUS_BIN} is missing: install Janus (`apt-get install janus`, Debian 12 has 1.1.2)"
            ));
        }
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        write_configs(dir, http_port, rtp)?;
        let log = dir.join("janus.log");
        let child = spawn(dir, &log)?;
        let mut daemon = JanusDaemon {
            child,
            http: SocketAddr::from(([127, 0, 0, 1], http_port)),
            log,
        };
        daemon.wait_ready()?;
        Ok(daemon)
    }

    /// The HTTP API's address (`http://ADDR/janus`).
    pub fn http(&self) -> SocketAddr {
        self.http
    }

    /// Janus' process id (for reading its CPU time from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything Janus has logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `/janus/info` until it lists AudioBridge, Janus exits, or the
    /// start timeout passes.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failed(&format!("Janus exited ({status})")));
            }
            match http::get(self.http, "/janus/info", Duration::from_millis(500)) {
                Ok(r) if r.status == 200 && r.body.contains("janus.plugin.audiobridge") => {
                    return Ok(());
                }
                Ok(r) => last = format!("HTTP {}: {}", r.status, r.body.trim()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(self.failed(&format!(
            "Janus did not answer with AudioBridge on http://{}/janus/info within {START_TIMEOUT:?} ({last})",
            self.http
        )))
    }

    /// `what`, followed by the end of Janus' log.
    fn failed(&self, what: &str) -> String {
        let log = self.log();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("{what}; log {}:\n{}", self.log.display(), tail.join("\n"))
    }
}

impl Drop for JanusDaemon {
    fn drop(&mut self) {
        // SIGKILL: nothing of Janus' state is worth a clean shutdown, and a
        // test must not hang on one.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path, log: &Path) -> Result<Child, String> {
    let out = File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cloning {}: {e}", log.display()))?;
    Command::new(JANUS_BIN)
        .arg("-C")
        .arg(dir.join("janus.jcfg"))
        .arg("-F")
        .arg(dir)
        .arg("-o")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("starting {JANUS_BIN}: {e}"))
}

/// Writes the three configuration files into `dir`.
fn write_configs(dir: &Path, http_port: u16, rtp: &RtpRanges) -> Result<(), String> {
    let etc = Path::new(JANUS_ETC);
    let main = read(&etc.join("janus.jcfg"))?;
    let folder = |key: &str| {
        setting(&main, "general", key)
            .ok_or_else(|| format!("{JANUS_ETC}/janus.jcfg sets no general.{key}"))
    };
    let plugins = all_but(Path::new(&folder("plugins_folder")?), Some(AUDIOBRIDGE))?;
    let transports = all_but(
        Path::new(&folder("transports_folder")?),
        Some(HTTP_TRANSPORT),
    )?;
    let loggers = all_but(Path::new(&folder("loggers_folder")?), None)?;
    let dir_text = dir.to_str().ok_or("the Janus directory is not UTF-8")?;
    let main = set(&main, "general", &[("configs_folder", quoted(dir_text))])?;
    let main = set(&main, "media", &[("rtp_port_range", range(&rtp.core))])?;
    let main = set(&main, "nat", &[("ice_enforce_list", quoted("127.0.0.1"))])?;
    let main = set(&main, "plugins", &[("disable", quoted(&plugins))])?;
    let main = set(&main, "transports", &[("disable", quoted(&transports))])?;
    let main = set(&main, "loggers", &[("disable", quoted(&loggers))])?;
    write(&dir.join("janus.jcfg"), &main)?;

    let name = "janus.transport.http.jcfg";
    let http = set(
        &read(&etc.join(name))?,
        "general",
        &[
            ("http", "true".into()),
            ("port", http_port.to_string()),
            ("ip", quoted("127.0.0.1")),
        ],
    )?;
    write(&dir.join(name), &http)?;

    let name = "janus.plugin.audiobridge.jcfg";
    let bridge = set(
        &read(&etc.join(name))?,
        "general",
        &[
            ("rtp_port_range", range(&rtp.audiobridge)),
            ("local_ip", quoted("127.0.0.1")),
        ],
    )?;
    write(&dir.join(name), &bridge)
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

fn range(r: &RangeInclusive<u16>) -> String {
    quoted(&format!("{}-{}", r.start(), r.end()))
}

/// The comma-separated `.so` files of `folder`, but `keep`: a `disable`
/// list. Janus loads only names ending in `.so`, so the versioned
/// `.so.1` links need no mention.
fn all_but(folder: &Path, keep: Option<&str>) -> Result<String, String> {
    let entries = fs::read_dir(folder).map_err(|e| format!("listing {}: {e}", folder.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".so") && Some(n.as_str()) != keep)
        .collect();
    if let Some(keep) = keep
        && !folder.join(keep).exists()
    {
        return Err(format!("{} has no {keep}", folder.display()));
    }
    names.sort();
    Ok(names.join(","))
}

/// The lines of `section` in a libconfig (`.jcfg`) text: from the line after
/// `section: {` to the `}` closing it. The distribution's files open each
/// top-level section at the start of a line and close it with a lone `}`
/// there, which is all this relies on.
fn section_lines(lines: &[&str], section: &str) -> Option<(usize, usize)> {
    let head = format!("{section}:");
    let open = lines
        .iter()
        .position(|l| l.starts_with(&head) && l.contains('{'))?;
    let close = (open + 1..lines.len()).find(|&i| lines[i].starts_with('}'))?;
    Some((open, close))
}

/// Whether `line` sets `key` (not a comment).
fn sets(line: &str, key: &str) -> bool {
    line.trim_start().strip_prefix(key).is_some_and(|rest| {
        rest.trim_start().starts_with('=') || rest.trim_start().starts_with(':')
    })
}

/// The value `section.key` is set to, unquoted.
fn setting(text: &str, section: &str, key: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let (open, close) = section_lines(&lines, section)?;
    let line = lines[open + 1..close].iter().find(|l| sets(l, key))?;
    let value = line.split_once(['=', ':'])?.1;
    // Drop a trailing comment, then the quotes.
    let value = value.split('#').next()?.trim().trim_end_matches(';');
    Some(value.trim_matches('"').to_string())
}

/// `text` with each `(key, value)` set in `section`: a line that sets the
/// key is replaced, otherwise the setting goes first in the section (the
/// distribution's examples are comments, which stay). libconfig refuses a
/// key set twice, hence the replacing.
fn set(text: &str, section: &str, settings: &[(&str, String)]) -> Result<String, String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (key, value) in settings {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (open, close) = section_lines(&refs, section)
            .ok_or_else(|| format!("no `{section}: {{ … }}` section to set {key} in"))?;
        let line = format!("\t{key} = {value}");
        match (open + 1..close).find(|&i| sets(&lines[i], key)) {
            Some(i) => lines[i] = line,
            None => lines.insert(open + 1, line),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
general: {
\tconfigs_folder = \"/etc/janus\"\t\t# Configuration files folder
\tprotected_folders = [
\t\t\"/bin\"
\t]
}
media: {
\t#rtp_port_range = \"20000-40000\"
}
plugins: {
}
";

    #[test]
    fn a_set_key_is_replaced_and_an_unset_one_added_first_in_its_section() {
        let out = set(SAMPLE, "general", &[("configs_folder", quoted("/tmp/j"))]).unwrap();
        let out = set(&out, "media", &[("rtp_port_range", range(&(100..=199)))]).unwrap();
        let out = set(&out, "plugins", &[("disable", quoted("a.so,b.so"))]).unwrap();
        assert_eq!(
            setting(&out, "general", "configs_folder").unwrap(),
            "/tmp/j"
        );
        assert_eq!(out.matches("configs_folder").count(), 1);
        assert_eq!(setting(&out, "media", "rtp_port_range").unwrap(), "100-199");
        assert!(
            out.contains("#rtp_port_range = \"20000-40000\""),
            "comments stay"
        );
        assert_eq!(setting(&out, "plugins", "disable").unwrap(), "a.so,b.so");
        assert!(
            setting(&out, "media", "disable").is_none(),
            "sections stay apart"
        );
    }

    #[test]
    fn a_missing_section_is_an_error_naming_it() {
        let err = set(SAMPLE, "nat", &[("ice_enforce_list", quoted("x"))]).unwrap_err();
        assert!(err.contains("nat"), "{err}");
    }

    #[test]
    fn a_key_is_matched_whole() {
        assert!(sets("\tport = 8088", "port"));
        assert!(!sets("\tport_range = 1", "port"));
        assert!(!sets("\t#port = 8088", "port"));
    }
}
