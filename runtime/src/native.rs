//! Running a build script natively, confined, for the scripts the consumer granted
//! `run-natively` (those whose build-dependencies cannot be compiled for wasm32-wasip1).
//!
//! The script gets the same environment, directories and limits as in wasm, enforced by
//! the confinement of granted programs (namespaces, Landlock, seccomp) instead of by WASI.
//! What is lost: the exec broker cannot see the programs it starts, so they are confined
//! but not checked against `exec` grants.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Instant;

use anyhow::{Context as _, Result};

use crate::broker::ExecContext;
use crate::child::{ChildProcess, Drain, Stream};
use crate::confine::Confinement;
use crate::output::CappedOutput;
use crate::sandbox::{Exit, RunOutput};

/// Runs `binary` as the build script described by `ctx` and waits for it.
///
/// # Errors
///
/// Fails when the confinement helper cannot be started.
pub fn run(binary: &std::path::Path, ctx: &ExecContext) -> Result<RunOutput> {
    let started = Instant::now();
    let mut read = vec![ctx.manifest_dir.clone()];
    read.extend(ctx.read_dirs.iter().cloned());
    let mut read_exec = vec![binary.to_path_buf()];
    if let Some(toolchain) = ctx
        .rustc
        .as_ref()
        .and_then(|rustc| rustc.canonicalize().ok())
        .and_then(|rustc| rustc.parent()?.parent().map(std::path::Path::to_path_buf))
    {
        read_exec.push(toolchain);
    }
    let confinement = Confinement {
        read_exec,
        read,
        write: vec![ctx.out_dir.clone(), ctx.temp_dir.clone()],
        network: false,
    };
    let mut command = confinement.command(binary, &[])?;
    let mut env = ctx.env.clone();
    if let Some(path) = ctx.host_path.as_ref().and_then(|path| path.to_str()) {
        env.push(("PATH".into(), path.to_string()));
    }
    env.push(("TMPDIR".into(), ctx.temp_dir.display().to_string()));
    command
        .env_clear()
        .envs(env)
        .current_dir(&ctx.manifest_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    let stderr = CappedOutput::stderr(ctx.limits.stderr_bytes);
    let child = ChildProcess::supervise(
        child,
        Some(Drain::Buffer {
            limit: ctx.limits.stdout_bytes,
        }),
        Some(Drain::Guest(stderr.clone())),
        ctx.limits.wall_time,
    );
    let status = child.wait(true);
    let mut stdout = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = child.read(Stream::Stdout, &mut chunk);
        if read == 0 {
            break;
        }
        stdout.extend_from_slice(&chunk[..read]);
    }
    let exit = if child.timed_out() {
        Exit::Hung(ctx.limits.wall_time)
    } else if child.overflowed() {
        Exit::StdoutFlood(ctx.limits.stdout_bytes)
    } else if stderr.exceeded() {
        Exit::StderrFlood(ctx.limits.stderr_bytes)
    } else {
        use std::os::unix::process::ExitStatusExt;
        match status {
            Some(status) => match (status.code(), status.signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Trapped(format!("killed by signal {signal}")),
                (None, None) => Exit::Trapped("ended without a status".into()),
            },
            None => Exit::Trapped("ended without a status".into()),
        }
    };
    Ok(RunOutput {
        exit,
        stdout,
        elapsed: started.elapsed(),
        attempts: Vec::new(),
        pending: Vec::new(),
        hidden_lookups: BTreeSet::new(),
    })
}
