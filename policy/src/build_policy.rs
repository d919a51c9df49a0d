//! What a build needs from the policy, cached so a no-change rebuild does not pay for
//! `cargo metadata`.
//!
//! Resolving the policy needs the dependency graph, and `cargo metadata` costs about as
//! much as a no-change `cargo build` itself (0.14 s against 0.14 s on the benchmark
//! project). The result only changes when a file that shapes the graph or the policy
//! changes: the lockfile, the workspace's manifests, local path packages, cargo's
//! config files. So the resolved [`BuildPolicy`] is stored with the SHA-256 of each of
//! those files and reused while they all hash the same.
//!
//! It is stored in the user's store (`wasm_build_cache`), the one place the tool keeps
//! anything between builds: a cached policy holds grants, so whoever could write it could
//! grant, and the store's checks (the user's own directories, writable by nobody else,
//! every entry checked against its digest) apply to it as to compiled code.

#![allow(
    clippy::disallowed_methods,
    reason = "the cached policy is keyed on cargo's configuration variables and the homes"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use wasm_build_cache::{ArtifactCache, Key, Kind};
use wasm_build_contract::PolicyFile;
use wasm_build_contract::lazy::LazyLibrary;
use wasm_build_contract::vars::{NO_CACHE_ENV, PREFIX};
use wasm_build_permissions_schema::{Code, Mode};

use crate::graph::{Graph, metadata_args};
use crate::resolve::Resolution;

/// Bumped when the cached format changes.
const FORMAT: u32 = 7;

/// The policy of one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildPolicy {
    /// The mode in effect.
    pub mode: Mode,
    /// What the stand-ins read.
    pub policy_file: PolicyFile,
    /// Warnings to repeat on every build (a dependency's malformed table, say), each
    /// with its code.
    pub warnings: Vec<(Code, String)>,
    /// `name vX` of the dependencies whose declarations are granted without review
    /// (trust-declared mode).
    pub trusted: Vec<String>,
    /// Per package directory: the grants that exist for other versions of it.
    pub drift: BTreeMap<PathBuf, Drift>,
    /// Cargo's target directory for this build, where the audit logs go.
    pub target_dir: PathBuf,
    /// The target directory cargo uses when nothing says otherwise (`<workspace>/target`).
    pub default_target_dir: PathBuf,
    /// The libraries only build scripts link, whose native compile the wrapper defers.
    pub lazy_libraries: Vec<LazyLibrary>,
}

/// Grants for another version than the one built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    /// The package's name.
    pub name: String,
    /// The version built.
    pub version: String,
    /// The specs that were reviewed instead.
    pub reviewed: Vec<String>,
}

impl BuildPolicy {
    /// The build policy of a resolution of `graph`, under a cargo configuration whose
    /// `[env]` table sets `config_env`.
    pub fn new(
        graph: &Graph,
        resolution: &Resolution,
        warnings: Vec<(Code, String)>,
        config_env: std::collections::BTreeSet<String>,
    ) -> Self {
        let trusted = if resolution.mode == Mode::TrustDeclared {
            resolution
                .packages
                .iter()
                .filter(|r| !r.package.is_member && !r.requests.needs.is_empty())
                .map(|r| format!("{} v{}", r.package.name, r.package.version))
                .collect()
        } else {
            Vec::new()
        };
        let drift = resolution
            .packages
            .iter()
            .filter(|r| !r.drift.is_empty())
            .map(|r| {
                (
                    r.package.manifest_dir.clone(),
                    Drift {
                        name: r.package.name.clone(),
                        version: r.package.version.clone(),
                        reviewed: r.drift.clone(),
                    },
                )
            })
            .collect();
        BuildPolicy {
            mode: resolution.mode,
            policy_file: PolicyFile {
                config_env,
                ..resolution.policy_file()
            },
            warnings,
            trusted,
            drift,
            target_dir: graph.target_dir.clone(),
            default_target_dir: graph.default_target_dir(),
            lazy_libraries: graph.lazy_libraries.clone(),
        }
    }
}

/// A stored [`BuildPolicy`] with what it was resolved from.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    format: u32,
    /// Files whose content shaped the result, with their SHA-256 (`None` for a file that
    /// did not exist, so creating it invalidates the entry too).
    inputs: Vec<(PathBuf, Option<String>)>,
    policy: BuildPolicy,
}

/// Where the build policy for one command line is cached.
#[derive(Debug, Clone)]
pub struct PolicyCache {
    entry: Option<(ArtifactCache, Key)>,
}

impl PolicyCache {
    /// The cache entry for `cargo_args` and a mode forced on the command line, in the
    /// user's store; a disabled cache when there is none (or it is not safely the user's).
    pub fn for_build(
        store: Option<ArtifactCache>,
        cargo_args: &[String],
        mode: Option<Mode>,
    ) -> Self {
        let disabled = std::env::var_os(NO_CACHE_ENV).is_some_and(|v| !v.is_empty());
        let entry = store
            .filter(|_| !disabled)
            .map(|store| (store, entry_key(cargo_args, mode)));
        PolicyCache { entry }
    }

    /// The cached policy, if every file it was resolved from is unchanged.
    pub fn load(&self) -> Option<BuildPolicy> {
        let (store, key) = self.entry.as_ref()?;
        let bytes = store.fetch_bytes(Kind::Policy, key)?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        let fresh = entry.format == FORMAT
            && entry
                .inputs
                .iter()
                .all(|(path, hash)| content_hash(path) == *hash);
        fresh.then_some(entry.policy)
    }

    /// Stores `policy`, resolved from `graph`. Failing to store only costs speed.
    pub fn store(&self, graph: &Graph, policy: &BuildPolicy) {
        let Some((store, key)) = &self.entry else {
            return;
        };
        let inputs = graph_inputs(graph)
            .into_iter()
            .map(|input| {
                let hash = content_hash(&input);
                (input, hash)
            })
            .collect();
        let entry = Entry {
            format: FORMAT,
            inputs,
            policy: policy.clone(),
        };
        if let Ok(json) = serde_json::to_vec(&entry) {
            let _ = store.store_bytes(Kind::Policy, key, &json);
        }
    }
}

/// Everything besides the files' contents that the policy of one command line depends on.
fn entry_key(cargo_args: &[String], mode: Option<Mode>) -> Key {
    let mut key = Key::builder("cargo-wasm-build build policy");
    key.add(FORMAT.to_le_bytes());
    key.add(env!("CARGO_PKG_VERSION"));
    // A rebuilt tool may resolve differently under the same version number.
    let built = std::env::current_exe()
        .and_then(|exe| exe.metadata())
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok());
    key.add(format!("{built:?}"));
    key.add(
        std::env::current_dir()
            .unwrap_or_default()
            .as_os_str()
            .as_encoded_bytes(),
    );
    let args = metadata_args(cargo_args);
    key.add(args.len().to_le_bytes());
    for arg in &args {
        key.add(arg);
    }
    key.add(format!("{:?}", crate::graph::target_dir_arg(cargo_args)));
    key.add(mode.map_or("", Mode::as_str));
    for (name, value) in cargo_config_env() {
        key.add(name).add(value.as_encoded_bytes());
    }
    // Which paths need their dangerous key depends on the homes.
    for home in ["HOME", "CARGO_HOME", "RUSTUP_HOME"] {
        let value = std::env::var_os(home);
        key.add(format!("{}", value.is_some()));
        key.add(value.unwrap_or_default().as_encoded_bytes());
    }
    key.finish()
}

/// The files that shape the graph and the policy: the root manifest and lockfile, the
/// manifests of local packages (members and path dependencies: their dependencies and
/// sandbox tables), and cargo's config files from the current directory and the
/// workspace up, and in `CARGO_HOME` (`[patch]`, source replacement).
fn graph_inputs(graph: &Graph) -> Vec<PathBuf> {
    let mut inputs = vec![
        graph.root_manifest.clone(),
        graph.workspace_root.join("Cargo.lock"),
    ];
    inputs.extend(
        graph
            .packages
            .iter()
            .filter(|package| package.source.is_none())
            .map(|package| package.manifest_path.clone()),
    );
    let mut dirs: Vec<PathBuf> = Vec::new();
    for start in [
        std::env::current_dir().ok(),
        Some(graph.workspace_root.clone()),
    ]
    .into_iter()
    .flatten()
    {
        dirs.extend(start.ancestors().map(Path::to_path_buf));
    }
    if let Some(home) = wasm_build_contract::cargo::cargo_home() {
        inputs.push(home.join("config.toml"));
        inputs.push(home.join("config"));
    }
    for dir in dirs {
        inputs.push(dir.join(".cargo").join("config.toml"));
        inputs.push(dir.join(".cargo").join("config"));
    }
    inputs.sort();
    inputs.dedup();
    inputs
}

fn content_hash(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    Some(format!("{:x}", Sha256::digest(&bytes)))
}

/// `CARGO_*` variables that configure cargo (and so may change the graph), without the
/// ones that change on every run or are the tool's own. Values need not be UTF-8.
fn cargo_config_env() -> Vec<(String, std::ffi::OsString)> {
    let mut vars: Vec<(String, std::ffi::OsString)> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
        .filter(|(name, _)| {
            name.starts_with("CARGO_")
                && !name.starts_with(PREFIX)
                && !name.starts_with("CARGO_TERM_")
                && name != "CARGO_MAKEFLAGS"
        })
        .collect();
    vars.sort();
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_fresh_until_an_input_changes() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "[package]\nname = \"a\"\n").unwrap();
        let store = ArtifactCache::open(&dir.path().join("cache")).unwrap();
        let cache = PolicyCache {
            entry: Some((store, Key::builder("test").finish())),
        };
        let graph = Graph {
            workspace_root: dir.path().to_path_buf(),
            root_manifest: manifest.clone(),
            target_dir: dir.path().join("target"),
            packages: Vec::new(),
            lazy_libraries: Vec::new(),
        };
        let policy = BuildPolicy {
            mode: Mode::Deny,
            policy_file: PolicyFile::default(),
            warnings: vec![(Code::W010, "w".into())],
            trusted: Vec::new(),
            drift: BTreeMap::new(),
            target_dir: dir.path().join("target"),
            default_target_dir: dir.path().join("target"),
            lazy_libraries: Vec::new(),
        };
        assert_eq!(cache.load(), None);
        cache.store(&graph, &policy);
        assert_eq!(cache.load(), Some(policy.clone()));
        // Same size, other content: still noticed.
        std::fs::write(&manifest, "[package]\nname = \"b\"\n").unwrap();
        assert_eq!(cache.load(), None);
        cache.store(&graph, &policy);
        // A lockfile that appears invalidates too.
        std::fs::write(dir.path().join("Cargo.lock"), "").unwrap();
        assert_eq!(cache.load(), None);
        // A policy holds grants: a directory others could write is never read from.
        cache.store(&graph, &policy);
        assert_eq!(cache.load(), Some(policy.clone()));
        let policies = dir.path().join("cache/policies");
        let mode = |bits| std::os::unix::fs::PermissionsExt::from_mode(bits);
        std::fs::set_permissions(&policies, mode(0o777)).unwrap();
        assert_eq!(
            cache.load(),
            None,
            "a directory others can write is refused"
        );
        std::fs::set_permissions(&policies, mode(0o700)).unwrap();
        assert_eq!(cache.load(), Some(policy));
    }
}
