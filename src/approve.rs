//! `cargo wasm-build approve` and `deny`: record the consumer's decisions in the manifest.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, Result, bail};
use wasm_build_diagnostics::Diag as _;
use wasm_build_diagnostics::cli::{Named, NothingToDecide, RunNativelyHeldBack, Ungrantable};
use wasm_build_display::escape;
use wasm_build_permissions_schema::{Capability, grant_lines, toml_string};
use wasm_build_policy::carry::{Drifted, drifted};
use wasm_build_policy::edit::{
    Decision, add_grants, carry_grants, line_diff, marked_dangerous, note_suggested, remove_grants,
};
use wasm_build_policy::hygiene::{PathRules, PathRulings as _};
use wasm_build_policy::pending::{Pending, audit_logs, last_runs, pending};
use wasm_build_policy::{Consumer, Graph, Resolution};

/// What to decide on.
#[derive(Debug, Clone, clap::Args)]
pub struct DecideArgs {
    /// Packages to decide on: `NAME`, `NAME@VERSION` or a full package id spec
    #[arg(value_name = "PKG[@VERSION]")]
    packages: Vec<String>,
    /// Everything pending: declared by crates and denied in the last build
    #[arg(long, conflicts_with = "packages")]
    all: bool,
    /// Show what would be written, and write nothing
    #[arg(long)]
    dry_run: bool,
    /// Approve only what was declared or attempted, not the programs the tool suggests
    /// with them (such as `ar` for a cc-rs user denied `cc`)
    #[arg(long)]
    no_suggestions: bool,
    /// Do not ask for confirmation (it is only asked on a terminal)
    #[arg(long, short = 'y')]
    yes: bool,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<String>,
    /// The target directory the build used, if not cargo's (where its audit logs are)
    #[arg(long, value_name = "DIR")]
    target_dir: Option<String>,
}

/// What to approve: [`DecideArgs`], or what a learning build finds.
#[derive(Debug, Clone, clap::Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    decide: DecideArgs,
    /// First run the build's scripts with the programs and directives they ask for (jailed,
    /// never the network, never a dangerous grant; nothing they make is kept), then
    /// approve everything they needed in one decision, as `--all` does
    #[arg(long, conflicts_with_all = ["packages", "all"])]
    learn: bool,
    /// With --learn: the build's own cargo arguments (profile, features, target, `-p`),
    /// after `--`, so that the scripts run as in that build
    #[arg(last = true, value_name = "CARGO_ARGS", requires = "learn")]
    build_args: Vec<String>,
}

/// Runs `approve`; returns the exit status.
pub fn approve(args: &ApproveArgs) -> Result<i32> {
    let learn = args.learn.then_some(args.build_args.as_slice());
    run(&args.decide, Decision::Allow, learn)
}

/// Nothing to decide on: fine after a clean build; after a failed one (or none found),
/// the command was most likely pointed at the wrong build, so it says where it looked and
/// fails.
fn nothing_chosen(
    target_dir: &std::path::Path,
    logs: &[std::path::PathBuf],
    runs: &std::collections::BTreeMap<std::path::PathBuf, wasm_build_contract::audit::RunRecord>,
    everything: bool,
) -> Result<i32> {
    let mut stderr = std::io::stderr();
    let what = if everything {
        "nothing is pending review"
    } else {
        "nothing is pending review for the named packages"
    };
    if logs.is_empty() {
        let target_dir = target_dir.display().to_string();
        let said = NothingToDecide::NoBuild {
            what,
            target_dir: &target_dir,
        };
        writeln!(stderr, "{}", said.render(crate::terminal::stderr_painter()))?;
        return Ok(crate::exit::UNREVIEWED);
    }
    let failed: Vec<String> = runs
        .values()
        .filter(|run| run.status != 0)
        .map(|run| format!("{} v{}", run.package, run.version))
        .collect();
    let looked: Vec<String> = logs.iter().map(|log| log.display().to_string()).collect();
    if !failed.is_empty() {
        let said = NothingToDecide::LastBuildFailed {
            what,
            failed: &failed,
            looked: &looked,
        };
        writeln!(stderr, "{}", said.render(crate::terminal::stderr_painter()))?;
        return Ok(crate::exit::UNREVIEWED);
    }
    writeln!(stderr, "{what} (looked in {})", looked.join(", "))?;
    Ok(0)
}

/// Runs `approve` (`Decision::Allow`) or `deny`, after the learning build of `learn`'s
/// cargo arguments if there is one; returns the exit status.
pub fn run(args: &DecideArgs, decision: Decision, learn: Option<&[String]>) -> Result<i32> {
    if args.packages.is_empty() && !args.all && learn.is_none() {
        bail!(
            "name the packages to decide on, pass --all for everything pending, or --learn to find out what the build needs first"
        );
    }
    let mut cargo_args = Vec::new();
    if let Some(path) = &args.manifest_path {
        cargo_args.extend(["--manifest-path".to_string(), path.clone()]);
    }
    if let Some(dir) = &args.target_dir {
        cargo_args.extend(["--target-dir".to_string(), dir.clone()]);
    }
    if let Some(build_args) = learn {
        let build: Vec<std::ffi::OsString> = build_args
            .iter()
            .chain(&cargo_args)
            .map(Into::into)
            .collect();
        if let Err(status) = crate::run_cargo::learn(&build)? {
            return Ok(status);
        }
    }
    let graph = Graph::load(&cargo_args)?;
    let rules = crate::homes::rules(&graph);
    let consumer = Consumer::load(&graph.root_manifest, &rules)?;
    let in_workspace_table = consumer.in_workspace_table;
    let manifest = consumer.manifest.clone();
    let resolution = Resolution::new(&graph, consumer, None, rules);
    let logs = audit_logs(&graph.target_dir);
    let runs = last_runs(&logs);
    let mut all_pending = pending(&resolution, &runs);
    let every_drift = if decision == Decision::Allow {
        drifted(&graph, &resolution, &runs)
    } else {
        Vec::new()
    };
    let mut carries = chosen_drifts(every_drift.clone(), &args.packages);
    let mut stderr = std::io::stderr();
    if args.all || learn.is_some() {
        for held in hold_back_native_carries(&mut carries) {
            let command = approve_by_name(args, &held.spec);
            let said = RunNativelyHeldBack {
                package: Named {
                    name: &held.name,
                    version: &held.version,
                },
                carried_from: Some(&held.from),
                approve_by_name: &command,
            };
            writeln!(stderr, "{}", said.render(crate::terminal::stderr_painter()))?;
        }
    }
    for carry in &carries {
        only_beyond(&mut all_pending, carry);
    }
    let mut chosen = select(&all_pending, &args.packages, &graph, (&carries, decision))?;
    // Suggestions complete an approval; denying a companion because its trigger was
    // denied would be a decision nobody made.
    // A learning build saw what the scripts use: nothing is left to guess.
    let with_suggestions = decision == Decision::Allow && !args.no_suggestions && learn.is_none();
    if !with_suggestions {
        for item in &mut chosen {
            item.suggested.clear();
        }
    }
    if decision == Decision::Allow && (args.all || learn.is_some()) {
        let held = hold_back_run_natively(&mut chosen);
        for item in &held {
            let command = approve_by_name(args, &item.spec);
            let said = RunNativelyHeldBack {
                package: Named {
                    name: &item.name,
                    version: &item.version,
                },
                carried_from: None,
                approve_by_name: &command,
            };
            writeln!(stderr, "{}", said.render(crate::terminal::stderr_painter()))?;
        }
        if chosen.is_empty() && carries.is_empty() && !held.is_empty() {
            return Ok(crate::exit::UNREVIEWED);
        }
    }
    if chosen.is_empty() && carries.is_empty() && learn.is_some() {
        writeln!(
            stderr,
            "the build's scripts need nothing that awaits review: build with `cargo wasm-build`"
        )?;
        return Ok(0);
    }
    if chosen.is_empty() && carries.is_empty() {
        return nothing_chosen(&graph.target_dir, &logs, &runs, args.packages.is_empty());
    }

    let verb = match decision {
        Decision::Allow => "Approving",
        Decision::Deny => "Denying",
    };
    let table = match decision {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
    };
    let root = if in_workspace_table {
        "workspace"
    } else {
        "package"
    };
    for carry in &carries {
        show_carry(carry)?;
    }
    for item in &chosen {
        let origin = match (item.declared, item.attempted) {
            (true, true) => "declared by the crate and attempted in the last build",
            (true, false) => "declared by the crate",
            (false, true) => "attempted in the last build",
            (false, false) => "nothing is pending for it",
        };
        writeln!(
            stderr,
            "{verb:>12} for {} v{} ({origin}):",
            item.name, item.version
        )?;
        writeln!(
            stderr,
            "             [{root}.metadata.sandbox.{table}.{}]",
            toml_string(&item.spec)
        )?;
        // Exactly what will be written: what is pending, then the suggestions, homes and
        // secrets under their dangerous keys as `add_grants` writes them.
        let mut capabilities = marked_dangerous(&item.set, &resolution.rules)?.capabilities();
        capabilities.extend(item.suggested.iter().map(|s| s.capability.clone()));
        for line in grant_lines(&capabilities) {
            writeln!(stderr, "             {line}")?;
        }
        for capability in capabilities.iter().filter(|c| c.is_dangerous()) {
            writeln!(
                stderr,
                "             # dangerous: {}",
                escape::terminal(&why_dangerous(capability, &resolution.rules))
            )?;
        }
        if item.set.is_empty() && item.suggested.is_empty() {
            writeln!(
                stderr,
                "             # empty: records that you reviewed this version and grant it nothing; what its build script attempts later is still shown for review"
            )?;
        }
        for suggestion in &item.suggested {
            writeln!(
                stderr,
                "             # suggested: {}, because {} (--no-suggestions leaves it out)",
                suggestion.capability, suggestion.why
            )?;
        }
        let limits = item.set.limits.toml_pairs();
        if !limits.is_empty() {
            let pairs: Vec<String> = limits.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            writeln!(stderr, "             limits = {{ {} }}", pairs.join(", "))?;
        }
        for (capability, why) in &item.ungrantable {
            let capability = capability.to_string();
            let said = Ungrantable {
                capability: &capability,
                why: &why.message,
            };
            writeln!(stderr, "{}", said.render(crate::terminal::stderr_painter()))?;
        }
    }
    let original = std::fs::read_to_string(&manifest)
        .with_context(|| format!("failed to read {}", manifest.display()))?;
    let mut text = original.clone();
    let stale = stale_tables(&carries, &every_drift);
    for carry in &carries {
        text = carry_grants(&text, in_workspace_table, &carry.from, &carry.spec)
            .with_context(|| format!("failed to update {}", manifest.display()))?;
    }
    for spec in &stale {
        text = remove_grants(&text, in_workspace_table, spec)
            .with_context(|| format!("failed to update {}", manifest.display()))?;
        writeln!(
            stderr,
            "{:>12} the tables of {spec}: that version is no longer in the dependency graph",
            "Removing"
        )?;
    }
    for item in &chosen {
        let mut set = item.set.clone();
        for suggestion in &item.suggested {
            set.insert(suggestion.capability.clone())
                .context("a suggested grant cannot be written")?;
        }
        text = add_grants(
            &text,
            in_workspace_table,
            decision,
            &item.spec,
            &set,
            &resolution.rules,
        )
        .and_then(|text| note_suggested(&text, in_workspace_table, &item.spec, &item.suggested))
        .with_context(|| format!("failed to update {}", manifest.display()))?;
    }
    if !carries.is_empty() {
        writeln!(
            stderr,
            "--- {path}\n+++ {path}\n{}",
            line_diff(&original, &text).trim_end(),
            path = manifest.display()
        )?;
    }
    if args.dry_run {
        writeln!(stderr, "(dry run: {} left unchanged)", manifest.display())?;
        return Ok(0);
    }
    if std::io::stdin().is_terminal()
        && !args.yes
        && !confirm(&format!("Write this to {}?", manifest.display()))?
    {
        writeln!(stderr, "nothing written")?;
        return Ok(crate::exit::UNREVIEWED);
    }
    std::fs::write(&manifest, text)
        .with_context(|| format!("failed to write {}", manifest.display()))?;
    if decision == Decision::Allow {
        recompile_natively(&chosen, &runs);
    }
    let decided = chosen.len()
        + carries
            .iter()
            .filter(|carry| !chosen.iter().any(|item| item.spec == carry.spec))
            .count();
    writeln!(
        stderr,
        "{:>12} {} package{} in {}",
        match decision {
            Decision::Allow => "Approved",
            Decision::Deny => "Denied",
        },
        decided,
        if decided == 1 { "" } else { "s" },
        manifest.display()
    )?;
    if learn.is_some() {
        writeln!(
            stderr,
            "next: build again (`cargo wasm-build` with the build's arguments); the scripts the learning build ran run again, with what you approved"
        )?;
    }
    Ok(0)
}

/// Removes the compiled build scripts of the packages just granted `run-natively`, so
/// that cargo compiles them again in the next build, natively this time: otherwise the
/// script compiled for the sandbox is fresh, and its stand-in would refuse to run it
/// (W405) and ask for one more build.
fn recompile_natively(
    chosen: &[Pending],
    runs: &std::collections::BTreeMap<std::path::PathBuf, wasm_build_contract::audit::RunRecord>,
) {
    for item in chosen.iter().filter(|item| item.set.run_natively) {
        let scripts = runs
            .values()
            .filter(|run| run.package == item.name && run.version == item.version && !run.native)
            .filter_map(|run| run.script.as_deref());
        for script in scripts {
            // Gone already (a clean since): cargo compiles it anyway.
            let _ = wasm_build_standin::remove_with_hard_links(script);
        }
    }
}

/// The drifted packages the user named (all of them when no names are given).
fn chosen_drifts(all: Vec<Drifted>, names: &[String]) -> Vec<Drifted> {
    all.into_iter()
        .filter(|carry| {
            names.is_empty()
                || names
                    .iter()
                    .any(|name| names_package(name, &carry.spec, &carry.name, &carry.version))
        })
        .collect()
}

/// Whether `name`, as the user wrote it, names the package.
fn names_package(name: &str, spec: &str, package_name: &str, version: &str) -> bool {
    spec == name || package_name == name || format!("{package_name}@{version}") == name
}

/// The tables of versions no longer in the graph that carrying `carries` leaves
/// unneeded: those no other drifted package (not carried now) could still be carried
/// from.
fn stale_tables(carries: &[Drifted], every: &[Drifted]) -> Vec<String> {
    let mut stale: Vec<String> = Vec::new();
    for spec in carries.iter().flat_map(|carry| &carry.stale) {
        let still_needed = every
            .iter()
            .filter(|other| !carries.iter().any(|carry| carry.spec == other.spec))
            .any(|other| other.from == *spec || other.stale.contains(spec));
        if !still_needed && !stale.contains(spec) {
            stale.push(spec.clone());
        }
    }
    stale
}

/// Takes out of `carries` those whose grants include `run-natively` and returns them:
/// running natively gives up the checks of the programs a script starts, so a new
/// version gets it only when the user names it.
fn hold_back_native_carries(carries: &mut Vec<Drifted>) -> Vec<Drifted> {
    let (held, kept): (Vec<Drifted>, Vec<Drifted>) = std::mem::take(carries)
        .into_iter()
        .partition(|carry| carry.granted.run_natively);
    *carries = kept;
    held
}

/// Leaves in the pending item of `carry`'s package only what the grants it carries do
/// not cover: the rest is reviewed already, at the other version.
fn only_beyond(pending: &mut Vec<Pending>, carry: &Drifted) {
    let reviewed: Vec<Capability> = carry
        .granted
        .capabilities()
        .into_iter()
        .chain(carry.refused.capabilities())
        .collect();
    for item in pending.iter_mut().filter(|item| item.spec == carry.spec) {
        let mut beyond = wasm_build_permissions_schema::CapabilitySet::default();
        for capability in item.set.capabilities() {
            if !reviewed.contains(&capability) {
                // It came out of a set (an attempted variable as its exact name), so it
                // reads back.
                let _ = beyond.insert(capability);
            }
        }
        if carry.beyond_limits {
            beyond.limits = item.set.limits.clone();
        }
        item.set = beyond;
        item.suggested
            .retain(|suggestion| !reviewed.contains(&suggestion.capability));
    }
    pending.retain(|item| {
        item.spec != carry.spec || !item.set.is_empty() || !item.suggested.is_empty()
    });
}

/// What a carried grant is compared with: what the new version declares and attempted,
/// what the old one was granted, and what is new.
fn show_carry(carry: &Drifted) -> Result<()> {
    let mut stderr = std::io::stderr();
    writeln!(
        stderr,
        "{:>12} {}'s grants over to {} v{}:",
        "Carrying", carry.from, carry.name, carry.version
    )?;
    for line in carry.comparison() {
        writeln!(stderr, "             {}", escape::terminal(&line))?;
    }
    if !carry.needs_nothing_new() {
        writeln!(
            stderr,
            "             the grant is carried over, and what is new is reviewed below"
        )?;
    }
    Ok(())
}

/// Takes `run-natively` out of `chosen` (dropping items left with nothing to write) and
/// returns the items it was taken from. Running natively gives up the checks of the
/// programs a script starts; it is granted only to a package the user names.
fn hold_back_run_natively(chosen: &mut Vec<Pending>) -> Vec<Pending> {
    let held: Vec<Pending> = chosen
        .iter()
        .filter(|item| item.set.run_natively)
        .cloned()
        .collect();
    for item in chosen.iter_mut() {
        item.set.run_natively = false;
    }
    chosen.retain(|item| !item.set.is_empty() || !item.suggested.is_empty());
    held
}

/// The `approve` command for one package, with the options this one was given.
fn approve_by_name(args: &DecideArgs, spec: &str) -> String {
    let mut command = String::from("cargo wasm-build approve");
    if let Some(path) = &args.manifest_path {
        command.push_str(&format!(" --manifest-path {path}"));
    }
    if let Some(dir) = &args.target_dir {
        command.push_str(&format!(" --target-dir {dir}"));
    }
    command.push(' ');
    command.push_str(spec);
    command
}

/// Why a capability in an approval is dangerous, for the line the preview adds under it.
fn why_dangerous(capability: &Capability, rules: &PathRules) -> String {
    let problem = match capability {
        Capability::DangerousRead(path) => rules.problem("read", path),
        Capability::DangerousWrite(path) => rules.problem("write", path),
        _ => None,
    };
    match problem {
        Some((message, _)) => format!("{message}; it is written under `{}`", capability.toml_key()),
        None => format!("{capability}"),
    }
}

/// The pending items the user named (all of them for `--all`); a name that only a
/// carried-over grant covers picks nothing more. A package `deny` names that has a build
/// script but nothing pending (no build yet, nothing declared) gets an empty item: its
/// table records the decision.
fn select(
    all: &[Pending],
    names: &[String],
    graph: &Graph,
    (carries, decision): (&[Drifted], Decision),
) -> Result<Vec<Pending>> {
    if names.is_empty() {
        return Ok(all.to_vec());
    }
    let mut chosen = Vec::new();
    for name in names {
        let matches = |spec: &str, package_name: &str, version: &str| {
            names_package(name, spec, package_name, version)
        };
        let found: Vec<&Pending> = all
            .iter()
            .filter(|item| matches(&item.spec, &item.name, &item.version))
            .collect();
        let carried = carries
            .iter()
            .any(|carry| matches(&carry.spec, &carry.name, &carry.version));
        if found.is_empty() && carried {
            continue;
        }
        if found.is_empty() {
            let known: Vec<&wasm_build_policy::Package> = graph
                .packages
                .iter()
                .filter(|package| matches(&package.spec, &package.name, &package.version))
                .collect();
            let scripts: Vec<&&wasm_build_policy::Package> =
                known.iter().filter(|p| p.has_build_script).collect();
            if decision == Decision::Deny && !scripts.is_empty() {
                chosen.extend(scripts.iter().map(|package| Pending {
                    spec: package.spec.clone(),
                    name: package.name.clone(),
                    version: package.version.clone(),
                    set: Default::default(),
                    declared: false,
                    attempted: false,
                    suggested: Vec::new(),
                    ungrantable: Vec::new(),
                }));
                continue;
            }
            if !known.is_empty() && scripts.is_empty() {
                bail!(
                    "`{name}` has no build script: none of its code runs in the sandbox, so there is nothing to decide"
                );
            }
            if !known.is_empty() {
                bail!("nothing is pending review for `{name}`");
            }
            bail!(
                "{}",
                wasm_build_policy::unmatched::no_such_package(name, graph)
            );
        }
        for item in found {
            if !chosen.contains(item) {
                chosen.push(item.clone());
            }
        }
    }
    Ok(chosen)
}

fn confirm(question: &str) -> Result<bool> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}
