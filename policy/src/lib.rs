//! The consumer side of cargo wasm-build's permissions.
//!
//! Reads the resolved dependency graph (`cargo metadata`), the consumer's policy in the
//! workspace root manifest and each crate's declared requests, and resolves them into the
//! runtime [`wasm_build_contract::Policy`] of every build script. Also finds what is
//! pending review (declared, or denied in the last runs per the audit log) and writes
//! grants back into the manifest for `approve` and `deny`.
//!
//! What it is not: the enforcement (the runtime) or the schema and its parsing
//! (`wasm-build-permissions-schema`).

pub mod build_policy;
pub mod cargo_config;
pub mod carry;
pub mod edit;
pub mod error;
pub mod exec_verdict;
pub mod graph;
pub mod pending;
pub mod probe;
pub mod report;
pub mod resolve;
pub mod revoked;
pub mod suggest;
pub mod unmatched;

pub use error::PolicyError;
pub use graph::{Graph, Package};
pub use resolve::{Consumer, Resolution, Resolved};
