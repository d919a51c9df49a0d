//! The store's data of one run: what every host call the guest makes (WASI, the exec
//! broker's calls, the path-lookup watch) works on. Its own module so that the host calls
//! depend on it and the sandbox builds it, and none of them on each other.

use std::collections::BTreeSet;
use std::path::PathBuf;

use wasm_build_exec::broker::Broker;
use wasm_build_shim::STACK_BYTES;
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::host_fs::HostFs;

/// The store's data: the WASI context, the exec broker and what enforces the limits.
pub(crate) struct Host {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) memory: MemoryLimit,
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

/// The guest's memory limit, and whether the guest ran into it.
pub(crate) struct MemoryLimit {
    pub(crate) max: u64,
    pub(crate) exceeded: bool,
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

/// What the guest looked for through the empty root, and tried to write where it may not.
#[derive(Debug, Default)]
pub(crate) struct OutsideLookups {
    /// The guest descriptor of the empty root.
    pub(crate) root_fd: Option<u32>,
    /// Absolute paths looked up through it (the first `outside::KEPT`).
    pub(crate) paths: BTreeSet<String>,
    /// The guest descriptors of the read-only preopens, with their host directories.
    pub(crate) read_only: Vec<(u32, PathBuf)>,
    /// Absolute paths the guest opened for writing, or made a directory at, through a
    /// read-only preopen or the empty root (the first `outside::KEPT`): refused writes.
    pub(crate) writes: BTreeSet<String>,
}
