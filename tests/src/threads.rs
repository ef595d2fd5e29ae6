//! Watching and holding a daemon's threads.
//!
//! Which threads wake other threads: `strace` attached to every thread of a
//! running daemon records its futex calls, and each `FUTEX_WAKE` names the
//! thread that made it. A media thread that hands work to the control plane
//! by waking a task shows up here (tokio's `Notify`, a channel send, a
//! contended mutex all end in `FUTEX_WAKE`); parking between ticks shows up
//! as `FUTEX_WAIT`, which proves the trace saw the thread at all.
//!
//! A stuck thread: [`freeze`] holds one thread of a child process still with
//! ptrace (`PTRACE_SEIZE` + `PTRACE_INTERRUPT` stop that thread alone; the
//! rest of the process runs on) until the [`Frozen`] is thawed or dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::ptrace;
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

use crate::peers::Peer;

/// One futex call: the thread that made it, and the operation
/// (`FUTEX_WAKE_PRIVATE`, `FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutexCall {
    /// The calling thread's id.
    pub tid: u32,
    /// The operation, as strace prints it.
    pub op: String,
}

impl FutexCall {
    /// Whether it woke (or tried to wake) another thread.
    pub fn is_wake(&self) -> bool {
        self.op.starts_with("FUTEX_WAKE")
    }
}

/// The ids of `pid`'s threads whose name starts with `prefix`.
pub fn threads_named(pid: u32, prefix: &str) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            comm.trim_end().starts_with(prefix).then_some(tid)
        })
        .collect()
}

/// `strace -f -e trace=futex` attached to every thread of a process.
pub struct FutexTrace {
    peer: Peer,
    file: PathBuf,
}

impl FutexTrace {
    /// Attaches to `pid` (all its threads), writing to `file`; returns once
    /// strace has attached.
    ///
    /// # Panics
    /// If strace is missing or does not attach within 5 s.
    pub fn attach(pid: u32, file: &Path) -> Self {
        let errors = file.with_extension("log");
        let peer = Peer::spawn(
            "strace",
            Command::new("timeout")
                .args(["120", "strace", "-f", "-e", "trace=futex", "-o"])
                .arg(file)
                .args(["-p", &pid.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&errors).expect("strace log")),
        );
        // strace says "Process N attached" on stderr for each thread.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let said = std::fs::read_to_string(&errors).unwrap_or_default();
            if said.contains("attached") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "strace did not attach to {pid}: {said}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            peer,
            file: file.to_owned(),
        }
    }

    /// Detaches (strace detaches cleanly on SIGTERM) and returns every futex
    /// call it saw.
    pub fn finish(mut self) -> Vec<FutexCall> {
        self.peer.stop();
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        text.lines().filter_map(parse_line).collect()
    }
}

/// One thread of another process, held still until thawed.
pub struct Frozen {
    thaw: Option<mpsc::Sender<()>>,
    holder: Option<JoinHandle<()>>,
}

impl Frozen {
    /// Lets the thread run again.
    pub fn thaw(mut self) {
        self.release();
    }

    fn release(&mut self) {
        drop(self.thaw.take());
        if let Some(holder) = self.holder.take() {
            let _ = holder.join();
        }
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        self.release();
    }
}

/// Stops thread `tid` of a child process (the tests' daemon) and keeps it
/// stopped until the [`Frozen`] is thawed. Every ptrace call about a tracee
/// must come from the thread that seized it, so a holder thread of ours
/// does all of them.
///
/// # Errors
/// Why the thread could not be stopped (no such thread, ptrace refused).
pub fn freeze(tid: u32) -> Result<Frozen, String> {
    let pid = Pid::from_raw(i32::try_from(tid).map_err(|e| e.to_string())?);
    let (ready_tx, ready) = mpsc::channel();
    let (thaw, thawed) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let stopped = ptrace::seize(pid, ptrace::Options::empty())
            .and_then(|()| ptrace::interrupt(pid))
            .and_then(|()| waitpid(pid, Some(WaitPidFlag::__WALL)));
        let ok = stopped.is_ok();
        let _ = ready_tx.send(
            stopped
                .map(|_| ())
                .map_err(|e| format!("ptrace {tid}: {e}")),
        );
        if ok {
            // Until thawed (or the Frozen is dropped: the sender goes).
            let _ = thawed.recv();
            let _ = ptrace::detach(pid, None);
        }
    });
    match ready.recv() {
        Ok(Ok(())) => Ok(Frozen {
            thaw: Some(thaw),
            holder: Some(holder),
        }),
        Ok(Err(error)) => {
            let _ = holder.join();
            Err(error)
        }
        Err(_) => Err(format!("the holder of {tid} died")),
    }
}

/// `1234  futex(0x7f.., FUTEX_WAKE_PRIVATE, 1) = 0` → (1234, FUTEX_WAKE_PRIVATE).
fn parse_line(line: &str) -> Option<FutexCall> {
    let (tid, rest) = line.trim_start().split_once(char::is_whitespace)?;
    let args = rest.trim_start().strip_prefix("futex(")?;
    let op = args.split(", ").nth(1)?;
    Some(FutexCall {
        tid: tid.parse().ok()?,
        op: op.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_thread_and_the_operation() {
        let wake = parse_line("4242  futex(0x7f00deadbeef, FUTEX_WAKE_PRIVATE, 1) = 1").unwrap();
        assert_eq!(wake.tid, 4242);
        assert!(wake.is_wake());
        let wait = parse_line(
            "17 futex(0x55, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 0, {tv_sec=1, tv_nsec=2}, FUTEX_BITSET_MATCH_ANY) = -1 ETIMEDOUT (Connection timed out)",
        )
        .unwrap();
        assert_eq!(wait.tid, 17);
        assert!(!wait.is_wake());
        assert_eq!(parse_line("17 <... futex resumed>) = 0"), None);
        assert_eq!(parse_line("+++ exited with 0 +++"), None);
    }

    /// The scheduler state letter of a process (`S`, `R`, `t` for a
    /// ptrace stop…).
    fn state(pid: u32) -> char {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("State:")).unwrap();
        line["State:".len()..].trim_start().chars().next().unwrap()
    }

    #[test]
    fn a_frozen_thread_stops_until_it_is_thawed() {
        let mut child = Command::new("sleep").arg("10").spawn().unwrap();
        let frozen = freeze(child.id()).expect("ptrace a child");
        assert_eq!(state(child.id()), 't', "in a ptrace stop");
        frozen.thaw();
        std::thread::sleep(Duration::from_millis(50));
        assert_ne!(state(child.id()), 't', "running (sleeping) again");
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn finds_this_process_s_threads_by_name() {
        let handle = std::thread::Builder::new()
            .name("chorus-probe-1".into())
            .spawn(|| std::thread::sleep(Duration::from_millis(300)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let found = threads_named(std::process::id(), "chorus-probe");
        assert_eq!(found.len(), 1);
        handle.join().unwrap();
    }
}
