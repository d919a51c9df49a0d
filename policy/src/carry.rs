//! Upgrades: a package whose grants name another version of it (drift), what the version
//! in the graph declares and attempted against what the other one was granted, and
//! carrying those grants over when it needs nothing more.
//!
//! Grants name one exact version, so a `cargo update` leaves a reviewed crate unreviewed.
//! Reviewing it again from nothing would be a restart; what the reviewer needs is the
//! difference: what the new version asks for (its `[package.metadata.sandbox]`) and
//! tried (its last run, if it ran) that the old one was not granted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use wasm_build_contract::audit::RunRecord;
use wasm_build_permissions_schema::{Capability, CapabilitySet, Limits, PackageSpec};

use crate::graph::Graph;
use crate::resolve::{Resolution, Resolved, grant_key};

/// A package in the graph reviewed at another version only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drifted {
    /// Its name.
    pub name: String,
    /// The version in the graph.
    pub version: String,
    /// The spec its grants would be written under.
    pub spec: String,
    /// The reviewed spec its grants are carried from: of the other versions with a
    /// table, the newest one (from the same source).
    pub from: String,
    /// What `from` was granted.
    pub granted: CapabilitySet,
    /// What `from` was refused.
    pub refused: CapabilitySet,
    /// What this version declares in its own `[package.metadata.sandbox]`.
    pub declared: CapabilitySet,
    /// What this version's last run tried and was denied; `None` when it has not run at
    /// this version (so what it needs is only what it declares, as far as anyone knows).
    pub attempted: Option<Vec<Capability>>,
    /// What it declares or attempted that `from` had not reviewed: approving that is a
    /// review like any other.
    pub beyond: Vec<Capability>,
    /// Whether it declares larger limits than `from` was granted.
    pub beyond_limits: bool,
    /// Tables of other versions of this crate that are no longer in the graph: carrying
    /// the grants over removes them.
    pub stale: Vec<String>,
}

impl Drifted {
    /// Whether the grants of [`from`](Self::from) cover everything this version is known
    /// to need.
    pub fn needs_nothing_new(&self) -> bool {
        self.beyond.is_empty() && !self.beyond_limits
    }

    /// The comparison, one line each: what the other version was granted, what this one
    /// declares and attempted, and what it needs beyond. Crate-written text is in it as
    /// written: the caller shows it inert.
    pub fn comparison(&self) -> Vec<String> {
        let list = |capabilities: &[Capability]| {
            if capabilities.is_empty() {
                "nothing".to_string()
            } else {
                let names: Vec<String> = capabilities.iter().map(ToString::to_string).collect();
                names.join(", ")
            }
        };
        let mut lines = vec![format!(
            "{} was granted: {}{}",
            self.from,
            list(&self.granted.capabilities()),
            if self.refused.is_empty() {
                String::new()
            } else {
                format!("; refused: {}", list(&self.refused.capabilities()))
            }
        )];
        lines.push(format!(
            "{} {} declares: {}",
            self.name,
            self.version,
            list(&self.declared.capabilities())
        ));
        lines.push(match &self.attempted {
            Some(attempted) => format!("its last run attempted: {}", list(attempted)),
            None => "it has not run at this version: a build shows what it attempts".to_string(),
        });
        if self.needs_nothing_new() {
            lines.push("it needs nothing beyond that grant".to_string());
        } else {
            let mut beyond = list(&self.beyond);
            if self.beyond_limits {
                beyond = if self.beyond.is_empty() {
                    "larger limits".to_string()
                } else {
                    format!("{beyond}, larger limits")
                };
            }
            lines.push(format!(
                "it needs more than {} was granted: {beyond}",
                self.from
            ));
        }
        lines
    }
}

/// Every build script in the graph whose version has no table while another version of
/// the same crate does, with the comparison; `runs` are the last runs per package
/// directory (see [`crate::pending::last_runs`]).
pub fn drifted(
    graph: &Graph,
    resolution: &Resolution,
    runs: &BTreeMap<PathBuf, RunRecord>,
) -> Vec<Drifted> {
    let in_graph: BTreeSet<&str> = graph.packages.iter().map(|p| p.spec.as_str()).collect();
    resolution
        .packages
        .iter()
        .filter(|resolved| resolved.package.has_build_script && !resolved.drift.is_empty())
        .filter_map(|resolved| {
            let run = runs
                .get(&resolved.package.manifest_dir)
                .filter(|run| run.version == resolved.package.version);
            compare(resolved, run, resolution, &in_graph)
        })
        .collect()
}

fn compare(
    resolved: &Resolved,
    run: Option<&RunRecord>,
    resolution: &Resolution,
    in_graph: &BTreeSet<&str>,
) -> Option<Drifted> {
    let package = &resolved.package;
    let consumer = &resolution.consumer.policy;
    let from = newest_same_source(&resolved.drift, &package.spec)?;
    let granted = consumer.allow.get(&from).cloned().unwrap_or_default();
    let refused = consumer.deny.get(&from).cloned().unwrap_or_default();
    let reviewed: BTreeSet<Capability> = granted
        .capabilities()
        .into_iter()
        .chain(refused.capabilities())
        .collect();
    let declared = resolved.requests.needs.clone();
    let attempted: Option<Vec<Capability>> = run.map(|run| {
        let reads = run.read_grants.iter().cloned().map(Capability::Read);
        let mut seen = Vec::new();
        for attempt in run.pending.iter().cloned().chain(reads) {
            let capability = grant_key(&resolution.rules, attempt, &package.manifest_dir);
            if !seen.contains(&capability) {
                seen.push(capability);
            }
        }
        seen
    });
    let mut beyond: Vec<Capability> = Vec::new();
    for capability in declared
        .capabilities()
        .into_iter()
        .chain(attempted.iter().flatten().cloned())
    {
        if !reviewed.contains(&capability) && !beyond.contains(&capability) {
            beyond.push(capability);
        }
    }
    let beyond_limits = !granted.limits.covers(&declared.limits, Limits::default());
    let stale = resolved
        .drift
        .iter()
        .filter(|spec| !in_graph.contains(spec.as_str()))
        .filter(|spec| same_source(spec, &package.spec))
        .cloned()
        .collect();
    Some(Drifted {
        name: package.name.clone(),
        version: package.version.clone(),
        spec: package.spec.clone(),
        from,
        granted,
        refused,
        declared,
        attempted,
        beyond,
        beyond_limits,
        stale,
    })
}

/// Whether two specs name packages from the same place: a git fork never inherits the
/// grants of the crates.io crate it replaces, nor the other way round.
fn same_source(a: &str, b: &str) -> bool {
    source_of(a) == source_of(b)
}

fn source_of(spec: &str) -> Option<&str> {
    PackageSpec::parse(spec).ok().and_then(|spec| spec.source())
}

/// Of `specs` (other versions of the crate `spec` names), the newest from the same
/// source.
fn newest_same_source(specs: &[String], spec: &str) -> Option<String> {
    specs
        .iter()
        .filter(|other| same_source(other, spec))
        .max_by_key(|other| version_key(other))
        .cloned()
}

/// A spec's version as numbers to order by (`1.10.0` after `1.9.0`); a pre-release
/// or build suffix orders by its text after the numbers.
fn version_key(spec: &str) -> (Vec<u64>, String) {
    let version = PackageSpec::parse(spec)
        .map(|spec| spec.version())
        .unwrap_or("");
    let (core, rest) = version
        .split_once(['-', '+'])
        .map_or((version, ""), |(core, rest)| (core, rest));
    let numbers = core.split('.').map(|n| n.parse().unwrap_or(0)).collect();
    // A release orders after its pre-releases.
    let suffix = if rest.is_empty() {
        "\u{10FFFF}".to_string()
    } else {
        rest.to_string()
    };
    (numbers, suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_other_version_from_the_same_source_is_carried() {
        let specs: Vec<String> = [
            "ring@0.17.9",
            "ring@0.17.14",
            "ring@0.17.14-rc.1",
            "git+https://host/ring#ring@0.18.0",
        ]
        .map(String::from)
        .into();
        assert_eq!(
            newest_same_source(&specs, "ring@0.17.8").as_deref(),
            Some("ring@0.17.14")
        );
        assert_eq!(
            newest_same_source(&specs, "git+https://host/ring#ring@0.18.1").as_deref(),
            Some("git+https://host/ring#ring@0.18.0")
        );
        assert_eq!(
            newest_same_source(&specs, "git+https://other/ring#ring@0.18.1"),
            None
        );
    }
}
