//! Resource limits of one build script run.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How much of the machine one build script may use.
///
/// The defaults are sized so that every build script measured so far fits with a wide
/// margin (the largest, zstd-sys compiling 40 C files, needs a few MiB of wasm memory and
/// writes ~2 MiB into `OUT_DIR`), while a script that loops or floods is stopped long
/// before it hurts the machine. A consumer can raise them per package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Limits {
    /// Largest linear memory the module may grow to. wasm32 cannot exceed 4 GiB anyway;
    /// 1 GiB is ~100x what real build scripts use. Each native process the script starts
    /// may have 16 times this as address space (see the runtime's `bounds`).
    pub memory_bytes: u64,
    /// CPU time the script's own code may use. Waiting (for a child process, in `sleep`)
    /// does not count; children are bounded by `child_time`, and everything together by
    /// `wall_time`.
    pub cpu_time: Duration,
    /// Wall-clock time of the whole run, children and waiting included: the bound on a
    /// script that hangs instead of computing.
    pub wall_time: Duration,
    /// Wall-clock time one granted child process may run.
    pub child_time: Duration,
    /// Bytes the script may print to stdout. Cargo parses and stores all of it under
    /// `target/`, so a flood here would fill the disk.
    pub stdout_bytes: u64,
    /// Bytes the script may print to stderr (stored by cargo like stdout).
    pub stderr_bytes: u64,
    /// Bytes `OUT_DIR` may hold after the run, and `OUT_DIR` and the temporary directory
    /// together while programs the script started run (measured every 250 ms); also the
    /// size of any one file such a program writes.
    pub out_dir_bytes: u64,
    /// Processes and threads one program the script starts may hold at once, with
    /// everything it starts (each program the script starts has its own count). A parallel C++ build of 200 compilers, each with its driver and
    /// assembler, and a linker's thread per core fit; a fork bomb is stopped within a
    /// few hundred processes of it.
    pub processes: u32,
}

impl Limits {
    /// The documented defaults; see the field docs for why each is what it is.
    pub const DEFAULT: Limits = Limits {
        memory_bytes: 1 << 30,
        cpu_time: Duration::from_secs(300),
        wall_time: Duration::from_secs(1800),
        child_time: Duration::from_secs(600),
        stdout_bytes: 16 << 20,
        stderr_bytes: 16 << 20,
        out_dir_bytes: 4 << 30,
        processes: 4096,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults are part of the documented contract: change the docs with them.
    #[test]
    fn documented_defaults() {
        let limits = Limits::default();
        assert_eq!(limits.memory_bytes, 1024 * 1024 * 1024);
        assert_eq!(limits.cpu_time, Duration::from_secs(300));
        assert_eq!(limits.wall_time, Duration::from_secs(1800));
        assert_eq!(limits.child_time, Duration::from_secs(600));
        assert_eq!(limits.stdout_bytes, 16 * 1024 * 1024);
        assert_eq!(limits.stderr_bytes, 16 * 1024 * 1024);
        assert_eq!(limits.out_dir_bytes, 4 * 1024 * 1024 * 1024);
        assert_eq!(limits.processes, 4096);
    }
}
