//! The run cache: a sandboxed build script's run, keyed by everything it can observe and
//! restored instead of run again in a fresh target directory.
//!
//! A run's **key** has two levels, as ccache's manifests do. The first covers what is known
//! before the script runs ([`KeyInputs`]): the module's SHA-256, the tool's version and
//! facade key, the wasmtime engine's key, the exact environment the guest gets (and what
//! its programs and rustc probes get, and the host `PATH` that finds them), the contents
//! of its package directory, the contents of the directories its `links` dependencies
//! handed it (`DEP_*`), and the policy as far as the run can observe it (grants and
//! denials of programs, variables, paths and limits; never the directive grants, which
//! are judged again on every replay). The second covers what only the run itself showed:
//! the programs it asked for, each by the file it resolved to and that file's SHA-256.
//! The first-level entry lists the second-level candidates; a lookup checks each
//! candidate's programs on this machine, and restores the first whose programs are all
//! still the same files with the same contents.
//!
//! **Paths.** The build directory (`<target>/<profile>/build`) differs between target
//! directories, so the key holds it as a mark, in `OUT_DIR`, the `DEP_*` values and
//! wherever else a variable names it, and the stdout is stored with the mark and
//! replayed with this build's directory. That is only right when the run does not
//! depend on where the build directory is, so after each run the tool checks it: a run
//! whose `OUT_DIR` files hold the path of its profile directory, or whose stdout names
//! it outside the build directory, is stored as valid in this build directory only.
//! Every other path (the package directory, `RUSTC`, cargo's home) stays in the key.
//!
//! **Boundary.** The contents of the package directory are hashed except cargo's target
//! directories in it (a directory holding `CACHEDIR.TAG`). What the programs a run
//! executed may read besides their arguments is in the second level too, when a run
//! executed anything but rustc probes: the system header directories, the compiler's own
//! directories, the pkg-config directories and the paths the script's build settings name
//! (`PKG_CONFIG_PATH`) by the contents of every file, and the library directories and each
//! program's own directory by listing (see [`crate::system_reads`]). A rustc probe reads
//! its toolchain, which the rustc file's digest and the module (compiled by the same
//! toolchain) stand for. Runs whose inputs the key cannot hold are never stored: see
//! [`Ineligible`].
//!
//! **Trust.** An entry is code. Every file is stored under its SHA-256 and checked against
//! it when restored, in the user-level store's checked directories; an entry that fails
//! is not used ([W410](wasm_build_contract::Code::W410)) and the script runs. A replay's
//! stdout goes through the same directive policy as a real run's, so what was granted
//! when the entry was made and is no longer is refused.
//!
//! **Shape.** The entry maps onto the Remote Execution API: the first-level inputs are
//! an `Action`'s `Command` (environment, the tool and engine as arguments) and input root
//! (package, exported directories and programs as files by digest); a result is an
//! `ActionResult` (its output files by path, SHA-256 and size, the stdout by digest, exit
//! code 0); every file is a CAS blob named by its digest.

#![allow(
    clippy::disallowed_methods,
    reason = "the run cache is keyed on the environment the stand-in was handed, and turned off by the tool's own variable"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use wasm_build_cache::{ArtifactCache, Key, Kind};
use wasm_build_contract::audit::{ExecAttempt, RunRecord};
use wasm_build_contract::inert::Inert;
use wasm_build_contract::policy::Policy;
use wasm_build_contract::vars::{DISCOVERY_ENV, RUN_CACHE_ENV};
use wasm_build_diagnostics::cache::CacheProblem;
use wasm_build_exec::outcome::{Exit, ProgramsReport, RunOutput};
use wasm_build_exec::program::{ProgramUse, find_on_path};
use wasm_build_permissions_schema::Capability;

#[cfg(not(feature = "remote-cache"))]
mod no_client;
#[cfg(not(feature = "remote-cache"))]
use no_client as remote;
#[cfg(feature = "remote-cache")]
mod remote;

/// Bumped when what an entry holds, or what a key covers, changes.
const FORMAT: u32 = 2;

/// What stands for the build directory in keys and stored stdout: a NUL can be in
/// neither an environment value nor a path, so the mark never meets a real one.
const ROOT_MARK: &str = "\0build-root\0";

/// How many second-level candidates a first-level entry keeps (newest first).
const CANDIDATES: usize = 8;

/// A package directory (with the directories exported to it) larger than this is not
/// hashed, and its run is not cached: hashing it on every run would cost more than most
/// runs.
const MAX_HASHED_FILES: u64 = 50_000;
const MAX_HASHED_BYTES: u64 = 512 << 20;

/// Everything a run can observe before it starts, as the first-level key covers it and
/// as `cargo wasm-build cache explain` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInputs {
    /// The entry format.
    pub format: u32,
    /// The package name.
    pub package: String,
    /// The package version.
    pub version: String,
    /// The package directory (paths stay in the key).
    pub package_dir: String,
    /// The tool's version and its std facade's key.
    pub tool: String,
    /// The wasmtime engine's key.
    pub engine: String,
    /// SHA-256 of the build script's module.
    pub module: String,
    /// The variables the guest sees, the build directory as a mark.
    pub env: BTreeMap<String, String>,
    /// What its programs get from the user's environment (terminal, locale, time zone).
    pub program_env: BTreeMap<String, String>,
    /// What its rustc probes get from cargo's environment.
    pub probe_env: BTreeMap<String, String>,
    /// The host `PATH`, which decides what a bare program name runs.
    pub host_path: String,
    /// SHA-256 over the package directory's files (paths, kinds, modes, contents).
    pub package_files: String,
    /// SHA-256 over each directory the script's dependencies exported to it.
    pub exported: BTreeMap<String, String>,
    /// The policy as far as the run observes it.
    pub policy: String,
}

impl KeyInputs {
    fn key(&self) -> Option<Key> {
        let mut builder = Key::builder("run-v1");
        builder.add(serde_json::to_vec(self).ok()?);
        Some(builder.finish())
    }

    /// One line per input, for people: long values by their digest.
    fn lines(&self) -> Vec<(String, String)> {
        let mut lines = vec![
            (
                "package".to_string(),
                format!("{} v{}", self.package, self.version),
            ),
            ("package directory".into(), self.package_dir.clone()),
            ("package files".into(), self.package_files.clone()),
            ("tool".into(), self.tool.clone()),
            ("engine".into(), self.engine.clone()),
            ("module".into(), self.module.clone()),
            ("policy".into(), self.policy.clone()),
            ("host PATH".into(), self.host_path.clone()),
        ];
        let shown = |value: &str| value.replace(ROOT_MARK, "$BUILD_DIR");
        for (table, vars) in [
            ("env", &self.env),
            ("program env", &self.program_env),
            ("probe env", &self.probe_env),
        ] {
            lines.extend(
                vars.iter()
                    .map(|(name, value)| (format!("{table} {name}"), shown(value))),
            );
        }
        lines.extend(
            self.exported
                .iter()
                .map(|(dir, digest)| (format!("exported {}", shown(dir)), digest.clone())),
        );
        lines
    }
}

/// A program a stored run asked for: found again, and with the same contents, for the
/// entry to apply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct ProgramRecord {
    requested: String,
    found: Option<String>,
    file: Option<String>,
    digest: Option<String>,
}

/// One second-level candidate of a first-level entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Candidate {
    programs: Vec<ProgramRecord>,
    /// Set when the run's output depends on where the build directory is.
    build_dir: Option<String>,
    /// What the programs it executed may read outside the key (see
    /// [`crate::system_reads`]); `None` when it executed none but rustc probes.
    #[serde(default)]
    system: Option<String>,
}

impl Candidate {
    fn result_key(&self, first: &Key) -> Option<Key> {
        let mut builder = Key::builder("run-result-v1");
        builder
            .add(first.as_str())
            .add(serde_json::to_vec(self).ok()?);
        Some(builder.finish())
    }
}

/// A stored file: where it goes, its SHA-256 and size (a REAPI `Digest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct OutputFile {
    path: String,
    digest: String,
    size: u64,
    executable: bool,
}

/// What a run left: its stdout and `OUT_DIR`, and what the audit log says of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunResult {
    format: u32,
    /// The stdout, the build directory as a mark.
    stdout: OutputFile,
    files: Vec<OutputFile>,
    /// Every directory in `OUT_DIR`, so that empty ones come back too.
    dirs: Vec<String>,
    exec: Vec<ExecAttempt>,
    confinement: Option<String>,
    stopped: Vec<String>,
    probe_env_dropped: Vec<String>,
}

/// What `cargo wasm-build cache explain` reads: the inputs of the last lookup of a
/// package, and of the last run stored for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Explained {
    inputs: Option<KeyInputs>,
    outcome: String,
    /// On a miss, the inputs of the run last stored for the package, to compare with.
    #[serde(default)]
    stored: Option<KeyInputs>,
}

/// Why a run is neither looked up nor stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ineligible {
    /// Turned off, or no store.
    Off,
    /// Run natively (`run-natively`): what it reads is not confined to what is keyed.
    Native,
    /// A discovery or learning build: what it made is never kept.
    Discovery,
    /// A program may use the network: its answers are not in the key.
    Network,
    /// A grant to read or write outside the package: those contents are not in the key.
    OutsidePaths,
    /// `OUT_DIR` held files already (cargo runs the script again in place).
    OutDirNotEmpty,
    /// The package directory is too large to hash on every run.
    TooLarge,
}

impl Ineligible {
    fn why(&self) -> &'static str {
        match self {
            Ineligible::Off => "the run cache is off",
            Ineligible::Native => "it runs natively (granted `run-natively`)",
            Ineligible::Discovery => "a discovery or learning build keeps nothing",
            Ineligible::Network => "a program may use the network (granted `network`)",
            Ineligible::OutsidePaths => {
                "it may read or write paths outside its package (granted `read` or `write`), whose contents are not in the key"
            }
            Ineligible::OutDirNotEmpty => "its OUT_DIR was not empty (a rerun in place)",
            Ineligible::TooLarge => "its package directory is too large to hash",
        }
    }
}

/// The run cache for one run: its first-level key, ready to look up and to store.
pub(crate) struct Lookup {
    store: ArtifactCache,
    inputs: KeyInputs,
    key: Key,
    build_dir: PathBuf,
    out_dir: PathBuf,
    /// Paths the build settings the script sees name, which its programs may read.
    setting_paths: Vec<PathBuf>,
    /// Why the stored runs with this first-level key did not apply, for `explain`.
    second_level_miss: std::cell::Cell<Option<&'static str>>,
}

/// What a hit gives the stand-in: a run's output as the script would have given it, and
/// where it came from.
pub(crate) struct Restored {
    pub(crate) output: RunOutput,
    pub(crate) from: String,
}

/// The run cache's part in one run, for [`crate::finish`].
pub(crate) enum Cached {
    /// Neither looked up nor stored (see [`Ineligible`]).
    Skipped,
    /// Looked up and missed: stored after the run if it qualifies.
    Missed(Box<Lookup>),
    /// Restored from the store.
    Restored(String),
}

/// What the stand-in knows about the run, for the key.
pub(crate) struct RunFacts<'a> {
    pub(crate) package: (&'a str, &'a str),
    pub(crate) manifest_dir: &'a Path,
    pub(crate) out_dir: &'a Path,
    pub(crate) module: &'a Path,
    pub(crate) engine_key: String,
    pub(crate) policy: &'a Policy,
    pub(crate) env: &'a [(String, String)],
    pub(crate) program_env: Vec<(String, String)>,
    pub(crate) probe_env: Vec<(String, String)>,
    pub(crate) exported: &'a [PathBuf],
    pub(crate) setting_paths: &'a [PathBuf],
}

/// Looks the run up: a restored output on a hit, with the run cache's part in the run.
pub(crate) fn look_up(facts: &RunFacts<'_>) -> (Cached, Option<RunOutput>) {
    let lookup = match prepare(facts) {
        Ok(lookup) => lookup,
        Err(why) => {
            note_ineligible(facts.package.0, &why);
            return (Cached::Skipped, None);
        }
    };
    if let Some(restored) = lookup.restore() {
        lookup.hit();
        return (Cached::Restored(restored.from), Some(restored.output));
    }
    // The shared cache (see [`remote`]): a verified entry is written into the local
    // store and restored from it like a local one.
    if let Some(from) = remote::fetch(&lookup)
        && let Some(restored) = lookup.restore()
    {
        lookup.hit();
        return (Cached::Restored(from), Some(restored.output));
    }
    lookup.missed();
    (Cached::Missed(Box::new(lookup)), None)
}

/// Whether the run may be cached at all, before anything is hashed.
fn eligibility(facts: &RunFacts<'_>) -> Result<ArtifactCache, Ineligible> {
    if std::env::var_os(RUN_CACHE_ENV).is_some_and(|value| value == "off") {
        return Err(Ineligible::Off);
    }
    let discovery = std::env::var_os(DISCOVERY_ENV).is_some_and(|nonce| !nonce.is_empty());
    if discovery || facts.policy.learning {
        return Err(Ineligible::Discovery);
    }
    let policy = facts.policy;
    if policy.granted.iter().any(|capability| {
        matches!(
            capability,
            Capability::Network(_) | Capability::NetworkHost(_)
        )
    }) {
        return Err(Ineligible::Network);
    }
    let outside = policy.granted.iter().any(|capability| match capability {
        Capability::Read(path)
        | Capability::Write(path)
        | Capability::DangerousRead(path)
        | Capability::DangerousWrite(path) => {
            !normalized(&facts.manifest_dir.join(path)).starts_with(facts.manifest_dir)
        }
        _ => false,
    });
    if outside {
        return Err(Ineligible::OutsidePaths);
    }
    let empty = fs::read_dir(facts.out_dir).map_or(true, |mut dir| dir.next().is_none());
    if !empty {
        return Err(Ineligible::OutDirNotEmpty);
    }
    match ArtifactCache::from_env() {
        Ok(Some(store)) => Ok(store),
        _ => Err(Ineligible::Off),
    }
}

/// `path` with `.` and `..` applied, without touching the file system.
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The part of the policy a run can observe: directive grants only decide what passes
/// afterwards, and are judged again on every replay.
fn observed_policy(policy: &Policy) -> String {
    let observed = |set: &BTreeSet<Capability>| -> BTreeSet<Capability> {
        set.iter()
            .filter(|capability| {
                !matches!(
                    capability,
                    Capability::Directive(_)
                        | Capability::LinkSearch(_)
                        | Capability::DangerousRustcEnv(_)
                )
            })
            .cloned()
            .collect()
    };
    let keyed = Policy {
        granted: observed(&policy.granted),
        denied: observed(&policy.denied),
        spec: None,
        allow_table: None,
        learning: false,
        ..policy.clone()
    };
    serde_json::to_string(&keyed).unwrap_or_default()
}

/// Starts the run cache for a run: `Err` says why it is not cached.
pub(crate) fn prepare(facts: &RunFacts<'_>) -> Result<Lookup, Ineligible> {
    let store = eligibility(facts)?;
    let build_dir = facts
        .out_dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mark = |value: &str| mark_build_dir(value, &build_dir);
    let vars = |vars: &[(String, String)]| -> BTreeMap<String, String> {
        vars.iter()
            .map(|(name, value)| {
                // Names this build's jobserver, different in every build; a script can
                // only hand it to a program, where it sets parallelism, not output.
                if name == "CARGO_MAKEFLAGS" {
                    (name.clone(), "(set)".into())
                } else if secret_shaped(name) {
                    // Keyed exactly, but never written down in clear: entries and
                    // `explain` records are files, and may one day be shared.
                    let digest = hex(&Sha256::digest(value.as_bytes()));
                    (
                        name.clone(),
                        format!("(secret-shaped name; sha256 {digest})"),
                    )
                } else {
                    (name.clone(), mark(value))
                }
            })
            .collect()
    };
    let mut budget = Budget::default();
    let skip = skipped_dirs(facts.manifest_dir, &build_dir);
    let package_files =
        tree_digest(facts.manifest_dir, &skip, &mut budget).ok_or(Ineligible::TooLarge)?;
    let mut exported = BTreeMap::new();
    for dir in facts.exported {
        let digest = tree_digest(dir, &[], &mut budget).ok_or(Ineligible::TooLarge)?;
        exported.insert(mark(&dir.to_string_lossy()), digest);
    }
    let module = file_digest(facts.module).map_err(|_| Ineligible::Off)?.0;
    let inputs = KeyInputs {
        format: FORMAT,
        package: facts.package.0.to_string(),
        version: facts.package.1.to_string(),
        package_dir: facts.manifest_dir.to_string_lossy().into_owned(),
        tool: format!(
            "cargo-wasm-build {} facade {}",
            env!("CARGO_PKG_VERSION"),
            wasm_build_shim::guest_key()
        ),
        engine: facts.engine_key.clone(),
        module,
        env: vars(facts.env),
        program_env: vars(&facts.program_env),
        probe_env: vars(&facts.probe_env),
        host_path: std::env::var("PATH").unwrap_or_default(),
        package_files,
        exported,
        policy: observed_policy(facts.policy),
    };
    let key = inputs.key().ok_or(Ineligible::Off)?;
    Ok(Lookup {
        store,
        inputs,
        key,
        build_dir,
        out_dir: facts.out_dir.to_path_buf(),
        setting_paths: facts.setting_paths.to_vec(),
        second_level_miss: std::cell::Cell::new(None),
    })
}

/// Whether a variable's name is shaped like a secret's (`*_TOKEN`, `AWS_*`): only a
/// `dangerous-env` grant shows one to a script.
fn secret_shaped(name: &str) -> bool {
    matches!(
        wasm_build_policy::env::env_capability(name),
        Capability::DangerousEnv(_)
    )
}

fn mark_build_dir(value: &str, build_dir: &Path) -> String {
    let dir = build_dir.to_string_lossy();
    if dir.is_empty() {
        return value.to_string();
    }
    value.replace(dir.as_ref(), ROOT_MARK)
}

/// Cargo's target directories inside the package (they hold `OUT_DIR`s being written),
/// never hashed; the build directory's target directory even without its tag.
fn skipped_dirs(manifest_dir: &Path, build_dir: &Path) -> Vec<PathBuf> {
    build_dir
        .ancestors()
        .filter(|dir| dir.starts_with(manifest_dir) && *dir != manifest_dir)
        .last()
        .map(Path::to_path_buf)
        .into_iter()
        .collect()
}

#[derive(Default)]
struct Budget {
    files: u64,
    bytes: u64,
}

/// SHA-256 over a directory tree: each entry's relative path, kind, executable bit and
/// contents (a link by its target), in sorted order. `None` past the budget or when a
/// file cannot be read.
fn tree_digest(root: &Path, skip: &[PathBuf], budget: &mut Budget) -> Option<String> {
    let mut hasher = Sha256::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let mut entries: Vec<fs::DirEntry> = fs::read_dir(&dir).ok()?.flatten().collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        if dir != root
            && entries
                .iter()
                .any(|entry| entry.file_name() == "CACHEDIR.TAG")
        {
            continue;
        }
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).ok()?;
            let relative = path.strip_prefix(root).ok()?.to_string_lossy().into_owned();
            let part = |kind: &str, rest: &[u8]| {
                let mut part = Vec::new();
                part.extend_from_slice(kind.as_bytes());
                part.extend_from_slice(&(relative.len() as u64).to_le_bytes());
                part.extend_from_slice(relative.as_bytes());
                part.extend_from_slice(rest);
                part
            };
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).ok()?;
                hasher.update(part("l", target.as_os_str().as_encoded_bytes()));
            } else if meta.is_dir() {
                if !skip.contains(&path) {
                    hasher.update(part("d", b""));
                    subdirs.push(path);
                }
            } else if meta.is_file() {
                budget.files += 1;
                budget.bytes += meta.len();
                if budget.files > MAX_HASHED_FILES || budget.bytes > MAX_HASHED_BYTES {
                    return None;
                }
                let executable = meta.permissions().mode() & 0o111 != 0;
                let (digest, _) = file_digest(&path).ok()?;
                let kind = if executable { "x" } else { "f" };
                hasher.update(part(kind, digest.as_bytes()));
            }
        }
        // Depth-first in sorted order: reversed onto the stack.
        pending.extend(subdirs.into_iter().rev());
    }
    Some(hex(&hasher.finalize()))
}

/// SHA-256 and size of a file's contents.
fn file_digest(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    let mut size = 0;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        size += read as u64;
        hasher.update(&buffer[..read]);
    }
    Ok((hex(&hasher.finalize()), size))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn blob_key(digest: &str) -> Key {
    let mut builder = Key::builder("run-blob");
    builder.add(digest);
    builder.finish()
}

fn explain_key(domain: &str, package: &str) -> Key {
    let mut builder = Key::builder(domain);
    builder.add(package);
    builder.finish()
}

impl Lookup {
    /// Restores the first candidate whose programs are still the same here, or `None`.
    /// A candidate that matched but could not be restored whole is said
    /// ([`Code::W410`]), and the script runs.
    pub(crate) fn restore(&self) -> Option<Restored> {
        let started = Instant::now();
        let candidates: Vec<Candidate> = self.store.candidates(Kind::Run, &self.key, FORMAT)?;
        let here = self.build_dir.to_string_lossy().into_owned();
        let mut why_not = None;
        let found = candidates.into_iter().find(|candidate| {
            let unmatched = self.unmatched(candidate, &here);
            why_not = why_not.or(unmatched);
            unmatched.is_none()
        });
        let Some(candidate) = found else {
            self.second_level_miss.set(why_not);
            return None;
        };
        let restored = candidate
            .result_key(&self.key)
            .ok_or_else(|| "its key cannot be computed".to_string())
            .and_then(|key| self.restore_result(&key));
        match restored {
            Ok((result, stdout)) => {
                self.store.note_run(true);
                Some(Restored {
                    output: replayed(stdout, result, started.elapsed()),
                    from: self.store.root().display().to_string(),
                })
            }
            Err(why) => {
                // Said once per build by the CLI, which reads the store's log
                // ([`Code::W410`]): the stand-in's stderr is cargo's to show or not.
                let problem = CacheProblem::StoredRunNotUsed {
                    package: &self.inputs.package,
                    version: &self.inputs.version,
                    why: &why,
                };
                self.store.note_problem(&problem.sentence());
                None
            }
        }
    }

    /// Fetches a result and every file it lists into a staging directory, checks each
    /// against its digest, and only then moves them into `OUT_DIR`.
    fn restore_result(&self, key: &Key) -> Result<(RunResult, Vec<u8>), String> {
        let result: RunResult = self
            .store
            .fetch_bytes(Kind::Run, key)
            .ok_or("its result is missing or corrupt")
            .and_then(|bytes| {
                serde_json::from_slice(&bytes).map_err(|_| "its result cannot be read")
            })?;
        if result.format != FORMAT {
            return Err("its result is of another format".into());
        }
        let parent = self.out_dir.parent().unwrap_or(&self.out_dir);
        let staging = tempfile::Builder::new()
            .prefix(".run-cache-")
            .tempdir_in(parent)
            .map_err(|err| format!("cannot stage it: {err}"))?;
        let stdout_path = staging.path().join("stdout");
        self.fetch_checked(&result.stdout, &stdout_path)?;
        let mut staged = Vec::new();
        for (index, file) in result.files.iter().enumerate() {
            let relative = safe_relative(&file.path)?;
            let path = staging.path().join(format!("{index}"));
            self.fetch_checked(file, &path)?;
            staged.push((path, relative, file.executable));
        }
        for dir in &result.dirs {
            let relative = safe_relative(dir)?;
            fs::create_dir_all(self.out_dir.join(relative))
                .map_err(|err| format!("cannot make a directory in OUT_DIR: {err}"))?;
        }
        for (path, relative, executable) in staged {
            let dest = self.out_dir.join(relative);
            if let Some(dir) = dest.parent() {
                fs::create_dir_all(dir).map_err(|err| format!("cannot write OUT_DIR: {err}"))?;
            }
            let mode = if executable { 0o755 } else { 0o644 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode))
                .and_then(|()| fs::rename(&path, &dest))
                .map_err(|err| format!("cannot write OUT_DIR: {err}"))?;
        }
        let stdout = fs::read(&stdout_path).map_err(|err| format!("cannot read it: {err}"))?;
        let here = self.build_dir.to_string_lossy();
        let stdout = wasm_build_cache::relocate(&stdout, ROOT_MARK.as_bytes(), here.as_bytes());
        Ok((result, stdout))
    }

    /// Fetches the blob of `file` to `dest` and checks its digest and size.
    fn fetch_checked(&self, file: &OutputFile, dest: &Path) -> Result<(), String> {
        let shown = || Inert(&file.path).to_string();
        if !self.store.fetch(Kind::Run, &blob_key(&file.digest), dest) {
            return Err(format!(
                "the contents of `{}` are missing or corrupt",
                shown()
            ));
        }
        match file_digest(dest) {
            Ok((digest, size)) if digest == file.digest && size == file.size => Ok(()),
            _ => Err(format!(
                "the contents of `{}` do not match their digest",
                shown()
            )),
        }
    }

    /// Stores a successful run: its `OUT_DIR` files and stdout by digest, its result, and
    /// the candidate in the first-level entry. A run that cannot be stored whole is not
    /// stored; nothing about it fails the build.
    pub(crate) fn store(&self, output: &RunOutput) -> Result<(), Ineligible> {
        let profile_dir = self.build_dir.parent().unwrap_or(&self.build_dir);
        let profile = profile_dir.to_string_lossy().into_owned();
        let here = self.build_dir.to_string_lossy().into_owned();
        if output.stdout.contains(&0) {
            return Ok(());
        }
        let stdout =
            wasm_build_cache::relocate(&output.stdout, here.as_bytes(), ROOT_MARK.as_bytes());
        let mut path_dependent = contains(&stdout, profile.as_bytes());
        let Some((files, dirs)) = out_dir_files(&self.out_dir) else {
            return Ok(());
        };
        let mut stored = Vec::new();
        for (relative, path, executable) in &files {
            let bytes = fs::read(path).map_err(|_| Ineligible::Off)?;
            path_dependent |= contains(&bytes, profile.as_bytes());
            let digest = hex(&Sha256::digest(&bytes));
            self.put_blob(&digest, &bytes)?;
            stored.push(OutputFile {
                path: relative.clone(),
                digest,
                size: bytes.len() as u64,
                executable: *executable,
            });
        }
        let stdout_digest = hex(&Sha256::digest(&stdout));
        self.put_blob(&stdout_digest, &stdout)?;
        let result = RunResult {
            format: FORMAT,
            stdout: OutputFile {
                path: "stdout".into(),
                digest: stdout_digest,
                size: stdout.len() as u64,
                executable: false,
            },
            files: stored,
            dirs,
            exec: output.exec.attempts.clone(),
            confinement: output.exec.confinement.clone(),
            stopped: output.exec.stopped.clone(),
            probe_env_dropped: output.exec.probe_env_dropped.clone(),
        };
        let programs = program_records(&output.exec.programs).ok_or(Ineligible::Off)?;
        let candidate = Candidate {
            system: self.system_reads(&programs)?,
            programs,
            build_dir: path_dependent.then_some(here),
        };
        let result_key = candidate.result_key(&self.key).ok_or(Ineligible::Off)?;
        let bytes = serde_json::to_vec(&result).map_err(|_| Ineligible::Off)?;
        self.store
            .store_bytes(Kind::Run, &result_key, &bytes)
            .map_err(|_| Ineligible::Off)?;
        self.add_candidate(candidate).ok_or(Ineligible::Off)?;
        self.explain("run-explain-stored", "stored", None);
        Ok(())
    }

    /// Puts `candidate` first in the first-level entry of this key (a ccache-style
    /// manifest of the second-level candidates seen, newest first, at most
    /// [`CANDIDATES`]).
    fn add_candidate(&self, candidate: Candidate) -> Option<()> {
        self.store
            .add_candidate(Kind::Run, &self.key, FORMAT, CANDIDATES, candidate)
    }

    /// Why `candidate`, whose first-level key matched, does not apply here, in words for
    /// `explain`; `None` when it applies.
    fn unmatched(&self, candidate: &Candidate, here: &str) -> Option<&'static str> {
        if candidate.build_dir.as_ref().is_some_and(|dir| dir != here) {
            return Some(
                "its output depends on where its build directory was, and this one is elsewhere",
            );
        }
        if !candidate.programs.iter().all(still_the_same) {
            return Some(
                "a program it executed is another file here, or its file has other contents",
            );
        }
        let system_same = candidate.system.as_ref().is_none_or(|stored| {
            self.system_reads(&candidate.programs)
                .is_ok_and(|now| now.as_ref() == Some(stored))
        });
        if !system_same {
            return Some(
                "what the programs it executed may read changed (system headers, the compiler's directories, pkg-config files, library directories, paths build settings name)",
            );
        }
        None
    }

    /// The fingerprint of what `programs` may read outside the key, when any of them is
    /// more than a rustc probe (see [`crate::system_reads`]); `Err` when it cannot be had.
    fn system_reads(&self, programs: &[ProgramRecord]) -> Result<Option<String>, Ineligible> {
        let rustc = std::env::var("RUSTC").ok();
        let files: Vec<PathBuf> = programs
            .iter()
            .filter(|program| Some(&program.requested) != rustc.as_ref())
            .filter_map(|program| program.file.as_ref().map(PathBuf::from))
            .collect();
        if files.is_empty() {
            return Ok(None);
        }
        crate::system_reads::fingerprint(&self.store, &files, &self.setting_paths)
            .map(Some)
            .ok_or(Ineligible::TooLarge)
    }

    fn put_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), Ineligible> {
        self.store
            .store_bytes(Kind::Run, &blob_key(digest), bytes)
            .map_err(|_| Ineligible::Off)
    }

    /// Notes this lookup for `cargo wasm-build cache explain`, with the inputs of the
    /// run last stored for the package when they are to be compared.
    fn explain(&self, domain: &str, outcome: &str, stored: Option<KeyInputs>) {
        let explained = Explained {
            inputs: Some(self.inputs.clone()),
            outcome: outcome.to_string(),
            stored,
        };
        if let Ok(bytes) = serde_json::to_vec(&explained) {
            let key = explain_key(domain, &self.inputs.package);
            let _ = self.store.store_bytes(Kind::Run, &key, &bytes);
        }
    }

    /// Notes a miss in the store's log and for `explain`.
    pub(crate) fn missed(&self) {
        self.store.note_run(false);
        let stored = read_explained(&self.store, "run-explain-stored", &self.inputs.package)
            .and_then(|stored| stored.inputs);
        let outcome = match self.second_level_miss.get() {
            Some(why) => format!(
                "missed: the script ran; the inputs below are those of a stored run, but {why}"
            ),
            None => "missed: the script ran".to_string(),
        };
        self.explain("run-explain-seen", &outcome, stored);
    }

    /// Notes a hit for `explain`.
    pub(crate) fn hit(&self) {
        let inputs = Some(self.inputs.clone());
        self.explain("run-explain-seen", "restored from the run cache", inputs);
    }
}

/// A restored run's output, as the script gave it: what `finish` judges like a real
/// run's.
fn replayed(stdout: Vec<u8>, result: RunResult, elapsed: std::time::Duration) -> RunOutput {
    RunOutput {
        exit: Exit::Code(0),
        stdout,
        stderr_tail: Vec::new(),
        elapsed,
        hidden_lookups: BTreeSet::new(),
        outside_lookups: BTreeSet::new(),
        refused_writes: BTreeSet::new(),
        exec: ProgramsReport {
            attempts: result.exec,
            confinement: result.confinement,
            stopped: result.stopped,
            probe_env_dropped: result.probe_env_dropped,
            ..ProgramsReport::default()
        },
    }
}

/// Whether a program a stored run asked for is found again as the same file, with the
/// same contents.
fn still_the_same(program: &ProgramRecord) -> bool {
    if !program.requested.contains('/') {
        let path = std::env::var_os("PATH");
        let found = find_on_path(&program.requested, path.as_deref())
            .map(|found| found.to_string_lossy().into_owned());
        if found != program.found {
            return false;
        }
    } else if program.file.is_none() {
        return program
            .found
            .as_ref()
            .is_none_or(|found| !Path::new(found).exists());
    }
    match (&program.file, &program.digest) {
        (Some(file), Some(digest)) => {
            file_digest(Path::new(file)).is_ok_and(|(now, _)| now == *digest)
        }
        (None, None) => true,
        _ => false,
    }
}

fn program_records(programs: &[ProgramUse]) -> Option<Vec<ProgramRecord>> {
    let mut records = Vec::new();
    for program in programs {
        let digest = match &program.file {
            Some(file) => Some(file_digest(file).ok()?.0),
            None => None,
        };
        records.push(ProgramRecord {
            requested: program.requested.clone(),
            found: program
                .found
                .as_ref()
                .map(|found| found.to_string_lossy().into_owned()),
            file: program
                .file
                .as_ref()
                .map(|file| file.to_string_lossy().into_owned()),
            digest,
        });
    }
    records.sort();
    records.dedup();
    Some(records)
}

/// The files (relative path, path, executable) and directories of `OUT_DIR`; `None` when
/// it holds anything else (a link, a fifo) or a file with another name elsewhere.
type OutDirFiles = (Vec<(String, PathBuf, bool)>, Vec<String>);

fn out_dir_files(out_dir: &Path) -> Option<OutDirFiles> {
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    let mut pending = vec![out_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).ok()?;
            let relative = path.strip_prefix(out_dir).ok()?.to_str()?.to_string();
            if meta.is_dir() {
                dirs.push(relative);
                pending.push(path);
            } else if meta.is_file() && meta.nlink() == 1 {
                let executable = meta.permissions().mode() & 0o111 != 0;
                files.push((relative, path, executable));
            } else {
                return None;
            }
        }
    }
    files.sort();
    dirs.sort();
    Some((files, dirs))
}

/// A stored relative path, refused when it could lead out of `OUT_DIR`.
fn safe_relative(path: &str) -> Result<PathBuf, String> {
    let relative = Path::new(path);
    let plain = relative
        .components()
        .all(|component| matches!(component, std::path::Component::Normal(_)));
    if plain && !path.is_empty() {
        Ok(relative.to_path_buf())
    } else {
        Err(format!(
            "it names a path outside OUT_DIR (`{}`)",
            Inert(path)
        ))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

/// Whether a finished run qualifies for the store: it succeeded, nothing awaits review
/// or was learned, and it looked up no hidden variable or path whose content the key
/// does not hold.
pub(crate) fn qualifies(record: &RunRecord) -> bool {
    record.status == 0
        && record.errors.is_empty()
        && record.pending.is_empty()
        && record.learned.is_empty()
        && record.hidden_env.is_empty()
        && record.hidden_paths.is_empty()
        && !record.native
}

/// After a run: stores it when it missed and qualifies, and says the run cache's part in
/// the audit record.
pub(crate) fn after_run(cached: &Cached, output: &RunOutput, record: &mut RunRecord) {
    match cached {
        Cached::Restored(from) => record.restored = Some(from.clone()),
        Cached::Missed(lookup) if qualifies(record) => {
            if lookup.store(output).is_ok() {
                remote::store(lookup);
            }
        }
        Cached::Missed(_) | Cached::Skipped => {}
    }
}

/// `cargo wasm-build cache explain <crate>`: the inputs of the last lookup of the
/// package's build script, each marked where it differs from the last run stored for
/// it; `None` when neither is known.
pub fn explain(store: &ArtifactCache, package: &str) -> Option<String> {
    let seen = read_explained(store, "run-explain-seen", package);
    let stored = match &seen {
        Some(seen) => seen.stored.clone(),
        None => read_explained(store, "run-explain-stored", package).and_then(|s| s.inputs),
    };
    if seen.is_none() && stored.is_none() {
        return None;
    }
    let mut text = String::new();
    let stored_lines: BTreeMap<String, String> = stored
        .as_ref()
        .map(|inputs| inputs.lines().into_iter().collect())
        .unwrap_or_default();
    match &seen {
        Some(Explained {
            inputs: Some(inputs),
            outcome,
            ..
        }) => {
            text.push_str(&format!(
                "Last lookup of the build script of `{} v{}`: {outcome}\n",
                Inert(&inputs.package),
                Inert(&inputs.version)
            ));
            text.push_str("Key inputs (`*` differs from the last run stored, `+` is new):\n");
            let lines = inputs.lines();
            for (name, value) in &lines {
                let mark = match stored_lines.get(name) {
                    _ if stored.is_none() => ' ',
                    Some(old) if old == value => ' ',
                    Some(_) => '*',
                    None => '+',
                };
                text.push_str(&format!("{mark} {}: {}\n", Inert(name), Inert(value)));
                if mark == '*' {
                    let old = stored_lines.get(name).map(String::as_str).unwrap_or("");
                    text.push_str(&format!("    stored: {}\n", Inert(old)));
                }
            }
            let names: BTreeSet<&String> = lines.iter().map(|(name, _)| name).collect();
            for (name, old) in &stored_lines {
                if !names.contains(name) {
                    text.push_str(&format!(
                        "- {}: {} (only in the stored run)\n",
                        Inert(name),
                        Inert(old)
                    ));
                }
            }
            text.push_str(
                "Programs the run executed are checked by their contents after this key \
                 matches, and what they may read (system headers, compiler, pkg-config \
                 files, the paths build settings name) by a fingerprint of those files.\n",
            );
        }
        Some(Explained {
            inputs: None,
            outcome,
            ..
        }) => {
            text.push_str(&format!("Last run: not cached: {outcome}\n"));
        }
        None => text.push_str("No lookup recorded; the last run stored:\n"),
    }
    if seen.is_none() {
        for (name, value) in &stored_lines {
            text.push_str(&format!("  {}: {}\n", Inert(name), Inert(value)));
        }
    }
    Some(text)
}

fn read_explained(store: &ArtifactCache, domain: &str, package: &str) -> Option<Explained> {
    store
        .fetch_bytes(Kind::Run, &explain_key(domain, package))
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
}

/// Notes for `explain` that a run was not cached, and why.
pub(crate) fn note_ineligible(package: &str, why: &Ineligible) {
    // A discovery check reruns scripts after a failed build: what `explain` says of the
    // build itself stays.
    if matches!(why, Ineligible::Off | Ineligible::Discovery) {
        return;
    }
    let Ok(Some(store)) = ArtifactCache::from_env() else {
        return;
    };
    let explained = Explained {
        inputs: None,
        outcome: why.why().to_string(),
        stored: None,
    };
    if let Ok(bytes) = serde_json::to_vec(&explained) {
        let _ = store.store_bytes(Kind::Run, &explain_key("run-explain-seen", package), &bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_directory_is_a_mark_that_round_trips() {
        let dir = Path::new("/t/a/debug/build");
        let value = "/t/a/debug/build/z-1/out/include";
        let marked = mark_build_dir(value, dir);
        assert_eq!(marked, format!("{ROOT_MARK}/z-1/out/include"));
        let back =
            wasm_build_cache::relocate(marked.as_bytes(), ROOT_MARK.as_bytes(), b"/u/debug/build");
        assert_eq!(back, b"/u/debug/build/z-1/out/include");
    }

    #[test]
    fn secret_shaped_variables_are_keyed_by_digest_only() {
        assert!(secret_shaped("GITHUB_TOKEN"));
        assert!(secret_shaped("AWS_SECRET_ACCESS_KEY"));
        assert!(!secret_shaped("CFLAGS"));
        assert!(!secret_shaped("OUT_DIR"));
    }

    #[test]
    fn stored_paths_never_lead_out_of_out_dir() {
        assert!(safe_relative("gen/a.rs").is_ok());
        for bad in ["../x", "/etc/passwd", "a/../../x", "", "./a"] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn directive_grants_are_not_in_the_key_and_program_grants_are() {
        let mut policy = Policy::default();
        let base = observed_policy(&policy);
        policy.granted.insert(Capability::Directive(
            wasm_build_permissions_schema::GatedDirective::RustcEnv,
        ));
        assert_eq!(observed_policy(&policy), base);
        policy.granted.insert(Capability::Exec("cc".into()));
        assert_ne!(observed_policy(&policy), base);
    }

    fn inputs() -> KeyInputs {
        KeyInputs {
            format: FORMAT,
            package: "p".into(),
            version: "1.0.0".into(),
            package_dir: "/p".into(),
            tool: String::new(),
            engine: String::new(),
            module: String::new(),
            env: BTreeMap::new(),
            program_env: BTreeMap::new(),
            probe_env: BTreeMap::new(),
            host_path: String::new(),
            package_files: String::new(),
            exported: BTreeMap::new(),
            policy: String::new(),
        }
    }

    /// A build directory `<root>/<name>/debug/build` with an empty `OUT_DIR`, and the
    /// lookup of one run in it.
    fn lookup(store: &ArtifactCache, root: &Path, name: &str) -> Lookup {
        let build_dir = root.join(name).join("debug/build");
        let out_dir = build_dir.join("p-0123/out");
        fs::create_dir_all(&out_dir).unwrap();
        let inputs = inputs();
        Lookup {
            store: store.clone(),
            key: inputs.key().unwrap(),
            inputs,
            build_dir,
            out_dir,
            setting_paths: Vec::new(),
            second_level_miss: std::cell::Cell::new(None),
        }
    }

    fn output(stdout: String) -> RunOutput {
        let result = RunResult {
            format: FORMAT,
            stdout: OutputFile {
                path: "stdout".into(),
                digest: String::new(),
                size: 0,
                executable: false,
            },
            files: Vec::new(),
            dirs: Vec::new(),
            exec: Vec::new(),
            confinement: None,
            stopped: Vec::new(),
            probe_env_dropped: Vec::new(),
        };
        replayed(stdout.into_bytes(), result, std::time::Duration::ZERO)
    }

    /// What a run printed about its build directory is replayed with the next one's, and
    /// its files come back byte for byte, modes and empty directories included.
    #[test]
    fn a_run_is_restored_in_another_build_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactCache::open(&dir.path().join("store")).unwrap();
        let first = lookup(&store, dir.path(), "a");
        fs::create_dir_all(first.out_dir.join("gen/empty")).unwrap();
        fs::write(first.out_dir.join("gen/code.rs"), "pub const X: u8 = 1;").unwrap();
        fs::write(first.out_dir.join("tool"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(
            first.out_dir.join("tool"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let stdout = format!(
            "cargo:rustc-link-search=native={}\n",
            first.out_dir.display()
        );
        first.store(&output(stdout)).unwrap();

        let second = lookup(&store, dir.path(), "b");
        let restored = second.restore().expect("a hit");
        assert_eq!(
            String::from_utf8(restored.output.stdout).unwrap(),
            format!(
                "cargo:rustc-link-search=native={}\n",
                second.out_dir.display()
            )
        );
        assert_eq!(
            fs::read(second.out_dir.join("gen/code.rs")).unwrap(),
            b"pub const X: u8 = 1;"
        );
        assert!(second.out_dir.join("gen/empty").is_dir());
        let mode = fs::metadata(second.out_dir.join("tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "still executable");
    }

    /// A run whose files name its profile directory is valid there only.
    #[test]
    fn a_run_that_depends_on_its_directory_is_restored_only_there() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactCache::open(&dir.path().join("store")).unwrap();
        let first = lookup(&store, dir.path(), "a");
        let profile = first.build_dir.parent().unwrap().display().to_string();
        fs::write(first.out_dir.join("paths.txt"), format!("{profile}/deps")).unwrap();
        first.store(&output(String::new())).unwrap();
        assert!(lookup(&store, dir.path(), "b").restore().is_none());
        fs::remove_file(first.out_dir.join("paths.txt")).unwrap();
        assert!(first.restore().is_some(), "the same directory");
    }

    /// A stored file that no longer matches its digest is never restored, and said.
    #[test]
    fn a_damaged_file_is_not_restored() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let store = ArtifactCache::open(&dir.path().join("store"))
            .unwrap()
            .with_log(Some(log.clone()));
        let first = lookup(&store, dir.path(), "a");
        fs::write(first.out_dir.join("code.rs"), "fn good() {}").unwrap();
        first.store(&output(String::new())).unwrap();
        // Another entry's bytes, with a valid header, put in the blob's place.
        let digest = hex(&Sha256::digest(b"fn good() {}"));
        store
            .store_bytes(Kind::Run, &blob_key(&digest), b"fn evil() {}")
            .unwrap();
        let second = lookup(&store, dir.path(), "b");
        assert!(second.restore().is_none());
        assert!(
            !second.out_dir.join("code.rs").exists(),
            "nothing was written"
        );
        let problems = wasm_build_cache::Usage::read(&log).run_problems;
        assert_eq!(
            problems,
            [
                "a stored run of the build script of `p v1.0.0` was not used: the contents of `code.rs` do not match their digest; the script ran instead"
            ]
        );
    }

    #[test]
    fn tree_digests_see_contents_modes_and_names_but_skip_target_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a"), "1").unwrap();
        fs::create_dir(root.join("target")).unwrap();
        fs::write(root.join("target/CACHEDIR.TAG"), "tag").unwrap();
        let digest = || tree_digest(root, &[], &mut Budget::default()).unwrap();
        let first = digest();
        fs::write(root.join("target/out"), "anything").unwrap();
        assert_eq!(digest(), first, "target directories are skipped");
        fs::write(root.join("a"), "2").unwrap();
        let second = digest();
        assert_ne!(second, first, "contents");
        fs::set_permissions(root.join("a"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_ne!(digest(), second, "the executable bit");
        fs::rename(root.join("a"), root.join("b")).unwrap();
        assert_ne!(digest(), second, "names");
    }
}
