//! The `RUSTC_WRAPPER` half of cargo wasm-build.
//!
//! Cargo runs `cargo-wasm-build <rustc> <args>` for every compile. Most compiles pass
//! straight through to rustc (libraries are recorded on the way, see [`record`]). A
//! build-script compile is replaced: the script is compiled for wasm32-wasip1 instead, its
//! module precompiled into the cache, and a stand-in that runs it in the sandbox is put
//! where cargo expects the script's executable.
//!
//! The wrapper also appends a line to `rustc -vV`, which cargo hashes into every unit's
//! metadata: artifacts of sandboxed builds get their own file names, so a plain
//! `cargo build` in the same target directory never reuses a stand-in, and switching back
//! and forth rebuilds nothing twice.

#![allow(
    clippy::disallowed_methods,
    reason = "the wrapper is cargo's RUSTC_WRAPPER: it runs the user's rustc with the environment cargo gave it"
)]

mod cfg;
mod cfg_scan;
mod digest_memo;
pub mod facade;
pub mod guest;
pub mod guest_cargo;
mod guest_target;
pub mod host_cfg;
pub mod invocation;
mod job_slots;
pub mod lazy;
mod library_cache;
mod read_set;
pub mod record;
mod sandbox_only;
mod script_cache;
pub mod stale;
pub mod state;
pub mod toolchain;
mod twin_key;

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, anyhow};
use wasm_build_cache::ArtifactCache;
use wasm_build_contract::audit::{self, RunError, RunRecord};
use wasm_build_contract::cargo::CargoPackage;
use wasm_build_contract::manifest::{Script, StandIn};
use wasm_build_contract::vars::{AUDIT_LOG_ENV, INNER_WRAPPER_ENV};
use wasm_build_contract::{Code, PolicyFile};
use wasm_build_diagnostics::Diag as _;
use wasm_build_diagnostics::color::Painter;
use wasm_build_diagnostics::compile::{
    DeferredLibraryFailed, MisansweredCfg, MisansweredCfgs, NeedsNative, Package,
};
use wasm_build_permissions_schema::{Capability, GrantSite, grant_help};
use wasm_build_policy::run_natively::runs_natively;
use wasm_build_runtime::{ModuleCache, SandboxEngine};

use crate::cfg_scan::CfgUse;
use crate::facade::{Facade, FacadeGap};
use crate::guest::{
    CompiledScript, GuestCompileError, GuestCompiler, GuestDependencyFailed, Libraries,
    ScriptCompileFailed, is_host_only_codegen, type_check_only,
};
use crate::guest_cargo::{NestedBuildFailed, NestedCargoError};
use crate::host_cfg::{HostCfgs, Misanswered, PLATFORM_NAMES};
use crate::invocation::Arg;
use crate::invocation::Invocation;
use crate::library_cache::LibraryCompile;
use crate::record::Record;
use crate::state::StateDir;

/// Handles one compile cargo hands to the wrapper; `argv` is everything after the
/// wrapper's own path: the compiler (possibly behind a workspace wrapper such as
/// clippy-driver) and its arguments. Returns the exit status for cargo.
///
/// # Errors
///
/// Fails when a build script cannot be turned into a sandboxed one; the error says why.
pub fn run(argv: &[OsString]) -> Result<i32> {
    let command = Compiler::split(argv)?;
    let Some(args) = command.utf8_args() else {
        // Cargo's own arguments are UTF-8; anything else came from the user and is not
        // a compile the wrapper needs to look at.
        return command.exec_native();
    };
    if args == ["-vV"] {
        return command.version();
    }
    let Ok(invocation) = Invocation::parse(&args) else {
        return command.exec_native();
    };
    if invocation.is_build_script() {
        return compile_build_script(&command, &invocation);
    }
    if let Some(facade_args) = guest_cargo::facade_args_for(&invocation) {
        return command.exec_guest(invocation, &facade_args);
    }
    if invocation.is_rust_library() {
        record_library(&invocation, &args)?;
        if let Some(depth) = lazy::deferred_depth(&invocation)
            && let Some(status) = lazy::compile_deferred(&command.rustc(), &invocation, depth)?
        {
            return Ok(status);
        }
    }
    if let Err(status) = make_linked_real(&command, &invocation) {
        return Ok(status);
    }
    if command.is_plain_rustc()
        && let Some(library) = LibraryCompile::of(&command.rustc(), &args, &invocation)
        && let Ok(Some(store)) = ArtifactCache::from_env()
    {
        return Ok(library.run(&store)?);
    }
    command.exec_native()
}

/// Compiles for real the deferred libraries a native compile links (see [`lazy`]); on
/// failure, says so and returns the status for cargo.
fn make_linked_real(command: &Compiler<'_>, invocation: &Invocation) -> Result<(), i32> {
    let Err(error) = lazy::make_real(&command.rustc(), invocation) else {
        return Ok(());
    };
    let (library, details) = match &error {
        lazy::MakeRealError::Failed {
            library,
            diagnostics,
        } => (library.as_str(), diagnostics.clone()),
        lazy::MakeRealError::Unavailable { library, .. } => (library.as_str(), error.to_string()),
    };
    let package = CargoPackage::from_env().unwrap_or_default();
    let mut needed_by = format!("{} v{}", package.name, package.version);
    if invocation.is_build_script() {
        needed_by.push_str("'s build script");
    }
    let said = DeferredLibraryFailed {
        library,
        needed_by: &needed_by,
        details: &details,
    };
    let _ = writeln!(std::io::stderr(), "{}", said.render(painter()));
    Err(1)
}

/// The compiler cargo asked for and its arguments.
struct Compiler<'a> {
    /// `[rustc]`, or `[workspace-wrapper, rustc]` for workspace members under
    /// `RUSTC_WORKSPACE_WRAPPER` (clippy-driver).
    chain: Vec<&'a OsString>,
    args: &'a [OsString],
}

impl<'a> Compiler<'a> {
    fn split(argv: &'a [OsString]) -> Result<Self> {
        let (first, rest) = argv.split_first().ok_or_else(|| {
            anyhow!("cargo-wasm-build was run as RUSTC_WRAPPER without a compiler to wrap")
        })?;
        let wrapped = rest.first().is_some_and(|next| is_rustc(Path::new(next)));
        Ok(if wrapped && !is_rustc(Path::new(first)) {
            Compiler {
                chain: vec![first, &rest[0]],
                args: &rest[1..],
            }
        } else {
            Compiler {
                chain: vec![first],
                args: rest,
            }
        })
    }

    /// The real rustc, for guest compiles: a workspace wrapper's lints are for the host
    /// build, and the guest compile is an implementation detail.
    fn rustc(&self) -> PathBuf {
        PathBuf::from(self.chain[self.chain.len() - 1])
    }

    fn utf8_args(&self) -> Option<Vec<String>> {
        self.args
            .iter()
            .map(|arg| arg.to_str().map(String::from))
            .collect()
    }

    /// The user's own `RUSTC_WRAPPER` (sccache), which native compiles go through.
    fn inner_wrapper() -> Option<OsString> {
        std::env::var_os(INNER_WRAPPER_ENV).filter(|inner| !inner.is_empty())
    }

    /// Whether the native compile is rustc alone: no user wrapper around it, no workspace
    /// wrapper (clippy-driver) in its place.
    fn is_plain_rustc(&self) -> bool {
        self.chain.len() == 1 && Self::inner_wrapper().is_none()
    }

    /// Replaces this process with the native compile, through the user's own wrapper if
    /// they had one.
    fn exec_native(&self) -> Result<i32> {
        let mut program = self.chain.iter().copied().cloned().collect::<Vec<_>>();
        if let Some(inner) = Self::inner_wrapper() {
            program.insert(0, inner);
        }
        let err = Command::new(&program[0])
            .args(&program[1..])
            .args(self.args)
            .exec();
        Err(anyhow!(err).context(format!(
            "failed to run {}",
            Path::new(&program[0]).display()
        )))
    }

    /// Replaces this process with a guest library compile of a nested cargo: the std
    /// facade added, options meant for the host (the user's `-C target-cpu=native`)
    /// dropped.
    fn exec_guest(&self, mut invocation: Invocation, facade_args: &[String]) -> Result<i32> {
        invocation.retain(|arg| !matches!(arg, Arg::Opt(opt, value) if opt == "-C" && is_host_only_codegen(value)));
        let rustc = self.rustc();
        let err = Command::new(&rustc)
            .args(invocation.to_args())
            .args(facade_args)
            .exec();
        Err(anyhow!(err).context(format!("failed to run {}", rustc.display())))
    }

    /// Whether cargo's compile type-checks as cargo asked for it (natively): if the
    /// sandbox's compile of a build script fails and this does too, the error is the
    /// script's own. Nothing is kept; when the check cannot run, the answer is no.
    fn type_checks(&self, invocation: &Invocation) -> bool {
        let Ok(scratch) = tempfile::tempdir() else {
            return false;
        };
        Command::new(self.rustc())
            .args(type_check_only(invocation, scratch.path()).to_args())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// `rustc -vV` plus a line naming the tool, which cargo hashes into every unit.
    fn version(&self) -> Result<i32> {
        let output = Command::new(self.chain[0])
            .args(&self.chain[1..])
            .args(self.args)
            .output()
            .with_context(|| format!("failed to run {}", self.rustc().display()))?;
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&output.stdout)?;
        if output.status.success() {
            writeln!(
                stdout,
                "cargo-wasm-build: {} (build scripts sandboxed in wasm32-wasip1)",
                env!("CARGO_PKG_VERSION")
            )?;
        }
        std::io::stderr().write_all(&output.stderr)?;
        Ok(output.status.code().unwrap_or(1))
    }
}

fn is_rustc(path: &Path) -> bool {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .is_some_and(|stem| stem == "rustc" || stem.starts_with("rustc-"))
}

fn record_library(invocation: &Invocation, args: &[String]) -> Result<()> {
    let (Some(stem), Some(out_dir)) = (invocation.library_stem(), invocation.out_dir()) else {
        return Ok(());
    };
    let Some(state) = StateDir::for_deps_dir(out_dir) else {
        return Ok(());
    };
    Record::capture(args)?.store(&state.records(), &stem)
}

fn compile_build_script(command: &Compiler<'_>, invocation: &Invocation) -> Result<i32> {
    let out_dir = invocation
        .out_dir()
        .context("cargo gave the build script no --out-dir")?;
    let state = StateDir::for_build_script_dir(out_dir)
        .context("the build script's --out-dir is not inside a cargo target directory")?;
    let stem = format!(
        "{}{}",
        invocation.crate_name().unwrap_or("build_script_build"),
        invocation.extra_filename()
    );
    let executable = out_dir.join(&stem);
    let package = PackageEnv::from_env();
    let audit_log =
        std::env::var_os(AUDIT_LOG_ENV).map_or_else(|| state.audit_log(), PathBuf::from);
    // The same decision the stand-in makes before running a native script.
    if runs_natively(&package.policy) {
        if let Err(status) = make_linked_real(command, invocation) {
            return Ok(status);
        }
        return compile_native(command, &executable, out_dir, &audit_log);
    }

    let rustc = command.rustc();
    // The CLI warned once if the user's cache cannot be used; here it only costs speed.
    let shared = ArtifactCache::from_env().ok().flatten();
    let facade = Facade::for_rustc(&rustc, &state.shim(), shared.as_ref())?;
    let cfg_memo = state.root().join("cfg");
    let host_cfgs =
        HostCfgs::probe_memoised(&rustc, invocation, Some((&cfg_memo, facade.key.as_str())))?;
    let compiler = GuestCompiler::new(rustc, facade.rustc_args(), facade.digest.clone())
        .with_script_args(host_cfgs.script_args())
        .with_cfgs(host_cfgs.clone())
        .with_shared(shared.clone());
    let compiled = match compiler.build_script(invocation, Libraries::Twins) {
        // A nested cargo builds against the same facade: it cannot get around a gap.
        Err(GuestCompileError::Dependency(failure)) if failure.facade_gap.is_none() => {
            let guest = GuestBuild {
                compiler: &compiler,
                invocation,
                state: &state,
                facade: &facade,
            };
            guest.with_nested_cargo(failure, &package)
        }
        other => other.map_err(Unbuildable::from),
    };
    let compiled = match compiled {
        Ok(compiled) => compiled,
        Err(Unbuildable::Script(failure))
            if failure.facade_gap.is_none()
                && make_linked_real(command, invocation).is_ok()
                && !command.type_checks(invocation) =>
        {
            // The script's own error, which `cargo build` shows the same: rustc's
            // diagnostics went to cargo, and there is nothing more to say.
            return Ok(failure.status);
        }
        Err(unbuildable) => return cannot_compile_for_wasm(unbuildable, &package, &audit_log),
    };
    let wasm = compiled.wasm;
    let misanswered = host_cfgs.misanswered(&script_cfg_uses(&wasm.with_extension("d")));
    if !misanswered.is_empty() {
        return Ok(refuse_misanswered_cfgs(&misanswered, &package, &audit_log));
    }
    let bytes = fs::read(&wasm).with_context(|| format!("failed to read {}", wasm.display()))?;
    let cache = ModuleCache::new(state.modules()).with_shared(shared);
    let module_key = cache.precompile(&SandboxEngine::get()?, &bytes)?;
    install_stand_in(&executable)?;
    let script = Script::Wasm {
        module: wasm,
        module_key,
        module_cache: state.modules(),
    };
    StandIn::new(script, audit_log)
        .for_guest(guest_cargo::is_nested())
        .sandbox_only(compiled.sandbox_only)
        .write(out_dir)?;
    Ok(0)
}

/// Why a build script cannot be compiled for the guest.
enum Unbuildable {
    /// A build-dependency's twin failed, and no nested cargo could be tried.
    Twin(GuestDependencyFailed),
    /// The twins failed, and so did the nested cargo.
    NestedCargo(NestedCargoError),
    /// The build script itself does not compile for the guest.
    Script(ScriptCompileFailed),
    /// Anything else: not a property of the dependencies.
    Other(anyhow::Error),
}

impl From<GuestCompileError> for Unbuildable {
    fn from(error: GuestCompileError) -> Self {
        match error {
            GuestCompileError::Dependency(failure) => Unbuildable::Twin(failure),
            GuestCompileError::Script(failure) => Unbuildable::Script(failure),
            GuestCompileError::Other(error) => Unbuildable::Other(error),
        }
    }
}

/// A build script's compile for the guest.
struct GuestBuild<'a> {
    compiler: &'a GuestCompiler,
    invocation: &'a Invocation,
    state: &'a StateDir,
    facade: &'a Facade,
}

impl GuestBuild<'_> {
    /// The twins of the build-dependencies did not compile (`twin_error`): let a nested
    /// cargo build them for the guest (see [`guest_cargo`]), then compile the script
    /// against those.
    fn with_nested_cargo(
        &self,
        twin_error: GuestDependencyFailed,
        package: &PackageEnv,
    ) -> Result<CompiledScript, Unbuildable> {
        // Inside a nested cargo, or without a workspace to take the lock file from, the
        // twins' failure is the answer.
        let root_manifest = match (&package.grant_site.manifest, guest_cargo::is_nested()) {
            (Some(manifest), false) => manifest,
            _ => return Err(Unbuildable::Twin(twin_error)),
        };
        let built = guest_cargo::build(
            self.invocation,
            self.state,
            root_manifest,
            self.compiler.rustc(),
            &self.facade.rlib,
        )
        .map_err(Unbuildable::NestedCargo)?;
        self.compiler
            .build_script(self.invocation, Libraries::Built(&built))
            .map_err(Unbuildable::from)
    }
}

/// The package whose build script is being compiled, from the environment cargo gives
/// rustc, with its policy.
struct PackageEnv {
    cargo: CargoPackage,
    policy: wasm_build_contract::Policy,
    /// Where the consumer's grants go, for the hints in denials.
    grant_site: GrantSite,
}

impl PackageEnv {
    fn from_env() -> Self {
        // Cargo sets these for every compile; without them nothing matches a policy.
        let cargo = CargoPackage::from_env().unwrap_or_default();
        // Without a readable policy the defaults apply, and they grant nothing.
        let file = PolicyFile::from_env().unwrap_or_default();
        let policy = file.policy_for(&cargo.manifest_dir);
        PackageEnv {
            cargo,
            policy,
            grant_site: file.grant_site,
        }
    }
}

/// The consumer granted `run-natively`: compile the script as cargo asked, keep it
/// beside the stand-in, and let the stand-in run it confined.
fn compile_native(
    command: &Compiler<'_>,
    executable: &Path,
    out_dir: &Path,
    audit_log: &Path,
) -> Result<i32> {
    let status = Command::new(command.chain[0])
        .args(&command.chain[1..])
        .args(command.args)
        .status()
        .with_context(|| format!("failed to run {}", command.rustc().display()))?;
    if !status.success() {
        return Ok(status.code().unwrap_or(1));
    }
    let binary = executable.with_extension("native");
    fs::rename(executable, &binary)
        .with_context(|| format!("failed to move {}", executable.display()))?;
    install_stand_in(executable)?;
    StandIn::new(Script::Native { binary }, audit_log.to_path_buf())
        .for_guest(guest_cargo::is_nested())
        .write(out_dir)?;
    Ok(0)
}

/// Why a build script cannot be compiled for the guest, in words.
struct Unbuilt {
    /// Why, after "cannot run in the wasm sandbox: ".
    reason: String,
    /// What fails to compile: `the build script` or `its build-dependency `x``.
    culprit: String,
    /// rustc's or cargo's diagnostics, unless cargo showed them already.
    diagnostics: Option<String>,
    /// What the std facade lacks, when that is why.
    facade_gap: Option<FacadeGap>,
}

impl Unbuilt {
    fn of(unbuildable: Unbuildable) -> Result<Self> {
        let dependency = |name: &str| format!("its build-dependency `{name}`");
        Ok(match unbuildable {
            Unbuildable::Twin(failure) => Unbuilt {
                reason: format!(
                    "{} does not compile for wasm32-wasip1",
                    dependency(&failure.crate_name)
                ),
                culprit: dependency(&failure.crate_name),
                diagnostics: Some(failure.diagnostics),
                facade_gap: failure.facade_gap,
            },
            Unbuildable::NestedCargo(NestedCargoError::Failed(NestedBuildFailed {
                package,
                diagnostics,
            })) => {
                let culprit = package
                    .as_deref()
                    .map_or_else(|| "its build-dependencies".to_string(), dependency);
                let verb = if package.is_some() { "does" } else { "do" };
                Unbuilt {
                    reason: format!("{culprit} {verb} not compile for wasm32-wasip1"),
                    facade_gap: FacadeGap::named_in(&diagnostics),
                    culprit,
                    diagnostics: Some(diagnostics),
                }
            }
            Unbuildable::NestedCargo(NestedCargoError::Other(err)) => Unbuilt {
                reason: "its build-dependencies could not be built for wasm32-wasip1".into(),
                culprit: "its build-dependencies".into(),
                diagnostics: Some(format!("{err:#}")),
                facade_gap: None,
            },
            Unbuildable::Script(failure) => Unbuilt {
                reason: "it does not compile for wasm32-wasip1 (rustc's errors are above)".into(),
                culprit: "the build script".into(),
                diagnostics: None,
                facade_gap: failure.facade_gap,
            },
            Unbuildable::Other(err) => return Err(err),
        })
    }
}

/// A build script or build-dependency does not compile for the guest: explain, and fail
/// the compile. When the std facade is why, that is this tool's bug ([`facade_gap`]);
/// otherwise wasm cannot run it ([`needs_native`]).
fn cannot_compile_for_wasm(
    unbuildable: Unbuildable,
    package: &PackageEnv,
    audit_log: &Path,
) -> Result<i32> {
    let unbuilt = Unbuilt::of(unbuildable)?;
    match &unbuilt.facade_gap {
        Some(gap) => facade_gap(gap, &unbuilt, package, audit_log),
        None => needs_native(&unbuilt, package, audit_log),
    }
}

/// wasm32-wasip1 cannot compile the script or a build-dependency: explain, record that
/// running natively is pending review (so `approve` can offer it, by name), and fail.
fn needs_native(unbuilt: &Unbuilt, package: &PackageEnv, audit_log: &Path) -> Result<i32> {
    let capability = Capability::RunNatively;
    let help = run_natively_help(package);
    let diagnostic = NeedsNative {
        package: package_of(package),
        reason: &unbuilt.reason,
        diagnostics: unbuilt.diagnostics.as_deref(),
        run_natively_help: &help,
    };
    let (text, message) = (diagnostic.render(painter()), diagnostic.message());
    report(
        &text,
        package,
        audit_log,
        Code::W105,
        message,
        vec![capability],
    );
    Ok(1)
}

/// The std facade lacks what the script or a build-dependency uses: a bug of this tool,
/// reported as such with the item named. Nothing is pending: no grant fixes it, so
/// `approve` offers nothing; the note names the one way around it, for the user to write.
fn facade_gap(
    gap: &FacadeGap,
    unbuilt: &Unbuilt,
    package: &PackageEnv,
    audit_log: &Path,
) -> Result<i32> {
    let spec = package
        .policy
        .grant_spec(&package.cargo.name, &package.cargo.version);
    let diagnostic = wasm_build_diagnostics::compile::FacadeGap {
        package: package_of(package),
        culprit: &unbuilt.culprit,
        item: gap.item.as_deref(),
        error: &gap.error,
        repository: env!("CARGO_PKG_REPOSITORY"),
        diagnostics: unbuilt.diagnostics.as_deref(),
        spec: &spec,
    };
    let (text, message) = (diagnostic.render(painter()), diagnostic.message());
    report(&text, package, audit_log, Code::W408, message, Vec::new());
    Ok(1)
}

/// Shows `text` (rendered inert by the diagnostics crate: it quotes the crates' code) and
/// records the failed compile.
fn report(
    text: &str,
    package: &PackageEnv,
    audit_log: &Path,
    code: Code,
    message: String,
    pending: Vec<Capability>,
) {
    let _ = std::io::stderr().write_all(text.as_bytes());
    audit::append(
        audit_log,
        &RunRecord::finished(
            &package.cargo,
            1,
            vec![RunError::new(code, message)],
            pending,
        ),
    );
}

/// The `#[cfg]` attributes in the sources rustc read for a build script (listed in its
/// dep-info file). A source that cannot be read was read by rustc a moment ago; it is
/// skipped rather than failing the build over a race with an editor.
fn script_cfg_uses(dep_info: &Path) -> Vec<CfgUse> {
    let Ok(dep_info) = fs::read_to_string(dep_info) else {
        return Vec::new();
    };
    cfg_scan::crate_sources(&dep_info)
        .into_iter()
        .filter_map(|source| {
            let text = fs::read_to_string(&source).ok()?;
            Some(cfg_scan::attribute_cfgs(&source, &text))
        })
        .flatten()
        .collect()
}

/// The build script's `#[cfg]` attributes ask what the sandbox cannot answer as the host
/// would: refuse it (W109), naming each attribute, and record that running natively is
/// pending review so `approve` can offer it.
fn refuse_misanswered_cfgs(
    misanswered: &[Misanswered],
    package: &PackageEnv,
    audit_log: &Path,
) -> i32 {
    let capability = Capability::RunNatively;
    let cfgs: Vec<(String, String)> = misanswered
        .iter()
        .map(|found| (found.at.predicate.to_string(), found.cfg.to_string()))
        .collect();
    let found: Vec<MisansweredCfg<'_>> = misanswered
        .iter()
        .zip(&cfgs)
        .map(|(found, (predicate, cfg))| MisansweredCfg {
            file: &found.at.file,
            line: found.at.line,
            predicate,
            cfg,
            host: found.host,
            why: why_misanswered(&found.cfg.name),
        })
        .collect();
    let help = run_natively_help(package);
    let diagnostic = MisansweredCfgs {
        package: package_of(package),
        found: &found,
        run_natively_help: &help,
    };
    let (text, message) = (diagnostic.render(painter()), diagnostic.message());
    // The predicates and paths are the crate's text: the diagnostic shows them inert.
    report(
        &text,
        package,
        audit_log,
        Code::W109,
        message,
        vec![capability],
    );
    1
}

/// How to grant `run-natively` to the package, and what it gives up (without the final
/// line break, so a caller can go on with its own advice).
fn run_natively_help(package: &PackageEnv) -> String {
    wasm_build_diagnostics::compile::run_natively_help(&grant_help(
        &package.grant_site,
        &package
            .policy
            .grant_spec(&package.cargo.name, &package.cargo.version),
        &[Capability::RunNatively],
        package.policy.allow_table.as_deref(),
    ))
}

/// The package, as the diagnostics name it.
fn package_of(package: &PackageEnv) -> Package<'_> {
    Package {
        name: &package.cargo.name,
        version: &package.cargo.version,
    }
}

/// Colour as the CLI decided it for the build (a wrapper's stderr is cargo's pipe).
fn painter() -> Painter {
    Painter::new(audit::coloured_by_env())
}

/// Why the sandbox answers a cfg name differently, for the W109 text.
fn why_misanswered(name: &str) -> &'static str {
    if PLATFORM_NAMES.contains(&name) {
        " (wasm's own value stays set beside the host's)"
    } else {
        " (it describes the code compiled for wasm, not the host)"
    }
}

/// Puts the stand-in where cargo expects the compiled build script: a two-line shell
/// script that runs this tool on the module beside it.
///
/// It must be a file of its own: cargo decides whether a build script is stale by the
/// modification time of its executable, and a hard link to the tool would carry the
/// tool's (old) time and make every script look older than its dependencies.
fn install_stand_in(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let exe = std::env::current_exe().context("failed to locate cargo-wasm-build itself")?;
    let exe = exe
        .to_str()
        .context("the path of cargo-wasm-build is not UTF-8; install it elsewhere")?;
    let script = format!(
        "#!/bin/sh\n# cargo-wasm-build stand-in: runs this build script's wasm module in the sandbox.\nexec {} {} \"$0\" \"$@\"\n",
        wasm_build_diagnostics::shell::quote(exe),
        wasm_build_contract::manifest::STANDIN_ARG
    );
    let temp = path.with_extension("standin-tmp");
    fs::write(&temp, script).with_context(|| format!("failed to write {}", temp.display()))?;
    fs::set_permissions(&temp, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("failed to make {} executable", temp.display()))?;
    fs::rename(&temp, path)
        .with_context(|| format!("failed to put the sandbox stand-in at {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_in_is_a_fresh_executable_file_that_runs_the_tool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build_script_build-0123");
        install_stand_in(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"));
        assert!(
            text.contains(" --wasm-build-standin \"$0\" \"$@\""),
            "{text}"
        );
        let exe = std::env::current_exe().unwrap();
        assert_ne!(
            fs::metadata(&path).unwrap().modified().unwrap(),
            fs::metadata(exe).unwrap().modified().unwrap(),
            "cargo compares this file's modification time with its dependencies'"
        );
    }
}
