//! The host's side: starting the helper, learning whether the program runs, waiting for
//! it, and stopping it. It compiles everywhere; only Linux has a backend to start.

#![allow(
    clippy::disallowed_methods,
    reason = "the jail starts the helper that confines and execs a granted program"
)]
#![cfg_attr(not(target_os = "linux"), allow(unused_imports, dead_code))]

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Missing};
use crate::spec::{Rules, Spec};
use crate::{HELPER_ARG, Layers};

/// The descriptor on which the helper reports to the host.
pub(crate) const REPORT_FD: i32 = 3;

/// What the helper tells the host, one JSON line each: first whether the program runs,
/// then how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Message {
    /// The program runs, with this pid, confined by these layers.
    Ready(u32, Applied),
    /// A layer is missing; nothing ran.
    Missing(Missing),
    /// The jail refused or failed to start the program; nothing ran.
    Refused(String),
    /// The program exited with this status.
    Exited(i32),
    /// The program was killed by this signal.
    Signaled(i32),
    /// The program ran past its time limit and was killed.
    TimedOut,
    /// The host asked the helper to stop, or went away.
    Stopped,
    /// What the jail did while the program ran (sent before how it ended, when there is
    /// anything to say).
    Notes(JailNotes),
    /// The program and its descendants went past a bound the helper enforces, and were
    /// killed.
    Exceeded(Exceeded),
}

/// A bound of [`crate::Resources`] that the helper enforces by killing the whole jail (the
/// kernel enforces the others itself, per process).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exceeded {
    /// More tasks at once than [`crate::Resources::processes`].
    Processes {
        /// The bound.
        limit: u32,
        /// The tasks counted when the helper saw it (it stops counting past the bound).
        counted: u32,
    },
    /// The helper could not count the tasks, and stopped them rather than let them run
    /// unbounded.
    Uncounted {
        /// The bound.
        limit: u32,
        /// Why counting failed.
        why: String,
    },
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exceeded::Processes { limit, .. } => {
                write!(f, "held more than {limit} processes and threads at once")
            }
            Exceeded::Uncounted { limit, why } => write!(
                f,
                "could not be held to its limit of {limit} processes and threads: counting \
                 them failed ({why})"
            ),
        }
    }
}

/// The layers that confine a running program, for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The Landlock ABI whose rights were handled.
    pub landlock_abi: u8,
    /// How signals are kept inside, if they must be.
    pub signals: SignalScope,
}

/// How a jailed program is kept from signalling processes outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignalScope {
    /// Landlock's signal scope (ABI 6).
    Landlock,
    /// A PID namespace: nothing outside is visible.
    PidNamespace,
    /// Not at all: the program runs only toolchain code ([`crate::Code::Toolchain`]).
    Unscoped,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let signals = match self.signals {
            SignalScope::Landlock => "signals scoped by Landlock",
            SignalScope::PidNamespace => "signals scoped by a PID namespace",
            SignalScope::Unscoped => "signals unscoped (toolchain code only)",
        };
        write!(
            f,
            "Landlock ABI {}, seccomp, descendants killed, {signals}",
            self.landlock_abi
        )
    }
}

/// Where one of the program's standard streams goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// `/dev/null`.
    Null,
    /// A pipe to the host.
    Piped,
}

impl Stdio {
    fn std(self) -> std::process::Stdio {
        match self {
            Stdio::Null => std::process::Stdio::null(),
            Stdio::Piped => std::process::Stdio::piped(),
        }
    }
}

/// Starts programs in the jail.
#[derive(Debug, Clone)]
pub struct Jail {
    helper: PathBuf,
    landlock_abi_cap: Option<u8>,
}

/// How a jailed program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this status.
    Exited(i32),
    /// It was killed by this signal (its own doing, or another program's in the jail).
    Signaled(i32),
    /// It ran past the spec's time limit; it and everything it started were killed.
    TimedOut,
    /// [`Killer::kill`] stopped it, and everything it started.
    Stopped,
    /// It and everything it started went past a bound of [`crate::Resources`] that the
    /// helper enforces, and were killed.
    Exceeded(Exceeded),
    /// The helper itself ended without saying how the program did (it was killed from
    /// outside). The program was killed with it where the kernel allowed.
    Lost,
}

/// A running jailed program.
#[derive(Debug)]
pub struct Jailed {
    /// The program's pid.
    pub pid: u32,
    /// The layers that confine it.
    pub applied: Applied,
    /// Its stdin, when piped.
    pub stdin: Option<ChildStdin>,
    /// Its stdout, when piped.
    pub stdout: Option<ChildStdout>,
    /// Its stderr, when piped.
    pub stderr: Option<ChildStderr>,
    /// Waits for it.
    pub waiter: Waiter,
    /// Stops it from any thread.
    pub killer: Killer,
}

/// How a jailed program ended, and what the jail did on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// How the program ended.
    pub outcome: Outcome,
    /// What the jail did besides.
    pub notes: JailNotes,
}

/// What the jail did while a program ran, besides ending it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailNotes {
    /// What the jail refused it, in words (a program that failed after one of these was
    /// most likely stopped by the jail, and the user must hear which).
    pub refused: Vec<String>,
    /// Whether the jail refused to run (map as code) a file the build wrote, which
    /// `run-built` would allow.
    pub refused_written_code: bool,
    /// Set when the jail could not make sure that nothing the program started is still
    /// running: the run cannot be trusted, whatever the program's status.
    pub unswept: Option<String>,
}

/// Waits for a jailed program and everything it started.
#[derive(Debug)]
pub struct Waiter {
    helper: Child,
    report: BufReader<File>,
}

/// Stops a jailed program and everything it started. Cloneable, usable from any thread,
/// and harmless once the program has ended: it signals the helper through a pidfd, which
/// can never reach a process that reused the helper's pid.
#[derive(Debug, Clone)]
pub struct Killer {
    #[cfg(target_os = "linux")]
    pidfd: Option<Arc<std::os::fd::OwnedFd>>,
    /// Used only where pidfds are refused (a seccomp profile older than the kernel).
    pid: i32,
}

impl Jail {
    /// A jail whose helper is `helper`: an executable whose `main` hands
    /// [`HELPER_ARG`]`, ...` to [`crate::helper_main`] (the embedding tool itself).
    pub fn new(helper: impl Into<PathBuf>) -> Self {
        Jail {
            helper: helper.into(),
            landlock_abi_cap: None,
        }
    }

    /// Uses at most Landlock ABI `cap`, as a kernel that has no newer one would: to see
    /// what users of older kernels get. It can only remove layers, never add one.
    #[must_use]
    pub fn with_landlock_abi_cap(mut self, cap: Option<u8>) -> Self {
        self.landlock_abi_cap = cap;
        self
    }

    /// The helper executable.
    pub fn helper(&self) -> &Path {
        &self.helper
    }

    /// What this machine offers, tried in throw-away processes (see [`Layers::probe`]).
    pub fn layers(&self) -> Layers {
        Layers::probe(&self.helper, self.landlock_abi_cap)
    }

    /// What this machine offers, cheaply (see [`Layers::detect`]).
    pub fn detect_layers(&self) -> Layers {
        Layers::detect(&self.helper, self.landlock_abi_cap)
    }

    /// Starts `spec.program` in the jail, and returns once it runs.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when this machine lacks a layer the spec needs,
    /// [`Error::Refused`] when the jail would not start the program (it is no longer the
    /// file the spec names, or cannot be executed), [`Error::Helper`] when the helper
    /// cannot be started. In every case nothing ran.
    pub fn spawn(&self, spec: &Spec, stdio: [Stdio; 3]) -> Result<Jailed, Error> {
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (spec, stdio);
            Err(Error::Unavailable(Missing::no_backend()))
        }
        #[cfg(target_os = "linux")]
        {
            self.spawn_linux(spec, stdio)
        }
    }

    #[cfg(target_os = "linux")]
    fn spawn_linux(&self, spec: &Spec, stdio: [Stdio; 3]) -> Result<Jailed, Error> {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;

        let helper_error = |source: std::io::Error| Error::Helper {
            helper: self.helper.clone(),
            source,
        };
        let rules = Rules {
            program: spec.program.clone(),
            cwd: spec.cwd.clone(),
            access: spec.access.clone(),
            network: spec.network,
            code: spec.code,
            time_limit_ms: spec
                .time_limit
                .map(|limit| u64::try_from(limit.as_millis()).unwrap_or(u64::MAX)),
            jobserver_tokens: spec.jobserver_tokens,
            resources: spec.resources,
            host_pid: std::process::id(),
            landlock_abi_cap: self.landlock_abi_cap,
        };
        let rules = serde_json::to_string(&rules).map_err(|err| {
            helper_error(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("the jail's rules cannot be encoded (a path that is not UTF-8?): {err}"),
            ))
        })?;
        let (report, report_write) = crate::linux::fd::pipe().map_err(helper_error)?;
        let mut command = Command::new(&self.helper);
        command
            .arg(HELPER_ARG)
            .arg(rules)
            .args(helper_argv(spec))
            // The program's environment travels as arguments: in the helper's own, a
            // variable the script chose (LD_PRELOAD) would load code into the helper,
            // which is not confined.
            .env_clear()
            .stdin(stdio[0].std())
            .stdout(stdio[1].std())
            .stderr(stdio[2].std());
        let report_fd = report_write.as_raw_fd();
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec.
        unsafe {
            command.pre_exec(move || {
                let done = if report_fd == REPORT_FD {
                    libc::fcntl(report_fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(report_fd, REPORT_FD)
                };
                if done < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut helper = command.spawn().map_err(helper_error)?;
        drop(report_write);
        let killer = Killer::for_child(&helper);
        let mut report = BufReader::new(File::from(report));
        match read_message(&mut report) {
            Some(Message::Ready(pid, applied)) => Ok(Jailed {
                pid,
                applied,
                stdin: helper.stdin.take(),
                stdout: helper.stdout.take(),
                stderr: helper.stderr.take(),
                waiter: Waiter { helper, report },
                killer,
            }),
            other => {
                let status = helper.wait();
                Err(match other {
                    Some(Message::Missing(missing)) => Error::Unavailable(missing),
                    Some(Message::Refused(message)) => Error::Refused {
                        program: spec.program.path.clone(),
                        message,
                    },
                    _ => helper_error(std::io::Error::other(format!(
                        "it ended without starting the program ({})",
                        status.map_or_else(|err| err.to_string(), |status| status.to_string())
                    ))),
                })
            }
        }
    }
}

/// `argc argv0 args... env...`: the program's arguments and environment as the helper's
/// arguments, each one as natively (one argument per variable, within the kernel's limits
/// on a single argument).
fn helper_argv(spec: &Spec) -> Vec<OsString> {
    let mut argv = Vec::with_capacity(2 + spec.args.len() + spec.env.len());
    argv.push(OsString::from((spec.args.len() + 1).to_string()));
    argv.push(spec.argv0.clone());
    argv.extend(spec.args.iter().cloned());
    for (name, value) in &spec.env {
        let mut entry = name.clone();
        entry.push("=");
        entry.push(value);
        argv.push(entry);
    }
    argv
}

fn read_message(report: &mut BufReader<File>) -> Option<Message> {
    let mut line = String::new();
    match report.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => serde_json::from_str(line.trim_end()).ok(),
    }
}

impl Waiter {
    /// Waits until the program and everything it started have ended.
    pub fn wait(self) -> Outcome {
        self.finish().outcome
    }

    /// Waits until the program and everything it started have ended, and says what the
    /// jail did meanwhile.
    pub fn finish(mut self) -> Finished {
        let _ = self.helper.wait();
        let mut notes = JailNotes::default();
        loop {
            let outcome = match read_message(&mut self.report) {
                Some(Message::Notes(said)) => {
                    notes = said;
                    continue;
                }
                Some(Message::Exited(code)) => Outcome::Exited(code),
                Some(Message::Signaled(signal)) => Outcome::Signaled(signal),
                Some(Message::TimedOut) => Outcome::TimedOut,
                Some(Message::Stopped) => Outcome::Stopped,
                Some(Message::Exceeded(exceeded)) => Outcome::Exceeded(exceeded),
                _ => Outcome::Lost,
            };
            return Finished { outcome, notes };
        }
    }
}

impl Killer {
    #[cfg(target_os = "linux")]
    fn for_child(child: &Child) -> Self {
        use std::os::fd::FromRawFd;
        let pid = libc::pid_t::try_from(child.id()).unwrap_or(0);
        // SAFETY: pidfd_open on a child we have not reaped yet: the pid is still ours.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let pidfd = i32::try_from(fd)
            .ok()
            .filter(|fd| *fd >= 0)
            // SAFETY: a new descriptor the kernel just returned, owned by nobody else.
            .map(|fd| Arc::new(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }));
        Killer { pidfd, pid }
    }

    /// Asks the helper to kill the program and everything it started. Returns at once;
    /// [`Waiter::wait`] returns once they are gone.
    pub fn kill(&self) {
        #[cfg(target_os = "linux")]
        if let Some(pidfd) = &self.pidfd {
            use std::os::fd::AsRawFd;
            // SAFETY: signals the process the pidfd refers to, if it still exists.
            unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    pidfd.as_raw_fd(),
                    libc::SIGTERM,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                );
            }
            return;
        }
        if self.pid > 0 {
            // SAFETY: plain syscall. Without a pidfd the pid could have been reused once
            // the helper was reaped; the helper is reaped only by `Waiter::wait`, after
            // which nobody needs to kill it.
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
        }
    }
}
