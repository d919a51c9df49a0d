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
        std::os::unix::fs::symlink("build.rs", project.root().join("link.rs")).unwrap();
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
        "canonicalize(link.rs): <manifest>/build.rs",
        "env!(CARGO_MANIFEST_DIR) canonical: true",
        r#"output: Output { status: ExitStatus(unix_wait_status(768)), stdout: "out:hello", stderr: "err" }"#,
        "status: exit status: 3 / ExitStatus(unix_wait_status(768)) / code Some(3) / success false",
        "killed: signal: 15 (SIGTERM) / ExitStatus(unix_wait_status(15)) / code None",
        "child: Child { stdin: Some(ChildStdin { .. }), stdout: Some(ChildStdout { .. }), stderr: None, .. }",
        r#"piped through tr: "SHARED REFERENCE\n" (exit status: 0)"#,
        "join error: path segment contains separator `:`",
        "sleeper running: None",
        "sleeper killed: signal: 9 (SIGKILL)",
        r#"io::copy: 6 "copied", then Output { status: ExitStatus(unix_wait_status(0)), stdout: "", stderr: "" }"#,
        "scoped: [3, 7]",
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

/// A build-dependency and a build script that call `ExitStatus::exit_ok`: std has it
/// (unstable, so `RUSTC_BOOTSTRAP=1` lets a stable toolchain compile it natively), and
/// the facade, which carries std's stable API, does not. That is a gap of the facade a
/// stable toolchain can show, as every gap would show.
const EXIT_OK: &str = "#![feature(exit_status_error)]
pub fn succeeded(status: std::process::ExitStatus) -> bool {
    status.exit_ok().is_ok()
}
";

/// The workspace of [`EXIT_OK`] as the build-dependency `checker` of `app`.
fn app_with_build_dependency(project: &Project, checker: &str) {
    project
        .file(
            "Cargo.toml",
            "[workspace]\nmembers = [\"checker\", \"app\"]\nresolver = \"2\"\n",
        )
        .file("checker/Cargo.toml", &manifest("checker", ""))
        .file("checker/src/lib.rs", checker)
        .file(
            "app/Cargo.toml",
            &manifest(
                "app",
                "[build-dependencies]\nchecker = { path = \"../checker\" }",
            ),
        )
        .file("app/build.rs", "fn main() { let _ = checker::succeeded; }")
        .file("app/src/lib.rs", "");
}

/// `approve --all`, which must leave every manifest as it was.
fn approve_all_changes_nothing(project: &Project, manifests: &[&str]) -> crate::support::Run {
    let before: Vec<String> = manifests.iter().map(|path| project.read(path)).collect();
    let run = project.wasm_build(&["approve", "--all"]);
    let after: Vec<String> = manifests.iter().map(|path| project.read(path)).collect();
    assert_eq!(before, after, "approve --all wrote nothing");
    for text in after {
        assert!(!text.contains("run-natively"), "{text}");
    }
    run
}

#[test]
fn a_facade_gap_in_a_build_dependency_is_reported_as_the_tools_bug_and_never_run_natively() {
    let project = Project::new();
    app_with_build_dependency(&project, EXIT_OK);
    project
        .wasm_build_env(&[], &[("RUSTC_BOOTSTRAP", "1")])
        .failure()
        .stderr_has(
            "error[W408]: the build script of `app v0.1.0` cannot be compiled for the sandbox: \
             the sandbox's std facade differs from std in what its build-dependency `checker` uses \
             (error[E0599]: no method named `exit_ok` found for struct `ExitStatus` in the current scope); \
             this is a bug of cargo-wasm-build, not of the crate: please report it at",
        )
        // rustc's own diagnostics, of the dependency's code.
        .stderr_has("checker/src/lib.rs:3:12")
        .stderr_has("note: no grant fixes this, and `approve` offers none")
        .stderr_lacks("W105")
        .stderr_lacks("cargo wasm-build approve");
    approve_all_changes_nothing(
        &project,
        &["Cargo.toml", "app/Cargo.toml", "checker/Cargo.toml"],
    )
    .failure()
    .stderr_lacks("Approving");
}

#[test]
fn a_facade_gap_in_the_build_script_itself_is_reported_as_the_tools_bug() {
    let project = Project::new();
    package(
        &project,
        "gap",
        "",
        &format!("{EXIT_OK}\nfn main() {{ let _ = succeeded; }}\n"),
    );
    project
        .wasm_build_env(&[], &[("RUSTC_BOOTSTRAP", "1")])
        .failure()
        // rustc's diagnostics, as cargo shows them.
        .stderr_has("error[E0599]: no method named `exit_ok` found for struct `ExitStatus`")
        .stderr_has(
            "error[W408]: the build script of `gap v0.1.0` cannot be compiled for the sandbox: \
             the sandbox's std facade differs from std in what the build script uses \
             (error[E0599]: no method named `exit_ok` found for struct `ExitStatus` in the current scope)",
        )
        .stderr_lacks("W105");
    approve_all_changes_nothing(&project, &["Cargo.toml"]).failure();
}

/// A build script that uses what wasm32-wasip1 does not have (x86 intrinsics) is W105: it
/// can only run natively, which `approve` grants to the package named, never on `--all`.
#[test]
#[cfg(target_arch = "x86_64")]
fn a_build_script_that_does_not_compile_for_wasm_is_offered_run_natively_by_name_only() {
    let project = Project::new();
    package(
        &project,
        "ticks",
        "",
        r#"fn main() {
            let ticks = unsafe { std::arch::x86_64::_rdtsc() };
            let out = std::env::var("OUT_DIR").unwrap();
            std::fs::write(format!("{out}/ticks.txt"), format!("{}", ticks > 0)).unwrap();
        }"#,
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("error[E0433]")
        .stderr_has(
            "error[W105]: the build script of `ticks v0.1.0` cannot run in the wasm sandbox: \
             it does not compile for wasm32-wasip1 (rustc's errors are above)",
        )
        .stderr_has("run `cargo wasm-build approve ticks@0.1.0`")
        .stderr_lacks("W408");
    approve_all_changes_nothing(&project, &["Cargo.toml"])
        .failure()
        .stderr_has(
            "warning[W105]: `run-natively` not written for ticks v0.1.0: `approve --all` never grants it",
        )
        .stderr_has("approve it by name: `cargo wasm-build approve ticks@0.1.0`");
    project
        .wasm_build(&["approve", "ticks@0.1.0"])
        .success()
        .stderr_has("run-natively = true");
    assert!(project.read("Cargo.toml").contains("run-natively = true"));
    project
        .wasm_build(&[])
        .success()
        .stderr_has("Confined 1 build script natively, as granted (run-natively): ticks v0.1.0");
    let results = project.build_script_results("debug");
    assert_eq!(results["ticks"].files["ticks.txt"], b"true");
}

/// A build script with an error of its own fails as under `cargo build`: rustc's errors,
/// and nothing that blames wasm or the sandbox.
#[test]
fn a_build_script_with_an_error_of_its_own_fails_as_under_cargo_build() {
    let project = Project::new();
    package(
        &project,
        "typo",
        "",
        "fn main() { let count: u32 = \"three\"; }",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("error[E0308]: mismatched types")
        .stderr_lacks("W105")
        .stderr_lacks("W408")
        .stderr_lacks("run-natively");
}
