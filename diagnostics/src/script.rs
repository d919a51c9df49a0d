//! What the stand-in says when a build script's run fails or cannot happen: each error
//! under its code, how to grant what is pending, and [`Code::W405`] when the script was
//! compiled for another place than the one its grants now say.

use crate::code::Code;
use crate::color::{Painter, Tone};
use crate::diag::Diag;
use crate::inert::InertLines;

/// One reason a run failed: its kind (`None` in a record written before codes existed)
/// and the sentence that completes "sandboxed build script of `name vX` ...".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure<'a> {
    /// The kind.
    pub code: Option<Code>,
    /// What happened.
    pub message: &'a str,
}

impl Failure<'_> {
    /// `error[W101]:`, or `error:` without a code.
    pub fn heading(&self) -> String {
        self.code.map_or_else(|| "error:".to_string(), Code::error)
    }
}

/// The heading `heading` of an error, in cargo's bold red when `painter` colours.
pub fn error_heading(heading: &str, painter: Painter) -> String {
    painter.paint(heading, Tone::Bad)
}

/// A build script's failed run: its errors and how to grant what is pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFailed<'a> {
    /// The script: `` `name vX` ``.
    pub described: &'a str,
    /// Why it failed.
    pub failures: &'a [Failure<'a>],
    /// The `help:` block that grants what is pending, if anything is.
    pub grant_help: Option<&'a str>,
}

impl Diag for ScriptFailed<'_> {
    fn code(&self) -> Option<Code> {
        self.failures.first().and_then(|failure| failure.code)
    }

    /// The text; empty without errors. Inert but for the headings, which are the tool's
    /// own (and may be coloured): errors quote what the script printed, ran and named.
    fn render(&self, painter: Painter) -> String {
        let mut text = String::new();
        if self.failures.is_empty() {
            return text;
        }
        for failure in self.failures {
            let sentence = format!(
                "sandboxed build script of {} {}\n",
                self.described, failure.message
            );
            text.push_str(&format!(
                "{} {}",
                error_heading(&failure.heading(), painter),
                InertLines(&sentence)
            ));
        }
        if let Some(help) = self.grant_help {
            text.push_str(&InertLines(help).to_string());
        }
        text
    }
}

/// [`Code::W405`]: the script was compiled for one place (natively, or for the sandbox)
/// and its `run-natively` grant now says the other; it did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunNativelyChanged<'a> {
    /// The script: `` `name vX` ``.
    pub described: &'a str,
    /// Whether `run-natively` is granted now (the script was compiled for the sandbox).
    pub granted_now: bool,
}

impl Diag for RunNativelyChanged<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W405)
    }

    /// The error and its help, without a final line break.
    fn render(&self, painter: Painter) -> String {
        let (compiled, now, next) = if self.granted_now {
            (
                "was compiled for the wasm sandbox, and",
                "is granted now",
                "to run natively",
            )
        } else {
            (
                "was compiled to run natively, but",
                "is no longer granted",
                "for the wasm sandbox",
            )
        };
        let sentence = format!(
            "the build script of {} {compiled} `run-natively` {now}; it did not run\nhelp: build again: cargo will compile it {next} this time",
            self.described
        );
        format!(
            "{} {}",
            error_heading(&Code::W405.error(), painter),
            InertLines(&sentence)
        )
    }
}

/// A note after a failed script whose programs ran: they cannot execute what they built
/// in `OUT_DIR` without `run-built`, which a script can mistake for a broken toolchain.
pub fn programs_cannot_run_built(described: &str) -> String {
    format!(
        "note: the programs the build script of {} ran cannot execute what they built in its \
         OUT_DIR (a configure script then says \"cannot run C compiled programs\"); if that \
         is why it failed, grant `run-built = true` for it",
        InertLines(described)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways_of_a_changed_grant_are_said() {
        let gone = RunNativelyChanged {
            described: "`x v1`",
            granted_now: false,
        };
        assert_eq!(
            gone.render(Painter::new(false)),
            "error[W405]: the build script of `x v1` was compiled to run natively, but \
             `run-natively` is no longer granted; it did not run\nhelp: build again: cargo \
             will compile it for the wasm sandbox this time"
        );
        let since = RunNativelyChanged {
            granted_now: true,
            ..gone
        };
        assert_eq!(
            since.render(Painter::new(false)),
            "error[W405]: the build script of `x v1` was compiled for the wasm sandbox, and \
             `run-natively` is granted now; it did not run\nhelp: build again: cargo will \
             compile it to run natively this time"
        );
    }

    #[test]
    fn headings_are_painted_and_sentences_inert() {
        let failures = [Failure {
            code: Some(Code::W501),
            message: "exited after printing \u{1b}]0;t\u{7}",
        }];
        let text = ScriptFailed {
            described: "`x v1`",
            failures: &failures,
            grant_help: None,
        }
        .render(Painter::new(true));
        assert_eq!(
            text,
            "\x1b[1;31merror[W501]:\x1b[0m sandboxed build script of `x v1` exited after printing \\u{1b}]0;t\\u{7}\n"
        );
    }
}
