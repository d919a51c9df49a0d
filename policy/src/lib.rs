//! The rulings of cargo wasm-build: what a build script may do, decided by pure functions
//! over data, so each is unit-tested without starting a process.
//!
//! Before a build, the CLI's side: reads the resolved dependency graph (`cargo metadata`),
//! the consumer's policy in the workspace root manifest and each crate's declared
//! requests, and resolves them into the [`wasm_build_contract::Policy`] of every build
//! script ([`resolve`]); finds what is pending review (declared, or denied in the last runs
//! per the audit log) and writes grants back into the manifest for `approve` and `deny`.
//!
//! During a build, the wrapper's and the stand-in's side: the verdict on each capability a
//! script needs under its grants ([`verdict`]), whether a script runs natively
//! ([`run_natively`]), which hosts and addresses its programs' network grants reach
//! ([`network`]), which variables it sees ([`mod@env`], on top of [`env_names`]), what `$TOOLCHAIN` in a grant
//! means for one run ([`toolchain`]), and the verdict on every directive it prints
//! ([`directive`] parses them as cargo does, [`judge`] rules on them), and which of its
//! lookups of hidden variables and paths are the consumer's to review ([`lookups`]).
//!
//! What it is not: the enforcement (the runtime, the jail), the rendering (the display
//! crate), or the schema and its parsing (`wasm-build-permissions-schema`).

pub mod build_policy;
pub mod cargo_config;
pub mod carry;
pub mod directive;
pub mod edit;
pub mod env;
pub mod env_names;
pub mod error;
pub mod exec_verdict;
pub mod graph;
pub mod hygiene;
pub mod judge;
pub mod lazy_libraries;
pub mod lookups;
pub mod network;
pub mod pending;
pub mod probe;
pub mod resolve;
pub mod revoked;
pub mod run_natively;
pub mod suggest;
pub mod toolchain;
pub mod unmatched;
pub mod verdict;

pub use error::PolicyError;
pub use graph::{Graph, Package};
pub use resolve::{Consumer, Resolution, Resolved};
