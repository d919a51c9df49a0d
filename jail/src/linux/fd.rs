//! File descriptors: opening and identifying files once, and closing what a program must
//! not inherit.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// Opens `path` (symlinks followed) with `flags | O_CLOEXEC`.
pub(crate) fn open(path: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let path = c_path(path)?;
    // SAFETY: a valid NUL-terminated path; the result is a new descriptor we own.
    let fd = check(unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstat` of an open file.
pub(crate) fn stat(fd: &OwnedFd) -> io::Result<libc::stat> {
    // SAFETY: zeroed is a valid `stat`, which the kernel fills.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a valid out-pointer.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut stat) })?;
    Ok(stat)
}

/// The path the kernel records for an open file: where it was found, symlinks resolved.
pub(crate) fn path_of(fd: &OwnedFd) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Opens the program at `path` for execution: readable where it can be (a script must be
/// read by its interpreter), else as a path only (an execute-only binary).
pub(crate) fn open_program(path: &Path) -> io::Result<OwnedFd> {
    match open(path, libc::O_RDONLY) {
        Err(err) if err.raw_os_error() == Some(libc::EACCES) => open(path, libc::O_PATH),
        other => other,
    }
}

pub(crate) fn regular_file(stat: &libc::stat, path: &Path) -> io::Result<()> {
    if stat.st_mode & libc::S_IFMT == libc::S_IFREG {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} is not a regular file", path.display()),
    ))
}

/// The descriptors from `first` on that this process holds, from `/proc/self/fd`.
fn open_from(first: RawFd) -> io::Result<Vec<RawFd>> {
    Ok(std::fs::read_dir("/proc/self/fd")?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first)
        .collect())
}

/// `close_range(first, ~0, flags)`, or `false` where the kernel lacks it (before 5.9, or
/// 5.11 for the close-on-exec flag).
fn close_range(first: RawFd, flags: libc::c_uint) -> bool {
    // SAFETY: close_range only closes or flags this process's descriptors from `first` on.
    let done = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as libc::c_uint,
            libc::c_uint::MAX,
            flags,
        )
    };
    done == 0
}

/// Marks every descriptor from `first` on close-on-exec, so that nothing inherited reaches
/// the program. Falls back to walking `/proc/self/fd`; never skips.
pub(crate) fn cloexec_from(first: RawFd) -> io::Result<()> {
    if close_range(first, libc::CLOSE_RANGE_CLOEXEC) {
        return Ok(());
    }
    for fd in open_from(first)? {
        // SAFETY: sets a flag on a descriptor number; a stale one (the listing's own
        // descriptor, closed by now) yields EBADF, which is fine.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Closes every descriptor from `first` on, now. The caller owns none it still needs there.
pub(crate) fn close_from(first: RawFd) -> io::Result<()> {
    if close_range(first, 0) {
        return Ok(());
    }
    for fd in open_from(first)? {
        // SAFETY: as above; a stale number yields EBADF.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// A pipe, both ends close-on-exec: (read, write).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: a valid two-element array for the kernel to fill.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both descriptors were just created and are ours alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `dup2(fd, target)` with close-on-exec cleared on `target`.
pub(crate) fn dup_to(fd: RawFd, target: RawFd) -> io::Result<()> {
    if fd == target {
        // SAFETY: clears a flag on a descriptor we hold.
        check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) })?;
        return Ok(());
    }
    // SAFETY: dup2 onto a number the caller reserved for it.
    check(unsafe { libc::dup2(fd, target) })?;
    Ok(())
}

/// Opens `relative` beneath the directory `root` (`openat2` with `RESOLVE_BENEATH` and no
/// magic links): neither `..` nor a symbolic link leads out of it. Fails (`ENOSYS`) where
/// the kernel has no `openat2`; there is no weaker fallback.
pub(crate) fn open_beneath(
    root: &OwnedFd,
    relative: &Path,
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    const RESOLVE_BENEATH: u64 = 0x08;
    const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
    let relative = c_path(relative)?;
    /// `struct open_how` as the kernel reads it.
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: a valid directory descriptor, NUL-terminated path and `open_how` of the
    // size passed; the result is a new descriptor we own.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            relative.as_ptr(),
            &how,
            std::mem::size_of::<OpenHow>(),
        )
    };
    let fd = check(i32::try_from(fd).unwrap_or(-1))?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A connected pair of Unix stream sockets, both close-on-exec.
pub(crate) fn socket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: a valid two-element array for the kernel to fill.
    check(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: both descriptors were just created and are ours alone.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The control buffer for one descriptor, aligned as `cmsghdr` needs.
#[repr(C)]
union Control {
    header: libc::cmsghdr,
    bytes: [u8; 64],
}

fn iovec(byte: &mut [u8; 1]) -> libc::iovec {
    libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    }
}

/// A message of the one byte in `iov`, with all of `control` for ancillary data. The
/// message points into both, which must outlive it.
fn one_byte_message(iov: &mut libc::iovec, control: &mut Control) -> libc::msghdr {
    // SAFETY: an all-zero message is valid to fill in.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = iov;
    message.msg_iovlen = 1;
    message.msg_control = std::ptr::from_mut(control).cast();
    message.msg_controllen = std::mem::size_of::<Control>() as _;
    message
}

/// Sends `fd` over the Unix socket `socket` (`SCM_RIGHTS`).
pub(crate) fn send_fd(socket: &OwnedFd, fd: &OwnedFd) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let mut iov = iovec(&mut byte);
    // SAFETY: an all-zero control buffer is valid to fill in.
    let mut control: Control = unsafe { std::mem::zeroed() };
    let mut message = one_byte_message(&mut iov, &mut control);
    // SAFETY: CMSG_SPACE is a size computation.
    message.msg_controllen = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as _;
    // SAFETY: the message has room for one header with one descriptor (CMSG_SPACE above,
    // within the 64-byte buffer), so CMSG_FIRSTHDR is non-null and CMSG_DATA in bounds.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&message);
        (*header).cmsg_level = libc::SOL_SOCKET;
        (*header).cmsg_type = libc::SCM_RIGHTS;
        (*header).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(header).cast::<RawFd>(), fd.as_raw_fd());
    }
    // SAFETY: a valid socket and message whose buffers outlive the call.
    let sent = unsafe { libc::sendmsg(socket.as_raw_fd(), &message, libc::MSG_NOSIGNAL) };
    if sent == 1 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Receives one descriptor sent with [`send_fd`]; `None` when the peer closed its end
/// without sending one.
pub(crate) fn recv_fd(socket: &OwnedFd) -> io::Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = iovec(&mut byte);
    // SAFETY: an all-zero control buffer is valid for the kernel to fill.
    let mut control: Control = unsafe { std::mem::zeroed() };
    let mut message = one_byte_message(&mut iov, &mut control);
    let received = loop {
        // SAFETY: a valid socket and message whose buffers outlive the call.
        let received =
            unsafe { libc::recvmsg(socket.as_raw_fd(), &mut message, libc::MSG_CMSG_CLOEXEC) };
        if received >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            break received;
        }
    };
    if received < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel filled the control buffer; CMSG_FIRSTHDR checks its length.
    unsafe {
        let header = libc::CMSG_FIRSTHDR(&message);
        if header.is_null()
            || (*header).cmsg_level != libc::SOL_SOCKET
            || (*header).cmsg_type != libc::SCM_RIGHTS
        {
            return Ok(None);
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<RawFd>());
        Ok(Some(OwnedFd::from_raw_fd(fd)))
    }
}
