//! What a jailed program is, and what it may touch.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::program_file::ProgramFile;

/// System locations compilers and build tools need to run at all: binaries, libraries,
/// headers, the dynamic loader's configuration. Read and execute.
///
/// Notably not `/etc` as a whole, `/home`, `/root`, `/tmp`, `/opt` (other software's
/// installations: a granted program installed there brings its own prefix) or `/proc`.
pub const SYSTEM_READ_EXEC: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
];

/// Everything needed to run one program in the jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The file to execute, as the caller judged it.
    pub program: ProgramFile,
    /// `argv[0]`: the name the program was asked for (`cc`), which some programs use to
    /// pick what they do (rustup's proxies, busybox).
    pub argv0: OsString,
    /// The arguments after `argv[0]`.
    pub args: Vec<OsString>,
    /// The complete environment; nothing of the caller's own is added.
    pub env: Vec<(OsString, OsString)>,
    /// The working directory.
    pub cwd: PathBuf,
    /// What it may read, write and execute besides the system directories.
    pub access: Access,
    /// Whether it may use the network.
    pub network: Network,
    /// Whose code it runs, which decides whether signals must be scoped.
    pub code: Code,
    /// Killed, with everything it started, when it runs longer.
    pub time_limit: Option<Duration>,
    /// Tokens of the private jobserver handed to a program that expects one (a `make`
    /// started with cargo's `MAKEFLAGS`); 0 strips the jobserver instead. Cargo's own
    /// jobserver never reaches a jailed program: it could drain or inflate the build's pool.
    pub jobserver_tokens: u32,
    /// How much memory, disk and processes it may use.
    pub resources: Resources,
}

/// Bounds on what a jailed program and everything it starts may use of the machine.
/// `None` leaves a bound as the helper's own (normally none); core dumps are always off
/// (`RLIMIT_CORE` 0: a crashing 16 GiB process would otherwise write 16 GiB).
///
/// Exceeding one never passes silently: the program is stopped, or its operation fails
/// the way the kernel fails it ([`crate::Outcome::Exceeded`], `SIGXFSZ`, `ENOMEM`), so that
/// its caller can name the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Bytes of address space of each process (`RLIMIT_AS`): its heap, stacks, mapped
    /// files and reservations together, so larger than what it has resident. An
    /// allocation past it fails with `ENOMEM`. Each process has its own; the whole jail
    /// holds at most this times [`Resources::processes`].
    pub address_space: Option<u64>,
    /// Bytes of any one file a process writes (`RLIMIT_FSIZE`): a write past it is killed
    /// by `SIGXFSZ`, or fails with `EFBIG` where that is ignored. The total a program
    /// writes across files is its caller's to watch.
    pub file_size: Option<u64>,
    /// Tasks (processes and threads) the program and its descendants may hold at once.
    /// The helper counts them every 20 ms and, past this, kills them all
    /// ([`crate::Outcome::Exceeded`]); a fork burst can pass it by what it forks between two
    /// counts, and is then killed whole.
    pub processes: Option<u32>,
}

impl Resources {
    /// No bound but the helper's own: for tests and callers that bound nothing.
    pub const UNBOUNDED: Resources = Resources {
        address_space: None,
        file_size: None,
        processes: None,
    };
}

/// Paths a jailed program may use, besides [`SYSTEM_READ_EXEC`] (read and execute), a few
/// devices (read and write) and processor facts (read). Each entry covers a directory and
/// everything below it, or one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// May read and execute: a toolchain, a granted program's own installation.
    pub read_exec: Vec<PathBuf>,
    /// May read: the package, headers a dependency exported.
    pub read: Vec<PathBuf>,
    /// May read, create, change and remove, but never execute: what the program writes
    /// cannot become native code of its choosing.
    pub write: Vec<PathBuf>,
}

/// The network a jailed program may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Network {
    /// No socket of any family can be created (a connected `socketpair` of Unix sockets,
    /// which reaches nothing outside, still can).
    #[default]
    None,
    /// TCP to this one address and nowhere else: the filtering proxy the tool runs for the
    /// program, which decides which hosts it reaches. A `connect` anywhere else (another
    /// port, another address, a name the program resolved itself) is refused and kept as a
    /// refusal, UDP and raw sockets cannot be created, and nothing can be listened on.
    Proxy(std::net::SocketAddr),
}

/// Whose native code the program may end up running, which decides the layers it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    /// Toolchain code only: a compiler whose arguments the caller checked, so that nothing
    /// the script wrote runs as native code (no linker, plugin or proc macro of its
    /// choosing). Its inputs are still hostile, so reads and writes are confined, but it
    /// sends no signal the script chose, and signals need not be scoped.
    Toolchain,
    /// Anything: a granted program can be made to load code (a compiler plugin, the
    /// dynamic loader run on a file), so every layer is required, signal scoping included.
    Untrusted,
}

/// The part of a spec the helper receives as its argument: everything but `argv` and the
/// environment, which it receives as its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rules {
    pub program: ProgramFile,
    pub cwd: PathBuf,
    pub access: Access,
    pub network: Network,
    pub code: Code,
    pub time_limit_ms: Option<u64>,
    pub jobserver_tokens: u32,
    pub resources: Resources,
    /// The host's pid: the helper stops at once if its parent is already someone else.
    pub host_pid: u32,
    /// Use at most this Landlock ABI (to reproduce an older kernel's behaviour).
    pub landlock_abi_cap: Option<u8>,
}
