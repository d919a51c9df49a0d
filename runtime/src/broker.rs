//! The exec broker: the host side of `std::process` for sandboxed build scripts.
//!
//! Each request from the guest is resolved to one file on the host, judged against the
//! policy (the `RUSTC` cargo provides may run probes by default, everything else needs a
//! grant) and, if allowed, started in the [`Jail`], which executes that very file.
//! Denials are recorded so the stand-in can fail the build with the grant that would
//! allow them; a jail that cannot be had fails the build too, never the script alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasm_build_jail::{Access, Code, Jail, Network, ProgramFile, Spec};
use wasm_build_permissions_schema::{Capability, Limits, NetworkRules};
use wasm_build_shim::protocol::{SpawnRequest, status, stdio};

use crate::bounds::DiskWatch;
use crate::child::{ChildProcess, Drain, OUTPUT_SETTLE, Spawned, StandInReply, Stream};
use crate::network::{NetworkReport, Proxies};
use crate::output::CappedOutput;
use crate::probe_env::ProbeEnv;
use wasm_build_contract::Code as DiagCode;
use wasm_build_contract::audit::{ExecAttempt, ExecVerdict};
use wasm_build_contract::inert::{Inert, InertLines};
use wasm_build_contract::policy::{Policy, Verdict};
use wasm_build_contract::vars::UNCONFINED_ENV;

/// How a grant names the `RUSTC` cargo gives build scripts, wherever the toolchain lives.
pub const RUSTC_GRANT: &str = "$RUSTC";

/// Everything the broker needs to know about the run it serves.
pub struct ExecContext {
    /// `name v1.2.3`, for messages.
    pub package: String,
    /// The package's policy.
    pub policy: Policy,
    /// The environment the guest sees; children start from it.
    pub env: Vec<(String, String)>,
    /// The `RUSTC` cargo gave the build script, which may run probes by default.
    pub rustc: Option<PathBuf>,
    /// The package directory.
    pub manifest_dir: PathBuf,
    /// The script's `OUT_DIR`.
    pub out_dir: PathBuf,
    /// The run's private temporary directory (children's `TMPDIR`).
    pub temp_dir: PathBuf,
    /// Directories the script's dependencies exported through `links` metadata, which
    /// children may read like the script itself.
    pub exported_dirs: Vec<PathBuf>,
    /// Paths named by the build settings the script sees (`PKG_CONFIG_PATH`,
    /// `OPENSSL_DIR`), which children may read as they would natively.
    pub setting_paths: Vec<PathBuf>,
    /// Directories that are never a program's own installation, however it is laid out
    /// (the home directory, cargo's and rustup's homes): they hold secrets and other
    /// programs.
    pub shared_prefixes: Vec<PathBuf>,
    /// The host `PATH`, for finding programs and for the children themselves.
    pub host_path: Option<OsString>,
    /// The variables of cargo's environment for the script that a rustc probe gets,
    /// whatever the script may see ([`crate::probe_env::inherited`]).
    pub probe_env: Vec<(String, String)>,
    /// The harmless variables of the user's environment that every other program gets
    /// unless the script cleared or set them: terminal, colour, locale, time zone
    /// ([`wasm_build_contract::env::program_defaults`]).
    pub program_env: Vec<(String, String)>,
    /// Where programs run.
    pub jail: Jail,
    /// Whether the user opted in to running programs unconfined where the jail cannot be
    /// had ([`UNCONFINED_ENV`]).
    pub dangerously_unconfined: bool,
    /// Limits (child time, buffered output).
    pub limits: Limits,
}

/// The broker of one run.
pub(crate) struct Broker {
    ctx: ExecContext,
    stdout: CappedOutput,
    stderr: CappedOutput,
    children: HashMap<u32, Arc<ChildProcess>>,
    next_handle: u32,
    /// Grants' programs, resolved once.
    identities: HashMap<String, Option<ProgramFile>>,
    pub(crate) attempts: Vec<ExecAttempt>,
    /// Every program the script asked for, and the file it found here.
    pub(crate) programs: Vec<ProgramUse>,
    pub(crate) pending: Vec<(String, Capability)>,
    /// Programs the jail could not run: each fails the build, whatever the script made
    /// of the failure.
    pub(crate) jail_failures: Vec<String>,
    /// The layers that confined the first program, for the audit log.
    pub(crate) confinement: Option<String>,
    /// Whether a program beyond a rustc probe ran (see [`crate::sandbox::RunOutput`]).
    pub(crate) ran_untrusted: bool,
    /// Variables the script set for rustc probes that rustc or its linker read, which
    /// the probes ran without (see [`crate::probe_env`]).
    pub(crate) probe_env_dropped: BTreeSet<String>,
    /// The command line of each child, by handle, to name it when it looks stopped.
    lines: HashMap<u32, String>,
    /// Programs whose failure looks like the jail's doing (see
    /// [`crate::sandbox::RunOutput::stopped`]).
    stopped: Vec<String>,
    /// Programs stopped at a bound of the jail (see [`crate::sandbox::RunOutput::limited`]).
    limited: Vec<String>,
    /// The size of `OUT_DIR` and the temporary directory while programs run.
    disk: DiskWatch,
    warned_unconfined: bool,
    /// The filtering proxies of network-granted programs.
    proxies: Proxies,
}

/// A failed host call: the status for the guest and the message `last_error` returns.
pub(crate) type Failure = (u32, String);

/// The file a request names, and what the policy makes of it.
struct Judged {
    file: ProgramFile,
    verdict: Verdict,
    code: Code,
}

impl Broker {
    pub(crate) fn new(ctx: ExecContext, stdout: CappedOutput, stderr: CappedOutput) -> Self {
        let disk = ctx.disk_watch();
        Broker {
            ctx,
            stdout,
            stderr,
            children: HashMap::new(),
            next_handle: 1,
            identities: HashMap::new(),
            attempts: Vec::new(),
            programs: Vec::new(),
            pending: Vec::new(),
            jail_failures: Vec::new(),
            confinement: None,
            ran_untrusted: false,
            probe_env_dropped: BTreeSet::new(),
            lines: HashMap::new(),
            stopped: Vec::new(),
            limited: Vec::new(),
            disk,
            warned_unconfined: false,
            proxies: Proxies::default(),
        }
    }

    /// Every program whose failure looks like the jail's doing, the ones the script still
    /// holds included.
    pub(crate) fn stopped(&mut self) -> Vec<String> {
        let handles: Vec<u32> = self.children.keys().copied().collect();
        for handle in handles {
            self.release(handle);
        }
        std::mem::take(&mut self.stopped)
    }

    /// Every bound of the jail the script's programs ran into, one sentence each; call
    /// after [`Broker::stopped`], which looks at every program.
    pub(crate) fn limited(&mut self) -> Vec<String> {
        let mut limited = std::mem::take(&mut self.limited);
        limited.extend(crate::bounds::disk_exceeded(&self.disk));
        limited
    }

    /// Tells the user something on the guest's stderr (which cargo shows with the
    /// script's own output). Notes quote what the script asked for, so the whole note is
    /// written [`InertLines`], whatever its call site did.
    pub(crate) fn note(&self, message: &str) {
        let _ = self
            .stderr
            .accept(InertLines(message).to_string().as_bytes());
    }

    pub(crate) fn child(&self, handle: u32) -> Result<Arc<ChildProcess>, Failure> {
        self.children
            .get(&handle)
            .cloned()
            .ok_or((status::INVALID_INPUT, format!("no child process {handle}")))
    }

    pub(crate) fn release(&mut self, handle: u32) {
        let line = self.lines.remove(&handle);
        let Some(child) = self.children.remove(&handle) else {
            return;
        };
        // What the child printed last decides the verdicts below: read it all first.
        child.settle(OUTPUT_SETTLE);
        // The one jail denial a program reports in words: configure could not run what it
        // compiled. Without `run-built` that is pending review, so `approve` offers it.
        if child.could_not_run_what_it_built()
            && let Verdict::Pending(capability) = self.ctx.policy.verdict(Capability::RunBuilt)
            && !self.pending.iter().any(|(_, seen)| *seen == capability)
        {
            let attempt = line.clone().unwrap_or_default();
            self.pending.push((attempt, capability));
        }
        if let Some(line) = &line {
            for refused in child.refused_connections() {
                self.proxies.refused_directly(line, refused);
            }
        }
        if let Some(why) = child.unswept() {
            let line = line.as_deref().unwrap_or("a program");
            self.jail_failures.push(format!("ran `{line}`, but {why}"));
        }
        let Some(line) = line else {
            return;
        };
        const SHOWN: usize = 120;
        let shown = match line.char_indices().nth(SHOWN) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line,
        };
        if let Some((bound, how)) = child.bound_hit() {
            self.limited.push(format!(
                "ran `{shown}`, which {}: stopped by {}",
                Inert(&how),
                bound.describe(&self.ctx.limits)
            ));
        } else if let Some(why) = child.looks_stopped()
            // A connection around the proxy is an error of its own (W111), said once.
            && !why.starts_with("was refused by the jail: connect ")
        {
            // `line` is inert already; `why` quotes what the program printed.
            self.stopped.push(format!("`{shown}` {}", Inert(&why)));
        }
    }

    /// Judges and, if allowed, starts the program `request` describes.
    pub(crate) fn spawn(&mut self, request: &SpawnRequest) -> Result<u32, Failure> {
        let (found, file) = self.resolve(request);
        self.programs.push(ProgramUse {
            requested: request.program.clone(),
            found,
            file: file.as_ref().ok().map(|file| file.path.clone()),
        });
        let file = file?;
        let judged = self.judge(request, file);
        let line = command_line(request);
        let mut attempt = ExecAttempt {
            program: request.program.clone(),
            args: request.args.clone(),
            verdict: ExecVerdict::Allowed,
        };
        let refusal = match &judged.verdict {
            Verdict::Allowed => None,
            Verdict::Learning(capability) => {
                // Runs as a granted program would (never unconfined: see `start`), and
                // waits for review like a pending one.
                attempt.verdict = ExecVerdict::Learned;
                self.pending.push((line.clone(), capability.clone()));
                None
            }
            Verdict::Pending(capability) => {
                attempt.verdict = ExecVerdict::Pending;
                let first = !self.pending.iter().any(|(_, seen)| seen == capability);
                self.pending.push((line.clone(), capability.clone()));
                self.attempts.push(attempt);
                return Ok(self.stand_in(request, &line, capability, first));
            }
            Verdict::Refused(capability) => {
                attempt.verdict = ExecVerdict::Refused;
                Some(format!(
                    "{} the workspace's policy denies build scripts of {} to {capability}",
                    DiagCode::W103.sandbox(),
                    self.ctx.package
                ))
            }
            Verdict::Forbidden(why) | Verdict::Dropped(why) => {
                attempt.verdict = ExecVerdict::Refused;
                Some(format!("sandbox: {why}"))
            }
        };
        if let Some(message) = refusal {
            self.attempts.push(attempt);
            return Err((status::PERMISSION_DENIED, message));
        }
        let started = self.start(request, &judged, &mut attempt);
        self.attempts.push(attempt);
        started
    }

    /// The file the guest means: a path as given (relative to the request's working
    /// directory), or a bare name looked up on the host `PATH`; identified once, so
    /// that what is judged is what runs.
    fn resolve(&self, request: &SpawnRequest) -> (Option<PathBuf>, Result<ProgramFile, Failure>) {
        let path = if request.program.contains('/') {
            request
                .cwd
                .as_deref()
                .map_or_else(|| self.ctx.manifest_dir.clone(), PathBuf::from)
                .join(&request.program)
        } else {
            match find_on_path(&request.program, self.ctx.host_path.as_deref()) {
                Some(path) => path,
                None => {
                    let message = format!("`{}`: program not found on PATH", request.program);
                    return (None, Err((status::NOT_FOUND, message)));
                }
            }
        };
        let file = ProgramFile::identify(&path)
            .map_err(|err| (status::NOT_FOUND, format!("{}: {err}", path.display())))
            .and_then(|file| self.through_rustup_proxy(&path, file));
        (Some(path), file)
    }

    /// The toolchain's own program for a rustup proxy (`~/.cargo/bin/cargo` is rustup,
    /// which picks the program by the name it was started as and the toolchain by the
    /// home directory's settings, neither of which a jailed program has): the one in the
    /// toolchain of the build's `RUSTC`, as natively when the proxy resolves to it.
    fn through_rustup_proxy(&self, path: &Path, file: ProgramFile) -> Result<ProgramFile, Failure> {
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            return Ok(file);
        };
        let Some(dir) = path.parent() else {
            return Ok(file);
        };
        let rustup = ProgramFile::identify(&dir.join("rustup")).ok();
        let is_proxy = name != "rustup"
            && rustup
                .is_some_and(|rustup| rustup.device == file.device && rustup.inode == file.inode);
        if !is_proxy {
            return Ok(file);
        }
        let Some(toolchain) = self.ctx.toolchain() else {
            return Ok(file);
        };
        let real = toolchain.join("bin").join(name);
        ProgramFile::identify(&real).map_err(|_| {
            (
                status::NOT_FOUND,
                format!(
                    "`{name}` is a rustup proxy, and the toolchain of this build ({}) has no \
                     `{name}`; install it with `rustup component add {name}`",
                    toolchain.display()
                ),
            )
        })
    }

    /// The program a grant names, resolved the way a request would be.
    fn identity(&mut self, grant: &str) -> Option<ProgramFile> {
        if let Some(known) = self.identities.get(grant) {
            return known.clone();
        }
        let path = if grant == RUSTC_GRANT {
            self.ctx.rustc.as_ref().and_then(|rustc| {
                if rustc.components().count() > 1 {
                    Some(rustc.clone())
                } else {
                    find_on_path(&rustc.to_string_lossy(), self.ctx.host_path.as_deref())
                }
            })
        } else if grant.contains('/') {
            Some(PathBuf::from(grant))
        } else {
            find_on_path(grant, self.ctx.host_path.as_deref())
        };
        let identity = path.and_then(|path| ProgramFile::identify(&path).ok());
        self.identities.insert(grant.to_string(), identity.clone());
        identity
    }

    /// Whether one of `grants` (program names or paths) names the program a request for
    /// `requested` resolved to.
    fn names(&mut self, grants: Vec<String>, requested: &str, file: &ProgramFile) -> bool {
        // A bare name means the program PATH finds, as the request's name does; anything
        // with a `/` counts only as the file it names (a relative path would otherwise
        // mean another file from another working directory).
        grants.iter().any(|grant| {
            (grant == requested && !grant.contains('/') && grant != RUSTC_GRANT)
                || self
                    .identity(grant)
                    .is_some_and(|held| held.same_file(file))
        })
    }

    /// Whether an `exec` grant (or, `denied`, an `exec` denial) names the program.
    fn holds(&mut self, denied: bool, requested: &str, file: &ProgramFile) -> bool {
        let set = if denied {
            &self.ctx.policy.denied
        } else {
            &self.ctx.policy.granted
        };
        let grants = set
            .iter()
            .filter_map(|capability| match capability {
                Capability::Exec(grant) => Some(grant.clone()),
                _ => None,
            })
            .collect();
        self.names(grants, requested, file)
    }

    /// What the `network` grants that name the program allow it: public addresses (a
    /// bare grant), named hosts, or nothing. Denials win: a denied bare grant takes the
    /// program's network away, a denied host that host.
    fn network_rules(&mut self, requested: &str, file: &ProgramFile) -> NetworkRules {
        let granted = self.network_grants(false, requested, file);
        let denied = self.network_grants(true, requested, file);
        NetworkRules::from_grants(&granted, &denied)
    }

    /// The `network` grants (or, `denied`, denials) that name the program: `None` for a
    /// bare one, else the host.
    fn network_grants(
        &mut self,
        denied: bool,
        requested: &str,
        file: &ProgramFile,
    ) -> Vec<Option<String>> {
        let set = if denied {
            &self.ctx.policy.denied
        } else {
            &self.ctx.policy.granted
        };
        let grants: Vec<(String, Option<String>)> = set
            .iter()
            .filter_map(|capability| match capability {
                Capability::Network(program) => Some((program.clone(), None)),
                Capability::NetworkHost(grant) => {
                    Some((grant.program.clone(), Some(grant.host.clone())))
                }
                _ => None,
            })
            .collect();
        grants
            .into_iter()
            .filter(|(program, _)| self.names(vec![program.clone()], requested, file))
            .map(|(_, host)| host)
            .collect()
    }

    /// The network of a judged program: its proxy when a grant names it (never for what
    /// a learning build runs unreviewed), else none.
    fn network(&mut self, request: &SpawnRequest, judged: &Judged) -> Result<Network, Failure> {
        if matches!(judged.verdict, Verdict::Learning(_)) {
            return Ok(Network::None);
        }
        let rules = self.network_rules(&request.program, &judged.file);
        let name = self.suggested_name(&request.program, &judged.file);
        self.proxies.network_for(&name, rules).map_err(|err| {
            let message = format!("could not run `{}`: {err}", Inert(&request.program));
            self.jail_failures.push(message.clone());
            (status::OTHER, message)
        })
    }

    /// Stops the proxies of the run's programs and returns the connections they saw.
    pub(crate) fn finish_network(&mut self) -> NetworkReport {
        self.proxies.finish()
    }

    fn judge(&mut self, request: &SpawnRequest, file: ProgramFile) -> Judged {
        let is_rustc = self
            .identity(RUSTC_GRANT)
            .is_some_and(|rustc| rustc.same_file(&file));
        let name = if is_rustc {
            RUSTC_GRANT.to_string()
        } else {
            self.suggested_name(&request.program, &file)
        };
        let capability = Capability::Exec(name);
        let judged = |verdict, code| Judged {
            file: file.clone(),
            verdict,
            code,
        };
        if self.holds(true, &request.program, &file) {
            return judged(Verdict::Refused(capability), Code::Untrusted);
        }
        if self.holds(false, &request.program, &file) {
            return self.screen_env(request, judged(Verdict::Allowed, Code::Untrusted));
        }
        if self.ctx.built_here(&file) {
            return match self.ctx.policy.verdict(Capability::RunBuilt) {
                verdict if verdict.permits() => {
                    self.screen_env(request, judged(verdict, Code::Untrusted))
                }
                other => judged(other, Code::Untrusted),
            };
        }
        if is_rustc && !self.ctx.policy.deny_rustc {
            let rustflags = self.rustflags();
            return match crate::probe::unsafe_argument(&request.args, &rustflags) {
                // Its environment is the broker's, whatever the script set (see `env`).
                None => judged(Verdict::Allowed, Code::Toolchain),
                Some(argument) => {
                    self.note(&format!(
                        "{} `{}` makes this run of rustc more than a probe; it needs \
                         `exec = [\"{RUSTC_GRANT}\"]`\n",
                        DiagCode::W101.sandbox(),
                        Inert(&argument)
                    ));
                    judged(self.ctx.policy.unreviewed(capability), Code::Untrusted)
                }
            };
        }
        let verdict = self.ctx.policy.unreviewed(capability);
        if verdict.permits() {
            return self.screen_env(request, judged(verdict, Code::Untrusted));
        }
        judged(verdict, Code::Untrusted)
    }

    /// Variables that change what a program loads or runs (`LD_PRELOAD`,
    /// `RUSTC_BOOTSTRAP`) may be set for a child only with a grant for them.
    fn screen_env(&self, request: &SpawnRequest, judged: Judged) -> Judged {
        let verdicts = request.env.iter().filter_map(|(name, value)| {
            let hijacks =
                value.is_some() && wasm_build_contract::env::changes_what_programs_run(name);
            hijacks.then(|| self.ctx.policy.verdict(Capability::Env(name.clone())))
        });
        match verdicts.into_iter().find(|verdict| !verdict.permits()) {
            Some(verdict) => Judged { verdict, ..judged },
            None => judged,
        }
    }

    /// The consumer's rustc flags, which probes pass on.
    fn rustflags(&self) -> Vec<String> {
        self.ctx
            .env
            .iter()
            .find(|(name, _)| name == "CARGO_ENCODED_RUSTFLAGS")
            .map(|(_, value)| value.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// The name a grant should use: the bare name when the script gave a path that the
    /// name finds on `PATH` anyway (`/usr/bin/cc` is `cc`), else what the script gave.
    fn suggested_name(&mut self, requested: &str, file: &ProgramFile) -> String {
        if !requested.contains('/') {
            return requested.to_string();
        }
        let name = Path::new(requested)
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or(requested);
        if self
            .identity(name)
            .is_some_and(|found| found.same_file(file))
        {
            name.to_string()
        } else {
            requested.to_string()
        }
    }

    fn start(
        &mut self,
        request: &SpawnRequest,
        judged: &Judged,
        attempt: &mut ExecAttempt,
    ) -> Result<u32, Failure> {
        let network = self.network(request, judged)?;
        let mut env = self.env(request, judged);
        if let Network::Proxy(proxy) = network {
            env = crate::network::with_proxy_env(env, proxy);
        }
        let spec = self.spec(request, judged, network, env);
        let [stdin, stdout, stderr] = request.stdio;
        let (out_drain, err_drain) = (
            self.drain(stdout, Stream::Stdout),
            self.drain(stderr, Stream::Stderr),
        );
        let stdio = [
            jail_stdio(stdin == stdio::PIPED),
            jail_stdio(out_drain.is_some()),
            jail_stdio(err_drain.is_some()),
        ];
        let spawned = match self.ctx.jail.spawn(&spec, stdio) {
            Ok(jailed) => {
                self.confinement
                    .get_or_insert_with(|| jailed.applied.to_string());
                Spawned::Jailed(jailed)
            }
            // A learning build runs what nobody reviewed: only ever jailed.
            Err(wasm_build_jail::Error::Unavailable(missing))
                if self.ctx.dangerously_unconfined
                    && !matches!(judged.verdict, Verdict::Learning(_)) =>
            {
                self.warn_unconfined(&missing.to_string());
                Spawned::unconfined(&spec, stdio).map_err(|err| {
                    (
                        status::OTHER,
                        format!("failed to start {}: {err}", judged.file.path.display()),
                    )
                })?
            }
            Err(err) => {
                attempt.verdict = ExecVerdict::Unavailable;
                let why = match &err {
                    wasm_build_jail::Error::Unavailable(missing) => {
                        crate::confinement::refusal(missing)
                    }
                    other => other.to_string(),
                };
                // The jail's error may name the script's paths.
                let message = format!(
                    "could not run `{}` confined: {}",
                    Inert(&request.program),
                    Inert(&why)
                );
                self.jail_failures.push(message.clone());
                // Never "not found": the script must not take this for a missing tool.
                return Err((
                    status::PERMISSION_DENIED,
                    format!("{} {message}", DiagCode::W201.sandbox()),
                ));
            }
        };
        self.ran_untrusted |= judged.code == Code::Untrusted;
        let child = Arc::new(ChildProcess::supervise(
            spawned,
            out_drain,
            err_drain,
            self.ctx.limits.child_time,
        ));
        self.disk.program_started(child.clone());
        let handle = self.next_handle;
        self.next_handle += 1;
        self.children.insert(handle, child);
        self.lines.insert(handle, command_line(request));
        Ok(handle)
    }

    /// A program that awaits review does not run; the script is given a stand-in child, so
    /// that it goes on and shows everything else it needs in this build rather than one
    /// thing per build. The build fails on what is pending, so nothing the script makes of
    /// the stand-in is used. `first` when no earlier attempt needed `capability` (the
    /// script is told once).
    fn stand_in(
        &mut self,
        request: &SpawnRequest,
        line: &str,
        capability: &Capability,
        first: bool,
    ) -> u32 {
        let reply = stand_in_reply(request, line);
        if first {
            let told = match reply {
                StandInReply::Succeeded => "told it succeeded with no output",
                StandInReply::Failed { .. } => "told it failed (it reads the program's output)",
            };
            self.note(&format!(
                "{} did not run `{line}`: build scripts of {} may not {capability} until \
             you review it; the script was {told} so that it shows what else it needs, and \
             the build will fail and say how to grant it\n",
                DiagCode::W101.sandbox(),
                self.ctx.package
            ));
        }
        let handle = self.next_handle;
        self.next_handle += 1;
        self.children
            .insert(handle, Arc::new(ChildProcess::stand_in(reply)));
        handle
    }

    fn warn_unconfined(&mut self, why: &str) {
        if self.warned_unconfined {
            return;
        }
        self.warned_unconfined = true;
        self.note(&format!(
            "{} sandbox: {UNCONFINED_ENV} is set and the jail cannot be had here: programs \
             granted to {} run UNCONFINED, with your full rights\n  {why}\n",
            DiagCode::W202.warning(),
            self.ctx.package
        ));
    }

    /// A judged request's environment: a probe's is built from an allow list, whatever
    /// the script set (see [`crate::probe_env`]); any other program's is the script's,
    /// over the harmless variables every program gets ([`ExecContext::program_env`]).
    fn env(&mut self, request: &SpawnRequest, judged: &Judged) -> Vec<(OsString, OsString)> {
        if judged.code == Code::Toolchain {
            let built = ProbeEnv {
                inherited: &self.ctx.probe_env,
                host_path: self.ctx.host_path.as_deref(),
                temp_dir: &self.ctx.temp_dir,
            }
            .build(request.env_clear, &request.env);
            self.probe_env_dropped.extend(built.dropped);
            return built.env;
        }
        let mut env: BTreeMap<String, String> = if request.env_clear {
            BTreeMap::new()
        } else {
            self.ctx
                .program_env
                .iter()
                .chain(&self.ctx.env)
                .cloned()
                .collect()
        };
        for (name, value) in &request.env {
            match value {
                Some(value) => env.insert(name.clone(), value.clone()),
                None => env.remove(name),
            };
        }
        self.ctx.child_env(env)
    }

    /// The jail spec of a judged request, which runs with `env`.
    fn spec(
        &self,
        request: &SpawnRequest,
        judged: &Judged,
        network: Network,
        env: Vec<(OsString, OsString)>,
    ) -> Spec {
        let cwd = request
            .cwd
            .as_deref()
            .map_or_else(|| self.ctx.manifest_dir.clone(), PathBuf::from);
        Spec {
            program: judged.file.clone(),
            argv0: request.program.clone().into(),
            args: request.args.iter().map(OsString::from).collect(),
            env,
            cwd,
            access: self.ctx.access(&judged.file),
            network,
            code: judged.code,
            time_limit: Some(self.ctx.limits.child_time),
            jobserver_tokens: self.ctx.jobserver_tokens(),
            resources: crate::bounds::resources(&self.ctx.limits),
        }
    }

    fn drain(&self, how: u8, stream: Stream) -> Option<Drain> {
        match how {
            stdio::PIPED => Some(Drain::Buffer {
                limit: self.ctx.limits.stdout_bytes,
            }),
            stdio::INHERIT => Some(Drain::Guest(match stream {
                Stream::Stdout => self.stdout.clone(),
                Stream::Stderr => self.stderr.clone(),
            })),
            _ => None,
        }
    }
}

fn jail_stdio(piped: bool) -> wasm_build_jail::Stdio {
    if piped {
        wasm_build_jail::Stdio::Piped
    } else {
        wasm_build_jail::Stdio::Null
    }
}

impl ExecContext {
    /// What a program the script runs may touch: read and execute the system, the
    /// toolchain and the program's own installation; read the package and what its
    /// dependencies exported; write `OUT_DIR` and the private temporary directory; and
    /// what the consumer granted. Not other packages' `OUT_DIR`s, not the registry's
    /// sources, not the home directory.
    pub fn access(&self, program: &ProgramFile) -> Access {
        let mut access = Access {
            read_exec: self.toolchain().into_iter().collect(),
            read: vec![self.manifest_dir.clone()],
            write: vec![self.out_dir.clone(), self.temp_dir.clone()],
        };
        access.read_exec.extend(self.installation(program));
        if self.policy.verdict(Capability::RunBuilt).permits() {
            access.read_exec.push(self.out_dir.clone());
            access.read_exec.push(self.temp_dir.clone());
        }
        access.read.extend(self.exported_dirs.iter().cloned());
        access.read.extend(self.setting_paths.iter().cloned());
        for capability in &self.policy.granted {
            match capability {
                Capability::Read(path) | Capability::DangerousRead(path) => {
                    access.read.push(path.into());
                }
                Capability::Write(path) | Capability::DangerousWrite(path) => {
                    access.write.push(path.into());
                }
                _ => {}
            }
        }
        access
    }

    /// A program's environment: `env` as the script left it, plus the host `PATH` unless
    /// it set one (the guest cannot see PATH, but compilers need it to find their parts),
    /// the run's private `TMPDIR`, and, unless the script set one, a private empty `HOME`
    /// in it: tools that insist on a home (cargo, git, pip) then find an empty one instead
    /// of failing, and never the user's.
    pub(crate) fn child_env(&self, mut env: BTreeMap<String, String>) -> Vec<(OsString, OsString)> {
        if !env.contains_key("PATH")
            && let Some(path) = self.host_path.as_ref().and_then(|p| p.to_str())
        {
            env.insert("PATH".into(), path.to_string());
        }
        env.insert("TMPDIR".into(), self.temp_dir.display().to_string());
        if !env.contains_key("HOME") {
            let home = self.temp_dir.join("home");
            if std::fs::create_dir_all(&home).is_ok() {
                env.insert("HOME".into(), home.display().to_string());
            }
        }
        env.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    /// The toolchain of the `RUSTC` cargo gave the script: `<toolchain>/bin/rustc`, unless
    /// that is a shared directory (a `RUSTC` naming rustup's proxy in `~/.cargo/bin` would
    /// make it cargo's home, credentials and all).
    pub fn toolchain(&self) -> Option<PathBuf> {
        toolchain_of(self.rustc.as_deref(), &self.shared_prefixes)
    }

    /// Whether `program` lies where the build writes (`OUT_DIR`, the temporary directory):
    /// something the script or its programs built.
    pub fn built_here(&self, program: &ProgramFile) -> bool {
        [&self.out_dir, &self.temp_dir].into_iter().any(|dir| {
            dir.canonicalize()
                .is_ok_and(|dir| program.path.starts_with(dir))
        })
    }

    /// The installation a program lives in: `<prefix>` for `<prefix>/bin/<name>` (a pyenv
    /// python, a compiler in `/opt`), unless that prefix is shared (the home directory,
    /// cargo's home). Otherwise only the program's own file.
    fn installation(&self, program: &ProgramFile) -> Option<PathBuf> {
        let bin = program.path.parent()?;
        if bin.file_name()? != "bin" {
            return None;
        }
        let prefix = bin.parent()?;
        (!is_shared(prefix, &self.shared_prefixes)).then(|| prefix.to_path_buf())
    }

    /// The watch on what the script's programs write (see [`DiskWatch`]).
    pub(crate) fn disk_watch(&self) -> DiskWatch {
        DiskWatch::new(
            vec![self.out_dir.clone(), self.temp_dir.clone()],
            self.limits.out_dir_bytes,
        )
    }

    /// Tokens of the private jobserver a child's `make` gets: cargo's share for this
    /// script, less the token the child holds implicitly.
    pub(crate) fn jobserver_tokens(&self) -> u32 {
        let jobs = self
            .env
            .iter()
            .find(|(name, _)| name == "NUM_JOBS")
            .and_then(|(_, value)| value.parse::<u32>().ok())
            .unwrap_or(1);
        jobs.saturating_sub(1).max(1)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // Children the script left running die with it, as cargo would not wait for them
        // either; the stand-in checks OUT_DIR and removes the temporary directory only
        // after this, when nothing the script started can touch them.
        for child in self.children.values() {
            child.kill();
        }
        for child in self.children.values() {
            child.wait(true);
        }
    }
}

/// The toolchain `rustc` belongs to (`<toolchain>/bin/rustc`), unless that is a shared
/// directory (a `RUSTC` naming rustup's proxy in `~/.cargo/bin` would make it cargo's
/// home, credentials and all).
pub fn toolchain_of(rustc: Option<&Path>, shared: &[PathBuf]) -> Option<PathBuf> {
    rustc
        .and_then(|rustc| rustc.canonicalize().ok())
        .and_then(|rustc| rustc.parent()?.parent().map(Path::to_path_buf))
        .filter(|toolchain| !is_shared(toolchain, shared))
}

/// Whether `dir` is `/`, or is or holds one of the `shared` directories.
fn is_shared(dir: &Path, shared: &[PathBuf]) -> bool {
    dir.parent().is_none() || shared.iter().any(|shared| shared.starts_with(dir))
}

/// How a program awaiting review seems to have ended to its caller. A caller that reads
/// the program's stdout (`Command::output()`, a piped stdout) parses what it prints, and
/// no made-up output is plausible: it is told the program failed, with a line on its
/// stderr saying why, the path such callers handle (pkg-config-rs returns its error,
/// cc-rs treats a flag as unsupported or guesses the compiler from its name, cmake-rs
/// assumes its default version). A caller that does not read stdout (`status()`, an
/// inherited or discarded stdout) looks only at the status: it is told the program
/// succeeded and goes on to the next program it needs (cc-rs from the compiler to `ar`,
/// cmake-rs from configuring to building), so one build shows them all.
fn stand_in_reply(request: &SpawnRequest, line: &str) -> StandInReply {
    if request.stdio[1] != stdio::PIPED {
        return StandInReply::Succeeded;
    }
    StandInReply::Failed {
        stderr: format!(
            "{} `{line}` did not run: it awaits review in `cargo wasm-build approve`\n",
            DiagCode::W101.sandbox()
        )
        .into_bytes(),
    }
}

/// `program args...`, quoted where needed, for messages: [`Inert`], since every word of it
/// is the script's.
fn command_line(request: &SpawnRequest) -> String {
    let quote = |part: &String| {
        if part.is_empty() || part.contains(|c: char| c.is_whitespace() || c == '\'') {
            format!("'{}'", part.replace('\'', "'\\''"))
        } else {
            part.clone()
        }
    };
    let line = request
        .env
        .iter()
        .filter_map(|(name, value)| {
            let value = value.as_ref()?;
            wasm_build_contract::env::changes_what_programs_run(name)
                .then(|| format!("{name}={}", quote(value)))
        })
        .chain(
            std::iter::once(&request.program)
                .chain(&request.args)
                .map(quote),
        )
        .collect::<Vec<_>>()
        .join(" ");
    Inert(&line).to_string()
}

/// A program a script asked for, and what it found on this machine: what a run's result
/// depends on besides its inputs (a run cache keys on the file's contents).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProgramUse {
    /// The program as the script named it (a bare name is looked up on the host `PATH`).
    pub requested: String,
    /// The path it named here: as given (joined to the working directory), or what a
    /// bare name found on the host `PATH`; `None` when `PATH` had none.
    pub found: Option<PathBuf>,
    /// The file it resolved to (symlinks and rustup proxies followed), or `None` when
    /// there was none: the script was told so.
    pub file: Option<PathBuf>,
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

    /// A caller that reads a pending program's stdout is told it failed, with the reason
    /// on its stderr; one that looks only at the status is told it succeeded.
    #[test]
    fn a_pending_program_fails_for_callers_that_read_its_output() {
        let request = |stdout| SpawnRequest {
            program: "pkg-config".into(),
            stdio: [stdio::NULL, stdout, stdio::PIPED],
            ..SpawnRequest::default()
        };
        for stdout in [stdio::INHERIT, stdio::NULL] {
            assert_eq!(
                stand_in_reply(&request(stdout), "pkg-config"),
                StandInReply::Succeeded
            );
        }
        let StandInReply::Failed { stderr } =
            stand_in_reply(&request(stdio::PIPED), "pkg-config --modversion zlib")
        else {
            panic!("a caller that reads the output was told the program succeeded");
        };
        assert_eq!(
            String::from_utf8(stderr).unwrap(),
            "sandbox[W101]: `pkg-config --modversion zlib` did not run: it awaits review in \
             `cargo wasm-build approve`\n"
        );
    }

    #[test]
    fn command_lines_are_quoted_for_messages() {
        let request = SpawnRequest {
            program: "sh".into(),
            args: vec!["-c".into(), "echo 'hi there'".into(), String::new()],
            env: vec![
                ("LD_PRELOAD".into(), Some("/t/x.so".into())),
                ("CC".into(), Some("gcc".into())),
            ],
            ..SpawnRequest::default()
        };
        assert_eq!(
            command_line(&request),
            r#"LD_PRELOAD=/t/x.so sh -c 'echo '\''hi there'\''' ''"#
        );
    }

    /// A command line is the script's text from end to end: the program's name, its
    /// arguments and the names of the variables it sets show inert in every message.
    #[test]
    fn command_lines_show_what_the_script_wrote_inert() {
        let hostile = "\x1b]52;c;aGk=\x07\x1b[2K\u{202e}";
        let request = SpawnRequest {
            program: format!("./{hostile}"),
            args: vec![format!("-o{hostile}")],
            env: vec![(format!("LD_{hostile}"), Some(hostile.into()))],
            ..SpawnRequest::default()
        };
        let line = command_line(&request);
        assert!(!line.contains(['\x1b', '\x07', '\u{202e}']), "{line:?}");
        let shown = r"\u{1b}]52;c;aGk=\u{7}\u{1b}[2K\u{202e}";
        assert_eq!(line, format!("LD_{shown}={shown} ./{shown} -o{shown}"));
    }

    fn context(rustc: &Path, home: &Path) -> ExecContext {
        ExecContext {
            package: "p v1".into(),
            policy: Policy::default(),
            env: Vec::new(),
            rustc: Some(rustc.to_path_buf()),
            manifest_dir: home.join("pkg"),
            out_dir: home.join("out"),
            temp_dir: home.join("tmp"),
            exported_dirs: Vec::new(),
            setting_paths: Vec::new(),
            shared_prefixes: vec![home.to_path_buf(), home.join(".local"), home.join(".cargo")],
            host_path: None,
            probe_env: Vec::new(),
            program_env: Vec::new(),
            jail: Jail::new("/nonexistent"),
            dangerously_unconfined: false,
            limits: Limits::default(),
        }
    }

    fn program(path: &Path) -> ProgramFile {
        ProgramFile {
            path: path.to_path_buf(),
            device: 0,
            inode: 0,
        }
    }

    /// A program's own installation is readable; a shared directory (the home, cargo's
    /// home with its credentials) never is, however the program is laid out.
    #[test]
    fn installations_never_widen_to_a_shared_directory() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap();
        for bin in [
            ".cargo/bin",
            ".pyenv/versions/3.11/bin",
            ".local/bin",
            "bin",
        ] {
            std::fs::create_dir_all(home.join(bin)).unwrap();
            std::fs::write(home.join(bin).join("tool"), "").unwrap();
        }
        let ctx = context(&home.join(".cargo/bin/tool"), &home);
        assert_eq!(ctx.toolchain(), None, "rustup's proxy in cargo's home");
        let read_exec = |bin: &str| ctx.access(&program(&home.join(bin).join("tool"))).read_exec;
        assert_eq!(
            read_exec(".pyenv/versions/3.11/bin"),
            [home.join(".pyenv/versions/3.11")]
        );
        for shared in [".cargo/bin", ".local/bin", "bin"] {
            assert!(read_exec(shared).is_empty(), "{shared}");
        }
        assert!(
            ctx.access(&program(Path::new("/bin/sh")))
                .read_exec
                .is_empty()
        );
    }

    /// A probe's environment is the broker's; granted (`exec = ["$RUSTC"]`), rustc is an
    /// ordinary program and gets what the script set.
    #[test]
    fn only_a_granted_rustc_gets_the_scripts_environment() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap();
        let mut ctx = context(Path::new("/usr/bin/rustc"), &home);
        ctx.host_path = Some("/usr/bin:/bin".into());
        std::fs::create_dir_all(&ctx.temp_dir).unwrap();
        let mut broker = Broker::new(ctx, CappedOutput::memory(1024), CappedOutput::memory(1024));
        let request = SpawnRequest {
            program: "rustc".into(),
            args: vec!["y.rs".into(), "--crate-type".into(), "bin".into()],
            env: vec![
                ("PATH".into(), Some("/t/out/bin".into())),
                ("PERL5OPT".into(), Some("-d".into())),
            ],
            ..SpawnRequest::default()
        };
        let judged = |code| Judged {
            file: program(Path::new("/usr/bin/rustc")),
            verdict: Verdict::Allowed,
            code,
        };
        let value = |env: &[(OsString, OsString)], name: &str| {
            env.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let probe = broker.env(&request, &judged(Code::Toolchain));
        assert_eq!(value(&probe, "PATH"), Some("/usr/bin:/bin".into()));
        assert_eq!(value(&probe, "PERL5OPT"), None);
        assert_eq!(
            broker.probe_env_dropped.iter().collect::<Vec<_>>(),
            ["PATH"]
        );
        let granted = broker.env(&request, &judged(Code::Untrusted));
        assert_eq!(value(&granted, "PATH"), Some("/t/out/bin".into()));
        assert_eq!(value(&granted, "PERL5OPT"), Some("-d".into()));
    }

    #[test]
    fn programs_are_found_on_path() {
        let path = std::env::var_os("PATH");
        let sh = find_on_path("sh", path.as_deref()).expect("sh on PATH");
        assert!(sh.is_absolute());
        assert_eq!(find_on_path("no-such-program-here", path.as_deref()), None);
    }
}
