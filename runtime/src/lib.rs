//! The wasmtime host that runs Cargo build scripts compiled to `wasm32-wasip1`.
//!
//! A build script runs with its package directory read-only, its `OUT_DIR` read-write and
//! nothing else; sees only the environment cargo sets for build scripts; and is stopped
//! by limits on memory, CPU time and output. Its stdout is parsed as cargo would parse it
//! and each directive is checked against the [`Policy`] before cargo sees it.
//!
//! This crate does not decide policy (the CLI resolves grants into a [`PolicyFile`]) and
//! does not compile build scripts (the wrapper does).

pub mod audit;
pub mod broker;
mod child;
pub mod confinement;
pub mod directive;
mod engine;
pub mod env;
pub mod exports;
mod host_fs;
mod hostcalls;
mod module_cache;
pub mod native;
pub mod out_dir;
mod output;
mod outside;
pub mod policy;
pub mod probe;
pub mod sandbox;
pub mod standin;

pub use engine::SandboxEngine;
pub use module_cache::ModuleCache;
pub use policy::{Policy, PolicyFile};
