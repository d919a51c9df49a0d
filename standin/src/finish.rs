//! After a run: filter its output for cargo, judge what it tried, report and record it.

#![allow(
    clippy::disallowed_methods,
    reason = "the stand-in reads the variables cargo and the CLI hand a build script's run"
)]

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use wasm_build_contract::audit::{self, RunError, RunRecord};
use wasm_build_contract::cargo::cargo_home;
use wasm_build_contract::manifest::{Script, StandIn};
use wasm_build_contract::policy::Policy;
use wasm_build_contract::vars::DISCOVERY_ENV;
use wasm_build_diagnostics::run::{DroppedDirective, RunFailure};
use wasm_build_diagnostics::{Diag as _, Painter};
use wasm_build_exec::network::NetworkReport;
use wasm_build_exec::outcome::{Exit, RunOutput};
use wasm_build_permissions_schema::Capability;
use wasm_build_policy::judge;
use wasm_build_policy::lookups::{
    hidden_paths, lookups_pending_review, read_grants, undenied, unreviewed_lookups,
};
use wasm_build_policy::verdict::{Grants, Verdict};

use crate::attempt::Attempt;
use crate::filter::{Filtered, filter};
use crate::out_dir::{self, Violation};
use crate::prepare::Prepared;
use crate::report::{
    exit_problem, note_what_programs_cannot_do, pending_errors, report, run_error,
};
use crate::{rerun, run_cache, sandbox_only};

/// Filters the output for cargo, checks `OUT_DIR`, reports and records the run.
pub(crate) fn finish(
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
            .exec
            .pending
            .iter()
            .map(|(attempt, capability)| (Attempt::Ran(attempt.clone()), capability.clone())),
    );
    let network_denied = judge_connections(policy, &output.exec.network, &mut filtered);
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
        filtered.pending.extend(
            lookups_pending_review(&hidden_lookups)
                .into_iter()
                .map(|(name, capability)| (Attempt::LookedUp(name), capability)),
        );
    }
    let downloads = cargo_home()
        .map(|home| wasm_build_contract::cargo::downloaded_sources(&home).to_vec())
        .unwrap_or_default();
    filtered.pending.extend(
        judge::pending_writes(
            policy,
            (&package.cargo.manifest_dir, &package.out_dir),
            &downloads,
            &output.refused_writes,
        )
        .into_iter()
        .map(|(written, capability)| (Attempt::Wrote(written), capability)),
    );
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
        let dropped = DroppedDirective { line }.render(Painter::default());
        writeln!(stdout, "cargo:warning={dropped}").context("failed to write to cargo")?;
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
        errors.push(run_error(RunFailure::Forbidden { line, why }));
    }
    errors.extend(violations.iter().map(Violation::error));
    for failure in &output.exec.jail_failures {
        errors.push(run_error(RunFailure::Unconfined(failure)));
    }
    for limited in &output.exec.limited {
        errors.push(run_error(RunFailure::ProgramLimited(limited)));
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
        errors.push(run_error(RunFailure::NeedsRunBuilt {
            program: &program.display().to_string(),
        }));
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
    if !output.exit.success()
        && output.exec.ran_untrusted
        && !pending.contains(&Capability::RunBuilt)
    {
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
        && output.exec.jail_failures.is_empty()
        && output.exec.limited.is_empty();
    let mut record = RunRecord {
        script: Some(exe.to_path_buf()),
        elapsed_ms: duration_ms(output.elapsed),
        learned,
        exec: output.exec.attempts.clone(),
        network: output.exec.network.connections.clone(),
        network_unrecorded: output.exec.network.unrecorded,
        dropped: filtered.dropped,
        hidden_env: hidden_lookups,
        config_env: prepared.passed_env.config.clone(),
        default_env: prepared.passed_env.defaults.clone(),
        stopped: output.exec.stopped.clone(),
        probe_env_dropped: output.exec.probe_env_dropped.clone(),
        read_grants,
        hidden_paths,
        stderr_tail: if status == 0 {
            Vec::new()
        } else {
            audit::last_lines(&output.stderr_tail, STDERR_TAIL_LINES)
        },
        native,
        for_guest: manifest.for_guest,
        confinement: output.exec.confinement.clone(),
        restored: None,
        ..RunRecord::finished(&package.cargo, status, errors, pending)
    };
    run_cache::after_run(cached, &output, &mut record);
    audit::append(&manifest.audit_log, &record);
    // In a discovery run, cargo must go on to the scripts that depend on this one.
    Ok(if discovery && only_pending { 0 } else { status })
}

/// How many of a failed script's last stderr lines its record keeps.
pub(crate) const STDERR_TAIL_LINES: usize = 20;

/// For a script running natively that failed: a program it made executable in
/// `OUT_DIR`, when `run-built` is not granted. A native script's own exec is not brokered,
/// so the jail's refusal cannot be seen; a failure beside a program it made is the sign.
pub(crate) fn needs_run_built(
    native: bool,
    exit: &Exit,
    policy: &Policy,
    out_dir: &Path,
) -> Option<PathBuf> {
    if !native || exit.success() {
        return None;
    }
    if !matches!(policy.verdict(Capability::RunBuilt), Verdict::Pending(_)) {
        return None;
    }
    out_dir::an_executable(out_dir)
}

/// The connections the proxies refused: pending review like any attempt (so `approve`
/// offers the grant), or, when the consumer denied that host, an error of its own
/// ([`Code::W111`](wasm_build_contract::Code::W111)).
/// A connection the jail refused because the program went around its proxy is an error
/// of the same kind: no grant allows it.
pub(crate) fn judge_connections(
    policy: &Policy,
    network: &NetworkReport,
    filtered: &mut Filtered,
) -> Vec<RunError> {
    let mut denied: Vec<RunError> = network
        .direct
        .iter()
        .map(|(line, refused)| run_error(RunFailure::JailRefusedConnection { line, refused }))
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
            _ => denied.push(run_error(RunFailure::ConnectionDenied {
                program: &connection.program,
                authority: &connection.authority(),
                why: &why,
                capability: &capability.to_string(),
            })),
        }
    }
    denied
}

pub(crate) fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
