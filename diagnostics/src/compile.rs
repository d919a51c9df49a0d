//! What the wrapper says when a build script cannot be compiled for the sandbox:
//! [`Code::W105`] (wasm cannot run it), [`Code::W408`] (the std facade lacks what it
//! uses: this tool's bug) and [`Code::W109`] (its `#[cfg]`s ask what the sandbox cannot
//! answer as the host would). Each has a `message` (the sentence the audit log records)
//! and a `render` (what the user reads), with everything the crate wrote inert.

use std::path::Path;

use crate::code::Code;
use crate::color::Painter;
use crate::diag::Diag;
use crate::inert::InertLines;
use crate::script::error_heading;

/// A package, as these messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its version.
    pub version: &'a str,
}

/// How to grant `run-natively` (`grant_help`, the block the permission model builds) and
/// what it gives up, without the final line break so that a caller can go on.
pub fn run_natively_help(grant_help: &str) -> String {
    format!(
        "{grant_help}      running natively keeps the script confined (no network, writes only OUT_DIR) but\n      does not check the programs it starts against `exec` grants"
    )
}

/// `heading message\n`, then `rest`: the tool's heading painted, the rest inert.
fn with_heading(code: Code, painter: Painter, message: &str, rest: &str) -> String {
    format!(
        "{} {}",
        error_heading(&code.error(), painter),
        InertLines(&format!("{message}\n{rest}"))
    )
}

/// The compiler's own diagnostics, when it printed any, as a block of lines.
fn compiler_output(diagnostics: Option<&str>) -> String {
    diagnostics.map_or_else(String::new, |text| format!("{text}\n"))
}

/// [`Code::W105`]: wasm32-wasip1 cannot compile the script or a build-dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedsNative<'a> {
    /// The script's package.
    pub package: Package<'a>,
    /// Why, in a few words.
    pub reason: &'a str,
    /// What the compiler printed.
    pub diagnostics: Option<&'a str>,
    /// [`run_natively_help`].
    pub run_natively_help: &'a str,
}

impl NeedsNative<'_> {
    /// The sentence.
    pub fn message(&self) -> String {
        format!(
            "the build script of `{} v{}` cannot run in the wasm sandbox: {}",
            self.package.name, self.package.version, self.reason
        )
    }
}

impl Diag for NeedsNative<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W105)
    }

    fn render(&self, painter: Painter) -> String {
        let rest = format!(
            "{}{}\n",
            compiler_output(self.diagnostics),
            self.run_natively_help
        );
        with_heading(Code::W105, painter, &self.message(), &rest)
    }
}

/// [`Code::W408`]: the sandbox's std facade differs from std in what the script or a
/// build-dependency uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FacadeGap<'a> {
    /// The script's package.
    pub package: Package<'a>,
    /// Who uses it: the script, or a build-dependency.
    pub culprit: &'a str,
    /// The item, when the compiler named it.
    pub item: Option<&'a str>,
    /// The compiler's error.
    pub error: &'a str,
    /// Where to report it.
    pub repository: &'a str,
    /// What the compiler printed.
    pub diagnostics: Option<&'a str>,
    /// The spec `run-natively` would be granted under.
    pub spec: &'a str,
}

impl FacadeGap<'_> {
    /// The sentence.
    pub fn message(&self) -> String {
        let what = match self.item {
            Some(item) => format!("`{item}`, which {} uses", self.culprit),
            None => format!("what {} uses", self.culprit),
        };
        format!(
            "the build script of `{} v{}` cannot be compiled for the sandbox: the sandbox's std facade differs from std in {what} ({}); this is a bug of cargo-wasm-build, not of the crate: please report it at {}/issues",
            self.package.name, self.package.version, self.error, self.repository
        )
    }
}

impl Diag for FacadeGap<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W408)
    }

    fn render(&self, painter: Painter) -> String {
        let rest = format!(
            "{}note: no grant fixes this, and `approve` offers none; until cargo-wasm-build is fixed, the script\n      can only run natively: `run-natively = true` for `{}`, written by hand, keeps it confined\n      (no network, writes only OUT_DIR) but does not check the programs it starts against `exec`\n",
            compiler_output(self.diagnostics),
            self.spec
        );
        with_heading(Code::W408, painter, &self.message(), &rest)
    }
}

/// [`Code::W413`]: a deferred library (one only build scripts link) failed when a native
/// compile needed it for real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeferredLibraryFailed<'a> {
    /// The library's crate name.
    pub library: &'a str,
    /// The crate whose native compile linked it.
    pub needed_by: &'a str,
    /// Why: rustc's diagnostics, or what kept it from running.
    pub details: &'a str,
}

impl Diag for DeferredLibraryFailed<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W413)
    }

    fn render(&self, painter: Painter) -> String {
        let message = format!(
            "the native compile of `{}`, deferred because only build scripts link it, failed when the native compile of `{}` linked it",
            self.library, self.needed_by
        );
        let rest = format!(
            "{}\n  = help: build with CARGO_WASM_BUILD_LAZY_BUILD_DEPS=off to compile it as `cargo build` does: an\n          error then is the library's own\n",
            self.details.trim_end()
        );
        with_heading(Code::W413, painter, &message, &rest)
    }
}

/// One `#[cfg]` the sandbox answers otherwise than the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MisansweredCfg<'a> {
    /// The source file.
    pub file: &'a Path,
    /// Its line.
    pub line: usize,
    /// The attribute's predicate as written.
    pub predicate: &'a str,
    /// The cfg (`target_os = "linux"`).
    pub cfg: &'a str,
    /// Its value on the host.
    pub host: bool,
    /// Why the sandbox answers otherwise: " (wasm's own value ...)".
    pub why: &'a str,
}

/// [`Code::W109`]: the script's `#[cfg]` attributes ask what the sandbox cannot answer as
/// the host would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MisansweredCfgs<'a> {
    /// The script's package.
    pub package: Package<'a>,
    /// The attributes.
    pub found: &'a [MisansweredCfg<'a>],
    /// [`run_natively_help`].
    pub run_natively_help: &'a str,
}

impl MisansweredCfgs<'_> {
    /// The sentence.
    pub fn message(&self) -> String {
        format!(
            "the build script of `{} v{}` tests `cfg`s that the wasm sandbox cannot answer as the host would",
            self.package.name, self.package.version
        )
    }
}

impl Diag for MisansweredCfgs<'_> {
    fn code(&self) -> Option<Code> {
        Some(Code::W109)
    }

    fn render(&self, painter: Painter) -> String {
        let mut rest = String::new();
        for found in self.found {
            let sandbox = if found.host { "false" } else { "true" };
            rest.push_str(&format!(
                "  --> {}:{}: #[cfg({})]\n      `{}` is {} on this host but {sandbox} in the sandbox{}\n",
                found.file.display(),
                found.line,
                found.predicate,
                found.cfg,
                found.host,
                found.why,
            ));
        }
        rest.push_str("note: a build script runs as wasm32-wasip1: the tool makes its platform `cfg`s (`target_os`, `unix`, ...) and `cfg!` describe the host, but cannot unset wasm's own values or change what describes the generated code\n");
        rest.push_str(self.run_natively_help);
        rest.push_str(
            ";\n      or ask the crate's authors to use `cfg!` or `CARGO_CFG_*` for these tests\n",
        );
        with_heading(Code::W109, painter, &self.message(), &rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_deferred_library_names_both_crates_and_the_way_out() {
        let text = DeferredLibraryFailed {
            library: "cc",
            needed_by: "app\u{1b}[2J",
            details: "error[E0786]: found invalid metadata files for crate `shlex`\n",
        }
        .render(Painter::new(false));
        assert_eq!(
            text,
            "error[W413]: the native compile of `cc`, deferred because only build scripts link it, failed when the native compile of `app\\u{1b}[2J` linked it\n\
             error[E0786]: found invalid metadata files for crate `shlex`\n  \
             = help: build with CARGO_WASM_BUILD_LAZY_BUILD_DEPS=off to compile it as `cargo build` does: an\n          \
             error then is the library's own\n"
        );
    }

    /// A crate's name, reason or attribute cannot steer the terminal; the heading is the
    /// tool's and may be coloured.
    #[test]
    fn what_the_crate_wrote_is_inert() {
        let found = [MisansweredCfg {
            file: Path::new("build.rs"),
            line: 3,
            predicate: "unix\u{1b}[2K",
            cfg: "unix",
            host: true,
            why: " (wasm's own value stays set beside the host's)",
        }];
        let text = MisansweredCfgs {
            package: Package {
                name: "x\u{202e}",
                version: "1.0.0",
            },
            found: &found,
            run_natively_help: "help: ...",
        }
        .render(Painter::new(false));
        assert!(
            text.starts_with("error[W109]: the build script of `x\\u{202e} v1.0.0` tests"),
            "{text}"
        );
        assert!(
            text.contains("  --> build.rs:3: #[cfg(unix\\u{1b}[2K)]\n      `unix` is true on this host but false in the sandbox (wasm's own value stays set beside the host's)\n"),
            "{text}"
        );
        assert!(text.ends_with("these tests\n"), "{text}");
    }
}
