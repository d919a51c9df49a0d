//! Every message cargo wasm-build shows a user, in one place: the stable codes
//! ([`code`]), a typed diagnostic per kind of problem ([`summary`], [`script`],
//! [`run`], [`broker`], [`leftover`], [`compile`], [`cli`], [`cache`], the table diagnostics of [`source`]), and the one writer that shows them
//! ([`color`]): coloured the way cargo decides (`--color`, `CARGO_TERM_COLOR`,
//! `NO_COLOR`, whether the stream is a terminal), with crate-written text inert
//! ([`inert`], [`escape`]), snippets rendered as rustc and cargo render them
//! (annotate-snippets), and commands quoted for the shell by one helper ([`shell`]).
//!
//! It is the lowest crate every process links (only strings in, strings out), so the
//! CLI, the wrapper, the stand-in, the runtime and the permission display say the same
//! thing the same way. It is not where a problem is found: the crates that find one
//! build the diagnostic and hand it here to be said.

pub mod broker;
pub mod cache;
pub mod cli;
pub mod code;
pub mod color;
pub mod compile;
mod diag;
pub mod escape;
pub mod grant;
pub mod inert;
pub mod leftover;
pub mod run;
pub mod script;
pub mod shell;
pub mod source;
pub mod summary;

pub use code::Code;
pub use color::{Painter, Stream, Tone};
pub use diag::Diag;
pub use source::{Diagnostic, Rendered, SourceFile, did_you_mean};

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every typed diagnostic with a code is shown under that code's heading, and the
    /// painter's colours are all that differ between its coloured and plain text.
    #[test]
    fn each_diagnostic_is_said_under_its_code() {
        let names = ["CC".to_string()];
        let name_refs = [&names[0]];
        let lines = ["env = [\"CC\"]".to_string()];
        let script = summary::Script {
            package: "x",
            version: "1.0.0",
        };
        let package = compile::Package {
            name: "x",
            version: "1.0.0",
        };
        let failures = [script::Failure {
            code: Some(Code::W501),
            message: "exited with status 1",
        }];
        let found = [compile::MisansweredCfg {
            file: Path::new("build.rs"),
            line: 1,
            predicate: "unix",
            cfg: "unix",
            host: true,
            why: "",
        }];
        let all: Vec<Box<dyn Diag>> = vec![
            Box::new(summary::StoppedPrograms {
                script,
                stopped: &names,
            }),
            Box::new(summary::ProbeEnvDropped {
                script,
                names: &names,
                allow_table: "[t]",
            }),
            Box::new(summary::HiddenEnv {
                script,
                names: &name_refs,
                allow_table: "[t]",
                grant_lines: &lines,
            }),
            Box::new(summary::HiddenPaths {
                script,
                paths: &names,
                grant: None,
            }),
            Box::new(script::ScriptFailed {
                described: "`x v1.0.0`",
                failures: &failures,
                grant_help: None,
            }),
            Box::new(script::RunNativelyChanged {
                described: "`x v1.0.0`",
                granted_now: true,
            }),
            Box::new(compile::NeedsNative {
                package,
                reason: "it links C",
                diagnostics: None,
                run_natively_help: "help: ...",
            }),
            Box::new(compile::FacadeGap {
                package,
                culprit: "the build script",
                item: None,
                error: "E0425",
                repository: "https://example.invalid",
                diagnostics: None,
                spec: "x@1.0.0",
            }),
            Box::new(compile::MisansweredCfgs {
                package,
                found: &found,
                run_natively_help: "help: ...",
            }),
        ];
        for diagnostic in &all {
            let code = diagnostic.code().unwrap();
            let plain = diagnostic.render(Painter::new(false));
            let heading = if code.as_str() < "W300" || code.as_str() >= "W400" {
                code.error()
            } else {
                code.warning()
            };
            assert!(plain.starts_with(&format!("{heading} ")), "{plain}");
            let coloured = diagnostic.render(Painter::new(true));
            assert!(coloured.starts_with("\x1b[1;3"), "{coloured:?}");
            let uncoloured = ["1;31", "1;32", "1;33", "1;36", "0"]
                .iter()
                .fold(coloured.clone(), |text, sgr| {
                    text.replace(&format!("\x1b[{sgr}m"), "")
                });
            assert_eq!(uncoloured, plain, "colour is all that differs");
        }
        let note = summary::SawWithoutGrant {
            script,
            origin: "build settings that pass by default",
            names: &names,
        };
        assert_eq!(note.code(), None);
    }
}
