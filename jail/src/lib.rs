//! Runs a native program confined by a typed [`Spec`]: what it may read, write and
//! execute, whether it may use the network, how long it may run and how much of the
//! machine it may use. Nothing else gets out,
//! and nothing it starts outlives it.
//!
//! A build script's native helpers (a `rustc` probe, a granted `cc`, a `run-natively`
//! script) run the script's code or inputs with the user's rights, so this crate assumes
//! the program is hostile. The jail needs no privileges and no user namespaces: only what
//! Docker's default profile and stock distribution kernels leave to any process.
//!
//! # How a program is run
//!
//! [`Jail::spawn`] starts a small helper: the embedding executable re-run with
//! [`HELPER_ARG`], whose `main` calls [`helper_main`]. The helper is single-threaded, so
//! everything between `fork` and `exec` is ordinary Rust. It
//! 1. becomes a child subreaper, so every descendant of the program, including one that
//!    calls `setsid` or forks twice, stays its descendant;
//! 2. opens the program once, refuses it unless it is the very file the host judged (by
//!    device and inode), and executes that open file (`execveat`): a link swapped in
//!    between gains nothing;
//! 3. forks the program into a new session, closes every inherited file descriptor, gives
//!    it a private jobserver if it expects one, confines it with Landlock (rules built
//!    from open directory handles) and a seccomp filter, and executes it;
//! 4. waits, answering the filter's notifications (see the supervisor) with no
//!    capabilities of its own, and when the program ends, is told to stop, runs past its
//!    time limit, or the host goes away, kills every remaining descendant before it
//!    reports (what it refused, and whether the sweep could be sure, included).
//!
//! # Layers and what each stops
//!
//! | layer | stops | needs |
//! | --- | --- | --- |
//! | Landlock filesystem rules | reads, writes and executions outside the [`Access`] sets | Linux ≥ 5.13 with Landlock enabled |
//! | Landlock truncate right (ABI 3), else seccomp | truncating files it may only read | Linux ≥ 6.2, else nothing |
//! | Landlock TCP rules (ABI 4) | TCP connections and listening of the program's own sockets, granted network or not (a second wall behind seccomp and the supervisor) | Linux ≥ 6.7, optional |
//! | Landlock scopes (ABI 6), else a PID namespace | signals to processes outside the jail | Linux ≥ 6.12, else unprivileged user namespaces |
//! | seccomp filter, an allow list | every system call builds do not make (`ENOSYS`): sockets (all families; with [`Network::Proxy`], all but TCP over IPv4/IPv6), listening and TCP Fast Open's connecting `send*`, io_uring, SysV IPC and message queues, keyrings, ptrace and `process_vm_*`, mounts and namespaces, bpf, perf, inotify, terminal injection, `prlimit` and priorities of other processes, executable `memfd`s, x32 and foreign system-call ABIs | `CONFIG_SECCOMP_FILTER` |
//! | the helper's supervisor (seccomp user notification) | `chmod`/`chown`/`utime*` outside the writable directories (performed on a handle beneath them, or refused), mapping a file as code outside the executable directories (the loader on what the build wrote), `connect` anywhere but the proxy of [`Network::Proxy`] (the supervisor reads the address once and puts a socket it connected itself in the program's place, so no later change of the address reaches the kernel) | Linux ≥ 5.0 (≥ 5.9 for the proxy's connections) |
//! | subreaper and sweep | descendants outliving the program; a sweep that cannot list fails the run | `/proc` |
//! | fd hygiene | inherited descriptors (cargo's jobserver, the host's files) | nothing |
//! | rlimits and a task census ([`Resources`]) | one process's address space and file size, core dumps, the tasks of the whole jail | nothing (`/proc` for the census) |
//!
//! [`Layers::probe`] tells what this machine offers; a layer the spec needs that is
//! missing makes the spawn fail with [`Error::Unavailable`], never a weaker jail.
//!
//! What this crate is not: it does not decide what a program may do (the caller's policy
//! fills the [`Spec`]), and it knows nothing of wasm or cargo.

mod detect;
mod error;
mod layers;
mod program_file;
mod spawn;
mod spec;

#[cfg(target_os = "linux")]
mod linux;

pub use error::{Error, Layer, Missing};
pub use layers::Layers;
pub use program_file::ProgramFile;
pub use spawn::{
    Applied, Exceeded, Finished, Jail, JailNotes, Jailed, Killer, Outcome, SignalScope, Stdio,
    Waiter,
};
pub use spec::{Access, Code, Network, Resources, SYSTEM_READ_EXEC, Spec};

/// The first argument that makes the embedding executable act as the jail's helper.
pub const HELPER_ARG: &str = "--wasm-build-jail";

/// The helper's `main`: `args` are what follows [`HELPER_ARG`]. Returns the process exit
/// status; on success the helper reports through its report descriptor and exits 0.
pub fn helper_main(args: &[std::ffi::OsString]) -> i32 {
    #[cfg(target_os = "linux")]
    {
        linux::helper::main(args)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = args;
        eprintln!("error: {}", Missing::no_backend());
        126
    }
}
