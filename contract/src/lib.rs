//! What crosses a process boundary in cargo wasm-build.
//!
//! The CLI resolves grants into a [`PolicyFile`] and starts cargo; cargo starts the wrapper,
//! which writes a [`manifest::StandIn`] beside each build script; cargo runs the stand-in,
//! which judges the script's attempts under its [`Policy`] and appends a
//! [`audit::RunRecord`], which the CLI reads back to report. Each of those processes links
//! this crate and nothing heavier for the data it hands on, so the policy resolver, the
//! compatibility suite and the CLI's reporting do not link wasmtime.
//!
//! It also holds the facts every process must agree on: where cargo keeps what it downloads
//! and how it names crates.io ([`cargo`]), and the names of the tool's own variables
//! ([`vars`]). The rulings on this data (the grant verdict, which variables a script sees)
//! live in `wasm_build_policy`.

pub mod audit;
pub mod cargo;
mod error;
pub mod lazy;
pub mod manifest;
pub mod policy;
pub mod vars;

pub use error::ContractError;
pub use policy::{Policy, PolicyFile};
/// The stable codes of the diagnostics users see (defined in `wasm_build_diagnostics`,
/// the lowest crate every process links; documented in `docs/diagnostics.md`).
pub use wasm_build_diagnostics::code;
/// How crate-written text is shown in the tool's messages (`wasm_build_diagnostics`).
pub use wasm_build_diagnostics::inert;
pub use wasm_build_diagnostics::{Code, Rendered};
