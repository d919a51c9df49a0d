//! The target build scripts and their build-dependencies are compiled for.

/// The target every guest is compiled for.
pub const GUEST_TARGET: &str = "wasm32-wasip1";
