//! What the exec broker tells a build script, on the script's own stderr, when a program
//! it asked to run did not run as asked: `sandbox[Wxxx]: ...`, uncoloured (cargo shows a
//! script's stderr as it is, and only when the script fails). The broker decides; the
//! words are here, with everything the script wrote inert.

use crate::code::Code;
use crate::color::Painter;
use crate::diag::Diag;
use crate::inert::Inert;

/// [`Code::W101`]: a program awaits review, so a stand-in answered for it; said once per
/// capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoodIn<'a> {
    /// The command line (inert already, or made so here).
    pub line: &'a str,
    /// The script's package (`name vX`).
    pub package: &'a str,
    /// What it needs: "run `cc`".
    pub capability: &'a str,
    /// Whether the script was told the program failed (it reads its output) rather than
    /// that it succeeded.
    pub told_failed: bool,
}

impl Diag for StoodIn<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W101)
    }

    fn render(&self, _painter: Painter) -> String {
        let told = if self.told_failed {
            "told it failed (it reads the program's output)"
        } else {
            "told it succeeded with no output"
        };
        format!(
            "{} did not run `{}`: build scripts of {} may not {} until \
             you review it; the script was {told} so that it shows what else it needs, and \
             the build will fail and say how to grant it\n",
            Code::W101.sandbox(),
            Inert(self.line),
            Inert(self.package),
            Inert(self.capability),
        )
    }
}

/// [`Code::W101`]: what the stand-in of a program awaiting review prints on the stderr
/// its caller reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwaitsReview<'a> {
    /// The command line.
    pub line: &'a str,
}

impl Diag for AwaitsReview<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W101)
    }

    fn render(&self, _painter: Painter) -> String {
        format!(
            "{} `{}` did not run: it awaits review in `cargo wasm-build approve`\n",
            Code::W101.sandbox(),
            Inert(self.line)
        )
    }
}

/// [`Code::W101`]: an argument makes a run of rustc more than a probe, so it needs the
/// grant that runs rustc as a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAProbe<'a> {
    /// The argument.
    pub argument: &'a str,
    /// The `exec` entry that grants rustc (`$RUSTC`).
    pub rustc_grant: &'a str,
}

impl Diag for NotAProbe<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W101)
    }

    fn render(&self, _painter: Painter) -> String {
        format!(
            "{} `{}` makes this run of rustc more than a probe; it needs \
             `exec = [\"{}\"]`\n",
            Code::W101.sandbox(),
            Inert(self.argument),
            self.rustc_grant
        )
    }
}

/// [`Code::W103`]: the workspace's policy denies what the script asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyDenies<'a> {
    /// The script's package (`name vX`).
    pub package: &'a str,
    /// What it asked: "run `curl`".
    pub capability: &'a str,
}

impl Diag for PolicyDenies<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W103)
    }

    fn render(&self, _painter: Painter) -> String {
        format!(
            "{} the workspace's policy denies build scripts of {} to {}",
            Code::W103.sandbox(),
            Inert(self.package),
            Inert(self.capability)
        )
    }
}

/// [`Code::W201`]: the jail could not run a granted program confined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotConfined<'a> {
    /// "could not run `cc` confined: ...".
    pub message: &'a str,
}

impl Diag for NotConfined<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W201)
    }

    fn render(&self, _painter: Painter) -> String {
        format!("{} {}", Code::W201.sandbox(), Inert(self.message))
    }
}

/// [`Code::W202`]: the user opted in to running programs unconfined where the jail cannot
/// be had, and here it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunsUnconfined<'a> {
    /// The variable that opts in.
    pub variable: &'a str,
    /// The script's package (`name vX`).
    pub package: &'a str,
    /// Why the jail cannot be had.
    pub why: &'a str,
    /// Whether it is the build script itself (granted `run-natively`) that runs
    /// unconfined, rather than the programs it starts.
    pub script_itself: bool,
}

impl Diag for RunsUnconfined<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W202)
    }

    /// The warning; for the programs, ending in a line break (it goes to the script's
    /// stderr, which holds whole lines).
    fn render(&self, _painter: Painter) -> String {
        let (heading, variable, package, why) = (
            Code::W202.warning(),
            self.variable,
            Inert(self.package),
            Inert(self.why),
        );
        if self.script_itself {
            format!(
                "{heading} sandbox: {variable} is set and the jail cannot be had here: the build script of \
                 {package} runs UNCONFINED, with your full rights\n  {why}"
            )
        } else {
            format!(
                "{heading} sandbox: {variable} is set and the jail cannot be had here: programs \
                 granted to {package} run UNCONFINED, with your full rights\n  {why}\n"
            )
        }
    }
}

/// [`Code::W502`]: a program the script started outlived a limit and was killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildKilled<'a> {
    /// Its process id.
    pub pid: u32,
    /// Which limit: "ran for more than 60 s".
    pub why: &'a str,
}

impl Diag for ChildKilled<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W502)
    }

    fn render(&self, _painter: Painter) -> String {
        format!(
            "{} child process {} {} and was killed\n",
            Code::W502.sandbox(),
            self.pid,
            self.why
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each message is said under its code and leaves what the script wrote inert.
    #[test]
    fn each_is_said_under_its_code_inert() {
        let hostile = "x\u{1b}[2K";
        let shown = "x\\u{1b}[2K";
        let all: [(&dyn Diag, &str); 6] = [
            (
                &StoodIn {
                    line: hostile,
                    package: "p v1",
                    capability: "run `x`",
                    told_failed: true,
                },
                "sandbox[W101]: did not run `",
            ),
            (&AwaitsReview { line: hostile }, "sandbox[W101]: `"),
            (
                &NotAProbe {
                    argument: hostile,
                    rustc_grant: "$RUSTC",
                },
                "sandbox[W101]: `",
            ),
            (
                &PolicyDenies {
                    package: hostile,
                    capability: "run `x`",
                },
                "sandbox[W103]: the workspace's policy denies build scripts of ",
            ),
            (&NotConfined { message: hostile }, "sandbox[W201]: "),
            (
                &RunsUnconfined {
                    variable: "V",
                    package: "p v1",
                    why: hostile,
                    script_itself: true,
                },
                "warning[W202]: sandbox: V is set",
            ),
        ];
        for (diag, start) in all {
            let text = diag.render(Painter::new(true));
            assert!(text.starts_with(start), "{text}");
            assert!(text.contains(shown), "{text}");
            assert!(!text.contains('\u{1b}'), "{text:?}");
        }
        assert_eq!(
            ChildKilled {
                pid: 7,
                why: "ran for more than 60 s"
            }
            .render(Painter::new(false)),
            "sandbox[W502]: child process 7 ran for more than 60 s and was killed\n"
        );
        assert_eq!(
            AwaitsReview {
                line: "pkg-config --modversion zlib"
            }
            .render(Painter::new(false)),
            "sandbox[W101]: `pkg-config --modversion zlib` did not run: it awaits review in \
             `cargo wasm-build approve`\n"
        );
    }
}
