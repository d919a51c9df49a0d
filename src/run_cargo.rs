//! Runs a cargo command with the tool as `RUSTC_WRAPPER`, so every build script it
//! compiles becomes a sandboxed one, under the policy resolved for this workspace.

#![allow(
    clippy::disallowed_methods,
    reason = "the CLI runs the user's cargo with the environment it gives the build"
)]

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result};
use wasm_build_cache::ArtifactCache;
use wasm_build_contract::PolicyFile;
use wasm_build_contract::audit;
use wasm_build_contract::cargo::cargo_home;
use wasm_build_contract::inert::InertLines;
use wasm_build_contract::lazy::{self, LAZY_BUILD_DEPS_ENV, LAZY_LIBRARIES_ENV};
use wasm_build_contract::vars::{
    BASE_ENV_NAMES, COLOR_ENV, DISCOVERY_ENV, INNER_WRAPPER_ENV, POLICY_ENV, RUN_LOG_ENV,
};
use wasm_build_diagnostics::{Diag as _, cli};
use wasm_build_exec::confinement;
use wasm_build_permissions_schema::Mode;
use wasm_build_policy::build_policy::{BuildPolicy, PolicyCache};
use wasm_build_policy::cargo_config;
use wasm_build_policy::carry::{Drifted, drifted};
use wasm_build_policy::graph::{option_value, target_dir_arg};
use wasm_build_policy::pending::{Pending, audit_logs, last_runs, pending};
use wasm_build_policy::resolve::check_member_tables;
use wasm_build_policy::revoked::{Revoked, revoked};
use wasm_build_policy::run_natively::runs_natively;
use wasm_build_policy::unmatched;
use wasm_build_policy::{Consumer, Graph, Resolution};
use wasm_build_standin::recompile_switched_scripts;
use wasm_build_wrapper::stale::{mark_checked, recompile_stale_guests};

use crate::cache::BuildCache;
use crate::exit;
use crate::progress;
use crate::signals;
use crate::summary::{self, Output};

/// The libraries whose native compile the wrapper defers, as the wrapper reads them;
/// `None` when there are none or the user turned deferring off.
fn lazy_libraries(build_policy: &BuildPolicy) -> Option<String> {
    if std::env::var_os(LAZY_BUILD_DEPS_ENV).is_some_and(|value| value == "off") {
        return None;
    }
    // One variable holds at most 128 KiB on Linux (MAX_ARG_STRLEN); a list anywhere near
    // that (thousands of build-only libraries) is compiled natively instead.
    const AT_MOST: usize = 64 * 1024;
    Some(lazy::encode(&build_policy.lazy_libraries))
        .filter(|encoded| !encoded.is_empty() && encoded.len() <= AT_MOST)
}

/// Fails the build before cargo runs when this machine cannot confine what its build
/// scripts will run: one error that names the layer, instead of one per build script (or,
/// worse, scripts that quietly take a failed probe for an old compiler).
fn refuse_without_confinement(
    policies: &PolicyFile,
    learning: bool,
    output: &Output,
) -> Option<i32> {
    let needed = confinement::needed(policies)?;
    // A learning build runs what nobody reviewed: never unconfined, whatever the opt-in.
    if confinement::dangerously_unconfined() && !learning {
        return None;
    }
    let missing = confinement::jail().detect_layers().missing(needed)?;
    let refusal = confinement::refusal(&missing);
    let said = cli::Unconfinable {
        refusal: &refusal,
        learning,
    };
    let _ = writeln!(std::io::stderr(), "{}", said.render(output.painter()));
    Some(exit::CARGO_FAILED)
}

/// A cargo command set up to run under the sandbox, with what it needs kept alive until
/// it has run.
struct Prepared {
    build_policy: BuildPolicy,
    cargo_command: Command,
    target_dir: PathBuf,
    output: Output,
    /// The user's store, which cargo's wrappers and stand-ins are told about.
    shared_cache: BuildCache,
    /// The policy file and the run log cargo's stand-ins use: removed when dropped.
    _policy_file: tempfile::NamedTempFile,
    run_log: tempfile::NamedTempFile,
}

/// Why a cargo command was not even started: the status to exit with.
struct Refused(i32);

/// Resolves the build's policy and sets up `cargo <command> <args>` with the tool as its
/// `RUSTC_WRAPPER`. In a `learning` build, every package's policy
/// [learns](wasm_build_contract::Policy::learning) what awaits review.
fn prepare(
    command: &str,
    args: &[OsString],
    mode: Option<Mode>,
    learning: bool,
) -> Result<std::result::Result<Prepared, Refused>> {
    let exe = std::env::current_exe().context("failed to locate cargo-wasm-build itself")?;
    let text_args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let output = Output::from_args(args);

    // Opened once: the resolved policy is cached in it, and the build uses it.
    let store = ArtifactCache::from_env();
    let cache = PolicyCache::for_build(
        store.as_ref().ok().and_then(Option::clone),
        &text_args,
        mode,
    );
    // Strict mode also looks at the last runs, which the cache does not cover.
    let mut build_policy = match cache.load().filter(|policy| policy.mode != Mode::Strict) {
        Some(policy) => policy,
        None => {
            let graph = Graph::load(&text_args)?;
            let rules = crate::homes::rules(&graph);
            let consumer = Consumer::load(&graph.root_manifest, &rules)?;
            let resolution = Resolution::new(&graph, consumer, mode, rules);
            let mut warnings = check_member_tables(&resolution)?;
            warnings.extend(unmatched::warnings(&graph, &resolution.consumer));
            if resolution.mode == Mode::Strict
                && let Some(status) = refuse_unreviewed(&graph, &resolution, &text_args, &output)?
            {
                return Ok(Err(Refused(status)));
            }
            let config_env = cargo_config::env_names(
                &std::env::current_dir().context("failed to read the current directory")?,
                cargo_home().as_deref(),
                &text_args,
            )?;
            let policy = BuildPolicy::new(&graph, &resolution, warnings, config_env);
            cache.store(&graph, &policy);
            policy
        }
    };
    build_policy.policy_file.grant_site.approve_args = approve_args(
        &text_args,
        &build_policy.target_dir,
        &build_policy.default_target_dir,
    )?;
    for policy in build_policy.policy_file.packages.values_mut() {
        policy.learning = learning;
    }
    // A dependency's invalid table is quoted from its own Cargo.toml.
    for (code, warning) in &build_policy.warnings {
        let said = cli::Warning {
            code: *code,
            body: warning,
        };
        let _ = writeln!(std::io::stderr(), "{}", said.render(output.painter()));
    }
    warn_trusting(&build_policy.trusted, &output);
    if let Some(status) = refuse_without_confinement(&build_policy.policy_file, learning, &output) {
        return Ok(Err(Refused(status)));
    }
    let target_dir = effective_target_dir(&text_args, &build_policy.target_dir)?;
    if let Some(status) = crate::doctor::refuse_without_guest_target(&target_dir, &text_args) {
        return Ok(Err(Refused(status)));
    }
    recompile_stale_guests(&target_dir)?;
    // A `run-natively` grant written or removed by hand: compiled again in this build.
    let natively = build_policy
        .policy_file
        .packages
        .iter()
        .filter(|(_, policy)| runs_natively(policy))
        .map(|(dir, _)| dir.clone())
        .collect();
    recompile_switched_scripts(&target_dir, &natively);
    // A changed grant reruns the scripts it affects (see `PolicyFile::grant_digest_file`).
    build_policy.policy_file.grant_digests = Some(PolicyFile::digests_dir(&target_dir));
    build_policy
        .policy_file
        .write_grant_digests()
        .context("failed to record the build's grants for cargo's fingerprints")?;

    let policy_file = tempfile::Builder::new()
        .prefix("cargo-wasm-build-policy-")
        .suffix(".json")
        .tempfile()
        .context("failed to create a temporary file for the build's policy")?;
    // Buffered: unbuffered, serde's many small writes were a quarter of a no-op build's
    // overhead.
    let mut policy_writer = std::io::BufWriter::new(policy_file.as_file());
    serde_json::to_writer(&mut policy_writer, &build_policy.policy_file)
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(policy_writer.flush()?))
        .context("failed to write the build's policy")?;
    drop(policy_writer);
    let run_log = tempfile::Builder::new()
        .prefix("cargo-wasm-build-run-")
        .suffix(".jsonl")
        .tempfile()
        .context("failed to create a temporary file for the build's run log")?;

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cargo_command = Command::new(&cargo);
    cargo_command.arg(command).args(args);
    // A wrapper the user already had (sccache, say) keeps wrapping native compiles.
    if let Some(user_wrapper) = std::env::var_os("RUSTC_WRAPPER")
        .filter(|wrapper| !wrapper.is_empty() && Path::new(wrapper) != exe)
    {
        cargo_command.env(INNER_WRAPPER_ENV, user_wrapper);
    }
    let mut base_names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect();
    base_names
        .extend(["RUSTC_WRAPPER", INNER_WRAPPER_ENV, RUN_LOG_ENV, POLICY_ENV].map(String::from));
    if is_offline(&text_args) {
        // Also for the nested cargo that may build build-dependencies for the guest,
        // which sees the environment but not these arguments.
        cargo_command.env("CARGO_NET_OFFLINE", "true");
    }
    cargo_command
        .env("RUSTC_WRAPPER", &exe)
        .env(BASE_ENV_NAMES, base_names.join("\n"))
        .env(POLICY_ENV, policy_file.path())
        .env(RUN_LOG_ENV, run_log.path())
        .env(COLOR_ENV, output.color_choice())
        .env_remove(DISCOVERY_ENV)
        .env_remove(LAZY_LIBRARIES_ENV);
    match lazy_libraries(&build_policy) {
        Some(lazy) => {
            cargo_command.env(LAZY_LIBRARIES_ENV, lazy);
            wasm_build_wrapper::lazy::mark_deferring(&target_dir);
        }
        None => {
            wasm_build_wrapper::lazy::forget_deferred(&target_dir);
        }
    }
    let shared_cache = BuildCache::prepare(store, &mut cargo_command, &output);
    Ok(Ok(Prepared {
        build_policy,
        cargo_command,
        target_dir,
        output,
        shared_cache,
        _policy_file: policy_file,
        run_log,
    }))
}

/// Runs `cargo <command> <args>` under the sandbox and returns the exit status.
pub fn run(command: &str, args: &[OsString], mode: Option<Mode>) -> Result<i32> {
    let Prepared {
        build_policy,
        mut cargo_command,
        target_dir,
        output,
        shared_cache,
        _policy_file,
        run_log,
    } = match prepare(command, args, mode, false)? {
        Ok(prepared) => prepared,
        Err(Refused(status)) => return Ok(status),
    };
    let status = cargo_command
        .spawn()
        .and_then(|mut cargo| signals::wait(&mut cargo))
        .with_context(|| format!("failed to run {}", display_program(&cargo_command)))?;
    if let Some(status) = signals::interrupted() {
        return Ok(status);
    }
    mark_checked(&target_dir);
    shared_cache.finish(&output);
    let mut records = audit::read(run_log.path());
    summary::print(&records, &build_policy.policy_file, &output);
    if !status.success()
        && build_policy.mode != Mode::Strict
        && records.iter().any(|record| !record.pending.is_empty())
    {
        let found = discover(cargo_command, args, &records, &output)?;
        if let Some(status) = signals::interrupted() {
            return Ok(status);
        }
        print_discovered(&found, &build_policy.policy_file, &output);
        records.extend(found);
    }
    for record in records.iter().filter(|record| !record.pending.is_empty()) {
        if let Some(drift) = build_policy.drift.get(&record.manifest_dir) {
            let _ = writeln!(
                std::io::stderr(),
                "{} {} was reviewed, but this build uses {} {}: a new version needs a new review; `{}` shows what changed and carries the grant over if nothing new is needed",
                output.paint("note:", summary::Tone::Help),
                drift.reviewed.join(", "),
                drift.name,
                drift.version,
                build_policy
                    .policy_file
                    .grant_site
                    .approve_command(Some(&format!("{}@{}", drift.name, drift.version)))
            );
        }
    }
    if records.iter().any(|record| !record.pending.is_empty()) && !output.is_quiet() {
        let site = &build_policy.policy_file.grant_site;
        let _ = writeln!(
            std::io::stderr(),
            "{} to approve what the sandbox denied, review the errors above and run `{}`\n      \
             or, to see everything this build needs in one round first, `{}`: it runs the \
             build's scripts with the programs they ask for (jailed, never the network), \
             shows what they used, and asks once",
            output.paint("help:", summary::Tone::Help),
            site.approve_command(None),
            learn_command(site, args),
        );
    }
    Ok(status.code().unwrap_or(exit::CARGO_FAILED))
}

/// The program of `command`, for an error that it could not be started.
fn display_program(command: &Command) -> String {
    Path::new(command.get_program()).display().to_string()
}

/// After a build that stopped on what awaits review, the scripts that depend on the
/// stopped ones never ran, and a chain of `-sys` crates would need one approval round per
/// link. So cargo runs once more as `check` (nothing is linked), with the stopped scripts
/// passing (see [`DISCOVERY_ENV`]): everything the rest of the graph needs shows up in this
/// round. Returns the records of the scripts that ran; none of their output is kept.
fn discover(
    mut build: Command,
    args: &[OsString],
    ran: &[audit::RunRecord],
    output: &Output,
) -> Result<Vec<audit::RunRecord>> {
    let log = tempfile::Builder::new()
        .prefix("cargo-wasm-build-discovery-")
        .suffix(".jsonl")
        .tempfile()
        .context("failed to create a temporary file for the discovery run's log")?;
    if !output.is_quiet() {
        let _ = writeln!(
            std::io::stderr(),
            "{} running the build scripts that depend on the stopped ones (cargo check; \
             nothing it makes is kept) to show everything this build needs",
            output.paint("note:", summary::Tone::Help),
        );
    }
    let mut check = Command::new(build.get_program());
    check
        .arg("check")
        .args(check_args(args))
        .args(["--keep-going", "--quiet"])
        .envs(
            build
                .get_envs()
                .filter_map(|(name, value)| Some((name, value?))),
        )
        .env(RUN_LOG_ENV, log.path())
        .env(DISCOVERY_ENV, nonce());
    if let Some(dir) = build.get_current_dir() {
        check.current_dir(dir);
    }
    // `build` is spent: its environment was copied.
    let _ = build.env_clear();
    progress::watch(check, log.path(), "Checking", output, |_| None)
        .context("failed to run cargo check for the discovery run")?;
    // What the stopped scripts showed is known; what is new is what their dependents need.
    Ok(audit::read(log.path())
        .into_iter()
        .filter(|record| !record.pending.is_empty())
        .filter(|record| {
            !ran.iter()
                .any(|seen| seen.manifest_dir == record.manifest_dir)
        })
        .collect())
}

/// A value of its own for [`DISCOVERY_ENV`], so that cargo runs every script of a
/// discovery or learning run again in the next build.
fn nonce() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default()
    )
}

/// The learning build of `approve --learn`: `cargo check <args>` in which every build
/// script that needs something nobody reviewed is let use it, jailed, if it
/// [can be learned](wasm_build_permissions_schema::Capability::is_learnable), so that one
/// run shows everything the build needs (a granted `pkg-config` leads to `cc`, which a
/// refused one never reaches). Its runs are recorded in the target directory's audit
/// logs like a build's, for `approve` to read; nothing they made is kept (every script
/// that ran runs again in the next build). Returns the status to exit with when it could
/// not run.
pub fn learn(args: &[OsString]) -> Result<std::result::Result<(), i32>> {
    let mut check: Vec<OsString> = check_args(args).into_iter().cloned().collect();
    check.push("--keep-going".into());
    let Prepared {
        build_policy,
        mut cargo_command,
        output,
        shared_cache,
        _policy_file,
        run_log,
        ..
    } = match prepare("check", &check, None, true)? {
        Ok(prepared) => prepared,
        Err(Refused(status)) => return Ok(Err(status)),
    };
    if !output.is_quiet() {
        let _ = writeln!(
            std::io::stderr(),
            "{} running the build scripts with the programs and directives they ask for, \
             jailed (never the network, never a dangerous grant), to show everything they \
             need; nothing it makes is kept",
            output.paint(&format!("{:>12}", "Learning"), summary::Tone::Good),
        );
    }
    cargo_command.env(DISCOVERY_ENV, nonce());
    let status = progress::watch(
        cargo_command,
        run_log.path(),
        "Learning",
        &output,
        describe_learned,
    )?;
    if let Some(status) = signals::interrupted() {
        return Ok(Err(status));
    }
    shared_cache.finish(&output);
    let records = audit::read(run_log.path());
    let stopped: Vec<audit::RunRecord> = records
        .iter()
        .filter(|record| !record.errors.is_empty())
        .cloned()
        .collect();
    print_discovered(&stopped, &build_policy.policy_file, &output);
    if !status.success() && records.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            cli::LearningBuildFailed.render(output.painter())
        );
        return Ok(Err(exit::CARGO_FAILED));
    }
    Ok(Ok(()))
}

/// The line a learning build prints when a build script finished: what it used that
/// awaits review, or why it stopped; nothing when it needed nothing new.
fn describe_learned(record: &audit::RunRecord) -> Option<(&'static str, summary::Tone, String)> {
    let who = format!(
        "{} v{} ({:.1}s)",
        record.package,
        record.version,
        Duration::from_millis(record.elapsed_ms).as_secs_f64()
    );
    if !record.errors.is_empty() {
        let first = record
            .errors
            .first()
            .map(|error| error.message.clone())
            .unwrap_or_default();
        let used: Vec<String> = record.learned.iter().map(ToString::to_string).collect();
        let also = if used.is_empty() {
            String::new()
        } else {
            format!(" (it used {})", used.join(", "))
        };
        return Some((
            "Stopped",
            summary::Tone::Bad,
            format!("{who}: {}{also}", InertLines(&first)),
        ));
    }
    let used: Vec<String> = record.learned.iter().map(ToString::to_string).collect();
    if used.is_empty() {
        return None;
    }
    Some((
        "Learned",
        summary::Tone::Warning,
        format!("{who}: {}", used.join(", ")),
    ))
}

/// The command that runs the learning build for a build given `args`, printed by a build
/// that stopped on what awaits review.
fn learn_command(site: &wasm_build_permissions_schema::GrantSite, args: &[OsString]) -> String {
    let mut command = format!("cargo wasm-build approve{} --learn", site.approve_args);
    // The manifest path and target directory are in the approve arguments already.
    let mut rest = Vec::new();
    let mut words = check_args(args)
        .into_iter()
        .map(|arg| arg.to_string_lossy());
    while let Some(word) = words.next() {
        if ["--manifest-path", "--target-dir"].contains(&word.as_ref()) {
            words.next();
            continue;
        }
        if word.starts_with("--manifest-path=") || word.starts_with("--target-dir=") {
            continue;
        }
        rest.push(shell_word(Path::new(word.as_ref())));
    }
    if !rest.is_empty() {
        command.push_str(" -- ");
        command.push_str(&rest.join(" "));
    }
    command
}

/// The build's arguments for a `check` the tool runs itself (discovery, learning): up to
/// a `--`, without what it adds itself (`--keep-going`, `--quiet`,
/// `--message-format`), which cargo refuses twice, nor `-v`, which cargo refuses beside
/// `--quiet`.
fn check_args(args: &[OsString]) -> Vec<&OsString> {
    let mut kept = Vec::new();
    let mut words = args.iter().take_while(|arg| *arg != "--");
    while let Some(arg) = words.next() {
        let text = arg.to_str().unwrap_or("");
        if text == "--message-format" {
            words.next();
            continue;
        }
        if summary::is_verbose_flag(text)
            || ["--keep-going", "--quiet", "-q"].contains(&text)
            || text.starts_with("--message-format=")
        {
            continue;
        }
        kept.push(arg);
    }
    kept
}

/// The errors of the scripts the discovery run found waiting, as their stand-ins print
/// them (cargo hid them: in that run they passed), after the last lines of stderr of
/// those that failed.
fn print_discovered(found: &[audit::RunRecord], policy: &PolicyFile, output: &Output) {
    let mut text = String::new();
    for record in found {
        let package = policy.policy_for(&record.manifest_dir);
        let spec = package.grant_spec(&record.package, &record.version);
        if !record.stderr_tail.is_empty() {
            let lines = match record.stderr_tail.len() {
                1 => "last line".to_string(),
                count => format!("last {count} lines"),
            };
            text.push_str(&format!(
                "--- stderr of the build script of `{} v{}` ({lines})\n",
                record.package, record.version,
            ));
            for line in &record.stderr_tail {
                text.push_str(&format!("  {}\n", InertLines(line)));
            }
        }
        text.push_str(&wasm_build_standin::failure_text(
            (
                &format!("`{} v{}`", record.package, record.version),
                output.color_choice() == "always",
            ),
            (&policy.grant_site, &spec, package.allow_table.as_deref()),
            &record.errors,
            &record.pending,
        ));
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Whether cargo was told to stay off the network.
fn is_offline(args: &[String]) -> bool {
    args.iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--offline" || arg == "--frozen")
}

/// What a printed `approve` (or `permissions`) command needs to find this workspace and
/// build from any directory: the manifest path the build was given, made absolute, and
/// the target directory unless it is the default.
fn approve_args(args: &[String], target_dir: &Path, default_target_dir: &Path) -> Result<String> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let mut extra = String::new();
    if let Some(manifest) = option_value(args, "--manifest-path") {
        extra.push_str(&format!(
            " --manifest-path {}",
            shell_word(&cwd.join(manifest))
        ));
    }
    let target_dir = effective_target_dir(args, target_dir)?;
    if target_dir != default_target_dir {
        extra.push_str(&format!(" --target-dir {}", shell_word(&target_dir)));
    }
    Ok(extra)
}

/// The target directory the build uses: `--target-dir` if given, else cargo's.
fn effective_target_dir(args: &[String], configured: &Path) -> Result<PathBuf> {
    let Some(dir) = target_dir_arg(args) else {
        return Ok(configured.to_path_buf());
    };
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    Ok(cwd.join(dir))
}

/// `path` as one shell word: quoted when it holds anything but plain path characters.
fn shell_word(path: &Path) -> String {
    wasm_build_diagnostics::shell::quote(&path.display().to_string()).into_owned()
}

/// In strict mode, the refusal to build while anything is unreviewed: the status to
/// exit with, or `None` when everything is reviewed. Unreviewed is what crates declare
/// and the last runs attempted without a review, a new version of a reviewed crate (it
/// may declare nothing and never have run here: its script would run with no grants),
/// and a script whose last run used a grant removed since.
fn refuse_unreviewed(
    graph: &Graph,
    resolution: &Resolution,
    args: &[String],
    output: &Output,
) -> Result<Option<i32>> {
    let runs = last_runs(&audit_logs(&graph.target_dir));
    let pending = pending(resolution, &runs);
    let listed = |spec: &str| pending.iter().any(|item| item.spec == spec);
    let drifted: Vec<Drifted> = drifted(graph, resolution, &runs)
        .into_iter()
        .filter(|drift| !listed(&drift.spec))
        .collect();
    let revoked: Vec<Revoked> = revoked(resolution, &runs, &graph.target_dir)
        .into_iter()
        .filter(|gone| !listed(&gone.spec))
        .collect();
    if pending.is_empty() && drifted.is_empty() && revoked.is_empty() {
        return Ok(None);
    }
    let extra = approve_args(args, &graph.target_dir, &graph.default_target_dir())?;
    let mut scripts: Vec<String> = drifted
        .iter()
        .map(|drift| {
            format!(
                "{} v{} (a new version: grants exist for {}, not for this one)",
                drift.name, drift.version, drift.from
            )
        })
        .collect();
    scripts.extend(revoked.iter().map(|gone| {
        format!(
            "{} v{} (its last run used grants removed since): {}",
            gone.name,
            gone.version,
            listing(&gone.used)
        )
    }));
    scripts.extend(pending.iter().map(|item| pending_line(item, resolution)));
    let refused = cli::StrictRefused {
        scripts: &scripts,
        extra: &extra,
        drifted: !drifted.is_empty(),
        revoked: !revoked.is_empty(),
    };
    let text = refused.render(output.painter());
    let _ = std::io::stderr().write_all(text.as_bytes());
    Ok(Some(exit::UNREVIEWED))
}

/// One pending package in strict mode's refusal: what it needs, whence, and the other
/// version reviewed instead, if any.
fn pending_line(item: &Pending, resolution: &Resolution) -> String {
    let mut what = listing(&item.set.capabilities());
    if !item.set.limits.is_empty() {
        what = if item.set.capabilities().is_empty() {
            "larger limits".to_string()
        } else {
            format!("{what}, larger limits")
        };
    }
    let origin = match (item.declared, item.attempted) {
        (true, true) => "declared and attempted",
        (true, false) => "declared",
        _ => "attempted in the last build",
    };
    let drift = resolution
        .packages
        .iter()
        .find(|resolved| resolved.package.spec == item.spec)
        .filter(|resolved| !resolved.drift.is_empty())
        .map(|resolved| format!("; grants exist for {}", resolved.drift.join(", ")))
        .unwrap_or_default();
    format!("{} v{} ({origin}{drift}): {what}", item.name, item.version)
}

fn listing(capabilities: &[wasm_build_permissions_schema::Capability]) -> String {
    let names: Vec<String> = capabilities.iter().map(ToString::to_string).collect();
    names.join(", ")
}

fn warn_trusting(trusted: &[String], output: &Output) {
    if trusted.is_empty() || output.is_quiet() {
        return;
    }
    let said = cli::TrustDeclared { trusted };
    let _ = writeln!(std::io::stderr(), "{}", said.render(output.painter()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_and_frozen_keep_every_cargo_off_the_network() {
        let args = |line: &str| {
            line.split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert!(is_offline(&args("--release --offline")));
        assert!(is_offline(&args("-p x --frozen")));
        assert!(!is_offline(&args("--locked")));
        assert!(!is_offline(&args("-- --offline")));
    }

    #[test]
    fn printed_commands_name_the_manifest_and_a_target_dir_that_is_not_the_default() {
        let cwd = std::env::current_dir().unwrap();
        let args = |line: &str| {
            line.split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let default = Path::new("/w/target");
        assert_eq!(
            approve_args(&args("--release"), default, default).unwrap(),
            ""
        );
        assert_eq!(
            approve_args(&args("--manifest-path w/Cargo.toml"), default, default).unwrap(),
            format!(" --manifest-path {}", cwd.join("w/Cargo.toml").display())
        );
        // CARGO_TARGET_DIR or build.target-dir: cargo resolved it.
        assert_eq!(
            approve_args(&args(""), Path::new("/elsewhere"), default).unwrap(),
            " --target-dir /elsewhere"
        );
        // --target-dir wins, relative to where the build ran.
        assert_eq!(
            approve_args(&args("--target-dir=t -- --target-dir x"), default, default).unwrap(),
            format!(" --target-dir {}", cwd.join("t").display())
        );
        assert_eq!(shell_word(Path::new("/a b/it's")), "\"/a b/it's\"");
    }

    #[test]
    fn discovery_takes_the_build_arguments_without_its_own_flags() {
        let args: Vec<OsString> = [
            "--release",
            "--keep-going",
            "-vv",
            "-q",
            "-p",
            "x",
            "--",
            "-q",
        ]
        .map(OsString::from)
        .into();
        let kept: Vec<&str> = check_args(&args)
            .into_iter()
            .map(|arg| arg.to_str().unwrap())
            .collect();
        assert_eq!(kept, ["--release", "-p", "x"]);
    }
}
