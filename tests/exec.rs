//! Build scripts that start programs: rustc probes (allowed by default, confined) and C
//! toolchains (granted per package), compared with a native build.

use crate::support::{Project, assert_same_as_native, manifest};

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn c_libraries_compiled_by_cc_match_native_with_grants() {
    assert_same_as_native(
        "exec-c-libraries",
        r#"zstd-sys = "=2.1.2"
libsqlite3-sys = { version = "=0.35.0", features = ["bundled"] }
libz-sys = { version = "=1.1.23", default-features = false, features = ["static", "libc"] }
"#,
        r#"[package.metadata.sandbox.allow."zstd-sys@2.1.2+zstd.1.5.7"]
exec = ["cc", "ar"]
[package.metadata.sandbox.allow."libsqlite3-sys@0.35.0"]
exec = ["cc", "ar"]
[package.metadata.sandbox.allow."libz-sys@1.1.23"]
exec = ["cc", "ar"]
"#,
        &["zstd-sys", "libsqlite3-sys", "libz-sys"],
    );
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn system_library_found_by_pkg_config_matches_native() {
    assert_same_as_native(
        "exec-openssl-sys",
        r#"openssl-sys = "=0.9.111""#,
        r#"[package.metadata.sandbox.allow."openssl-sys@0.9.111"]
exec = ["pkg-config", "pkgconf", "cc"]
"#,
        &["openssl-sys"],
    );
}

#[test]
fn rustc_probes_can_be_turned_off() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest("prober", "[package.metadata.sandbox]\ndeny-rustc = true\n"),
        )
        .file(
            "build.rs",
            r#"fn main() {
                let rustc = std::env::var("RUSTC").unwrap();
                let out = std::process::Command::new(rustc).arg("--version").output().unwrap();
                assert!(out.status.success());
            }"#,
        )
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandboxed build script of `prober v0.1.0` needs permission to run `$RUSTC`")
        .stderr_has("exec = [\"$RUSTC\"]");
}

/// Without Landlock the build stops before cargo runs, with one error that says why; the
/// user may still opt in, loudly, to running granted programs unconfined.
#[test]
fn without_landlock_granted_programs_are_refused_unless_opted_in() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "needs-sh",
                "[package.metadata.sandbox.allow.\"needs-sh@0.1.0\"]\nexec = [\"sh\"]\n",
            ),
        )
        .file(
            "build.rs",
            r#"fn main() {
                let out = std::process::Command::new("sh").arg("-c").arg("echo ran").output().unwrap();
                assert!(out.status.success());
            }"#,
        )
        .file("src/lib.rs", "");
    project
        .wasm_build_env(&[], &[("CARGO_WASM_BUILD_LANDLOCK_ABI", "0")])
        .failure()
        .stderr_has("error[W201]: Landlock is not available on this machine")
        .stderr_has("`CARGO_WASM_BUILD_DANGEROUSLY_UNCONFINED_EXEC=1` runs them unconfined")
        .stderr_lacks("Compiling");
    project
        .wasm_build_env(
            &["-vv"],
            &[
                ("CARGO_WASM_BUILD_LANDLOCK_ABI", "0"),
                ("CARGO_WASM_BUILD_DANGEROUSLY_UNCONFINED_EXEC", "1"),
            ],
        )
        .success()
        .stderr_has("run UNCONFINED");
}

#[test]
fn children_run_concurrently() {
    // Two children that each wait for the other: only concurrent children finish.
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest("parallel", "[package.metadata.sandbox.allow.\"parallel@0.1.0\"]\nexec = [\"sh\"]\n"),
        )
        .file(
            "build.rs",
            r#"fn main() {
                let out = std::env::var("OUT_DIR").unwrap();
                let wait_for = |mine: &str, theirs: &str| {
                    std::process::Command::new("sh")
                        .arg("-c")
                        .arg(format!("touch {out}/{mine}; for i in $(seq 100); do [ -e {out}/{theirs} ] && exit 0; sleep 0.05; done; exit 1"))
                        .spawn()
                        .unwrap()
                };
                let mut a = wait_for("a", "b");
                let mut b = wait_for("b", "a");
                assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
            }"#,
        )
        .file("src/lib.rs", "");
    project.wasm_build(&[]).success();
}

#[test]
fn build_dependency_that_cannot_be_wasm_gets_an_explained_native_fallback() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("secret"), "CANARY-native").unwrap();
    let secret = home.path().join("secret").display().to_string();
    let project = Project::new();
    project
        .file("Cargo.toml", "[workspace]\nmembers = [\"unix-only\", \"app\"]\nresolver = \"2\"\n")
        .file("unix-only/Cargo.toml", &manifest("unix-only", ""))
        .file(
            "unix-only/src/lib.rs",
            "pub fn parent() -> u32 { std::os::unix::process::parent_id() }",
        )
        .file(
            "app/Cargo.toml",
            &manifest("app", "[build-dependencies]\nunix-only = { path = \"../unix-only\" }"),
        )
        .file(
            "app/build.rs",
            &format!(
                r#"fn main() {{
                    assert!(unix_only::parent() > 0);
                    let leaked = std::fs::read_to_string("{secret}").is_ok();
                    let out = std::env::var("OUT_DIR").unwrap();
                    let os = if cfg!(target_os = "linux") {{ "linux" }} else {{ "other" }};
                    std::fs::write(format!("{{out}}/facts.rs"), format!("const FACTS: &str = \"{{os}} leaked={{leaked}}\";")).unwrap();
                }}"#
            ),
        )
        .file(
            "app/src/main.rs",
            r#"include!(concat!(env!("OUT_DIR"), "/facts.rs"));
               fn main() { println!("{FACTS}"); }"#,
        );
    project
        .wasm_build(&["-p", "app"])
        .failure()
        .stderr_has("the build script of `app v0.1.0` cannot run in the wasm sandbox: its build-dependency `unix-only` does not compile for wasm32-wasip1")
        .stderr_has("error[E0433]")
        .stderr_has("run-natively = true");
    // `--all` never grants it; the package named does.
    project
        .wasm_build(&["approve", "--all"])
        .failure()
        .stderr_has("warning[W105]: `run-natively` not written for app v0.1.0");
    assert!(!project.read("Cargo.toml").contains("run-natively"));
    project
        .wasm_build(&["approve", "app"])
        .success()
        .stderr_has("run-natively = true");
    project
        .wasm_build(&["-p", "app"])
        .success()
        .stderr_has("Confined 1 build script natively, as granted (run-natively): app v0.1.0");
    let output = std::process::Command::new(project.target().join("debug/app"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "linux leaked=false\n"
    );
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn serde_libc_proc_macro2_anyhow_and_zstd_sys_build_with_only_cc_and_ar_granted_to_zstd_sys() {
    assert_same_as_native(
        "exec-zstd-sys-and-probes",
        r#"serde = { version = "=1.0.228", features = ["derive"] }
libc = "=0.2.177"
proc-macro2 = "=1.0.103"
anyhow = "=1.0.100"
thiserror = "=2.0.17"
portable-atomic = "=1.11.1"
zstd-sys = "=2.1.2"
"#,
        r#"[package.metadata.sandbox.allow."zstd-sys@2.1.2+zstd.1.5.7"]
exec = ["cc", "ar"]
"#,
        &[
            "serde",
            "libc",
            "proc-macro2",
            "anyhow",
            "thiserror",
            "portable-atomic",
            "zstd-sys",
        ],
    );
}

#[test]
fn every_edition_and_no_std_build_scripts_use_the_sandboxed_std() {
    let project = Project::new();
    let mut members = Vec::new();
    for edition in ["2015", "2018", "2021", "2024"] {
        let name = format!("ed{edition}");
        members.push(format!("\"{name}\""));
        project
            .file(
                &format!("{name}/Cargo.toml"),
                &format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"{edition}\"\n"
                ),
            )
            .file(
                &format!("{name}/build.rs"),
                r#"use std::process::Command;
                fn main() {
                    let rustc = std::env::var("RUSTC").unwrap();
                    let version = Command::new(&rustc).arg("--version").output().unwrap();
                    assert!(version.status.success());
                    let meta = std::fs::metadata(std::env::var("OUT_DIR").unwrap()).unwrap();
                    assert!(!meta.permissions().readonly(), "OUT_DIR is writable");
                    assert!(std::path::Path::new("Cargo.toml").exists(), "starts in the package");
                    println!("cargo:rustc-cfg=probed");
                    println!("cargo:rustc-check-cfg=cfg(probed)");
                }"#,
            )
            .file(
                &format!("{name}/src/lib.rs"),
                "#[cfg(probed)] pub fn probed() {}",
            );
    }
    members.push("\"nostd\"".into());
    project
        .file("nostd/Cargo.toml", &manifest("nostd", ""))
        .file(
            "nostd/build.rs",
            r#"#![no_std]
            extern crate std;
            fn main() {
                let rustc = std::env::var("RUSTC").unwrap();
                let output = ::std::process::Command::new(rustc).arg("-vV").output().unwrap();
                assert!(output.status.success());
            }"#,
        )
        .file("nostd/src/lib.rs", "#![no_std]")
        .file(
            "Cargo.toml",
            &format!(
                "[workspace]\nmembers = [{}]\nresolver = \"2\"\n",
                members.join(", ")
            ),
        );
    project
        .wasm_build(&["--workspace"])
        .success()
        .stderr_has("Sandboxed 5 build scripts in wasmtime");
}

/// cc-rs runs `cc` and then `ar`: the script is told the first ran, so the same build
/// shows both, and one approval converges (without suggestions: both were attempted).
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn one_approval_round_converges_for_a_cc_user() {
    let project = Project::locked("exec-zstd-sys");
    project
        .file(
            "Cargo.toml",
            &manifest("app", "[dependencies]\nzstd-sys = \"=2.1.2\""),
        )
        .file("src/main.rs", "fn main() {}");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("needs permission to run `cc`")
        .stderr_has("needs permission to run `ar`")
        // The hint names the table `approve` writes: this root manifest is only a package.
        .stderr_has(&format!(
            "or add to {}:",
            project.root().join("Cargo.toml").display()
        ))
        .stderr_has("[package.metadata.sandbox.allow.\"zstd-sys@2.1.2+zstd.1.5.7\"]");
    project
        .wasm_build(&["approve", "--all", "--dry-run", "--no-suggestions"])
        .success()
        .stderr_has("exec = [\"ar\", \"cc\"]")
        .stderr_lacks("suggested");
    project
        .wasm_build(&["approve", "--all"])
        .success()
        .stderr_has("exec = [\"ar\", \"cc\"]\n");
    project.wasm_build(&[]).success();
    project
        .wasm_build(&["approve", "--all"])
        .success()
        .stderr_has("nothing is pending review");
}

/// libz-sys asks pkg-config for zlib (pkg-config-rs reads its output and unwraps the first
/// line of `--modversion`), then checks with the C compiler that zlib links (cc's status
/// only). While both await review, pkg-config is told it failed (the script takes its
/// error path and warns) and the compiler that it succeeded: one build lists both, with
/// no panic, and one approval converges.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn a_pkg_config_user_shows_every_program_in_one_build_without_panicking() {
    let project = Project::locked("exec-libz-sys-pkg-config");
    project
        .file(
            "Cargo.toml",
            &manifest("consumer", "[dependencies]\nlibz-sys = \"=1.1.23\""),
        )
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("needs permission to run `pkg-config`")
        .stderr_has("needs permission to run `cc`")
        .stderr_has("the script was told it failed (it reads the program's output)")
        .stderr_has("did not run: it awaits review in `cargo wasm-build approve`")
        .stderr_lacks("panicked")
        .stderr_lacks("W501");
    project
        .wasm_build(&["approve", "--all"])
        .success()
        .stderr_has("# suggested: run `pkgconf`");
    // What was only suggested is marked so in the manifest, for whoever reads it next.
    let written = project.read("Cargo.toml");
    assert!(
        written.contains("# suggested by cargo wasm-build, not attempted: pkgconf (")
            && written.contains("exec = [\"cc\", \"pkg-config\", \"ar\", \"pkgconf\"]"),
        "{written}"
    );
    project.wasm_build(&[]).success();
    let results = project.build_script_results("debug");
    let output = &results["libz-sys"].output;
    assert!(
        output.lines().any(|line| line == "cargo:rustc-link-lib=z"),
        "{output}"
    );
}

/// prost-build's own dependencies differ on WASI (tempfile over rustix takes `libc` and
/// `errno` there, `linux-raw-sys` on Linux, and rustix's build script picks its backend by
/// target): cargo builds them for wasm32-wasip1, and prost-build runs in the sandbox,
/// starting the granted `protoc`.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn prost_build_runs_in_the_sandbox_with_dependencies_cargo_built_for_wasi() {
    let project = Project::locked("exec-prost-build");
    project
        .file(
            "Cargo.toml",
            &manifest(
                "shop",
                "[dependencies]\nprost = \"=0.13.5\"\n\n[build-dependencies]\nprost-build = \"=0.13.5\"",
            ),
        )
        .file(
            "proto/item.proto",
            "syntax = \"proto3\";\npackage shop;\nmessage Item { string name = 1; uint32 count = 2; }\n",
        )
        .file(
            "build.rs",
            r#"fn main() { prost_build::compile_protos(&["proto/item.proto"], &["proto/"]).unwrap(); }"#,
        )
        .file(
            "src/main.rs",
            r#"mod shop { include!(concat!(env!("OUT_DIR"), "/shop.rs")); }
               fn main() { println!("{:?}", shop::Item { name: "x".into(), count: 2 }); }"#,
        );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandboxed build script of `shop v0.1.0` needs permission to run `protoc`")
        .stderr_has("while cargo built build-dependencies for wasm32-wasip1: ")
        .stderr_lacks("cannot run in the wasm sandbox");
    project.wasm_build(&["approve", "--all"]).success();
    project
        .wasm_build(&[])
        .success()
        .stderr_has("Sandboxed 1 build script in wasmtime: shop v0.1.0");
    let output = std::process::Command::new(project.target().join("debug/shop"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Item { name: \"x\", count: 2 }\n"
    );
}

/// cxx: cxx-build (through cc, a dependency of a build-dependency) compiles C++, and copies
/// `cxx.h`, which the cxx crate hands its dependents from its own sources through `links`
/// metadata. A script shows `c++` and `ar` in the same build (a program awaiting review is
/// reported as run, so the script goes on), and the discovery check after the failed build
/// runs the scripts that depend on the stopped one: the whole chain converges in one
/// approval round.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn cxx_bridge_chain_converges_in_one_approval_round() {
    let project = Project::locked("exec-cxx");
    project
        .file(
            "Cargo.toml",
            &manifest(
                "bridge",
                "[dependencies]\ncxx = \"=1.0.205\"\n\n[build-dependencies]\ncxx-build = \"=1.0.205\"",
            ),
        )
        .file(
            "src/answer.h",
            "#pragma once\n#include <cstdint>\ninline uint32_t answer() { return 42; }\n",
        )
        .file(
            "src/main.rs",
            r#"#[cxx::bridge]
               mod ffi {
                   unsafe extern "C++" {
                       include!("bridge/src/answer.h");
                       fn answer() -> u32;
                   }
               }
               fn main() { println!("{}", ffi::answer()); }"#,
        )
        .file(
            "build.rs",
            r#"fn main() { cxx_build::bridge("src/main.rs").std("c++14").compile("bridge"); }"#,
        );
    let first = project
        .wasm_build(&[])
        .failure()
        .stderr_has("note: running the build scripts that depend on the stopped ones");
    for package in ["link-cplusplus v1.0.12", "cxx v1.0.205", "bridge v0.1.0"] {
        let needle = format!("sandboxed build script of `{package}` needs permission to run `c++`");
        assert!(first.stderr.contains(&needle), "{needle}\n{}", first.stderr);
    }
    project
        .wasm_build(&["approve", "--all"])
        .success()
        .stderr_has("Approved 3 packages");
    project.wasm_build(&[]).success();
    let output = std::process::Command::new(project.target().join("debug/bridge"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "42\n");
    let written = project.read("Cargo.toml");
    assert_eq!(
        written.matches("exec = [\"ar\", \"c++\"]").count(),
        3,
        "{written}"
    );
}

/// A configure-style script compiles a program into OUT_DIR and runs it, directly and
/// from a shell. Nothing a build writes is executable unless the consumer grants
/// `run-built`; the denial says so, `approve` writes it, and the program's output reaches
/// the script.
#[test]
fn programs_a_script_built_run_only_with_run_built() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "configured",
                "[package.metadata.sandbox.allow.\"configured@0.1.0\"]\nexec = [\"cc\", \"sh\"]\n",
            ),
        )
        .file("probe.c", "#include <stdio.h>\nint main(void) { printf(\"%zu\\n\", sizeof(long)); return 0; }\n")
        .file(
            "build.rs",
            r#"fn main() {
                let out = std::env::var("OUT_DIR").unwrap();
                let built = std::process::Command::new("cc").args(["-o", &format!("{out}/probe"), "probe.c"]).status().unwrap();
                assert!(built.success());
                let shell = std::process::Command::new("sh").arg("-c").arg(format!("{out}/probe")).output().unwrap();
                println!("cargo:warning=from sh: {}", String::from_utf8_lossy(&shell.stdout).trim());
                let direct = std::process::Command::new(format!("{out}/probe")).output().unwrap();
                println!("cargo:warning=direct: {}", String::from_utf8_lossy(&direct.stdout).trim());
            }"#,
        )
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has(
            "needs permission to run programs it built in its OUT_DIR (jailed): it tried to run `",
        )
        .stderr_has("run-built = true");
    project
        .wasm_build(&["approve", "--all"])
        .success()
        .stderr_has("run-built = true");
    project
        .wasm_build(&[])
        .success()
        .stderr_has("from sh: 8")
        .stderr_has("direct: 8");
}

/// A configure script runs what it compiled from inside the jail, where the broker never
/// sees it: the jail's refusal reaches the build only as autoconf's "cannot run C compiled
/// programs". That verdict makes `run-built` pending, so `approve` offers it and one
/// round converges (as the script's own run of a built program does, above).
#[test]
fn a_configure_script_that_cannot_run_what_it_built_asks_for_run_built() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "autoconfed",
                "[package.metadata.sandbox.allow.\"autoconfed@0.1.0\"]\nexec = [\"sh\", \"cc\"]\n",
            ),
        )
        .file("conftest.c", "int main(void) { return 0; }\n")
        .file(
            "configure",
            "cc -o \"$OUT_DIR/conftest\" conftest.c || exit 1\n\
             if \"$OUT_DIR/conftest\"; then echo 'checking whether we are cross compiling... no'; \
             else echo 'configure: error: cannot run C compiled programs.' >&2; exit 1; fi\n",
        )
        .file(
            "build.rs",
            r#"fn main() {
                let status = std::process::Command::new("sh").arg("configure").status().unwrap();
                assert!(status.success(), "configure failed");
            }"#,
        )
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("needs permission to run programs it built in its OUT_DIR (jailed)")
        .stderr_has("cannot run C compiled programs");
    project
        .wasm_build(&["approve", "--all", "--yes"])
        .success()
        .stderr_has("run-built = true");
    project
        .wasm_build(&[])
        .success()
        .stderr_lacks("cannot run C compiled programs");
}

/// `rustc`, `cargo` and `rustfmt` found on PATH are usually rustup proxies under the home
/// directory, which a jailed program can neither read nor resolve (no HOME). They run as
/// the build's own toolchain: `rustc` like `$RUSTC` (probes need no grant), the others
/// with their grant, and with a private HOME they do not fail for the want of one.
#[test]
fn tools_on_path_run_from_the_builds_toolchain() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "tools",
                "[package.metadata.sandbox.allow.\"tools@0.1.0\"]\nexec = [\"cargo\", \"rustfmt\"]\n",
            ),
        )
        .file("src/lib.rs", "")
        .file(
            "build.rs",
            r#"fn main() {
    for tool in ["rustc", "cargo", "rustfmt"] {
        let out = std::process::Command::new(tool).arg("--version").output().unwrap();
        assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
        println!("cargo:warning={}", String::from_utf8_lossy(&out.stdout).trim());
    }
}
"#,
        );
    project.wasm_build(&[]).success();
    let output = &project.build_script_results("debug")["tools"].output;
    for tool in ["rustc", "cargo", "rustfmt"] {
        let native = std::process::Command::new(tool)
            .arg("--version")
            .output()
            .unwrap();
        let version = String::from_utf8_lossy(&native.stdout).trim().to_string();
        assert!(
            output.contains(&format!("cargo:warning={version}")),
            "{tool}: {version}\n{output}"
        );
    }
}
