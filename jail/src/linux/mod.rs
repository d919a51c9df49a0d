//! The Linux backend: Landlock, seccomp, a subreaping helper.

mod connect;
mod descendants;
pub(crate) mod fd;
mod filesystem;
pub(crate) mod helper;
mod jobserver;
mod resources;
mod supervisor;
mod syscalls;

/// The layers, when this process can tell them without trying: Landlock with scopes (so
/// user namespaces do not matter), seccomp compiled in, descendants findable in `/proc`.
pub(crate) fn quick_layers(landlock_abi_cap: Option<u8>) -> Option<crate::Layers> {
    let landlock = filesystem::abi_in_use(landlock_abi_cap)
        .ok()
        .filter(|abi| *abi >= 6)?;
    // SAFETY: plain prctl; EINVAL means a kernel without seccomp.
    if unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) } < 0 {
        return None;
    }
    descendants::available().ok()?;
    Some(crate::Layers {
        kernel: helper::probe::kernel(),
        landlock: Ok(landlock),
        seccomp: Ok(()),
        descendants: Ok(()),
        user_namespaces: Err("not needed with Landlock scopes, so not tried".into()),
    })
}
