//! The std facade build scripts are compiled against (`shim/facade/`) is std: a script
//! written against std compiles against it unchanged and prints what it prints natively,
//! and so do the build-dependencies of the `-sys` world.

use crate::support::{Project, assert_results_match, manifest};

/// Writes the package `name` with `build_rs` and `extra` manifest sections into `project`.
fn package(project: &Project, name: &str, extra: &str, build_rs: &str) {
    project
        .file("Cargo.toml", &manifest(name, extra))
        .file("build.rs", build_rs)
        .file("src/lib.rs", "");
}

/// `tests/fixtures/facade_api.rs` names std's types where std's own methods produce them
/// (`Path::metadata` into `fn(std::fs::Metadata)`), uses the impls std has (`Write for
/// &ChildStdin`), canonicalizes absolute paths, runs programs and prints std's `Debug` and
/// `Display` of what they return. It must compile against the facade, and its output must
/// be byte for byte the native one.
#[test]
fn a_script_written_against_std_compiles_against_the_facade_and_prints_the_same() {
    let build_rs = include_str!("fixtures/facade_api.rs");
    let grants = "[package.metadata.sandbox.allow.\"facade-api@0.1.0\"]\nexec = [\"sh\"]\n";
    let native = Project::new();
    let sandboxed = Project::new();
    for project in [&native, &sandboxed] {
        package(project, "facade-api", grants, build_rs);
    }
    native.cargo(&["build"]).success();
    sandboxed
        .wasm_build(&[])
        .success()
        .stderr_has("Sandboxed 1 build script in wasmtime: facade-api v0.1.0")
        // canonicalize looks at no directory above the package's.
        .stderr_lacks("W302");
    let results = sandboxed.build_script_results("debug");
    let api = &results["facade-api"].files["api.txt"];
    let api = String::from_utf8_lossy(api);
    for line in [
        "metadata sizes: [12, 12, 12, 12, 12]",
        "OUT_DIR read-only: false",
        "after set_readonly(true): true",
        "after set_readonly(false): false",
        "canonicalize(CARGO_MANIFEST_DIR) is itself: true",
        "Path::canonicalize(OUT_DIR) is itself: true",
        "canonicalize(OUT_DIR/sub/deeper/../../data.txt) is OUT_DIR/data.txt: true",
        "canonicalize(build.rs): <manifest>/build.rs",
        "canonicalize(missing): NotFound",
        "env!(CARGO_MANIFEST_DIR) canonical: true",
        r#"output: Output { status: ExitStatus(unix_wait_status(768)), stdout: "out:hello", stderr: "err" }"#,
        "status: exit status: 3 / ExitStatus(unix_wait_status(768)) / code Some(3) / success false",
        "killed: signal: 15 (SIGTERM) / ExitStatus(unix_wait_status(15)) / code None",
        "child: Child { stdin: Some(ChildStdin { .. }), stdout: Some(ChildStdout { .. }), stderr: None, .. }",
        r#"piped through tr: "SHARED REFERENCE\n" (exit status: 0)"#,
        "join error: path segment contains separator `:`",
    ] {
        assert!(
            api.lines().any(|found| found == line),
            "{line:?} in:\n{api}"
        );
    }
    assert_results_match(&native.build_script_results("debug"), &results);
}

/// The build-dependencies `-sys` crates' scripts use (tar, fs_extra, flate2, cc, cmake,
/// pkg-config, vcpkg, autotools, zip without features, ureq without TLS: its TLS backends
/// need a C compiler for wasm32) compile for the guest, and a script using each of them
/// lightly (`tests/fixtures/sys_helpers/build.rs`: archives, a copied tree, a C library,
/// a pkg-config probe) leaves the same files and directives as natively.
///
/// About a minute on two cores for the two builds, most of it compiling the graph.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn build_dependencies_of_sys_crates_compile_and_run_in_the_sandbox() {
    let dependencies = r#"[build-dependencies]
autotools = "0.2"
cc = "1"
cmake = "0.1"
flate2 = "1"
fs_extra = "1"
pkg-config = "0.3"
tar = "0.4"
ureq = { version = "3", default-features = false }
vcpkg = "0.2"
zip = { version = "4", default-features = false }

[package.metadata.sandbox.allow."sys-helpers@0.1.0"]
exec = ["ar", "cc", "pkg-config", "sh"]
"#;
    let native = Project::locked("facade-sys-helpers");
    let sandboxed = Project::locked("facade-sys-helpers");
    for project in [&native, &sandboxed] {
        package(
            project,
            "sys-helpers",
            dependencies,
            include_str!("fixtures/sys_helpers/build.rs"),
        );
        project.file("c/hello.c", "int hello(void) { return 42; }\n");
    }
    native.cargo(&["build"]).success();
    sandboxed
        .wasm_build(&[])
        .success()
        .stderr_has("sys-helpers v0.1.0");
    let results = sandboxed.build_script_results("debug");
    let report = String::from_utf8_lossy(&results["sys-helpers"].files["helpers.txt"]).into_owned();
    assert_eq!(
        report,
        "flate2: sandboxed bytes, sandboxed bytes\n\
         tar: [\"tree/a.txt\", \"tree/nested/b.txt\"]\n\
         fs_extra: 10 bytes copied, beta!\n\
         zip: 1 file, alpha\n\
         cc: compiled\n\
         cmake, autotools: configured\n\
         pkg-config: zlib found: true\n\
         vcpkg: zlib found: false\n\
         ureq: request built\n"
    );
    assert_results_match(&native.build_script_results("debug"), &results);
}
