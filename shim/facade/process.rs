//! `std::process`, with programs started by the sandbox's host.
//!
//! The host checks each request against the policy, runs the program natively and
//! confined, and drains its output into buffers, so children run concurrently (as cc's
//! parallel compiles expect) while the guest waits, polls or reads.

pub use std::process::{abort, exit, ExitCode, Termination};

/// The sandbox's process id on the host (std panics here on wasm32-wasip1); scripts use
/// it to name temporary files.
pub fn id() -> u32 {
    host::process_id()
}

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::host;
use crate::protocol::{stdio as how, stream, SpawnRequest};

/// Where a child's standard stream goes.
pub struct Stdio(How);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Inherit,
    Null,
    Piped,
    Unsupported(&'static str),
}

impl Stdio {
    pub fn piped() -> Stdio {
        Stdio(How::Piped)
    }
    pub fn inherit() -> Stdio {
        Stdio(How::Inherit)
    }
    pub fn null() -> Stdio {
        Stdio(How::Null)
    }
}

impl fmt::Debug for Stdio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdio").finish_non_exhaustive()
    }
}

impl From<std::fs::File> for Stdio {
    fn from(_: std::fs::File) -> Stdio {
        Stdio(How::Unsupported("a file as a child's stdio"))
    }
}
impl From<ChildStdin> for Stdio {
    fn from(_: ChildStdin) -> Stdio {
        Stdio(How::Unsupported("one child's pipe as another's stdio"))
    }
}
impl From<ChildStdout> for Stdio {
    fn from(_: ChildStdout) -> Stdio {
        Stdio(How::Unsupported("one child's pipe as another's stdio"))
    }
}
impl From<ChildStderr> for Stdio {
    fn from(_: ChildStderr) -> Stdio {
        Stdio(How::Unsupported("one child's pipe as another's stdio"))
    }
}
impl From<io::PipeReader> for Stdio {
    fn from(_: io::PipeReader) -> Stdio {
        Stdio(How::Unsupported("an anonymous pipe as a child's stdio"))
    }
}
impl From<io::PipeWriter> for Stdio {
    fn from(_: io::PipeWriter) -> Stdio {
        Stdio(How::Unsupported("an anonymous pipe as a child's stdio"))
    }
}
impl From<std::os::fd::OwnedFd> for Stdio {
    fn from(_: std::os::fd::OwnedFd) -> Stdio {
        Stdio(How::Unsupported("a file descriptor as a child's stdio"))
    }
}
impl From<io::Stdout> for Stdio {
    fn from(_: io::Stdout) -> Stdio {
        Stdio(How::Inherit)
    }
}
impl From<io::Stderr> for Stdio {
    fn from(_: io::Stderr) -> Stdio {
        Stdio(How::Inherit)
    }
}

/// A process builder, like `std::process::Command`.
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    env_clear: bool,
    env: BTreeMap<OsString, Option<OsString>>,
    cwd: Option<PathBuf>,
    stdin: Option<How>,
    stdout: Option<How>,
    stderr: Option<How>,
}

impl Command {
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            env_clear: false,
            env: BTreeMap::new(),
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
        }
    }

    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.env
            .insert(key.as_ref().to_os_string(), Some(val.as_ref().to_os_string()));
        self
    }

    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (key, val) in vars {
            self.env(key, val);
        }
        self
    }

    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        if self.env_clear {
            self.env.remove(key.as_ref());
        } else {
            self.env.insert(key.as_ref().to_os_string(), None);
        }
        self
    }

    pub fn env_clear(&mut self) -> &mut Command {
        self.env_clear = true;
        self.env.clear();
        self
    }

    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stdin = Some(cfg.into().0);
        self
    }

    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stdout = Some(cfg.into().0);
        self
    }

    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stderr = Some(cfg.into().0);
        self
    }

    pub fn spawn(&mut self) -> io::Result<Child> {
        self.start([How::Inherit; 3])
    }

    pub fn output(&mut self) -> io::Result<Output> {
        self.start([How::Null, How::Piped, How::Piped])?
            .wait_with_output()
    }

    pub fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.start([How::Inherit; 3])?;
        child.stdin.take();
        child.wait()
    }

    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    pub fn get_args(&self) -> CommandArgs<'_> {
        CommandArgs {
            inner: self.args.iter(),
        }
    }

    pub fn get_envs(&self) -> CommandEnvs<'_> {
        CommandEnvs {
            inner: self.env.iter(),
        }
    }

    pub fn get_current_dir(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    fn start(&mut self, defaults: [How; 3]) -> io::Result<Child> {
        let chosen = [
            self.stdin.unwrap_or(defaults[0]),
            self.stdout.unwrap_or(defaults[1]),
            self.stderr.unwrap_or(defaults[2]),
        ];
        let mut stdio = [0u8; 3];
        for (slot, how) in stdio.iter_mut().zip(chosen) {
            *slot = match how {
                How::Inherit => how::INHERIT,
                How::Null => how::NULL,
                How::Piped => how::PIPED,
                How::Unsupported(what) => {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        format!("the build-script sandbox does not support {what}"),
                    ))
                }
            };
        }
        let text = |value: &OsStr| {
            value.to_str().map(str::to_string).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the build-script sandbox passes only UTF-8 to programs",
                )
            })
        };
        let cwd = match &self.cwd {
            Some(dir) => Some(text(std::path::absolute(dir)?.as_os_str())?),
            None => Some(text(std::env::current_dir()?.as_os_str())?),
        };
        let request = SpawnRequest {
            program: text(&self.program)?,
            args: self.args.iter().map(|arg| text(arg)).collect::<io::Result<_>>()?,
            env_clear: self.env_clear,
            env: self
                .env
                .iter()
                .map(|(key, val)| Ok((text(key)?, val.as_deref().map(text).transpose()?)))
                .collect::<io::Result<_>>()?,
            cwd,
            stdio,
        };
        let handle = Arc::new(Handle(host::spawn(&request.encode())?));
        Ok(Child {
            stdin: (chosen[0] == How::Piped).then(|| ChildStdin(handle.clone())),
            stdout: (chosen[1] == How::Piped).then(|| ChildStdout(handle.clone())),
            stderr: (chosen[2] == How::Piped).then(|| ChildStderr(handle.clone())),
            handle,
        })
    }
}

/// Formatted exactly as std formats a `Command` on Unix, because build scripts print it
/// (cc-rs logs every compiler invocation) and their output should match a native build's.
impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            let mut debug = f.debug_struct("Command");
            debug.field("program", &self.program).field("args", &self.args);
            if self.env_clear || !self.env.is_empty() {
                debug.field("env", &self.env);
            }
            if self.cwd.is_some() {
                debug.field("cwd", &self.cwd);
            }
            return debug.finish();
        }
        if let Some(cwd) = &self.cwd {
            write!(f, "cd {cwd:?} && ")?;
        }
        if self.env_clear {
            write!(f, "env -i ")?;
        } else {
            let mut any_removed = false;
            for (key, value) in &self.env {
                if value.is_none() {
                    if !any_removed {
                        write!(f, "env ")?;
                        any_removed = true;
                    }
                    write!(f, "-u {} ", key.to_string_lossy())?;
                }
            }
        }
        for (key, value) in &self.env {
            if let Some(value) = value {
                write!(f, "{}={value:?} ", key.to_string_lossy())?;
            }
        }
        write!(f, "{:?}", self.program)?;
        for arg in &self.args {
            write!(f, " {arg:?}")?;
        }
        Ok(())
    }
}

/// The arguments of a `Command`.
pub struct CommandArgs<'a> {
    inner: std::slice::Iter<'a, OsString>,
}

impl<'a> Iterator for CommandArgs<'a> {
    type Item = &'a OsStr;
    fn next(&mut self) -> Option<&'a OsStr> {
        self.inner.next().map(OsString::as_os_str)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for CommandArgs<'_> {}

/// As std's on Unix, which keeps the arguments as C strings and prints them so.
impl fmt::Debug for CommandArgs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args: Vec<AsCString<'_>> = self.inner.clone().map(|arg| AsCString(arg)).collect();
        f.debug_struct("CommandArgs").field("inner", &args).finish()
    }
}

/// An argument printed as `CStr`'s `Debug` prints it.
struct AsCString<'a>(&'a OsStr);

impl fmt::Debug for AsCString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.as_encoded_bytes().escape_ascii())
    }
}

/// The environment changes of a `Command`.
pub struct CommandEnvs<'a> {
    inner: std::collections::btree_map::Iter<'a, OsString, Option<OsString>>,
}

impl<'a> Iterator for CommandEnvs<'a> {
    type Item = (&'a OsStr, Option<&'a OsStr>);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|(key, val)| (key.as_os_str(), val.as_deref()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for CommandEnvs<'_> {}

/// As std's on Unix.
impl fmt::Debug for CommandEnvs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let changes: Vec<(&OsStr, Option<&OsStr>)> = self
            .inner
            .clone()
            .map(|(key, val)| (key.as_os_str(), val.as_deref()))
            .collect();
        f.debug_struct("CommandEnvs").field("iter", &changes).finish()
    }
}

/// The host's handle of a running child; released when the child and all its pipes are
/// gone. Dropping a child does not kill it, as with std; the sandbox kills stragglers
/// when the build script ends.
#[derive(Debug)]
struct Handle(u32);

impl Drop for Handle {
    fn drop(&mut self) {
        host::release(self.0);
    }
}

/// A running or exited child process.
pub struct Child {
    handle: Arc<Handle>,
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<ChildStdout>,
    pub stderr: Option<ChildStderr>,
}

impl Child {
    pub fn id(&self) -> u32 {
        host::id(self.handle.0)
    }

    pub fn kill(&mut self) -> io::Result<()> {
        host::kill(self.handle.0)
    }

    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        let (code, signal) = host::wait(self.handle.0, true)?.unwrap_or((-1, -1));
        Ok(ExitStatus::from_parts(code, signal))
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        Ok(host::wait(self.handle.0, false)?
            .map(|(code, signal)| ExitStatus::from_parts(code, signal)))
    }

    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let Some(mut pipe) = self.stdout.take() {
            pipe.read_to_end(&mut stdout)?;
        }
        if let Some(mut pipe) = self.stderr.take() {
            pipe.read_to_end(&mut stderr)?;
        }
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// As std's.
impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

/// The write end of a child's stdin.
pub struct ChildStdin(Arc<Handle>);

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// As std's: writing needs no exclusive access (a shared `&ChildStdin` in a thread).
impl Write for &ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        host::write(self.0 .0, buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ChildStdin {
    fn drop(&mut self) {
        // Closing stdin is how a child learns its input ended.
        let _ = host::close_stdin(self.0 .0);
    }
}

/// The read end of a child's stdout.
pub struct ChildStdout(Arc<Handle>);

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        host::read(self.0 .0, stream::STDOUT, buf)
    }
}

/// The read end of a child's stderr.
pub struct ChildStderr(Arc<Handle>);

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        host::read(self.0 .0, stream::STDERR, buf)
    }
}

/// As std's: the type's name, no contents.
macro_rules! opaque_debug {
    ($($name:ident),*) => {$(
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    )*};
}
opaque_debug!(ChildStdin, ChildStdout, ChildStderr);

/// How a child ended: a Unix wait status, as std keeps it, so it prints as natively.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitStatus(i32);

impl ExitStatus {
    /// From the host's answer: an exit code, or the signal that ended the child
    /// (negative values stand for "none").
    fn from_parts(code: i32, signal: i32) -> ExitStatus {
        if signal >= 0 {
            ExitStatus(signal & 0x7f)
        } else {
            ExitStatus((code & 0xff) << 8)
        }
    }

    /// The signal that ended the child.
    fn signal(self) -> Option<i32> {
        let signal = self.0 & 0x7f;
        (signal != 0 && signal != 0x7f).then_some(signal)
    }

    pub fn success(&self) -> bool {
        self.0 == 0
    }

    pub fn code(&self) -> Option<i32> {
        (self.0 & 0x7f == 0).then_some((self.0 >> 8) & 0xff)
    }
}

impl fmt::Debug for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ExitStatus")
            .field(&format_args!("unix_wait_status({})", self.0))
            .finish()
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = self.code() {
            return write!(f, "exit status: {code}");
        }
        match self.signal() {
            Some(signal) => match signal_name(signal) {
                Some(name) => write!(f, "signal: {signal} ({name})"),
                None => write!(f, "signal: {signal}"),
            },
            None => write!(f, "unrecognised wait status: {} {:#x}", self.0, self.0),
        }
    }
}

/// Linux's signal names, as std prints them.
fn signal_name(signal: i32) -> Option<&'static str> {
    const NAMES: [&str; 31] = [
        "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
        "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
        "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",
        "SIGPWR", "SIGSYS",
    ];
    usize::try_from(signal - 1)
        .ok()
        .and_then(|index| NAMES.get(index))
        .copied()
}

/// Everything a finished child produced.
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// As std's: output that is UTF-8 shows as a string.
impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |bytes: &Vec<u8>| -> Box<dyn fmt::Debug> {
            match std::str::from_utf8(bytes) {
                Ok(text) => Box::new(text.to_string()),
                Err(_) => Box::new(bytes.clone()),
            }
        };
        f.debug_struct("Output")
            .field("status", &self.status)
            .field("stdout", &text(&self.stdout))
            .field("stderr", &text(&self.stderr))
            .finish()
    }
}
