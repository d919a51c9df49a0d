//! What the CLI says before and around a build, and when it decides on grants: a
//! machine that cannot confine programs ([`Code::W201`]), a toolchain without the guest
//! target ([`Code::W409`]), permissions nobody reviewed in strict mode or a check
//! ([`Code::W102`]), `trust-declared` ([`Code::W106`]), and what `approve` found nothing to
//! decide on ([`Code::W406`]), held back ([`Code::W105`]) or could not write
//! ([`Code::W107`]). Each type renders without a final line break, so the caller writes
//! it as it wrote the text before.

use crate::code::Code;
use crate::color::{Painter, Tone};
use crate::diag::Diag;
use crate::inert::{Inert, InertLines};

/// `error[Wxxx]:` in cargo's bold red when `painter` colours.
fn error(code: Code, painter: Painter) -> String {
    painter.paint(&code.error(), Tone::Bad)
}

/// `warning[Wxxx]:` in cargo's bold yellow when `painter` colours.
fn warning(code: Code, painter: Painter) -> String {
    painter.paint(&code.warning(), Tone::Warning)
}

/// [`Code::W201`]: this machine cannot confine the programs a build runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unconfinable<'a> {
    /// What is missing and what to do (the exec layer's refusal).
    pub refusal: &'a str,
    /// Whether it refuses a learning build, which never runs programs unconfined.
    pub learning: bool,
}

impl Diag for Unconfinable<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W201)
    }

    fn render(&self, painter: Painter) -> String {
        let mut text = format!("{} {}", error(Code::W201, painter), self.refusal);
        if self.learning {
            text.push_str(
                "\n  note: a learning build never runs programs unconfined: approve each package by name after reading its build script instead",
            );
        }
        text
    }
}

/// [`Code::W409`]: the toolchain cargo uses has no wasm32-wasip1 target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoGuestTarget<'a> {
    /// What is missing (or why it cannot be told).
    pub problem: &'a str,
    /// Whether the build was refused for it.
    pub nothing_built: bool,
    /// The command that installs the target, when known.
    pub install_help: Option<&'a str>,
}

impl Diag for NoGuestTarget<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W409)
    }

    fn render(&self, painter: Painter) -> String {
        let mut text = format!("{} {}", error(Code::W409, painter), self.problem);
        if self.nothing_built {
            text.push_str("; nothing was built");
        }
        if let Some(help) = self.install_help {
            text.push_str(&format!("\nhelp: {help}"));
        }
        text
    }
}

/// [`Code::W406`]: a learning build failed before any build script ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LearningBuildFailed;

impl Diag for LearningBuildFailed {
    fn code(&self) -> Option<Code> {
        Some(Code::W406)
    }

    fn render(&self, painter: Painter) -> String {
        format!(
            "{} the learning build (`cargo check`) failed before any build script ran; \
             run `cargo wasm-build check` to see why",
            error(Code::W406, painter)
        )
    }
}

/// [`Code::W406`]: `approve` or `deny` found nothing to decide on, and no build or only a
/// failed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NothingToDecide<'a> {
    /// No sandboxed build was found under the target directory.
    NoBuild {
        /// "nothing is pending review ...".
        what: &'a str,
        /// The target directory looked in.
        target_dir: &'a str,
    },
    /// The last build of some scripts failed.
    LastBuildFailed {
        /// "nothing is pending review ...".
        what: &'a str,
        /// The scripts whose last build failed (`name vX`).
        failed: &'a [String],
        /// The run logs looked in.
        looked: &'a [String],
    },
}

impl Diag for NothingToDecide<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W406)
    }

    fn render(&self, painter: Painter) -> String {
        let heading = error(Code::W406, painter);
        match self {
            NothingToDecide::NoBuild { what, target_dir } => format!(
                "{heading} {what}, and no sandboxed build was found under {}\nhelp: build first with `cargo wasm-build`; if that build used another target directory (`--target-dir`, `CARGO_TARGET_DIR`, `build.target-dir`), pass it as `--target-dir DIR`",
                Inert(target_dir)
            ),
            NothingToDecide::LastBuildFailed {
                what,
                failed,
                looked,
            } => format!(
                "{heading} {what}, but the last build of {} failed: if its denials were decided since, build again; otherwise see its errors\nnote: looked in {}",
                Inert(&failed.join(", ")),
                Inert(&looked.join(", "))
            ),
        }
    }
}

/// A package as `approve` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its version.
    pub version: &'a str,
}

/// [`Code::W105`]: `approve --all` (or `--learn`) never grants `run-natively`, so it held
/// it back, or did not carry over grants that include it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunNativelyHeldBack<'a> {
    /// The package it was not written for.
    pub package: Named<'a>,
    /// The version whose grants were not carried over, when it is a carry-over.
    pub carried_from: Option<&'a str>,
    /// The command that approves it by name.
    pub approve_by_name: &'a str,
}

impl Diag for RunNativelyHeldBack<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W105)
    }

    fn render(&self, painter: Painter) -> String {
        let heading = warning(Code::W105, painter);
        let (name, version) = (Inert(self.package.name), Inert(self.package.version));
        let command = Inert(self.approve_by_name);
        match self.carried_from {
            Some(from) => format!(
                "{heading} {}'s grants not carried over to {name} v{version}: they include `run-natively`, which `approve --all` never grants. To carry them over, approve it by name: `{command}`",
                Inert(from)
            ),
            None => format!(
                "{heading} `run-natively` not written for {name} v{version}: `approve --all` never grants it. Its build script cannot run in the wasm sandbox as it would natively (see the build's errors); running it natively drops the checks of the programs it starts. To grant it, approve it by name: `{command}`"
            ),
        }
    }
}

/// [`Code::W107`]: what the last build tried that no grant can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ungrantable<'a> {
    /// What it tried: "read `/`".
    pub capability: &'a str,
    /// Why no grant can name it.
    pub why: &'a str,
}

impl Diag for Ungrantable<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W107)
    }

    fn render(&self, painter: Painter) -> String {
        format!(
            "{} not written: the last build tried to {}, which no grant can name: {}",
            warning(Code::W107, painter),
            Inert(self.capability),
            Inert(self.why)
        )
    }
}

/// [`Code::W106`]: mode `trust-declared` grants what these crates declare, unreviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustDeclared<'a> {
    /// The crates (`name vX`).
    pub trusted: &'a [String],
}

impl Diag for TrustDeclared<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W106)
    }

    fn render(&self, painter: Painter) -> String {
        let one = self.trusted.len() == 1;
        format!(
            "{} mode = trust-declared: granting without review what {} declare{}: {}",
            warning(Code::W106, painter),
            if one { "this crate" } else { "these crates" },
            if one { "s" } else { "" },
            Inert(&self.trusted.join(", "))
        )
    }
}

/// [`Code::W102`] of `permissions --check`: the build scripts that need review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedReview<'a> {
    /// One line per script: what it needs.
    pub failures: &'a [String],
}

impl Diag for NeedReview<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W102)
    }

    /// The heading and one indented line per script.
    fn render(&self, painter: Painter) -> String {
        let count = match self.failures.len() {
            1 => "1 build script needs".to_string(),
            n => format!("{n} build scripts need"),
        };
        let mut text = format!("{} {count} review:", error(Code::W102, painter));
        for failure in self.failures {
            text.push_str(&format!("\n  {}", Inert(failure)));
        }
        text
    }
}

/// [`Code::W102`] of strict mode: permissions nobody reviewed; nothing was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrictRefused<'a> {
    /// One line per script, without indentation: `name vX (why): what`.
    pub scripts: &'a [String],
    /// The arguments `permissions` and `approve` need to find this build (` --target-dir
    /// DIR`), already quoted.
    pub extra: &'a str,
    /// Whether some scripts are new versions of reviewed ones.
    pub drifted: bool,
    /// Whether some scripts used grants removed since.
    pub revoked: bool,
}

impl Diag for StrictRefused<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W102)
    }

    /// The error, a line per script and the help, each line ending in a line break.
    fn render(&self, painter: Painter) -> String {
        let extra = self.extra;
        let mut text = format!(
            "{} strict mode: these build scripts have permissions nobody has reviewed; nothing was built\n",
            error(Code::W102, painter)
        );
        for script in self.scripts {
            text.push_str(&format!("  {}\n", Inert(script)));
        }
        text.push_str(&format!(
            "help: review them with `cargo wasm-build permissions{extra}`, then run `cargo wasm-build approve{extra} --all` (or `deny`){}\n",
            if self.drifted {
                "; `approve` carries a grant over to a new version that needs nothing more, and shows what is new"
            } else {
                ""
            }
        ));
        if self.revoked {
            text.push_str(&format!(
                "help: a script that used a removed grant may build without it: build once without strict mode (`cargo wasm-build{extra}`) to see what it needs now\n"
            ));
        }
        text
    }
}

/// [`Code::W010`]: a dependency's own sandbox table is invalid, so its requests are
/// ignored (the consumer cannot fix it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IgnoredTable<'a> {
    /// The dependency's name.
    pub name: &'a str,
    /// Its version.
    pub version: &'a str,
    /// Its table's diagnostics, rendered.
    pub error: &'a str,
}

impl IgnoredTable<'_> {
    /// The body of the warning, as a build's policy keeps it ([`Warning`] says it).
    pub fn message(&self) -> String {
        format!(
            "ignoring the sandbox requests of {} v{}: its table is invalid\n{}",
            self.name, self.version, self.error
        )
    }
}

/// A warning worded before and kept (a build's policy is cached with its warnings): said
/// under its code, the body inert but for its line breaks (it quotes a dependency's
/// Cargo.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Warning<'a> {
    /// Its code.
    pub code: Code,
    /// What it says.
    pub body: &'a str,
}

impl Diag for Warning<'_> {
    fn code(&self) -> Option<Code> {
        Some(self.code)
    }

    fn render(&self, painter: Painter) -> String {
        format!("{} {}", warning(self.code, painter), InertLines(self.body))
    }
}

/// An error that reached the binary's edge: under its code when it has one (a stale
/// stand-in, [`Code::W404`]), as it is when it holds its own headings (rendered table
/// diagnostics), else under `error:`. Inert but for its line breaks: it may quote a
/// crate's manifest or build script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed<'a> {
    /// Its code, if any.
    pub code: Option<Code>,
    /// Whether the text is under its own headings already.
    pub has_headings: bool,
    /// The error and its causes.
    pub text: &'a str,
}

impl Diag for Failed<'_> {
    fn code(&self) -> Option<Code> {
        self.code
    }

    fn render(&self, painter: Painter) -> String {
        let heading = match (self.has_headings, self.code) {
            (true, _) => String::new(),
            (false, Some(code)) => format!("{} ", error(code, painter)),
            (false, None) => format!("{} ", painter.paint("error:", Tone::Bad)),
        };
        format!("{heading}{}", InertLines(self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "x\u{1b}]0;t\u{7}";
    const SHOWN: &str = "x\\u{1b}]0;t\\u{7}";

    fn plain(diag: &dyn Diag) -> String {
        diag.render(Painter::new(false))
    }

    #[test]
    fn refusals_of_the_machine_and_toolchain() {
        let unconfinable = Unconfinable {
            refusal: "no Landlock",
            learning: true,
        };
        assert_eq!(
            plain(&unconfinable),
            "error[W201]: no Landlock\n  note: a learning build never runs programs unconfined: approve each package by name after reading its build script instead"
        );
        let target = NoGuestTarget {
            problem: "no target",
            nothing_built: true,
            install_help: Some("rustup target add wasm32-wasip1"),
        };
        assert_eq!(
            plain(&target),
            "error[W409]: no target; nothing was built\nhelp: rustup target add wasm32-wasip1"
        );
        assert_eq!(
            Unconfinable {
                learning: false,
                ..unconfinable
            }
            .render(Painter::new(true)),
            "\x1b[1;31merror[W201]:\x1b[0m no Landlock"
        );
    }

    #[test]
    fn approve_s_messages_show_crate_names_inert() {
        let named = [HOSTILE.to_string()];
        let held = RunNativelyHeldBack {
            package: Named {
                name: HOSTILE,
                version: "1.0.0",
            },
            carried_from: Some(HOSTILE),
            approve_by_name: "cargo wasm-build approve x@1.0.0",
        };
        assert_eq!(
            plain(&held),
            format!(
                "warning[W105]: {SHOWN}'s grants not carried over to {SHOWN} v1.0.0: they include `run-natively`, which `approve --all` never grants. To carry them over, approve it by name: `cargo wasm-build approve x@1.0.0`"
            )
        );
        let nothing = NothingToDecide::LastBuildFailed {
            what: "nothing is pending review",
            failed: &named,
            looked: &named,
        };
        assert_eq!(
            plain(&nothing),
            format!(
                "error[W406]: nothing is pending review, but the last build of {SHOWN} failed: if its denials were decided since, build again; otherwise see its errors\nnote: looked in {SHOWN}"
            )
        );
        assert_eq!(
            plain(&TrustDeclared { trusted: &named }),
            format!(
                "warning[W106]: mode = trust-declared: granting without review what this crate declares: {SHOWN}"
            )
        );
        assert_eq!(
            plain(&NeedReview { failures: &named }),
            format!("error[W102]: 1 build script needs review:\n  {SHOWN}")
        );
        let strict = StrictRefused {
            scripts: &named,
            extra: "",
            drifted: false,
            revoked: true,
        };
        assert!(
            plain(&strict).contains(&format!("nothing was built\n  {SHOWN}\nhelp: review")),
            "{}",
            plain(&strict)
        );
        assert!(plain(&strict).ends_with("to see what it needs now\n"));
        assert_eq!(
            plain(&Ungrantable {
                capability: "read `/`",
                why: HOSTILE
            }),
            format!(
                "warning[W107]: not written: the last build tried to read `/`, which no grant can name: {SHOWN}"
            )
        );
        assert!(plain(&LearningBuildFailed).starts_with("error[W406]: the learning build"));
        let stale = Failed {
            code: Some(Code::W404),
            has_headings: false,
            text: "stale\n\u{1b}]0;t",
        };
        assert_eq!(plain(&stale), "error[W404]: stale\n\\u{1b}]0;t");
        assert_eq!(
            plain(&Failed {
                code: None,
                ..stale
            }),
            "error: stale\n\\u{1b}]0;t"
        );
        assert_eq!(
            plain(&Failed {
                has_headings: true,
                ..stale
            }),
            "stale\n\\u{1b}]0;t"
        );
        let body = IgnoredTable {
            name: "fake-sys",
            version: "1.0.0",
            error: "error[W001]: unknown key `e\u{1b}[2K`",
        }
        .message();
        assert_eq!(
            plain(&Warning {
                code: Code::W010,
                body: &body
            }),
            "warning[W010]: ignoring the sandbox requests of fake-sys v1.0.0: its table is invalid\nerror[W001]: unknown key `e\\u{1b}[2K`"
        );
    }
}
