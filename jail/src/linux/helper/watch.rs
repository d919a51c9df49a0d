//! Watching the running program: its end, the time limit, requests to stop and the host's
//! end, answering the filter's notifications meanwhile; then the sweep that kills every
//! remaining descendant.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use super::failure::Failure;
use crate::linux::supervisor::Supervisor;
use crate::linux::{descendants, fd, resources};
use crate::spawn::Message;

/// A descriptor that becomes readable when the host exits (a pidfd), or `None` where
/// pidfds are refused and the kernel's parent-death signal stands in. Fails when the host
/// is already gone.
pub(super) fn watch_parent(host: u32) -> Result<Option<OwnedFd>, Failure> {
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
pub(super) struct SignalFd {
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
    pub(super) fn new() -> std::io::Result<Self> {
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

/// The helper keeps no copy of the program's standard streams, so that the host sees
/// them end as soon as the program and its descendants are gone.
pub(super) fn detach_stdio() {
    if let Ok(null) = fd::open(Path::new("/dev/null"), libc::O_RDWR) {
        for stream in 0..3 {
            // SAFETY: replaces our own standard descriptors.
            unsafe { libc::dup2(null.as_raw_fd(), stream) };
        }
    }
}

/// Waits for the program, the time limit, a request to stop or the host's end, answering
/// the filter's notifications meanwhile; then kills every remaining descendant, and says
/// how the program ended and whether the sweep could make sure nothing is left.
pub(super) fn supervise(
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
pub(super) fn stop(target: libc::pid_t) -> Result<(), String> {
    // SAFETY: the target is our child and not yet reaped, so its pid (and the group it
    // leads) cannot have been reused.
    unsafe {
        libc::kill(-target, libc::SIGKILL);
        libc::kill(target, libc::SIGKILL);
    }
    descendants::kill_all()
}
