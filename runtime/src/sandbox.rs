//! Running one wasm32-wasip1 module with exactly the powers its policy grants.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use wasm_build_diagnostics::Diag as _;
use wasm_build_exec::broker::Broker;
use wasm_build_exec::context::ExecContext;
use wasm_build_exec::outcome::{Exit, RunOutput};
use wasm_build_exec::output::CappedOutput;
use wasm_build_permissions_schema::Limits;
use wasm_build_shim::{STACK_BYTES, STACK_POINTER_EXPORT};
use wasmtime::{Linker, Module, Store, Trap, TypedFunc, UpdateDeadline};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::SandboxEngine;
use crate::engine::EPOCH_TICK;
use crate::guest_output::GuestOutput;
use crate::host::{Host, MemoryLimit, OutsideLookups};
use crate::host_fs::HostFs;
use crate::preopen::{Access, Preopen};

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
            .stdout(GuestOutput(stdout.clone()))
            .stderr(GuestOutput(stderr.clone()))
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
            outside: outside_lookups(&self.preopens, root_fd),
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
        drop(empty_root);
        Ok(run_output(
            store.into_data(),
            exit,
            &stdout,
            &stderr,
            started,
        ))
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
        wasm_build_exec::interrupt::remove_on_exit(empty.path());
        wasi.preopened_dir(empty.path(), "/", FsPerms::ReadOnly)
            .map_err(anyhow::Error::from)
            .context("cannot give the sandbox its empty root directory")?;
        Ok(Some(empty))
    }
}

/// What the guest looks up outside its preopens is watched through the empty root at
/// `root_fd`, and its writes through the read-only preopens.
fn outside_lookups(preopens: &[Preopen], root_fd: Option<u32>) -> OutsideLookups {
    OutsideLookups {
        root_fd,
        paths: BTreeSet::new(),
        // Preopens take descriptors from 3, in order.
        read_only: (3..)
            .zip(preopens)
            .filter(|(_, preopen)| preopen.access == Access::ReadOnly)
            .map(|(fd, preopen)| (fd, preopen.path.clone()))
            .collect(),
        writes: BTreeSet::new(),
    }
}

/// What a run that ended as `exit` produced: what the host saw, and what the broker's
/// programs did (every one released first, so that what the jail refused them is known;
/// then the proxies stop). The broker goes with it, and kills the children the script
/// left behind.
fn run_output(
    mut host: Host,
    exit: Exit,
    stdout: &CappedOutput,
    stderr: &CappedOutput,
    started: Instant,
) -> RunOutput {
    RunOutput {
        exit,
        stdout: stdout.take(),
        stderr_tail: stderr.tail(),
        elapsed: started.elapsed(),
        hidden_lookups: host.hidden_lookups,
        outside_lookups: host.outside.paths,
        refused_writes: host.outside.writes,
        exec: host.broker.take().map(Broker::finish).unwrap_or_default(),
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
                let hung = wasm_build_diagnostics::run::Hung {
                    wall_clock_secs: limit.as_secs(),
                };
                eprintln!(
                    "{}",
                    hung.render(wasm_build_diagnostics::Painter::default())
                );
                wasm_build_exec::interrupt::exit_now(1);
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
