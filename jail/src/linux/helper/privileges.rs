//! What the helper changes about its own process's standing: a child subreaper (so every
//! descendant stays its own), a user and PID namespace (where Landlock cannot scope
//! signals), and no capabilities (so a build run as root jails an ordinary process).

use crate::linux::descendants;

pub(super) fn become_subreaper() -> Result<(), String> {
    // SAFETY: plain prctl on this process.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(format!(
            "prctl(PR_SET_CHILD_SUBREAPER): {}",
            std::io::Error::last_os_error()
        ));
    }
    descendants::available().map_err(|err| format!("/proc: {err}"))
}

/// A user namespace (no privilege needed, the user keeps their ids) with a PID namespace
/// for the program: it cannot see, let alone signal, a process outside.
pub(super) fn enter_pid_namespace() -> Result<(), String> {
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
pub(super) fn drop_capabilities() -> Result<(), String> {
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
