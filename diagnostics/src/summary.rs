//! What the CLI says after cargo about the build scripts that ran ([`Code::W301`] to
//! [`Code::W304`], and what a script saw without a grant): one type per diagnostic, built
//! by the CLI from the runs' records and rendered here, with every name a crate or its
//! programs wrote shown inert.

use std::fmt;

use crate::code::Code;
use crate::color::{Painter, Tone};
use crate::diag::Diag;
use crate::grant;
use crate::inert::Inert;

/// A build script, as the messages name it: `name vX.Y.Z`, inert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Script<'a> {
    /// The package's name.
    pub package: &'a str,
    /// Its version.
    pub version: &'a str,
}

impl fmt::Display for Script<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{}", Inert(self.package), Inert(self.version))
    }
}

/// [`Code::W303`]: programs the script ran failed the way programs the jail stopped fail;
/// the script may have taken the failure for a missing feature and carried on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoppedPrograms<'a> {
    /// The script.
    pub script: Script<'a>,
    /// One line per program: what it was and what it printed.
    pub stopped: &'a [String],
}

impl Diag for StoppedPrograms<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W303)
    }

    /// The warning and its help, each line ending in a line break.
    fn render(&self, painter: Painter) -> String {
        let mut text = format!(
            "{} a program the build script of {} ran may have been stopped by the sandbox; the \
             script may have carried on and built something else than `cargo build` would:\n",
            painter.paint(&Code::W303.warning(), Tone::Warning),
            self.script,
        );
        for stopped in self.stopped {
            text.push_str(&format!("    {}\n", Inert(stopped)));
        }
        text.push_str(&format!(
            "{} programs may read the system, their own installation, the package and what \
             is granted; grant what it needs (`read = [...]`, `network = [...]`) or see \
             `cargo wasm-build doctor`\n",
            painter.paint("help:", Tone::Help),
        ));
        text
    }
}

/// [`Code::W304`]: the script set variables for a rustc probe that ran with the
/// consumer's environment instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeEnvDropped<'a> {
    /// The script.
    pub script: Script<'a>,
    /// The variables it set.
    pub names: &'a [String],
    /// The table that grants the script (`[workspace.metadata.sandbox.allow."x@1"]`).
    pub allow_table: &'a str,
}

impl Diag for ProbeEnvDropped<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W304)
    }

    /// The warning and its help.
    fn render(&self, painter: Painter) -> String {
        let names: Vec<String> = self
            .names
            .iter()
            .map(|name| format!("`{}`", name.escape_debug()))
            .collect();
        let mut text = format!(
            "{} the build script of {} set {} for a rustc probe, which ran with your \
             environment instead: the probe may have answered otherwise than with `cargo build`\n",
            painter.paint(&Code::W304.warning(), Tone::Warning),
            self.script,
            names.join(", "),
        );
        text.push_str(&format!(
            "{} to run rustc as an ordinary program (confined) with the script's environment, \
             add to {}\n{}exec = [\"$RUSTC\"]\n",
            painter.paint("help:", Tone::Help),
            self.allow_table,
            grant::INDENT,
        ));
        text
    }
}

/// [`Code::W301`]: the script looked up variables set in the user's environment but
/// hidden from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenEnv<'a> {
    /// The script.
    pub script: Script<'a>,
    /// The variables.
    pub names: &'a [&'a String],
    /// The table that grants the script.
    pub allow_table: &'a str,
    /// The keys that grant them.
    pub grant_lines: &'a [String],
}

impl Diag for HiddenEnv<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W301)
    }

    /// The warning and its help.
    fn render(&self, painter: Painter) -> String {
        let names: Vec<String> = self
            .names
            .iter()
            .map(|name| format!("`{}`", Inert(name)))
            .collect();
        let text = format!(
            "{} the build script of {} looked up {}, set in your environment but hidden from \
             it: it may have built something else than `cargo build` would\n",
            painter.paint(&Code::W301.warning(), Tone::Warning),
            self.script,
            names.join(", "),
        );
        let help = format!(
            "{text}{} if it should see {}, add to {}\n",
            painter.paint("help:", Tone::Help),
            if names.len() == 1 { "it" } else { "them" },
            self.allow_table,
        );
        grant::with_lines(help, self.grant_lines)
    }
}

/// [`Code::W302`]: the script looked for paths that exist here but are hidden from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenPaths<'a> {
    /// The script.
    pub script: Script<'a>,
    /// The paths.
    pub paths: &'a [String],
    /// The table that grants the script and the `read` lines that would show them; `None`
    /// when no grant would.
    pub grant: Option<(&'a str, &'a [String])>,
}

impl HiddenPaths<'_> {
    /// How many paths are named; the rest are counted.
    const SHOWN: usize = 6;
}

impl Diag for HiddenPaths<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W302)
    }

    /// The warning and, when a grant would help, its help.
    fn render(&self, painter: Painter) -> String {
        let mut shown: Vec<String> = self
            .paths
            .iter()
            .take(Self::SHOWN)
            .map(|path| format!("`{}`", Inert(path)))
            .collect();
        if self.paths.len() > Self::SHOWN {
            shown.push(format!("and {} more", self.paths.len() - Self::SHOWN));
        }
        let text = format!(
            "{} the build script of {} looked for {}, which exist here but are hidden from \
             it: it may have built something else than `cargo build` would\n",
            painter.paint(&Code::W302.warning(), Tone::Warning),
            self.script,
            shown.join(", "),
        );
        let Some((allow_table, lines)) = self.grant else {
            return text;
        };
        let help = format!(
            "{text}{} if it should read them, add to {allow_table}\n",
            painter.paint("help:", Tone::Help),
        );
        grant::with_lines(help, lines)
    }
}

/// A note (with `-v` or in strict mode): variables the script saw without a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SawWithoutGrant<'a> {
    /// The script.
    pub script: Script<'a>,
    /// Where they came from: "the `[env]` of your cargo configuration".
    pub origin: &'a str,
    /// The variables.
    pub names: &'a [String],
}

impl Diag for SawWithoutGrant<'_> {
    fn code(&self) -> Option<Code> {
        None
    }

    /// The note.
    fn render(&self, painter: Painter) -> String {
        format!(
            "{} the build script of {} saw {}: {}\n",
            painter.paint("note:", Tone::Help),
            self.script,
            self.origin,
            Inert(&self.names.join(", "))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: Script<'static> = Script {
        package: "fake\u{1b}[2K-sys",
        version: "1.0.0",
    };

    #[test]
    fn the_script_and_what_it_wrote_are_inert_and_the_headings_painted() {
        let stopped = ["`cc \u{1b}]52;c;aGk=\u{7}` failed".to_string()];
        let text = StoppedPrograms {
            script: SCRIPT,
            stopped: &stopped,
        }
        .render(Painter::new(true));
        assert!(
            text.starts_with(
                "\x1b[1;33mwarning[W303]:\x1b[0m a program the build script of fake\\u{1b}[2K-sys v1.0.0 ran"
            ),
            "{text:?}"
        );
        assert!(
            text.contains("    `cc \\u{1b}]52;c;aGk=\\u{7}` failed\n"),
            "{text}"
        );
    }

    #[test]
    fn hidden_paths_without_a_grant_have_no_help() {
        let paths: Vec<String> = (0..8).map(|n| format!("/p{n}")).collect();
        let text = HiddenPaths {
            script: Script {
                package: "x",
                version: "1",
            },
            paths: &paths,
            grant: None,
        }
        .render(Painter::new(false));
        assert_eq!(
            text,
            "warning[W302]: the build script of x v1 looked for `/p0`, `/p1`, `/p2`, `/p3`, \
             `/p4`, `/p5`, and 2 more, which exist here but are hidden from it: it may have \
             built something else than `cargo build` would\n"
        );
    }
}
