//! Building the permission display's data from the graph, the policy and the audit log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use wasm_build_contract::audit::{ExecVerdict, RunRecord};
use wasm_build_contract::cargo::is_crates_io;
use wasm_build_display::{
    CardStatus, LastRun, PackageCard, PermissionReport, ProgramUse, REPORT_FORMAT_VERSION, Summary,
};
use wasm_build_permissions_schema::Capability;

use crate::graph::{Graph, Package};
use crate::resolve::{Resolution, Resolved};

/// The report of `graph` under `resolution`, with the last run of each build script.
pub fn build_report(
    graph: &Graph,
    resolution: &Resolution,
    runs: &BTreeMap<PathBuf, RunRecord>,
    tool: &str,
) -> PermissionReport {
    let resolved: BTreeMap<&str, &Resolved> = resolution
        .packages
        .iter()
        .map(|resolved| (resolved.package.id.as_str(), resolved))
        .collect();
    let mut packages: Vec<PackageCard> = graph
        .packages
        .iter()
        .map(|package| {
            let run = runs
                .get(&package.manifest_dir)
                .filter(|run| run.version == package.version && package.has_build_script);
            card(package, resolved.get(package.id.as_str()).copied(), run)
        })
        .collect();
    packages.sort_by_key(|card| {
        (
            !card.runs_at_build_time(),
            card.status != CardStatus::NeedsReview,
        )
    });
    let summary = summarise(&packages);
    PermissionReport {
        format_version: REPORT_FORMAT_VERSION,
        tool: tool.to_string(),
        workspace_root: graph.workspace_root.display().to_string(),
        mode: resolution.mode,
        summary,
        packages,
    }
}

fn card(package: &Package, resolved: Option<&Resolved>, run: Option<&RunRecord>) -> PackageCard {
    let source = match package.source.as_deref() {
        None => "path".to_string(),
        Some(source) if is_crates_io(source) => "crates.io".to_string(),
        Some(source) if source.starts_with("git+") => "git".to_string(),
        Some(source) => source
            .trim_start_matches("registry+")
            .trim_start_matches("sparse+")
            .to_string(),
    };
    let last_run = run.map(last_run);
    let mut unreviewed: Vec<Capability> =
        resolved.map(|r| r.unreviewed.clone()).unwrap_or_default();
    if let (Some(resolved), Some(run)) = (resolved, &last_run) {
        for capability in &run.denied {
            let reviewed = resolved.policy.granted.contains(capability)
                || resolved.policy.denied.contains(capability);
            if !reviewed && !unreviewed.contains(capability) {
                unreviewed.push(capability.clone());
            }
        }
    }
    let (requested, reason, granted, denied, drift) = match resolved {
        Some(resolved) => (
            resolved.requests.needs.clone(),
            resolved.requests.reason.clone(),
            resolved.allowed.clone(),
            resolved.denied.clone(),
            resolved.drift.clone(),
        ),
        None => Default::default(),
    };
    let status = if !package.has_build_script {
        if package.is_proc_macro {
            CardStatus::ProcMacro
        } else {
            CardStatus::NoBuildTimeCode
        }
    } else if !unreviewed.is_empty() || resolved.is_some_and(|r| r.unreviewed_limits) {
        CardStatus::NeedsReview
    } else if granted.run_natively {
        CardStatus::Native
    } else if !granted.is_empty() {
        CardStatus::Granted
    } else {
        CardStatus::Sandboxed
    };
    PackageCard {
        name: package.name.clone(),
        version: package.version.clone(),
        spec: package.spec.clone(),
        source,
        workspace_member: package.is_member,
        build_script: package.has_build_script,
        proc_macro: package.is_proc_macro,
        links: package.links.clone(),
        status,
        requested,
        reason,
        granted,
        denied,
        unreviewed,
        drift,
        last_run,
    }
}

fn last_run(record: &RunRecord) -> LastRun {
    let mut programs: BTreeMap<(String, ExecVerdict), usize> = BTreeMap::new();
    for attempt in &record.exec {
        *programs
            .entry((attempt.program.clone(), attempt.verdict))
            .or_default() += 1;
    }
    LastRun {
        finished_at: record.finished_at,
        succeeded: record.status == 0,
        elapsed_ms: record.elapsed_ms,
        native: record.native,
        programs: programs
            .into_iter()
            .map(|((program, verdict), count)| ProgramUse {
                program,
                verdict,
                count,
            })
            .collect(),
        denied: record.pending.clone(),
        dropped: record.dropped.clone(),
        hidden_env: record.hidden_env.clone(),
        config_env: record.config_env.clone(),
        default_env: record.default_env.clone(),
        errors: record
            .errors
            .iter()
            .map(|error| error.message.clone())
            .collect(),
    }
}

fn summarise(cards: &[PackageCard]) -> Summary {
    let scripts: Vec<&PackageCard> = cards.iter().filter(|card| card.build_script).collect();
    let any = |card: &PackageCard,
               pick: fn(&wasm_build_permissions_schema::CapabilitySet) -> bool| {
        pick(&card.requested) || pick(&card.granted)
    };
    Summary {
        packages: cards.len(),
        build_scripts: scripts.len(),
        proc_macros: cards.iter().filter(|card| card.proc_macro).count(),
        running_programs: scripts
            .iter()
            .filter(|card| {
                any(card, |set| !set.exec.is_empty())
                    || card
                        .last_run
                        .as_ref()
                        .is_some_and(|run| run.programs.iter().any(|used| !is_rustc(&used.program)))
            })
            .count(),
        using_network: scripts
            .iter()
            .filter(|card| any(card, |set| !set.network.is_empty()))
            .count(),
        reading_or_writing_paths: scripts
            .iter()
            .filter(|card| any(card, |set| !set.read.is_empty() || !set.write.is_empty()))
            .count(),
        unreviewed: scripts
            .iter()
            .filter(|card| card.status == CardStatus::NeedsReview)
            .count(),
        drifted: scripts.iter().filter(|card| !card.drift.is_empty()).count(),
        native: scripts
            .iter()
            .filter(|card| card.granted.run_natively)
            .count(),
    }
}

/// Probes of the `RUSTC` cargo provides are the default and not worth a count.
fn is_rustc(program: &str) -> bool {
    program
        .rsplit('/')
        .next()
        .is_some_and(|name| name == "rustc")
}

/// The cards that fail `--check`: unreviewed requests or attempts, and drifted grants.
/// `command_args` go into the commands the failures print (` --manifest-path PATH`, so
/// they work from any directory).
pub fn check_failures(report: &PermissionReport, command_args: &str) -> Vec<String> {
    let mut failures = Vec::new();
    let mut seen = BTreeSet::new();
    for card in &report.packages {
        if card.status == CardStatus::NeedsReview && seen.insert(card.spec.clone()) {
            let what: Vec<String> = card.unreviewed.iter().map(ToString::to_string).collect();
            failures.push(format!(
                "{} {} needs review: {} (run `cargo wasm-build approve{command_args} {}` or `deny`)",
                card.name,
                card.version,
                if what.is_empty() {
                    "larger limits".to_string()
                } else {
                    what.join(", ")
                },
                card.spec
            ));
        }
        if !card.drift.is_empty() && card.build_script {
            failures.push(format!(
                "{} {}: grants exist for {}, not for this version (review it with `cargo wasm-build permissions{command_args} -p {}`)",
                card.name,
                card.version,
                card.drift.join(", "),
                card.name
            ));
        }
    }
    failures
}
