//! A confined child process as the host keeps it for the guest.
//!
//! Its stdout and stderr are drained by host threads into bounded buffers (or into the
//! guest's own streams), so the child never blocks on a full pipe while the guest is busy
//! elsewhere: several children run at once, as cc's parallel compiles expect. A
//! supervisor thread reaps the child and kills its whole process group when it outlives
//! its time limit.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, ExitStatus};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use crate::output::CappedOutput;

/// Where a drained stream goes.
pub(crate) enum Drain {
    /// Kept for the guest to read, up to `limit` bytes.
    Buffer { limit: u64 },
    /// Appended to one of the guest's own output streams.
    Guest(CappedOutput),
}

#[derive(Default)]
struct Pipe {
    data: Vec<u8>,
    /// Offset of the first unread byte.
    read: usize,
    eof: bool,
    overflowed: bool,
}

#[derive(Default)]
struct State {
    stdout: Pipe,
    stderr: Pipe,
    exit: Option<ExitStatus>,
    timed_out: bool,
}

/// A running or exited child.
pub(crate) struct ChildProcess {
    pid: u32,
    state: Arc<(Mutex<State>, Condvar)>,
    stdin: Mutex<Option<ChildStdin>>,
}

/// Which output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// Process groups of every child started by this process and not yet reaped, so that a
/// stand-in that must exit in a hurry (see the sandbox's wall-clock watchdog) can take
/// them along: they run in their own groups and would outlive it.
static LIVE_GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Kills every child process group still alive.
pub(crate) fn kill_all() {
    let groups = LIVE_GROUPS.lock().unwrap_or_else(PoisonError::into_inner);
    for pid in groups.iter() {
        kill_group(*pid);
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ChildProcess {
    /// Takes over a freshly spawned `child` (started in its own process group).
    pub(crate) fn supervise(
        mut child: Child,
        stdout: Option<Drain>,
        stderr: Option<Drain>,
        time_limit: Duration,
    ) -> Self {
        let pid = child.id();
        LIVE_GROUPS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pid);
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        if let (Some(pipe), Some(drain)) = (child.stdout.take(), stdout) {
            spawn_drain(pipe, drain, Stream::Stdout, state.clone(), pid);
        } else {
            lock(&state.0).stdout.eof = true;
        }
        if let (Some(pipe), Some(drain)) = (child.stderr.take(), stderr) {
            spawn_drain(pipe, drain, Stream::Stderr, state.clone(), pid);
        } else {
            lock(&state.0).stderr.eof = true;
        }
        let stdin = child.stdin.take();
        let reaper_state = state.clone();
        let _ = thread::Builder::new()
            .name("wasm-build-reaper".into())
            .spawn(move || {
                let status = child.wait();
                LIVE_GROUPS
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|live| *live != pid);
                let (lock_, cvar) = &*reaper_state;
                let mut state = lock(lock_);
                // `wait` only fails for a child that was never ours; report a failure.
                state.exit = Some(status.unwrap_or_else(|_| failed_status()));
                cvar.notify_all();
            });
        let watchdog_state = state.clone();
        let _ = thread::Builder::new()
            .name("wasm-build-watchdog".into())
            .spawn(move || {
                let (lock_, cvar) = &*watchdog_state;
                let state = lock(lock_);
                let (mut state, timeout) = cvar
                    .wait_timeout_while(state, time_limit, |state| state.exit.is_none())
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if timeout.timed_out() && state.exit.is_none() {
                    state.timed_out = true;
                    kill_group(pid);
                }
            });
        ChildProcess {
            pid,
            state,
            stdin: Mutex::new(stdin),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills the child and everything it started.
    pub(crate) fn kill(&self) {
        if lock(&self.state.0).exit.is_none() {
            kill_group(self.pid);
        }
    }

    /// The exit status, waiting for it when `block`.
    pub(crate) fn wait(&self, block: bool) -> Option<ExitStatus> {
        let (lock_, cvar) = &*self.state;
        let mut state = lock(lock_);
        while block && state.exit.is_none() {
            state = cvar
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        state.exit
    }

    /// Whether the child was killed for running too long.
    pub(crate) fn timed_out(&self) -> bool {
        lock(&self.state.0).timed_out
    }

    /// Whether a buffered stream was cut at its limit.
    pub(crate) fn overflowed(&self) -> bool {
        let state = lock(&self.state.0);
        state.stdout.overflowed || state.stderr.overflowed
    }

    /// Reads buffered output, waiting until there is some or the stream ended (0 bytes).
    pub(crate) fn read(&self, stream: Stream, buf: &mut [u8]) -> usize {
        let (lock_, cvar) = &*self.state;
        let mut state = lock(lock_);
        loop {
            let pipe = match stream {
                Stream::Stdout => &mut state.stdout,
                Stream::Stderr => &mut state.stderr,
            };
            let available = pipe.data.len() - pipe.read;
            if available > 0 {
                let len = available.min(buf.len());
                buf[..len].copy_from_slice(&pipe.data[pipe.read..pipe.read + len]);
                pipe.read += len;
                if pipe.read == pipe.data.len() {
                    pipe.data.clear();
                    pipe.read = 0;
                }
                return len;
            }
            if pipe.eof || buf.is_empty() {
                return 0;
            }
            state = cvar
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Writes to the child's stdin; `None` when it has none or closed it.
    pub(crate) fn write_stdin(&self, buf: &[u8]) -> Option<std::io::Result<usize>> {
        let mut stdin = self
            .stdin
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(stdin.as_mut()?.write(buf))
    }

    /// Closes the child's stdin, so it sees the end of its input.
    pub(crate) fn close_stdin(&self) {
        self.stdin
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }
}

fn spawn_drain(
    mut pipe: impl Read + Send + 'static,
    drain: Drain,
    stream: Stream,
    state: Arc<(Mutex<State>, Condvar)>,
    pid: u32,
) {
    let _ = thread::Builder::new()
        .name("wasm-build-drain".into())
        .spawn(move || {
            let mut chunk = [0u8; 16 * 1024];
            let (lock_, cvar) = &*state;
            let mut taken = 0u64;
            loop {
                let len = match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(len) => len,
                };
                let refused = match &drain {
                    Drain::Guest(output) => output.accept(&chunk[..len]).is_err(),
                    Drain::Buffer { limit } => {
                        taken += len as u64;
                        let mut state = lock(lock_);
                        let pipe = match stream {
                            Stream::Stdout => &mut state.stdout,
                            Stream::Stderr => &mut state.stderr,
                        };
                        if taken > *limit {
                            pipe.overflowed = true;
                            true
                        } else {
                            pipe.data.extend_from_slice(&chunk[..len]);
                            cvar.notify_all();
                            false
                        }
                    }
                };
                if refused {
                    // A flood: stop the child rather than buffer without bound.
                    kill_group(pid);
                    break;
                }
            }
            let mut state = lock(lock_);
            match stream {
                Stream::Stdout => state.stdout.eof = true,
                Stream::Stderr => state.stderr.eof = true,
            }
            cvar.notify_all();
        });
}

/// SIGKILL to the child's process group: the confinement helper starts each child as the
/// leader of its own group, so compilers' own children die with it.
fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: plain syscall; a group that no longer exists yields ESRCH, ignored.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

fn failed_status() -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    ExitStatus::from_raw(1 << 8)
}
