//! The libraries whose native compile a sandboxed build defers: what the CLI hands the
//! wrapper.
//!
//! Under `cargo build`, a library that only build scripts link (cc, pkg-config, autocfg)
//! is compiled natively because the native scripts link it. Under cargo wasm-build every
//! such script links the library's wasm twin instead, so the native library is dead
//! weight: about a tenth of the compile time of a clean build with a warm run cache. The
//! CLI finds these libraries in the dependency graph and names them here; the wrapper
//! then asks rustc only for what cargo and the twin need (see `wasm_build_wrapper`'s
//! `lazy` module) and compiles the library for real the moment any native compile links
//! it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable in which the CLI lists the [`LazyLibrary`]s of a build, one
/// per line (see [`encode`]).
pub const LAZY_LIBRARIES_ENV: &str = "CARGO_WASM_BUILD_LAZY_LIBRARIES";

/// Set to `off` by a user to compile every library natively, as `cargo build` does.
pub const LAZY_BUILD_DEPS_ENV: &str = "CARGO_WASM_BUILD_LAZY_BUILD_DEPS";

/// How much of a deferred library's native compile still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Depth {
    /// Only its dep-info (the sources it read, the variables `env!` read): nothing
    /// compiles against it natively.
    DepInfo,
    /// Also its metadata (`.rmeta`): another deferred library's dep-info needs it, as
    /// rustc resolves names against dependencies while it expands macros.
    Metadata,
}

/// A library only build scripts link, by its package's directory (what cargo sets as
/// `CARGO_MANIFEST_DIR` for its compile).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LazyLibrary {
    /// The package's directory.
    pub manifest_dir: PathBuf,
    /// How much of its native compile runs.
    pub depth: Depth,
}

/// The value of [`LAZY_LIBRARIES_ENV`] for `libraries`: `<depth> <dir>` per line.
/// Directories that are not UTF-8 or hold a line break are left out (compiled natively):
/// the list is then still true, only shorter.
pub fn encode(libraries: &[LazyLibrary]) -> String {
    libraries
        .iter()
        .filter_map(|library| {
            let dir = library.manifest_dir.to_str()?;
            if dir.contains(['\n', '\r']) {
                return None;
            }
            let depth = match library.depth {
                Depth::DepInfo => "dep-info",
                Depth::Metadata => "metadata",
            };
            Some(format!("{depth} {dir}\n"))
        })
        .collect()
}

/// The depth at which the library of the package in `manifest_dir` is compiled, when
/// `encoded` (the value of [`LAZY_LIBRARIES_ENV`]) defers it.
pub fn depth_of(encoded: &str, manifest_dir: &Path) -> Option<Depth> {
    encoded.lines().find_map(|line| {
        let (depth, dir) = line.split_once(' ')?;
        if Path::new(dir) != manifest_dir {
            return None;
        }
        match depth {
            "dep-info" => Some(Depth::DepInfo),
            "metadata" => Some(Depth::Metadata),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_directory_is_found_at_its_depth_and_no_other_is() {
        let libraries = [
            LazyLibrary {
                manifest_dir: PathBuf::from("/reg/cc-1.2.0"),
                depth: Depth::DepInfo,
            },
            LazyLibrary {
                manifest_dir: PathBuf::from("/reg/shlex-1.3.0"),
                depth: Depth::Metadata,
            },
            LazyLibrary {
                manifest_dir: PathBuf::from("/reg/evil\ndep-info /reg/serde-1.0.0"),
                depth: Depth::DepInfo,
            },
        ];
        let encoded = encode(&libraries);
        assert_eq!(
            depth_of(&encoded, Path::new("/reg/cc-1.2.0")),
            Some(Depth::DepInfo)
        );
        assert_eq!(
            depth_of(&encoded, Path::new("/reg/shlex-1.3.0")),
            Some(Depth::Metadata)
        );
        assert_eq!(depth_of(&encoded, Path::new("/reg/cc-1.2")), None);
        // A directory with a line break cannot smuggle in another package's line.
        assert_eq!(depth_of(&encoded, Path::new("/reg/serde-1.0.0")), None);
        assert_eq!(encoded.lines().count(), 2);
    }
}
