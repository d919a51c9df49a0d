//! Records of how cargo compiled each library, so it can be compiled again for wasm.
//!
//! A build script links its build-dependencies as native rlibs. To compile the script for
//! wasm32-wasip1 those libraries are needed for wasm too, with the same features, cfgs,
//! edition and compile-time environment. Cargo knows all of that only while it compiles
//! the library, so the wrapper writes down every library compile it passes through, and
//! replays the record for wasm when (and only when) a build script needs it.

#![allow(
    clippy::disallowed_methods,
    reason = "a compile's record holds the environment cargo gave it, to replay it for the guest"
)]

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use wasm_build_contract::vars::BASE_ENV_NAMES;

use crate::invocation::Invocation;

/// Variables cargo sets for every rustc invocation of a package, which `env!` reads.
pub(crate) fn is_cargo_compile_var(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_TARGET_TMPDIR",
        "OUT_DIR",
    ];
    EXACT.contains(&name) || name.starts_with("CARGO_PKG_") || name.starts_with("CARGO_BIN_EXE_")
}

/// Variables that describe the running process, not the compile: replaying a stale
/// jobserver descriptor would hand rustc someone else's file descriptors.
fn is_process_var(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ];
    EXACT.contains(&name) || name.starts_with(wasm_build_contract::vars::PREFIX)
}

/// One library compile as cargo ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Unique per compile, so that a library rebuilt under the same file name (a path
    /// dependency whose source changed) invalidates its wasm twin.
    pub id: String,
    /// The arguments to rustc.
    pub args: Vec<String>,
    /// The directory rustc ran in (input paths may be relative to it).
    pub cwd: PathBuf,
    /// The compile-time environment cargo added.
    pub env: Vec<(String, String)>,
}

impl Record {
    /// Captures the compile about to run in this process.
    ///
    /// # Errors
    ///
    /// Fails when the current directory cannot be determined.
    pub fn capture(args: &[String]) -> Result<Self> {
        let base: Option<Vec<String>> = std::env::var(BASE_ENV_NAMES)
            .ok()
            .map(|names| names.lines().map(String::from).collect());
        let added = |name: &str| match &base {
            Some(base) => is_cargo_compile_var(name) || !base.iter().any(|known| known == name),
            None => is_cargo_compile_var(name),
        };
        let env = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| !is_process_var(name) && added(name))
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        Ok(Record {
            id: format!("{now:x}-{:x}", std::process::id()),
            args: args.to_vec(),
            cwd: std::env::current_dir().context("failed to read the current directory")?,
            env,
        })
    }

    /// The parsed arguments.
    ///
    /// # Errors
    ///
    /// Fails when the recorded arguments are malformed.
    pub fn invocation(&self) -> Result<Invocation> {
        Invocation::parse(&self.args)
    }

    /// Where the record of the library with artifact stem `stem` lives.
    pub fn path(records: &Path, stem: &str) -> PathBuf {
        records.join(format!("{stem}.json"))
    }

    /// Writes the record atomically, replacing an older one.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be written.
    pub fn store(&self, records: &Path, stem: &str) -> Result<()> {
        fs::create_dir_all(records)
            .with_context(|| format!("failed to create {}", records.display()))?;
        let path = Self::path(records, stem);
        let temp = records.join(format!(".{stem}.{}.tmp", std::process::id()));
        let json = serde_json::to_vec(self).context("failed to encode a compile record")?;
        fs::write(&temp, json).with_context(|| format!("failed to write {}", temp.display()))?;
        fs::rename(&temp, &path).with_context(|| format!("failed to write {}", path.display()))
    }

    /// Loads the record of `stem`.
    ///
    /// # Errors
    ///
    /// Fails when there is none (the library was compiled without the wrapper) or it is
    /// unreadable.
    pub fn load(records: &Path, stem: &str) -> Result<Self> {
        let path = Self::path(records, stem);
        let bytes = fs::read(&path).with_context(|| {
            format!(
                "no record of how cargo compiled `{stem}` (looked for {}); \
                 run `cargo clean` and build again with cargo wasm-build",
                path.display()
            )
        })?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is corrupt; run `cargo clean`", path.display()))
    }

    /// The value cargo gave `name` for this compile, if it set it.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The environment for replaying this compile: the current one without what cargo
    /// set for the current compile, plus what it set for the recorded one.
    pub fn replay_env(&self) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(name, _)| !name.to_str().is_some_and(is_cargo_compile_var))
            .filter(|(name, _)| {
                !self
                    .env
                    .iter()
                    .any(|(recorded, _)| name == recorded.as_str())
            })
            .collect();
        env.extend(
            self.env
                .iter()
                .map(|(name, value)| (OsString::from(name), OsString::from(value))),
        );
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let record = Record {
            id: "1".into(),
            args: vec!["--crate-name".into(), "cc".into()],
            cwd: "/w".into(),
            env: vec![("CARGO_PKG_NAME".into(), "cc".into())],
        };
        record.store(dir.path(), "libcc-abc").unwrap();
        assert_eq!(Record::load(dir.path(), "libcc-abc").unwrap(), record);
        let err = Record::load(dir.path(), "libmissing-1").unwrap_err();
        assert!(format!("{err:#}").contains("run `cargo clean`"));
    }

    #[test]
    fn compile_vars_are_cargo_s_not_the_user_s() {
        assert!(is_cargo_compile_var("CARGO_PKG_VERSION"));
        assert!(is_cargo_compile_var("OUT_DIR"));
        assert!(!is_cargo_compile_var("CARGO_REGISTRY_TOKEN"));
        assert!(!is_cargo_compile_var("HOME"));
        assert!(is_process_var("CARGO_MAKEFLAGS"));
        assert!(is_process_var("CARGO_WASM_BUILD_POLICY"));
    }
}
