//! Finding and killing every descendant of the helper.
//!
//! The helper is a child subreaper, so a descendant whose parent dies (a double fork, a
//! daemon that called `setsid`) becomes the helper's child instead of init's. Killing is
//! done as catern/supervise does it: kill every living child, wait for each to die
//! *without reaping it* (so its pid cannot be reused while its own children move over to
//! the helper), and repeat until a pass finds no living child and no new one. Then reap
//! them all.

use std::io;

/// The helper's direct children.
fn children(me: libc::pid_t) -> io::Result<Vec<libc::pid_t>> {
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
        if stat(pid).is_some_and(|(_, parent)| parent == me) {
            found.push(pid);
        }
    }
    Ok(found)
}

/// State and parent pid from `/proc/<pid>/stat` (`pid (comm) S ppid ...`; `comm` may
/// hold spaces and parentheses, so fields are counted from the last `)`).
fn stat(pid: libc::pid_t) -> Option<(char, libc::pid_t)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}

/// Whether descendants can be found here: `/proc` is mounted and readable.
pub(crate) fn available() -> io::Result<()> {
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    children(me).map(|_| ())
}

/// Kills every descendant and reaps them all.
pub(crate) fn kill_all() {
    // SAFETY: plain syscall.
    let me = unsafe { libc::getpid() };
    loop {
        let listed = children(me).unwrap_or_default();
        let living: Vec<libc::pid_t> = listed
            .iter()
            .copied()
            .filter(|pid| stat(*pid).is_some_and(|(state, _)| state != 'Z' && state != 'X'))
            .collect();
        if living.is_empty() {
            // A child that died between the listing and its check handed its own
            // children to us before it became a zombie: they show in a new listing.
            if children(me).unwrap_or_default() == listed {
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
