//! The manifest the wrapper writes beside each stand-in, and how the stand-in is started.
//!
//! The wrapper puts a small script where cargo expects the compiled build script, and a
//! [`StandIn`] manifest beside it. When cargo runs the "build script", the script starts
//! the tool with [`STANDIN_ARG`] and its own path; the tool reads the manifest beside that
//! path (`wasm-build-standin` runs it).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ContractError;

/// The first argument with which the stand-in script starts the tool; the second is the
/// stand-in's own path.
pub const STANDIN_ARG: &str = "--wasm-build-standin";

/// File name of the manifest the wrapper writes beside each stand-in.
pub const MANIFEST_NAME: &str = "wasm-build-standin.json";

/// Bumped when the manifest changes incompatibly; an older stand-in refuses a newer one.
const FORMAT: u32 = 1;

/// What a stand-in runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Script {
    /// The build script compiled to wasm32-wasip1, run in the sandbox.
    Wasm {
        /// The module.
        module: PathBuf,
        /// Its key in `module_cache`.
        module_key: String,
        /// Where precompiled modules live.
        module_cache: PathBuf,
    },
    /// The native build script, run confined because the consumer granted
    /// `run-natively`.
    Native {
        /// The executable.
        binary: PathBuf,
    },
}

/// An attribute in a build-dependency's sources that selects code only the sandbox
/// compiles (its predicate holds for wasm32-wasip1, not for the host): a wasm fallback
/// such as an operation that answers "not implemented". A script that fails in the
/// sandbox and links such code may work natively.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SandboxOnlyCode {
    /// The build-dependency, as `name vX.Y.Z` when known, else its crate name.
    pub package: String,
    /// The source file.
    pub file: PathBuf,
    /// The line of the attribute, from 1.
    pub line: usize,
    /// The predicate, as written.
    pub predicate: String,
}

/// What a stand-in needs to find and run its build script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandIn {
    format: u32,
    /// What to run.
    pub script: Script,
    /// The audit log every run appends to.
    pub audit_log: PathBuf,
    /// Whether the script belongs to a build-dependency built for the sandbox itself
    /// (by the nested cargo of `wasm-build-wrapper`), not to the user's build.
    #[serde(default)]
    pub for_guest: bool,
    /// The tool's [`wasm_build_shim::guest_key`] when the script was compiled.
    #[serde(default)]
    pub guest_key: String,
    /// The code only the sandbox compiles in the build-dependencies the script links.
    #[serde(default)]
    pub sandbox_only: Vec<SandboxOnlyCode>,
}

impl StandIn {
    /// A manifest for `script`.
    pub fn new(script: Script, audit_log: PathBuf) -> Self {
        StandIn {
            format: FORMAT,
            script,
            audit_log,
            for_guest: false,
            guest_key: wasm_build_shim::guest_key(),
            sandbox_only: Vec::new(),
        }
    }

    /// Records the code only the sandbox compiles in the script's build-dependencies.
    #[must_use]
    pub fn sandbox_only(mut self, code: Vec<SandboxOnlyCode>) -> Self {
        self.sandbox_only = code;
        self
    }

    /// Marks the script as a build-dependency's, built for the sandbox.
    #[must_use]
    pub fn for_guest(mut self, for_guest: bool) -> Self {
        self.for_guest = for_guest;
        self
    }

    /// Writes the manifest into `dir`, the directory of the stand-in executable.
    ///
    /// # Errors
    ///
    /// Fails when the file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<(), ContractError> {
        let path = dir.join(MANIFEST_NAME);
        let json = serde_json::to_vec_pretty(self).map_err(ContractError::EncodeManifest)?;
        fs::write(&path, json).map_err(|source| ContractError::WriteManifest { path, source })
    }

    /// Reads the manifest beside the executable `exe`, or `None` when there is none.
    ///
    /// # Errors
    ///
    /// Fails when a manifest exists but cannot be read or is from an incompatible version.
    pub fn beside(exe: &Path) -> Result<Option<Self>, ContractError> {
        let Some(dir) = exe.parent() else {
            return Ok(None);
        };
        let path = dir.join(MANIFEST_NAME);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(ContractError::ReadManifest { path, source }),
        };
        let manifest: StandIn = match serde_json::from_slice(&bytes) {
            Ok(manifest) => manifest,
            Err(source) => return Err(ContractError::CorruptManifest { path, source }),
        };
        if manifest.format != FORMAT {
            return Err(ContractError::OtherVersion { path });
        }
        if manifest.guest_key != wasm_build_shim::guest_key()
            && matches!(manifest.script, Script::Wasm { .. })
        {
            return Err(ContractError::OtherFacade { path });
        }
        Ok(Some(manifest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn native(dir: &Path) -> StandIn {
        StandIn::new(
            Script::Native {
                binary: dir.join("build-script-build.native"),
            },
            dir.join("audit.jsonl"),
        )
    }

    #[test]
    fn a_manifest_reads_back_and_a_stale_one_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("build-script-build");
        assert!(StandIn::beside(&exe).unwrap().is_none());

        let manifest = native(dir.path());
        manifest.write(dir.path()).unwrap();
        assert_eq!(StandIn::beside(&exe).unwrap(), Some(manifest.clone()));

        let path = dir.path().join(MANIFEST_NAME);
        let mut json: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        json["format"] = (FORMAT + 1).into();
        fs::write(&path, json.to_string()).unwrap();
        let err = StandIn::beside(&exe).unwrap_err();
        assert!(matches!(err, ContractError::OtherVersion { .. }), "{err}");
        assert!(err.to_string().contains("run `cargo clean`"), "{err}");
        assert_eq!(err.code(), Some(crate::Code::W404));

        fs::write(&path, "{").unwrap();
        let err = StandIn::beside(&exe).unwrap_err();
        assert!(
            matches!(err, ContractError::CorruptManifest { .. }),
            "{err}"
        );
        assert_eq!(err.code(), Some(crate::Code::W404));
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        let err = StandIn::beside(&exe).unwrap_err();
        assert!(matches!(err, ContractError::ReadManifest { .. }), "{err}");
        assert_eq!(err.code(), None, "an I/O failure, not a stale stand-in");
    }
}
