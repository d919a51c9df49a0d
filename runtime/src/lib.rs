//! The wasmtime host that runs Cargo build scripts compiled to `wasm32-wasip1`.
//!
//! A build script runs with the directories its [`preopen::Preopen`]s name and nothing
//! else, sees the environment it is given, and is stopped by limits on memory, CPU time
//! and output. The programs it starts go through the exec broker of `wasm-build-exec`,
//! which judges each under the script's policy and runs it in the jail
//! (`wasm-build-jail`); this crate only carries the guest's requests to it.
//!
//! This crate does not decide policy (the CLI resolves grants into a
//! `wasm_build_contract::PolicyFile`), does not judge what the script prints (the
//! stand-in, `wasm-build-standin`, does), does not start native programs (the exec
//! crate does) and does not compile build scripts (the wrapper does).

mod engine;
mod guest_output;
mod host;
mod host_fs;
mod hostcalls;
mod module_cache;
mod outside;
pub mod preopen;
pub mod sandbox;

pub use engine::SandboxEngine;
pub use module_cache::ModuleCache;
