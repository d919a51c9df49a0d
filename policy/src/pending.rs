//! What waits for the consumer's review: declared requests and what the last sandboxed
//! runs were denied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::hygiene::PathRules;
use wasm_build_contract::audit::{self, RunRecord};
use wasm_build_permissions_schema::{Capability, CapabilitySet, ValueError};

use crate::resolve::{Resolution, Resolved, grant_key};
use crate::suggest::{Suggestion, companions};

/// Everything pending for one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The package's grant spec (`name@version`).
    pub spec: String,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// What to approve: declared and attempted, minus what was already reviewed.
    pub set: CapabilitySet,
    /// Whether some of it was declared by the crate.
    pub declared: bool,
    /// Whether some of it was attempted and denied in the last run.
    pub attempted: bool,
    /// What the tool suggests approving with it (see [`crate::suggest`]).
    pub suggested: Vec<Suggestion>,
    /// What an earlier run was denied that no grant can name without granting more (a
    /// variable called `LD_*`), with why: shown, never written.
    pub ungrantable: Vec<(Capability, ValueError)>,
}

/// Every audit log under `target_dir` (one per profile and target).
pub fn audit_logs(target_dir: &Path) -> Vec<PathBuf> {
    let mut logs = Vec::new();
    let mut pending = vec![(target_dir.to_path_buf(), 0)];
    while let Some((dir, depth)) = pending.pop() {
        let log = dir.join("wasm-build").join("audit.jsonl");
        if log.is_file() {
            logs.push(log);
        }
        if depth >= 2 {
            continue;
        }
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() && entry.file_name() != "wasm-build" {
                pending.push((path, depth + 1));
            }
        }
    }
    logs.sort();
    logs
}

/// The newest run of each package directory across `logs`.
pub fn last_runs(logs: &[PathBuf]) -> BTreeMap<PathBuf, RunRecord> {
    newest_runs_by(logs, |record| Some(record.manifest_dir.clone()))
}

/// The newest run across `logs` of each `key` (records it gives none are skipped).
pub fn newest_runs_by<K: Ord>(
    logs: &[PathBuf],
    key: impl Fn(&RunRecord) -> Option<K>,
) -> BTreeMap<K, RunRecord> {
    let mut latest: BTreeMap<K, RunRecord> = BTreeMap::new();
    for log in logs {
        for record in audit::read(log) {
            let Some(key) = key(&record) else { continue };
            let newer = latest
                .get(&key)
                .is_none_or(|seen| seen.finished_at <= record.finished_at);
            if newer {
                latest.insert(key, record);
            }
        }
    }
    latest
}

/// What is pending per package: declared but unreviewed, and denied in the package's last
/// run (for the version in the graph now) and still not reviewed.
pub fn pending(resolution: &Resolution, runs: &BTreeMap<PathBuf, RunRecord>) -> Vec<Pending> {
    resolution
        .packages
        .iter()
        .filter(|resolved| resolved.package.has_build_script)
        .filter_map(|resolved| {
            let run = runs.get(&resolved.package.manifest_dir);
            pending_for(resolved, run, &resolution.rules)
        })
        .collect()
}

fn pending_for(resolved: &Resolved, run: Option<&RunRecord>, rules: &PathRules) -> Option<Pending> {
    let package = &resolved.package;
    let mut set = CapabilitySet::default();
    let mut ungrantable = Vec::new();
    for capability in &resolved.unreviewed {
        // Declared values were read from a table, so they read back.
        if let Err(why) = set.insert(capability.clone()) {
            ungrantable.push((capability.clone(), why));
        }
    }
    let declared = !set.is_empty() || resolved.unreviewed_limits;
    if resolved.unreviewed_limits {
        set.limits = resolved.requests.needs.limits.clone();
    }
    let reviewed = |capability: &Capability| {
        resolved.policy.granted.contains(capability) || resolved.policy.denied.contains(capability)
    };
    let mut attempted = false;
    if let Some(run) = run.filter(|run| run.version == package.version) {
        // What it looked for in vain where software is installed counts as attempted:
        // approving shows it what a native run would have found.
        let reads = run.read_grants.iter().cloned().map(Capability::Read);
        for attempt in run.pending.iter().cloned().chain(reads) {
            // A home or a secret is offered, and written, only under its dangerous key.
            let capability = grant_key(rules, attempt, &package.manifest_dir);
            if reviewed(&capability) {
                continue;
            }
            match set.insert_attempt(capability.clone()) {
                Ok(()) => attempted = true,
                Err(why) => ungrantable.push((capability, why)),
            }
        }
    }
    let suggested = companions(&package.build_dependencies, &set, reviewed);
    (declared || attempted).then(|| Pending {
        spec: package.spec.clone(),
        name: package.name.clone(),
        version: package.version.clone(),
        set,
        declared,
        attempted,
        suggested,
        ungrantable,
    })
}
