//! The environment variables through which the CLI, the wrapper and the stand-ins talk
//! to each other, and those a user sets to steer them. Every one starts with [`PREFIX`],
//! which the sandbox hides from build scripts and their programs.

/// What every variable of the tool starts with.
pub const PREFIX: &str = "CARGO_WASM_BUILD_";

/// The environment variable naming an extra log the CLI reads after cargo exits, to
/// summarise the build's sandboxed runs.
pub const RUN_LOG_ENV: &str = "CARGO_WASM_BUILD_RUN_LOG";

/// Opt-in to running granted programs without confinement where the jail cannot be had.
/// Named to be noticed in CI logs.
pub const UNCONFINED_ENV: &str = "CARGO_WASM_BUILD_DANGEROUSLY_UNCONFINED_EXEC";

/// Use at most this Landlock ABI, as an older kernel would (0: as if there were no
/// Landlock): to see what users of such kernels get. It can only remove layers.
pub const LANDLOCK_ABI_ENV: &str = "CARGO_WASM_BUILD_LANDLOCK_ABI";

/// Set (to a value of its own each time) by the CLI for a *discovery* check: after a build
/// that stopped on something awaiting review, cargo runs again as `check` so that the
/// scripts that depend on the stopped ones run too and show what they need. In it a script
/// whose only problem is what awaits review passes (so cargo goes on to its dependents),
/// (even when it then failed, most likely on what it was told), and every script asks
/// cargo to run it again when the variable changes: normal builds
/// leave it unset, so nothing a discovery run produced is ever reused.
pub const DISCOVERY_ENV: &str = "CARGO_WASM_BUILD_DISCOVERY";

/// The environment variable through which the CLI hands the resolved policies of a build
/// to its stand-ins.
pub const POLICY_ENV: &str = "CARGO_WASM_BUILD_POLICY";

/// Set for the nested cargo: the std facade every guest compile links. Its presence also
/// tells the wrapper that compiles for wasm32-wasip1 are guests, not the user's own wasm
/// build.
pub const GUEST_FACADE_ENV: &str = "CARGO_WASM_BUILD_GUEST_FACADE";

/// Set for the nested cargo: the audit log of the build that started it, so what the
/// nested build scripts were denied reaches `approve` and the permission display.
pub const AUDIT_LOG_ENV: &str = "CARGO_WASM_BUILD_AUDIT_LOG";

/// Where the CLI keeps a `RUSTC_WRAPPER` the user had set (sccache, say), so that native
/// compiles still go through it.
pub const INNER_WRAPPER_ENV: &str = "CARGO_WASM_BUILD_INNER_WRAPPER";

/// The environment variable in which the CLI lists the names of its own environment,
/// separated by newlines. A compile's variables that are not in it were added by cargo
/// (or by a dependency's `cargo:rustc-env`) and must be replayed.
pub const BASE_ENV_NAMES: &str = "CARGO_WASM_BUILD_BASE_ENV";

/// Where the store lives: a directory, or `off` to use none. Defaults to
/// `$XDG_CACHE_HOME/cargo-wasm-build/artifacts` (or `~/.cache/...`).
pub const CACHE_ENV: &str = "CARGO_WASM_BUILD_CACHE";

/// `off` turns the run cache off: every build script runs, none is restored from the
/// store or stored in it (it is also read from the `[env]` table of the cargo
/// configuration, which cargo passes to build scripts).
pub const RUN_CACHE_ENV: &str = "CARGO_WASM_BUILD_RUN_CACHE";

/// `off` turns the library cache off: every downloaded library is compiled natively by
/// rustc, none is restored from the store or stored in it (it is also read from the
/// `[env]` table of the cargo configuration, which cargo passes to rustc).
pub const LIBRARY_CACHE_ENV: &str = "CARGO_WASM_BUILD_LIBRARY_CACHE";

/// The size the store is trimmed to after a build, such as `2GiB` (the default).
pub const CACHE_SIZE_ENV: &str = "CARGO_WASM_BUILD_CACHE_SIZE";

/// A file to which fetches and stores append one line each (`reused twins`,
/// `stored modules`), so that the build that set it can say what the store saved.
pub const CACHE_LOG_ENV: &str = "CARGO_WASM_BUILD_CACHE_LOG";

/// Turns the cache off (for debugging the tool).
pub const NO_CACHE_ENV: &str = "CARGO_WASM_BUILD_NO_POLICY_CACHE";

/// `always` when the CLI colours what it prints (a terminal, `--color`,
/// `CARGO_TERM_COLOR`, `NO_COLOR`, as cargo decides), so that stand-ins, whose stderr cargo
/// captures and shows, colour their errors' headings as the CLI colours its own.
pub const COLOR_ENV: &str = "CARGO_WASM_BUILD_COLOR";
