//! The wasmtime host that runs Cargo build scripts compiled to `wasm32-wasip1`.
//!
//! A build script runs with the directories its [`sandbox::Preopen`]s name and nothing
//! else, sees the environment it is given, and is stopped by limits on memory, CPU time
//! and output. The programs it starts go through the exec [`broker`], which judges each
//! under the script's policy and runs it in the jail (`wasm-build-jail`).
//!
//! This crate does not decide policy (the CLI resolves grants into a
//! `wasm_build_contract::PolicyFile`), does not judge what the script prints (the
//! stand-in, `wasm-build-standin`, does) and does not compile build scripts (the wrapper
//! does).

pub mod bounds;
pub mod broker;
mod child;
pub mod confinement;
mod engine;
mod host_fs;
mod hostcalls;
pub mod interrupt;
mod module_cache;
pub mod native;
pub mod network;
mod output;
mod outside;
pub mod probe;
pub mod probe_env;
pub mod sandbox;

pub use engine::SandboxEngine;
pub use module_cache::ModuleCache;
