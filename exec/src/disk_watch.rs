//! The watch on the disk a build script's native programs fill: `OUT_DIR` and the
//! temporary directory measured while they run, every program stopped once together they
//! hold more than the `out-dir` limit. Apart from [`crate::bounds`] because it holds the
//! programs it stops, which themselves report the bounds they hit.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use wasm_build_permissions_schema::{ByteSize, LimitKey};

use crate::child::ChildProcess;

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
    use wasm_build_jail::{Access, Code, Network, ProgramFile, Resources, Spec, Stdio};

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
