//! How a build script's run ended and what it did, whether the wasm host ran it or the
//! jail ran it natively (`native`): the stand-in judges both the same way, so
//! both report the same thing.

use std::collections::BTreeSet;
use std::time::Duration;

use wasm_build_contract::audit::ExecAttempt;
use wasm_build_permissions_schema::Capability;

use crate::network::NetworkReport;
use crate::program::ProgramUse;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// `main` returned or `exit` was called with this status.
    Code(i32),
    /// The guest panicked or aborted (a `unreachable` trap, as Rust's panic=abort on wasm).
    Panicked,
    /// The guest used more CPU time than its limit.
    TimedOut(Duration),
    /// The run took longer than its wall-clock limit.
    Hung(Duration),
    /// The guest tried to grow its memory past the limit.
    OutOfMemory(u64),
    /// The guest printed more than the limit on stdout.
    StdoutFlood(u64),
    /// The guest printed more than the limit on stderr.
    StderrFlood(u64),
    /// The guest ran out of stack (its shadow stack or its wasm frames), of this size.
    StackOverflow(u64),
    /// Any other trap, with wasmtime's description.
    Trapped(String),
}

impl Exit {
    /// Whether the run succeeded.
    pub fn success(&self) -> bool {
        *self == Exit::Code(0)
    }

    /// The process exit status that stands for this ending.
    pub fn status(&self) -> i32 {
        match self {
            Exit::Code(code) => *code,
            // 101 is what a native build script's panic exits with.
            Exit::Panicked => 101,
            _ => 1,
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutput {
    /// How it ended.
    pub exit: Exit,
    /// Everything the guest printed on stdout (at most the stdout limit).
    pub stdout: Vec<u8>,
    /// The last few KiB the guest (and the broker on its behalf) printed on stderr,
    /// which went to cargo as they came.
    pub stderr_tail: Vec<u8>,
    /// Wall time of the whole run, host calls included.
    pub elapsed: Duration,
    /// Hidden variables the guest looked up.
    pub hidden_lookups: BTreeSet<String>,
    /// Absolute paths the guest looked for outside its preopens (see the wasm host's `outside` module).
    pub outside_lookups: BTreeSet<String>,
    /// Absolute paths the guest tried to open for writing, or to make a directory at,
    /// outside what it may write: in its package directory or another read-only
    /// directory, or outside every preopen (the target directory). Each was refused.
    pub refused_writes: BTreeSet<String>,
    /// What the programs it started did (the exec layer's report).
    pub exec: ProgramsReport,
}

/// What the programs a build script started did, as the exec layer saw them: the same
/// for a script in the wasm host (its broker's report) and for one run natively.
#[derive(Debug, Default)]
pub struct ProgramsReport {
    /// Programs the guest tried to start.
    pub attempts: Vec<ExecAttempt>,
    /// Every program the guest asked for, with the file it resolved to here.
    pub programs: Vec<ProgramUse>,
    /// Capabilities the guest needed that nobody reviewed, with the attempt that needed
    /// each (the build fails on them).
    pub pending: Vec<(String, Capability)>,
    /// Programs the jail could not run (a layer missing here, a program swapped): each
    /// fails the build, whatever the script made of it.
    pub jail_failures: Vec<String>,
    /// The layers that confined the script's programs (or the script itself), if any ran.
    pub confinement: Option<String>,
    /// Whether anything beyond rustc probes ran natively (a granted program, or the
    /// script itself): what the jail then stopped, the broker did not see.
    pub ran_untrusted: bool,
    /// Programs that failed the way a program the jail stopped fails (killed by the
    /// system-call filter, or after printing "Permission denied"), one sentence each: the
    /// script may have carried on and built something else than natively.
    pub stopped: Vec<String>,
    /// Variables the script set for rustc probes that rustc or its linker read, which
    /// the probes ran without (see [`crate::probe_env`]).
    pub probe_env_dropped: Vec<String>,
    /// What the proxies of its network-granted programs saw.
    pub network: NetworkReport,
    /// Bounds of the jail its programs ran into (their processes, memory, files, time, the
    /// disk they filled), one sentence each naming the limit and its key: each fails the
    /// build, whatever the script made of it.
    pub limited: Vec<String>,
}
