//! `cargo wasm-build`: cargo with every build script sandboxed in WebAssembly.
//!
//! One executable plays four roles, told apart by how it is started:
//! - the **jail helper**: the jail (`wasm-build-jail`) starts it with
//!   [`HELPER_ARG`](wasm_build_jail::HELPER_ARG) (`--wasm-build-jail`) to confine itself,
//!   supervise, and `exec` a granted program;
//! - the **stand-in**: cargo runs a build script, which is a two-line script that starts
//!   the tool with `--wasm-build-standin <its own path>`;
//! - the **wrapper**: cargo runs it as `RUSTC_WRAPPER`, with a compiler as first argument;
//! - the **CLI**: everything else, `cargo wasm-build ...` in particular.

mod approve;
mod cache;
mod cli;
mod doctor;
mod exit;
mod homes;
mod permissions;
mod progress;
mod run_cargo;
mod signals;
mod summary;
mod terminal;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wasm_build_contract::manifest::{STANDIN_ARG, StandIn};
use wasm_build_contract::{ContractError, Rendered};
use wasm_build_diagnostics::Diag as _;
use wasm_build_jail as jail;
use wasm_build_policy::PolicyError;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let result = match Role::of(&argv) {
        Role::Jail => {
            return ExitCode::from(u8::try_from(jail::helper_main(&argv[2..])).unwrap_or(1));
        }
        Role::StandIn(exe) => run_stand_in(&exe),
        Role::Wrapper => wasm_build_wrapper::run(&argv[1..]),
        Role::Cli => cli::main(&argv[1..]),
    };
    match result {
        Ok(status) => ExitCode::from(u8::try_from(status).unwrap_or(1)),
        Err(err) => {
            // Diagnostics (of policy files, say) already carry their `error[W0xx]:`
            // headings, and a stale stand-in is said under its code; unless a context was
            // put before them.
            let text = format!("{err:#}");
            let outer = err.chain().next();
            let has_headings = outer.is_some_and(|outer| {
                outer.is::<Rendered>()
                    || outer
                        .downcast_ref::<PolicyError>()
                        .is_some_and(PolicyError::has_headings)
            });
            let code = outer
                .and_then(|outer| outer.downcast_ref::<ContractError>())
                .and_then(ContractError::code);
            // An error may quote a crate's manifest, its build script or what wasmtime
            // made of its module (import names): shown inert, line breaks kept.
            let failed = wasm_build_diagnostics::cli::Failed {
                code,
                has_headings,
                text: &text,
            };
            let _ = writeln!(
                std::io::stderr(),
                "{}",
                failed.render(crate::terminal::stderr_painter())
            );
            ExitCode::from(101)
        }
    }
}

enum Role {
    Jail,
    StandIn(PathBuf),
    Wrapper,
    Cli,
}

impl Role {
    fn of(argv: &[OsString]) -> Role {
        match argv.get(1) {
            Some(first) if first == jail::HELPER_ARG => Role::Jail,
            Some(first) if first == STANDIN_ARG => {
                Role::StandIn(argv.get(2).map(PathBuf::from).unwrap_or_default())
            }
            Some(first) if first != "wasm-build" && is_compiler(Path::new(first)) => Role::Wrapper,
            _ => Role::Cli,
        }
    }
}

fn run_stand_in(exe: &Path) -> anyhow::Result<i32> {
    let manifest = StandIn::beside(exe)?.ok_or_else(|| {
        anyhow::anyhow!(
            "{} is a cargo-wasm-build stand-in without its manifest; run `cargo clean` and build again",
            exe.display()
        )
    })?;
    wasm_build_standin::run(exe, &manifest)
}

/// Whether cargo passed a compiler as the first argument, as it does to a
/// `RUSTC_WRAPPER`: an existing file, given by absolute path or named like rustc or a
/// workspace wrapper (clippy-driver).
fn is_compiler(path: &Path) -> bool {
    let named = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .is_some_and(|stem| stem.starts_with("rustc") || stem.starts_with("clippy-driver"));
    (path.is_absolute() || named) && path.is_file()
}
