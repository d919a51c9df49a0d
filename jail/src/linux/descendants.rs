//! Finding and killing every descendant of the helper.
//!
//! The helper is a child subreaper, so a descendant whose parent dies (a double fork, a
//! daemon that called `setsid`) becomes the helper's child instead of init's. Killing is
//! done as catern/supervise does it: kill every living child, wait for each to die
//! *without reaping it* (so its pid cannot be reused while its own children move over to
//! the helper), and repeat until a pass finds no living child and no new one. Then reap
//! them all.

use std::io;

/// The helper's own children list, opened once by [`available`]: read again from the
/// same descriptor, it needs none of the helper's descriptor limit, which a jailed
/// program could otherwise have lowered to make the listing fail.
static CHILDREN: std::sync::OnceLock<std::fs::File> = std::sync::OnceLock::new();

/// The helper's direct children.
fn children(me: libc::pid_t) -> io::Result<Vec<libc::pid_t>> {
    if let Some(file) = CHILDREN.get() {
        return read_pids(file);
    }
    if let Ok(text) = std::fs::read_to_string(format!("/proc/{me}/task/{me}/children")) {
        return Ok(text
            .split_whitespace()
            .filter_map(|pid| pid.parse().ok())
            .collect());
    }
    // Kernels without CONFIG_PROC_CHILDREN: every process's parent, from /proc.
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        if parent_of(pid) == Some(me) {
            found.push(pid);
        }
    }
    Ok(found)
}

/// The parent pid from `/proc/<pid>/stat` (`pid (comm) S ppid ...`; `comm` may hold
/// spaces and parentheses, so fields are counted from the last `)`).
fn parent_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether descendants can be found here: `/proc` is mounted and readable. Keeps the
/// children list open for [`kill_all`].
pub(crate) fn available() -> io::Result<()> {
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    if let Ok(file) = std::fs::File::open(format!("/proc/{me}/task/{me}/children")) {
        let _ = CHILDREN.set(file);
    }
    children(me).map(|_| ())
}

/// The pids in a children list, read from its start.
fn read_pids(file: &std::fs::File) -> io::Result<Vec<libc::pid_t>> {
    use std::os::unix::fs::FileExt;
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = file.read_at(&mut chunk, text.len() as u64)?;
        if read == 0 {
            break;
        }
        text.extend_from_slice(&chunk[..read]);
    }
    Ok(String::from_utf8_lossy(&text)
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect())
}

/// Kills every descendant and reaps them all. Fails, having killed every child it could
/// list, when the children cannot be listed: that never means "none left".
pub(crate) fn kill_all() -> Result<(), String> {
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    let listing = |me| {
        children(me).map_err(|err| {
            format!("the jail could not list what the program left running ({err}); the build cannot trust that nothing it started is still running")
        })
    };
    loop {
        let listed = match listing(me) {
            Ok(listed) => listed,
            Err(why) => {
                reap();
                return Err(why);
            }
        };
        let living: Vec<libc::pid_t> = listed
            .iter()
            .copied()
            .filter(|pid| !has_ended(*pid))
            .collect();
        if living.is_empty() {
            // A child that died between the listing and its check handed its own
            // children to us before it became a zombie: they show in a new listing.
            if listing(me)? == listed {
                break;
            }
            continue;
        }
        for pid in &living {
            // SAFETY: our own child, not yet reaped: the pid cannot belong to anyone else.
            unsafe { libc::kill(*pid, libc::SIGKILL) };
        }
        for pid in &living {
            // SAFETY: a zeroed siginfo for the kernel to fill; WNOWAIT keeps the child
            // unreaped, so its pid stays ours until the final reaping below.
            unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(
                    libc::P_PID,
                    *pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                );
            }
        }
    }
    reap();
    Ok(())
}

/// Whether our child `pid` has ended (is a zombie), asked of the kernel without reaping
/// it and without `/proc`, so that nothing a program does to the helper's limits makes a
/// living child look dead.
fn has_ended(pid: libc::pid_t) -> bool {
    // SAFETY: a zeroed siginfo for the kernel to fill; WNOWAIT | WNOHANG neither reaps
    // nor blocks.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let asked = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
        );
        asked == 0 && info.si_pid() == pid
    }
}

/// Reaps every child that has ended, returning their pids and wait statuses.
pub(crate) fn reap() -> Vec<(libc::pid_t, libc::c_int)> {
    let mut reaped = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: a valid out-pointer; WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return reaped;
        }
        reaped.push((pid, status));
    }
}
