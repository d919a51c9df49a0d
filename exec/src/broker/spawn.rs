//! Starting a judged program: the verdict decides whether it runs, waits for review (a
//! stand-in, see [`super::stand_in`]) or is refused; a program that runs gets its proxy,
//! its spec ([`super::spec`]) and the jail (or, where the user opted in and the jail
//! cannot be had, no confinement), and is then supervised.

use std::sync::Arc;

use wasm_build_contract::audit::{ExecAttempt, ExecVerdict};
use wasm_build_contract::inert::Inert;
use wasm_build_contract::vars::UNCONFINED_ENV;
use wasm_build_diagnostics::broker::{NotConfined, PolicyDenies, RunsUnconfined};
use wasm_build_diagnostics::{Diag as _, Painter};
use wasm_build_jail::{Code, Network, Spec};
use wasm_build_policy::verdict::Verdict;
use wasm_build_shim::protocol::{SpawnRequest, status};

use super::command_line::command_line;
use super::judge::Judged;
use super::{Broker, Failure};
use crate::child::{ChildProcess, Spawned};
use crate::program::ProgramUse;

impl Broker {
    /// Judges and, if allowed, starts the program `request` describes: the handle the
    /// script holds it by.
    ///
    /// # Errors
    ///
    /// A [`Failure`] for the guest when the program is not found, is refused, or cannot
    /// be started confined.
    pub fn spawn(&mut self, request: &SpawnRequest) -> Result<u32, Failure> {
        let (found, file) = self.resolve(request);
        self.programs.push(ProgramUse {
            requested: request.program.clone(),
            found,
            file: file.as_ref().ok().map(|file| file.path.clone()),
        });
        let judged = self.judge(request, file?);
        let line = command_line(request);
        let mut attempt = ExecAttempt {
            program: request.program.clone(),
            args: request.args.clone(),
            verdict: ExecVerdict::Allowed,
        };
        if let Verdict::Pending(capability) = &judged.verdict {
            attempt.verdict = ExecVerdict::Pending;
            let first = !self.pending.iter().any(|(_, seen)| seen == capability);
            self.pending.push((line.clone(), capability.clone()));
            self.attempts.push(attempt);
            return Ok(self.stand_in(request, &line, capability, first));
        }
        let started = match self.refusal(&judged.verdict, &line, &mut attempt) {
            Some(message) => Err((status::PERMISSION_DENIED, message)),
            None => self.start(request, &judged, &mut attempt),
        };
        self.attempts.push(attempt);
        started
    }

    /// Why a verdict other than pending refuses the program, if it does; a learning
    /// build's program runs as a granted one would (never unconfined: see `start`) and
    /// waits for review like a pending one.
    fn refusal(
        &mut self,
        verdict: &Verdict,
        line: &str,
        attempt: &mut ExecAttempt,
    ) -> Option<String> {
        match verdict {
            Verdict::Allowed | Verdict::Pending(_) => None,
            Verdict::Learning(capability) => {
                attempt.verdict = ExecVerdict::Learned;
                self.pending.push((line.to_string(), capability.clone()));
                None
            }
            Verdict::Refused(capability) => {
                attempt.verdict = ExecVerdict::Refused;
                let denies = PolicyDenies {
                    package: &self.ctx.package.to_string(),
                    capability: &capability.to_string(),
                };
                Some(denies.render(Painter::default()))
            }
            Verdict::Forbidden(why) | Verdict::Dropped(why) => {
                attempt.verdict = ExecVerdict::Refused;
                Some(format!("sandbox: {why}"))
            }
        }
    }

    /// Starts a judged program and holds it for the script.
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
        let (drains, stdio) = self.stdio(request);
        let spawned = self.launch(request, judged, &spec, stdio, attempt)?;
        self.ran_untrusted |= judged.code == Code::Untrusted;
        let child = Arc::new(ChildProcess::supervise(
            spawned,
            drains.stdout,
            drains.stderr,
            self.ctx.limits.child_time,
        ));
        self.disk.program_started(child.clone());
        let handle = self.hold(child);
        self.lines.insert(handle, command_line(request));
        Ok(handle)
    }

    /// Runs `spec` in the jail; where the jail cannot be had, unconfined if the user opted
    /// in (never for what a learning build runs unreviewed), else a failure of the build.
    fn launch(
        &mut self,
        request: &SpawnRequest,
        judged: &Judged,
        spec: &Spec,
        stdio: [wasm_build_jail::Stdio; 3],
        attempt: &mut ExecAttempt,
    ) -> Result<Spawned, Failure> {
        match self.ctx.jail.spawn(spec, stdio) {
            Ok(jailed) => {
                self.confinement
                    .get_or_insert_with(|| jailed.applied.to_string());
                Ok(Spawned::Jailed(jailed))
            }
            Err(wasm_build_jail::Error::Unavailable(missing))
                if self.ctx.dangerously_unconfined
                    && !matches!(judged.verdict, Verdict::Learning(_)) =>
            {
                self.warn_unconfined(&missing.to_string());
                Spawned::unconfined(spec, stdio).map_err(|err| {
                    (
                        status::OTHER,
                        format!("failed to start {}: {err}", judged.file.path.display()),
                    )
                })
            }
            Err(err) => {
                attempt.verdict = ExecVerdict::Unavailable;
                Err(self.jail_failure(request, &err))
            }
        }
    }

    /// The failure of a program the jail could not run, recorded: it fails the build.
    fn jail_failure(&mut self, request: &SpawnRequest, err: &wasm_build_jail::Error) -> Failure {
        let why = match err {
            wasm_build_jail::Error::Unavailable(missing) => crate::confinement::refusal(missing),
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
        (
            status::PERMISSION_DENIED,
            NotConfined { message: &message }.render(Painter::default()),
        )
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

    fn warn_unconfined(&mut self, why: &str) {
        if self.warned_unconfined {
            return;
        }
        self.warned_unconfined = true;
        let warning = RunsUnconfined {
            variable: UNCONFINED_ENV,
            package: &self.ctx.package.to_string(),
            why,
            script_itself: false,
        };
        self.note(&warning.render(Painter::default()));
    }
}
