//! Janus' AudioBridge as a load target: each leg a plain-RTP participant
//! of a mixing room, set up over Janus' REST API.
//!
//! One Janus session carries the whole load. A control handle creates the
//! rooms (`create`, not permanent, id [`ROOM_BASE`] + the plan's room
//! index, `allow_rtp_participants`) as their first legs begin; each leg
//! gets its own handle and `join`s with `codec: pcmu` and
//! `rtp: {ip, port, payload_type: 0}` naming its RTP socket. Janus answers
//! the join with a bare `ack`; the set-up finishes with the `joined` event
//! sent *from that handle* (`sender`) and carrying `rtp`: the ip:port Janus
//! bound for the leg, where it receives the leg's audio and from which it
//! sends the leg's mix. The same handle also receives `joined` events
//! announcing later joiners, without `rtp`; they are not answers. A set-up's
//! latency runs from posting the join to receiving that event.
//!
//! Janus delivers events only to long polls (`GET /janus/SID?maxev=50`),
//! which it holds open up to 30 s when it has nothing to say. A background
//! thread keeps exactly one such poll open and hands each batch over a
//! channel, stamped with its arrival; [`Target::poll`] waits on that channel
//! for as long as it is asked to. Polling from the control thread with a
//! short HTTP timeout instead would lose events: a poll the client gives up
//! on stays open in Janus, which writes the next events to the dead
//! connection (observed with Janus 1.1.2: the event went missing and the
//! next poll got only a keep-alive, 30 s later).
//!
//! Sessions expire after 60 s without a request, so [`Target::service`]
//! sends a `keepalive` every [`KEEPALIVE_EVERY`]. [`Target::finish`] sends
//! each joined leg's handle `leave` and `detach`es it (a leg counts as
//! ended when both are answered), then destroys the rooms and the session:
//! rooms outlive the session that created them. For the same reason a room
//! whose id already exists (left over by an earlier run that did not
//! finish) is destroyed and created afresh: run one load per Janus at a
//! time.
//!
//! **Janus sends a participant nothing until it has received RTP from
//! exactly the ip:port the join named** (it learns nothing from signalling
//! alone). The generator's media threads send from each leg's own RTP
//! socket, whose address `begin` is given, so every leg is heard and
//! served; a leg that stayed silent, or sent from another socket, would get
//! no audio at all. Once it has heard a leg, Janus sends it a packet every
//! 20 ms whether or not anyone speaks: silence when nobody does. All legs'
//! mixes carry one SSRC, payload type 0, no header extension.

pub mod daemon;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Hearing, Setup, Target, Teardown};
use crate::http;
use crate::plan::LegPlan;

/// Janus room id of the plan's room 0; room `i` is `ROOM_BASE + i`.
pub const ROOM_BASE: u64 = 5000;
/// How often the session is kept alive (Janus expires it after 60 s idle).
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(15);
/// A join unanswered this long fails its leg.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(10);
/// Any request but the long poll.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The long poll: Janus answers within 30 s, with a keep-alive if nothing
/// else.
const LONG_POLL_TIMEOUT: Duration = Duration::from_secs(40);
/// Long polls failing in a row before the event stream counts as lost.
const LONG_POLL_RETRIES: u32 = 3;
/// AudioBridge's "room already exists".
const ROOM_EXISTS: i64 = 486;
/// Janus' "no such session".
const NO_SUCH_SESSION: i64 = 458;
/// The mixing rates AudioBridge accepts.
const SAMPLING_RATES: [u32; 5] = [8000, 12000, 16000, 24000, 48000];

/// A Janus AudioBridge under load.
pub struct Janus {
    http: SocketAddr,
    session: u64,
    /// The handle rooms are created and destroyed through.
    control: u64,
    sampling_rate: u32,
    /// Plan room index → Janus room id, for the rooms created so far.
    rooms: BTreeMap<usize, u64>,
    legs: Legs,
    events: Receiver<Polled>,
    /// Tells the long-poll thread to stop after its current poll.
    stop: Arc<AtomicBool>,
    /// Why events stopped coming, once they have.
    lost: Option<String>,
    last_keepalive: Instant,
    transactions: u64,
    finished: bool,
}

impl Janus {
    /// Opens a session on the Janus whose HTTP API listens at `http`, for
    /// rooms mixing at `sampling_rate` Hz (8000 suits PCMU legs: no
    /// resampling on the way in or out).
    pub fn new(http: SocketAddr, sampling_rate: u32) -> Result<Self, String> {
        if !SAMPLING_RATES.contains(&sampling_rate) {
            return Err(format!(
                "AudioBridge cannot mix at {sampling_rate} Hz: one of {SAMPLING_RATES:?}"
            ));
        }
        let created = request(
            http,
            "/janus",
            json!({"janus": "create", "transaction": "chorus-session"}),
            REQUEST_TIMEOUT,
        )
        .map_err(|f| format!("creating a Janus session on http://{http}/janus: {f}"))?;
        let session = data_id(&created).ok_or_else(|| {
            format!("creating a Janus session on http://{http}/janus: no data.id in {created}")
        })?;
        let (events, stop) = spawn_long_poll(http, session);
        let mut janus = Janus {
            http,
            session,
            control: 0,
            sampling_rate,
            rooms: BTreeMap::new(),
            legs: Legs::default(),
            events,
            stop,
            lost: None,
            last_keepalive: Instant::now(),
            transactions: 0,
            finished: false,
        };
        janus.control = janus
            .attach(REQUEST_TIMEOUT)
            .map_err(|f| format!("attaching the AudioBridge control handle: {f}"))?;
        Ok(janus)
    }

    /// The Janus room id of plan room `index`, creating the room first.
    fn room(&mut self, index: usize) -> Result<u64, String> {
        if let Some(&id) = self.rooms.get(&index) {
            return Ok(id);
        }
        let id = ROOM_BASE + index as u64;
        let create = json!({
            "request": "create",
            "room": id,
            "description": format!("chorus-load room {index}"),
            "permanent": false,
            "sampling_rate": self.sampling_rate,
            "allow_rtp_participants": true,
        });
        let what = format!("creating AudioBridge room {id} (plan room {index})");
        match self.message(self.control, create.clone(), REQUEST_TIMEOUT) {
            Err(Failure::Plugin {
                code: ROOM_EXISTS, ..
            }) => {
                // A room left by an earlier run: rooms outlive sessions.
                self.destroy_room(id, REQUEST_TIMEOUT)
                    .map_err(|f| format!("{what}: it exists and destroying it failed: {f}"))?;
                self.message(self.control, create, REQUEST_TIMEOUT)
                    .map_err(|f| format!("{what} (after destroying a leftover): {f}"))?;
            }
            other => {
                other.map_err(|f| format!("{what}: {f}"))?;
            }
        }
        self.rooms.insert(index, id);
        Ok(id)
    }

    fn destroy_room(&mut self, id: u64, timeout: Duration) -> Result<Value, Failure> {
        let body = json!({"request": "destroy", "room": id});
        self.message(self.control, body, timeout)
    }

    /// A new AudioBridge handle in the session.
    fn attach(&mut self, timeout: Duration) -> Result<u64, Failure> {
        let body = json!({"janus": "attach", "plugin": "janus.plugin.audiobridge"});
        let reply = self.post(&format!("/janus/{}", self.session), body, timeout)?;
        data_id(&reply).ok_or_else(|| Failure::Http(format!("no data.id in {reply}")))
    }

    fn detach(&mut self, handle: u64, timeout: Duration) -> Result<Value, Failure> {
        let path = format!("/janus/{}/{handle}", self.session);
        self.post(&path, json!({"janus": "detach"}), timeout)
    }

    /// Sends the plugin `body` through `handle`; the reply is an `ack` for
    /// asynchronous requests (join, leave), the plugin's answer otherwise.
    fn message(&mut self, handle: u64, body: Value, timeout: Duration) -> Result<Value, Failure> {
        let path = format!("/janus/{}/{handle}", self.session);
        let reply = self.post(&path, json!({"janus": "message", "body": body}), timeout)?;
        match plugin_error(&reply) {
            Some(refusal) => Err(refusal),
            None => Ok(reply),
        }
    }

    /// POSTs `body` with a fresh transaction id.
    fn post(&mut self, path: &str, mut body: Value, timeout: Duration) -> Result<Value, Failure> {
        self.transactions += 1;
        body["transaction"] = json!(format!("chorus-{}", self.transactions));
        request(self.http, path, body, timeout)
    }

    /// Takes every batch of events the long-poll thread has delivered.
    fn drain(&mut self) {
        while let Ok(polled) = self.events.try_recv() {
            self.take(polled);
        }
    }

    fn take(&mut self, polled: Polled) {
        match polled {
            Polled::Events(at, events) => {
                for event in &events {
                    self.legs.absorb(event, at);
                }
            }
            Polled::Lost(why) => self.lose(why),
        }
    }

    /// Events stopped: no pending join can finish any more.
    fn lose(&mut self, why: String) {
        self.legs
            .fail_joining(&format!("Janus events stopped: {why}"), Instant::now());
        self.lost.get_or_insert(why);
    }

    fn keepalive(&mut self) {
        let path = format!("/janus/{}", self.session);
        if let Err(Failure::Janus {
            code: NO_SUCH_SESSION,
            ..
        }) = self.post(&path, json!({"janus": "keepalive"}), REQUEST_TIMEOUT)
        {
            self.legs.session_gone(Instant::now());
        }
    }

    /// Leaves and detaches one joined leg before `deadline`.
    fn end_leg(&mut self, handle: u64, deadline: Instant) -> bool {
        let Some(timeout) = left(deadline) else {
            return false;
        };
        self.message(handle, json!({"request": "leave"}), timeout)
            .is_ok()
            && left(deadline).is_some_and(|t| self.detach(handle, t).is_ok())
    }
}

impl Target for Janus {
    fn name(&self) -> &str {
        "janus"
    }

    fn hearing(&self) -> Hearing {
        Hearing::Others
    }

    fn begin(&mut self, leg: &LegPlan, rtp: SocketAddr) -> Result<(), String> {
        if let Some(why) = &self.lost {
            return Err(format!("leg {}: Janus events stopped: {why}", leg.index));
        }
        let room = self.room(leg.room)?;
        let handle = self
            .attach(REQUEST_TIMEOUT)
            .map_err(|f| format!("leg {}: attaching a handle: {f}", leg.index))?;
        // An unspecified address (a socket bound to 0.0.0.0) is reached on
        // loopback; Janus must send to an address it can reach.
        let ip = match rtp.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        let join = json!({
            "request": "join",
            "room": room,
            "display": format!("leg {}", leg.index),
            "codec": "pcmu",
            "rtp": {"ip": ip.to_string(), "port": rtp.port(), "payload_type": 0},
        });
        // Registered before the post: the long-poll thread may deliver the
        // answer before the post returns.
        self.legs.joining(handle, leg.index, Instant::now());
        self.message(handle, join, REQUEST_TIMEOUT).map_err(|f| {
            self.legs.fail(handle);
            format!("leg {}: joining AudioBridge room {room}: {f}", leg.index)
        })?;
        Ok(())
    }

    fn poll(&mut self, wait: Duration) -> Vec<Setup> {
        let deadline = Instant::now() + wait;
        loop {
            self.drain();
            let now = Instant::now();
            self.legs.expire(now, SETUP_TIMEOUT);
            if !self.legs.done.is_empty() || now >= deadline {
                break;
            }
            let until = self
                .legs
                .next_expiry(SETUP_TIMEOUT)
                .map_or(deadline, |e| e.min(deadline));
            match self
                .events
                .recv_timeout(until.saturating_duration_since(now))
            {
                Ok(polled) => self.take(polled),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.lose("the long-poll thread ended".into());
                    break;
                }
            }
        }
        std::mem::take(&mut self.legs.done)
    }

    fn service(&mut self) {
        self.drain();
        if self.last_keepalive.elapsed() >= KEEPALIVE_EVERY {
            self.last_keepalive = Instant::now();
            self.keepalive();
        }
    }

    fn finish(&mut self, wait: Duration) -> Teardown {
        if self.finished {
            return Teardown::default();
        }
        let deadline = Instant::now() + wait;
        self.drain();
        let mut teardown = Teardown {
            ended_by_server: self.legs.count(State::EndedByServer),
            ..Teardown::default()
        };
        for (handle, state) in self.legs.handles() {
            match state {
                State::Joined if self.end_leg(handle, deadline) => teardown.ended += 1,
                State::Joined => teardown.unanswered += 1,
                // Not in a room: only the handle to free.
                State::Joining { .. } | State::Failed => {
                    if let Some(t) = left(deadline) {
                        let _ = self.detach(handle, t);
                    }
                }
                State::EndedByServer => {}
            }
        }
        self.close(deadline);
        teardown
    }
}

impl Janus {
    /// Destroys the rooms and the session, each request bounded by
    /// `deadline` but given at least a moment: whatever is left of the
    /// session expires on its own, rooms would not.
    fn close(&mut self, deadline: Instant) {
        let moment = Duration::from_millis(500);
        let bounded = || left(deadline).unwrap_or(moment).max(moment);
        let rooms: Vec<u64> = self.rooms.values().copied().collect();
        for id in rooms {
            let _ = self.destroy_room(id, bounded());
        }
        let control = self.control;
        let _ = self.detach(control, bounded());
        let path = format!("/janus/{}", self.session);
        let _ = self.post(&path, json!({"janus": "destroy"}), bounded());
        self.stop.store(true, Ordering::Relaxed);
        self.rooms.clear();
        self.legs = Legs::default();
        self.finished = true;
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        // A run that failed before finishing must not leave rooms behind.
        if !self.finished {
            self.close(Instant::now() + Duration::from_secs(1));
        }
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Time left before `deadline`, if any.
fn left(deadline: Instant) -> Option<Duration> {
    let t = deadline.saturating_duration_since(Instant::now());
    (!t.is_zero()).then_some(t)
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// No answer, not HTTP 200, or not JSON.
    Http(String),
    /// Janus refused the request (`"janus": "error"`).
    Janus { code: i64, reason: String },
    /// The plugin refused it (`error_code` in the plugin's data).
    Plugin { code: i64, reason: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Http(e) => f.write_str(e),
            Failure::Janus { code, reason } => write!(f, "Janus error {code}: {reason}"),
            Failure::Plugin { code, reason } => write!(f, "AudioBridge error {code}: {reason}"),
        }
    }
}

/// POSTs `body` to Janus and reads its JSON answer, a Janus error being a
/// [`Failure::Janus`].
fn request(http: SocketAddr, path: &str, body: Value, timeout: Duration) -> Result<Value, Failure> {
    // "message join", "attach", …: what a transport error was about.
    let what = [&body["janus"], &body["body"]["request"]]
        .iter()
        .filter_map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let response = http::post_json(http, path, &body.to_string(), timeout)
        .map_err(|e| Failure::Http(format!("{what}: {e}")))?;
    if response.status != 200 {
        return Err(Failure::Http(format!(
            "{what}: HTTP {}: {}",
            response.status,
            response.body.trim()
        )));
    }
    let reply: Value = serde_json::from_str(&response.body).map_err(|e| {
        Failure::Http(format!(
            "{what}: answer is not JSON ({e}): {}",
            response.body
        ))
    })?;
    match janus_error(&reply) {
        Some(failure) => Err(failure),
        None => Ok(reply),
    }
}

/// `data.id` of a `success` (the new session's or handle's id).
fn data_id(reply: &Value) -> Option<u64> {
    reply["data"]["id"].as_u64()
}

/// A `{"janus": "error", "error": {code, reason}}`.
fn janus_error(reply: &Value) -> Option<Failure> {
    (reply["janus"] == "error").then(|| Failure::Janus {
        code: reply["error"]["code"].as_i64().unwrap_or(0),
        reason: reply["error"]["reason"]
            .as_str()
            .unwrap_or("no reason given")
            .to_string(),
    })
}

/// An `error_code` in the plugin's data, in an answer or an event.
fn plugin_error(reply: &Value) -> Option<Failure> {
    let data = &reply["plugindata"]["data"];
    let code = data.get("error_code")?;
    Some(Failure::Plugin {
        code: code.as_i64().unwrap_or(0),
        reason: data["error"]
            .as_str()
            .unwrap_or("no reason given")
            .to_string(),
    })
}

/// What the long-poll thread delivers.
#[derive(Debug)]
enum Polled {
    /// A poll's events, with when they arrived.
    Events(Instant, Vec<Value>),
    /// Polling failed for good.
    Lost(String),
}

/// Starts the thread that keeps one long poll open on `session`, and
/// returns its events and its stop flag. It ends when the flag is set, when
/// the receiver is dropped, or when the session is gone.
fn spawn_long_poll(http: SocketAddr, session: u64) -> (Receiver<Polled>, Arc<AtomicBool>) {
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::Builder::new()
        .name(format!("janus-poll-{session}"))
        .spawn(move || long_poll(http, session, &tx, &flag))
        .map(drop)
        .unwrap_or_else(|e| {
            // The sender went with the closure: poll() sees a disconnected
            // channel and fails the pending legs.
            eprintln!("janus: cannot start the long-poll thread: {e}");
        });
    (rx, stop)
}

fn long_poll(http: SocketAddr, session: u64, tx: &Sender<Polled>, stop: &AtomicBool) {
    let path = format!("/janus/{session}?maxev=50");
    let mut failures = 0;
    while !stop.load(Ordering::Relaxed) {
        let batch = http::get(http, &path, LONG_POLL_TIMEOUT).and_then(|r| {
            if r.status == 200 {
                parse_events(&r.body)
            } else {
                Err(format!("HTTP {}: {}", r.status, r.body.trim()))
            }
        });
        let polled = match batch {
            Ok(events) => {
                failures = 0;
                let last = events.iter().any(ends_session);
                let events = events
                    .into_iter()
                    .filter(|e| e["janus"] != "keepalive")
                    .collect::<Vec<_>>();
                if !events.is_empty() && tx.send(Polled::Events(Instant::now(), events)).is_err() {
                    return;
                }
                if !last {
                    continue;
                }
                Polled::Lost("the session is gone".into())
            }
            Err(_) if stop.load(Ordering::Relaxed) => return,
            Err(e) => {
                failures += 1;
                if failures < LONG_POLL_RETRIES {
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                Polled::Lost(format!("GET {path}: {e}"))
            }
        };
        let _ = tx.send(polled);
        return;
    }
}

/// A long poll's answer: an array of events with `maxev`, one object
/// without.
fn parse_events(body: &str) -> Result<Vec<Value>, String> {
    match serde_json::from_str(body) {
        Ok(Value::Array(events)) => Ok(events),
        Ok(event @ Value::Object(_)) => Ok(vec![event]),
        Ok(other) => Err(format!("long poll answered {other}")),
        Err(e) => Err(format!("long poll answer is not JSON ({e}): {body}")),
    }
}

/// Whether `event` says the session is over: it timed out, or Janus no
/// longer knows it.
fn ends_session(event: &Value) -> bool {
    event["janus"] == "timeout"
        || matches!(
            janus_error(event),
            Some(Failure::Janus {
                code: NO_SUCH_SESSION,
                ..
            })
        )
}

/// What an event means for the legs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// `handle` joined; Janus takes its RTP at `rtp`.
    Joined { handle: u64, rtp: SocketAddr },
    /// AudioBridge refused a request of `handle` (its join, if pending).
    Refused { handle: u64, error: String },
    /// `handle` is out of its room: detached, or the room destroyed.
    Gone { handle: u64 },
    /// The whole session is over.
    SessionGone,
    /// Anything else (other joiners, leavers, talking events).
    Other,
}

fn classify(event: &Value) -> Event {
    if ends_session(event) {
        return Event::SessionGone;
    }
    let Some(handle) = event["sender"].as_u64() else {
        return Event::Other;
    };
    match event["janus"].as_str() {
        Some("detached") => Event::Gone { handle },
        Some("event") => classify_plugin_event(handle, event),
        _ => Event::Other,
    }
}

fn classify_plugin_event(handle: u64, event: &Value) -> Event {
    if let Some(refusal) = plugin_error(event) {
        return Event::Refused {
            handle,
            error: refusal.to_string(),
        };
    }
    let data = &event["plugindata"]["data"];
    match data["audiobridge"].as_str() {
        // Only the joiner's own `joined` carries `rtp`; the ones announcing
        // other joiners to it do not.
        Some("joined") => match data.get("rtp") {
            Some(rtp) => match rtp_address(rtp) {
                Some(rtp) => Event::Joined { handle, rtp },
                None => Event::Refused {
                    handle,
                    error: format!("joined, but no usable ip and port in rtp: {rtp}"),
                },
            },
            None => Event::Other,
        },
        Some("destroyed") => Event::Gone { handle },
        _ => Event::Other,
    }
}

fn rtp_address(rtp: &Value) -> Option<SocketAddr> {
    let ip: IpAddr = rtp["ip"].as_str()?.parse().ok()?;
    let port = u16::try_from(rtp["port"].as_u64()?).ok()?;
    Some(SocketAddr::new(ip, port))
}

/// Where a leg stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Join posted at `since`, no answer yet.
    Joining { since: Instant },
    /// In its room.
    Joined,
    /// Its set-up failed; only the handle is left.
    Failed,
    /// In its room until Janus ended it.
    EndedByServer,
}

#[derive(Debug, Clone, Copy)]
struct Leg {
    index: usize,
    state: State,
}

/// Every leg by handle, and the set-ups finished but not yet collected.
#[derive(Debug, Default)]
struct Legs {
    by_handle: HashMap<u64, Leg>,
    done: Vec<Setup>,
}

impl Legs {
    fn joining(&mut self, handle: u64, index: usize, since: Instant) {
        let state = State::Joining { since };
        self.by_handle.insert(handle, Leg { index, state });
    }

    /// Marks a leg whose join was refused outright (its error goes back
    /// from `begin`, not as a set-up).
    fn fail(&mut self, handle: u64) {
        if let Some(leg) = self.by_handle.get_mut(&handle) {
            leg.state = State::Failed;
        }
    }

    /// Applies one event received at `at`.
    fn absorb(&mut self, event: &Value, at: Instant) {
        match classify(event) {
            Event::Joined { handle, rtp } => self.finish_join(handle, Ok(rtp), at),
            Event::Refused { handle, error } => {
                self.finish_join(handle, Err(format!("join refused: {error}")), at);
            }
            Event::Gone { handle } => self.gone(handle, at),
            Event::SessionGone => self.session_gone(at),
            Event::Other => {}
        }
    }

    /// Ends `handle`'s pending join with `result`; an answer for a leg not
    /// joining (or not ours) changes nothing.
    fn finish_join(&mut self, handle: u64, result: Result<SocketAddr, String>, at: Instant) {
        let Some(leg) = self.by_handle.get_mut(&handle) else {
            return;
        };
        let State::Joining { since } = leg.state else {
            return;
        };
        leg.state = if result.is_ok() {
            State::Joined
        } else {
            State::Failed
        };
        self.done.push(Setup {
            leg: leg.index,
            result,
            latency: at.saturating_duration_since(since),
        });
    }

    fn gone(&mut self, handle: u64, at: Instant) {
        let joined = matches!(
            self.by_handle.get(&handle),
            Some(Leg {
                state: State::Joined,
                ..
            })
        );
        if joined {
            if let Some(leg) = self.by_handle.get_mut(&handle) {
                leg.state = State::EndedByServer;
            }
        } else {
            let why = "Janus ended the handle before it joined".to_string();
            self.finish_join(handle, Err(why), at);
        }
    }

    fn session_gone(&mut self, at: Instant) {
        self.fail_joining("the Janus session is gone", at);
        for leg in self.by_handle.values_mut() {
            if leg.state == State::Joined {
                leg.state = State::EndedByServer;
            }
        }
    }

    fn fail_joining(&mut self, why: &str, at: Instant) {
        for handle in self.pending() {
            self.finish_join(handle, Err(why.to_string()), at);
        }
    }

    /// Fails the joins pending for `timeout` or longer by `now`.
    fn expire(&mut self, now: Instant, timeout: Duration) {
        for handle in self.pending() {
            if let Some(Leg {
                state: State::Joining { since },
                ..
            }) = self.by_handle.get(&handle)
                && now.saturating_duration_since(*since) >= timeout
            {
                let why = format!("no joined event within {timeout:?}");
                self.finish_join(handle, Err(why), now);
            }
        }
    }

    /// When the oldest pending join expires.
    fn next_expiry(&self, timeout: Duration) -> Option<Instant> {
        self.by_handle
            .values()
            .filter_map(|leg| match leg.state {
                State::Joining { since } => Some(since + timeout),
                _ => None,
            })
            .min()
    }

    fn pending(&self) -> Vec<u64> {
        let mut handles: Vec<(usize, u64)> = self
            .by_handle
            .iter()
            .filter(|(_, leg)| matches!(leg.state, State::Joining { .. }))
            .map(|(&handle, leg)| (leg.index, handle))
            .collect();
        handles.sort_unstable();
        handles.into_iter().map(|(_, handle)| handle).collect()
    }

    fn count(&self, state: State) -> usize {
        self.by_handle.values().filter(|l| l.state == state).count()
    }

    /// Every handle with its leg's state, in leg order.
    fn handles(&self) -> Vec<(u64, State)> {
        let mut all: Vec<(usize, u64, State)> = self
            .by_handle
            .iter()
            .map(|(&handle, leg)| (leg.index, handle, leg.state))
            .collect();
        all.sort_unstable_by_key(|&(index, handle, _)| (index, handle));
        all.into_iter().map(|(_, h, s)| (h, s)).collect()
    }
}

#[cfg(test)]
mod tests;
