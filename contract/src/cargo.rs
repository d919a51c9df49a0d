//! Facts about cargo that several of the tool's processes rely on and must agree on.

#![allow(
    clippy::disallowed_methods,
    reason = "reads what cargo sets for a build script (CARGO_PKG_*, OUT_DIR) and where cargo's home is"
)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The source id `cargo metadata` gives packages from crates.io (also when they were
/// fetched through the sparse protocol).
pub const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// The sparse-protocol spelling of crates.io, as lockfiles written with
/// `registries.crates-io.protocol = "sparse"` may name it.
const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

/// Whether `source` (a source id as `cargo metadata` or a lockfile spells it) is crates.io.
pub fn is_crates_io(source: &str) -> bool {
    source == CRATES_IO || source == CRATES_IO_SPARSE
}

/// Cargo's home: where it keeps downloaded sources, and its user-wide configuration.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
}

/// Where cargo extracts the packages it downloads (registry and git), under
/// `cargo_home`. It never expects their files to change, and they are where a
/// dependency's directives may point.
pub fn downloaded_sources(cargo_home: &Path) -> [PathBuf; 2] {
    [
        cargo_home.join("registry").join("src"),
        cargo_home.join("git").join("checkouts"),
    ]
}

/// Whether the package in `manifest_dir` was downloaded by cargo (from a registry or a
/// git checkout under `cargo_home`): sources cargo never expects to change, unlike a
/// workspace member's or a path dependency's.
pub fn is_downloaded(cargo_home: &Path, manifest_dir: &Path) -> bool {
    downloaded_sources(cargo_home)
        .iter()
        .any(|root| manifest_dir.starts_with(root))
        && !manifest_dir
            .components()
            .any(|part| part.as_os_str() == "..")
}

/// The package cargo is compiling, or whose build script it runs, as cargo describes it
/// in the environment of rustc and of build scripts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CargoPackage {
    /// `CARGO_PKG_NAME`.
    pub name: String,
    /// `CARGO_PKG_VERSION`.
    pub version: String,
    /// `CARGO_MANIFEST_DIR`: the package directory, which identifies the exact package.
    pub manifest_dir: PathBuf,
}

impl CargoPackage {
    /// Reads the package from the environment cargo set.
    ///
    /// # Errors
    ///
    /// Names the first variable cargo sets that is missing.
    pub fn from_env() -> Result<Self, NotSetByCargo> {
        Ok(CargoPackage {
            name: cargo_var("CARGO_PKG_NAME")?.to_string_lossy().into_owned(),
            version: cargo_var("CARGO_PKG_VERSION")?
                .to_string_lossy()
                .into_owned(),
            manifest_dir: cargo_var("CARGO_MANIFEST_DIR")?.into(),
        })
    }

    /// `` `name vversion` ``, as messages name a package.
    pub fn describe(&self) -> String {
        format!("`{} v{}`", self.name, self.version)
    }
}

/// A variable cargo always sets for rustc and build scripts is missing: the program was
/// started by hand.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not set: build scripts are run by cargo, not by hand")]
pub struct NotSetByCargo(pub &'static str);

/// The variable `name`, which cargo sets.
///
/// # Errors
///
/// [`NotSetByCargo`] when it is missing.
pub fn cargo_var(name: &'static str) -> Result<OsString, NotSetByCargo> {
    std::env::var_os(name).ok_or(NotSetByCargo(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_in_both_spellings_and_nothing_else() {
        assert!(is_crates_io(CRATES_IO));
        assert!(is_crates_io("sparse+https://index.crates.io/"));
        assert!(!is_crates_io("registry+https://example.com/index"));
        assert!(!is_crates_io(
            "git+https://github.com/rust-lang/crates.io-index"
        ));
    }
}
