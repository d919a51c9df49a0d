//! What can go wrong reading a workspace's policy or writing grants into it, as values the
//! CLI can tell apart (the sandbox tables' diagnostics already carry their headings and
//! codes; everything else is a file or a tool that failed).

use std::path::PathBuf;

use wasm_build_permissions_schema::Rendered;

/// An error of this crate.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file could not be read.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A TOML document (a manifest, a cargo configuration, a `--config` value) is not
    /// valid TOML.
    #[error("failed to parse {what}")]
    Toml {
        /// What was parsed, for the message ("the cargo configuration /x/config.toml").
        what: String,
        /// The parser's error, with its location.
        #[source]
        source: toml_edit::TomlError,
    },
    /// The sandbox tables are invalid: every diagnostic, each under its own heading.
    #[error(transparent)]
    Tables(#[from] Rendered),
    /// `cargo metadata` could not be run, or its output not read; the cause is the
    /// source.
    #[error("failed to read the workspace with `cargo metadata`")]
    Metadata(#[source] cargo_metadata::Error),
    /// Cargo could not resolve the workspace (a malformed manifest, no `Cargo.toml`):
    /// what it printed, which is what `cargo build` would print, under cargo's own
    /// `error:` headings.
    #[error("{}", .0.trim_end())]
    Cargo(String),
    /// The current directory cannot be read (it was removed, say).
    #[error("failed to read the current directory")]
    CurrentDir(#[source] std::io::Error),
    /// The manifest holds something else where grants are written.
    #[error("{0}")]
    Manifest(String),
}

impl PolicyError {
    /// Whether the message is diagnostics that already carry their headings
    /// (`error[W001]: ...`), so the CLI must not put `error:` before them.
    pub fn has_headings(&self) -> bool {
        match self {
            PolicyError::Tables(_) => true,
            PolicyError::Cargo(message) => message.trim_start().starts_with("error"),
            _ => false,
        }
    }

    /// The error of a failed `cargo metadata`: cargo's message as it printed it, when it
    /// printed one.
    pub fn from_metadata(error: cargo_metadata::Error) -> Self {
        match error {
            cargo_metadata::Error::CargoMetadata { stderr } if !stderr.trim().is_empty() => {
                PolicyError::Cargo(stderr)
            }
            other => PolicyError::Metadata(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cargo's error is shown once, under its own heading, as `cargo build` shows it.
    #[test]
    fn cargo_s_own_errors_are_not_wrapped() {
        let error = PolicyError::from_metadata(cargo_metadata::Error::CargoMetadata {
            stderr: "error: could not find `Cargo.toml` in `/tmp` or any parent directory\n".into(),
        });
        assert!(error.has_headings());
        assert_eq!(
            error.to_string(),
            "error: could not find `Cargo.toml` in `/tmp` or any parent directory"
        );
    }
}
