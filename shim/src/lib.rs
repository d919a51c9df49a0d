//! The guest side of cargo wasm-build's sandbox.
//!
//! Build scripts and their build-dependencies are compiled for wasm32-wasip1 against a
//! *std facade*: a crate that re-exports the real std except where the sandbox must step
//! in (starting processes, file permissions, the working directory). Its source is
//! embedded here and compiled per toolchain when the tool runs, because it must match the
//! user's rustc exactly. This crate also holds the wire [`protocol`] that the facade and
//! the runtime's host calls share.
//!
//! What this crate is not: the host side of those calls (that is the runtime's exec
//! broker), or a library build scripts depend on (they never name it).

pub mod protocol;

/// The facade's source files, as paths relative to a scratch directory and contents.
/// `facade/lib.rs` is the crate root.
pub const FACADE_SOURCES: &[(&str, &str)] = &[
    ("facade/lib.rs", include_str!("../facade/lib.rs")),
    ("facade/env.rs", include_str!("../facade/env.rs")),
    ("facade/fs.rs", include_str!("../facade/fs.rs")),
    ("facade/host.rs", include_str!("../facade/host.rs")),
    ("facade/process.rs", include_str!("../facade/process.rs")),
    ("src/protocol.rs", include_str!("protocol.rs")),
];

/// The crate root within [`FACADE_SOURCES`].
pub const FACADE_ROOT: &str = "facade/lib.rs";

/// The facade's crate name; build scripts see it as `std` through `--extern std=...`.
pub const FACADE_CRATE_NAME: &str = "wasm_build_std";
