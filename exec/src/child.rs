//! A child process as the host keeps it for the guest.
//!
//! Its stdout and stderr are drained by host threads into bounded buffers (or into the
//! guest's own streams), so the child never blocks on a full pipe while the guest is busy
//! elsewhere: several children run at once, as cc's parallel compiles expect. A reaper
//! thread waits for the child and everything it started (the jail kills those when it
//! ends, runs past its time limit or floods its output).

#![allow(
    clippy::disallowed_methods,
    reason = "the exec layer starts every program a build script asks for, through the jail"
)]

use std::io::{Read, Write};
use std::process::{Child, ChildStdin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use wasm_build_jail::{Exceeded, JailNotes, Jailed, Killer, Outcome, Spec};

use crate::bounds::Bound;
use crate::output::CappedOutput;

/// Where a drained stream goes.
pub(crate) enum Drain {
    /// Kept for the guest to read, up to `limit` bytes.
    Buffer { limit: u64 },
    /// Appended to one of the guest's own output streams.
    Guest(CappedOutput),
}

/// A started child: jailed, or (only where the user opted in) not.
pub(crate) enum Spawned {
    /// Run by the jail, which kills everything it started when it ends.
    Jailed(Jailed),
    /// Run unconfined, in its own process group, because the user opted in to that where
    /// the jail cannot be had.
    Unconfined(Child),
}

impl Spawned {
    /// Starts `spec`'s program without any confinement.
    pub(crate) fn unconfined(
        spec: &Spec,
        stdio: [wasm_build_jail::Stdio; 3],
    ) -> std::io::Result<Self> {
        let std_stdio = |how| match how {
            wasm_build_jail::Stdio::Piped => std::process::Stdio::piped(),
            wasm_build_jail::Stdio::Null => std::process::Stdio::null(),
        };
        let mut command = std::process::Command::new(&spec.program.path);
        command
            .args(&spec.args)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&spec.cwd)
            .stdin(std_stdio(stdio[0]))
            .stdout(std_stdio(stdio[1]))
            .stderr(std_stdio(stdio[2]));
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        command.spawn().map(Spawned::Unconfined)
    }
}

/// What the host keeps of a started child.
struct Parts {
    pid: u32,
    stdin: Option<ChildStdin>,
    stdout: Option<Box<dyn Read + Send>>,
    stderr: Option<Box<dyn Read + Send>>,
    stopper: Stopper,
    /// Waits for the child; says how it ended and what the jail did.
    wait: Box<dyn FnOnce() -> Reaped + Send>,
}

/// How a child ended, as its reaper learned it.
struct Reaped {
    ended: Ended,
    /// Whether the jail (or the host) ended it, and why.
    cut: Cut,
    /// What the jail did besides (nothing for an unconfined child).
    notes: JailNotes,
}

/// Why the jail (or, for an unconfined child, the host) ended a child, if it did.
enum Cut {
    /// It ended by itself.
    No,
    /// It ran past its time limit.
    TimedOut,
    /// It went past a bound the jail's helper enforces.
    Exceeded(Exceeded),
}

fn boxed(pipe: impl Read + Send + 'static) -> Box<dyn Read + Send> {
    Box::new(pipe)
}

impl Spawned {
    fn into_parts(self, state: &Arc<(Mutex<State>, Condvar)>, time_limit: Duration) -> Parts {
        match self {
            Spawned::Jailed(jailed) => {
                let waiter = jailed.waiter;
                Parts {
                    pid: jailed.pid,
                    stdin: jailed.stdin,
                    stdout: jailed.stdout.map(boxed),
                    stderr: jailed.stderr.map(boxed),
                    stopper: Stopper::Jail(jailed.killer),
                    wait: Box::new(move || {
                        let finished = waiter.finish();
                        let killed = Ended::signaled(libc::SIGKILL);
                        let (ended, cut) = match finished.outcome {
                            Outcome::Exited(code) => (Ended::exited(code), Cut::No),
                            Outcome::Signaled(signal) => (Ended::signaled(signal), Cut::No),
                            Outcome::TimedOut => (killed, Cut::TimedOut),
                            Outcome::Exceeded(exceeded) => (killed, Cut::Exceeded(exceeded)),
                            Outcome::Stopped | Outcome::Lost => (killed, Cut::No),
                        };
                        Reaped {
                            ended,
                            cut,
                            notes: finished.notes,
                        }
                    }),
                }
            }
            Spawned::Unconfined(mut child) => {
                let pid = child.id();
                watch_time(state.clone(), Stopper::Group(pid), time_limit);
                Parts {
                    pid,
                    stdin: child.stdin.take(),
                    stdout: child.stdout.take().map(boxed),
                    stderr: child.stderr.take().map(boxed),
                    stopper: Stopper::Group(pid),
                    wait: Box::new(move || {
                        use std::os::unix::process::ExitStatusExt;
                        let ended = match child.wait() {
                            Ok(status) => Ended {
                                code: status.code(),
                                signal: status.signal(),
                            },
                            Err(_) => Ended::signaled(libc::SIGKILL),
                        };
                        Reaped {
                            ended,
                            cut: Cut::No,
                            notes: JailNotes::default(),
                        }
                    }),
                }
            }
        }
    }
}

/// How a child ended: its exit status or the signal that killed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// The exit status, when it exited.
    pub code: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
}

impl Ended {
    fn exited(code: i32) -> Self {
        Ended {
            code: Some(code),
            signal: None,
        }
    }

    fn signaled(signal: i32) -> Self {
        Ended {
            code: None,
            signal: Some(signal),
        }
    }
}

/// Stops a child and everything it started.
#[derive(Clone)]
enum Stopper {
    Jail(Killer),
    /// An unconfined child's process group (what it started may have left it).
    Group(u32),
    /// Nothing runs (a [`ChildProcess::stand_in`]).
    Nothing,
}

impl Stopper {
    fn stop(&self) {
        match self {
            Stopper::Jail(killer) => killer.kill(),
            Stopper::Nothing => {}
            Stopper::Group(pid) => {
                if let Ok(pid) = i32::try_from(*pid) {
                    // SAFETY: plain syscall; a group that no longer exists yields ESRCH.
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                }
            }
        }
    }
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
    exit: Option<Ended>,
    timed_out: bool,
    /// The bound the jail's helper stopped it at.
    exceeded: Option<Exceeded>,
    /// The first lines of output that say an operation was not permitted.
    denials: Vec<String>,
    /// The first line of output that says the system ran out of something the jail
    /// bounds, and which bound.
    exhausted: Option<(Bound, String)>,
    /// Whether a line said the programs it compiled cannot run.
    unrunnable_build: bool,
    /// What the jail did while the child ran.
    notes: JailNotes,
}

/// How long an ended child's output may take to be read (see [`ChildProcess::settle`]);
/// only a descendant that holds its pipes makes it wait this long.
pub(crate) const OUTPUT_SETTLE: Duration = Duration::from_secs(2);

/// How many lines of [`State::denials`] are kept.
const DENIALS_KEPT: usize = 3;

/// Whether a line of a program's output reports an operation the system refused: what
/// the jail's Landlock rules (`EACCES`) and system-call filter (`EPERM`, `SIGSYS`) make a
/// program print when they stop it.
fn reports_denial(line: &str) -> bool {
    const PHRASES: &[&str] = &[
        "Permission denied",
        "Operation not permitted",
        "Bad system call",
        "EACCES",
        "EPERM",
    ];
    PHRASES.iter().any(|phrase| line.contains(phrase)) || reports_unrunnable_build(line)
}

/// The bound a line of a program's output says it ran into, if it says so: what programs
/// print when the kernel refuses them memory (`ENOMEM` under the address-space bound, and
/// `EAGAIN` from `pthread_create`, whose stack is memory too) or a file's growth (`EFBIG`,
/// and a shell's words for a child killed by `SIGXFSZ`).
fn reports_exhaustion(line: &str) -> Option<Bound> {
    const MEMORY: &[&str] = &[
        "Cannot allocate memory",
        "out of memory",
        "Out of memory",
        "memory allocation of",
        "std::bad_alloc",
        "virtual memory exhausted",
        "Resource temporarily unavailable",
    ];
    const FILE_SIZE: &[&str] = &["File too large", "File size limit exceeded"];
    let says = |phrases: &[&str]| phrases.iter().any(|phrase| line.contains(phrase));
    if says(FILE_SIZE) {
        Some(Bound::FileSize)
    } else if says(MEMORY) {
        Some(Bound::AddressSpace)
    } else {
        None
    }
}

/// Whether a line is autoconf's verdict that the programs a configure script compiles
/// cannot run: in the jail, what the script built in its `OUT_DIR` is not executable
/// without `run-built`, and the program itself only sees `EACCES`.
fn reports_unrunnable_build(line: &str) -> bool {
    line.contains("cannot run C compiled programs")
        || line.contains("cannot run C++ compiled programs")
}

/// Lines of a stream, fed in chunks, kept only when they report a denial.
#[derive(Default)]
struct DenialScanner {
    line: Vec<u8>,
}

impl DenialScanner {
    /// The lines of `chunk` (with what came before) that report a denial.
    fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        const LONGEST: usize = 4096;
        let mut found = Vec::new();
        for &byte in chunk {
            if byte == b'\n' {
                found.extend(self.take());
            } else if self.line.len() < LONGEST {
                self.line.push(byte);
            }
        }
        found
    }

    /// The unterminated last line, if it reports a denial or an exhausted bound.
    fn take(&mut self) -> Option<String> {
        let line = String::from_utf8_lossy(&self.line).trim().to_string();
        self.line.clear();
        (reports_denial(&line) || reports_exhaustion(&line).is_some()).then_some(line)
    }
}

/// The exit status of a program awaiting review whose caller reads its output: `1`, what
/// most programs (pkg-config for a package it does not know, a compiler for an error)
/// exit with when they could not do what was asked; not `127`, which callers take for
/// "not installed" and report as such.
pub(crate) const PENDING_EXIT_CODE: i32 = 1;

/// How a program awaiting review seems to have ended to the script that started it (see
/// `Broker::stand_in` for which reply a script gets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StandInReply {
    /// Exited 0 with no output: for a caller that looks only at the exit status, which
    /// then goes on to the next program it needs (cc-rs to `ar`, cmake to its build).
    Succeeded,
    /// Exited with [`PENDING_EXIT_CODE`], `stderr` on its stderr (when the caller reads
    /// it): for a caller that reads what the program prints, to which no made-up output
    /// is plausible; an empty success is what makes such callers panic (pkg-config-rs
    /// unwraps the first line of `--modversion`), while a failure is the path they
    /// handle: an error they return, a fallback they take.
    Failed {
        /// What the program seems to have printed on its stderr.
        stderr: Vec<u8>,
    },
}

/// A running or exited child, held by the broker for the script (which reads, writes,
/// waits for and kills it through the wasm host's calls).
pub struct ChildProcess {
    pid: u32,
    state: Arc<(Mutex<State>, Condvar)>,
    stdin: Mutex<Option<ChildStdin>>,
    stopper: Stopper,
    /// A [`ChildProcess::stand_in`]: its stdin takes everything.
    stand_in: bool,
}

/// Which output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The child's stdout.
    Stdout,
    /// The child's stderr.
    Stderr,
}

/// Every child started by this process and not yet ended, so that a stand-in that must
/// exit in a hurry (see the sandbox's wall-clock watchdog) can stop them first.
static LIVE: Mutex<Vec<(u64, Stopper)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn live() -> MutexGuard<'static, Vec<(u64, Stopper)>> {
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stops every child still running, and what they started.
pub(crate) fn kill_all() {
    for (_, stopper) in live().iter() {
        stopper.stop();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ChildProcess {
    /// Takes over a freshly started child. `time_limit` is enforced here only for an
    /// unconfined child; the jail enforces its own.
    pub(crate) fn supervise(
        spawned: Spawned,
        stdout: Option<Drain>,
        stderr: Option<Drain>,
        time_limit: Duration,
    ) -> Self {
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let Parts {
            pid,
            stdin,
            stdout: out_pipe,
            stderr: err_pipe,
            stopper,
            wait,
        } = spawned.into_parts(&state, time_limit);
        live().push((id, stopper.clone()));
        for (pipe, drain, stream) in [
            (out_pipe, stdout, Stream::Stdout),
            (err_pipe, stderr, Stream::Stderr),
        ] {
            match (pipe, drain) {
                (Some(pipe), Some(drain)) => {
                    spawn_drain(pipe, drain, stream, state.clone(), stopper.clone());
                }
                _ => lock(&state.0).pipe(stream).eof = true,
            }
        }
        let reaper_state = state.clone();
        let _ = thread::Builder::new()
            .name("wasm-build-reaper".into())
            .spawn(move || {
                let reaped = wait();
                live().retain(|(live, _)| *live != id);
                let (lock_, cvar) = &*reaper_state;
                let mut state = lock(lock_);
                state.exit = Some(reaped.ended);
                match reaped.cut {
                    Cut::No => {}
                    Cut::TimedOut => state.timed_out = true,
                    Cut::Exceeded(exceeded) => state.exceeded = Some(exceeded),
                }
                state.notes = reaped.notes;
                cvar.notify_all();
            });
        ChildProcess {
            pid,
            state,
            stdin: Mutex::new(stdin),
            stopper,
            stand_in: false,
        }
    }

    /// A child that never ran: what a script is given for a program that awaits review, so
    /// that it goes on and shows everything else it needs in the same build (which fails
    /// anyway, so nothing it makes of this counts). `reply` is how it seems to have ended.
    pub(crate) fn stand_in(reply: StandInReply) -> Self {
        let (code, stderr) = match reply {
            StandInReply::Succeeded => (0, Vec::new()),
            StandInReply::Failed { stderr } => (PENDING_EXIT_CODE, stderr),
        };
        let state = State {
            stdout: Pipe {
                eof: true,
                ..Pipe::default()
            },
            stderr: Pipe {
                data: stderr,
                eof: true,
                ..Pipe::default()
            },
            exit: Some(Ended::exited(code)),
            ..State::default()
        };
        ChildProcess {
            pid: 0,
            state: Arc::new((Mutex::new(state), Condvar::new())),
            stdin: Mutex::new(None),
            stopper: Stopper::Nothing,
            stand_in: true,
        }
    }

    /// The child's process id (0 for a stand-in).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills the child and everything it started.
    pub fn kill(&self) {
        if lock(&self.state.0).exit.is_none() {
            self.stopper.stop();
        }
    }

    /// How the child ended, waiting for it when `block`.
    pub fn wait(&self, block: bool) -> Option<Ended> {
        let (lock_, cvar) = &*self.state;
        let mut state = lock(lock_);
        while block && state.exit.is_none() {
            state = cvar.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        state.exit
    }

    /// Once the child has ended, waits (at most `limit`) until what it wrote has been
    /// read. The reaper can see the exit before a drain reads the last chunk, and the
    /// verdicts drawn from the output (a denial it printed last, autoconf's "cannot run C
    /// compiled programs") must not depend on that race. Bounded, because a descendant
    /// that outlived the child may hold the pipes open.
    pub(crate) fn settle(&self, limit: Duration) {
        let (lock_, cvar) = &*self.state;
        let deadline = std::time::Instant::now() + limit;
        let mut state = lock(lock_);
        while state.exit.is_some() && !(state.stdout.eof && state.stderr.eof) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            state = match cvar.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// The bound of the jail the child ran into, if it ended and did, and how it shows: the
    /// helper stopped it (its tasks, its time), the kernel killed it for a file past the
    /// file-size bound (`SIGXFSZ`), it failed after printing that memory was refused, or
    /// it printed that a file's growth was (a shell whose command was killed by
    /// `SIGXFSZ` says so, and may still exit 0).
    pub(crate) fn bound_hit(&self) -> Option<(Bound, String)> {
        let state = lock(&self.state.0);
        let ended = state.exit?;
        if let Some(exceeded) = &state.exceeded {
            let how = match exceeded {
                Exceeded::Processes { .. } => "was killed with everything it started".into(),
                Exceeded::Uncounted { why, .. } => format!(
                    "was killed with everything it started when its processes could not be \
                     counted ({why})"
                ),
            };
            return Some((Bound::Processes, how));
        }
        if state.timed_out {
            return Some((Bound::ChildTime, "ran past it and was killed".into()));
        }
        if !matches!(self.stopper, Stopper::Jail(_)) {
            return None;
        }
        if ended.signal == Some(libc::SIGXFSZ) {
            return Some((Bound::FileSize, "was killed by SIGXFSZ".into()));
        }
        let (bound, line) = state.exhausted.as_ref()?;
        if ended.code == Some(0) && ended.signal.is_none() {
            // A shell that reports a command killed by `SIGXFSZ` and goes on: the file
            // was cut short, whatever the shell's status says. Memory refused to a
            // program that then succeeded anyway changed nothing.
            return (*bound == Bound::FileSize).then(|| (*bound, format!("printed `{line}`")));
        }
        Some((
            *bound,
            format!("failed ({}) after printing `{line}`", status(ended)),
        ))
    }

    /// The connections the jail refused the child (a `connect` anywhere but its proxy),
    /// one sentence each.
    pub(crate) fn refused_connections(&self) -> Vec<String> {
        let state = lock(&self.state.0);
        state
            .notes
            .refused
            .iter()
            .filter(|refused| refused.starts_with("connect "))
            .cloned()
            .collect()
    }

    /// Why the child's failure looks like the jail's doing, if it ended and does: killed
    /// by the system-call filter, or failed after printing that something was denied.
    pub(crate) fn looks_stopped(&self) -> Option<String> {
        let state = lock(&self.state.0);
        let ended = state.exit?;
        if ended.signal == Some(libc::SIGSYS) {
            return Some("was killed by the jail's system-call filter (SIGSYS)".into());
        }
        if let Some(refused) = state.notes.refused.first() {
            let more = match state.notes.refused.len() {
                1 => String::new(),
                count => format!(" (and {} more)", count - 1),
            };
            return Some(format!("was refused by the jail: {refused}{more}"));
        }
        if ended.code == Some(0) && ended.signal.is_none() {
            return None;
        }
        let line = state.denials.first()?;
        Some(format!(
            "failed ({}) after printing `{line}`",
            status(ended)
        ))
    }

    /// Why the jail could not make sure that nothing the child started is still running,
    /// if it could not: the run cannot be trusted.
    pub(crate) fn unswept(&self) -> Option<String> {
        lock(&self.state.0).notes.unswept.clone()
    }

    /// Whether the child said the programs it compiled cannot run (see
    /// [`reports_unrunnable_build`]), or the jail refused to map code it wrote.
    pub(crate) fn could_not_run_what_it_built(&self) -> bool {
        let state = lock(&self.state.0);
        state.unrunnable_build || state.notes.refused_written_code
    }

    /// Whether the child was killed for running too long.
    pub fn timed_out(&self) -> bool {
        lock(&self.state.0).timed_out
    }

    /// Whether a buffered stream was cut at its limit.
    pub fn overflowed(&self) -> bool {
        let state = lock(&self.state.0);
        state.stdout.overflowed || state.stderr.overflowed
    }

    /// Reads buffered output, waiting until there is some or the stream ended (0 bytes).
    pub fn read(&self, stream: Stream, buf: &mut [u8]) -> usize {
        let (lock_, cvar) = &*self.state;
        let mut state = lock(lock_);
        loop {
            let pipe = state.pipe(stream);
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
            state = cvar.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Writes to the child's stdin; `None` when it has none or closed it.
    pub fn write_stdin(&self, buf: &[u8]) -> Option<std::io::Result<usize>> {
        if self.stand_in {
            return Some(Ok(buf.len()));
        }
        let mut stdin = self.stdin.lock().unwrap_or_else(PoisonError::into_inner);
        Some(stdin.as_mut()?.write(buf))
    }

    /// Closes the child's stdin, so it sees the end of its input.
    pub fn close_stdin(&self) {
        self.stdin
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// `exit status 1`, `signal 9`.
fn status(ended: Ended) -> String {
    match (ended.code, ended.signal) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "no status".into(),
    }
}

impl State {
    fn pipe(&mut self, stream: Stream) -> &mut Pipe {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }
}

/// Stops an unconfined child that outlives `limit`.
fn watch_time(state: Arc<(Mutex<State>, Condvar)>, stopper: Stopper, limit: Duration) {
    let _ = thread::Builder::new()
        .name("wasm-build-watchdog".into())
        .spawn(move || {
            let (lock_, cvar) = &*state;
            let state = lock(lock_);
            let (mut state, timeout) = cvar
                .wait_timeout_while(state, limit, |state| state.exit.is_none())
                .unwrap_or_else(PoisonError::into_inner);
            if timeout.timed_out() && state.exit.is_none() {
                state.timed_out = true;
                stopper.stop();
            }
        });
}

fn spawn_drain(
    mut pipe: Box<dyn Read + Send>,
    drain: Drain,
    stream: Stream,
    state: Arc<(Mutex<State>, Condvar)>,
    stopper: Stopper,
) {
    let _ = thread::Builder::new()
        .name("wasm-build-drain".into())
        .spawn(move || {
            let mut chunk = [0u8; 16 * 1024];
            let (lock_, cvar) = &*state;
            let mut taken = 0u64;
            let mut scanner = DenialScanner::default();
            let note = |found: Vec<String>| {
                if found.is_empty() {
                    return;
                }
                let mut state = lock(lock_);
                state.unrunnable_build |= found.iter().any(|line| reports_unrunnable_build(line));
                if state.exhausted.is_none() {
                    state.exhausted = found
                        .iter()
                        .find_map(|line| Some((reports_exhaustion(line)?, line.clone())));
                }
                let room = DENIALS_KEPT.saturating_sub(state.denials.len());
                state.denials.extend(
                    found
                        .into_iter()
                        .filter(|line| reports_denial(line))
                        .take(room),
                );
            };
            loop {
                let len = match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(len) => len,
                };
                note(scanner.feed(&chunk[..len]));
                let refused = match &drain {
                    Drain::Guest(output) => output.accept(&chunk[..len]).is_err(),
                    Drain::Buffer { limit } => {
                        taken += len as u64;
                        let mut state = lock(lock_);
                        let pipe = state.pipe(stream);
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
                    stopper.stop();
                    break;
                }
            }
            note(scanner.take().into_iter().collect());
            let mut state = lock(lock_);
            state.pipe(stream).eof = true;
            cvar.notify_all();
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last line a program prints before it exits counts, however the reaper and the
    /// drain are scheduled: without `settle` this failed under load (CI, stop 20), when the
    /// exit was seen before the drain read autoconf's verdict.
    #[test]
    fn the_last_words_of_a_program_are_read_before_its_verdicts() {
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            program: wasm_build_jail::ProgramFile::identify(std::path::Path::new("/bin/sh"))
                .unwrap(),
            argv0: "sh".into(),
            args: vec![
                "-c".into(),
                "echo 'configure: error: cannot run C compiled programs.' >&2; exit 1".into(),
            ],
            env: Vec::new(),
            cwd: dir.path().to_path_buf(),
            access: wasm_build_jail::Access::default(),
            network: wasm_build_jail::Network::None,
            code: wasm_build_jail::Code::Untrusted,
            time_limit: None,
            jobserver_tokens: 0,
            resources: wasm_build_jail::Resources::UNBOUNDED,
        };
        use wasm_build_jail::Stdio::{Null, Piped};
        for round in 0..200 {
            let spawned = Spawned::unconfined(&spec, [Null, Piped, Piped]).unwrap();
            let child = ChildProcess::supervise(
                spawned,
                Some(Drain::Buffer { limit: 1 << 20 }),
                Some(Drain::Buffer { limit: 1 << 20 }),
                Duration::from_secs(60),
            );
            assert!(child.wait(true).is_some());
            child.settle(Duration::from_secs(10));
            assert!(child.could_not_run_what_it_built(), "round {round}");
            assert!(child.looks_stopped().is_some(), "round {round}");
        }
    }

    /// What programs print at the kernel's bounds names the bound; ordinary failures
    /// name none.
    #[test]
    fn exhaustion_is_told_by_what_programs_print() {
        for (line, bound) in [
            (
                "cc1plus: out of memory allocating 65536 bytes",
                Some(Bound::AddressSpace),
            ),
            (
                "memory allocation of 1048576 bytes failed",
                Some(Bound::AddressSpace),
            ),
            (
                "terminate called after throwing an instance of 'std::bad_alloc'",
                Some(Bound::AddressSpace),
            ),
            (
                "awk: run time error: out of memory",
                Some(Bound::AddressSpace),
            ),
            ("sh: 1: File size limit exceeded", Some(Bound::FileSize)),
            ("ar: libfoo.a: File too large", Some(Bound::FileSize)),
            ("error: linking with `cc` failed: exit status: 1", None),
            ("warning: unused variable", None),
        ] {
            assert_eq!(reports_exhaustion(line), bound, "{line}");
        }
        let mut scanner = DenialScanner::default();
        assert_eq!(
            scanner.feed(b"fine\nsh: 1: File size limit exceeded\n"),
            ["sh: 1: File size limit exceeded"]
        );
    }

    #[test]
    fn denials_are_found_across_chunks_and_at_the_end() {
        let mut scanner = DenialScanner::default();
        assert!(
            scanner
                .feed(b"cc1: fatal error: /opt/x/y.h: Permiss")
                .is_empty()
        );
        assert_eq!(
            scanner.feed(b"ion denied\ncompilation terminated.\n"),
            ["cc1: fatal error: /opt/x/y.h: Permission denied"]
        );
        assert!(scanner.feed(b"all fine\n").is_empty());
        assert!(scanner.feed(b"socket: Operation not permitted").is_empty());
        assert_eq!(
            scanner.take().as_deref(),
            Some("socket: Operation not permitted")
        );
        assert_eq!(scanner.take(), None);
    }
}
