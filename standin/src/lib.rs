//! The native stand-in cargo runs in place of a build script.
//!
//! The wrapper puts a small script where cargo expects the compiled build script, and a
//! [`StandIn`] manifest beside it. When cargo runs the "build script", the script starts
//! the tool with [`STANDIN_ARG`](wasm_build_contract::manifest::STANDIN_ARG) and its own
//! path; [`run`] reads the policy, runs the wasm module in the sandbox
//! (`wasm-build-runtime`), judges every directive it printed ([`judge`]), prints the ones
//! that pass for cargo, and appends what happened to the audit log. A run the
//! [`run_cache`] holds is restored instead of run, and judged the same way.

pub mod directive;
mod exports;
pub mod judge;
mod out_dir;
mod rerun;
pub mod run_cache;
mod sandbox_only;
mod system_reads;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use wasm_build_permissions_schema::hygiene::normalize_path;
use wasm_build_permissions_schema::{Capability, EnvPattern, GrantSite, grant_help};

use wasm_build_contract::Code;
use wasm_build_contract::audit::{self, RunError, RunRecord};
use wasm_build_contract::cargo::{CargoPackage, cargo_home, cargo_var};
use wasm_build_contract::env::{is_ambient, sandbox_env};
use wasm_build_contract::inert::{Inert, for_cargo_to_print};
use wasm_build_contract::manifest::{Script, StandIn};
use wasm_build_contract::policy::{EnvOrigin, Policy, PolicyFile, Verdict};
use wasm_build_contract::vars::DISCOVERY_ENV;
use wasm_build_diagnostics::Diag as _;
use wasm_build_diagnostics::color::Painter;
use wasm_build_diagnostics::script::{Failure, ScriptFailed};
use wasm_build_runtime::broker::{ExecContext, toolchain_of};
use wasm_build_runtime::network::NetworkReport;
use wasm_build_runtime::sandbox::{
    Access, Exit, Preopen, RunOutput, Sandbox, build_script_preopens,
};
use wasm_build_runtime::{ModuleCache, SandboxEngine};

use crate::directive::Directive;
use crate::exports::exported_dirs;
use crate::judge::RunContext;

/// The package whose build script is running, as cargo describes it in the environment.
#[derive(Debug, Clone)]
struct Package {
    cargo: CargoPackage,
    out_dir: PathBuf,
}

impl Package {
    fn from_env() -> Result<Self> {
        Ok(Package {
            cargo: CargoPackage::from_env()?,
            out_dir: cargo_var("OUT_DIR")?.into(),
        })
    }
}

/// What a script did that needs a capability nobody reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    /// Started a program (the command line), or set a variable for one.
    Ran(String),
    /// Printed a directive (the line).
    Printed(String),
    /// Looked up a hidden variable (its name), in strict mode.
    LookedUp(String),
    /// Looked for a path that exists but is hidden (the path), in strict mode.
    LookedFor(String),
    /// Tried to write a path outside what it may write (the path).
    Wrote(String),
    /// A program it ran asked the network proxy for a connection the grant does not reach
    /// (the program, `host:port`, and why it was refused).
    Connected {
        /// The program, as its grant names it.
        program: String,
        /// `host:port` as the program named it.
        authority: String,
        /// Why the proxy refused it.
        why: String,
    },
}

/// What the directive filter decided about one run's stdout.
#[derive(Debug, Default)]
struct Filtered {
    /// The lines cargo gets.
    stdout: Vec<u8>,
    /// Pending capabilities: the build fails until they are granted or denied.
    pending: Vec<(Attempt, Capability)>,
    /// Lines that can never pass, with why.
    forbidden: Vec<(String, &'static str)>,
    /// Lines dropped because the consumer denied what they need.
    refused: Vec<String>,
    /// Lines dropped because they are unsafe to pass and unneeded, with why.
    dropped: Vec<String>,
}

fn filter(policy: &Policy, ctx: &RunContext, stdout: &[u8]) -> Filtered {
    let mut filtered = Filtered::default();
    let mut kept: Vec<Cow<'_, [u8]>> = Vec::new();
    for line in directive::parse(stdout) {
        let text = || String::from_utf8_lossy(line.raw).trim().to_string();
        let verdict = match &line.directive {
            Some((_, directive)) => ctx.judge(policy, directive),
            None => Verdict::Allowed,
        };
        match verdict {
            Verdict::Allowed => kept.push(printable_by_cargo(&line)),
            Verdict::Learning(capability) => {
                kept.push(printable_by_cargo(&line));
                filtered
                    .pending
                    .push((Attempt::Printed(text()), capability));
            }
            Verdict::Pending(capability) => filtered
                .pending
                .push((Attempt::Printed(text()), capability)),
            Verdict::Refused(_) => filtered.refused.push(text()),
            Verdict::Forbidden(why) => filtered.forbidden.push((text(), why)),
            Verdict::Dropped(why) => filtered.dropped.push(format!("{}: {why}", text())),
        }
    }
    // Splitting on `\n` leaves an empty last piece after a final newline, so joining the
    // kept pieces restores the script's own line endings.
    filtered.stdout = kept.join(&b'\n');
    filtered
}

/// The line as cargo gets it: verbatim, except that cargo prints the text of a `warning`
/// and an `error` to the terminal as it is, so there what would steer the terminal is
/// escaped ([`for_cargo_to_print`]). The whitespace cargo trims off stays as it was.
fn printable_by_cargo<'a>(line: &directive::Line<'a>) -> Cow<'a, [u8]> {
    let printed = matches!(
        line.directive,
        Some((_, Directive::Warning(_) | Directive::Error(_)))
    );
    let Some(text) = std::str::from_utf8(line.raw).ok().filter(|_| printed) else {
        return Cow::Borrowed(line.raw);
    };
    let trimmed = text.trim();
    let Cow::Owned(shown) = for_cargo_to_print(trimmed) else {
        return Cow::Borrowed(line.raw);
    };
    let start = text.len() - text.trim_start().len();
    let end = start + trimmed.len();
    Cow::Owned([&text[..start], &shown, &text[end..]].concat().into_bytes())
}

/// The variables a script sees without a grant, besides cargo's: the cargo
/// configuration's `[env]` and the build settings that pass by default.
#[derive(Debug, Default)]
struct PassedEnv {
    config: Vec<String>,
    defaults: Vec<String>,
    /// Paths their values name, readable by the script's programs.
    paths: Vec<PathBuf>,
}

impl PassedEnv {
    fn of(env: &[(String, String)], origin: impl Fn(&str) -> Option<EnvOrigin>) -> Self {
        let mut passed = PassedEnv::default();
        for (name, value) in env {
            match origin(name) {
                Some(EnvOrigin::CargoConfig) => passed.config.push(name.clone()),
                Some(EnvOrigin::BuildSetting) => passed.defaults.push(name.clone()),
                _ => continue,
            }
            passed.paths.extend(
                wasm_build_contract::env::setting_paths(name, value)
                    .into_iter()
                    .filter(|path| path.exists()),
            );
        }
        passed
    }
}

/// Everything a run needs to know before it starts, from cargo's environment and the
/// build's policy.
struct Prepared {
    package: Package,
    policy: Policy,
    /// What the script sees.
    env: Vec<(String, String)>,
    /// Set in the stand-in's environment, hidden from the script.
    hidden_env: BTreeSet<String>,
    /// What the script sees without a grant beyond cargo's own variables.
    passed_env: PassedEnv,
    /// Strict mode: hidden lookups are pending review.
    strict: bool,
    /// Directories the script's dependencies handed it through `links` metadata, and the
    /// downloaded build-dependencies it links, opened read-only for the script itself and
    /// its programs.
    exported: Vec<PathBuf>,
    /// Directories never taken for a program's installation (see [`shared_prefixes`]).
    shared_prefixes: Vec<PathBuf>,
    ctx: RunContext,
    temp_dir: tempfile::TempDir,
    /// Where the consumer's grants go, for the hints in denials.
    grant_site: GrantSite,
    /// The file that changes when this package's policy does (see [`rerun`]).
    grant_digest: Option<PathBuf>,
}

impl Prepared {
    fn from_env() -> Result<Self> {
        let package = Package::from_env()?;
        let shared_prefixes = shared_prefixes();
        let toolchain = toolchain_of(
            std::env::var_os("RUSTC").map(PathBuf::from).as_deref(),
            &shared_prefixes,
        );
        let file = PolicyFile::from_env()?;
        let policy = file
            .policy_for(&package.cargo.manifest_dir)
            .with_toolchain(toolchain.as_deref());
        let origin = |name: &str| policy.sees_env(name, &file.config_env);
        let env = sandbox_env(std::env::vars_os(), |name| origin(name).is_some());
        let hidden_env: BTreeSet<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .filter(|name| !env.iter().any(|(visible, _)| visible == name))
            .collect();
        let passed_env = PassedEnv::of(&env, origin);
        let mut exported = exported_dirs(&env, &package.out_dir, cargo_home().as_deref());
        // The downloaded build-dependencies it links, read like what dependencies export.
        exported.extend(policy.dependency_sources.iter().cloned());
        let mut readable = readable_dirs(
            &dependency_dirs(&package.out_dir),
            toolchain.as_deref(),
            &policy,
        );
        readable.extend(passed_env.paths.iter().cloned());
        let ctx = RunContext {
            out_dir: package.out_dir.clone(),
            manifest_dir: package.cargo.manifest_dir.clone(),
            readable,
            hidden_env: hidden_env.clone(),
        };
        let temp_dir = tempfile::Builder::new()
            .prefix("cargo-wasm-build-tmp-")
            .tempdir()
            .context("failed to create the build script's temporary directory")?;
        wasm_build_runtime::interrupt::remove_on_exit(temp_dir.path());
        let grant_digest = file.grant_digest_file(&package.cargo.manifest_dir);
        Ok(Prepared {
            package,
            policy,
            grant_site: file.grant_site,
            grant_digest,
            env,
            hidden_env,
            passed_env,
            strict: file.strict,
            exported,
            shared_prefixes,
            ctx,
            temp_dir,
        })
    }

    /// What the run cache keys a run of `module` on.
    fn run_facts<'a>(
        &'a self,
        engine: &SandboxEngine,
        module: &'a Path,
    ) -> run_cache::RunFacts<'a> {
        run_cache::RunFacts {
            package: (&self.package.cargo.name, &self.package.cargo.version),
            manifest_dir: &self.package.cargo.manifest_dir,
            out_dir: &self.package.out_dir,
            module,
            engine_key: engine.compatibility_key(),
            policy: &self.policy,
            env: &self.env,
            program_env: wasm_build_contract::env::program_defaults(std::env::vars_os()),
            probe_env: wasm_build_runtime::probe_env::inherited(std::env::vars_os()),
            exported: &self.exported,
            setting_paths: &self.passed_env.paths,
        }
    }

    fn exec_context(&self) -> ExecContext {
        ExecContext {
            package: format!(
                "{} v{}",
                self.package.cargo.name, self.package.cargo.version
            ),
            policy: self.policy.clone(),
            env: self.env.clone(),
            rustc: std::env::var_os("RUSTC").map(PathBuf::from),
            manifest_dir: self.package.cargo.manifest_dir.clone(),
            out_dir: self.package.out_dir.clone(),
            temp_dir: self.temp_dir.path().to_path_buf(),
            exported_dirs: self.exported.clone(),
            setting_paths: self.passed_env.paths.clone(),
            shared_prefixes: self.shared_prefixes.clone(),
            host_path: std::env::var_os("PATH"),
            probe_env: wasm_build_runtime::probe_env::inherited(std::env::vars_os()),
            program_env: wasm_build_contract::env::program_defaults(std::env::vars_os()),
            jail: wasm_build_runtime::confinement::jail(),
            dangerously_unconfined: wasm_build_runtime::confinement::dangerously_unconfined(),
            limits: self.policy.limits,
        }
    }
}

/// Runs the build script the manifest beside `exe` describes, as cargo would have run the
/// native one, and returns the process exit status.
///
/// # Errors
///
/// Fails when the sandbox cannot be set up. The script's own failures, denials and limit
/// violations are reported on stderr and turned into a non-zero status instead.
pub fn run(exe: &Path, manifest: &StandIn) -> Result<i32> {
    let prepared = Prepared::from_env()?;
    let describe = prepared.package.cargo.describe();
    // A native run is never cached: what it reads is not confined to what is keyed.
    let mut cached = run_cache::Cached::Skipped;
    let output = match &manifest.script {
        Script::Wasm {
            module,
            module_key,
            module_cache,
        } => {
            if prepared.policy.verdict(Capability::RunNatively) == Verdict::Allowed {
                return native_granted_since(exe, &prepared);
            }
            let engine = SandboxEngine::get()?;
            let module_cache = ModuleCache::new(module_cache);
            let (found, restored) = run_cache::look_up(&prepared.run_facts(&engine, module));
            cached = found;
            if let Some(output) = restored {
                return finish(&prepared, output, (exe, manifest), &cached);
            }
            let module = module_cache
                .load(&engine, module_key, module)
                .with_context(|| format!("failed to load the build script of {describe}"))?;
            Sandbox {
                engine: &engine,
                module: &module,
                args: vec![exe.to_string_lossy().into_owned()],
                env: prepared.env.clone(),
                preopens: build_script_preopens(
                    &prepared.package.cargo.manifest_dir,
                    &prepared.package.out_dir,
                    prepared.temp_dir.path(),
                )
                .into_iter()
                .chain(prepared.exported.iter().map(|dir| Preopen {
                    path: dir.clone(),
                    access: Access::ReadOnly,
                }))
                .chain(granted_preopens(
                    &prepared.policy,
                    &prepared.package.cargo.manifest_dir,
                ))
                .collect(),
                limits: prepared.policy.limits,
                exec: Some(prepared.exec_context()),
                exit_on_hang: true,
                temp_dir: Some(prepared.temp_dir.path().to_path_buf()),
                hidden_env: prepared.hidden_env.clone(),
                module_cache: Some(&module_cache),
            }
            .run()
        }
        Script::Native { binary } => {
            if prepared.policy.verdict(Capability::RunNatively) != Verdict::Allowed {
                return native_no_longer_granted(exe, &prepared);
            }
            run_cache::note_ineligible(
                &prepared.package.cargo.name,
                &run_cache::Ineligible::Native,
            );
            wasm_build_runtime::native::run(binary, &prepared.exec_context())
        }
    }
    .with_context(|| format!("failed to run the build script of {describe}"))?;
    finish(&prepared, output, (exe, manifest), &cached)
}

/// The script was compiled natively while `run-natively` was granted, and the grant is
/// gone. Cargo sees no reason to compile it again (its sources did not change), so the
/// stand-in removes itself: the next build compiles the script for the sandbox. No
/// audit record: nothing ran, and nothing awaits review.
fn native_no_longer_granted(exe: &Path, prepared: &Prepared) -> Result<i32> {
    remove_with_hard_links(exe)?;
    run_natively_changed(prepared, false);
    Ok(1)
}

/// For a script running natively that failed: a program it made executable in
/// `OUT_DIR`, when `run-built` is not granted. A native script's own exec is not brokered,
/// so the jail's refusal cannot be seen; a failure beside a program it made is the sign.
fn needs_run_built(native: bool, exit: &Exit, policy: &Policy, out_dir: &Path) -> Option<PathBuf> {
    if !native || exit.success() {
        return None;
    }
    if !matches!(policy.verdict(Capability::RunBuilt), Verdict::Pending(_)) {
        return None;
    }
    out_dir::an_executable(out_dir)
}

/// The script was compiled for the sandbox, and `run-natively` has been granted since
/// (by hand: `approve` removes the stand-ins of what it grants it to). Cargo sees no
/// reason to compile it again, so the stand-in removes itself: the next build compiles
/// it natively. Running it in the sandbox would ignore the grant; running it natively
/// needs the native compile.
fn native_granted_since(exe: &Path, prepared: &Prepared) -> Result<i32> {
    remove_with_hard_links(exe)?;
    run_natively_changed(prepared, true);
    Ok(1)
}

/// Says [`Code::W405`]: the script did not run, and the next build compiles it anew.
fn run_natively_changed(prepared: &Prepared, granted_now: bool) {
    let text = wasm_build_diagnostics::script::RunNativelyChanged {
        described: &prepared.package.cargo.describe(),
        granted_now,
    }
    .render(Painter::new(audit::coloured_by_env()));
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Removes `exe` and the other names cargo gave it (it hard-links the compiled script as
/// `build-script-build`), so that cargo finds its output missing.
pub fn remove_with_hard_links(exe: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(exe).with_context(|| format!("failed to inspect {}", exe.display()))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let entries = fs::read_dir(dir).with_context(|| format!("failed to list {}", dir.display()))?;
    for entry in entries.flatten() {
        let same = entry
            .metadata()
            .is_ok_and(|other| other.dev() == meta.dev() && other.ino() == meta.ino());
        if same {
            let path = entry.path();
            fs::remove_file(&path)
                .with_context(|| format!("failed to remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// Filters the output for cargo, checks `OUT_DIR`, reports and records the run.
fn finish(
    prepared: &Prepared,
    output: RunOutput,
    (exe, manifest): (&Path, &StandIn),
    cached: &run_cache::Cached,
) -> Result<i32> {
    let native = matches!(manifest.script, Script::Native { .. });
    let package = &prepared.package;
    let policy = &prepared.policy;
    let mut filtered = filter(policy, &prepared.ctx, &output.stdout);
    filtered.pending.extend(
        output
            .pending
            .iter()
            .map(|(attempt, capability)| (Attempt::Ran(attempt.clone()), capability.clone())),
    );
    let network_denied = judge_connections(policy, &output.network, &mut filtered);
    let hidden_lookups = unreviewed_lookups(policy, &output.hidden_lookups);
    let hidden_paths = undenied(policy, hidden_paths(&output.outside_lookups));
    let read_grants = read_grants(&hidden_paths);
    if prepared.strict {
        filtered.pending.extend(read_grants.iter().map(|dir| {
            let looked_for = hidden_paths
                .iter()
                .find(|path| Path::new(path.as_str()).starts_with(dir))
                .unwrap_or(dir);
            (
                Attempt::LookedFor(looked_for.clone()),
                Capability::Read(dir.clone()),
            )
        }));
    }
    if prepared.strict {
        filtered
            .pending
            .extend(lookups_pending_review(&hidden_lookups));
    }
    let downloads = cargo_home()
        .map(|home| wasm_build_contract::cargo::downloaded_sources(&home).to_vec())
        .unwrap_or_default();
    filtered.pending.extend(judge::pending_writes(
        policy,
        (&package.cargo.manifest_dir, &package.out_dir),
        &downloads,
        &output.refused_writes,
    ));
    let violations = out_dir::check(&package.out_dir, policy.limits.out_dir_bytes)?;

    let discovery = std::env::var_os(DISCOVERY_ENV).is_some_and(|nonce| !nonce.is_empty());
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&filtered.stdout)
        .context("failed to write to cargo")?;
    if !filtered.stdout.is_empty() && !filtered.stdout.ends_with(b"\n") {
        writeln!(stdout).context("failed to write to cargo")?;
    }
    if discovery {
        writeln!(stdout, "cargo:rerun-if-env-changed={DISCOVERY_ENV}")
            .context("failed to write to cargo")?;
    }
    for line in &filtered.refused {
        writeln!(
            stdout,
            "cargo:warning=sandbox[{}]: dropped `{}`: denied by the workspace's policy",
            Code::W103,
            Inert(line)
        )
        .context("failed to write to cargo")?;
    }
    // Last, so what the script printed stays a prefix of what cargo records.
    if let Some(digest) = &prepared.grant_digest {
        let reruns = rerun::rerun_lines(
            digest,
            &filtered.stdout,
            (&package.cargo.manifest_dir, &package.out_dir),
            &downloads,
        );
        for line in reruns {
            writeln!(stdout, "{line}").context("failed to write to cargo")?;
        }
    }
    stdout.flush().context("failed to write to cargo")?;

    let mut errors = Vec::new();
    if let Some((code, problem)) = exit_problem(&output.exit) {
        errors.push(RunError::new(code, problem));
    }
    for (line, why) in &filtered.forbidden {
        errors.push(RunError::new(
            Code::W104,
            format!("printed `{}`, which is never allowed: {why}", Inert(line)),
        ));
    }
    for violation in &violations {
        errors.push(RunError::new(violation.code(), violation.to_string()));
    }
    for failure in &output.jail_failures {
        errors.push(RunError::new(Code::W201, failure.clone()));
    }
    for limited in &output.limited {
        errors.push(RunError::new(Code::W502, limited.clone()));
    }
    errors.extend(network_denied);
    let mut pending: Vec<Capability> = filtered
        .pending
        .iter()
        .map(|(_, capability)| capability.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // What a learning build let the script use awaits review too, but stopped nothing.
    let was_learned = |capability: &Capability| policy.unreviewed(capability.clone()).permits();
    let (learned, mut blocked): (Vec<Capability>, Vec<Capability>) =
        pending.iter().cloned().partition(|c| was_learned(c));
    let blocking: Vec<(Attempt, Capability)> = filtered
        .pending
        .iter()
        .filter(|(_, capability)| !was_learned(capability))
        .cloned()
        .collect();
    errors.extend(pending_errors(&blocking));
    if blocked.is_empty()
        && let Some(program) = needs_run_built(native, &output.exit, policy, &package.out_dir)
    {
        errors.push(RunError::new(
            Code::W101,
            format!(
                "needs permission to run what it built: it failed, and its OUT_DIR holds programs it made executable (`{}`), which nothing may run without `run-built`",
                Inert(&program.display().to_string())
            ),
        ));
        blocked.push(Capability::RunBuilt);
        pending.push(Capability::RunBuilt);
    }
    if blocked.is_empty()
        && !native
        && !output.exit.success()
        && let Some(error) = sandbox_only::failure(
            &manifest.sandbox_only,
            &String::from_utf8_lossy(&output.stderr_tail),
            policy,
        )
    {
        errors.push(error);
        blocked.push(Capability::RunNatively);
        pending.push(Capability::RunNatively);
    }
    report(package, (&prepared.grant_site, policy), &errors, &blocked);
    if !output.exit.success() && output.ran_untrusted && !pending.contains(&Capability::RunBuilt) {
        note_what_programs_cannot_do(package, policy);
    }

    let status = if errors.is_empty() {
        0
    } else if output.exit.success() {
        1
    } else {
        output.exit.status()
    };
    // A script that failed after being told a program awaiting review had run most
    // likely failed on the pretence (an empty version string): in a discovery run it
    // passes too, so that its dependents show their needs.
    let only_pending = !blocked.is_empty()
        && filtered.forbidden.is_empty()
        && violations.is_empty()
        && output.jail_failures.is_empty()
        && output.limited.is_empty();
    let mut record = RunRecord {
        package: package.cargo.name.clone(),
        version: package.cargo.version.clone(),
        manifest_dir: package.cargo.manifest_dir.clone(),
        status,
        script: Some(exe.to_path_buf()),
        finished_at: audit::now(),
        elapsed_ms: duration_ms(output.elapsed),
        errors,
        pending,
        learned,
        exec: output.attempts.clone(),
        network: output.network.connections.clone(),
        network_unrecorded: output.network.unrecorded,
        dropped: filtered.dropped,
        hidden_env: hidden_lookups,
        config_env: prepared.passed_env.config.clone(),
        default_env: prepared.passed_env.defaults.clone(),
        stopped: output.stopped.clone(),
        probe_env_dropped: output.probe_env_dropped.clone(),
        read_grants,
        hidden_paths,
        stderr_tail: if status == 0 {
            Vec::new()
        } else {
            audit::last_lines(&output.stderr_tail, STDERR_TAIL_LINES)
        },
        native,
        for_guest: manifest.for_guest,
        confinement: output.confinement.clone(),
        restored: None,
    };
    run_cache::after_run(cached, &output, &mut record);
    audit::append(&manifest.audit_log, &record);
    // In a discovery run, cargo must go on to the scripts that depend on this one.
    Ok(if discovery && only_pending { 0 } else { status })
}

/// How many of a failed script's last stderr lines its record keeps.
const STDERR_TAIL_LINES: usize = 20;

/// The directories the consumer granted the script (`read`, `write` and their dangerous
/// forms): the script reads (or writes) them as its programs do. Relative grants are the
/// package's; a grant that is not a directory here gives the script nothing.
fn granted_preopens(policy: &Policy, manifest_dir: &Path) -> Vec<Preopen> {
    policy
        .granted
        .iter()
        .filter_map(|capability| match capability {
            Capability::Read(path) | Capability::DangerousRead(path) => {
                Some((path, Access::ReadOnly))
            }
            Capability::Write(path) | Capability::DangerousWrite(path) => {
                Some((path, Access::ReadWrite))
            }
            _ => None,
        })
        .map(|(path, access)| Preopen {
            path: manifest_dir.join(path),
            access,
        })
        .filter(|preopen| preopen.path.is_dir())
        .collect()
}

/// The paths the script looked for outside what it may read that exist on this machine,
/// where natively it would have found them. The kernel's and the session's trees
/// (`/proc`, `/sys`, `/dev`, `/run`) are never granted, so never reported.
fn hidden_paths(lookups: &BTreeSet<String>) -> Vec<String> {
    lookups
        .iter()
        .filter(|path| !wasm_build_contract::env::in_runtime_tree(Path::new(path.as_str())))
        .filter(|path| Path::new(path.as_str()).exists())
        .cloned()
        .collect()
}

/// In strict mode, the hidden variables a script looked up wait for review like a denied
/// attempt; except one whose name no grant can hold ([W107](wasm_build_permissions_schema::Code::W107)),
/// which stays a warning: pending, it would fail every strict build with nothing to approve.
fn lookups_pending_review(hidden_lookups: &[String]) -> Vec<(Attempt, Capability)> {
    hidden_lookups
        .iter()
        .filter(|name| EnvPattern::exactly(name).is_ok())
        .map(|name| {
            (
                Attempt::LookedUp(name.clone()),
                Policy::env_capability(name),
            )
        })
        .collect()
}

/// The directories to grant for `paths`: each directory itself, a file's directory;
/// only where libraries, SDKs and toolchains are installed (a script looking into `/etc`
/// or a home directory is the user's to judge, not to approve in passing), none inside
/// another one chosen. A path is judged by where it leads ([`judge::resolve`]), so
/// `/usr/../home/me/.ssh` is no installation directory; the grant offered is the path as
/// a table normalizes it (`..` applied).
pub(crate) fn read_grants(paths: &[String]) -> Vec<String> {
    const INSTALL_PREFIXES: &[&str] = &[
        "/usr",
        "/opt",
        "/lib",
        "/lib32",
        "/lib64",
        "/nix/store",
        "/gnu/store",
        "/snap",
        "/Library",
        "/Applications",
        "/Developer",
    ];
    let installed = |dir: &Path| {
        INSTALL_PREFIXES
            .iter()
            .any(|prefix| dir.starts_with(prefix))
    };
    let mut dirs: Vec<PathBuf> = paths
        .iter()
        .filter_map(|path| normalize_path(path).ok())
        .map(PathBuf::from)
        .filter_map(|path| {
            if path.is_dir() {
                Some(path)
            } else {
                path.parent().map(Path::to_path_buf)
            }
        })
        .filter(|dir| installed(dir) && installed(&judge::resolve(dir)))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut chosen: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if !chosen.iter().any(|outer| dir.starts_with(outer)) {
            chosen.push(dir);
        }
    }
    chosen
        .into_iter()
        .map(|dir| dir.to_string_lossy().into_owned())
        .collect()
}

/// The paths a `deny` of `read` does not cover: the consumer decided on the others.
fn undenied(policy: &Policy, paths: Vec<String>) -> Vec<String> {
    paths
        .into_iter()
        .filter(|path| {
            !matches!(
                policy.verdict(Capability::Read(path.clone())),
                Verdict::Refused(_)
            )
        })
        .collect()
}

/// The hidden variables the script looked up that the consumer has not reviewed: neither
/// denied nor describing the session (`HOME`, `PATH`), whose absence the sandbox implies.
fn unreviewed_lookups(policy: &Policy, lookups: &BTreeSet<String>) -> Vec<String> {
    lookups
        .iter()
        .filter(|name| !is_ambient(name))
        .filter(|name| {
            !matches!(
                policy.verdict(Capability::Env((*name).clone())),
                Verdict::Refused(_)
            )
        })
        .cloned()
        .collect()
}

/// Directories that are never a program's own installation: the home directory, cargo's
/// and rustup's homes, and `~/.local` (the prefix of everything `pip install --user`).
fn shared_prefixes() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut shared: Vec<PathBuf> = home.iter().cloned().collect();
    shared.extend(home.iter().map(|home| home.join(".local")));
    shared.extend(cargo_home());
    shared.extend(
        std::env::var_os("RUSTUP_HOME")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|home| home.join(".rustup"))),
    );
    shared
}

/// Everything a directive may point into: what cargo and rustc may read on the host.
fn readable_dirs(
    dependency_dirs: &[PathBuf],
    toolchain: Option<&Path>,
    policy: &Policy,
) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = dependency_dirs.to_vec();
    dirs.extend(wasm_build_jail::SYSTEM_READ_EXEC.iter().map(PathBuf::from));
    dirs.extend(toolchain.map(Path::to_path_buf));
    for capability in &policy.granted {
        if let Capability::Read(path)
        | Capability::Write(path)
        | Capability::DangerousRead(path)
        | Capability::DangerousWrite(path) = capability
        {
            dirs.push(PathBuf::from(path));
        }
    }
    dirs
}

/// Directories a directive may name besides the package (cargo and rustc read them on
/// the host, not the script): the sources of every dependency and the other build
/// scripts' `OUT_DIR`s, where `rustc-link-search` of a dependency's library points.
fn dependency_dirs(out_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    // <profile>/build/<pkg>-<hash>/out
    if let Some(build_dir) = out_dir.parent().and_then(Path::parent) {
        dirs.push(build_dir.to_path_buf());
    }
    if let Some(cargo_home) = cargo_home() {
        dirs.extend(wasm_build_contract::cargo::downloaded_sources(&cargo_home));
    }
    dirs
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The kind and a sentence for an unsuccessful ending: a failure ([`Code::W501`]) or a
/// limit exceeded ([`Code::W502`]); `None` for success.
fn exit_problem(exit: &Exit) -> Option<(Code, String)> {
    Some(match exit {
        Exit::Code(0) => return None,
        Exit::Code(code) => (Code::W501, format!("exited with status {code}")),
        Exit::Panicked => (
            Code::W501,
            "panicked or aborted (see its stderr above)".into(),
        ),
        Exit::TimedOut(limit) => (
            Code::W502,
            format!(
                "used more than its CPU-time limit of {} s and was stopped",
                limit.as_secs()
            ),
        ),
        Exit::Hung(limit) => (
            Code::W502,
            format!(
                "ran for more than its wall-clock limit of {} s and was stopped",
                limit.as_secs()
            ),
        ),
        Exit::OutOfMemory(limit) => (
            Code::W502,
            format!(
                "tried to use more than its memory limit of {} MiB",
                limit >> 20
            ),
        ),
        Exit::StdoutFlood(limit) => (
            Code::W502,
            format!(
                "printed more than its stdout limit of {} MiB and was stopped",
                limit >> 20
            ),
        ),
        Exit::StderrFlood(limit) => (
            Code::W502,
            format!(
                "printed more than its stderr limit of {} MiB and was stopped",
                limit >> 20
            ),
        ),
        Exit::StackOverflow(size) => (
            Code::W501,
            format!(
                "overflowed its stack of {} MiB in the sandbox (natively a build script's main thread has 8 MiB)",
                size >> 20
            ),
        ),
        Exit::Trapped(trap) => (Code::W501, format!("crashed in the sandbox: {trap}")),
    })
}

/// The connections the proxies refused: pending review like any attempt (so `approve`
/// offers the grant), or, when the consumer denied that host, an error of its own
/// ([`Code::W111`]).
/// A connection the jail refused because the program went around its proxy is an error
/// of the same kind: no grant allows it.
fn judge_connections(
    policy: &Policy,
    network: &NetworkReport,
    filtered: &mut Filtered,
) -> Vec<RunError> {
    let mut denied: Vec<RunError> = network
        .direct
        .iter()
        .map(|(line, refused)| {
            RunError::new(
                Code::W111,
                format!(
                    "ran `{}`, and the jail refused it: {}",
                    Inert(line),
                    Inert(refused)
                ),
            )
        })
        .collect();
    for connection in &network.connections {
        let Some(capability) = connection.capability() else {
            continue;
        };
        let why = connection.why.clone().unwrap_or_default();
        match policy.verdict(capability.clone()) {
            Verdict::Pending(_) | Verdict::Learning(_) => filtered.pending.push((
                Attempt::Connected {
                    program: connection.program.clone(),
                    authority: connection.authority(),
                    why,
                },
                capability,
            )),
            _ => denied.push(RunError::new(
                Code::W111,
                format!(
                    "ran `{}`, whose connection to `{}` the network proxy refused ({}), and the workspace's policy denies {capability}",
                    Inert(&connection.program),
                    Inert(&connection.authority()),
                    Inert(&why),
                ),
            )),
        }
    }
    denied
}

/// One sentence per pending capability ([`Code::W101`]), with the first attempt that
/// needed it (cut to a readable length) and how many more there were.
fn pending_errors(pending: &[(Attempt, Capability)]) -> Vec<RunError> {
    const SHOWN: usize = 160;
    let mut grouped: Vec<(&Capability, &Attempt, usize)> = Vec::new();
    for (attempt, capability) in pending {
        // Connections to different hosts that one grant would allow are told apart: one
        // of them may be a name that resolved to this machine.
        let same_group = |first: &Attempt| match (first, attempt) {
            (
                Attempt::Connected { authority, .. },
                Attempt::Connected {
                    authority: other, ..
                },
            ) => authority == other,
            _ => true,
        };
        match grouped
            .iter_mut()
            .find(|(seen, first, _)| *seen == capability && same_group(first))
        {
            Some(group) => group.2 += 1,
            None => grouped.push((capability, attempt, 1)),
        }
    }
    grouped
        .into_iter()
        .map(|(capability, attempt, count)| {
            let (verb, text, after) = match attempt {
                Attempt::Ran(text) => ("tried to run", text, ""),
                Attempt::Printed(text) => ("printed", text, ""),
                Attempt::LookedUp(name) => (
                    "looked it up",
                    name,
                    ", set in your environment but hidden from build scripts (strict mode)",
                ),
                Attempt::LookedFor(path) => (
                    "looked for",
                    path,
                    ", which exists here but is hidden from build scripts (strict mode)",
                ),
                Attempt::Wrote(path) => ("tried to write", path, ""),
                Attempt::Connected {
                    program,
                    authority,
                    why,
                } => {
                    let more = match count {
                        1 => String::new(),
                        n => format!(" ({} times)", n),
                    };
                    return RunError::new(
                        Code::W111,
                        format!(
                            "needs permission to {capability}: `{}` asked the network proxy for `{}`{more}, which it refused before connecting: {}",
                            Inert(program),
                            Inert(authority),
                            Inert(why)
                        ),
                    );
                }
            };
            let shown = match text.char_indices().nth(SHOWN) {
                Some((cut, _)) => format!("{}…", Inert(&text[..cut])),
                None => Inert(text).to_string(),
            };
            let more = match count {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            let sentence = if let Attempt::LookedUp(_) = attempt {
                format!("needs permission to {capability}: it {verb}{after}")
            } else {
                format!("needs permission to {capability}: it {verb} `{shown}`{more}{after}")
            };
            RunError::new(Code::W101, sentence)
        })
        .collect()
}

/// A failed script whose programs ran: say what the jail stops that a script can mistake
/// for a broken toolchain, since the jail cannot report it itself (the program only sees
/// "permission denied").
fn note_what_programs_cannot_do(package: &Package, policy: &Policy) {
    if policy.verdict(Capability::RunBuilt).permits() {
        return;
    }
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        wasm_build_diagnostics::script::programs_cannot_run_built(&package.cargo.describe())
    );
}

/// Prints the errors and how to grant what is pending (under `spec`, in `site`).
fn report(
    package: &Package,
    (site, policy): (&GrantSite, &Policy),
    errors: &[RunError],
    pending: &[Capability],
) {
    let spec = policy.grant_spec(&package.cargo.name, &package.cargo.version);
    let table = policy.allow_table.as_deref();
    let text = failure_text(
        (&package.cargo.describe(), audit::coloured_by_env()),
        (site, &spec, table),
        errors,
        pending,
    );
    // stderr is where cargo shows a failed build script's explanation.
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// The errors of the build script of `described` (`` `name vX` ``), each under its code,
/// and how to grant what is pending (under `spec`, in `site`); empty without errors.
/// [`wasm_build_contract::inert::InertLines`] throughout: errors quote what the script printed, ran and named, and
/// the stand-in and the CLI both print this text as it is.
pub fn failure_text(
    (described, colour): (&str, bool),
    (site, spec, existing): (&GrantSite, &str, Option<&[Capability]>),
    errors: &[RunError],
    pending: &[Capability],
) -> String {
    let failures: Vec<Failure<'_>> = errors.iter().map(RunError::as_failure).collect();
    let help = (!pending.is_empty()).then(|| grant_help(site, spec, pending, existing));
    ScriptFailed {
        described,
        failures: &failures,
        grant_help: help.as_deref(),
    }
    .render(Painter::new(colour))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_no_grant_can_name_are_not_pending() {
        let names = ["CFLAGS", "LD_*", "GITHUB_TOKEN"].map(String::from);
        let pending: Vec<Capability> = lookups_pending_review(&names)
            .into_iter()
            .map(|(_, capability)| capability)
            .collect();
        assert_eq!(
            pending,
            [
                Capability::Env("CFLAGS".into()),
                Capability::DangerousEnv("GITHUB_TOKEN".into())
            ]
        );
    }

    /// A lookup that climbs out of an installation directory is judged where it lands:
    /// approving it must not grant a home directory's secrets.
    #[test]
    fn read_grants_follow_dot_dot_out_of_installation_directories() {
        let paths: Vec<String> = [
            "/usr/../root/.ssh/id_rsa",
            "/usr/lib/../../home/me/.ssh",
            "/opt/./../etc/passwd",
            "/usr/lib/../include/stdio.h",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(read_grants(&paths), ["/usr/include"]);
    }

    #[test]
    fn read_grants_show_installed_software_only() {
        let paths: Vec<String> = [
            "/",
            "/usr/bin",
            "/usr/bin/env",
            "/usr/lib/os-release",
            "/etc/hostname",
            "/root/.ssh",
            "/home/me/lib",
        ]
        .map(String::from)
        .to_vec();
        // Directories as they are, files by their directory, nothing covered twice, and
        // nothing outside where software is installed.
        assert_eq!(read_grants(&paths), ["/usr/bin", "/usr/lib"]);
    }

    #[test]
    fn hidden_paths_are_those_a_native_run_would_have_found() {
        let lookups: BTreeSet<String> = [
            "/usr/bin",
            "/usr/bin/no-such-program-7f3a",
            "/proc/cpuinfo",
            "/dev/null",
        ]
        .map(String::from)
        .into();
        assert_eq!(hidden_paths(&lookups), ["/usr/bin"]);
    }

    fn ctx(dir: &Path) -> RunContext {
        RunContext {
            out_dir: dir.join("out"),
            manifest_dir: dir.to_path_buf(),
            readable: Vec::new(),
            hidden_env: BTreeSet::new(),
        }
    }

    #[test]
    fn filter_keeps_safe_lines_verbatim_and_collects_pending() {
        let dir = tempfile::tempdir().unwrap();
        let out = b"hello\ncargo:rustc-cfg=foo\ncargo::rustc-link-arg=-Wl,-x\n  cargo:rustc-env=A=1  \ncargo:KEY=v\n";
        let filtered = filter(&Policy::default(), &ctx(dir.path()), out);
        assert_eq!(
            String::from_utf8(filtered.stdout).unwrap(),
            "hello\ncargo:rustc-cfg=foo\ncargo:KEY=v\n"
        );
        let pending: Vec<_> = filtered
            .pending
            .iter()
            .map(|(line, _)| match line {
                Attempt::Printed(line) => line.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            pending,
            ["cargo::rustc-link-arg=-Wl,-x", "cargo:rustc-env=A=1"]
        );
    }

    #[test]
    fn refused_connections_are_w111_one_per_host_asked_for() {
        let loopback = Capability::NetworkHost(wasm_build_permissions_schema::NetworkHost {
            program: "curl".into(),
            host: "127.0.0.1:80".into(),
        });
        let asked = |authority: &str| Attempt::Connected {
            program: "curl".into(),
            authority: authority.into(),
            why: format!("{authority} is near"),
        };
        let pending = vec![
            (asked("127.0.0.1:80"), loopback.clone()),
            (asked("localhost:80"), loopback.clone()),
            (asked("127.0.0.1:80"), loopback.clone()),
        ];
        let errors = pending_errors(&pending);
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "needs permission to let `curl` connect to `127.0.0.1:80` (dangerous: not a public address): `curl` asked the network proxy for `127.0.0.1:80` (2 times), which it refused before connecting: 127.0.0.1:80 is near",
                "needs permission to let `curl` connect to `127.0.0.1:80` (dangerous: not a public address): `curl` asked the network proxy for `localhost:80`, which it refused before connecting: localhost:80 is near",
            ]
        );
        assert!(errors.iter().all(|error| error.code == Some(Code::W111)));
    }

    #[test]
    fn pending_attempts_are_grouped_and_shortened() {
        let cc = Capability::Exec("cc".into());
        let long = format!("ar cq {}", "x.o ".repeat(100));
        let pending = vec![
            (Attempt::Ran("cc -E a.c".into()), cc.clone()),
            (Attempt::Ran("cc -c b.c".into()), cc.clone()),
            (Attempt::Ran(long), Capability::Exec("ar".into())),
        ];
        let errors = pending_errors(&pending);
        assert!(errors.iter().all(|error| error.code == Some(Code::W101)));
        assert_eq!(
            errors[0].message,
            "needs permission to run `cc`: it tried to run `cc -E a.c` (and 1 more)"
        );
        assert!(
            errors[1]
                .message
                .starts_with("needs permission to run `ar`: it tried to run `ar cq x.o")
        );
        assert!(errors[1].message.ends_with("…`"), "{}", errors[1].message);
    }

    #[test]
    fn failures_are_shown_under_their_codes() {
        let site = GrantSite::default();
        let run_sh = Capability::Exec("sh".into());
        let text = failure_text(
            ("`x v1.0.0`", false),
            (&site, "x@1.0.0", None),
            &[
                RunError::new(Code::W501, "exited with status 3"),
                pending_errors(&[(Attempt::Ran("sh -c true".into()), run_sh.clone())])[0].clone(),
                RunError {
                    code: None,
                    message: "from a record written before codes".into(),
                },
            ],
            &[run_sh],
        );
        assert!(
            text.starts_with(
                "error[W501]: sandboxed build script of `x v1.0.0` exited with status 3\n\
                 error[W101]: sandboxed build script of `x v1.0.0` needs permission to run `sh`: \
                 it tried to run `sh -c true`\n\
                 error: sandboxed build script of `x v1.0.0` from a record written before codes\n"
            ),
            "{text}"
        );
        assert!(text.contains("exec = [\"sh\"]"), "{text}");
        assert_eq!(
            exit_problem(&Exit::OutOfMemory(64 << 20)),
            Some((
                Code::W502,
                "tried to use more than its memory limit of 64 MiB".into()
            ))
        );
    }

    /// Cargo prints the text of a warning and of an error to the terminal as it is: what
    /// would steer the terminal reaches cargo escaped, every other line and character
    /// verbatim, and the whitespace cargo trims off as it was.
    #[test]
    fn warnings_reach_cargo_inert() {
        let dir = tempfile::tempdir().unwrap();
        let out = "cargo:warning=\x1b]52;c;aGk=\x07 copied\r\n  cargo::error=\u{202e}txt.exe\n\
                   cargo:warning=données\tok 👩\u{200d}💻\ncargo:rustc-cfg=a\x1b\n";
        let filtered = filter(&Policy::default(), &ctx(dir.path()), out.as_bytes());
        assert_eq!(
            String::from_utf8(filtered.stdout).unwrap(),
            "cargo:warning=\\u{1b}]52;c;aGk=\\u{7} copied\r\n  cargo::error=\\u{202e}txt.exe\n\
             cargo:warning=données\tok 👩\u{200d}💻\ncargo:rustc-cfg=a\x1b\n"
        );
    }

    /// What a script ran, printed or named reaches the failure text inert, in the
    /// sentence and in the TOML that grants it.
    #[test]
    fn failure_texts_show_what_the_script_wrote_inert() {
        let hostile = "\x1b]0;title\x07\x1b[1A\u{202e}";
        let program = Capability::Exec(format!("./{hostile}"));
        let pending = [
            (
                Attempt::Ran(format!("./{hostile} -{hostile}")),
                program.clone(),
            ),
            (
                Attempt::Printed(format!("cargo:rustc-env={hostile}=1")),
                Capability::Directive(wasm_build_permissions_schema::GatedDirective::RustcEnv),
            ),
            (
                Attempt::LookedFor(format!("/usr/{hostile}")),
                Capability::Read("/usr".into()),
            ),
        ];
        let errors = pending_errors(&pending);
        let text = failure_text(
            ("`x v1.0.0`", false),
            (&GrantSite::default(), "x@1.0.0", None),
            &errors,
            &[program],
        );
        for error in &errors {
            assert!(
                !error.message.contains(['\x1b', '\x07', '\u{202e}']),
                "{error:?}"
            );
        }
        assert!(!text.contains(['\x1b', '\x07', '\u{202e}']), "{text:?}");
        let shown = r"\u{1b}]0;title\u{7}\u{1b}[1A\u{202e}";
        assert!(
            text.contains(&format!("it tried to run `./{shown} -{shown}`")),
            "{text}"
        );
        assert!(
            text.contains(&format!("it printed `cargo:rustc-env={shown}=1`")),
            "{text}"
        );
        assert!(
            text.contains(&format!("it looked for `/usr/{shown}`")),
            "{text}"
        );
        assert!(
            text.contains(r#"exec = ["./\u001B]0;title\u0007\u001B[1A\u202E"]"#),
            "{text}"
        );
    }

    #[test]
    fn filter_keeps_a_missing_final_newline_missing() {
        let dir = tempfile::tempdir().unwrap();
        let filtered = filter(
            &Policy::default(),
            &ctx(dir.path()),
            b"cargo:rustc-cfg=a\nlast",
        );
        assert_eq!(filtered.stdout, b"cargo:rustc-cfg=a\nlast");
        let filtered = filter(&Policy::default(), &ctx(dir.path()), b"");
        assert_eq!(filtered.stdout, b"");
    }
}
