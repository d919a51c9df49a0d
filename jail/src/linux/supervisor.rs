//! The supervisor: the helper's answers to the system calls the filter cannot judge by
//! their arguments alone (seccomp user notification).
//!
//! - **Metadata** (`chmod`, `chown`, `utime*` in all their forms), which Landlock has no
//!   right for: the supervisor resolves the call's target itself, beneath one of the
//!   directories the program may write (`openat2` with `RESOLVE_BENEATH`, from a handle
//!   opened when the jail started), and performs the call on that handle. A target
//!   anywhere else is refused with `EPERM`. The program's own path string and
//!   descriptors are read once; nothing it changes afterwards reaches the operation.
//! - **Executable mappings of files** (`mmap`/`mprotect` with `PROT_EXEC`), which the
//!   dynamic loader makes: allowed only for a file that lies in a directory the program may
//!   execute from (the system, the toolchain, its own installation), so that the loader
//!   cannot run what the build wrote. The mapping itself is made by the kernel after the
//!   answer, on the descriptor the program holds: a program that already runs code of its
//!   own could swap that descriptor in between, so this closes the loader as an entry
//!   for written code, not a way out for code already running (the rest of the jail holds
//!   that).
//!
//! - **Connections** (`connect`), where the network is the tool's proxy: see
//!   [`super::connect`]. The supervisor makes the one connection allowed itself.
//!
//! The supervisor runs with no capabilities (the helper drops them), so an operation it
//! performs is one the program's own credentials would allow. Every refusal is kept, so
//! that a program that failed because of one is reported with it.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::connect::{self, Descriptor, Named};
use super::fd;

/// Refusals kept word for word; past this, only counted.
const KEPT_REFUSALS: usize = 8;

/// A directory the program may use, opened when the jail started.
struct Root {
    path: PathBuf,
    handle: OwnedFd,
}

/// The answer to one notification.
enum Answer {
    /// Let the kernel run the call as made.
    Continue,
    /// The call's result, as the supervisor got it by performing it.
    Done,
    /// The call fails with this `errno`.
    Fail(i32),
}

/// What a metadata call changes.
#[derive(Debug, Clone, Copy)]
enum Change {
    Mode(libc::mode_t),
    Owner(libc::uid_t, libc::gid_t),
    /// `None`: both times to now.
    Times(Option<[libc::timespec; 2]>),
}

/// Where a metadata call points: a path (relative to a directory descriptor or the
/// working directory) or a descriptor.
enum Target {
    Path {
        dirfd: i32,
        path: u64,
        follow: bool,
        empty_path_is_dirfd: bool,
    },
    Fd(i32),
}

/// Judges the notifications of one jail.
pub(crate) struct Supervisor {
    listener: Option<OwnedFd>,
    writable: Vec<Root>,
    executable: Vec<PathBuf>,
    /// The program and its interpreter (device, inode): executable wherever they are.
    programs: Vec<(u64, u64)>,
    refused: Vec<String>,
    more_refused: usize,
    /// Whether a file was refused as code.
    refused_code: bool,
    /// Where the program's connections go, if it may use the network at all.
    proxy: Option<std::net::SocketAddr>,
}

impl Supervisor {
    /// A supervisor for `listener`, which lets the program change the metadata of files
    /// beneath `writable` and map files beneath `executable` (or the `programs` files) as
    /// code, and connect to `proxy`.
    pub(crate) fn new(
        listener: OwnedFd,
        writable: &[PathBuf],
        executable: &[PathBuf],
        programs: Vec<(u64, u64)>,
        proxy: Option<std::net::SocketAddr>,
    ) -> Self {
        let writable = writable
            .iter()
            .filter_map(|path| {
                let path = path.canonicalize().ok()?;
                let handle = fd::open(&path, libc::O_PATH | libc::O_DIRECTORY).ok()?;
                Some(Root { path, handle })
            })
            .collect();
        let executable = executable
            .iter()
            .filter_map(|path| path.canonicalize().ok())
            .collect();
        Supervisor {
            listener: Some(listener),
            writable,
            executable,
            programs,
            refused: Vec::new(),
            more_refused: 0,
            refused_code: false,
            proxy,
        }
    }

    /// The descriptor to poll for notifications (-1, which poll ignores, once every
    /// process that could notify is gone).
    pub(crate) fn fd(&self) -> RawFd {
        self.listener.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Handles what poll reported on [`Supervisor::fd`].
    pub(crate) fn ready(&mut self, revents: libc::c_short) {
        if revents & libc::POLLIN != 0 {
            self.answer_one();
        } else if revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
            self.listener = None;
        }
    }

    /// What was refused, for the report: up to [`KEPT_REFUSALS`] in words, then a count.
    pub(crate) fn refusals(&self) -> Vec<String> {
        let mut refused = self.refused.clone();
        if self.more_refused > 0 {
            refused.push(format!("and {} more", self.more_refused));
        }
        refused
    }

    /// Whether a file was refused as code (what `run-built` would allow).
    pub(crate) fn refused_code(&self) -> bool {
        self.refused_code
    }

    fn refuse(&mut self, what: String) {
        if self.refused.len() < KEPT_REFUSALS {
            if !self.refused.contains(&what) {
                self.refused.push(what);
            }
        } else {
            self.more_refused += 1;
        }
    }

    fn answer_one(&mut self) {
        let Some(listener) = self.listener.as_ref().map(AsRawFd::as_raw_fd) else {
            return;
        };
        // SAFETY: an all-zero notification is what the kernel expects to fill.
        let mut notification: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: receives into the struct we own.
        if unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut notification) } != 0
        {
            // ENOENT: the caller died before we read it; EINTR: try on the next poll.
            return;
        }
        let answer = match self.judge(&notification) {
            Ok(answer) => answer,
            Err(refusal) => {
                self.refused_code |= refusal.code;
                // An error the call itself would have met (no such file) says nothing.
                if !refusal.what.is_empty() {
                    self.refuse(refusal.what);
                }
                Answer::Fail(refusal.errno)
            }
        };
        let (error, flags) = match answer {
            Answer::Continue => (0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
            Answer::Done => (0, 0),
            Answer::Fail(errno) => (-errno, 0),
        };
        let response = libc::seccomp_notif_resp {
            id: notification.id,
            val: 0,
            error,
            flags,
        };
        // SAFETY: sends the response struct we own; a caller that died meanwhile makes it
        // fail with ENOENT, which changes nothing.
        unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_SEND, &response) };
    }

    fn judge(&mut self, notification: &libc::seccomp_notif) -> Result<Answer, Refusal> {
        let call = i64::from(notification.data.nr);
        let args = notification.data.args;
        let caller = Caller {
            pid: notification.pid,
            id: notification.id,
            listener: self.fd(),
        };
        match call {
            libc::SYS_mmap => self.executable_file(&caller, args[4] as i32),
            libc::SYS_mprotect | libc::SYS_pkey_mprotect => {
                self.executable_range(&caller, args[0], args[1])
            }
            libc::SYS_connect => self.connect(&caller, args[0] as i32, args[1], args[2]),
            _ => {
                let (target, change) = metadata_call(call, &args, &caller)?;
                self.change(&caller, target, change)
            }
        }
    }

    /// `mmap(PROT_EXEC)` of descriptor `descriptor`.
    fn executable_file(&self, caller: &Caller, descriptor: i32) -> Result<Answer, Refusal> {
        let (path, theirs) = caller.descriptor(descriptor, "map")?;
        caller.still_waiting()?;
        if self.may_execute(&path, theirs.st_dev, theirs.st_ino) {
            return Ok(Answer::Continue);
        }
        Err(Refusal::code(&path))
    }

    /// `connect(descriptor, address, length)`: to the proxy, made by the supervisor;
    /// anywhere else, refused.
    fn connect(
        &self,
        caller: &Caller,
        descriptor: i32,
        address: u64,
        length: u64,
    ) -> Result<Answer, Refusal> {
        let length = usize::try_from(length).map_or(connect::SOCKADDR_MAX, |length| {
            length.min(connect::SOCKADDR_MAX)
        });
        let named = caller
            .bytes(address, length)
            .map(|bytes| Named::parse(&bytes))
            .map_err(|_| Refusal::quiet(libc::EFAULT))?;
        let proxy = match self.proxy {
            Some(proxy) if named.is(proxy) => proxy,
            _ => return Err(Refusal::connection(&named)),
        };
        let theirs =
            Descriptor::of(caller.pid, descriptor).map_err(|_| Refusal::quiet(libc::EBADF))?;
        if !theirs.is_socket {
            return Err(Refusal::quiet(libc::ENOTSOCK));
        }
        let ours = connect::to_proxy(proxy, theirs.nonblocking)
            .map_err(|err| Refusal::io("connect to cargo wasm-build's proxy", &err))?;
        caller.still_waiting()?;
        connect::replace(
            caller.listener,
            caller.id,
            &ours,
            descriptor,
            theirs.cloexec,
        )
        .map_err(|err| Refusal::io("hand over the connection to the proxy", &err))?;
        Ok(Answer::Done)
    }

    /// `mprotect(PROT_EXEC)` of `length` bytes at `address`: allowed for anonymous memory
    /// and for mappings of files that may be mapped as code.
    fn executable_range(
        &self,
        caller: &Caller,
        address: u64,
        length: u64,
    ) -> Result<Answer, Refusal> {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", caller.pid))
            .map_err(|err| Refusal::io("make memory executable", &err))?;
        caller.still_waiting()?;
        let end = address.saturating_add(length);
        for mapping in maps.lines().filter_map(Mapping::parse) {
            if mapping.end <= address || mapping.start >= end || mapping.inode == 0 {
                continue;
            }
            let Some(path) = mapping.path else {
                continue;
            };
            let stat = fd::open(&path, libc::O_PATH | libc::O_NOFOLLOW)
                .and_then(|opened| fd::stat(&opened));
            let same = stat.is_ok_and(|stat| {
                stat.st_ino == mapping.inode && self.may_execute(&path, stat.st_dev, stat.st_ino)
            });
            if !same {
                return Err(Refusal::code(&path));
            }
        }
        Ok(Answer::Continue)
    }

    fn may_execute(&self, path: &Path, device: u64, inode: u64) -> bool {
        if self.programs.contains(&(device, inode)) {
            return true;
        }
        if !self.executable.iter().any(|root| path.starts_with(root)) {
            return false;
        }
        // The path the kernel named must still be that file (not a link swapped in).
        fd::open(path, libc::O_PATH | libc::O_NOFOLLOW)
            .and_then(|opened| fd::stat(&opened))
            .is_ok_and(|stat| stat.st_dev == device && stat.st_ino == inode)
    }

    fn change(
        &mut self,
        caller: &Caller,
        target: Target,
        change: Change,
    ) -> Result<Answer, Refusal> {
        let verb = verb(change);
        let (path, follow, theirs) = match target {
            Target::Fd(descriptor) => {
                let (path, stat) = caller.descriptor(descriptor, verb)?;
                (path, false, Some(stat))
            }
            Target::Path {
                dirfd,
                path,
                follow,
                empty_path_is_dirfd,
            } => {
                let named = caller.string(path).map_err(|err| Refusal::io(verb, &err))?;
                if named.is_empty() {
                    if !empty_path_is_dirfd {
                        return Ok(Answer::Fail(libc::ENOENT));
                    }
                    let (path, stat) = caller.descriptor(dirfd, verb)?;
                    (path, false, Some(stat))
                } else {
                    (caller.absolute(dirfd, named, verb)?, follow, None)
                }
            }
        };
        caller.still_waiting()?;
        let handle = self.beneath_writable(&path, follow, verb)?;
        if let Some(theirs) = theirs {
            let ours = fd::stat(&handle).map_err(|err| Refusal::io(verb, &err))?;
            if (ours.st_dev, ours.st_ino) != (theirs.st_dev, theirs.st_ino) {
                return Err(Refusal::outside(verb, &path));
            }
        }
        perform(&handle, change)
    }

    /// A handle on `path`, resolved beneath the writable directory it names.
    fn beneath_writable(&self, path: &Path, follow: bool, verb: &str) -> Result<OwnedFd, Refusal> {
        let root = self
            .writable
            .iter()
            .filter(|root| path.starts_with(&root.path))
            .max_by_key(|root| root.path.as_os_str().len())
            .ok_or_else(|| Refusal::outside(verb, path))?;
        let relative = path.strip_prefix(&root.path).unwrap_or(Path::new(""));
        let relative = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            relative
        };
        let flags = libc::O_PATH | if follow { 0 } else { libc::O_NOFOLLOW };
        fd::open_beneath(&root.handle, relative, flags).map_err(|err| match err.raw_os_error() {
            // Out of the directory through `..` or a symbolic link.
            Some(libc::EXDEV) | Some(libc::ELOOP) => Refusal::outside(verb, path),
            Some(errno) => Refusal {
                what: String::new(),
                errno,
                code: false,
            },
            None => Refusal::io(verb, &err),
        })
    }
}

/// Why a call was refused: the `errno` the program sees, and (when non-empty) what the
/// report says.
struct Refusal {
    what: String,
    errno: i32,
    /// Whether it refused a file as code.
    code: bool,
}

impl Refusal {
    fn outside(verb: &str, path: &Path) -> Self {
        Refusal {
            what: format!(
                "{verb} `{}`, outside the directories the program may write",
                path.display()
            ),
            errno: libc::EPERM,
            code: false,
        }
    }

    fn code(path: &Path) -> Self {
        Refusal {
            what: format!(
                "map `{}` as code: only files in the system, toolchain and program \
                 directories may run (`run-built` allows what the build wrote)",
                path.display()
            ),
            errno: libc::EPERM,
            code: true,
        }
    }

    /// A connection anywhere but the proxy.
    fn connection(named: &Named) -> Self {
        Refusal {
            what: named.refusal(),
            errno: libc::EACCES,
            code: false,
        }
    }

    /// An error the call itself would have met, which the report need not mention.
    fn quiet(errno: i32) -> Self {
        Refusal {
            what: String::new(),
            errno,
            code: false,
        }
    }

    fn io(verb: &str, err: &std::io::Error) -> Self {
        Refusal {
            what: format!("{verb}: the jail could not judge the call ({err})"),
            errno: libc::EPERM,
            code: false,
        }
    }
}

fn verb(change: Change) -> &'static str {
    match change {
        Change::Mode(_) => "change the mode of",
        Change::Owner(..) => "change the owner of",
        Change::Times(_) => "change the times of",
    }
}

/// The process that made a call, while the call waits for its answer.
struct Caller {
    pid: u32,
    id: u64,
    listener: RawFd,
}

impl Caller {
    /// Fails unless the call still waits: its process has not died and had its pid
    /// reused while we read `/proc/<pid>`.
    fn still_waiting(&self) -> Result<(), Refusal> {
        let id = self.id;
        // SAFETY: asks about the notification id we hold.
        if unsafe { libc::ioctl(self.listener, libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &id) } == 0 {
            return Ok(());
        }
        Err(Refusal {
            what: String::new(),
            errno: libc::ESRCH,
            code: false,
        })
    }

    /// A NUL-terminated string at `address` in the caller's memory (at most `PATH_MAX`).
    fn string(&self, address: u64) -> std::io::Result<OsString> {
        const MAX: usize = 4096;
        const PAGE: u64 = 4096;
        if address == 0 {
            return Err(std::io::Error::from_raw_os_error(libc::EFAULT));
        }
        let memory = File::open(format!("/proc/{}/mem", self.pid))?;
        let mut text = Vec::new();
        let mut at = address;
        while text.len() < MAX {
            // Page by page: a string that ends before an unmapped page reads whole.
            let chunk = (PAGE - at % PAGE).min((MAX - text.len()) as u64);
            let mut buffer = vec![0u8; chunk as usize];
            let read = memory.read_at(&mut buffer, at)?;
            if read == 0 {
                return Err(std::io::Error::from_raw_os_error(libc::EFAULT));
            }
            if let Some(end) = buffer[..read].iter().position(|byte| *byte == 0) {
                text.extend_from_slice(&buffer[..end]);
                return Ok(OsString::from_vec(text));
            }
            text.extend_from_slice(&buffer[..read]);
            at += read as u64;
        }
        Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG))
    }

    /// `count` bytes at `address` in the caller's memory.
    fn bytes(&self, address: u64, count: usize) -> std::io::Result<Vec<u8>> {
        let memory = File::open(format!("/proc/{}/mem", self.pid))?;
        let mut buffer = vec![0u8; count];
        memory.read_exact_at(&mut buffer, address)?;
        Ok(buffer)
    }

    /// The path and identity of the caller's descriptor `descriptor`.
    fn descriptor(&self, descriptor: i32, verb: &str) -> Result<(PathBuf, libc::stat), Refusal> {
        let link = format!("/proc/{}/fd/{descriptor}", self.pid);
        let path = std::fs::read_link(&link).map_err(|_| Refusal {
            what: String::new(),
            errno: libc::EBADF,
            code: false,
        })?;
        let stat = fd::open(Path::new(&link), libc::O_PATH)
            .and_then(|opened| fd::stat(&opened))
            .map_err(|err| Refusal::io(verb, &err))?;
        Ok((path, stat))
    }

    /// `named` made absolute against the caller's `dirfd` or working directory.
    fn absolute(&self, dirfd: i32, named: OsString, verb: &str) -> Result<PathBuf, Refusal> {
        let named = PathBuf::from(named);
        if named.is_absolute() {
            return Ok(named);
        }
        let base = if dirfd == libc::AT_FDCWD {
            std::fs::read_link(format!("/proc/{}/cwd", self.pid))
                .map_err(|err| Refusal::io(verb, &err))?
        } else {
            self.descriptor(dirfd, verb)?.0
        };
        Ok(base.join(named))
    }
}

/// The target and change of a metadata call, read from its arguments (and, for times,
/// the caller's memory).
fn metadata_call(call: i64, args: &[u64; 6], caller: &Caller) -> Result<(Target, Change), Refusal> {
    let int = |index: usize| args[index] as i32;
    let path = |dirfd: i32, index: usize, follow: bool, flags: u64| Target::Path {
        dirfd,
        path: args[index],
        follow: follow && flags & libc::AT_SYMLINK_NOFOLLOW as u64 == 0,
        empty_path_is_dirfd: flags & libc::AT_EMPTY_PATH as u64 != 0,
    };
    let mode = |index: usize| Change::Mode(args[index] as libc::mode_t);
    let owner =
        |index: usize| Change::Owner(args[index] as libc::uid_t, args[index + 1] as libc::gid_t);
    let times = |index: usize| timespecs(caller, args[index]).map(Change::Times);
    let times_of_timevals = |index: usize| timevals(caller, args[index]).map(Change::Times);
    Ok(match call {
        libc::SYS_fchmod => (Target::Fd(int(0)), mode(1)),
        libc::SYS_fchmodat => (path(int(0), 1, true, 0), mode(2)),
        libc::SYS_fchmodat2 => (path(int(0), 1, true, args[3]), mode(2)),
        libc::SYS_fchown => (Target::Fd(int(0)), owner(1)),
        libc::SYS_fchownat => (path(int(0), 1, true, args[4]), owner(2)),
        libc::SYS_utimensat if args[1] == 0 => (Target::Fd(int(0)), times(2)?),
        libc::SYS_utimensat => (path(int(0), 1, true, args[3]), times(2)?),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_chmod => (path(libc::AT_FDCWD, 0, true, 0), mode(1)),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_chown => (path(libc::AT_FDCWD, 0, true, 0), owner(1)),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_lchown => (path(libc::AT_FDCWD, 0, false, 0), owner(1)),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_utime => (path(libc::AT_FDCWD, 0, true, 0), utimbuf(caller, args[1])?),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_utimes => (path(libc::AT_FDCWD, 0, true, 0), times_of_timevals(1)?),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_futimesat => (path(int(0), 1, true, 0), times_of_timevals(2)?),
        _ => {
            return Err(Refusal {
                what: format!("system call {call}, which the jail does not know"),
                errno: libc::ENOSYS,
                code: false,
            });
        }
    })
}

fn unreadable(err: &std::io::Error) -> Refusal {
    Refusal::io("change the times of", err)
}

/// `struct timespec[2]` at `address`, or `None` (now) for a null pointer.
fn timespecs(caller: &Caller, address: u64) -> Result<Option<[libc::timespec; 2]>, Refusal> {
    if address == 0 {
        return Ok(None);
    }
    let bytes = caller.bytes(address, 32).map_err(|err| unreadable(&err))?;
    let field = |at: usize| i64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    Ok(Some([
        libc::timespec {
            tv_sec: field(0),
            tv_nsec: field(8),
        },
        libc::timespec {
            tv_sec: field(16),
            tv_nsec: field(24),
        },
    ]))
}

/// `struct timeval[2]` at `address` as timespecs, or `None` (now) for a null pointer.
fn timevals(caller: &Caller, address: u64) -> Result<Option<[libc::timespec; 2]>, Refusal> {
    let Some([access, modification]) = timespecs(caller, address)? else {
        return Ok(None);
    };
    let micro = |time: libc::timespec| libc::timespec {
        tv_sec: time.tv_sec,
        tv_nsec: time.tv_nsec.saturating_mul(1000),
    };
    Ok(Some([micro(access), micro(modification)]))
}

/// `struct utimbuf { time_t actime, modtime; }` at `address`, or `None` (now).
#[cfg(target_arch = "x86_64")]
fn utimbuf(caller: &Caller, address: u64) -> Result<Change, Refusal> {
    if address == 0 {
        return Ok(Change::Times(None));
    }
    let bytes = caller.bytes(address, 16).map_err(|err| unreadable(&err))?;
    let field = |at: usize| i64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    let second = |tv_sec| libc::timespec { tv_sec, tv_nsec: 0 };
    Ok(Change::Times(Some([second(field(0)), second(field(8))])))
}

/// Performs `change` on the file `handle` (an `O_PATH` descriptor) refers to.
fn perform(handle: &OwnedFd, change: Change) -> Result<Answer, Refusal> {
    let failed = || {
        let errno = std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EPERM);
        Ok(Answer::Fail(errno))
    };
    let raw = handle.as_raw_fd();
    let done = match change {
        Change::Mode(mode) => {
            if fd::stat(handle).is_ok_and(|stat| stat.st_mode & libc::S_IFMT == libc::S_IFLNK) {
                // As the kernel says for the mode of a symbolic link itself.
                return Ok(Answer::Fail(libc::EOPNOTSUPP));
            }
            let Ok(through) = CString::new(format!("/proc/self/fd/{raw}")) else {
                return Ok(Answer::Fail(libc::EINVAL));
            };
            // SAFETY: a NUL-terminated path naming our own descriptor.
            unsafe { libc::chmod(through.as_ptr(), mode) }
        }
        // SAFETY: an O_PATH descriptor we own, with an empty path.
        Change::Owner(uid, gid) => unsafe {
            libc::fchownat(raw, c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH)
        },
        Change::Times(times) => {
            let pointer = times
                .as_ref()
                .map_or(std::ptr::null(), |times| times.as_ptr());
            // SAFETY: as above; `pointer` is null or two timespecs that outlive the call.
            unsafe { libc::utimensat(raw, c"".as_ptr(), pointer, libc::AT_EMPTY_PATH) }
        }
    };
    if done == 0 {
        Ok(Answer::Done)
    } else {
        failed()
    }
}

/// One line of `/proc/<pid>/maps`.
struct Mapping {
    start: u64,
    end: u64,
    inode: u64,
    path: Option<PathBuf>,
}

impl Mapping {
    /// `start-end perms offset dev inode [path]`.
    fn parse(line: &str) -> Option<Mapping> {
        let mut fields = line.splitn(6, ' ');
        let (start, end) = fields.next()?.split_once('-')?;
        let inode = fields.nth(3)?.parse().ok()?;
        let path = fields
            .next()
            .map(str::trim_start)
            .filter(|path| path.starts_with('/'))
            .map(PathBuf::from);
        Some(Mapping {
            start: u64::from_str_radix(start, 16).ok()?,
            end: u64::from_str_radix(end, 16).ok()?,
            inode,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_parse() {
        let line = "7f0000000000-7f0000001000 r-xp 00000000 08:01 1234                       /usr/lib/libc.so.6";
        let mapping = Mapping::parse(line).unwrap();
        assert_eq!(mapping.start, 0x7f00_0000_0000);
        assert_eq!(mapping.end, 0x7f00_0000_1000);
        assert_eq!(mapping.inode, 1234);
        assert_eq!(
            mapping.path.as_deref(),
            Some(Path::new("/usr/lib/libc.so.6"))
        );
        let anonymous = Mapping::parse("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(anonymous.inode, 0);
        assert!(anonymous.path.is_none());
    }
}
