//! Errors in a manifest's sandbox tables, located to file, line and column, and shown
//! with the offending line and a caret under the span, as rustc and cargo show theirs
//! (rendered by `annotate-snippets`, the crate they use).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use crate::code::Code;
use crate::inert::InertLines;

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
        let before = &self.text[..self.boundary(offset)];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |tail| tail.chars().count())
            + 1;
        (line, column)
    }

    /// `offset` within the text and on a character boundary.
    fn boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// A diagnostic of the kind `code` at `span` (or at the file when the span is unknown).
    pub fn error(
        &self,
        code: Code,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let located = span.map(|span| self.locate(span));
        let (line, column) = located.as_ref().map_or((0, 0), |at| (at.line, at.column));
        Diagnostic {
            code,
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
            help: None,
            source: located.map(|at| (at.text, at.span)),
        }
    }

    /// The line `span` starts on, and the part of it the span covers (at least one
    /// character, as rustc marks an empty span).
    fn locate(&self, span: Range<usize>) -> Located {
        let start = self.boundary(span.start);
        let (line, column) = self.line_col(start);
        let line_start = self.text[..start].rfind('\n').map_or(0, |at| at + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |at| start + at);
        let text = self.text[line_start..line_end].trim_end_matches('\r');
        let from = start - line_start;
        let to = self.boundary(span.end).clamp(start, line_end) - line_start;
        let to = to.min(text.len());
        let to = if to > from {
            to
        } else {
            text[from..]
                .chars()
                .next()
                .map_or(from, |ch| from + ch.len_utf8())
        };
        Located {
            line,
            column,
            text: text.to_string(),
            span: from..to,
        }
    }
}

struct Located {
    line: usize,
    column: usize,
    text: String,
    span: Range<usize>,
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
    /// The offending line of the file, and the bytes of it the problem is in.
    source: Option<(String, Range<usize>)>,
}

impl Diagnostic {
    /// Adds a `help:` line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The diagnostic as a warning (`warning[W006]: ...`), where it does not stop the
    /// command.
    pub fn as_warning(&self) -> String {
        self.render(Level::WARNING)
    }

    /// Everything after the heading (`warning[W006]: `): the message, where, and the
    /// help, for a caller that writes the heading itself.
    pub fn body(&self) -> String {
        let text = self.as_warning();
        let heading = format!("{} ", self.code.warning());
        text.strip_prefix(&heading).unwrap_or(&text).to_string()
    }

    /// Rendered at `level`: the heading, where, the line with a caret under the span, and
    /// the help; everything the file or the crate wrote inert.
    fn render(&self, level: Level<'_>) -> String {
        let path = self.path.display().to_string();
        let message = InertLines(&self.message).to_string();
        let title = level.primary_title(message).id(self.code.as_str());
        let mut group = match &self.source {
            Some((text, span)) => {
                let (text, span) = inert_with_span(text, span);
                Group::with_title(title).element(
                    Snippet::source(text)
                        .line_start(self.line)
                        .path(path)
                        .annotation(AnnotationKind::Primary.span(span)),
                )
            }
            None => Group::with_title(title).element(Origin::path(path)),
        };
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(InertLines(help).to_string()));
        }
        InertLines(&Renderer::plain().render(&[group])).to_string()
    }
}

/// `text` inert, with `span` moved to where its characters are after escaping.
fn inert_with_span(text: &str, span: &Range<usize>) -> (String, Range<usize>) {
    let before = InertLines(&text[..span.start]).to_string();
    let inside = InertLines(&text[span.clone()]).to_string();
    let after = InertLines(&text[span.end..]).to_string();
    let start = before.len();
    let end = start + inside.len();
    (format!("{before}{inside}{after}"), start..end)
}

impl fmt::Display for Diagnostic {
    /// Rendered like rustc and cargo render errors in a file:
    ///
    /// ```text
    /// error[W001]: unknown key `exe` in [package.metadata.sandbox]
    ///  --> Cargo.toml:9:1
    ///   |
    /// 9 | exe = ["cc"]
    ///   | ^^^
    ///   |
    ///   = help: did you mean `exec`?
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Level::ERROR))
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
            "error[W001]: unknown key `exe` in [package.metadata.sandbox]\n --> Cargo.toml:5:1\n  |\n5 | exe = [\"cc\"]\n  | ^^^\n  |\n  = help: did you mean `exec`?"
        );
        assert_eq!(
            diagnostic.as_warning(),
            "warning[W001]: unknown key `exe` in [package.metadata.sandbox]\n --> Cargo.toml:5:1\n  |\n5 | exe = [\"cc\"]\n  | ^^^\n  |\n  = help: did you mean `exec`?"
        );
    }

    /// A manifest line, a message or a help that holds what a crate wrote shows it inert,
    /// with the caret still under the span.
    #[test]
    fn what_the_file_holds_is_shown_inert() {
        let text = "[package.metadata.sandbox]\nx\u{1b}]0;t\u{7} = 1\n";
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text,
        };
        let offset = text.find("= 1").unwrap();
        let shown = file
            .error(Code::W002, Some(offset..offset + 1), "bad \u{1b}[2K")
            .with_help("see \u{202e}")
            .to_string();
        assert!(
            !shown
                .chars()
                .any(|ch| ch != '\n' && crate::inert::steers_terminal(ch)),
            "{shown:?}"
        );
        assert!(
            shown.contains("2 | x\\u{1b}]0;t\\u{7} = 1\n  |                  ^\n"),
            "{shown}"
        );
        assert!(shown.contains("bad \\u{1b}[2K"), "{shown}");
    }

    #[test]
    fn a_diagnostic_without_a_span_names_the_file() {
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text: "",
        };
        assert_eq!(
            file.error(Code::W003, None, "too new").to_string(),
            "error[W003]: too new\n--> Cargo.toml"
        );
    }
}
