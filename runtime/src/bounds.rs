//! The resource bounds of a build script's native programs, taken from its [`Limits`] (the
//! same keys and defaults as the script's own), and the watch on the disk they fill.
//!
//! | bound | enforced by | from | default |
//! | --- | --- | --- | --- |
//! | address space of each process | the kernel (`RLIMIT_AS`): an allocation past it fails with `ENOMEM` | [`ADDRESS_SPACE_PER_MEMORY`] × `memory` | 16 GiB |
//! | size of any one file | the kernel (`RLIMIT_FSIZE`): `SIGXFSZ`, or `EFBIG` | `out-dir` + 1 byte | 4 GiB |
//! | tasks of the whole jail | the jail's helper, which counts them and kills them all past it | `processes` | 4096 |
//! | bytes in `OUT_DIR` and the temporary directory | [`DiskWatch`], while programs run; the stand-in after the run | `out-dir` | 4 GiB |
//!
//! Crossing one fails the script with the limit and its key named: a program the jail
//! stopped, or one that failed the way programs fail at a kernel bound, is reported by
//! [`crate::child::ChildProcess::bound_hit`], never taken for an ordinary failure.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use wasm_build_jail::Resources;
use wasm_build_permissions_schema::{ByteSize, LimitKey, Limits};

use crate::child::ChildProcess;

/// A native process's address space is its `memory` limit times this.
///
/// Address space is not memory in use: it counts every reservation (glibc's 64 MiB heap
/// per thread arena, jemalloc's chunks, thread stacks, mapped files and libraries), so a
/// compiler's address space is well above what it has resident. Measured (2 cores, Linux
/// 6.18): `rustc -O -C codegen-units=16` on a 32 000-line crate peaks at 2.5 GiB of address
/// space for 1.2 GiB resident; `cc1plus -O2 -g` on a 12 000-line file of `<regex>` users
/// peaks at 2.4 GiB for 2.3 GiB resident, and `as` on its output at 1.2 GiB. With the
/// default `memory` of 1 GiB the bound is 16 GiB, over six times either peak; what it stops
/// is one process taking the machine's memory for itself. Programs that reserve far more than
/// they use (AddressSanitizer's shadow, a JavaScript engine's WebAssembly guard regions)
/// need a larger `memory`.
pub const ADDRESS_SPACE_PER_MEMORY: u64 = 16;

/// The bounds of a native program started for a script with `limits`.
pub fn resources(limits: &Limits) -> Resources {
    Resources {
        address_space: Some(limits.memory_bytes.saturating_mul(ADDRESS_SPACE_PER_MEMORY)),
        // One byte more than `OUT_DIR` may hold: a file cut at this bound is over the
        // `out-dir` limit itself, so the check after the run fails on it rather than
        // letting a truncated file through.
        file_size: Some(limits.out_dir_bytes.saturating_add(1)),
        processes: Some(limits.processes),
    }
}

/// A bound of the jail a native program can run into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// The address space of one process.
    AddressSpace,
    /// The size of one file.
    FileSize,
    /// The tasks of the whole jail.
    Processes,
    /// The wall-clock time of one program.
    ChildTime,
}

impl Bound {
    /// "the jail's … limit of …", and the key that raises it.
    pub(crate) fn describe(self, limits: &Limits) -> String {
        let size = |bytes: u64| ByteSize::new(bytes).to_string();
        let (what, key) = match self {
            Bound::AddressSpace => (
                format!(
                    "address-space limit of {} per process ({ADDRESS_SPACE_PER_MEMORY} × `memory`)",
                    size(limits.memory_bytes.saturating_mul(ADDRESS_SPACE_PER_MEMORY))
                ),
                LimitKey::Memory,
            ),
            Bound::FileSize => (
                format!(
                    "file-size limit of {} per file (`out-dir`)",
                    size(limits.out_dir_bytes)
                ),
                LimitKey::OutDir,
            ),
            Bound::Processes => (
                format!(
                    "limit of {} processes and threads at once",
                    limits.processes
                ),
                LimitKey::Processes,
            ),
            Bound::ChildTime => (
                format!("time limit of {} s", limits.child_time.as_secs()),
                LimitKey::ChildTime,
            ),
        };
        format!(
            "the jail's {what}; raise `limits.{}` for it if it needs more",
            key.key()
        )
    }
}

/// How often [`DiskWatch`] measures, at least: a flood at disk speed is stopped within a
/// few hundred megabytes, while a watch costs nothing between two programs.
const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// A walk may take at most this share of the time (a tree of thousands of files, a slow
/// disk): the wait between walks grows with what a walk costs.
const WATCH_SHARE: u32 = 20;

/// Measures `OUT_DIR` and the temporary directory while native programs run, and stops
/// them all once together they hold more than the `out-dir` limit. The stand-in checks
/// `OUT_DIR` again after the run; this catches what a program writes and removes before
/// then (a disk filled for a while, with anything else the machine writes failing).
///
/// The watch runs on a thread of its own only while a program it was given runs (it ends
/// when none is left, and [`DiskWatch::program_started`] starts it again).
#[derive(Clone)]
pub(crate) struct DiskWatch {
    shared: Arc<Shared>,
}

struct Shared {
    dirs: Vec<PathBuf>,
    limit: u64,
    state: Mutex<WatchState>,
}

#[derive(Default)]
struct WatchState {
    /// The programs that may still run.
    programs: Vec<Arc<ChildProcess>>,
    watching: bool,
    /// The most bytes seen past the limit.
    exceeded: Option<u64>,
}

impl DiskWatch {
    pub(crate) fn new(dirs: Vec<PathBuf>, limit: u64) -> Self {
        DiskWatch {
            shared: Arc::new(Shared {
                dirs,
                limit,
                state: Mutex::new(WatchState::default()),
            }),
        }
    }

    /// Watches while `program` runs (with the others).
    pub(crate) fn program_started(&self, program: Arc<ChildProcess>) {
        let mut state = self.shared.lock();
        state.programs.push(program);
        if state.watching {
            return;
        }
        let shared = self.shared.clone();
        let started = std::thread::Builder::new()
            .name("wasm-build-disk-watch".into())
            .spawn(move || shared.watch());
        // Without a thread the stand-in's check after the run still holds.
        state.watching = started.is_ok();
    }

    /// The bytes seen past the limit, if the programs were stopped for it.
    pub(crate) fn exceeded(&self) -> Option<u64> {
        self.shared.lock().exceeded
    }

    /// The limit.
    pub(crate) fn limit(&self) -> u64 {
        self.shared.limit
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn watch(&self) {
        let mut wait = WATCH_INTERVAL;
        loop {
            std::thread::sleep(wait);
            {
                let mut state = self.lock();
                state
                    .programs
                    .retain(|program| program.wait(false).is_none());
                if state.programs.is_empty() {
                    state.watching = false;
                    return;
                }
            }
            let started = Instant::now();
            let bytes: u64 = self.dirs.iter().map(|dir| bytes_under(dir)).sum();
            wait = WATCH_INTERVAL.max(started.elapsed() * WATCH_SHARE);
            if bytes > self.limit {
                let mut state = self.lock();
                state.exceeded = Some(state.exceeded.map_or(bytes, |seen| seen.max(bytes)));
                for program in &state.programs {
                    program.kill();
                }
            }
        }
    }
}

/// The sentence for a stand-in's error when `watch` stopped the programs.
pub(crate) fn disk_exceeded(watch: &DiskWatch) -> Option<String> {
    let seen = watch.exceeded()?;
    Some(format!(
        "held {seen} bytes in OUT_DIR and its temporary directory while its programs ran, \
         more than its out-dir limit of {}; they were stopped; raise `limits.{}` for it if \
         it needs more",
        ByteSize::new(watch.limit()),
        LimitKey::OutDir.key()
    ))
}

/// The bytes of the files under `dir`, counted as the stand-in's check counts them (each
/// name's length; symlinks not followed). What cannot be read (a file removed meanwhile)
/// counts nothing.
pub(crate) fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => bytes_under(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |meta| meta.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child::Spawned;
    use wasm_build_jail::{Access, Code, Network, ProgramFile, Spec, Stdio};

    #[test]
    fn the_defaults_follow_the_limits() {
        let limits = Limits::default();
        let resources = resources(&limits);
        assert_eq!(resources.address_space, Some(16 << 30));
        assert_eq!(resources.file_size, Some((4 << 30) + 1));
        assert_eq!(resources.processes, Some(4096));
        assert_eq!(
            Bound::Processes.describe(&limits),
            "the jail's limit of 4096 processes and threads at once; raise \
             `limits.processes` for it if it needs more"
        );
        assert_eq!(
            Bound::AddressSpace.describe(&limits),
            "the jail's address-space limit of 16GiB per process (16 × `memory`); raise \
             `limits.memory` for it if it needs more"
        );
    }

    #[test]
    fn sizes_count_every_file_below_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("top"), [0u8; 10]).unwrap();
        std::fs::write(dir.path().join("a/b/deep"), [0u8; 32]).unwrap();
        std::os::unix::fs::symlink("/usr/bin", dir.path().join("a/link")).unwrap();
        assert_eq!(bytes_under(dir.path()), 42);
        assert_eq!(bytes_under(&dir.path().join("missing")), 0);
    }

    /// A program that fills the directory past the limit and would remove it all before
    /// it ends is stopped while it holds it, and the watch says by how much.
    #[test]
    fn a_program_filling_the_disk_is_stopped_while_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let spec = Spec {
            program: ProgramFile::identify(Path::new("/bin/sh")).unwrap(),
            argv0: "sh".into(),
            args: vec![
                "-c".into(),
                "for i in 1 2 3 4; do head -c 1048576 /dev/zero > $0/f$i; done; sleep 20; rm $0/f*"
                    .into(),
                out.clone().into(),
            ],
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            cwd: dir.path().to_path_buf(),
            access: Access::default(),
            network: Network::None,
            code: Code::Untrusted,
            time_limit: None,
            jobserver_tokens: 0,
            resources: Resources::UNBOUNDED,
        };
        let watch = DiskWatch::new(vec![out.clone()], 3 << 20);
        let started = Instant::now();
        let spawned = Spawned::unconfined(&spec, [Stdio::Null; 3]).unwrap();
        let child = Arc::new(ChildProcess::supervise(
            spawned,
            None,
            None,
            Duration::from_secs(60),
        ));
        watch.program_started(child.clone());
        let ended = child.wait(true).unwrap();
        assert_eq!(ended.signal, Some(libc::SIGKILL));
        assert!(started.elapsed() < Duration::from_secs(15));
        assert_eq!(watch.exceeded(), Some(4 << 20));
        assert_eq!(bytes_under(&out), 4 << 20, "it never got to remove them");
    }
}
