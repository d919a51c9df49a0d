//! Executing the program: opening the very file the host judged (and the interpreter of a
//! `#!` script), and, in the forked child, applying every layer to itself before it
//! executes that open file.

use std::convert::Infallible;
use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::failure::{Failure, missing, refused};
use super::privileges::drop_capabilities;
use crate::error::Layer;
use crate::linux::jobserver::Jobserver;
use crate::linux::{fd, filesystem, resources, syscalls};
use crate::program_file::open_identified;
use crate::spawn::Message;
use crate::spec::{Resources, Rules};

/// The layers the forked child applies to itself before it executes the program.
pub(super) struct Confined<'a> {
    pub(super) ruleset: filesystem::Prepared,
    pub(super) filter: &'a [libc::sock_filter],
    /// Where the child sends the filter's notification descriptor.
    pub(super) supervisor: &'a OwnedFd,
}

pub(super) fn c_string(text: &OsStr) -> Result<CString, Failure> {
    CString::new(text.as_bytes())
        .map_err(|_| Message::Refused("an argument or variable contains a NUL byte".into()))
}

pub(super) fn c_strings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>, Failure> {
    items.map(|item| c_string(&item)).collect()
}

fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|string| string.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// In the forked child: confine and execute, or say why not.
pub(super) fn confine_and_exec(
    launch: &Launch,
    confined: Confined<'_>,
    jobserver: &Jobserver,
    cwd: &CString,
    argv: &[CString],
    envp: &[CString],
) -> Result<Infallible, Failure> {
    reset_signals();
    // A session of its own: no controlling terminal to inject keystrokes into, and a
    // process group the helper can kill.
    // SAFETY: plain syscall in a fresh child.
    if unsafe { libc::setsid() } < 0 {
        return Err(refused("failed to start a session")(
            std::io::Error::last_os_error(),
        ));
    }
    let first_closed = jobserver
        .install()
        .map_err(refused("failed to pass the jobserver"))?;
    fd::cloexec_from(first_closed).map_err(refused("failed to close inherited descriptors"))?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::chdir(cwd.as_ptr()) } < 0 {
        return Err(refused("failed to enter the working directory")(
            std::io::Error::last_os_error(),
        ));
    }
    resources::apply(&launch.resources).map_err(Message::Refused)?;
    drop_capabilities().map_err(Message::Refused)?;
    confined
        .ruleset
        .enforce()
        .map_err(missing(Layer::Landlock))?;
    let listener = syscalls::install(confined.filter).map_err(missing(Layer::Seccomp))?;
    fd::send_fd(confined.supervisor, &listener)
        .map_err(refused("failed to hand the filter to its supervisor"))?;
    // The program must never answer its own calls.
    drop(listener);
    let argv = pointers(argv);
    let envp = pointers(envp);
    // SAFETY: executes the open, checked file with NUL-terminated argument and
    // environment arrays that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            launch.exec_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
    }
    Err(refused("the kernel would not execute it")(
        std::io::Error::last_os_error(),
    ))
}

/// The program to execute and its `argv`, with the interpreter of a `#!` script, and the
/// bounds it runs under.
pub(super) struct Launch {
    pub(super) program: OwnedFd,
    pub(super) interpreter: Option<OwnedFd>,
    pub(super) argv: Vec<OsString>,
    resources: Resources,
}

impl Launch {
    pub(super) fn open(rules: &Rules, argv: &[OsString]) -> Result<Self, Failure> {
        let program = open_identified(&rules.program)
            .map_err(refused(&format!("{}", rules.program.path.display())))?;
        let Some((interpreter, argument)) = shebang(&program) else {
            return Ok(Launch {
                program,
                interpreter: None,
                argv: argv.to_vec(),
                resources: rules.resources,
            });
        };
        // The kernel would hand the interpreter the script's path, to be opened again:
        // fine where nothing jailed can write, a race where something can.
        if is_beneath_any(&rules.program.path, &rules.access.write) {
            return Err(Message::Refused(format!(
                "{} is a script in a directory the build writes; run its interpreter instead",
                rules.program.path.display()
            )));
        }
        let opened = fd::open_program(&interpreter).map_err(refused(&format!(
            "its interpreter {}",
            interpreter.display()
        )))?;
        if shebang(&opened).is_some() {
            return Err(Message::Refused(format!(
                "its interpreter {} is a script too",
                interpreter.display()
            )));
        }
        let mut script_argv = vec![interpreter.into_os_string()];
        script_argv.extend(argument);
        script_argv.push(rules.program.path.clone().into_os_string());
        script_argv.extend(argv.iter().skip(1).cloned());
        Ok(Launch {
            program,
            interpreter: Some(opened),
            argv: script_argv,
            resources: rules.resources,
        })
    }

    /// The files executed (device, inode): the program and its interpreter.
    pub(super) fn identities(&self) -> Vec<(u64, u64)> {
        std::iter::once(&self.program)
            .chain(self.interpreter.as_ref())
            .filter_map(|opened| fd::stat(opened).ok())
            .map(|stat| (stat.st_dev, stat.st_ino))
            .collect()
    }

    fn exec_fd(&self) -> RawFd {
        self.interpreter
            .as_ref()
            .unwrap_or(&self.program)
            .as_raw_fd()
    }
}

/// The interpreter and optional argument of a `#!` line, as the kernel reads it: the
/// first 256 bytes, the interpreter up to the first blank, the rest as one argument.
fn shebang(program: &OwnedFd) -> Option<(PathBuf, Option<OsString>)> {
    let mut head = [0u8; 256];
    // SAFETY: reads into a buffer we own; an O_PATH descriptor fails with EBADF.
    let read = unsafe { libc::pread(program.as_raw_fd(), head.as_mut_ptr().cast(), head.len(), 0) };
    let head = &head[..usize::try_from(read).ok()?];
    let line = head.strip_prefix(b"#!")?;
    let line = &line[..line
        .iter()
        .position(|byte| *byte == b'\n')
        .unwrap_or(line.len())];
    let line = line.trim_ascii();
    let split = line
        .iter()
        .position(|byte| *byte == b' ' || *byte == b'\t')
        .unwrap_or(line.len());
    let interpreter = PathBuf::from(OsStr::from_bytes(&line[..split]));
    let argument = line[split..].trim_ascii();
    let argument = (!argument.is_empty()).then(|| OsStr::from_bytes(argument).to_os_string());
    Some((interpreter, argument))
}

fn is_beneath_any(path: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|root| {
        let root = root.canonicalize().unwrap_or_else(|_| root.clone());
        path.starts_with(root)
    })
}

/// In the child: nothing blocked, and the default action for SIGPIPE, which the helper's
/// Rust runtime ignores and an ignored signal would stay ignored across `exec`.
fn reset_signals() {
    // SAFETY: resets this process's signal mask and one disposition.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
