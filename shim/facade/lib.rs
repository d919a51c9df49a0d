//! `std`, as build scripts see it inside the cargo wasm-build sandbox.
//!
//! Build scripts and their build-dependencies are compiled for wasm32-wasip1 with
//! `--extern std=<this crate>`. Everything is the real std except what
//! wasm32-wasip1 cannot do the way a build script expects:
//! - `process`: starting programs (`rustc` probes, C compilers) is forwarded to the
//!   sandbox's host, which checks the policy and runs the program confined;
//! - `fs::metadata`: WASI reports no permission bits, so std says every file is read-only
//!   (autocfg then refuses `OUT_DIR`); the host answers instead;
//! - `env`: `temp_dir`, `split_paths` and `process::id` panic in wasm32-wasip1's std and
//!   are implemented here; lookups of variables the sandbox hides are reported, so the
//!   user learns when a script could not see something they set;
//! - the working directory: wasi-libc starts in `/`, cargo starts build scripts in the
//!   package directory, and scripts use relative paths;
//! - `cfg!`, `is_x86_feature_detected!` and `std::os::unix`: a build script is a host
//!   program, and in its own crate they describe the host (`host_cfg.rs`, `os.rs`);
//! - `thread` and `sync::mpsc`: there is one thread, so a spawned thread runs to
//!   completion when something waits for it, and a wait nothing can end panics.

pub use std::*;

pub mod env;
pub mod fs;
pub mod os;
pub mod process;
pub mod sync;
pub mod thread;

mod host;
mod host_cfg;

/// The preludes, with [`cfg!`] and the CPU feature macros answering for the host in a
/// build script: the prelude is imported into every module, and a bare `cfg!(...)` names
/// its `cfg` (the facade's own `#[macro_export]`s are not in scope by name otherwise).
pub mod prelude {
    pub use std::prelude::*;

    macro_rules! editions {
        ($($edition:ident),*) => {$(
            pub mod $edition {
                pub use std::prelude::$edition::*;
                pub use crate::{cfg, is_aarch64_feature_detected, is_x86_feature_detected};
            }
        )*};
    }
    editions!(v1, rust_2015, rust_2018, rust_2021, rust_2024);
}

/// `std::arch`, with the CPU feature detection macros answering for the host.
pub mod arch {
    pub use std::arch::*;
    pub use crate::{is_aarch64_feature_detected, is_x86_feature_detected};
}
#[path = "../src/protocol.rs"]
#[allow(dead_code)]
mod protocol;

/// Runs before `main`, as the native build script would start: in the package directory.
///
/// `#[no_mangle]` keeps the static in the link even when a script uses nothing else of
/// this crate (wasm-ld only pulls in objects that resolve a symbol); `#[used]` keeps it
/// from being optimised out; `.init_array` is where wasi-libc's start code finds
/// constructors.
#[used]
#[no_mangle]
#[link_section = ".init_array"]
static __CARGO_WASM_BUILD_START_IN_PACKAGE_DIR: extern "C" fn() = start_in_package_dir;

extern "C" fn start_in_package_dir() {
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        // A failure leaves the guest in `/`, where relative paths fail loudly.
        let _ = std::env::set_current_dir(dir);
    }
}
