//! Running one wasm32-wasip1 module with exactly the powers its policy grants.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use wasm_build_permissions_schema::Limits;
use wasm_build_shim::{STACK_BYTES, STACK_POINTER_EXPORT};
use wasmtime::{Linker, Module, Store, Trap, TypedFunc, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::SandboxEngine;
use wasm_build_contract::audit::ExecAttempt;

use crate::broker::{Broker, ExecContext, ProgramUse};
use crate::engine::EPOCH_TICK;
use crate::host_fs::HostFs;
use crate::output::CappedOutput;
use crate::outside::OutsideLookups;
use wasm_build_permissions_schema::Capability;

/// A host directory the guest can open, at the same path as on the host.
///
/// Build scripts print paths (`rustc-link-search`, `rerun-if-changed`, `include!` targets
/// in generated code) that cargo and rustc later use on the host, so guest paths must be
/// host paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preopen {
    /// The directory.
    pub path: PathBuf,
    /// What the guest may do inside it.
    pub access: Access,
}

/// Access to a preopened directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// List, stat and read files; no creating, writing, renaming or deleting.
    ReadOnly,
    /// Everything within the directory; nothing outside it, through `..` or symlinks.
    ReadWrite,
}

/// Everything needed to run one module.
pub struct Sandbox<'a> {
    /// The engine the module was compiled for.
    pub engine: &'a SandboxEngine,
    /// The module.
    pub module: &'a Module,
    /// `argv`; `argv[0]` is conventionally the program's path.
    pub args: Vec<String>,
    /// The complete environment the guest sees.
    pub env: Vec<(String, String)>,
    /// The directories the guest can open; nothing else exists for it.
    pub preopens: Vec<Preopen>,
    /// Resource limits.
    pub limits: Limits,
    /// How the guest may start programs; `None` refuses every attempt.
    pub exec: Option<ExecContext>,
    /// The run's private temporary directory (also among the preopens), which the
    /// facade's `env::temp_dir` returns.
    pub temp_dir: Option<PathBuf>,
    /// Variables set in the host environment but hidden from the guest; a lookup of one
    /// is recorded in [`RunOutput::hidden_lookups`].
    pub hidden_env: BTreeSet<String>,
    /// End the whole process when the guest hangs in a host call past the wall-clock
    /// limit (a `sleep` that never returns cannot be interrupted otherwise). Right for
    /// the stand-in, which runs one script per process; wrong inside a test harness.
    pub exit_on_hang: bool,
    /// Where the runtime's own helper modules (the path-lookup interposer) are kept
    /// compiled; without one they are compiled for every run.
    pub module_cache: Option<&'a crate::ModuleCache>,
}

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
    /// Programs the guest tried to start.
    pub attempts: Vec<ExecAttempt>,
    /// Every program the guest asked for, with the file it resolved to here.
    pub programs: Vec<ProgramUse>,
    /// Capabilities the guest needed that nobody reviewed, with the attempt that needed
    /// each (the build fails on them).
    pub pending: Vec<(String, Capability)>,
    /// Hidden variables the guest looked up.
    pub hidden_lookups: BTreeSet<String>,
    /// Absolute paths the guest looked for outside its preopens (see `outside`).
    pub outside_lookups: BTreeSet<String>,
    /// Absolute paths the guest tried to open for writing, or to make a directory at,
    /// outside what it may write: in its package directory or another read-only
    /// directory, or outside every preopen (the target directory). Each was refused.
    pub refused_writes: BTreeSet<String>,
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
    pub network: crate::network::NetworkReport,
    /// Bounds of the jail its programs ran into (their processes, memory, files, time, the
    /// disk they filled), one sentence each naming the limit and its key: each fails the
    /// build, whatever the script made of it.
    pub limited: Vec<String>,
}

/// The store's data: the WASI context, the exec broker and what enforces the limits.
pub(crate) struct Host {
    wasi: WasiP1Ctx,
    memory: MemoryLimit,
    pub(crate) broker: Option<Broker>,
    /// The message of the last failed host call, for the guest's `last_error`.
    pub(crate) last_error: String,
    /// The preopens, open, for the file operations the host does for the guest.
    pub(crate) fs: HostFs,
    pub(crate) temp_dir: Option<PathBuf>,
    pub(crate) hidden_env: BTreeSet<String>,
    pub(crate) hidden_lookups: BTreeSet<String>,
    pub(crate) outside: OutsideLookups,
}

struct MemoryLimit {
    max: u64,
    exceeded: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // The stack is reserved at the bottom of memory (see `STACK_BYTES`); the limit is
        // on what the script allocates beyond it.
        if desired.saturating_sub(STACK_BYTES) as u64 > self.max {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million is far past any real program.
        Ok(desired <= 1_000_000)
    }
}

impl Sandbox<'_> {
    /// Runs the module's `_start` to completion or until a limit stops it.
    ///
    /// # Errors
    ///
    /// Fails when the sandbox cannot be set up (a preopened directory is missing or not
    /// UTF-8, the module imports something the sandbox does not provide). How the guest
    /// itself ended, traps included, is in [`RunOutput::exit`].
    pub fn run(self) -> Result<RunOutput> {
        let started = Instant::now();
        let stdout = CappedOutput::memory(self.limits.stdout_bytes);
        let stderr = CappedOutput::stderr(self.limits.stderr_bytes);

        let mut wasi = WasiCtxBuilder::new();
        // Must come before the preopens: each directory captures the flag. Without it
        // every file operation is a round trip through a tokio blocking pool (7x slower
        // on a file-heavy script, measured).
        wasi.allow_blocking_current_thread(true);
        wasi.args(&self.args)
            .envs(&self.env)
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for preopen in &self.preopens {
            add_preopen(&mut wasi, preopen)?;
        }
        // Last, so its descriptor follows the others' (stdio is 0-2, preopens from 3).
        let empty_root = self.add_empty_root(&mut wasi)?;
        let root_fd = empty_root.as_ref().map(|_| 3 + self.preopens.len() as u32);

        let engine = self.engine.engine();
        let mut linker: Linker<Host> = Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |host: &mut Host| &mut host.wasi)
            .map_err(anyhow::Error::from)
            .context("failed to provide WASI to the module")?;
        crate::hostcalls::add_to_linker(&mut linker)
            .context("failed to provide the sandbox's host calls to the module")?;

        let host = Host {
            wasi: wasi.build_p1(),
            memory: MemoryLimit {
                max: self.limits.memory_bytes,
                exceeded: false,
            },
            broker: self
                .exec
                .map(|exec| Broker::new(exec, stdout.clone(), stderr.clone())),
            last_error: String::new(),
            fs: HostFs::open(&self.preopens)
                .context("failed to open the build script's directories")?,
            temp_dir: self.temp_dir,
            hidden_env: self.hidden_env,
            hidden_lookups: BTreeSet::new(),
            outside: OutsideLookups {
                root_fd,
                paths: BTreeSet::new(),
                // Preopens take descriptors from 3, in order.
                read_only: (3..)
                    .zip(&self.preopens)
                    .filter(|(_, preopen)| preopen.access == Access::ReadOnly)
                    .map(|(fd, preopen)| (fd, preopen.path.clone()))
                    .collect(),
                writes: BTreeSet::new(),
            },
        };
        let mut store = Store::new(engine, host);
        store.limiter(|host| &mut host.memory);
        // Instantiation may run code; the guest thread sets the deadline it counts from.
        store.set_epoch_deadline(ticks(self.limits.cpu_time));
        crate::outside::watch(&mut linker, &mut store, self.module, self.module_cache)
            .context("failed to watch the build script's path lookups")?;
        let limits = self.limits;
        let watchdog = self
            .exit_on_hang
            .then(|| wall_clock_watchdog(limits.wall_time));
        let instance = linker
            .instantiate(&mut store, self.module)
            .map_err(anyhow::Error::from)
            .context("the build script's module does not fit the sandbox")?;
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(anyhow::Error::from)
            .context("the build script's module has no `_start` function")?;
        let result = run_on_guest_stack(&mut store, start, started, limits)?;
        drop(watchdog);
        let stack_overflowed = result.is_err() && stack_pointer_wrapped(&mut store, &instance);

        let exit = match result {
            Ok(()) => Exit::Code(0),
            Err(_) if started.elapsed() > limits.wall_time => Exit::Hung(limits.wall_time),
            Err(_) if stack_overflowed => Exit::StackOverflow(STACK_BYTES as u64),
            Err(err) => classify(err, &store, &stdout, &stderr, &limits),
        };
        // Dropping the broker kills children the script left behind.
        let mut host = store.into_data();
        let hidden_lookups = std::mem::take(&mut host.hidden_lookups);
        let outside_lookups = std::mem::take(&mut host.outside.paths);
        let refused_writes = std::mem::take(&mut host.outside.writes);
        drop(empty_root);
        let probe_env_dropped = host
            .broker
            .as_mut()
            .map(|broker| std::mem::take(&mut broker.probe_env_dropped))
            .unwrap_or_default()
            .into_iter()
            .collect();
        let programs = host
            .broker
            .as_mut()
            .map(|broker| std::mem::take(&mut broker.programs))
            .unwrap_or_default();
        // Every program released first, so that what the jail refused them is known;
        // then the proxies stop.
        let stopped = host
            .broker
            .as_mut()
            .map(Broker::stopped)
            .unwrap_or_default();
        let network = host
            .broker
            .as_mut()
            .map(Broker::finish_network)
            .unwrap_or_default();
        let (attempts, pending, jail_failures, confinement, ran_untrusted, limited) =
            match host.broker.take() {
                Some(mut broker) => (
                    std::mem::take(&mut broker.attempts),
                    std::mem::take(&mut broker.pending),
                    std::mem::take(&mut broker.jail_failures),
                    broker.confinement.take(),
                    broker.ran_untrusted,
                    broker.limited(),
                ),
                None => (Vec::new(), Vec::new(), Vec::new(), None, false, Vec::new()),
            };
        Ok(RunOutput {
            exit,
            stdout: stdout.take(),
            stderr_tail: stderr.tail(),
            elapsed: started.elapsed(),
            attempts,
            programs,
            pending,
            hidden_lookups,
            outside_lookups,
            refused_writes,
            jail_failures,
            confinement,
            ran_untrusted,
            stopped,
            probe_env_dropped,
            network,
            limited,
        })
    }

    /// Preopens an empty, read-only directory as `/`, through which the guest's lookups
    /// of paths outside its preopens go, to be recorded (see `outside`). None when a
    /// preopen is `/` itself (a `dangerous-read` of it).
    fn add_empty_root(&self, wasi: &mut WasiCtxBuilder) -> Result<Option<tempfile::TempDir>> {
        if self
            .preopens
            .iter()
            .any(|preopen| preopen.path == Path::new("/"))
        {
            return Ok(None);
        }
        let empty = tempfile::Builder::new()
            .prefix("cargo-wasm-build-root-")
            .tempdir()
            .context("failed to create the sandbox's empty root directory")?;
        crate::interrupt::remove_on_exit(empty.path());
        wasi.preopened_dir(empty.path(), "/", FsPerms::ReadOnly)
            .map_err(anyhow::Error::from)
            .context("cannot give the sandbox its empty root directory")?;
        Ok(Some(empty))
    }
}

/// Runs `_start` on a thread of its own whose native stack holds [`STACK_BYTES`] of wasm
/// frames (the engine's `max_wasm_stack`) and the host calls above them; the calling
/// thread's may be smaller. The CPU-time limit counts that thread's time.
fn run_on_guest_stack(
    store: &mut Store<Host>,
    start: TypedFunc<(), ()>,
    started: Instant,
    limits: Limits,
) -> Result<wasmtime::Result<()>> {
    const HOST_FRAMES: usize = 16 << 20;
    std::thread::scope(|scope| {
        let guest = std::thread::Builder::new()
            .name("wasm-build-guest".into())
            .stack_size(STACK_BYTES + HOST_FRAMES)
            .spawn_scoped(scope, move || {
                let cpu_at_start = thread_cpu_time();
                store.set_epoch_deadline(ticks(limits.cpu_time));
                store.epoch_deadline_callback(move |_| {
                    // CPU time of this thread, which runs the guest: waiting for children
                    // or in `sleep` costs nothing and does not count.
                    let used = thread_cpu_time().saturating_sub(cpu_at_start);
                    if started.elapsed() > limits.wall_time {
                        return Err(Trap::Interrupt.into());
                    }
                    match limits.cpu_time.checked_sub(used) {
                        Some(left) if !left.is_zero() => Ok(UpdateDeadline::Continue(ticks(left))),
                        _ => Err(Trap::Interrupt.into()),
                    }
                });
                start.call(store, ())
            })
            .context("failed to start the thread that runs the build script")?;
        guest
            .join()
            .map_err(|_| anyhow!("the thread that ran the build script panicked"))
    })
}

/// Whether the guest's shadow stack pointer ran below zero and wrapped: the memory fault
/// that ended it was a stack overflow. Guests export the pointer (see
/// `wasm_build_shim::guest_link_args`); one that does not is never called overflowed.
fn stack_pointer_wrapped(store: &mut Store<Host>, instance: &wasmtime::Instance) -> bool {
    let Some(pointer) = instance.get_global(&mut *store, STACK_POINTER_EXPORT) else {
        return false;
    };
    match pointer.get(&mut *store).i32() {
        Some(value) => value as u32 as usize > STACK_BYTES,
        None => false,
    }
}

/// CPU time used by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the kernel to fill.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Ends the process if the run outlives `limit` by a grace period: the guest is stuck
/// in a host call (a long `sleep`) where no epoch check can reach it. Dropping the
/// returned sender disarms it.
fn wall_clock_watchdog(limit: Duration) -> mpsc::Sender<()> {
    let (disarm, disarmed) = mpsc::channel::<()>();
    let grace = Duration::from_secs(5);
    let _ = std::thread::Builder::new()
        .name("wasm-build-wall-clock".into())
        .spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = disarmed.recv_timeout(limit + grace) {
                eprintln!(
                    "{} sandboxed build script hung for more than its wall-clock limit of {} s and was stopped",
                    wasm_build_contract::Code::W502.error(),
                    limit.as_secs()
                );
                crate::interrupt::exit_now(1);
            }
        });
    disarm
}

fn ticks(duration: Duration) -> u64 {
    (duration.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

fn add_preopen(wasi: &mut WasiCtxBuilder, preopen: &Preopen) -> Result<()> {
    let guest = preopen.path.to_str().ok_or_else(|| {
        anyhow!(
            "cannot give the sandbox `{}`: the path is not valid UTF-8",
            preopen.path.display()
        )
    })?;
    let perms = match preopen.access {
        Access::ReadOnly => FsPerms::ReadOnly,
        Access::ReadWrite => FsPerms::ReadWrite,
    };
    wasi.preopened_dir(&preopen.path, guest, perms)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot give the sandbox `{}`", preopen.path.display()))?;
    Ok(())
}

/// Turns the error `_start` returned into the reason the run ended.
fn classify(
    err: wasmtime::Error,
    store: &Store<Host>,
    stdout: &CappedOutput,
    stderr: &CappedOutput,
    limits: &Limits,
) -> Exit {
    if let Some(exit) = err.downcast_ref::<I32Exit>() {
        return Exit::Code(exit.0);
    }
    if stdout.exceeded() {
        return Exit::StdoutFlood(limits.stdout_bytes);
    }
    if stderr.exceeded() {
        return Exit::StderrFlood(limits.stderr_bytes);
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Exit::TimedOut(limits.cpu_time),
        // Rust's allocation-failure handler aborts, so a denied memory.grow ends as an
        // `unreachable` trap; report the cause, not the symptom.
        Some(_) if store.data().memory.exceeded => Exit::OutOfMemory(limits.memory_bytes),
        Some(Trap::UnreachableCodeReached) => Exit::Panicked,
        Some(Trap::StackOverflow) => Exit::StackOverflow(STACK_BYTES as u64),
        Some(trap) => Exit::Trapped(trap.to_string()),
        None => Exit::Trapped(format!("{err:#}")),
    }
}

/// Preopens for a build script: the package read-only, `OUT_DIR` and the run's private
/// temporary directory read-write.
pub fn build_script_preopens(manifest_dir: &Path, out_dir: &Path, temp_dir: &Path) -> Vec<Preopen> {
    vec![
        Preopen {
            path: temp_dir.to_path_buf(),
            access: Access::ReadWrite,
        },
        Preopen {
            path: manifest_dir.to_path_buf(),
            access: Access::ReadOnly,
        },
        Preopen {
            path: out_dir.to_path_buf(),
            access: Access::ReadWrite,
        },
    ]
}
