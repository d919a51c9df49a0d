//! What one build script may do, as the CLI hands it to each stand-in (the verdict on
//! each thing it tries is `wasm_build_policy::verdict`).

#![allow(
    clippy::disallowed_methods,
    reason = "the policy file's path is handed down by the CLI in the tool's own variable"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ContractError;
use crate::vars::POLICY_ENV;
use wasm_build_permissions_schema::{Capability, GrantSite, Limits};

/// The resolved policy of one package's build script: what the consumer granted and
/// explicitly denied on top of the sandbox defaults.
///
/// The defaults, which need no entry here: read the package directory and the downloaded
/// build-dependencies it links ([`Policy::dependency_sources`]), read and write
/// `OUT_DIR`, see the variables cargo sets for build scripts, run the `RUSTC` cargo
/// provides (confined), and emit every directive that stays within the package
/// (`rustc-cfg`, `rustc-check-cfg`, `rustc-link-lib`, `warning`, `error`, links metadata,
/// and `rerun-if-*` / `rustc-link-search` for what the script can see).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Capabilities the consumer approved.
    pub granted: BTreeSet<Capability>,
    /// Capabilities the consumer refused. An attempt to use one fails quietly (the script
    /// sees an error and may fall back) instead of failing the build as pending.
    pub denied: BTreeSet<Capability>,
    /// When true, running `RUSTC` needs a grant like any other program.
    pub deny_rustc: bool,
    /// Resource limits.
    pub limits: Limits,
    /// The spec the consumer grants this package under (`name@version`, or cargo's full
    /// id for git and other registries), so denial hints name a grant that applies.
    #[serde(default)]
    pub spec: Option<String>,
    /// Whether the script sees the build settings set in the environment (`CFLAGS`,
    /// `PKG_CONFIG_PATH`, `OPENSSL_DIR`; `wasm_build_policy::env::build_setting`) without a
    /// grant. Off with `env-defaults = false`.
    #[serde(default = "yes")]
    pub env_defaults: bool,
    /// The directories of the build-dependencies the script links that cargo downloaded
    /// (registry and git packages, under cargo's home): readable by the script and its
    /// programs without a grant. They are immutable published content (a `*-src` crate's
    /// C sources, which its `-sys` dependent compiles), and the package directory of each
    /// only: nothing else under cargo's home.
    #[serde(default)]
    pub dependency_sources: Vec<PathBuf>,
    /// A learning build (`cargo wasm-build approve --learn`): what awaits review and
    /// [can be learned](Capability::is_learnable) is used, jailed, and recorded for one
    /// decision at the end, instead of stopping the script. Nothing such a run made is
    /// kept: every script that learned something runs again in the next build.
    #[serde(default)]
    pub learning: bool,
    /// What the consumer's `allow` table for the package holds, as written, or `None`
    /// without one: a hint adds to the table instead of repeating its header.
    #[serde(default)]
    pub allow_table: Option<Vec<Capability>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            granted: BTreeSet::new(),
            denied: BTreeSet::new(),
            deny_rustc: false,
            limits: Limits::default(),
            spec: None,
            env_defaults: true,
            dependency_sources: Vec::new(),
            learning: false,
            allow_table: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// The resolved policies of every package in one build, written by the CLI before it
/// starts cargo and read by each stand-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyFile {
    /// Policy by package directory (`CARGO_MANIFEST_DIR`), which identifies the resolved
    /// package exactly: registry, git and path sources all live in distinct directories.
    pub packages: BTreeMap<PathBuf, Policy>,
    /// Where grants are written, for the hints in denials.
    #[serde(default)]
    pub grant_site: GrantSite,
    /// Names in the `[env]` table of the cargo configuration that applies to the build:
    /// cargo sets them for build scripts, and the consumer wrote them, so the scripts see
    /// them (see `wasm_build_policy::env::sees_env`).
    #[serde(default)]
    pub config_env: BTreeSet<String>,
    /// Strict mode: a hidden variable a script looks up is pending review, like a denied
    /// attempt, instead of a warning.
    #[serde(default)]
    pub strict: bool,
    /// Where the CLI keeps one file per package whose content is that package's policy
    /// (see [`PolicyFile::grant_digest_file`]); each stand-in names its own file to cargo
    /// as `rerun-if-changed`, so a changed grant reruns exactly the scripts it affects.
    /// `None` when no CLI ran (`RUSTC_WRAPPER` set by hand).
    #[serde(default)]
    pub grant_digests: Option<PathBuf>,
}

impl PolicyFile {
    /// Reads the file named by [`POLICY_ENV`]; without one, every package gets the
    /// defaults (as when `RUSTC_WRAPPER` is set by hand instead of through the CLI).
    ///
    /// # Errors
    ///
    /// Fails when the variable names a file that cannot be read or parsed.
    pub fn from_env() -> Result<Self, ContractError> {
        let Some(path) = std::env::var_os(POLICY_ENV).map(PathBuf::from) else {
            return Ok(PolicyFile::default());
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(source) => return Err(ContractError::ReadPolicy { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map_err(|source| ContractError::CorruptPolicy { path, source })
    }

    /// The policy of the package in `manifest_dir`.
    pub fn policy_for(&self, manifest_dir: &Path) -> Policy {
        self.packages.get(manifest_dir).cloned().unwrap_or_default()
    }

    /// The file whose content is the policy of the package in `manifest_dir`: its
    /// stand-in prints it as `rerun-if-changed`, and [`PolicyFile::write_grant_digests`]
    /// rewrites it (so cargo sees it newer than the script's last run) only when that
    /// policy changed.
    pub fn grant_digest_file(&self, manifest_dir: &Path) -> Option<PathBuf> {
        let dir = self.grant_digests.as_ref()?;
        let name = manifest_dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let hash = fnv1a(manifest_dir.as_os_str().as_encoded_bytes());
        Some(dir.join(format!("{name}-{hash:016x}.json")))
    }

    /// The policy the digest file of the package in `manifest_dir` holds: the one its
    /// script last ran under, since a changed policy reruns it. `None` without a file.
    pub fn recorded_policy(&self, manifest_dir: &Path) -> Option<Policy> {
        let bytes = std::fs::read(self.grant_digest_file(manifest_dir)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The grant digests of the build whose target directory is `target_dir`: where
    /// [`PolicyFile::grant_digests`] points for it.
    pub fn digests_dir(target_dir: &Path) -> PathBuf {
        target_dir.join("wasm-build").join("grants")
    }

    /// Writes the digest file of every package whose policy differs from what its file
    /// holds (a missing file counts as different) and leaves the others untouched, so
    /// their mtimes, and cargo's verdict on their scripts, stay as they were. Returns the
    /// packages whose file was written.
    ///
    /// # Errors
    ///
    /// When a file cannot be read or written.
    pub fn write_grant_digests(&self) -> Result<Vec<PathBuf>, ContractError> {
        let mut written = Vec::new();
        let Some(dir) = &self.grant_digests else {
            return Ok(written);
        };
        let io_error = |path: &Path, source| ContractError::GrantDigest {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
        for (manifest_dir, policy) in &self.packages {
            let Some(file) = self.grant_digest_file(manifest_dir) else {
                continue;
            };
            // A learning build changes what is pending, not what is granted: its scripts
            // run again through the discovery variable, and the others stay fresh.
            let granted = Policy {
                learning: false,
                ..policy.clone()
            };
            let content = serde_json::to_vec_pretty(&granted).map_err(|source| {
                ContractError::GrantDigest {
                    path: file.clone(),
                    source: source.into(),
                }
            })?;
            if std::fs::read(&file).is_ok_and(|old| old == content) {
                continue;
            }
            std::fs::write(&file, &content).map_err(|source| io_error(&file, source))?;
            written.push(manifest_dir.clone());
        }
        Ok(written)
    }
}

/// FNV-1a: a hash that stays the same across tool versions and Rust releases, so a file
/// name a stand-in printed stays the one a later CLI writes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Policy {
    /// The spec to grant under: the resolved one, else `name@version`.
    pub fn grant_spec(&self, name: &str, version: &str) -> String {
        self.spec
            .clone()
            .unwrap_or_else(|| wasm_build_permissions_schema::package_spec(name, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a package whose policy changed gets its file rewritten: the others keep
    /// their mtimes, so cargo keeps their scripts fresh.
    #[test]
    fn grant_digests_are_rewritten_only_for_changed_policies() {
        let dir = tempfile::tempdir().unwrap();
        let policy = |exec: &[&str]| Policy {
            granted: exec
                .iter()
                .map(|program| Capability::Exec((*program).to_string()))
                .collect(),
            ..Policy::default()
        };
        let mut file = PolicyFile {
            packages: [
                (PathBuf::from("/src/a-sys"), policy(&["cc"])),
                (PathBuf::from("/src/b-sys"), policy(&[])),
            ]
            .into(),
            grant_digests: Some(dir.path().join("grants")),
            ..PolicyFile::default()
        };
        assert_eq!(file.write_grant_digests().unwrap().len(), 2);
        assert_eq!(file.write_grant_digests().unwrap(), Vec::<PathBuf>::new());
        for policy in file.packages.values_mut() {
            policy.learning = true;
        }
        assert_eq!(
            file.write_grant_digests().unwrap(),
            Vec::<PathBuf>::new(),
            "a learning build grants nothing"
        );
        file.packages
            .insert(PathBuf::from("/src/a-sys"), policy(&["cc", "ar"]));
        assert_eq!(
            file.write_grant_digests().unwrap(),
            [PathBuf::from("/src/a-sys")]
        );
        let a = file.grant_digest_file(Path::new("/src/a-sys")).unwrap();
        assert!(
            a.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("a-sys-")
        );
        assert!(std::fs::read_to_string(a).unwrap().contains("\"ar\""));
        assert_ne!(
            file.grant_digest_file(Path::new("/src/a-sys")),
            file.grant_digest_file(Path::new("/other/a-sys")),
            "one file per package directory"
        );
        assert_eq!(
            PolicyFile::default().grant_digest_file(Path::new("/x")),
            None
        );
    }

    #[test]
    fn an_old_policy_file_keeps_the_defaults_on() {
        let mut json = serde_json::to_value(Policy::default()).unwrap();
        json.as_object_mut()
            .unwrap()
            .remove("env_defaults")
            .unwrap();
        let policy: Policy = serde_json::from_value(json).unwrap();
        assert!(policy.env_defaults);
    }
}
