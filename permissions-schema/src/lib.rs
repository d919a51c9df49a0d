//! The types of cargo wasm-build's permission model: what a build script may do.
//!
//! This crate holds data and its validation only: no wasmtime, no I/O beyond strings, so
//! editors and other tools can depend on it. Being the lowest crate every process links,
//! it also holds what all their messages must agree on: the diagnostic codes ([`code`])
//! and how crate-written text is shown in them ([`inert`]).

mod capability;
pub mod code;
mod diagnostic;
mod grant_hint;
pub mod hygiene;
pub mod inert;
mod limits;
pub mod net;
pub mod schema;
mod spec;
mod tables;
pub mod values;

pub use capability::{Capability, CapabilityKey, GatedDirective, toml_string};
pub use code::Code;
pub use diagnostic::{Diagnostic, Rendered, SourceFile, did_you_mean};
pub use grant_hint::{GrantSite, grant_help, grant_lines, package_spec};
pub use limits::Limits;
pub use net::{Host, HostPattern, HostsEntry, NetworkEntry, NetworkHost, NetworkRules, Refusal};
pub use spec::PackageSpec;
pub use tables::{
    CAPABILITY_KEYS, CONSUMER_KEYS, CapabilitySet, ConsumerPolicy, LimitKey, LimitOverrides, Mode,
    Requests, SCHEMA_VERSION, SandboxTable, TableKind, parse_table,
};
pub use values::{ByteSize, CargoEnvName, EnvPattern, Program, TimeLimit, ValueError};
