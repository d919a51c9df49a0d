//! End-to-end tests: real cargo, real wasmtime, fixture crates and real crates.io crates.
//!
//! Each test writes a project into a temporary directory and runs the real
//! `cargo-wasm-build` binary on it; nothing is mocked.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "end-to-end tests run the tool, cargo and fixtures' programs, and set their environments"
)]

mod support;

mod cache;
mod checks;
mod diagnostics;
mod display;
mod environment;
mod exec;
mod facade;
mod field;
mod fingerprint;
mod help;
mod hints;
mod host_cfgs;
mod host_paths;
mod jailed;
mod lazy;
mod learn;
mod library_cache;
mod network;
mod permissions;
mod pipeline;
mod real_crates;
// The shared cache's client is the `remote-cache` feature (the README's test command
// turns every feature on); the default build, which users install, says a configured
// cache is unusable instead (`.ci/run` runs that module without features).
#[cfg(feature = "remote-cache")]
mod remote_cache;
#[cfg(not(feature = "remote-cache"))]
mod remote_cache_absent;
mod run_cache;
mod security;
mod threads;
mod upgrade;
