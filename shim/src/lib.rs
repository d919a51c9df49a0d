//! The guest side of cargo wasm-build's sandbox.
//!
//! Build scripts and their build-dependencies are compiled for wasm32-wasip1 against a
//! *std facade*: a crate that re-exports the real std except where the sandbox must step
//! in (starting processes, file permissions, the working directory). Its source is
//! embedded here and compiled per toolchain when the tool runs, because it must match the
//! user's rustc exactly. This crate also holds the wire [`protocol`] that the facade and
//! the runtime's host calls share.
//!
//! What this crate is not: the host side of those calls (that is the wasm host in
//! `wasm-build-runtime` and, for programs, the broker of `wasm-build-exec`), or a library
//! build scripts depend on (they never name it).

pub mod protocol;

/// The stack every build script gets, in bytes: its shadow stack in linear memory (a link
/// argument of the guest) and the most its wasm frames may take (wasmtime's
/// `max_wasm_stack`).
///
/// Natively a build script's main thread has 8 MiB, and scripts that recurse deeply
/// (generators walking big grammars) start a thread with a larger stack; wasm32-wasip1
/// links 1 MiB and wasmtime allows 512 KiB, so they overflowed in the sandbox. The facade
/// runs threads on the script's own stack, so it must be as large as a thread may ask
/// for. Untouched pages cost nothing: the memory is reserved, not written.
pub const STACK_BYTES: usize = 64 << 20;

/// The guest global holding the shadow stack's pointer, exported so the runtime can
/// tell a stack overflow (it runs below zero and wraps) from other memory faults.
pub const STACK_POINTER_EXPORT: &str = "__stack_pointer";

/// Link arguments for every guest program: [`STACK_BYTES`] of stack, placed first in
/// memory (rustc's default for wasm) so an overflow faults instead of overwriting data,
/// its pointer exported; and the memory imported (and exported, for WASI), so the runtime
/// can share it with the module that watches path lookups (`runtime/src/outside.rs`).
pub fn guest_link_args() -> Vec<String> {
    [
        format!("-zstack-size={STACK_BYTES}"),
        format!("--export={STACK_POINTER_EXPORT}"),
        "--import-memory".to_string(),
        "--export-memory".to_string(),
    ]
    .into_iter()
    .flat_map(|arg| ["-C".to_string(), format!("link-arg={arg}")])
    .collect()
}

/// Identifies what this tool builds guests with: the facade's sources, the link
/// arguments, the protocol. A build script compiled by another version of the tool
/// (cargo does not recompile it when only the tool changed) would run with that version's
/// facade, so stand-ins record this and such scripts are compiled again.
pub fn guest_key() -> String {
    use sha2::{Digest as _, Sha256};
    // SHA-256, not std's hasher: the key is written to disk and compared by later
    // versions of the tool, and std's hasher is free to change between releases.
    let mut hasher = Sha256::new();
    let mut add = |part: &[u8]| {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    };
    add(env!("CARGO_PKG_VERSION").as_bytes());
    for (path, contents) in facade_sources() {
        add(path.as_bytes());
        add(contents.as_bytes());
    }
    for arg in guest_link_args() {
        add(arg.as_bytes());
    }
    hasher.finalize()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The facade's source files, as paths relative to a scratch directory and contents.
/// `facade/lib.rs` is the crate root.
pub const FACADE_SOURCES: &[(&str, &str)] = &[
    ("facade/lib.rs", include_str!("../facade/lib.rs")),
    ("facade/env.rs", include_str!("../facade/env.rs")),
    ("facade/fs.rs", include_str!("../facade/fs.rs")),
    ("facade/host.rs", include_str!("../facade/host.rs")),
    ("facade/host_cfg.rs", include_str!("../facade/host_cfg.rs")),
    ("facade/os.rs", include_str!("../facade/os.rs")),
    ("facade/process.rs", include_str!("../facade/process.rs")),
    ("facade/sync.rs", include_str!("../facade/sync.rs")),
    ("facade/mpsc.rs", include_str!("../facade/mpsc.rs")),
    ("facade/thread.rs", include_str!("../facade/thread.rs")),
    ("src/protocol.rs", include_str!("protocol.rs")),
];

/// Every source file of the facade: [`FACADE_SOURCES`] and `facade/consts.rs`, which
/// describes the machine this tool runs on.
///
/// A build script runs on the host, so natively `std::env::consts` (`OS`, `FAMILY`,
/// `DLL_PREFIX`, `DLL_SUFFIX`, `EXE_SUFFIX`, `ARCH`) describe the host; in wasm32-wasip1
/// they describe wasi, and a script looking for `libclang.so` would look for
/// `clang.wasm`. The tool runs on the host too, so its own values are the right ones.
pub fn facade_sources() -> Vec<(&'static str, String)> {
    let mut sources: Vec<(&'static str, String)> = FACADE_SOURCES
        .iter()
        .map(|(path, contents)| (*path, (*contents).to_string()))
        .collect();
    sources.push(("facade/consts.rs", host_consts()));
    sources
}

/// `std::env::consts` of the host, as Rust source.
fn host_consts() -> String {
    use std::env::consts;
    let mut source = String::from(
        "//! `std::env::consts` of the machine the build script runs on (generated by the tool).\n",
    );
    for (name, value, what) in [
        ("ARCH", consts::ARCH, "The host's architecture"),
        ("FAMILY", consts::FAMILY, "The host's OS family"),
        ("OS", consts::OS, "The host's operating system"),
        (
            "DLL_PREFIX",
            consts::DLL_PREFIX,
            "Prefix of the host's dynamic libraries",
        ),
        (
            "DLL_SUFFIX",
            consts::DLL_SUFFIX,
            "Suffix of the host's dynamic libraries",
        ),
        (
            "DLL_EXTENSION",
            consts::DLL_EXTENSION,
            "Extension of the host's dynamic libraries",
        ),
        (
            "EXE_SUFFIX",
            consts::EXE_SUFFIX,
            "Suffix of the host's executables",
        ),
        (
            "EXE_EXTENSION",
            consts::EXE_EXTENSION,
            "Extension of the host's executables",
        ),
    ] {
        source.push_str(&format!(
            "/// {what}.\npub const {name}: &str = {value:?};\n"
        ));
    }
    source
}

/// The crate root within [`FACADE_SOURCES`].
pub const FACADE_ROOT: &str = "facade/lib.rs";

/// The facade's crate name; build scripts see it as `std` through `--extern std=...`.
pub const FACADE_CRATE_NAME: &str = "wasm_build_std";
