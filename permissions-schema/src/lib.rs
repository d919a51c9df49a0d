//! The types of cargo wasm-build's permission model: what a build script may do.
//!
//! This crate holds data and its validation only: no wasmtime, no I/O beyond strings, so
//! editors and other tools can depend on it. What all messages must agree on (the
//! diagnostic codes, how crate-written text is shown, the table diagnostics) is the
//! `wasm_build_diagnostics` crate's, re-exported here where the tables' callers look.

mod capability;
mod grant_hint;
pub mod hygiene;
mod limits;
pub mod net;
pub mod schema;
mod spec;
mod tables;
pub mod values;

pub use capability::{Capability, CapabilityKey, GatedDirective, toml_string};
// `crate::diagnostic` for the table parser.
pub use grant_hint::{GrantSite, grant_help, grant_lines, package_spec};
pub use limits::Limits;
pub use net::{Host, HostPattern, HostsEntry, NetworkEntry, NetworkHost};
pub use spec::PackageSpec;
pub use tables::{
    CAPABILITY_KEYS, CONSUMER_KEYS, CapabilitySet, ConsumerPolicy, LimitKey, LimitOverrides, Mode,
    Requests, SCHEMA_VERSION, SandboxTable, TableKind, ValueRules, parse_table,
};
pub use values::{ByteSize, CargoEnvName, EnvPattern, Program, TimeLimit, ValueError};
use wasm_build_diagnostics::source as diagnostic;
pub use wasm_build_diagnostics::{Code, code, inert};
pub use wasm_build_diagnostics::{Diagnostic, Rendered, SourceFile, did_you_mean};
