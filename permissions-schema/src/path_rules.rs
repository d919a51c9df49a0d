//! The data behind the path hazard rulings (`wasm_build_policy::hygiene`): this machine's
//! homes and the consumer's own trees. It crosses a process boundary (inside a
//! [`GrantSite`](crate::GrantSite)), so it lives with the other types; every ruling on it
//! lives in policy.

/// Which home a [`PathRules`] knows of, for the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HomeKind {
    /// `$HOME`: keys, tokens, shell profiles, everything of the user's.
    User,
    /// `CARGO_HOME`: registry tokens, installed programs, cargo's configuration.
    Cargo,
    /// `RUSTUP_HOME`: the toolchains every build runs.
    Rustup,
}

/// What decides whether a normalized `read` or `write` path needs its dangerous key
/// ([`Code::W005`](crate::Code::W005)): the homes of this machine (`$HOME`, `CARGO_HOME`,
/// `RUSTUP_HOME`) and the consumer's own trees (the workspace, the target directory, the
/// directories of the packages being built). Without homes (the [`Default`]) only what is
/// dangerous on any machine counts. Built and ruled on by `wasm_build_policy::hygiene`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PathRules {
    /// The homes, absolute and normalized, never `/`.
    pub homes: Vec<(HomeKind, String)>,
    /// The consumer's own trees, absolute and normalized.
    pub own: Vec<String>,
}
