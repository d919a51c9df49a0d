//! Running a build script natively, confined, for the scripts the consumer granted
//! `run-natively` (those whose build-dependencies cannot be compiled for wasm32-wasip1).
//!
//! The script gets the same environment, directories and limits as in wasm, enforced by
//! the jail (Landlock, seccomp, every descendant killed when it ends) instead of by WASI.
//! What is lost: the exec broker cannot see the programs it starts, so they are jailed
//! like the script but not checked against `exec` grants.
//!
//! A script run natively can use the network itself (a Rust HTTP client downloading a
//! prebuilt library), which a script in wasm never can: `network` grants naming
//! [`SCRIPT_PROGRAM`], the name cargo gives every compiled build script, give it (and
//! everything it starts) a filtering proxy like a granted program's.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use wasm_build_diagnostics::broker::RunsUnconfined;
use wasm_build_diagnostics::{Diag as _, Painter};
use wasm_build_jail::{Code, Network, ProgramFile, Spec, Stdio};
use wasm_build_policy::network::NetworkRules;

use crate::bounds::Bound;
use crate::child::{ChildProcess, Drain, OUTPUT_SETTLE, Spawned, Stream};
use crate::context::ExecContext;
use crate::network::{Proxies, with_proxy_env};
use crate::outcome::{Exit, ProgramsReport, RunOutput};
use crate::output::CappedOutput;

/// What `network` grants call a build script run natively: the file name cargo gives
/// every compiled build script.
pub const SCRIPT_PROGRAM: &str = "build-script-build";

/// The network rules of the script itself: the grants and denials naming
/// [`SCRIPT_PROGRAM`].
fn script_network(ctx: &ExecContext) -> NetworkRules {
    NetworkRules::named(SCRIPT_PROGRAM, &ctx.policy.granted, &ctx.policy.denied)
}

/// Runs `binary` as the build script described by `ctx` and waits for it.
///
/// # Errors
///
/// Fails when the script cannot be started in the jail (a layer is missing here, and the
/// user did not opt in to running it unconfined).
pub fn run(binary: &std::path::Path, ctx: &ExecContext) -> Result<RunOutput> {
    let started = Instant::now();
    let program = ProgramFile::identify(binary)
        .with_context(|| format!("failed to find {}", binary.display()))?;
    let mut proxies = Proxies::default();
    let network = proxies
        .network_for(SCRIPT_PROGRAM, script_network(ctx))
        .with_context(|| format!("the build script of {} was not run", ctx.package))?;
    let mut env = ctx.child_env(ctx.env.iter().cloned().collect());
    if let Network::Proxy(proxy) = network {
        env = with_proxy_env(env, proxy);
    }
    let spec = Spec {
        access: ctx.access(&program),
        program,
        argv0: binary.as_os_str().to_os_string(),
        args: Vec::new(),
        env,
        cwd: ctx.manifest_dir.clone(),
        network,
        code: Code::Untrusted,
        time_limit: Some(ctx.limits.wall_time),
        jobserver_tokens: ctx.jobserver_tokens(),
        resources: crate::bounds::resources(&ctx.limits),
    };
    let stdio = [Stdio::Null, Stdio::Piped, Stdio::Piped];
    let (spawned, confinement) = match ctx.jail.spawn(&spec, stdio) {
        Ok(jailed) => {
            let applied = jailed.applied.to_string();
            (Spawned::Jailed(jailed), Some(applied))
        }
        Err(wasm_build_jail::Error::Unavailable(missing)) if ctx.dangerously_unconfined => {
            let warning = RunsUnconfined {
                variable: wasm_build_contract::vars::UNCONFINED_ENV,
                package: &ctx.package.to_string(),
                why: &missing.to_string(),
                script_itself: true,
            };
            eprintln!("{}", warning.render(Painter::default()));
            let spawned = Spawned::unconfined(&spec, stdio)
                .with_context(|| format!("failed to start {}", binary.display()))?;
            (spawned, None)
        }
        Err(err) => {
            return Err(anyhow::Error::new(err))
                .with_context(|| format!("the build script of {} was not run", ctx.package));
        }
    };
    let stderr = CappedOutput::stderr(ctx.limits.stderr_bytes);
    let child = Arc::new(ChildProcess::supervise(
        spawned,
        Some(Drain::Buffer {
            limit: ctx.limits.stdout_bytes,
        }),
        Some(Drain::Guest(stderr.clone())),
        ctx.limits.wall_time,
    ));
    let disk = ctx.disk_watch();
    disk.program_started(child.clone());
    let ended = child.wait(true);
    let mut stdout = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = child.read(Stream::Stdout, &mut chunk);
        if read == 0 {
            break;
        }
        stdout.extend_from_slice(&chunk[..read]);
    }
    // Stdout ended; stderr's last lines (a panic message) may still be in flight, and the
    // flood check below counts them.
    child.settle(OUTPUT_SETTLE);
    let line = binary.display().to_string();
    for refused in child.refused_connections() {
        proxies.refused_directly(&line, refused);
    }
    let exit = if child.timed_out() {
        Exit::Hung(ctx.limits.wall_time)
    } else if child.overflowed() {
        Exit::StdoutFlood(ctx.limits.stdout_bytes)
    } else if stderr.exceeded() {
        Exit::StderrFlood(ctx.limits.stderr_bytes)
    } else {
        match ended {
            Some(ended) => match (ended.code, ended.signal) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Trapped(format!("killed by signal {signal}")),
                (None, None) => Exit::Trapped("ended without a status".into()),
            },
            None => Exit::Trapped("ended without a status".into()),
        }
    };
    // Its time limit is the run's, reported as `exit`; every other bound as a limit.
    let limited = child
        .bound_hit()
        .filter(|(bound, _)| *bound != Bound::ChildTime)
        .map(|(bound, how)| {
            format!(
                "ran natively and {how}: stopped by {}",
                bound.describe(&ctx.limits)
            )
        })
        .into_iter()
        .chain(crate::disk_watch::disk_exceeded(&disk))
        .collect();
    Ok(RunOutput {
        exit,
        stdout,
        stderr_tail: stderr.tail(),
        elapsed: started.elapsed(),
        hidden_lookups: BTreeSet::new(),
        outside_lookups: BTreeSet::new(),
        refused_writes: BTreeSet::new(),
        exec: ProgramsReport {
            confinement,
            ran_untrusted: true,
            network: proxies.finish(),
            limited,
            ..ProgramsReport::default()
        },
    })
}
