//! May this program run, and as what: the exec verdict on one program a build script asks
//! for, over what the broker found out about it.
//!
//! Pure on purpose: the broker (`wasm-build-exec`) resolves the request to one file and
//! finds which grants name it (file-system work), then asks here. Keeping the ruling apart
//! from the processes lets every case be tested without starting one, and keeps the order
//! of the rules (a denial wins, then a grant, then what the build made, then the rustc
//! probe, then review) in one place.

use crate::env_names::changes_what_programs_run;
use crate::verdict::{Grants, Verdict};
use wasm_build_contract::policy::Policy;
use wasm_build_permissions_schema::Capability;

use crate::probe::unsafe_argument;

/// How a grant names the `RUSTC` cargo gives build scripts, wherever the toolchain lives.
pub const RUSTC_GRANT: &str = "$RUSTC";

/// What the broker found out about one request: the facts the verdict is over.
#[derive(Debug, Clone, Copy)]
pub struct ExecRequest<'a> {
    /// The name a grant for the program would use (the bare name when the script gave a
    /// path that `PATH` finds anyway); ignored for the build's rustc, which is
    /// [`RUSTC_GRANT`].
    pub name: &'a str,
    /// Whether the program is the `RUSTC` cargo gave the script.
    pub is_rustc: bool,
    /// Whether an `exec` denial names the program.
    pub denied: bool,
    /// Whether an `exec` grant names the program.
    pub granted: bool,
    /// Whether the program lies where the build writes (`OUT_DIR`, the temporary
    /// directory): something the script or its programs built.
    pub built_here: bool,
    /// The program's arguments.
    pub args: &'a [String],
    /// The consumer's own rustc flags (`CARGO_ENCODED_RUSTFLAGS`), which probes pass on.
    pub rustflags: &'a [String],
    /// The variables the request sets (`Some`) or removes (`None`).
    pub env: &'a [(String, Option<String>)],
}

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRuling {
    /// Whether it runs, waits for review or is refused.
    pub verdict: Verdict,
    /// Whether it runs as a rustc probe: confined as the toolchain, with the environment
    /// the broker builds instead of the script's.
    pub probe: bool,
    /// The argument that makes a run of rustc more than a probe, for the broker to tell
    /// the script why it needs `exec = ["$RUSTC"]`.
    pub not_a_probe: Option<String>,
}

impl ExecRuling {
    fn untrusted(verdict: Verdict) -> Self {
        ExecRuling {
            verdict,
            probe: false,
            not_a_probe: None,
        }
    }
}

impl ExecRequest<'_> {
    /// The capability a grant for this program is: `exec = ["<name>"]`.
    pub fn capability(&self) -> Capability {
        Capability::Exec(if self.is_rustc {
            RUSTC_GRANT.to_string()
        } else {
            self.name.to_string()
        })
    }
}

/// Whether `policy` lets the program `request` describes run, and as what.
pub fn exec_verdict(policy: &Policy, request: &ExecRequest<'_>) -> ExecRuling {
    let capability = request.capability();
    if request.denied {
        return ExecRuling::untrusted(Verdict::Refused(capability));
    }
    if request.granted {
        return ExecRuling::untrusted(screen_env(policy, request.env, Verdict::Allowed));
    }
    if request.built_here {
        return ExecRuling::untrusted(match policy.verdict(Capability::RunBuilt) {
            verdict if verdict.permits() => screen_env(policy, request.env, verdict),
            other => other,
        });
    }
    if request.is_rustc && !policy.deny_rustc {
        return probe_verdict(policy, request, capability);
    }
    let verdict = policy.unreviewed(capability);
    if verdict.permits() {
        return ExecRuling::untrusted(screen_env(policy, request.env, verdict));
    }
    ExecRuling::untrusted(verdict)
}

/// A run of the build's rustc nobody granted: a probe when every argument is one's (its
/// environment is then the broker's, whatever the script set), else it awaits review
/// like any other program.
fn probe_verdict(policy: &Policy, request: &ExecRequest<'_>, capability: Capability) -> ExecRuling {
    match unsafe_argument(request.args, request.rustflags) {
        None => ExecRuling {
            verdict: Verdict::Allowed,
            probe: true,
            not_a_probe: None,
        },
        Some(argument) => ExecRuling {
            verdict: policy.unreviewed(capability),
            probe: false,
            not_a_probe: Some(argument),
        },
    }
}

/// Variables that change what a program loads or runs (`LD_PRELOAD`, `RUSTC_BOOTSTRAP`)
/// may be set for a program only with a grant for them: the first such variable not
/// permitted replaces `verdict`.
pub fn screen_env(policy: &Policy, env: &[(String, Option<String>)], verdict: Verdict) -> Verdict {
    env.iter()
        .filter(|(name, value)| value.is_some() && changes_what_programs_run(name))
        .map(|(name, _)| policy.verdict(Capability::Env(name.clone())))
        .find(|verdict| !verdict.permits())
        .unwrap_or(verdict)
}

/// Whether a program that failed saying it could not run what it built needs review:
/// without `run-built` that is pending, so `approve` offers it.
pub fn run_built_pending(policy: &Policy) -> Option<Capability> {
    match policy.verdict(Capability::RunBuilt) {
        Verdict::Pending(capability) => Some(capability),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_ARGS: &[String] = &[];

    fn request<'a>(name: &'a str) -> ExecRequest<'a> {
        ExecRequest {
            name,
            is_rustc: false,
            denied: false,
            granted: false,
            built_here: false,
            args: NO_ARGS,
            rustflags: NO_ARGS,
            env: &[],
        }
    }

    fn exec(name: &str) -> Capability {
        Capability::Exec(name.into())
    }

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    /// Nothing runs without a grant, except rustc probes.
    #[test]
    fn an_ungranted_program_awaits_review() {
        let ruling = exec_verdict(&Policy::default(), &request("cc"));
        assert_eq!(ruling, ExecRuling::untrusted(Verdict::Pending(exec("cc"))));
    }

    /// A learning build runs what awaits review (jailed), to learn what the script needs.
    #[test]
    fn a_learning_build_learns_an_ungranted_program() {
        let policy = Policy {
            learning: true,
            ..Policy::default()
        };
        let ruling = exec_verdict(&policy, &request("cc"));
        assert_eq!(ruling.verdict, Verdict::Learning(exec("cc")));
    }

    /// A denial wins over a grant naming the same program.
    #[test]
    fn a_denial_wins_over_a_grant() {
        let ruling = exec_verdict(
            &Policy::default(),
            &ExecRequest {
                denied: true,
                granted: true,
                ..request("cc")
            },
        );
        assert_eq!(ruling.verdict, Verdict::Refused(exec("cc")));
    }

    /// A granted program runs, but not with `LD_PRELOAD` set unless that is granted too.
    #[test]
    fn a_granted_program_runs_without_hijacking_variables() {
        let policy = Policy::default();
        let granted = ExecRequest {
            granted: true,
            ..request("cc")
        };
        assert_eq!(exec_verdict(&policy, &granted).verdict, Verdict::Allowed);
        let env = [("LD_PRELOAD".to_string(), Some("/t/x.so".to_string()))];
        let hijacked = ExecRequest {
            env: &env,
            ..granted
        };
        assert_eq!(
            exec_verdict(&policy, &hijacked).verdict,
            Verdict::Pending(Capability::Env("LD_PRELOAD".into()))
        );
        let removed = [("LD_PRELOAD".to_string(), None)];
        let cleared = ExecRequest {
            env: &removed,
            ..granted
        };
        assert_eq!(exec_verdict(&policy, &cleared).verdict, Verdict::Allowed);
        let policy = Policy {
            granted: [Capability::Env("LD_PRELOAD".into())].into(),
            ..Policy::default()
        };
        assert_eq!(exec_verdict(&policy, &hijacked).verdict, Verdict::Allowed);
    }

    /// What the build made runs only with `run-built`, whatever else names it.
    #[test]
    fn what_the_build_made_needs_run_built() {
        let built = ExecRequest {
            built_here: true,
            ..request("./conftest")
        };
        assert_eq!(
            exec_verdict(&Policy::default(), &built).verdict,
            Verdict::Pending(Capability::RunBuilt)
        );
        let policy = Policy {
            granted: [Capability::RunBuilt].into(),
            ..Policy::default()
        };
        assert_eq!(exec_verdict(&policy, &built).verdict, Verdict::Allowed);
        assert_eq!(run_built_pending(&policy), None);
        assert_eq!(
            run_built_pending(&Policy::default()),
            Some(Capability::RunBuilt)
        );
    }

    /// The build's rustc runs probes ungranted, as the toolchain and with the broker's
    /// environment; anything more than a probe awaits review under `$RUSTC`.
    #[test]
    fn rustc_runs_probes_and_nothing_more_ungranted() {
        let version = strings(&["--version"]);
        let probe = ExecRequest {
            is_rustc: true,
            args: &version,
            ..request("rustc")
        };
        let ruling = exec_verdict(&Policy::default(), &probe);
        assert_eq!(
            ruling,
            ExecRuling {
                verdict: Verdict::Allowed,
                probe: true,
                not_a_probe: None
            }
        );
        let linker = strings(&["x.rs", "-C", "linker=/t/out/evil"]);
        let ruling = exec_verdict(
            &Policy::default(),
            &ExecRequest {
                args: &linker,
                ..probe
            },
        );
        assert_eq!(ruling.verdict, Verdict::Pending(exec(RUSTC_GRANT)));
        assert!(!ruling.probe);
        assert_eq!(ruling.not_a_probe.as_deref(), Some("-C linker=/t/out/evil"));
    }

    /// The consumer's own flags pass as they are: what they pass is their choice.
    #[test]
    fn a_probe_passes_the_consumers_own_flags() {
        let args = strings(&["x.rs", "-C", "linker=/opt/ld"]);
        let rustflags = strings(&["-C", "linker=/opt/ld"]);
        let ruling = exec_verdict(
            &Policy::default(),
            &ExecRequest {
                is_rustc: true,
                args: &args,
                rustflags: &rustflags,
                ..request("rustc")
            },
        );
        assert!(ruling.probe, "{ruling:?}");
    }

    /// With `deny-rustc`, rustc is an ordinary program: it needs a grant, even to probe.
    #[test]
    fn deny_rustc_makes_every_run_of_rustc_need_a_grant() {
        let policy = Policy {
            deny_rustc: true,
            ..Policy::default()
        };
        let version = strings(&["--version"]);
        let ruling = exec_verdict(
            &policy,
            &ExecRequest {
                is_rustc: true,
                args: &version,
                ..request("rustc")
            },
        );
        assert_eq!(
            ruling,
            ExecRuling::untrusted(Verdict::Pending(exec(RUSTC_GRANT)))
        );
    }

    /// A granted rustc is an ordinary granted program, not a probe.
    #[test]
    fn a_granted_rustc_is_not_a_probe() {
        let ruling = exec_verdict(
            &Policy::default(),
            &ExecRequest {
                is_rustc: true,
                granted: true,
                ..request("rustc")
            },
        );
        assert_eq!(ruling, ExecRuling::untrusted(Verdict::Allowed));
    }
}
