//! Whether the compiler cargo will use can compile build scripts for the sandbox: its
//! sysroot must hold the standard library of [`GUEST_TARGET`].
//!
//! Which compiler that is depends on how cargo was started: `RUSTC`, or `rustc` on `PATH`,
//! which under rustup is a proxy for the toolchain `RUSTUP_TOOLCHAIN` names (rustup sets
//! it for `cargo +nightly ...`, a `rust-toolchain.toml`, an override). The target is
//! installed per toolchain, so `rustup target add wasm32-wasip1` alone installs it for the
//! default toolchain, perhaps not this one; the command said here names the toolchain.

#![allow(
    clippy::disallowed_methods,
    reason = "the toolchain is the rustc cargo names, and rustup's variables select it"
)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::guest_target::GUEST_TARGET;

/// The compiler cargo runs for this process's environment: `RUSTC` when set, else
/// `CARGO_BUILD_RUSTC` (`build.rustc` as a variable), else `rustc` (found on `PATH`, as
/// cargo finds it). A `build.rustc` in a configuration file is not read here (see
/// `wasm_build_policy::cargo_config::names_rustc`).
pub fn cargo_rustc() -> PathBuf {
    ["RUSTC", "CARGO_BUILD_RUSTC"]
        .into_iter()
        .find_map(|name| std::env::var_os(name).filter(|rustc| !rustc.is_empty()))
        .map_or_else(|| PathBuf::from("rustc"), PathBuf::from)
}

/// A compiler and where its standard libraries are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The compiler, as cargo runs it.
    pub rustc: PathBuf,
    /// Its sysroot (`rustc --print sysroot`).
    pub sysroot: PathBuf,
    /// The rustup toolchain it is, when known: the sysroot's directory name under
    /// rustup's `toolchains/`, else `RUSTUP_TOOLCHAIN` when cargo runs rustup's `rustc`.
    pub name: Option<String>,
}

impl Toolchain {
    /// The toolchain of `rustc`, asked for its sysroot; `rustup_toolchain` is the value
    /// of `RUSTUP_TOOLCHAIN`, if any.
    ///
    /// # Errors
    ///
    /// Why `rustc --print sysroot` did not answer, as a sentence.
    pub fn of(rustc: &Path, rustup_toolchain: Option<OsString>) -> Result<Self, String> {
        let output = Command::new(rustc)
            .args(["--print", "sysroot"])
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("could not run `{} --print sysroot`: {err}", rustc.display()))?;
        if !output.status.success() {
            return Err(format!(
                "`{} --print sysroot` failed: {}",
                rustc.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        let under_rustup = sysroot
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == "toolchains");
        let name = if under_rustup {
            sysroot
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        } else if rustc == Path::new("rustc") {
            rustup_toolchain
                .filter(|name| !name.is_empty())
                .map(|name| name.to_string_lossy().into_owned())
        } else {
            None
        };
        Ok(Toolchain {
            rustc: rustc.to_path_buf(),
            sysroot,
            name,
        })
    }

    /// Whether its sysroot holds the guest target's standard library.
    pub fn has_guest_target(&self) -> bool {
        self.sysroot
            .join("lib/rustlib")
            .join(GUEST_TARGET)
            .join("lib")
            .is_dir()
    }

    /// The toolchain as a reader knows it: its rustup name, else the compiler and its
    /// sysroot.
    pub fn describe(&self) -> String {
        match &self.name {
            Some(name) => format!("toolchain `{name}`"),
            None => format!(
                "`{}` (sysroot {})",
                self.rustc.display(),
                self.sysroot.display()
            ),
        }
    }

    /// Why build scripts cannot be compiled with this toolchain, as a sentence.
    pub fn missing_target(&self) -> String {
        format!(
            "the {GUEST_TARGET} target is not installed for the {}, which cargo uses here: \
             build scripts are compiled for it",
            self.describe()
        )
    }

    /// How to install the target for this toolchain (for a `help:` line).
    pub fn install_help(&self) -> String {
        match &self.name {
            Some(name) => format!(
                "install it for this toolchain with `rustup target add {GUEST_TARGET} --toolchain {name}`"
            ),
            None => format!(
                "install the {GUEST_TARGET} standard library for that compiler; with rustup, \
                 `rustup target add {GUEST_TARGET} --toolchain <the toolchain of that rustc>`"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A `rustc` that answers `--print sysroot` with `sysroot`.
    fn fake_rustc(dir: &Path, sysroot: &Path) -> PathBuf {
        let rustc = dir.join("rustc");
        std::fs::write(&rustc, format!("#!/bin/sh\necho '{}'\n", sysroot.display())).unwrap();
        std::fs::set_permissions(&rustc, std::fs::Permissions::from_mode(0o755)).unwrap();
        rustc
    }

    #[test]
    fn a_rustup_toolchain_without_the_target_is_named_in_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = dir
            .path()
            .join("toolchains/nightly-x86_64-unknown-linux-gnu");
        std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/lib")).unwrap();
        let toolchain = Toolchain::of(&fake_rustc(dir.path(), &sysroot), None).unwrap();
        assert_eq!(
            toolchain.name.as_deref(),
            Some("nightly-x86_64-unknown-linux-gnu")
        );
        assert!(!toolchain.has_guest_target());
        assert_eq!(
            toolchain.install_help(),
            "install it for this toolchain with `rustup target add wasm32-wasip1 --toolchain nightly-x86_64-unknown-linux-gnu`"
        );
        std::fs::create_dir_all(sysroot.join("lib/rustlib/wasm32-wasip1/lib")).unwrap();
        assert!(toolchain.has_guest_target());
    }

    #[test]
    fn a_compiler_outside_rustup_is_named_by_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = dir.path().join("opt/rust");
        let rustc = fake_rustc(dir.path(), &sysroot);
        let toolchain = Toolchain::of(&rustc, Some("stable".into())).unwrap();
        assert_eq!(toolchain.name, None, "RUSTC is not rustup's proxy");
        assert!(
            toolchain.missing_target().contains(&format!(
                "`{}` (sysroot {})",
                rustc.display(),
                sysroot.display()
            )),
            "{}",
            toolchain.missing_target()
        );
        assert!(Toolchain::of(&dir.path().join("none"), None).is_err());
    }
}
