//! Where the wrapper keeps its files: beside cargo's own, per profile directory.
//!
//! For a profile directory such as `target/debug` (or `target/<triple>/release`) cargo puts
//! libraries in `deps/` and build scripts in `build/<pkg>-<hash>/`; the wrapper uses
//! `wasm-build/` next to them. Everything there is derived data: `cargo clean` removes it,
//! and a plain `cargo build` never looks at it.

use std::path::{Path, PathBuf};

/// The wrapper's directory for one profile directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// The state of the profile whose `deps/` directory is `deps_dir`.
    pub fn for_deps_dir(deps_dir: &Path) -> Option<Self> {
        Some(StateDir {
            root: deps_dir.parent()?.join("wasm-build"),
        })
    }

    /// The state of the profile holding the build-script directory `script_dir`
    /// (`<profile>/build/<pkg>-<hash>`).
    pub fn for_build_script_dir(script_dir: &Path) -> Option<Self> {
        Some(StateDir {
            root: script_dir.parent()?.parent()?.join("wasm-build"),
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Records of library compiles (see [`crate::record`]).
    pub fn records(&self) -> PathBuf {
        self.root.join("records")
    }

    /// Libraries compiled for wasm32-wasip1.
    pub fn guest_deps(&self) -> PathBuf {
        self.root.join("wasm32-wasip1").join("deps")
    }

    /// Precompiled modules.
    pub fn modules(&self) -> PathBuf {
        self.root.join("modules")
    }

    /// The std facade, per toolchain.
    pub fn shim(&self) -> PathBuf {
        self.root.join("shim")
    }

    /// The nested cargo that builds build-dependencies for wasm32-wasip1 when their
    /// native records do not fit the guest (see [`crate::guest_cargo`]).
    pub fn guest_cargo(&self) -> PathBuf {
        self.root.join("guest-cargo")
    }

    /// Digests of libraries the library cache stored or restored (see
    /// [`crate::digest_memo`]).
    pub fn digests(&self) -> PathBuf {
        self.root.join("digests")
    }

    /// The audit log of sandboxed runs.
    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit.jsonl")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_and_build_scripts_of_a_profile_share_one_state() {
        let from_deps = StateDir::for_deps_dir(Path::new("/t/debug/deps")).unwrap();
        let from_script =
            StateDir::for_build_script_dir(Path::new("/t/debug/build/serde-0123")).unwrap();
        assert_eq!(from_deps, from_script);
        assert_eq!(from_deps.root(), Path::new("/t/debug/wasm-build"));
    }
}
