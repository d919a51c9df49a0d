//! The failure texts of a run: its errors under their codes, and how to grant what is
//! pending.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use wasm_build_contract::Code;
use wasm_build_contract::audit::{self, RunError};
use wasm_build_contract::policy::Policy;
use wasm_build_diagnostics::Diag as _;
use wasm_build_diagnostics::color::Painter;
use wasm_build_diagnostics::run::{RunFailure, Tried};
use wasm_build_diagnostics::script::{Failure, ScriptFailed};

use wasm_build_exec::outcome::Exit;
use wasm_build_permissions_schema::{Capability, GrantSite, grant_help};
use wasm_build_policy::hygiene::PathRulings as _;
use wasm_build_policy::verdict::Grants;

use crate::attempt::Attempt;
use crate::prepare::{Package, Prepared};
use crate::remove::remove_with_hard_links;

/// The script was compiled natively while `run-natively` was granted, and the grant is
/// gone. Cargo sees no reason to compile it again (its sources did not change), so the
/// stand-in removes itself: the next build compiles the script for the sandbox. No
/// audit record: nothing ran, and nothing awaits review.
pub(crate) fn native_no_longer_granted(exe: &Path, prepared: &Prepared) -> Result<i32> {
    remove_with_hard_links(exe)?;
    run_natively_changed(prepared, false);
    Ok(1)
}

/// The script was compiled for the sandbox, and `run-natively` has been granted since
/// (by hand: `approve` removes the stand-ins of what it grants it to). Cargo sees no
/// reason to compile it again, so the stand-in removes itself: the next build compiles
/// it natively. Running it in the sandbox would ignore the grant; running it natively
/// needs the native compile.
pub(crate) fn native_granted_since(exe: &Path, prepared: &Prepared) -> Result<i32> {
    remove_with_hard_links(exe)?;
    run_natively_changed(prepared, true);
    Ok(1)
}

/// Says [`Code::W405`]: the script did not run, and the next build compiles it anew.
fn run_natively_changed(prepared: &Prepared, granted_now: bool) {
    let text = wasm_build_diagnostics::script::RunNativelyChanged {
        described: &prepared.package.cargo.describe(),
        granted_now,
    }
    .render(Painter::new(audit::coloured_by_env()));
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The kind and a sentence for an unsuccessful ending: a failure ([`Code::W501`]) or a
/// limit exceeded ([`Code::W502`]); `None` for success.
pub(crate) fn exit_problem(exit: &Exit) -> Option<(Code, String)> {
    let failure = match *exit {
        Exit::Code(0) => return None,
        Exit::Code(code) => RunFailure::Exited(code),
        Exit::Panicked => RunFailure::Panicked,
        Exit::TimedOut(limit) => RunFailure::CpuTime(limit.as_secs()),
        Exit::Hung(limit) => RunFailure::WallClock(limit.as_secs()),
        Exit::OutOfMemory(limit) => RunFailure::Memory(limit),
        Exit::StdoutFlood(limit) => RunFailure::StdoutFlood(limit),
        Exit::StderrFlood(limit) => RunFailure::StderrFlood(limit),
        Exit::StackOverflow(size) => RunFailure::StackOverflow(size),
        Exit::Trapped(ref trap) => RunFailure::Trapped(trap),
    };
    Some((failure.code(), failure.sentence()))
}

/// One sentence per pending capability ([`Code::W101`]), with the first attempt that
/// needed it (cut to a readable length) and how many more there were.
pub(crate) fn pending_errors(pending: &[(Attempt, Capability)]) -> Vec<RunError> {
    let mut grouped: Vec<(&Capability, &Attempt, usize)> = Vec::new();
    for (attempt, capability) in pending {
        // Connections to different hosts that one grant would allow are told apart: one
        // of them may be a name that resolved to this machine.
        let same_group = |first: &Attempt| match (first, attempt) {
            (
                Attempt::Connected { authority, .. },
                Attempt::Connected {
                    authority: other, ..
                },
            ) => authority == other,
            _ => true,
        };
        match grouped
            .iter_mut()
            .find(|(seen, first, _)| *seen == capability && same_group(first))
        {
            Some(group) => group.2 += 1,
            None => grouped.push((capability, attempt, 1)),
        }
    }
    grouped
        .into_iter()
        .map(|(capability, attempt, count)| {
            let capability = capability.to_string();
            let tried = match attempt {
                Attempt::Ran(text) => Tried::Ran(text),
                Attempt::Printed(text) => Tried::Printed(text),
                Attempt::LookedUp(name) => Tried::LookedUp(name),
                Attempt::LookedFor(path) => Tried::LookedFor(path),
                Attempt::Wrote(path) => Tried::Wrote(path),
                Attempt::Connected {
                    program,
                    authority,
                    why,
                } => {
                    return run_error(RunFailure::ProxyRefused {
                        capability: &capability,
                        program,
                        authority,
                        count,
                        why,
                    });
                }
            };
            run_error(RunFailure::NeedsPermission {
                capability: &capability,
                tried,
                count,
            })
        })
        .collect()
}

/// A failed script whose programs ran: say what the jail stops that a script can mistake
/// for a broken toolchain, since the jail cannot report it itself (the program only sees
/// "permission denied").
pub(crate) fn note_what_programs_cannot_do(package: &Package, policy: &Policy) {
    if policy.verdict(Capability::RunBuilt).permits() {
        return;
    }
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        wasm_build_diagnostics::script::programs_cannot_run_built(&package.cargo.describe())
    );
}

/// Prints the errors and how to grant what is pending (under `spec`, in `site`).
pub(crate) fn report(
    package: &Package,
    (site, policy): (&GrantSite, &Policy),
    errors: &[RunError],
    pending: &[Capability],
) {
    let spec = policy.grant_spec(&package.cargo.name, &package.cargo.version);
    let table = policy.allow_table.as_deref();
    let text = failure_text(
        (&package.cargo.describe(), audit::coloured_by_env()),
        (site, &spec, table),
        errors,
        pending,
    );
    // stderr is where cargo shows a failed build script's explanation.
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// The errors of the build script of `described` (`` `name vX` ``), each under its code,
/// and how to grant what is pending (under `spec`, in `site`); empty without errors.
/// [`wasm_build_contract::inert::InertLines`] throughout: errors quote what the script printed, ran and named, and
/// the stand-in and the CLI both print this text as it is.
pub fn failure_text(
    (described, colour): (&str, bool),
    (site, spec, existing): (&GrantSite, &str, Option<&[Capability]>),
    errors: &[RunError],
    pending: &[Capability],
) -> String {
    let failures: Vec<Failure<'_>> = errors.iter().map(RunError::as_failure).collect();
    let help = (!pending.is_empty())
        .then(|| grant_help(site, spec, &site.rules.grant_keys(pending), existing));
    ScriptFailed {
        described,
        failures: &failures,
        grant_help: help.as_deref(),
    }
    .render(Painter::new(colour))
}

/// The recorded error for `failure`: its code and sentence.
pub(crate) fn run_error(failure: RunFailure<'_>) -> RunError {
    RunError::new(failure.code(), failure.sentence())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_connections_are_w111_one_per_host_asked_for() {
        let loopback = Capability::NetworkHost(wasm_build_permissions_schema::NetworkHost {
            program: "curl".into(),
            host: "127.0.0.1:80".into(),
        });
        let asked = |authority: &str| Attempt::Connected {
            program: "curl".into(),
            authority: authority.into(),
            why: format!("{authority} is near"),
        };
        let pending = vec![
            (asked("127.0.0.1:80"), loopback.clone()),
            (asked("localhost:80"), loopback.clone()),
            (asked("127.0.0.1:80"), loopback.clone()),
        ];
        let errors = pending_errors(&pending);
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "needs permission to let `curl` connect to `127.0.0.1:80` (dangerous: not a public address): `curl` asked the network proxy for `127.0.0.1:80` (2 times), which it refused before connecting: 127.0.0.1:80 is near",
                "needs permission to let `curl` connect to `127.0.0.1:80` (dangerous: not a public address): `curl` asked the network proxy for `localhost:80`, which it refused before connecting: localhost:80 is near",
            ]
        );
        assert!(errors.iter().all(|error| error.code == Some(Code::W111)));
    }

    #[test]
    fn pending_attempts_are_grouped_and_shortened() {
        let cc = Capability::Exec("cc".into());
        let long = format!("ar cq {}", "x.o ".repeat(100));
        let pending = vec![
            (Attempt::Ran("cc -E a.c".into()), cc.clone()),
            (Attempt::Ran("cc -c b.c".into()), cc.clone()),
            (Attempt::Ran(long), Capability::Exec("ar".into())),
        ];
        let errors = pending_errors(&pending);
        assert!(errors.iter().all(|error| error.code == Some(Code::W101)));
        assert_eq!(
            errors[0].message,
            "needs permission to run `cc`: it tried to run `cc -E a.c` (and 1 more)"
        );
        assert!(
            errors[1]
                .message
                .starts_with("needs permission to run `ar`: it tried to run `ar cq x.o")
        );
        assert!(errors[1].message.ends_with("…`"), "{}", errors[1].message);
    }

    #[test]
    fn failures_are_shown_under_their_codes() {
        let site = GrantSite::default();
        let run_sh = Capability::Exec("sh".into());
        let text = failure_text(
            ("`x v1.0.0`", false),
            (&site, "x@1.0.0", None),
            &[
                RunError::new(Code::W501, "exited with status 3"),
                pending_errors(&[(Attempt::Ran("sh -c true".into()), run_sh.clone())])[0].clone(),
                RunError {
                    code: None,
                    message: "from a record written before codes".into(),
                },
            ],
            &[run_sh],
        );
        assert!(
            text.starts_with(
                "error[W501]: sandboxed build script of `x v1.0.0` exited with status 3\n\
                 error[W101]: sandboxed build script of `x v1.0.0` needs permission to run `sh`: \
                 it tried to run `sh -c true`\n\
                 error: sandboxed build script of `x v1.0.0` from a record written before codes\n"
            ),
            "{text}"
        );
        assert!(text.contains("exec = [\"sh\"]"), "{text}");
        assert_eq!(
            exit_problem(&Exit::OutOfMemory(64 << 20)),
            Some((
                Code::W502,
                "tried to use more than its memory limit of 64 MiB".into()
            ))
        );
    }

    /// What a script ran, printed or named reaches the failure text inert, in the
    /// sentence and in the TOML that grants it.
    #[test]
    fn failure_texts_show_what_the_script_wrote_inert() {
        let hostile = "\x1b]0;title\x07\x1b[1A\u{202e}";
        let program = Capability::Exec(format!("./{hostile}"));
        let pending = [
            (
                Attempt::Ran(format!("./{hostile} -{hostile}")),
                program.clone(),
            ),
            (
                Attempt::Printed(format!("cargo:rustc-env={hostile}=1")),
                Capability::Directive(wasm_build_permissions_schema::GatedDirective::RustcEnv),
            ),
            (
                Attempt::LookedFor(format!("/usr/{hostile}")),
                Capability::Read("/usr".into()),
            ),
        ];
        let errors = pending_errors(&pending);
        let text = failure_text(
            ("`x v1.0.0`", false),
            (&GrantSite::default(), "x@1.0.0", None),
            &errors,
            &[program],
        );
        for error in &errors {
            assert!(
                !error.message.contains(['\x1b', '\x07', '\u{202e}']),
                "{error:?}"
            );
        }
        assert!(!text.contains(['\x1b', '\x07', '\u{202e}']), "{text:?}");
        let shown = r"\u{1b}]0;title\u{7}\u{1b}[1A\u{202e}";
        assert!(
            text.contains(&format!("it tried to run `./{shown} -{shown}`")),
            "{text}"
        );
        assert!(
            text.contains(&format!("it printed `cargo:rustc-env={shown}=1`")),
            "{text}"
        );
        assert!(
            text.contains(&format!("it looked for `/usr/{shown}`")),
            "{text}"
        );
        assert!(
            text.contains(r#"exec = ["./\u001B]0;title\u0007\u001B[1A\u202E"]"#),
            "{text}"
        );
    }
}
