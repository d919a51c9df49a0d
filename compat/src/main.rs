//! The compatibility suite: `cargo run --release -p wasm-build-compat [-- OPTIONS]`.
//!
//! Builds one consumer that depends on every crate of `compat/crates.toml` twice, with
//! plain cargo and with cargo wasm-build (granting what the list says), compares every
//! build script's directives and `OUT_DIR`, and the code of what was built (objects and
//! archives in `OUT_DIR`, each package's rlib: see `code.rs`), prints PASS / DIFF / FAIL per
//! crate, and writes the table to `docs/compat.md`.
//!
//! Options (`--help` lists them): `--only a,b` to run a subset; `--no-report` to leave
//! docs/compat.md alone; `--install-system-deps` to `apt-get install` the Debian packages
//! the list needs; `--rounds` to also build the consumer from no grants at all, running
//! `cargo wasm-build approve --all` after each failed build, and report how many approval
//! rounds it took and in which round each crate was approved; `--keep-targets` to compare
//! again without starting clean.

#![allow(
    clippy::disallowed_methods,
    reason = "the compatibility suite runs cargo, the tool and apt-get"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use wasm_build_compat::harness::{build_tool, cargo, command_output, workspace};
use wasm_build_compat::{
    Built, Comparison, ScriptResult, compare, compile_errors, compiled_artefacts, executed_scripts,
    logged_compile_error, read_result, script_failures,
};
use wasm_build_contract::audit;

#[derive(Debug, Deserialize)]
struct Suite {
    #[serde(rename = "crate")]
    crates: Vec<Entry>,
}

/// One package's `allow` or `deny` table in `crates.toml`, key by key, as written there
/// (arrays of names, `run-natively = true`, network entries).
type Decision = BTreeMap<String, serde_json::Value>;

#[derive(Debug, Clone, Deserialize)]
struct Entry {
    name: String,
    dependency: String,
    class: String,
    #[serde(default)]
    grants: BTreeMap<String, Decision>,
    #[serde(default)]
    denials: BTreeMap<String, Decision>,
    #[serde(default)]
    system: Vec<String>,
    /// Variables the consumer sets to steer this crate's build (a knob only it reads), set
    /// for both builds alike.
    #[serde(default)]
    env: BTreeMap<String, String>,
    note: Option<String>,
    /// Explains a difference in compiled code (see `Outcome::CodeDiff`); `note` does not.
    #[serde(rename = "code-note")]
    code_note: Option<String>,
}

impl Suite {
    /// Every selected crate's steering variables.
    fn env(&self) -> BTreeMap<&str, &str> {
        self.crates
            .iter()
            .flat_map(|entry| entry.env.iter())
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }
}

struct Options {
    only: Option<BTreeSet<String>>,
    report: bool,
    install: bool,
    rounds: bool,
    keep_targets: bool,
}

/// How a build from no grants converged (see `--rounds`).
struct Rounds {
    /// Approval rounds until the build passed; `None` when it never did.
    total: Option<usize>,
    /// The round in which each package was approved.
    by_package: BTreeMap<String, usize>,
    /// When it did not converge, what `approve --all` said about the last build.
    stuck: Option<String>,
}

fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}

fn run() -> Result<()> {
    let options = parse_args()?;
    let workspace = workspace()?;
    let list = fs::read_to_string(workspace.join("compat/crates.toml"))?;
    let whole: Suite = toml_edit::de::from_str(&list).context("compat/crates.toml is malformed")?;
    let mut suite = Suite {
        crates: whole.crates.clone(),
    };
    if let Some(only) = &options.only {
        let unknown: Vec<&String> = only
            .iter()
            .filter(|name| !whole.crates.iter().any(|entry| &entry.name == *name))
            .collect();
        if !unknown.is_empty() {
            bail!("--only names crates compat/crates.toml does not list: {unknown:?}");
        }
        suite.crates.retain(|entry| only.contains(&entry.name));
    }
    if suite.crates.is_empty() {
        bail!("no crates selected");
    }
    check_system_packages(&suite, options.install)?;

    let tool = build_tool(&workspace)?;
    let work = workspace.join("target/compat");
    let consumer = work.join("consumer");
    fs::create_dir_all(consumer.join("src"))?;
    fs::write(consumer.join("src/lib.rs"), "")?;
    let lockfile = workspace.join("compat/Cargo.lock");
    let specs = pin_versions(&whole, &consumer, &lockfile)?;
    fs::write(consumer.join("Cargo.toml"), manifest(&suite, &specs))?;

    // Names of equal length: object files embed these paths, and only same-length paths
    // keep their layouts comparable.
    let native_target = work.join("cargo-plain");
    let sandboxed_target = work.join("cargo-wasmb");
    if !options.keep_targets {
        for target in [&native_target, &sandboxed_target] {
            // Each run starts clean, so every build script runs in both builds.
            let _ = fs::remove_dir_all(target);
        }
    }
    let started = Instant::now();
    let mut native_command = Command::new(cargo());
    native_command.envs(suite.env());
    let native = build(
        &consumer,
        &native_target,
        native_command,
        &work.join("native.log"),
    )?;
    let native_time = started.elapsed();
    if native.scripts.is_empty() {
        bail!(
            "the native build ran no build script; see {}",
            work.join("native.log").display()
        );
    }
    let mut sandboxed_command = Command::new(&tool);
    sandboxed_command.arg("wasm-build").envs(suite.env());
    let started = Instant::now();
    let sandboxed = build(
        &consumer,
        &sandboxed_target,
        sandboxed_command,
        &work.join("sandboxed.log"),
    )?;
    let sandboxed_time = started.elapsed();

    let roots = [
        native_target.as_path(),
        sandboxed_target.as_path(),
        consumer.as_path(),
    ];
    let failures = failure_reasons(&sandboxed_target, &sandboxed.log);
    let started = Instant::now();
    let mut rows = Vec::new();
    for (id, out_dir) in &native.scripts {
        let (name, version) = name_and_version(id);
        let Some(native_result) = read_result(out_dir, &roots) else {
            continue;
        };
        let sandboxed_script = sandboxed
            .scripts
            .get(id)
            .and_then(|dir| Some((dir, read_result(dir, &roots)?)));
        let outcome = match sandboxed_script {
            Some((sandboxed_dir, sandboxed_result)) => outcome(compare(
                native.built(id, &native_result, out_dir),
                sandboxed.built(id, &sandboxed_result, sandboxed_dir),
            )),
            None => Outcome::Fail(
                failures
                    .get(&name)
                    .or_else(|| sandboxed.errors.get(id))
                    .map(|reason| sandboxed.with_compile_errors(reason))
                    .unwrap_or_else(|| {
                        "the build script did not run; see target/compat/sandboxed.log".into()
                    }),
            ),
        };
        rows.push(Row {
            name,
            version,
            outcome,
        });
    }

    let compare_time = started.elapsed();
    let listed: BTreeSet<&str> = suite
        .crates
        .iter()
        .map(|entry| entry.name.as_str())
        .collect();
    // A difference the list explains (`note`) is reported, but does not fail the suite:
    // the table says why it is not the sandbox's doing.
    let mut tally = Tally::default();
    for entry in &suite.crates {
        let matching: Vec<&Row> = rows.iter().filter(|row| row.name == entry.name).collect();
        if matching.is_empty() {
            tally.failed += 1;
            println!(
                "FAIL {}: no build script of it ran in the native build",
                entry.name
            );
            continue;
        }
        for row in matching {
            match &row.outcome {
                Outcome::Pass => {
                    tally.passed += 1;
                    println!("PASS {} {}", row.name, row.version);
                }
                Outcome::Diff(lines) => {
                    let explained = entry.note.is_some();
                    if explained {
                        tally.explained += 1;
                    } else {
                        tally.failed += 1;
                    }
                    let word = if explained {
                        "DIFF (explained)"
                    } else {
                        "DIFF"
                    };
                    println!("{word} {} {}", row.name, row.version);
                    for line in lines.iter().take(10) {
                        println!("     {}", shorten(line, 200));
                    }
                }
                Outcome::CodeDiff { script, code } => {
                    let explained = entry.code_note.is_some();
                    if explained {
                        tally.explained += 1;
                    } else {
                        tally.failed += 1;
                    }
                    let word = if explained {
                        "DIFF (code, explained)"
                    } else {
                        "DIFF (code)"
                    };
                    println!("{word} {} {}", row.name, row.version);
                    for line in code.iter().chain(script).take(12) {
                        println!("     {}", shorten(line, 300));
                    }
                }
                Outcome::Fail(reason) => {
                    tally.failed += 1;
                    println!(
                        "FAIL {} {}: {}",
                        row.name,
                        row.version,
                        shorten(reason, 300)
                    );
                }
            }
        }
    }
    let others: Vec<&Row> = rows
        .iter()
        .filter(|row| !listed.contains(row.name.as_str()))
        .collect();
    for row in &others {
        let word = match row.outcome {
            Outcome::Pass => "pass",
            Outcome::Diff(_) => "DIFF",
            Outcome::CodeDiff { .. } => "DIFF (code)",
            Outcome::Fail(_) => "FAIL",
        };
        let first = match &row.outcome {
            Outcome::Diff(lines) | Outcome::CodeDiff { code: lines, .. } => lines.first(),
            Outcome::Pass | Outcome::Fail(_) => None,
        };
        println!(
            "     (also in the graph) {word} {} {}{}",
            row.name,
            row.version,
            first
                .map(|line| format!(": {}", shorten(line, 200)))
                .unwrap_or_default()
        );
    }
    println!(
        "{} (native build {:.0} s, sandboxed {:.0} s, comparison {:.0} s)",
        tally.sentence(),
        native_time.as_secs_f64(),
        sandboxed_time.as_secs_f64(),
        compare_time.as_secs_f64()
    );
    if options.report && options.only.is_none() {
        let rounds = if options.rounds {
            Some(measure_rounds(&suite, &specs, &tool, &work)?)
        } else {
            None
        };
        let report = report(&suite, &rows, &others, &tally, rounds.as_ref())?;
        fs::create_dir_all(workspace.join("docs"))?;
        fs::write(workspace.join("docs/compat.md"), report)?;
        println!("wrote docs/compat.md");
    }
    if tally.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    passed: usize,
    explained: usize,
    failed: usize,
}

impl Tally {
    fn sentence(&self) -> String {
        format!(
            "{} passed, {} differ for an explained reason, {} failed",
            self.passed, self.explained, self.failed
        )
    }
}

/// How the suite's thread-using scripts run; printed above the table.
const THREADS_PARAGRAPH: &str = "A build script has one thread and a 64 MiB stack. A thread it spawns \
     runs to completion when something waits for it (`join`, the end of `thread::scope`, a \
     receive on an empty channel); `thread::Builder::spawn` without a stack size reports \
     `Unsupported`, so rayon's global pool runs on the calling thread \
     ([details](crate-authors.md#threads)). html5ever 0.26 expands its tree-builder rules \
     on a thread with a 128 MiB stack; its output is identical.";

const HELP: &str = "\
The compatibility suite: builds every crate of compat/crates.toml with plain cargo and with
cargo wasm-build, compares what each build script printed and left in OUT_DIR, and the code
of what was built (objects and archives in OUT_DIR, the crate's own rlib), and writes
docs/compat.md.

Usage: cargo run --release --locked -p wasm-build-compat -- [OPTIONS]

Options:
  --only a,b               build only these crates of the list (the versions stay those
                           compat/Cargo.lock pins; the report is not written)
  --no-report              leave docs/compat.md alone
  --install-system-deps    apt-get install the Debian packages the selected crates need
  --rounds                 also build from no grants at all, approving after each failed
                           build, and report the rounds it took
  --keep-targets           reuse the previous run's target directories instead of
                           starting clean (to re-run the comparison; scripts that already
                           ran are not run again)
  -h, --help               print this text
";

fn parse_args() -> Result<Options> {
    let mut options = Options {
        only: None,
        report: true,
        install: false,
        rounds: false,
        keep_targets: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--only" => {
                let list = args.next().context("--only needs a comma-separated list")?;
                options.only = Some(list.split(',').map(String::from).collect());
            }
            "--no-report" => options.report = false,
            "--rounds" => options.rounds = true,
            "--install-system-deps" => options.install = true,
            "--keep-targets" => options.keep_targets = true,
            "--help" | "-h" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            other => {
                bail!("unknown option `{other}` (see --help)")
            }
        }
    }
    Ok(options)
}

/// Installs (or, without permission, lists) the Debian packages the selected crates need.
fn check_system_packages(suite: &Suite, install: bool) -> Result<()> {
    let wanted: BTreeSet<&str> = suite
        .crates
        .iter()
        .flat_map(|entry| entry.system.iter().map(String::as_str))
        .collect();
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|package| {
            !Command::new("dpkg")
                .args(["-s", package])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !install {
        eprintln!(
            "warning: missing Debian packages {}; pass --install-system-deps to install them",
            missing.join(" ")
        );
        return Ok(());
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .status()
            .context("failed to run apt-get")
    };
    if install()?.success() {
        return Ok(());
    }
    // A fresh machine has no package lists yet (nasm, cmake are not preinstalled): fetch
    // them and try once more.
    let updated = Command::new("apt-get")
        .args(["update", "-q"])
        .status()
        .context("failed to run apt-get update")?;
    if !updated.success() || !install()?.success() {
        bail!("apt-get could not install {}", missing.join(" "));
    }
    Ok(())
}

/// The consumer's manifest: every crate as a dependency, and the grants by exact spec.
fn manifest(suite: &Suite, specs: &BTreeMap<String, Vec<String>>) -> String {
    let mut text = String::from(
        "[package]\nname = \"compat-consumer\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n",
    );
    for entry in &suite.crates {
        let _ = writeln!(text, "{} = {}", entry.name, entry.dependency);
    }
    text.push_str("\n[workspace]\n");
    // Several crates may need the same package granted (openssl-sys under openssl and
    // libgit2-sys): merge their decisions per spec.
    let mut merged: BTreeMap<(&str, &str), Decision> = BTreeMap::new();
    for entry in &suite.crates {
        for (table, decisions) in [("allow", &entry.grants), ("deny", &entry.denials)] {
            for (package, decision) in decisions {
                for spec in specs.get(package).into_iter().flatten() {
                    merge(merged.entry((table, spec.as_str())).or_default(), decision);
                }
            }
        }
    }
    for ((table, spec), decision) in merged {
        let _ = write!(
            text,
            "\n[workspace.metadata.sandbox.{table}.{}]\n{}",
            toml_edit::Value::from(spec),
            toml_edit::ser::to_string(&decision).unwrap_or_default()
        );
    }
    text
}

/// Adds the values of `more` to `into`, arrays merged without duplicates.
fn merge(into: &mut Decision, more: &Decision) {
    for (key, value) in more {
        match (into.get_mut(key), value) {
            (Some(serde_json::Value::Array(have)), serde_json::Value::Array(extra)) => {
                for item in extra {
                    if !have.contains(item) {
                        have.push(item.clone());
                    }
                }
            }
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Pins every listed crate in `lockfile`: the consumer of the whole list resolves only what
/// the lockfile lacks (a crate just added), and the result is written back, so a run of a
/// subset (`--only`) builds the same versions as a run of the whole suite. Returns the
/// grant specs of every package in the graph.
fn pin_versions(
    whole: &Suite,
    consumer: &Path,
    lockfile: &Path,
) -> Result<BTreeMap<String, Vec<String>>> {
    if lockfile.is_file() {
        fs::copy(lockfile, consumer.join("Cargo.lock"))?;
    }
    fs::write(
        consumer.join("Cargo.toml"),
        manifest(whole, &BTreeMap::new()),
    )?;
    let specs = package_specs(consumer)?;
    fs::copy(consumer.join("Cargo.lock"), lockfile)?;
    Ok(specs)
}

/// Package name → the grant specs (`name@version`) of every version in the graph.
fn package_specs(consumer: &Path) -> Result<BTreeMap<String, Vec<String>>> {
    let output = Command::new(cargo())
        .args(["metadata", "--format-version", "1"])
        .current_dir(consumer)
        .stderr(Stdio::inherit())
        .output()
        .context("failed to run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed for the consumer");
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mut specs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let (Some(name), Some(version)) = (package["name"].as_str(), package["version"].as_str())
        else {
            continue;
        };
        specs
            .entry(name.to_string())
            .or_default()
            .push(format!("{name}@{version}"));
    }
    Ok(specs)
}

/// What one build did, from cargo's JSON messages.
struct Build {
    /// Package id → the `OUT_DIR` of the build script that ran.
    scripts: BTreeMap<String, PathBuf>,
    /// Package id → its compiled libraries.
    artefacts: BTreeMap<String, Vec<PathBuf>>,
    /// Package id → its first compile error.
    errors: BTreeMap<String, String>,
    /// What cargo printed.
    log: String,
}

impl Build {
    /// `reason`, followed by the first compile error of each package it names in
    /// backticks (a build-dependency "does not compile": this says where and why).
    fn with_compile_errors(&self, reason: &str) -> String {
        let mut text = reason.to_string();
        for name in reason.split('`').skip(1).step_by(2) {
            if let Some(error) = logged_compile_error(&self.log, name) {
                let _ = write!(text, "; {error}");
            }
        }
        text
    }

    fn built<'a>(&'a self, id: &str, result: &'a ScriptResult, out_dir: &'a Path) -> Built<'a> {
        Built {
            result,
            out_dir,
            artefacts: self.artefacts.get(id).map_or(&[], Vec::as_slice),
        }
    }
}

/// One build with `--keep-going`; its JSON messages are kept beside the log.
fn build(consumer: &Path, target: &Path, mut command: Command, log: &Path) -> Result<Build> {
    let log_file = fs::File::create(log)?;
    let output = command
        .args([
            "build",
            "--keep-going",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(consumer)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTC_WRAPPER")
        .stderr(log_file)
        .output()
        .context("failed to run the build")?;
    fs::write(log.with_extension("jsonl"), &output.stdout)?;
    let messages = String::from_utf8_lossy(&output.stdout);
    Ok(Build {
        scripts: executed_scripts(&messages),
        artefacts: compiled_artefacts(&messages),
        errors: compile_errors(&messages),
        log: fs::read_to_string(log).unwrap_or_default(),
    })
}

/// Why each package's sandboxed build script failed, from the audit log, with what the
/// script itself said last (from the build's log).
fn failure_reasons(target: &Path, log: &str) -> BTreeMap<String, String> {
    let said = script_failures(log);
    let mut reasons = BTreeMap::new();
    for record in audit::read(&target.join("debug/wasm-build/audit.jsonl")) {
        if record.status != 0 {
            let mut errors: Vec<&str> = record
                .errors
                .iter()
                .map(|error| error.message.as_str())
                .collect();
            if let Some(said) = said.get(&record.package) {
                errors.push(said);
            }
            reasons.insert(record.package.clone(), errors.join("; "));
        }
    }
    reasons
}

fn name_and_version(id: &str) -> (String, String) {
    let tail = id.rsplit_once('#').map_or(id, |(_, tail)| tail);
    match tail.rsplit_once('@') {
        Some((name, version)) => (name.to_string(), version.to_string()),
        None => (tail.to_string(), String::new()),
    }
}

enum Outcome {
    Pass,
    /// What the script printed or wrote differs; the code built from it does not.
    Diff(Vec<String>),
    /// The compiled code differs (an object or archive in `OUT_DIR`, the package's
    /// library): what ends up in the binary is not what native cargo builds. Only a
    /// `code-note` explains it.
    CodeDiff {
        script: Vec<String>,
        code: Vec<String>,
    },
    Fail(String),
}

struct Row {
    name: String,
    version: String,
    outcome: Outcome,
}

fn outcome(comparison: Comparison) -> Outcome {
    if !comparison.code.is_empty() {
        Outcome::CodeDiff {
            script: comparison.script,
            code: comparison.code,
        }
    } else if comparison.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Diff(comparison.script)
    }
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Builds the consumer from no grants (the list's denials kept: they are decisions, not
/// approvals), approving everything pending after each failed build, until it passes.
fn measure_rounds(
    suite: &Suite,
    specs: &BTreeMap<String, Vec<String>>,
    tool: &Path,
    work: &Path,
) -> Result<Rounds> {
    const MOST: usize = 6;
    let consumer = work.join("rounds-consumer");
    let target = work.join("cargo-round");
    let _ = fs::remove_dir_all(&target);
    fs::create_dir_all(consumer.join("src"))?;
    fs::write(consumer.join("src/lib.rs"), "")?;
    let lockfile = work.join("consumer/Cargo.lock");
    if lockfile.is_file() {
        fs::copy(&lockfile, consumer.join("Cargo.lock"))?;
    }
    let mut ungranted = Suite { crates: Vec::new() };
    for entry in &suite.crates {
        ungranted.crates.push(Entry {
            grants: BTreeMap::new(),
            ..entry.clone()
        });
    }
    fs::write(consumer.join("Cargo.toml"), manifest(&ungranted, specs))?;
    let mut rounds = Rounds {
        total: None,
        by_package: BTreeMap::new(),
        stuck: None,
    };
    for round in 0..=MOST {
        let log = work.join(format!("round-{round}.log"));
        let status = Command::new(tool)
            .args(["wasm-build", "build", "--keep-going"])
            .envs(suite.env())
            .current_dir(&consumer)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTC_WRAPPER")
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log)?)
            .status()
            .context("failed to run the build")?;
        if status.success() {
            rounds.total = Some(round);
            break;
        }
        if round == MOST {
            break;
        }
        let approved = Command::new(tool)
            .args(["wasm-build", "approve", "--all", "--yes"])
            .current_dir(&consumer)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .context("failed to run approve")?;
        let mut text = String::from_utf8_lossy(&approved.stderr).into_owned();
        // `approve --all` never grants `run-natively`; it names the command that does, and
        // a user following it does so in the same round.
        let by_name = approve_by_name_commands(&text);
        let mut approved_by_name = true;
        for spec in &by_name {
            let output = Command::new(tool)
                .args(["wasm-build", "approve", spec, "--yes"])
                .current_dir(&consumer)
                .env("CARGO_TARGET_DIR", &target)
                .output()
                .context("failed to run approve")?;
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            approved_by_name &= output.status.success();
        }
        fs::write(
            work.join(format!("round-{round}-approve.log")),
            text.as_bytes(),
        )?;
        let approved_something = approved.status.success() || !by_name.is_empty();
        if !approved_something || !approved_by_name {
            // `error: ...`, or `error[W001]: ...` under a diagnostic's code.
            rounds.stuck = text
                .lines()
                .find(|line| line.starts_with("error:") || line.starts_with("error["))
                .and_then(|line| line.split_once(": "))
                .map(|(_, message)| message.to_string());
            break;
        }
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("Approving for ") else {
                continue;
            };
            if let Some(name) = rest.split(' ').next() {
                // The last round a package needed approving is when it converged.
                rounds.by_package.insert(name.to_string(), round + 1);
            }
        }
    }
    match rounds.total {
        Some(total) => println!("from no grants: {total} approval round(s)"),
        None => println!("from no grants: did not converge; see target/compat/round-*.log"),
    }
    Ok(rounds)
}

/// The package specs that `approve --all`'s W105 warnings say to approve by name (the
/// command in the last backticks of each such line).
fn approve_by_name_commands(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.starts_with("warning[W105]:"))
        .filter_map(|line| line.rsplit('`').nth(1))
        .filter_map(|command| command.strip_prefix("cargo wasm-build approve "))
        .filter_map(|rest| rest.split_whitespace().last())
        .map(str::to_string)
        .collect()
}

fn report(
    suite: &Suite,
    rows: &[Row],
    others: &[&Row],
    tally: &Tally,
    rounds: Option<&Rounds>,
) -> Result<String> {
    let mut text = String::new();
    let date = command_output("date", &["-u", "+%Y-%m-%d"]);
    let rustc = command_output("rustc", &["--version"]);
    let kernel = command_output("uname", &["-r"]);
    let _ = writeln!(text, "# Compatibility suite\n");
    let _ = writeln!(
        text,
        "Real crates from crates.io, each built by one consumer with plain `cargo build` and \
         with `cargo wasm-build`; for every build script the directives it printed (the \
         `output` file cargo keeps) and its `OUT_DIR` files are compared, with the target \
         directories and cargo's unit hashes normalised. Objects and archives (in `OUT_DIR`, \
         and each package's compiled `.rlib`) are compared by their code: the count of each \
         instruction, the defined symbols with their binding, section and size, and the \
         size of each allocated section, so that paths, hashes and timestamps do not count \
         but a script that chose other compiler flags does (`DIFF in code`; see \
         `compat/src/code.rs`). Versions are pinned by `compat/Cargo.lock`; the list and \
         grants are `compat/crates.toml`.\n"
    );
    let _ = writeln!(
        text,
        "Run on {date} with {rustc}, wasmtime 48.0.8, Linux {kernel}, by\n\n```sh\ncargo run --release -p wasm-build-compat{}\n```\n",
        if rounds.is_some() { " -- --rounds" } else { "" }
    );
    let _ = writeln!(text, "**{}** of the listed crates.\n", tally.sentence());
    let _ = writeln!(
        text,
        "A build script runs as 32-bit wasm: `usize` is 32 bits wide. Scripts whose output \
         depends on it generate different but equivalent code. The known case is phf's \
         generators (`phf_codegen`, `string_cache_codegen`): they seed rand's `SmallRng`, \
         which is Xoshiro128++ on 32-bit targets and Xoshiro256++ on 64-bit ones, so the \
         hash key and displacement table differ while mapping the same keys (for four \
         words, native `key: 10121458955350035957, disps: [(1, 0)]` against sandboxed \
         `key: 6303759506835386689, disps: [(3, 0)]`). There is no cheap remedy: wasm32 is \
         the only WASI target with system calls. Rows marked DIFF (explained) say why.\n"
    );
    let _ = writeln!(text, "{THREADS_PARAGRAPH}\n");
    if let Some(rounds) = rounds {
        let _ = writeln!(
            text,
            "Starting from no grants at all (`--rounds`: build, `cargo wasm-build approve --all`, \
             build again), the whole suite {}. The `round` column says after which approval round \
             each crate's package needed nothing more (`-`: it needed none).\n",
            match rounds.total {
                Some(1) => "built after **1** approval round".to_string(),
                Some(total) => format!("built after **{total}** approval rounds"),
                None => match &rounds.stuck {
                    Some(said) => format!(
                        "did **not** converge: after round {}, `approve --all` said \"{}\"",
                        rounds.by_package.values().max().copied().unwrap_or(0),
                        said.replace('|', "\\|")
                    ),
                    None => "did **not** converge".to_string(),
                },
            }
        );
    }
    let _ = writeln!(
        text,
        "| crate | version | class | grants | result | round | notes |"
    );
    let _ = writeln!(text, "| --- | --- | --- | --- | --- | --- | --- |");
    let round_of = |name: &str| match rounds {
        None => "".to_string(),
        Some(rounds) => rounds
            .by_package
            .get(name)
            .map_or_else(|| "-".to_string(), ToString::to_string),
    };
    for entry in &suite.crates {
        let grants: Vec<String> = entry
            .grants
            .iter()
            .map(|(package, grant)| {
                let inner = toml_edit::ser::to_string(grant)
                    .unwrap_or_default()
                    .trim()
                    .replace('\n', "; ");
                format!("{package}: `{inner}`")
            })
            .collect();
        let grants = if grants.is_empty() {
            "none".to_string()
        } else {
            grants.join("<br>")
        };
        let class = if entry.env.is_empty() {
            entry.class.clone()
        } else {
            let steering: Vec<String> = entry
                .env
                .iter()
                .map(|(name, value)| format!("`{name}={value}`"))
                .collect();
            format!("{}, built with {}", entry.class, steering.join(" "))
        };
        let matching: Vec<&Row> = rows.iter().filter(|row| row.name == entry.name).collect();
        if matching.is_empty() {
            let _ = writeln!(
                text,
                "| {} | | {} | {grants} | FAIL | | no build script ran natively |",
                entry.name, class
            );
        }
        for row in matching {
            let (result, detail) = match &row.outcome {
                Outcome::Pass => ("PASS", String::new()),
                Outcome::Diff(lines) => (
                    if entry.note.is_some() {
                        "DIFF (explained)"
                    } else {
                        "DIFF"
                    },
                    lines
                        .iter()
                        .take(3)
                        .map(|l| format!("`{}`", shorten(l, 80).replace('|', "\\|")))
                        .collect::<Vec<_>>()
                        .join("<br>"),
                ),
                Outcome::CodeDiff { script, code } => (
                    if entry.code_note.is_some() {
                        "DIFF in code (explained)"
                    } else {
                        "DIFF in code"
                    },
                    code.iter()
                        .chain(script)
                        .take(4)
                        .map(|l| format!("`{}`", shorten(l, 160).replace('|', "\\|")))
                        .collect::<Vec<_>>()
                        .join("<br>"),
                ),
                Outcome::Fail(reason) => ("FAIL", shorten(reason, 200).replace('|', "\\|")),
            };
            let note = match &row.outcome {
                Outcome::CodeDiff { .. } => entry.code_note.clone().unwrap_or_default(),
                _ => entry.note.clone().unwrap_or_default(),
            };
            let notes = [detail, note]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("<br>");
            let _ = writeln!(
                text,
                "| {} | {} | {} | {grants} | {result} | {} | {notes} |",
                row.name,
                row.version,
                class,
                round_of(&row.name)
            );
        }
    }
    if !others.is_empty() {
        let _ = writeln!(text, "\n## Other build scripts in the graph\n");
        let _ = writeln!(text, "| package | version | result |");
        let _ = writeln!(text, "| --- | --- | --- |");
        for row in others {
            let result = match &row.outcome {
                Outcome::Pass => "PASS".to_string(),
                Outcome::Diff(lines) => format!(
                    "DIFF: {}",
                    lines
                        .first()
                        .map(|l| shorten(l, 80))
                        .unwrap_or_default()
                        .replace('|', "\\|")
                ),
                Outcome::CodeDiff { code, .. } => format!(
                    "DIFF in code: {}",
                    code.first()
                        .map(|l| shorten(l, 120))
                        .unwrap_or_default()
                        .replace('|', "\\|")
                ),
                Outcome::Fail(reason) => {
                    format!("FAIL: {}", shorten(reason, 120).replace('|', "\\|"))
                }
            };
            let _ = writeln!(text, "| {} | {} | {result} |", row.name, row.version);
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_of_crates_sharing_a_package_merge_into_one_valid_table() {
        let suite: Suite = toml_edit::de::from_str(
            r#"
[[crate]]
name = "a"
dependency = '"1"'
class = "sys"
grants = { ssl-sys = { exec = ["cc"], directives = ["rustc-env"] } }
[[crate]]
name = "b"
dependency = '"2"'
class = "sys"
grants = { ssl-sys = { exec = ["cc", "ar"], network = [{ program = "curl", hosts = ["example.com"] }] } }
denials = { other = { run-natively = true } }
"#,
        )
        .unwrap();
        let specs = BTreeMap::from([
            ("ssl-sys".to_string(), vec!["ssl-sys@0.9.1".to_string()]),
            ("other".to_string(), vec!["other@1.0.0".to_string()]),
        ]);
        let text = manifest(&suite, &specs);
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        let sandbox = &doc["workspace"]["metadata"]["sandbox"];
        let granted = &sandbox["allow"]["ssl-sys@0.9.1"];
        let names = |item: &toml_edit::Item| -> Vec<String> {
            item.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(names(&granted["exec"]), ["cc", "ar"]);
        assert_eq!(names(&granted["directives"]), ["rustc-env"]);
        let network = granted["network"].as_array().unwrap();
        let entry = network.get(0).unwrap().as_inline_table().unwrap();
        assert_eq!(entry.get("program").unwrap().as_str(), Some("curl"));
        assert_eq!(
            sandbox["deny"]["other@1.0.0"]["run-natively"].as_bool(),
            Some(true)
        );
        assert_eq!(doc["dependencies"]["a"].as_str(), Some("1"));
    }

    #[test]
    fn the_packages_to_approve_by_name_are_read_from_approves_warnings() {
        let text = "warning[W105]: `run-natively` not written for onig_sys v69.9.1: `approve --all` never grants it. ... To grant it, approve it by name: `cargo wasm-build approve --target-dir /t onig_sys@69.9.1`\nApproving for zstd-sys v2.1.2\n";
        assert_eq!(approve_by_name_commands(text), ["onig_sys@69.9.1"]);
        assert!(approve_by_name_commands("Approving for a v1\n").is_empty());
    }
}
