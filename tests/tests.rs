//! End-to-end tests: real cargo, real wasmtime, fixture crates and real crates.io crates.
//!
//! Each test writes a project into a temporary directory and runs the real
//! `cargo-wasm-build` binary on it; nothing is mocked.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
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
mod learn;
mod network;
mod permissions;
mod pipeline;
mod real_crates;
mod remote_cache;
mod run_cache;
mod security;
mod threads;
mod upgrade;
