//! What is said of a sandbox table that takes effect nowhere: a grant or denial that names
//! no package of the dependency graph ([`Code::W006`]), and consumer keys in a table not
//! read for them ([`Code::W007`]). The policy crate finds them; the words are here, and
//! [`SourceFile::error`] places them in the manifest with their snippet.

use std::ops::Range;

use crate::code::Code;
use crate::source::{Diagnostic, SourceFile};

/// One table or key that takes effect nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover<'a> {
    /// [`Code::W006`]: a table for a version the graph no longer builds, while every
    /// version it builds has its own.
    OtherVersion {
        /// The table's header: `[workspace.metadata.sandbox.allow."x@1.0.0"]`.
        header: &'a str,
        /// "grants" or "denies".
        verb: &'a str,
        /// The package's name.
        name: &'a str,
        /// The versions the graph has, joined.
        versions: &'a str,
    },
    /// [`Code::W006`]: no package of that name is in the graph.
    UnknownPackage {
        /// The table's header.
        header: &'a str,
        /// "grants" or "denies".
        verb: &'a str,
        /// The name.
        name: &'a str,
        /// A name of the graph it may be a typo of.
        suggestion: Option<&'a str>,
    },
    /// [`Code::W006`]: the graph's package of that name comes from another source.
    OtherSource {
        /// The table's header.
        header: &'a str,
        /// "grants" or "denies".
        verb: &'a str,
        /// The name.
        name: &'a str,
        /// The spec to write instead, as a TOML string.
        theirs: &'a str,
    },
    /// [`Code::W007`]: `[<root>.metadata.<key>]`, a near miss of `sandbox`.
    NotTheSandboxTable {
        /// `package` or `workspace`.
        root: &'a str,
        /// The key.
        key: &'a str,
    },
    /// [`Code::W007`]: a consumer key in a table not read for it.
    ConsumerKeyNotRead {
        /// Where it is: "`mode` in `[package.metadata.sandbox]`".
        place: &'a str,
        /// Why it is not read.
        why: &'a str,
        /// Where it belongs.
        there: &'a str,
    },
}

impl Leftover<'_> {
    /// Its code.
    pub fn code(&self) -> Code {
        match self {
            Leftover::OtherVersion { .. }
            | Leftover::UnknownPackage { .. }
            | Leftover::OtherSource { .. } => Code::W006,
            Leftover::NotTheSandboxTable { .. } | Leftover::ConsumerKeyNotRead { .. } => Code::W007,
        }
    }

    /// The message and its help.
    pub fn words(&self) -> (String, String) {
        match *self {
            Leftover::OtherVersion {
                header,
                verb,
                name,
                versions,
            } => (
                format!(
                    "`{header}` {verb} nothing: this graph has `{name}` at {versions} only, and every version it builds has its own table"
                ),
                "remove it: no build uses this version (one gone from the graph since, or a mistyped one)".to_string(),
            ),
            Leftover::UnknownPackage {
                header,
                verb,
                name,
                suggestion,
            } => (
                format!(
                    "`{header}` {verb} nothing: no package `{name}` is in this workspace's dependency graph"
                ),
                match suggestion {
                    Some(suggestion) => format!(
                        "did you mean `{suggestion}`? (the name as `cargo tree` spells it)"
                    ),
                    None => "remove the table if the crate is no longer a dependency; \
                             `cargo wasm-build permissions` lists the packages and their specs"
                        .to_string(),
                },
            ),
            Leftover::OtherSource {
                header,
                verb,
                name,
                theirs,
            } => (
                format!(
                    "`{header}` {verb} nothing: this graph's `{name}` comes from another source, and grants for it name that source"
                ),
                format!("write `{theirs}` instead"),
            ),
            Leftover::NotTheSandboxTable { root, key } => (
                format!(
                    "`[{root}.metadata.{key}]` is not read: the sandbox's table is `[{root}.metadata.sandbox]`"
                ),
                "did you mean `sandbox`?".to_string(),
            ),
            Leftover::ConsumerKeyNotRead { place, why, there } => (
                format!("{place} is not read: {why}"),
                format!("move it to {there}"),
            ),
        }
    }

    /// The diagnostic at `span` of `file`, with its snippet.
    pub fn at(&self, file: &SourceFile<'_>, span: Option<Range<usize>>) -> Diagnostic {
        let (message, help) = self.words();
        file.error(self.code(), span, message).with_help(help)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Each is placed under its code with its help.
    #[test]
    fn each_is_said_under_its_code_with_its_help() {
        let text = "[package.metadata.sandbx]\nx = 1\n";
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text,
        };
        let said = Leftover::NotTheSandboxTable {
            root: "package",
            key: "sandbx",
        }
        .at(&file, Some(19..25))
        .to_string();
        assert!(
            said.starts_with("error[W007]: `[package.metadata.sandbx]` is not read"),
            "{said}"
        );
        assert!(said.contains("did you mean `sandbox`?"), "{said}");
        let unknown = Leftover::UnknownPackage {
            header: "[workspace.metadata.sandbox.allow.\"nope@1\"]",
            verb: "grants",
            name: "nope",
            suggestion: Some("nop"),
        };
        assert_eq!(unknown.code(), Code::W006);
        assert_eq!(
            unknown.words().1,
            "did you mean `nop`? (the name as `cargo tree` spells it)"
        );
    }
}
