//! The directories a guest may open, and how: plain data that the sandbox, the host's own
//! file operations (`host_fs`) and the stand-in share, so it sits in a module
//! that depends on nothing else here.

use std::path::{Path, PathBuf};

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
