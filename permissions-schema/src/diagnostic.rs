//! Errors in a manifest's sandbox tables, located to file, line and column.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::code::Code;

/// A TOML file being read, so byte spans can be turned into lines and columns.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    /// Where the text came from.
    pub path: &'a Path,
    /// The whole text.
    pub text: &'a str,
}

impl SourceFile<'_> {
    /// 1-based line and column of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |tail| tail.chars().count())
            + 1;
        (line, column)
    }

    /// A diagnostic of the kind `code` at `span` (or at the file when the span is unknown).
    pub fn error(
        &self,
        code: Code,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = span.map_or((0, 0), |span| self.line_col(span.start));
        let source_line = (line > 0)
            .then(|| self.text.lines().nth(line - 1).map(str::to_string))
            .flatten();
        Diagnostic {
            code,
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
            help: None,
            source_line,
        }
    }
}

/// One problem in a sandbox table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The kind of problem.
    pub code: Code,
    /// The manifest.
    pub path: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is an obvious fix.
    pub help: Option<String>,
    /// The offending line of the file.
    source_line: Option<String>,
}

impl Diagnostic {
    /// Adds a `help:` line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl Diagnostic {
    /// Everything after the heading (`error[W001]:`): the message, where, and the help; to
    /// show the same problem as a warning (`warning[W006]: {body}`) where it does not stop
    /// the command.
    pub fn body(&self) -> String {
        let text = self.to_string();
        let heading = format!("{} ", self.code.error());
        text.strip_prefix(&heading).unwrap_or(&text).to_string()
    }
}

impl fmt::Display for Diagnostic {
    /// Rendered like rustc and cargo render errors in a file:
    ///
    /// ```text
    /// error[W001]: unknown key `exe` in [package.metadata.sandbox]
    ///  --> Cargo.toml:9:1
    ///   |
    /// 9 | exe = ["cc"]
    ///   | ^
    ///   = help: did you mean `exec`?
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.code.error(), self.message)?;
        // As rustc: the arrow, the bars and `= help` line up with the line number's width.
        let gutter = " ".repeat(self.line.max(1).to_string().len());
        if self.line == 0 {
            write!(f, "{gutter}--> {}", self.path.display())?;
        } else {
            write!(
                f,
                "{gutter}--> {}:{}:{}",
                self.path.display(),
                self.line,
                self.column
            )?;
        }
        if let Some(source) = &self.source_line {
            write!(
                f,
                "\n{gutter} |\n{} | {source}\n{gutter} | {}^",
                self.line,
                " ".repeat(self.column.saturating_sub(1))
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n{gutter} = help: {help}")?;
        }
        Ok(())
    }
}

/// Diagnostics rendered for the terminal, each under its own `error[W0xx]:` heading: an
/// error whose text needs no other heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered(pub String);

impl Rendered {
    /// All of `diagnostics`, a blank line apart.
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let text: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        Rendered(text.join("\n\n"))
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rendered {}

/// The closest of `candidates` to `word`, if close enough to be a likely typo: at most a
/// third of the candidate's length in edits, where swapping two neighbours is one edit
/// (`mdoe` is one from `mode`), and `-` for `_` or another case is none (`mime-guess` for
/// `mime_guess`, as cargo's own suggestions).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let fold = |text: &str| text.to_lowercase().replace('-', "_");
    let folded = fold(word);
    candidates
        .iter()
        .filter(|candidate| **candidate != word)
        .map(|candidate| (strsim::osa_distance(&folded, &fold(candidate)), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let keys = ["exec", "env", "read", "write", "directives"];
        assert_eq!(did_you_mean("exe", &keys), Some("exec"));
        assert_eq!(did_you_mean("directive", &keys), Some("directives"));
        assert_eq!(did_you_mean("network-access", &keys), None);
        assert_eq!(did_you_mean("mdoe", &["mode", "deny"]), Some("mode"));
        assert_eq!(
            did_you_mean("mime-guess", &["mime_guess", "mime"]),
            Some("mime_guess")
        );
        assert_eq!(
            did_you_mean("mime_gess", &["mime_guess", "memchr"]),
            Some("mime_guess")
        );
        assert_eq!(did_you_mean("mode", &["mode"]), None, "nothing to correct");
    }

    #[test]
    fn renders_like_cargo() {
        let text = "[package]\nname = \"x\"\n\n[package.metadata.sandbox]\nexe = [\"cc\"]\n";
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text,
        };
        let offset = text.find("exe").unwrap();
        let diagnostic = file
            .error(
                Code::W001,
                Some(offset..offset + 3),
                "unknown key `exe` in [package.metadata.sandbox]",
            )
            .with_help("did you mean `exec`?");
        assert_eq!(
            diagnostic.to_string(),
            "error[W001]: unknown key `exe` in [package.metadata.sandbox]\n --> Cargo.toml:5:1\n  |\n5 | exe = [\"cc\"]\n  | ^\n  = help: did you mean `exec`?"
        );
    }
}
