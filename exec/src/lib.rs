//! The exec layer of cargo wasm-build: every native program a build script's run starts,
//! between the wasm host (`wasm-build-runtime`) and the jail (`wasm-build-jail`).
//!
//! A sandboxed script asks for programs through the wasm host, which hands each request
//! to the [`broker::Broker`]: it resolves the request to one file, has the policy crate
//! rule on it (`wasm_build_policy::exec_verdict`: may it run, is it a rustc probe), and
//! starts it in the jail as a supervised [`child::ChildProcess`] with the environment
//! ([`probe_env`] for a probe), bounds ([`bounds`], `disk_watch`) and network
//! ([`network`]) it may have. A script granted `run-natively` runs itself through
//! [`native`]. Either way the run ends in one [`outcome::RunOutput`].
//!
//! Its own crate because none of it needs wasmtime: the wasm host only carries requests
//! here, and what runs natively can be read (and tested) without a wasm engine. It does
//! not decide policy (the `policy` crate's pure rulings do, and the CLI resolves grants)
//! and does not confine (the jail does).

pub mod bounds;
pub mod broker;
pub mod child;
pub mod confinement;
pub mod context;
mod disk_watch;
pub mod interrupt;
pub mod native;
pub mod network;
pub mod outcome;
pub mod output;
pub mod probe_env;
pub mod program;
