//! The jail's helper as an executable of its own, for embedders that are not the
//! `cargo-wasm-build` binary (this crate's tests): `wasm-build-jail-helper --wasm-build-jail ...`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match args.split_first() {
        Some((first, rest)) if first == wasm_build_jail::HELPER_ARG => {
            ExitCode::from(u8::try_from(wasm_build_jail::helper_main(rest)).unwrap_or(1))
        }
        _ => {
            eprintln!(
                "usage: wasm-build-jail-helper {} ... (started by the jail itself)",
                wasm_build_jail::HELPER_ARG
            );
            ExitCode::from(2)
        }
    }
}
