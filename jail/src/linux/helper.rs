//! The helper: a single-threaded process between the host and the jailed program. It is
//! not confined itself; it confines the program it forks, and outlives it only to kill
//! what the program left behind and to report.

use std::convert::Infallible;
use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::supervisor::Supervisor;
use super::{descendants, fd, filesystem, jobserver, resources, syscalls};
use crate::error::{Layer, Missing};
use crate::layers::Layers;
use crate::spawn::{Applied, JailNotes, Message, REPORT_FD, SignalScope};
use crate::spec::{Code, Network, Resources, Rules, SYSTEM_READ_EXEC};

/// Why the program did not start: a [`Message::Missing`] or [`Message::Refused`].
type Failure = Message;

fn refused(context: &str) -> impl FnOnce(std::io::Error) -> Failure + '_ {
    move |err| Message::Refused(format!("{context}: {err}"))
}

fn missing(layer: Layer) -> impl FnOnce(String) -> Failure {
    move |detail| Message::Missing(Missing::new(layer, detail))
}

/// See [`crate::helper_main`].
pub(crate) fn main(args: &[OsString]) -> i32 {
    if args.first().is_some_and(|first| first == "probe") {
        return probe(args.get(1));
    }
    // SAFETY: only asks whether descriptor 3 is open.
    if unsafe { libc::fcntl(REPORT_FD, libc::F_GETFD) } < 0 {
        eprintln!("error: the jail's helper is started by cargo-wasm-build itself, not by hand");
        return 2;
    }
    // SAFETY: descriptor 3 is the report pipe the host set up for us, and nothing else
    // in this process owns it.
    let mut report = unsafe { File::from_raw_fd(REPORT_FD) };
    let message = run(args, &mut report).unwrap_or_else(|failure| failure);
    let status = match message {
        Message::Missing(_) | Message::Refused(_) => 126,
        _ => 0,
    };
    send(&mut report, &message);
    status
}

fn send(report: &mut File, message: &Message) {
    if let Ok(mut line) = serde_json::to_vec(message) {
        line.push(b'\n');
        // The host reads until our end closes; nothing to do if it went away.
        let _ = report.write_all(&line);
    }
}

/// What the host asked for: `rules argc argv0 args... env...`.
struct Invocation {
    rules: Rules,
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl Invocation {
    fn parse(args: &[OsString]) -> Result<Self, Failure> {
        let bad = |what: &str| Message::Refused(format!("the jail's helper got {what}"));
        let [rules, argc, rest @ ..] = args else {
            return Err(bad("too few arguments"));
        };
        let rules: Rules = rules
            .to_str()
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| bad("malformed rules"))?;
        let argc: usize = argc
            .to_str()
            .and_then(|text| text.parse().ok())
            .filter(|argc| *argc >= 1 && *argc <= rest.len())
            .ok_or_else(|| bad("a malformed argument count"))?;
        let (argv, env) = rest.split_at(argc);
        let env = env
            .iter()
            .map(|entry| {
                let bytes = entry.as_bytes();
                let split = bytes
                    .iter()
                    .position(|byte| *byte == b'=')
                    .unwrap_or(bytes.len());
                let value = bytes.get(split + 1..).unwrap_or_default();
                (
                    OsStr::from_bytes(&bytes[..split]).to_os_string(),
                    OsStr::from_bytes(value).to_os_string(),
                )
            })
            .collect();
        Ok(Invocation {
            rules,
            argv: argv.to_vec(),
            env,
        })
    }
}

fn run(args: &[OsString], report: &mut File) -> Result<Message, Failure> {
    let invocation = Invocation::parse(args)?;
    let rules = &invocation.rules;
    // Cargo's jobserver and whatever else the host's process held: none of it is ours.
    fd::close_from(REPORT_FD + 1).map_err(refused("failed to close inherited descriptors"))?;
    become_subreaper().map_err(missing(Layer::Descendants))?;
    let parent = watch_parent(rules.host_pid)?;
    let watched = SignalFd::new().map_err(refused("failed to watch signals"))?;
    let abi = filesystem::abi_in_use(rules.landlock_abi_cap).map_err(missing(Layer::Landlock))?;
    let signals = if abi >= 6 {
        SignalScope::Landlock
    } else if rules.code == Code::Toolchain {
        SignalScope::Unscoped
    } else {
        enter_pid_namespace().map_err(|err| {
            Message::Missing(Missing::new(
                Layer::SignalScope,
                format!(
                    "Landlock ABI {abi} has no scopes, and creating a PID namespace failed: {err}"
                ),
            ))
        })?;
        SignalScope::PidNamespace
    };
    let launch = Launch::open(rules, &invocation.argv)?;
    let ruleset = filesystem::prepare(rules, abi, &launch.program, launch.interpreter.as_ref())
        .map_err(Message::Refused)?;
    let filter = syscalls::filter(rules.network, abi);
    let mut env = invocation.env;
    let jobserver = Jobserver::new(&mut env, rules.jobserver_tokens)
        .map_err(refused("failed to set up a private jobserver"))?;
    let envp = c_strings(env.iter().map(|(name, value)| {
        let mut entry = name.clone();
        entry.push("=");
        entry.push(value);
        entry
    }))?;
    let argv = c_strings(launch.argv.iter().cloned())?;
    let cwd = c_string(rules.cwd.as_os_str())?;
    let (ready, ready_write) = fd::pipe().map_err(refused("failed to create a pipe"))?;
    let (channel, channel_write) =
        fd::socket_pair().map_err(refused("failed to create a socket pair"))?;

    // SAFETY: this process is single-threaded, so the child may do anything.
    let target = unsafe { libc::fork() };
    if target < 0 {
        return Err(Message::Refused(format!(
            "failed to fork: {}",
            std::io::Error::last_os_error()
        )));
    }
    if target == 0 {
        let confined = Confined {
            ruleset,
            filter: &filter,
            supervisor: &channel_write,
        };
        let failure = match confine_and_exec(&launch, confined, &jobserver, &cwd, &argv, &envp) {
            Err(failure) => failure,
            Ok(never) => match never {},
        };
        let mut ready = File::from(ready_write);
        send(&mut ready, &failure);
        // SAFETY: ends the child without running the helper's exit handlers twice.
        unsafe { libc::_exit(126) };
    }
    drop(ready_write);
    drop(channel_write);
    drop(jobserver);
    let listener = fd::recv_fd(&channel);
    let mut said = Vec::new();
    let _ = File::from(ready).read_to_end(&mut said);
    if !said.is_empty() {
        let _ = descendants::kill_all();
        return Err(serde_json::from_slice(said.trim_ascii_end())
            .unwrap_or_else(|_| Message::Refused(String::from_utf8_lossy(&said).into_owned())));
    }
    let started = listener
        .ok()
        .flatten()
        .ok_or_else(|| "the program started without its supervisor".to_string())
        // The supervisor acts with the program's rights, never more: a helper started
        // by root keeps no capability either.
        .and_then(|listener| drop_capabilities().map(|()| listener));
    let listener = match started {
        Ok(listener) => listener,
        Err(why) => {
            let _ = stop(target);
            return Err(Message::Refused(why));
        }
    };
    let mut supervisor = Supervisor::new(
        listener,
        &rules.access.write,
        &executable_roots(rules),
        launch.identities(),
        match rules.network {
            Network::Proxy(proxy) => Some(proxy),
            Network::None => None,
        },
    );
    let applied = Applied {
        landlock_abi: abi,
        signals,
    };
    send(report, &Message::Ready(target as u32, applied));
    detach_stdio();
    let (ended, unswept) = supervise(
        target,
        parent.as_ref(),
        &watched,
        rules.time_limit_ms.map(Duration::from_millis),
        &mut supervisor,
        resources::Census::new(rules.resources.processes),
    );
    let notes = JailNotes {
        refused: supervisor.refusals(),
        refused_written_code: supervisor.refused_code(),
        unswept: unswept.err(),
    };
    if notes != JailNotes::default() {
        send(report, &Message::Notes(notes));
    }
    Ok(ended)
}

/// Where the program may map files as code: the system and what the spec lets it
/// execute.
fn executable_roots(rules: &Rules) -> Vec<PathBuf> {
    SYSTEM_READ_EXEC
        .iter()
        .map(PathBuf::from)
        .chain(rules.access.read_exec.iter().cloned())
        .collect()
}

/// The layers the forked child applies to itself before it executes the program.
struct Confined<'a> {
    ruleset: filesystem::Prepared,
    filter: &'a [libc::sock_filter],
    /// Where the child sends the filter's notification descriptor.
    supervisor: &'a OwnedFd,
}

fn c_string(text: &OsStr) -> Result<CString, Failure> {
    CString::new(text.as_bytes())
        .map_err(|_| Message::Refused("an argument or variable contains a NUL byte".into()))
}

fn c_strings(items: impl Iterator<Item = OsString>) -> Result<Vec<CString>, Failure> {
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
fn confine_and_exec(
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
struct Launch {
    program: OwnedFd,
    interpreter: Option<OwnedFd>,
    argv: Vec<OsString>,
    resources: Resources,
}

impl Launch {
    fn open(rules: &Rules, argv: &[OsString]) -> Result<Self, Failure> {
        let program = fd::open_identified(&rules.program)
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
    fn identities(&self) -> Vec<(u64, u64)> {
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

/// A private jobserver at descriptors 3 and 4 of the program, when its make flags name one.
struct Jobserver {
    pipe: Option<(OwnedFd, OwnedFd)>,
}

impl Jobserver {
    fn new(env: &mut [(OsString, OsString)], tokens: u32) -> std::io::Result<Self> {
        if !jobserver::rewrite(env, tokens > 0) || tokens == 0 {
            return Ok(Jobserver { pipe: None });
        }
        let (read, write) = fd::pipe()?;
        let tokens = vec![b'+'; usize::try_from(tokens).unwrap_or(1).min(4096)];
        File::from(write.try_clone()?).write_all(&tokens)?;
        Ok(Jobserver {
            pipe: Some((read, write)),
        })
    }

    /// Puts the pipe at descriptors 3 and 4 (in the child) and returns the first
    /// descriptor that is not passed on.
    fn install(&self) -> std::io::Result<RawFd> {
        let Some((read, write)) = &self.pipe else {
            return Ok(REPORT_FD);
        };
        // Move both ends out of the way first: either may sit at 3 or 4 already.
        // SAFETY: duplicates descriptors we hold to free numbers at 10 or above.
        let (read, write) = unsafe {
            (
                libc::fcntl(read.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10),
                libc::fcntl(write.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10),
            )
        };
        if read < 0 || write < 0 {
            return Err(std::io::Error::last_os_error());
        }
        fd::dup_to(read, jobserver::READ_FD)?;
        fd::dup_to(write, jobserver::WRITE_FD)?;
        Ok(jobserver::WRITE_FD + 1)
    }
}

fn become_subreaper() -> Result<(), String> {
    // SAFETY: plain prctl on this process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(format!(
            "prctl(PR_SET_CHILD_SUBREAPER): {}",
            std::io::Error::last_os_error()
        ));
    }
    descendants::available().map_err(|err| format!("/proc: {err}"))
}

/// A descriptor that becomes readable when the host exits (a pidfd), or `None` where
/// pidfds are refused and the kernel's parent-death signal stands in. Fails when the host
/// is already gone.
fn watch_parent(host: u32) -> Result<Option<OwnedFd>, Failure> {
    let host = libc::pid_t::try_from(host).unwrap_or(0);
    // SAFETY: plain syscalls; the pidfd, if any, is a new descriptor we own.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, host, 0) };
    let watch = match i32::try_from(pidfd) {
        // SAFETY: as above.
        Ok(fd) if fd >= 0 => Some(unsafe { OwnedFd::from_raw_fd(fd) }),
        _ => {
            // SAFETY: plain prctl on this process.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) };
            None
        }
    };
    // SAFETY: plain syscall.
    if unsafe { libc::getppid() } != host {
        return Err(Message::Refused("the host went away".into()));
    }
    Ok(watch)
}

/// Signals the helper waits for, as a descriptor: the program's end (SIGCHLD) and
/// requests to stop.
struct SignalFd {
    fd: OwnedFd,
}

const WATCHED: [libc::c_int; 5] = [
    libc::SIGCHLD,
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
];

impl SignalFd {
    fn new() -> std::io::Result<Self> {
        // SAFETY: sigset manipulation on a local set, then blocking those signals for this
        // single-threaded process and reading them through a new descriptor we own.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in WATCHED {
                libc::sigaddset(&mut set, signal);
            }
            if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC);
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(SignalFd {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    /// The signals that arrived.
    fn read(&self) -> Vec<u32> {
        let mut infos: [libc::signalfd_siginfo; 8] =
            // SAFETY: an all-zero siginfo array is valid.
            unsafe { std::mem::zeroed() };
        // SAFETY: reads whole siginfo records into the array we own.
        let read = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                infos.as_mut_ptr().cast(),
                std::mem::size_of_val(&infos),
            )
        };
        let count =
            usize::try_from(read).unwrap_or(0) / std::mem::size_of::<libc::signalfd_siginfo>();
        infos[..count].iter().map(|info| info.ssi_signo).collect()
    }
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

/// The helper keeps no copy of the program's standard streams, so that the host sees
/// them end as soon as the program and its descendants are gone.
fn detach_stdio() {
    if let Ok(null) = fd::open(Path::new("/dev/null"), libc::O_RDWR) {
        for stream in 0..3 {
            // SAFETY: replaces our own standard descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), stream) };
        }
    }
}

/// A user namespace (no privilege needed, the user keeps their ids) with a PID namespace
/// for the program: it cannot see, let alone signal, a process outside.
fn enter_pid_namespace() -> Result<(), String> {
    // SAFETY: plain syscalls on this single-threaded process.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: as above; unshare only changes this process's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWPID) } != 0 {
        return Err(format!("unshare: {}", std::io::Error::last_os_error()));
    }
    let write = |file: &str, contents: String| {
        std::fs::write(file, contents).map_err(|err| format!("{file}: {err}"))
    };
    write("/proc/self/setgroups", "deny".into())?;
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))
}

/// Drops every capability for good, so that a build run as root (common in containers)
/// jails an ordinary process: no device nodes, no raw sockets, no changing the clock.
fn drop_capabilities() -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget fills two data records for the v3 header.
    if unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) } != 0 {
        return Err(format!("capget: {}", std::io::Error::last_os_error()));
    }
    let held = data
        .iter()
        .any(|d| d.permitted != 0 || d.effective != 0 || d.inheritable != 0);
    for cap in 0..64 {
        // SAFETY: plain prctl on this process.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) } != 0 {
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                // Past the last capability this kernel knows.
                Some(libc::EINVAL) => break,
                // No CAP_SETPCAP: nothing to drop unless something is held.
                Some(libc::EPERM) if !held => break,
                _ => return Err(format!("failed to drop capability {cap}: {err}")),
            }
        }
    }
    // SAFETY: plain prctl; kernels before 4.3 have no ambient set and say EINVAL.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let none = [Data::default(); 2];
    // SAFETY: capset reads two data records for the v3 header.
    if unsafe { libc::syscall(libc::SYS_capset, &mut header, none.as_ptr()) } != 0 {
        return Err(format!(
            "failed to drop capabilities: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Waits for the program, the time limit, a request to stop or the host's end, answering
/// the filter's notifications meanwhile; then kills every remaining descendant, and says
/// how the program ended and whether the sweep could make sure nothing is left.
fn supervise(
    target: libc::pid_t,
    parent: Option<&OwnedFd>,
    signals: &SignalFd,
    limit: Option<Duration>,
    supervisor: &mut Supervisor,
    mut census: resources::Census,
) -> (Message, Result<(), String>) {
    let deadline = limit.map(|limit| Instant::now() + limit);
    let status = loop {
        let timeout = census.timeout(deadline.map_or(-1, |deadline| {
            let left = deadline.saturating_duration_since(Instant::now());
            i32::try_from(left.as_millis()).unwrap_or(i32::MAX)
        }));
        let mut fds = [
            libc::pollfd {
                fd: signals.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: parent.map_or(-1, AsRawFd::as_raw_fd),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: supervisor.fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: polls three descriptors we own (a negative one is ignored).
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), 3, timeout) };
        if ready < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                // Waiting is how the helper keeps every promise: if it cannot wait, it
                // ends the jail and says so rather than leave the program unwatched.
                let why = format!("the jail's helper could not watch the program ({err})");
                let swept = stop(target).and(Err(why));
                return (Message::Stopped, swept);
            }
        }
        if ready == 0 && deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return (Message::TimedOut, stop(target));
        }
        if fds[1].revents != 0 {
            return (Message::Stopped, stop(target));
        }
        if fds[2].revents != 0 {
            supervisor.ready(fds[2].revents);
        }
        if let Some(exceeded) = census.check() {
            return (Message::Exceeded(exceeded), stop(target));
        }
        if fds[0].revents != 0 {
            let arrived = signals.read();
            if arrived.iter().any(|signal| *signal != libc::SIGCHLD as u32) {
                return (Message::Stopped, stop(target));
            }
        }
        if let Some((_, status)) = descendants::reap()
            .into_iter()
            .find(|(pid, _)| *pid == target)
        {
            break status;
        }
    };
    let swept = descendants::kill_all();
    let ended = if libc::WIFSIGNALED(status) {
        Message::Signaled(libc::WTERMSIG(status))
    } else {
        Message::Exited(libc::WEXITSTATUS(status))
    };
    (ended, swept)
}

/// Kills the program's process group (its session, while it leads it), the program, and
/// every other descendant.
fn stop(target: libc::pid_t) -> Result<(), String> {
    // SAFETY: the target is our child and not yet reaped, so its pid (and the group it
    // leads) cannot have been reused.
    unsafe {
        libc::kill(-target, libc::SIGKILL);
        libc::kill(target, libc::SIGKILL);
    }
    descendants::kill_all()
}

/// The probing mode: tries each layer in a throw-away child and prints [`Layers`].
fn probe(cap: Option<&OsString>) -> i32 {
    let cap = cap.and_then(|cap| cap.to_str()?.parse().ok());
    let abi = filesystem::abi_in_use(cap);
    let landlock = abi
        .clone()
        .and_then(|abi| in_child(|| filesystem::enforce_nothing(abi)).map(|()| abi));
    let filter_abi = abi.as_ref().map_or(6, |abi| *abi);
    let seccomp =
        in_child(|| syscalls::install(&syscalls::filter(Network::None, filter_abi)).map(drop));
    let descendants = become_subreaper();
    let user_namespaces = in_child(enter_pid_namespace);
    let layers = Layers {
        kernel: kernel(),
        landlock,
        seccomp,
        descendants,
        user_namespaces,
    };
    match serde_json::to_string(&layers) {
        Ok(json) => {
            println!("{json}");
            0
        }
        Err(err) => {
            eprintln!("error: {err}");
            1
        }
    }
}

/// `Linux 6.8.0 x86_64`.
pub(crate) fn kernel() -> String {
    // SAFETY: uname fills a zeroed struct we own.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::uname(&mut name) } != 0 {
        return "Linux".into();
    }
    let field = |chars: &[libc::c_char]| {
        let bytes: Vec<u8> = chars
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&name.sysname),
        field(&name.release),
        field(&name.machine)
    )
}

/// Runs `attempt` in a forked child and returns what it said.
fn in_child(attempt: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let (read, write) = fd::pipe().map_err(|err| format!("pipe: {err}"))?;
    // SAFETY: the probing helper is single-threaded, so the child may do anything.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        let code = match attempt() {
            Ok(()) => 0,
            Err(why) => {
                let _ = File::from(write).write_all(why.as_bytes());
                1
            }
        };
        // SAFETY: ends the child without running the helper's exit handlers.
        unsafe { libc::_exit(code) };
    }
    drop(write);
    let mut said = String::new();
    let _ = File::from(read).read_to_string(&mut said);
    let mut status = 0;
    // SAFETY: waits for the child we just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else if said.is_empty() {
        Err(format!("the attempt ended with wait status {status}"))
    } else {
        Err(said)
    }
}
