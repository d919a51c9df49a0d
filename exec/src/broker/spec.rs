//! What a judged program runs with: its environment (a probe's built by the broker, any
//! other's the script's), its jail spec, and where its stdout and stderr go (kept for the
//! script to read, or relayed into the script's own streams under their budget).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use wasm_build_jail::{Code, Network, Spec};
use wasm_build_shim::protocol::{SpawnRequest, stdio};

use super::Broker;
use super::judge::Judged;
use crate::child::{Drain, Stream};
use crate::probe_env::ProbeEnv;

/// Where a started program's stdout and stderr go.
pub(super) struct Drains {
    pub(super) stdout: Option<Drain>,
    pub(super) stderr: Option<Drain>,
}

impl Broker {
    /// A judged request's environment: a probe's is built from an allow list, whatever
    /// the script set (see [`crate::probe_env`]); any other program's is the script's,
    /// over the harmless variables every program gets
    /// ([`crate::context::ExecContext::program_env`]).
    pub(super) fn env(
        &mut self,
        request: &SpawnRequest,
        judged: &Judged,
    ) -> Vec<(OsString, OsString)> {
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
    pub(super) fn spec(
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

    /// Where the request's stdout and stderr go, and the jail's stdio for that: a stream
    /// nobody drains is discarded.
    pub(super) fn stdio(&self, request: &SpawnRequest) -> (Drains, [wasm_build_jail::Stdio; 3]) {
        let [stdin, stdout, stderr] = request.stdio;
        let drains = Drains {
            stdout: self.drain(stdout, Stream::Stdout),
            stderr: self.drain(stderr, Stream::Stderr),
        };
        let stdio = [
            jail_stdio(stdin == stdio::PIPED),
            jail_stdio(drains.stdout.is_some()),
            jail_stdio(drains.stderr.is_some()),
        ];
        (drains, stdio)
    }

    /// A piped stream is kept for the script to read (bounded); an inherited one is
    /// relayed into the script's own stream, under its budget.
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use wasm_build_policy::verdict::Verdict;

    use super::*;
    use crate::context::tests::{context, program};
    use crate::output::CappedOutput;

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
}
