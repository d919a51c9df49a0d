//! Building the permission display's data from the graph, the policy and the audit log.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;

use crate::{
    CardStatus, Dependent, HostUse, LastRun, PackageCard, PermissionReport, ProgramUse,
    REPORT_FORMAT_VERSION, Summary,
};
use cargo_metadata::{DependencyKind, Metadata, PackageId};
use wasm_build_contract::audit::{ExecVerdict, NetworkVerdict, RunRecord};
use wasm_build_contract::cargo::is_crates_io;
use wasm_build_permissions_schema::Capability;
use wasm_build_policy::graph::{Graph, Package};
use wasm_build_policy::resolve::{Resolution, Resolved};

/// The report of `graph` under `resolution`, with the last run of each build script, and
/// from `metadata` (the graph's own, when there is one) what each package says about
/// itself and who depends on it.
pub fn build_report(
    graph: &Graph,
    resolution: &Resolution,
    runs: &BTreeMap<PathBuf, RunRecord>,
    tool: &str,
    metadata: Option<&Metadata>,
) -> PermissionReport {
    let pages = metadata.map(crate_pages).unwrap_or_default();
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
            let mut card = card(package, resolved.get(package.id.as_str()).copied(), run);
            if let Some(page) = pages.get(package.id.as_str()) {
                page.fill(&mut card);
            }
            card
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
        platform: None,
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
    // A proc macro runs inside rustc, unsandboxed, whatever its build script is granted:
    // only a script waiting for review says more.
    let status = if !package.has_build_script && !package.is_proc_macro {
        CardStatus::NoBuildTimeCode
    } else if package.has_build_script
        && (!unreviewed.is_empty() || resolved.is_some_and(|r| r.unreviewed_limits))
    {
        CardStatus::NeedsReview
    } else if package.is_proc_macro {
        CardStatus::ProcMacro
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
        description: None,
        license: None,
        repository: None,
        documentation: None,
        homepage: None,
        dependents: Vec::new(),
        dependency_path: Vec::new(),
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

/// What `cargo metadata` says of one package beyond the graph: its manifest's own words,
/// who depends on it, and one way it got into the graph.
#[derive(Debug, Default)]
struct CratePage {
    description: Option<String>,
    license: Option<String>,
    repository: Option<String>,
    documentation: Option<String>,
    homepage: Option<String>,
    dependents: Vec<Dependent>,
    dependency_path: Vec<String>,
}

impl CratePage {
    fn fill(&self, card: &mut PackageCard) {
        let trimmed = |text: &Option<String>| {
            text.as_deref()
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(String::from)
        };
        // Manifests wrap long descriptions over lines; one line reads the same.
        card.description = trimmed(&self.description)
            .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "));
        card.license = trimmed(&self.license);
        card.repository = trimmed(&self.repository);
        card.documentation = trimmed(&self.documentation);
        card.homepage = trimmed(&self.homepage);
        card.dependents = self.dependents.clone();
        // A member is there because it is the workspace: no chain to show.
        card.dependency_path = if self.dependency_path.len() > 1 {
            self.dependency_path.clone()
        } else {
            Vec::new()
        };
    }
}

/// The page of every package of `metadata`'s resolve, by package id.
fn crate_pages(metadata: &Metadata) -> HashMap<String, CratePage> {
    let label = |package: &cargo_metadata::Package| format!("{} {}", package.name, package.version);
    let packages: HashMap<&PackageId, &cargo_metadata::Package> = metadata
        .packages
        .iter()
        .map(|package| (&package.id, package))
        .collect();
    let nodes = metadata.resolve.iter().flat_map(|resolve| &resolve.nodes);
    let mut dependents: HashMap<&PackageId, Vec<Dependent>> = HashMap::new();
    for node in nodes.clone() {
        let Some(from) = packages.get(&node.id) else {
            continue;
        };
        for dep in &node.deps {
            let mut kinds: Vec<String> = dep
                .dep_kinds
                .iter()
                .map(|info| kind_word(info.kind).to_string())
                .collect();
            kinds.sort();
            kinds.dedup();
            dependents.entry(&dep.pkg).or_default().push(Dependent {
                name: from.name.to_string(),
                version: from.version.to_string(),
                kinds,
            });
        }
    }
    let paths = paths_from_members(metadata);
    nodes
        .filter_map(|node| packages.get(&node.id))
        .map(|package| {
            let mut dependents = dependents.remove(&package.id).unwrap_or_default();
            dependents.sort();
            dependents.dedup();
            let dependency_path = paths
                .get(&package.id)
                .map(|path| {
                    path.iter()
                        .filter_map(|id| packages.get(id))
                        .map(|package| label(package))
                        .collect()
                })
                .unwrap_or_default();
            let page = CratePage {
                description: package.description.clone(),
                license: package.license.clone(),
                repository: package.repository.clone(),
                documentation: package.documentation.clone(),
                homepage: package.homepage.clone(),
                dependents,
                dependency_path,
            };
            (package.id.repr.clone(), page)
        })
        .collect()
}

fn kind_word(kind: DependencyKind) -> &'static str {
    match kind {
        DependencyKind::Build => "build",
        DependencyKind::Development => "dev",
        _ => "normal",
    }
}

/// For each package, a shortest chain of dependencies that reaches it from a workspace
/// member (members first in cargo's order, dependencies in the resolve's order, so the
/// answer is the same every time).
fn paths_from_members(metadata: &Metadata) -> HashMap<&PackageId, Vec<&PackageId>> {
    let deps: HashMap<&PackageId, Vec<&PackageId>> = metadata
        .resolve
        .iter()
        .flat_map(|resolve| &resolve.nodes)
        .map(|node| (&node.id, node.deps.iter().map(|dep| &dep.pkg).collect()))
        .collect();
    let mut paths: HashMap<&PackageId, Vec<&PackageId>> = HashMap::new();
    let mut queue: VecDeque<&PackageId> = VecDeque::new();
    for member in &metadata.workspace_members {
        if deps.contains_key(member) && !paths.contains_key(member) {
            paths.insert(member, vec![member]);
            queue.push_back(member);
        }
    }
    while let Some(id) = queue.pop_front() {
        let path = paths.get(id).cloned().unwrap_or_default();
        for &dep in deps.get(id).into_iter().flatten() {
            if !paths.contains_key(dep) {
                let mut longer = path.clone();
                longer.push(dep);
                paths.insert(dep, longer);
                queue.push_back(dep);
            }
        }
    }
    paths
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
        network: host_uses(record),
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

/// The run's connections, one entry per program, host, port and verdict.
fn host_uses(record: &RunRecord) -> Vec<HostUse> {
    let mut uses: BTreeMap<(String, String, NetworkVerdict), HostUse> = BTreeMap::new();
    for connection in &record.network {
        let authority = connection.authority();
        let key = (
            connection.program.clone(),
            authority.clone(),
            connection.verdict,
        );
        let entry = uses.entry(key).or_insert_with(|| HostUse {
            program: connection.program.clone(),
            authority,
            address: connection.address.clone(),
            verdict: connection.verdict,
            count: 0,
            sent: 0,
            received: 0,
            why: connection.why.clone(),
        });
        entry.count += 1;
        entry.sent += connection.sent;
        entry.received += connection.received;
    }
    uses.into_values().collect()
}

fn summarise(cards: &[PackageCard]) -> Summary {
    let scripts: Vec<&PackageCard> = cards.iter().filter(|card| card.build_script).collect();
    let any = |card: &PackageCard,
               pick: fn(&wasm_build_permissions_schema::CapabilitySet) -> bool| {
        pick(&card.requested) || pick(&card.granted)
    };
    Summary {
        packages: cards.len(),
        build_time: cards
            .iter()
            .filter(|card| card.runs_at_build_time())
            .count(),
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
