//! Real crates from crates.io: a sandboxed build leaves the same build-script output and
//! `OUT_DIR` files as plain cargo.

use crate::support::{Project, manifest};

/// Builds `dependencies` with plain cargo and with cargo wasm-build in two projects and
/// compares every build script's output and files.
fn assert_same_as_native(dependencies: &str, grants: &str, expected_scripts: &[&str]) {
    let native = Project::new();
    let sandboxed = Project::new();
    for project in [&native, &sandboxed] {
        project
            .file(
                "Cargo.toml",
                &manifest(
                    "consumer",
                    &format!("[dependencies]\n{dependencies}\n{grants}"),
                ),
            )
            .file("src/lib.rs", "");
    }
    native.cargo(&["build"]).success();
    sandboxed.wasm_build(&[]).success();
    let native_results = native.build_script_results("debug");
    let sandboxed_results = sandboxed.build_script_results("debug");
    for script in expected_scripts {
        assert!(
            sandboxed_results.contains_key(*script),
            "{script} ran: {:?}",
            sandboxed_results.keys()
        );
    }
    assert_eq!(
        native_results.keys().collect::<Vec<_>>(),
        sandboxed_results.keys().collect::<Vec<_>>()
    );
    for (package, native_result) in &native_results {
        let sandboxed_result = &sandboxed_results[package];
        assert_eq!(
            sandboxed_result.output, native_result.output,
            "directives of {package}"
        );
        assert_eq!(
            sandboxed_result.files.keys().collect::<Vec<_>>(),
            native_result.files.keys().collect::<Vec<_>>(),
            "OUT_DIR files of {package}"
        );
        for (file, contents) in &native_result.files {
            assert!(
                sandboxed_result.files[file] == *contents,
                "{package}: OUT_DIR/{file} differs"
            );
        }
    }
}

#[test]
fn scripts_that_only_generate_code_match_native() {
    assert_same_as_native(
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
fn scripts_that_probe_rustc_match_native() {
    assert_same_as_native(
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
