//! The Linux backend: Landlock, seccomp, a subreaping helper.

mod descendants;
pub(crate) mod fd;
mod filesystem;
pub(crate) mod helper;
mod jobserver;
mod syscalls;
