//! The resource bounds of a build script's native programs, taken from its [`Limits`] (the
//! same keys and defaults as the script's own); the watch on the disk they fill is
//! `disk_watch`.
//!
//! | bound | enforced by | from | default |
//! | --- | --- | --- | --- |
//! | address space of each process | the kernel (`RLIMIT_AS`): an allocation past it fails with `ENOMEM` | [`ADDRESS_SPACE_PER_MEMORY`] × `memory` | 16 GiB |
//! | size of any one file | the kernel (`RLIMIT_FSIZE`): `SIGXFSZ`, or `EFBIG` | `out-dir` + 1 byte | 4 GiB |
//! | tasks of the whole jail | the jail's helper, which counts them and kills them all past it | `processes` | 4096 |
//! | bytes in `OUT_DIR` and the temporary directory | `disk_watch::DiskWatch`, while programs run; the stand-in after the run | `out-dir` | 4 GiB |
//!
//! Crossing one fails the script with the limit and its key named: a program the jail
//! stopped, or one that failed the way programs fail at a kernel bound, is reported by
//! `ChildProcess::bound_hit`, never taken for an ordinary failure.

use wasm_build_jail::Resources;
use wasm_build_permissions_schema::{ByteSize, LimitKey, Limits};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
