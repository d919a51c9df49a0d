//! The sandbox tables of `Cargo.toml`: a crate's requests and the consumer's policy.
//!
//! ```toml
//! # In a crate's own manifest: what its build script needs (a request, never a grant).
//! [package.metadata.sandbox]
//! version = 1
//! exec = ["cc", "ar"]
//! env = ["CC", "CFLAGS_*"]
//! reason = "compiles the bundled C library"
//!
//! # In the workspace being built: what the consumer approves, per package and version.
//! [workspace.metadata.sandbox]
//! mode = "deny"                      # or "strict", "trust-declared"
//! [workspace.metadata.sandbox.allow."zstd-sys@2.0.15+zstd.1.5.7"]
//! exec = ["cc", "ar"]
//! [workspace.metadata.sandbox.deny."some-crate@1.2.3"]
//! exec = ["curl"]
//! ```
//!
//! A single-package project with no `[workspace]` table puts `mode`, `allow` and `deny` in
//! its own `[package.metadata.sandbox]`.

mod model;
mod parse;
mod value_rules;

pub use model::{
    CAPABILITY_KEYS, CONSUMER_KEYS, CapabilitySet, ConsumerPolicy, LimitKey, LimitOverrides, Mode,
    Requests, SCHEMA_VERSION, SandboxTable, TableKind,
};
pub use parse::parse_table;
pub use value_rules::ValueRules;
