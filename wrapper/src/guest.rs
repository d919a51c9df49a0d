//! Compiling build scripts and their build-dependencies for wasm32-wasip1.

#![allow(
    clippy::disallowed_methods,
    reason = "the wrapper compiles build scripts and their dependencies for the guest with the user's rustc"
)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use wasm_build_cache::{ArtifactCache, Kind};
use wasm_build_contract::manifest::SandboxOnlyCode;

use crate::facade::FacadeGap;
use crate::guest_cargo::GuestDependencies;
use crate::host_cfg::HostCfgs;
use crate::invocation::{Arg, Extern, Invocation, is_rust_library_file};
use crate::job_slots::JobSlots;
use crate::record::Record;
use crate::script_cache::ScriptCompile;
use crate::state::StateDir;
use crate::twin_key::TwinInputs;

// Named here too for the tool's `doctor`; defined in a module of its own, which the
// modules this one uses need without needing this one.
pub use crate::guest_target::GUEST_TARGET;

/// Codegen options that describe the host machine or its linker. They are meaningless or
/// fatal for a wasm guest (`-C linker=clang`, `-C target-cpu=native` from the user's
/// RUSTFLAGS), so a guest compile drops them.
const HOST_ONLY_CODEGEN: &[&str] = &[
    "incremental",
    "linker",
    "linker-flavor",
    "link-arg",
    "link-args",
    "link-self-contained",
    "link-dead-code",
    "target-cpu",
    "target-feature",
    "prefer-dynamic",
    "relocation-model",
    "code-model",
    "split-debuginfo",
    "control-flow-guard",
    "instrument-coverage",
    "profile-generate",
    "profile-use",
    "relro-level",
    "default-linker-libraries",
];

/// A build-dependency that cargo compiled natively does not compile for the guest (it
/// needs threads, `dlopen`, or a platform module wasm32-wasip1 lacks).
#[derive(Debug)]
pub struct GuestDependencyFailed {
    /// The dependency.
    pub crate_name: String,
    /// rustc's diagnostics.
    pub diagnostics: String,
    /// What the std facade lacks, when that is why: the dependency compiles against
    /// wasm32-wasip1's own std, or the diagnostics name the facade.
    pub facade_gap: Option<FacadeGap>,
}

impl std::fmt::Display for GuestDependencyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "build-dependency `{}` does not compile for {GUEST_TARGET}\n{}",
            self.crate_name, self.diagnostics
        )
    }
}

impl std::error::Error for GuestDependencyFailed {}

/// The build script itself does not compile for the guest; rustc's diagnostics went to
/// cargo.
#[derive(Debug)]
pub struct ScriptCompileFailed {
    /// rustc's exit status.
    pub status: i32,
    /// rustc's diagnostics, rendered as text.
    pub diagnostics: String,
    /// What the std facade lacks, when that is why (see [`GuestDependencyFailed`]).
    pub facade_gap: Option<FacadeGap>,
}

impl std::fmt::Display for ScriptCompileFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the build script does not compile for {GUEST_TARGET}\n{}",
            self.diagnostics
        )
    }
}

impl std::error::Error for ScriptCompileFailed {}

/// Why a compile for the guest failed: a build-dependency that does not compile for it
/// (which a nested cargo, or running natively, may get around), or anything else.
#[derive(Debug, thiserror::Error)]
pub enum GuestCompileError {
    /// A build-dependency does not compile for the guest.
    #[error(transparent)]
    Dependency(#[from] GuestDependencyFailed),
    /// The build script itself does not.
    #[error(transparent)]
    Script(#[from] ScriptCompileFailed),
    /// rustc could not run, cargo's records are missing, a file could not be written.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Compiles guests with one rustc.
pub struct GuestCompiler {
    rustc: PathBuf,
    /// Extra arguments for every guest compile: the std facade.
    toolchain_args: Vec<String>,
    /// Changes whenever `toolchain_args` would produce different code.
    toolchain_key: String,
    /// Extra arguments for a build script's own crate: the host's cfgs.
    script_args: Vec<String>,
    /// The user's cache of twins, shared by every target directory.
    shared: Option<ArtifactCache>,
    /// Slots for running rustc on several threads.
    slots: JobSlots,
    /// The host's and the guest's cfgs, to find the code only the sandbox compiles in
    /// build-dependencies; without them none is looked for.
    cfgs: Option<HostCfgs>,
}

/// A build-dependency compiled for the guest.
#[derive(Debug, Clone)]
pub struct GuestLibrary {
    /// The rlib.
    pub rlib: PathBuf,
    /// The SHA-256 of the rlib's bytes. A dependent's key includes it: rustc accepts a
    /// dependent only beside the exact dependency it was compiled against.
    pub digest: String,
    /// The code only the sandbox compiles in it and in what it links (see
    /// [`crate::sandbox_only`]).
    pub sandbox_only: Vec<SandboxOnlyCode>,
}

/// A build script compiled for the guest.
#[derive(Debug, Clone)]
pub struct CompiledScript {
    /// The wasm module.
    pub wasm: PathBuf,
    /// The code only the sandbox compiles in the build-dependencies it links.
    pub sandbox_only: Vec<SandboxOnlyCode>,
}

/// Where a guest compile takes its library dependencies from.
#[derive(Debug, Clone, Copy)]
pub enum Libraries<'a> {
    /// Twins compiled from the records of the native compiles (the fast path).
    Twins,
    /// Libraries a nested cargo built for the guest.
    Built(&'a GuestDependencies),
}

/// Whether a guest compile shows rustc's diagnostics to cargo (the build script's own
/// compile) or keeps them for an error message (a dependency's, which cargo already
/// compiled natively and showed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Diagnostics {
    ToCargo,
    Captured,
}

impl GuestCompiler {
    /// A compiler running `rustc`, adding `toolchain_args` (identified by
    /// `toolchain_key`) to every compile.
    pub fn new(rustc: PathBuf, toolchain_args: Vec<String>, toolchain_key: String) -> Self {
        GuestCompiler {
            rustc,
            toolchain_args,
            toolchain_key,
            script_args: Vec::new(),
            shared: None,
            slots: JobSlots::from_env(),
            cfgs: None,
        }
    }

    /// Looks for code only the sandbox compiles in every twin (see
    /// [`crate::sandbox_only`]), with the host's and the guest's `cfgs`.
    #[must_use]
    pub fn with_cfgs(mut self, cfgs: HostCfgs) -> Self {
        self.cfgs = Some(cfgs);
        self
    }

    /// Takes twins from, and gives them to, the user's shared cache.
    #[must_use]
    pub fn with_shared(mut self, shared: Option<ArtifactCache>) -> Self {
        self.shared = shared;
        self
    }

    /// Adds `args` to the compile of a build script's own crate, not to its
    /// dependencies' (the host's cfgs: see [`crate::host_cfg`]).
    #[must_use]
    pub fn with_script_args(mut self, args: Vec<String>) -> Self {
        self.script_args = args;
        self
    }

    /// The rustc every guest compile runs.
    pub fn rustc(&self) -> &Path {
        &self.rustc
    }

    /// Compiles a build script for the guest: the wasm module goes to
    /// `<out-dir>/<crate><extra>.wasm`, the dep-info to where cargo expects it.
    /// Diagnostics go to stderr, in the format cargo asked for.
    ///
    /// Returns the module's path.
    ///
    /// # Errors
    ///
    /// Fails when the script or a build-dependency cannot be compiled for wasm (saying
    /// whether the std facade is why), or rustc cannot be run.
    pub fn build_script(
        &self,
        invocation: &Invocation,
        libraries: Libraries<'_>,
    ) -> Result<CompiledScript, GuestCompileError> {
        let out_dir = invocation
            .out_dir()
            .context("cargo gave the build script no --out-dir")?
            .to_path_buf();
        let crate_name = invocation
            .crate_name()
            .context("cargo gave the build script no --crate-name")?;
        let stem = format!("{crate_name}{}", invocation.extra_filename());
        let state = StateDir::for_build_script_dir(&out_dir)
            .context("the build script's --out-dir is not inside a cargo target directory")?;
        let wasm = out_dir.join(format!("{stem}.wasm"));
        let dep_info = out_dir.join(format!("{stem}.d"));

        let (mut guest, linked) =
            self.rewrite(invocation, &state, libraries, Diagnostics::ToCargo)?;
        for pair in self.script_args.chunks(2) {
            if let [opt, value] = pair {
                guest.push(opt, value.clone());
            }
        }
        let sandbox_only = || match (libraries, &self.cfgs) {
            (Libraries::Built(_), Some(cfgs)) => {
                crate::sandbox_only::of_native_tree(cfgs, invocation.linked_libraries())
            }
            _ => merged(&[], &linked),
        };
        // Compiled before from the same inputs: restored from the user's cache. Only
        // compiles against twins, which are keyed by content, are kept.
        let linked_digests: Vec<&str> = linked.iter().map(|lib| lib.digest.as_str()).collect();
        let cached = match (libraries, &self.shared, state.root().parent()) {
            (Libraries::Twins, Some(shared), Some(profile_dir)) => Some((
                shared,
                ScriptCompile {
                    guest: &guest,
                    linked: &linked_digests,
                    toolchain_key: &self.toolchain_key,
                    profile_dir,
                    out_dir: &out_dir,
                },
            )),
            _ => None,
        };
        if let Some((shared, compile)) = &cached
            && let Some(restored) = compile.restore(shared, &wasm, &dep_info)
        {
            let _ = std::io::stderr().write_all(&restored.stderr);
            return Ok(CompiledScript {
                wasm,
                sandbox_only: sandbox_only(),
            });
        }
        let mut emitting = guest.clone();
        emitting.push(
            "--emit",
            format!("dep-info={},link={}", dep_info.display(), wasm.display()),
        );
        emitting.push("--out-dir", out_dir.display().to_string());
        let _slot = self.slots.acquire();
        let output = Command::new(&self.rustc)
            .args(emitting.to_args())
            .stdin(Stdio::null())
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("failed to run {}", self.rustc.display()))?;
        // Cargo reads rustc's diagnostics from its stderr, in the format it asked for.
        let _ = std::io::stderr().write_all(&output.stderr);
        if output.status.success() {
            if let Some((shared, compile)) = &cached {
                compile.store(shared, &wasm, &dep_info, &output.stderr);
            }
            return Ok(CompiledScript {
                wasm,
                sandbox_only: sandbox_only(),
            });
        }
        let diagnostics = rendered(&String::from_utf8_lossy(&output.stderr));
        let facade_gap = self.facade_gap(&guest, &diagnostics, None, None);
        Err(ScriptCompileFailed {
            status: output.status.code().unwrap_or(1),
            diagnostics,
            facade_gap,
        }
        .into())
    }

    /// What the std facade lacks that a compile against it (`guest`, run in `cwd` with
    /// `env`, or this process's) needed, if that is why it failed with `diagnostics`.
    fn facade_gap(
        &self,
        guest: &Invocation,
        diagnostics: &str,
        cwd: Option<&Path>,
        env: Option<Vec<(OsString, OsString)>>,
    ) -> Option<FacadeGap> {
        FacadeGap::named_in(diagnostics).or_else(|| {
            self.compiles_against_std(guest, cwd, env)
                .then(|| FacadeGap::unnamed_in(diagnostics))
        })
    }

    /// Whether `guest`, a compile against the facade, type-checks against
    /// wasm32-wasip1's own std instead. The facade differs from std only in what it
    /// defines itself, so a compile that passes there and fails here failed on the facade.
    /// Its dependencies stay the ones compiled against the facade (which depends on that
    /// same std); nothing is kept.
    fn compiles_against_std(
        &self,
        guest: &Invocation,
        cwd: Option<&Path>,
        env: Option<Vec<(OsString, OsString)>>,
    ) -> bool {
        let Ok(scratch) = tempfile::tempdir() else {
            return false;
        };
        let mut against_std = guest.clone();
        against_std.retain(
            |arg| !matches!(arg, Arg::Opt(opt, value) if opt == "--extern" && value.starts_with("std=")),
        );
        let check = type_check_only(&against_std, scratch.path());
        let mut command = Command::new(&self.rustc);
        command
            .args(check.to_args())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        if let Some(env) = env {
            command.env_clear().envs(env);
        }
        command.status().is_ok_and(|status| status.success())
    }

    /// The guest twin of the native library `native` (an `.rlib` or `.rmeta` cargo built),
    /// compiled on first use and reused while its inputs are unchanged.
    ///
    /// # Errors
    ///
    /// Fails when cargo's record of the library is missing or the compile fails; the
    /// error carries rustc's diagnostics.
    pub fn library(&self, native: &Path) -> Result<GuestLibrary, GuestCompileError> {
        let stem = native
            .file_stem()
            .and_then(|stem| stem.to_str())
            .with_context(|| format!("unexpected library path {}", native.display()))?;
        let state = native
            .parent()
            .and_then(StateDir::for_deps_dir)
            .with_context(|| format!("{} is not in a cargo deps directory", native.display()))?;
        let record = Record::load(&state.records(), stem)?;
        let invocation = record.invocation()?;
        let (mut guest, linked) =
            self.rewrite(&invocation, &state, Libraries::Twins, Diagnostics::Captured)?;
        let linked_digests: Vec<&str> = linked.iter().map(|lib| lib.digest.as_str()).collect();
        let shared_key = self.shared.as_ref().and_then(|_| {
            TwinInputs {
                record: &record,
                native,
                guest: &guest,
                linked: &linked_digests,
                toolchain_key: &self.toolchain_key,
                profile_dir: state.root().parent()?,
                cargo_home: wasm_build_contract::cargo::cargo_home().as_deref(),
            }
            .key()
        });
        let stamp_value = match &shared_key {
            Some(key) => key.to_string(),
            None => local_stamp(&record.id, &self.toolchain_key, &linked_digests),
        };

        let deps = state.guest_deps();
        fs::create_dir_all(&deps)
            .with_context(|| format!("failed to create {}", deps.display()))?;
        let rlib = deps.join(format!("{stem}.rlib"));
        let own = self.cfgs.as_ref().map_or_else(Vec::new, |cfgs| {
            let cache_file = deps.join(format!("{stem}.sandbox-only.json"));
            crate::sandbox_only::of_library(cfgs, &record, &invocation, native, &cache_file)
        });
        let sandbox_only = merged(&own, &linked);
        let stamp = Stamp {
            path: deps.join(format!("{stem}.stamp")),
            value: stamp_value,
        };

        // Parallel cargo jobs may need the same library; one compiles, the others wait
        // and reuse it. Dependencies were compiled above, before taking this lock, so
        // locks are never nested and cannot deadlock.
        let lock_path = deps.join(format!("{stem}.lock"));
        let lock = File::create(&lock_path)
            .with_context(|| format!("failed to create {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("failed to lock {}", lock_path.display()))?;
        if rlib.is_file()
            && let Some(digest) = stamp.fresh_digest()
        {
            return Ok(GuestLibrary {
                rlib,
                digest,
                sandbox_only,
            });
        }
        let shared = self.shared.as_ref().zip(shared_key.as_ref());
        if let Some((shared, key)) = shared
            && shared.fetch(Kind::Twin, key, &rlib)
        {
            let digest = stamp.write(&rlib)?;
            return Ok(GuestLibrary {
                rlib,
                digest,
                sandbox_only,
            });
        }
        guest.push("--emit", format!("link={}", rlib.display()));
        guest.push("--out-dir", deps.display().to_string());
        guest.push("--cap-lints", "allow");
        guest.push("--color", "never");
        let slot = self.slots.acquire();
        let output = Command::new(&self.rustc)
            .args(guest.to_args())
            .current_dir(&record.cwd)
            .env_clear()
            .envs(record.replay_env())
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("failed to run {}", self.rustc.display()))?;
        if !output.status.success() {
            let diagnostics = String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_string();
            let facade_gap = self.facade_gap(
                &guest,
                &diagnostics,
                Some(&record.cwd),
                Some(record.replay_env()),
            );
            return Err(GuestDependencyFailed {
                crate_name: invocation.crate_name().unwrap_or(stem).to_string(),
                diagnostics,
                facade_gap,
            }
            .into());
        }
        drop(slot);
        let digest = stamp.write(&rlib)?;
        if let Some((shared, key)) = shared {
            // Sharing is an optimisation; a full disk must not fail the build.
            let _ = shared.store(Kind::Twin, key, &rlib);
        }
        Ok(GuestLibrary {
            rlib,
            digest,
            sandbox_only,
        })
    }

    /// The guest version of a native compile: retargeted, host-only options dropped, and
    /// every Rust library dependency replaced by its guest version (a twin compiled on
    /// demand, or what a nested cargo built).
    /// Returns the new invocation (without `--emit`/`--out-dir`) and the twins it links
    /// (none for libraries a nested cargo built).
    fn rewrite(
        &self,
        native: &Invocation,
        state: &StateDir,
        libraries: Libraries<'_>,
        diagnostics: Diagnostics,
    ) -> Result<(Invocation, Vec<GuestLibrary>), GuestCompileError> {
        let mut linked = Vec::new();
        let mut twins = match libraries {
            Libraries::Twins => self.twins(native)?,
            Libraries::Built(_) => BTreeMap::new(),
        };
        let mut native_search = Vec::new();
        let mut args = Vec::with_capacity(native.args.len() + 8);
        for arg in &native.args {
            match arg {
                Arg::Opt(opt, _)
                    if matches!(opt.as_str(), "--target" | "--out-dir" | "--emit" | "-o") =>
                {
                    continue;
                }
                Arg::Opt(opt, _)
                    if diagnostics == Diagnostics::Captured
                        && matches!(
                            opt.as_str(),
                            "--error-format" | "--json" | "--color" | "--diagnostic-width"
                        ) =>
                {
                    continue;
                }
                Arg::Opt(opt, value) if opt == "-C" && is_host_only_codegen(value) => continue,
                Arg::Opt(opt, value) if opt == "-L" && value.starts_with("dependency=") => {
                    native_search.push(value.clone());
                }
                Arg::Opt(opt, value) if opt == "--extern" => {
                    let external = Extern::parse(value);
                    match external
                        .path
                        .as_deref()
                        .filter(|path| is_rust_library_file(path))
                    {
                        Some(native_lib) => {
                            let rlib = match libraries {
                                Libraries::Twins => {
                                    let library = match twins.remove(native_lib) {
                                        Some(library) => library,
                                        // Named twice: the first took it.
                                        None => self.library(native_lib)?,
                                    };
                                    let rlib = library.rlib.clone();
                                    linked.push(library);
                                    rlib
                                }
                                Libraries::Built(built) => built
                                    .libraries
                                    .get(native_lib)
                                    .with_context(|| {
                                        format!("no guest build of {}", native_lib.display())
                                    })?
                                    .clone(),
                            };
                            args.push(Arg::Opt("--extern".into(), external.with_path(&rlib)));
                        }
                        // Proc macros stay native: they run inside the compiler.
                        None => args.push(arg.clone()),
                    }
                }
                _ => args.push(arg.clone()),
            }
        }
        let mut guest = Invocation { args };
        guest.push("--target", GUEST_TARGET);
        match libraries {
            Libraries::Twins => {
                guest.push("-L", format!("dependency={}", state.guest_deps().display()));
            }
            Libraries::Built(built) => {
                for dir in &built.search {
                    guest.push("-L", format!("dependency={}", dir.display()));
                }
            }
        }
        // After the guest libraries: a guest library that re-exports a proc macro names it
        // as a dependency, and its dependents find that native macro there. rustc skips
        // the native rlibs beside it because their target differs.
        for search in native_search {
            guest.push("-L", search);
        }
        for pair in self.toolchain_args.chunks(2) {
            if let [opt, value] = pair {
                guest.push(opt, value.clone());
            }
        }
        Ok((guest, linked))
    }
}

impl GuestCompiler {
    /// The twins of every Rust library `native` links, made on parallel threads (each
    /// recursing into its own dependencies the same way). The first error in argument
    /// order wins, so the diagnostics do not depend on which thread was faster.
    fn twins(
        &self,
        native: &Invocation,
    ) -> Result<BTreeMap<PathBuf, GuestLibrary>, GuestCompileError> {
        let mut paths = native.linked_libraries();
        paths.dedup();
        let Some((first, rest)) = paths.split_first() else {
            return Ok(BTreeMap::new());
        };
        let results: Vec<Result<GuestLibrary, GuestCompileError>> = std::thread::scope(|scope| {
            let others: Vec<_> = rest
                .iter()
                .map(|path| scope.spawn(move || self.library(path)))
                .collect();
            let mut results = vec![self.library(first)];
            results.extend(others.into_iter().map(|thread| {
                thread.join().unwrap_or_else(|_| {
                    Err(
                        anyhow::anyhow!("compiling a build-dependency for {GUEST_TARGET} panicked")
                            .into(),
                    )
                })
            }));
            results
        });
        paths
            .into_iter()
            .zip(results)
            .map(|(path, library)| library.map(|library| (path, library)))
            .collect()
    }
}

/// `own` and what every library in `linked` carries, each once, in order.
fn merged(own: &[SandboxOnlyCode], linked: &[GuestLibrary]) -> Vec<SandboxOnlyCode> {
    let mut all: Vec<SandboxOnlyCode> = own.to_vec();
    for code in linked.iter().flat_map(|library| &library.sandbox_only) {
        if !all.contains(code) {
            all.push(code.clone());
        }
    }
    all
}

/// What a twin in a target directory was made from (its shared key, or
/// [`local_stamp`]), and the digest of the rlib made from it.
struct Stamp {
    path: PathBuf,
    value: String,
}

impl Stamp {
    /// The rlib's digest, when the stamp file says it was made from these inputs.
    fn fresh_digest(&self) -> Option<String> {
        let text = fs::read_to_string(&self.path).ok()?;
        let (value, digest) = text.split_once('\n')?;
        (value == self.value && !digest.is_empty()).then(|| digest.to_string())
    }

    /// Records that `rlib` was made from these inputs; returns its digest.
    fn write(&self, rlib: &Path) -> Result<String> {
        let digest = crate::facade::file_digest(rlib)?;
        fs::write(&self.path, format!("{}\n{digest}", self.value))
            .with_context(|| format!("failed to write {}", self.path.display()))?;
        Ok(digest)
    }
}

/// The stamp of a twin that has no shared key: unique per native compile (a path
/// dependency rebuilt under the same file name gets a new one), the facade and the twins
/// it links.
fn local_stamp(record_id: &str, toolchain_key: &str, linked: &[&str]) -> String {
    let mut digest = Sha256::new();
    for part in [record_id, toolchain_key]
        .into_iter()
        .chain(linked.iter().copied())
    {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    digest
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `invocation` changed to type-check only, into `scratch`, quietly: no outputs, no
/// diagnostics format of cargo's, no lints.
pub(crate) fn type_check_only(invocation: &Invocation, scratch: &Path) -> Invocation {
    const OUTPUTS: &[&str] = &[
        "--emit",
        "--out-dir",
        "-o",
        "--error-format",
        "--json",
        "--color",
        "--diagnostic-width",
        "--cap-lints",
    ];
    let mut check = invocation.clone();
    check.retain(|arg| match arg {
        Arg::Opt(opt, value) if opt == "-C" => !value.starts_with("incremental"),
        Arg::Opt(opt, _) => !OUTPUTS.contains(&opt.as_str()),
        Arg::Plain(_) => true,
    });
    check.push("--emit", "metadata");
    check.push("--out-dir", scratch.display().to_string());
    check.push("--cap-lints", "allow");
    check
}

/// Rustc's diagnostics as text: the `rendered` field of each JSON message (without its
/// colours), other lines as they are.
pub(crate) fn rendered(stderr: &str) -> String {
    let mut text = String::new();
    for line in stderr.lines() {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(message) => {
                if let Some(rendered) = message.get("rendered").and_then(|r| r.as_str()) {
                    text.push_str(&without_colours(rendered));
                }
            }
            Err(_) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text
}

/// `text` without its colours (SGR sequences, `ESC [ ... m`), which rustc adds when cargo
/// asks for them and the tool's writer decides on instead. Any other control stays, to
/// be shown inert with the rest of what rustc quoted.
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\u{1b}[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        match end {
            Some(end) if after[end..].starts_with('m') => rest = &after[end + 1..],
            _ => {
                out.push('\u{1b}');
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `-C <value>` only makes sense for the host.
pub fn is_host_only_codegen(value: &str) -> bool {
    let key = value.split_once('=').map_or(value, |(key, _)| key);
    HOST_ONLY_CODEGEN.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_diagnostics_are_rendered_as_text_without_colours() {
        let stderr = concat!(
            r#"{"$message_type":"diagnostic","message":"x","rendered":"\u001b[0m\u001b[1m\u001b[38;5;9merror[E0308]\u001b[0m: mismatched types\n"}"#,
            "\n",
            r#"{"$message_type":"artifact","artifact":"a"}"#,
            "\nplain line\n"
        );
        assert_eq!(
            rendered(stderr),
            "error[E0308]: mismatched types\nplain line\n"
        );
    }

    #[test]
    fn only_colours_are_dropped_and_other_controls_kept() {
        assert_eq!(
            without_colours("\u{1b}[1m\u{1b}[91merror[E0308]\u{1b}[0m: x \u{1b}[2J y"),
            "error[E0308]: x \u{1b}[2J y"
        );
    }

    #[test]
    fn host_only_codegen_is_recognised() {
        assert!(is_host_only_codegen("linker=clang"));
        assert!(is_host_only_codegen("target-cpu=native"));
        assert!(is_host_only_codegen("prefer-dynamic"));
        assert!(!is_host_only_codegen("opt-level=3"));
        assert!(!is_host_only_codegen("metadata=abc"));
    }
}
