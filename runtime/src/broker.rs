//! The exec broker: the host side of `std::process` for sandboxed build scripts.
//!
//! Each request from the guest is resolved to a program on the host, judged against the
//! policy (running the `RUSTC` cargo provides is allowed by default, everything else needs
//! a grant) and, if allowed, started natively under [`Confinement`]. Denials are recorded
//! so the stand-in can fail the build with the grant that would allow them.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use wasm_build_permissions_schema::{Capability, Limits};
use wasm_build_shim::protocol::{SpawnRequest, status, stdio};

use crate::child::{ChildProcess, Drain, Stream};
use crate::confine::{Confinement, landlock_abi};
use crate::output::CappedOutput;
use crate::policy::{Policy, Verdict};

/// Opt-in to running granted programs without confinement where the kernel has no
/// Landlock. Named to be noticed in CI logs.
pub const UNCONFINED_ENV: &str = "CARGO_WASM_BUILD_DANGEROUSLY_UNCONFINED_EXEC";

/// For tests of the refusal path: behave as if the kernel had no Landlock.
pub const ASSUME_NO_LANDLOCK_ENV: &str = "CARGO_WASM_BUILD_ASSUME_NO_LANDLOCK";

/// How a grant names the `RUSTC` cargo gives build scripts, wherever the toolchain lives.
pub const RUSTC_GRANT: &str = "$RUSTC";

/// How granted programs can be run on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecMode {
    /// Confined by namespaces, Landlock and seccomp.
    Confined,
    /// No Landlock, and the user opted in to running programs unconfined.
    Unconfined,
    /// No Landlock: granted programs are refused.
    Unavailable,
}

impl ExecMode {
    /// What this machine and environment allow.
    pub fn detect() -> Self {
        let flag = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        if landlock_abi().is_some() && !flag(ASSUME_NO_LANDLOCK_ENV) {
            ExecMode::Confined
        } else if flag(UNCONFINED_ENV) {
            ExecMode::Unconfined
        } else {
            ExecMode::Unavailable
        }
    }
}

/// Everything the broker needs to know about the run it serves.
pub struct ExecContext {
    /// `name v1.2.3`, for messages.
    pub package: String,
    /// The package's policy.
    pub policy: Policy,
    /// The environment the guest sees; children start from it.
    pub env: Vec<(String, String)>,
    /// The `RUSTC` cargo gave the build script, which may run by default.
    pub rustc: Option<PathBuf>,
    /// The package directory.
    pub manifest_dir: PathBuf,
    /// The script's `OUT_DIR`.
    pub out_dir: PathBuf,
    /// The run's private temporary directory (children's `TMPDIR`).
    pub temp_dir: PathBuf,
    /// Extra directories children may read (dependency sources, other `OUT_DIR`s).
    pub read_dirs: Vec<PathBuf>,
    /// The host `PATH`, for finding programs and for the children themselves.
    pub host_path: Option<OsString>,
    /// How programs may be run here.
    pub mode: ExecMode,
    /// Limits (child time, buffered output).
    pub limits: Limits,
}

/// One program the script tried to run, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExecAttempt {
    /// The program as the script named it.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// `allowed`, `pending`, `refused` or `unavailable`.
    pub verdict: String,
}

/// The broker of one run.
pub(crate) struct Broker {
    ctx: ExecContext,
    stdout: CappedOutput,
    stderr: CappedOutput,
    children: HashMap<u32, Arc<ChildProcess>>,
    next_handle: u32,
    pub(crate) attempts: Vec<ExecAttempt>,
    pub(crate) pending: Vec<(String, Capability)>,
    warned_unconfined: bool,
}

/// A failed host call: the status for the guest and the message `last_error` returns.
pub(crate) type Failure = (u32, String);

impl Broker {
    pub(crate) fn new(ctx: ExecContext, stdout: CappedOutput, stderr: CappedOutput) -> Self {
        Broker {
            ctx,
            stdout,
            stderr,
            children: HashMap::new(),
            next_handle: 1,
            attempts: Vec::new(),
            pending: Vec::new(),
            warned_unconfined: false,
        }
    }

    /// Tells the user something on the guest's stderr (which cargo shows with the
    /// script's own output).
    pub(crate) fn note(&self, message: &str) {
        let _ = self.stderr.accept(message.as_bytes());
    }

    pub(crate) fn child(&self, handle: u32) -> Result<Arc<ChildProcess>, Failure> {
        self.children
            .get(&handle)
            .cloned()
            .ok_or((status::INVALID_INPUT, format!("no child process {handle}")))
    }

    pub(crate) fn release(&mut self, handle: u32) {
        self.children.remove(&handle);
    }

    /// Judges and, if allowed, starts the program `request` describes.
    pub(crate) fn spawn(&mut self, request: &SpawnRequest) -> Result<u32, Failure> {
        let resolved = self.resolve(request)?;
        let verdict = self.verdict(&request.program, &resolved);
        let mut attempt = ExecAttempt {
            program: request.program.clone(),
            args: request.args.clone(),
            verdict: "allowed".into(),
        };
        let refusal = match verdict {
            Verdict::Allowed => None,
            Verdict::Pending(capability) => {
                attempt.verdict = "pending".into();
                let line = command_line(request);
                self.pending.push((line.clone(), capability.clone()));
                Some((
                    status::PERMISSION_DENIED,
                    format!(
                        "sandbox: build scripts of {} may not {capability} (tried `{line}`); \
                         the build will fail and say how to grant it",
                        self.ctx.package
                    ),
                ))
            }
            Verdict::Refused(capability) => {
                attempt.verdict = "refused".into();
                Some((
                    status::PERMISSION_DENIED,
                    format!(
                        "sandbox: the workspace's policy denies build scripts of {} to {capability}",
                        self.ctx.package
                    ),
                ))
            }
            Verdict::Forbidden(why) | Verdict::Dropped(why) => {
                attempt.verdict = "refused".into();
                Some((status::PERMISSION_DENIED, format!("sandbox: {why}")))
            }
        };
        let refusal = refusal.or_else(|| self.unavailable(&mut attempt));
        self.attempts.push(attempt);
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        self.start(request, &resolved)
    }

    fn unavailable(&mut self, attempt: &mut ExecAttempt) -> Option<Failure> {
        match self.ctx.mode {
            ExecMode::Confined => None,
            ExecMode::Unconfined => {
                if !self.warned_unconfined {
                    self.warned_unconfined = true;
                    let _ = self.stderr.accept(
                        format!(
                            "warning: sandbox: {UNCONFINED_ENV} is set and this kernel has no \
                             Landlock: programs granted to {} run UNCONFINED, with your full \
                             rights\n",
                            self.ctx.package
                        )
                        .as_bytes(),
                    );
                }
                None
            }
            ExecMode::Unavailable => {
                attempt.verdict = "unavailable".into();
                Some((
                    status::PERMISSION_DENIED,
                    format!(
                        "sandbox: cannot run `{}` confined: this kernel has no Landlock. \
                         Set {UNCONFINED_ENV}=1 to run granted programs unconfined (unsafe)",
                        attempt.program
                    ),
                ))
            }
        }
    }

    /// The host file the guest means: a path as given (relative to the request's working
    /// directory), or a bare name looked up on the host `PATH`.
    fn resolve(&self, request: &SpawnRequest) -> Result<PathBuf, Failure> {
        let program = Path::new(&request.program);
        if request.program.contains('/') {
            let base = request
                .cwd
                .as_deref()
                .map_or_else(|| self.ctx.manifest_dir.clone(), PathBuf::from);
            let path = base.join(program);
            return if path.is_file() {
                Ok(path)
            } else {
                Err((
                    status::NOT_FOUND,
                    format!("{}: no such file", path.display()),
                ))
            };
        }
        find_on_path(&request.program, self.ctx.host_path.as_deref()).ok_or((
            status::NOT_FOUND,
            format!("`{}`: program not found on PATH", request.program),
        ))
    }

    fn verdict(&self, requested: &str, resolved: &Path) -> Verdict {
        let canonical = resolved.canonicalize().ok();
        let is_rustc = self
            .ctx
            .rustc
            .as_ref()
            .and_then(|rustc| rustc.canonicalize().ok())
            .is_some_and(|rustc| Some(rustc) == canonical);
        let same_file = |grant: &str| {
            if grant == RUSTC_GRANT {
                return is_rustc;
            }
            grant == requested
                || canonical.is_some()
                    && (if grant.contains('/') {
                        Path::new(grant).canonicalize().ok()
                    } else {
                        find_on_path(grant, self.ctx.host_path.as_deref())
                            .and_then(|path| path.canonicalize().ok())
                    }) == canonical
        };
        let held = |set: &std::collections::BTreeSet<Capability>| {
            set.iter()
                .any(|cap| matches!(cap, Capability::Exec(grant) if same_file(grant)))
        };
        let name = if is_rustc {
            RUSTC_GRANT.to_string()
        } else {
            self.suggested_name(requested, canonical.as_deref())
        };
        let capability = Capability::Exec(name);
        if held(&self.ctx.policy.denied) {
            return Verdict::Refused(capability);
        }
        if (is_rustc && !self.ctx.policy.deny_rustc) || held(&self.ctx.policy.granted) {
            return Verdict::Allowed;
        }
        Verdict::Pending(capability)
    }

    /// The name a grant should use: the bare name when the script gave a path that the
    /// name finds on `PATH` anyway (`/usr/bin/cc` is `cc`), else what the script gave.
    fn suggested_name(&self, requested: &str, canonical: Option<&Path>) -> String {
        if !requested.contains('/') {
            return requested.to_string();
        }
        let name = Path::new(requested)
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or(requested);
        let found = find_on_path(name, self.ctx.host_path.as_deref())
            .and_then(|path| path.canonicalize().ok());
        if found.is_some() && found.as_deref() == canonical {
            name.to_string()
        } else {
            requested.to_string()
        }
    }

    fn start(&mut self, request: &SpawnRequest, program: &Path) -> Result<u32, Failure> {
        let tmp = self.ctx.temp_dir.clone();
        let mut env: BTreeMap<String, String> = if request.env_clear {
            BTreeMap::new()
        } else {
            self.ctx.env.iter().cloned().collect()
        };
        for (name, value) in &request.env {
            match value {
                Some(value) => env.insert(name.clone(), value.clone()),
                None => env.remove(name),
            };
        }
        // The guest cannot see PATH, but compilers need it to find their parts.
        if !env.contains_key("PATH")
            && let Some(path) = self.ctx.host_path.as_ref().and_then(|p| p.to_str())
        {
            env.insert("PATH".into(), path.to_string());
        }
        env.insert("TMPDIR".into(), tmp.display().to_string());

        let network = self.may_use_network(&request.program, program);
        let mut command = match self.ctx.mode {
            ExecMode::Confined => self
                .confinement(program, &tmp, network)
                .command(program, &request.args)
                .map_err(|err| (status::OTHER, format!("{err:#}")))?,
            _ => {
                let mut command = std::process::Command::new(program);
                command.args(&request.args);
                command
            }
        };
        let cwd = request
            .cwd
            .as_deref()
            .map_or_else(|| self.ctx.manifest_dir.clone(), PathBuf::from);
        command.env_clear().envs(&env).current_dir(&cwd);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let [stdin, stdout, stderr] = request.stdio;
        command.stdin(if stdin == stdio::PIPED {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let (out_stdio, out_drain) = self.drain(stdout, Stream::Stdout);
        let (err_stdio, err_drain) = self.drain(stderr, Stream::Stderr);
        command.stdout(out_stdio).stderr(err_stdio);
        let child = command.spawn().map_err(|err| {
            (
                status::OTHER,
                format!("failed to start {}: {err}", program.display()),
            )
        })?;
        let child =
            ChildProcess::supervise(child, out_drain, err_drain, self.ctx.limits.child_time);
        let handle = self.next_handle;
        self.next_handle += 1;
        self.children.insert(handle, Arc::new(child));
        Ok(handle)
    }

    fn drain(&self, how: u8, stream: Stream) -> (Stdio, Option<Drain>) {
        match how {
            stdio::PIPED => (
                Stdio::piped(),
                Some(Drain::Buffer {
                    limit: self.ctx.limits.stdout_bytes,
                }),
            ),
            stdio::INHERIT => {
                let guest = match stream {
                    Stream::Stdout => self.stdout.clone(),
                    Stream::Stderr => self.stderr.clone(),
                };
                (Stdio::piped(), Some(Drain::Guest(guest)))
            }
            _ => (Stdio::null(), None),
        }
    }

    /// Whether a `network` grant names this program (by name or path).
    fn may_use_network(&self, requested: &str, resolved: &Path) -> bool {
        let canonical = resolved.canonicalize().ok();
        self.ctx
            .policy
            .granted
            .iter()
            .any(|capability| match capability {
                Capability::Network(grant) => {
                    grant == requested
                        || find_on_path(grant, self.ctx.host_path.as_deref())
                            .or_else(|| grant.contains('/').then(|| PathBuf::from(grant)))
                            .and_then(|path| path.canonicalize().ok())
                            .is_some_and(|path| Some(path) == canonical)
                }
                _ => false,
            })
    }

    fn confinement(&self, program: &Path, tmp: &Path, network: bool) -> Confinement {
        let mut read_exec = vec![program.to_path_buf()];
        if let Ok(canonical) = program.canonicalize() {
            read_exec.push(canonical);
        }
        // The toolchain: <toolchain>/bin/rustc.
        if let Some(toolchain) = self
            .ctx
            .rustc
            .as_ref()
            .and_then(|rustc| rustc.canonicalize().ok())
            .and_then(|rustc| rustc.parent()?.parent().map(Path::to_path_buf))
        {
            read_exec.push(toolchain);
        }
        let mut read = vec![self.ctx.manifest_dir.clone()];
        read.extend(self.ctx.read_dirs.iter().cloned());
        let mut write = vec![self.ctx.out_dir.clone(), tmp.to_path_buf()];
        for capability in &self.ctx.policy.granted {
            match capability {
                Capability::Read(path) => read.push(path.into()),
                Capability::Write(path) => write.push(path.into()),
                _ => {}
            }
        }
        Confinement {
            read_exec,
            read,
            write,
            network,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Children the script left running die with it, as cargo would not wait for them
        // either; the stand-in removes the private temporary directory after this.
        for child in self.children.values() {
            child.kill();
        }
        for child in self.children.values() {
            child.wait(true);
        }
    }
}

/// `program args...`, quoted where needed, for messages.
fn command_line(request: &SpawnRequest) -> String {
    std::iter::once(&request.program)
        .chain(&request.args)
        .map(|part| {
            if part.is_empty() || part.contains(|c: char| c.is_whitespace() || c == '\'') {
                format!("'{}'", part.replace('\'', "'\\''"))
            } else {
                part.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first executable file named `name` in the directories of `path`.
pub fn find_on_path(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_quoted_for_messages() {
        let request = SpawnRequest {
            program: "sh".into(),
            args: vec!["-c".into(), "echo 'hi there'".into(), String::new()],
            ..SpawnRequest::default()
        };
        assert_eq!(
            command_line(&request),
            r#"sh -c 'echo '\''hi there'\''' ''"#
        );
    }

    #[test]
    fn programs_are_found_on_path() {
        let path = std::env::var_os("PATH");
        let sh = find_on_path("sh", path.as_deref()).expect("sh on PATH");
        assert!(sh.is_absolute());
        assert_eq!(find_on_path("no-such-program-here", path.as_deref()), None);
    }
}
