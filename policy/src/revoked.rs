//! Grants removed since a build script's last run that the run used.
//!
//! A removed grant reruns the script on the next build (see the grant digests of
//! [`PolicyFile`]), which then fails if it still needs it. Until that build, the last run
//! succeeded and shows nothing pending, so `permissions --check` and strict mode would
//! pass on evidence the grant no longer supports. The programs a run started are in the
//! audit log with their verdicts, and the policy it ran under is its digest file: a
//! program that ran by a grant that is gone now is unreviewed again. So is a connection
//! that the network grants of then allowed and those of now do not.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::network::NetworkRules;
use wasm_build_contract::audit::{ExecVerdict, NetworkVerdict, RunRecord};
use wasm_build_contract::{Policy, PolicyFile};
use wasm_build_permissions_schema::{Capability, Host};

use crate::resolve::Resolution;

/// A build script whose last run used grants that are gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The package's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its grant spec.
    pub spec: String,
    /// What its last run used that is no longer granted (nor denied).
    pub used: Vec<Capability>,
}

/// Every build script in `resolution` whose last run (in `runs`, of the build whose
/// target directory is `target_dir`) started a program by a grant that is gone.
pub fn revoked(
    resolution: &Resolution,
    runs: &BTreeMap<PathBuf, RunRecord>,
    target_dir: &Path,
) -> Vec<Revoked> {
    let digests = PolicyFile {
        grant_digests: Some(PolicyFile::digests_dir(target_dir)),
        ..PolicyFile::default()
    };
    resolution
        .packages
        .iter()
        .filter(|resolved| resolved.package.has_build_script)
        .filter_map(|resolved| {
            let package = &resolved.package;
            let run = runs
                .get(&package.manifest_dir)
                .filter(|run| run.version == package.version)?;
            let then = digests.recorded_policy(&package.manifest_dir)?;
            let now = &resolved.policy;
            let used: Vec<Capability> = then
                .granted
                .iter()
                .filter(|grant| !now.granted.contains(grant) && !now.denied.contains(grant))
                .filter(|grant| started_by(run, grant) || connected_by(run, grant, &then, now))
                .cloned()
                .collect();
            (!used.is_empty()).then(|| Revoked {
                name: package.name.clone(),
                version: package.version.clone(),
                spec: package.spec.clone(),
                used,
            })
        })
        .collect()
}

/// Whether `run` started a program that the `exec` grant `grant` names (by the name or
/// path the script used).
fn started_by(run: &RunRecord, grant: &Capability) -> bool {
    let Capability::Exec(granted) = grant else {
        return false;
    };
    run.exec
        .iter()
        .filter(|attempt| attempt.verdict == ExecVerdict::Allowed)
        .any(|attempt| names(granted, &attempt.program))
}

/// Whether `run` made a connection by the removed network grant `grant` that the
/// program's grants of `then` allowed and those of `now` do not.
fn connected_by(run: &RunRecord, grant: &Capability, then: &Policy, now: &Policy) -> bool {
    let program = match grant {
        Capability::Network(program) => program,
        Capability::NetworkHost(grant) => &grant.program,
        _ => return false,
    };
    let (before, after) = (rules(then, program), rules(now, program));
    run.network
        .iter()
        .filter(|connection| connection.verdict == NetworkVerdict::Allowed)
        .filter(|connection| names(program, &connection.program))
        .any(|connection| {
            let (Ok(host), Some(Ok(address))) = (
                Host::parse(&connection.host),
                connection.address.as_deref().map(str::parse),
            ) else {
                return false;
            };
            before.check(&host, connection.port, address).is_ok()
                && after.check(&host, connection.port, address).is_err()
        })
}

/// The network rules `policy` gives the program its grants call `program`.
fn rules(policy: &Policy, program: &str) -> NetworkRules {
    NetworkRules::named(program, &policy.granted, &policy.denied)
}

/// Whether a grant naming `granted` names the program the audit log calls `recorded`.
fn names(granted: &str, recorded: &str) -> bool {
    let name = Path::new(recorded)
        .file_name()
        .and_then(|name| name.to_str());
    recorded == granted || name == Some(granted)
}
