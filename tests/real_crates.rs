//! Real crates from crates.io: a sandboxed build leaves the same build-script output and
//! `OUT_DIR` files as plain cargo.

use std::process::Command;

use crate::support::{Project, assert_same_as_native, manifest};

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn scripts_that_only_generate_code_match_native() {
    assert_same_as_native(
        "real-codegen",
        r#"typenum = "=1.17.0"
serde_json = "=1.0.145"
crossbeam-utils = "=0.8.21"
parking_lot_core = "=0.9.11"
mime_guess = "=2.0.5"
"#,
        // mime_guess points its crate at the table it generated with `rustc-env`.
        "[package.metadata.sandbox.allow.\"mime_guess@2.0.5\"]\ndirectives = [\"rustc-env\"]",
        &[
            "typenum",
            "serde_json",
            "crossbeam-utils",
            "parking_lot_core",
            "mime_guess",
        ],
    );
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn scripts_that_probe_rustc_match_native() {
    assert_same_as_native(
        "real-probes",
        r#"serde = { version = "=1.0.228", features = ["derive"] }
libc = "=0.2.177"
anyhow = "=1.0.100"
num-traits = "=0.2.19"
rustix = { version = "=1.1.2", features = ["fs"] }
"#,
        "",
        &[
            "serde",
            "libc",
            "anyhow",
            "proc-macro2",
            "num-traits",
            "rustix",
        ],
    );
}

/// prost without `std` is `#![no_std]` over bytes, and re-exports its derive macro: the
/// guest compiles must find a dependency's dependencies (the std facade, a native proc
/// macro) by name, as rustc does, not only through `--extern`.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn no_std_build_dependency_that_re_exports_a_derive_macro() {
    let project = Project::locked("real-prost-no-std");
    project
        .file(
            "Cargo.toml",
            &manifest(
                "encoded",
                "[build-dependencies]\nprost = { version = \"=0.13.5\", default-features = false, features = [\"derive\"] }",
            ),
        )
        .file(
            "build.rs",
            r#"#[derive(Clone, PartialEq, prost::Message)]
            struct Item {
                #[prost(string, tag = "1")]
                name: String,
                #[prost(uint32, tag = "2")]
                count: u32,
            }
            fn main() {
                let bytes = prost::Message::encode_to_vec(&Item { name: "ab".into(), count: 3 });
                let out = std::env::var("OUT_DIR").unwrap();
                std::fs::write(format!("{out}/encoded.rs"), format!("const ENCODED: &[u8] = &{bytes:?};")).unwrap();
            }"#,
        )
        .file(
            "src/main.rs",
            r#"include!(concat!(env!("OUT_DIR"), "/encoded.rs"));
               fn main() { println!("{ENCODED:?}"); }"#,
        );
    project
        .wasm_build(&[])
        .success()
        .stderr_has("build scripts in wasmtime: ")
        .stderr_has(", encoded v0.1.0");
    let output = Command::new(project.target().join("debug/encoded"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "[10, 2, 97, 98, 16, 3]\n"
    );
}
