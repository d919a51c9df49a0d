//! A build script is a host program: its `cfg`s, `cfg!`s and CPU feature detection
//! describe the machine that builds (`wrapper/src/host_cfg.rs`,
//! `shim/facade/host_cfg.rs`), or the build is refused with W109 naming the attribute.

use std::fs;

use crate::support::{Project, assert_same_as_native, manifest};

/// A build script asking every kind of host question: platform attributes, `cfg!` of
/// names that describe the platform and the generated code, CPU features, and
/// `std::os::unix` behind `#[cfg(unix)]`. Its answers go to `OUT_DIR/host.txt` and a
/// `rustc-cfg`, which must be byte-identical to a native run.
const HOST_BUILD_RS: &str = r#"
use std::fmt::Write as _;

#[cfg(target_arch = "x86_64")]
fn cpu() -> String {
    format!(
        "sse2={} adx={} bmi2={} avx2={}",
        is_x86_feature_detected!("sse2"),
        std::is_x86_feature_detected!("adx"),
        std::arch::is_x86_feature_detected!("bmi2"),
        is_x86_feature_detected!("avx2"),
    )
}

#[cfg(target_arch = "aarch64")]
fn cpu() -> String {
    format!("neon={}", std::arch::is_aarch64_feature_detected!("neon"))
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn cpu() -> String {
    "other".to_string()
}

#[cfg(unix)]
fn unix_only(out: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let link = out.join("host-link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("host.txt", &link).unwrap();
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata("build.rs").unwrap();
    format!(
        "unix branch: link -> {} ({} bytes in its name); build.rs mode {:o} uid {} gid {} nlink {} size {}",
        std::fs::read_link(&link).unwrap().display(),
        link.file_name().unwrap().as_bytes().len(),
        meta.mode(),
        meta.uid(),
        meta.gid(),
        meta.nlink(),
        meta.size(),
    )
}

#[cfg(not(unix))]
fn unix_only(_: &std::path::Path) -> String {
    "not unix".to_string()
}

const LINUX: bool = cfg!(target_os = "linux");

fn main() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let mut text = String::new();
    for (question, answer) in [
        ("unix", cfg!(unix)),
        ("windows", cfg!(windows)),
        ("linux", LINUX),
        ("wasi", cfg!(target_os = "wasi")),
        ("family wasm", cfg!(target_family = "wasm")),
        ("64-bit", cfg!(target_pointer_width = "64")),
        ("crt-static", cfg!(target_feature = "crt-static")),
        ("unwind", cfg!(panic = "unwind")),
        ("gnu unix", cfg!(all(unix, target_env = "gnu"),)),
        ("x86_64 or aarch64", cfg!(any(target_arch = "x86_64", target_arch = "aarch64"))),
        ("not wasm32", cfg!(not(target_arch = "wasm32"))),
        ("debug assertions", cfg!(debug_assertions)),
    ] {
        writeln!(text, "{question}: {answer}").unwrap();
    }
    writeln!(text, "cpu: {}", cpu()).unwrap();
    writeln!(text, "{}", unix_only(&out)).unwrap();
    writeln!(text, "consts: {} {}", std::env::consts::OS, std::env::consts::ARCH).unwrap();
    #[cfg(feature = "helper")]
    writeln!(text, "build-dependency: {}", host_helper::platform()).unwrap();
    std::fs::write(out.join("host.txt"), &text).unwrap();
    if cfg!(target_os = "linux") {
        println!("cargo:rustc-cfg=built_on_linux");
    }
    println!("cargo:rustc-check-cfg=cfg(built_on_linux)");
}
"#;

/// A build-dependency asking about the platform: it is a library compiled as wasm, and its
/// `cfg!` agrees with its `#[cfg]`s, which stay wasm's.
const HELPER_LIB_RS: &str = r#"
pub fn platform() -> String {
    format!(
        "unix={} linux={} windows={} wasi={}",
        cfg!(unix),
        cfg!(target_os = "linux"),
        cfg!(windows),
        cfg!(any(target_os = "wasi", target_family = "wasm")),
    )
}
"#;

/// The package `host-asker`, whose build script is [`HOST_BUILD_RS`]; its `helper`
/// feature adds the answers of a build-dependency, which differ from native.
fn host_asker() -> Project {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "host-asker",
                "[features]\nhelper = [\"dep:host-helper\"]\n\n\
                 [build-dependencies]\nhost-helper = { path = \"helper\", optional = true }",
            ),
        )
        .file("build.rs", HOST_BUILD_RS)
        .file("src/lib.rs", "")
        .file("helper/Cargo.toml", &manifest("host-helper", ""))
        .file("helper/src/lib.rs", HELPER_LIB_RS);
    project
}

#[test]
fn a_build_script_sees_the_host_as_it_does_natively() {
    let fixture = host_asker();
    let dependency = format!("host-asker = {{ path = {:?} }}", fixture.root());
    assert_same_as_native(
        "host-cfgs-path-dependency",
        &dependency,
        "",
        &["host-asker"],
    );
}

/// The answers themselves, so the comparison above cannot pass by both builds being
/// wrong the same way: on this (Linux) machine they are the host's, not wasm's.
#[test]
fn a_build_scripts_cfgs_describe_the_host_not_wasm() {
    let project = host_asker();
    project.wasm_build(&["--features", "helper"]).success();
    let written = fs::read_dir(project.target().join("debug/build"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("out/host.txt"))
        .find(|path| path.exists())
        .expect("the script wrote host.txt");
    let text = fs::read_to_string(written).unwrap();
    for line in [
        "unix: true",
        "windows: false",
        "linux: true",
        "wasi: false",
        "family wasm: false",
        "crt-static: false",
        "unwind: true",
        "not wasm32: true",
        "debug assertions: true",
        "unix branch: link -> host.txt (9 bytes in its name); build.rs mode 100644 uid ",
        "build-dependency: unix=false linux=false windows=false wasi=true",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(
        text.contains(&format!("64-bit: {}", cfg!(target_pointer_width = "64"))),
        "{text}"
    );
    #[cfg(target_arch = "x86_64")]
    assert!(
        text.contains(&format!(
            "cpu: sse2=true adx={} bmi2={} avx2={}",
            std::is_x86_feature_detected!("adx"),
            std::is_x86_feature_detected!("bmi2"),
            std::is_x86_feature_detected!("avx2"),
        )),
        "{text}"
    );
}

/// `#[cfg]` attributes cannot be made to answer for the host when they ask about wasm's
/// own values or the generated code: the build stops, naming each attribute, and nothing
/// is built differently.
#[test]
fn a_build_script_whose_attributes_the_sandbox_cannot_answer_is_refused() {
    let project = width_asker();
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("error[W109]: the build script of `width-asker v0.1.0` tests `cfg`s that the wasm sandbox cannot answer as the host would")
        .stderr_has("build.rs:2: #[cfg(target_pointer_width = \"64\")]")
        .stderr_has("`target_pointer_width = \"64\"` is true on this host but false in the sandbox (it describes the code compiled for wasm, not the host)")
        .stderr_has("build.rs:10: #[cfg(target_os = \"wasi\")]")
        .stderr_has("`target_os = \"wasi\"` is false on this host but true in the sandbox (wasm's own value stays set beside the host's)")
        .stderr_has("run-natively = true")
        .stderr_lacks("build.rs:9");
}

/// A build script whose `#[cfg]` attributes ask about wasm's own values and the generated
/// code (W109).
fn width_asker() -> Project {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("width-asker", ""))
        .file(
            "build.rs",
            r#"
#[cfg(target_pointer_width = "64")]
const WIDTH: u32 = 64;
#[cfg(not(target_pointer_width = "64"))]
const WIDTH: u32 = 32;

fn main() {
    // cfg!() is answered for the host and is never refused.
    let _ = cfg!(target_pointer_width = "64");
    #[cfg(target_os = "wasi")]
    println!("cargo:warning=running on wasi");
    println!("cargo:rustc-cfg=width=\"{WIDTH}\"");
}
"#,
        )
        .file("src/lib.rs", "");
    project
}

/// The wrapper's refusal is coloured as the stand-in's errors are when the build is
/// (`--color always`); it was once always plain.
#[test]
fn a_refused_build_script_is_coloured_when_the_build_is() {
    width_asker()
        .wasm_build(&["--color", "always"])
        .failure()
        .stderr_has(
            "\x1b[1;31merror[W109]:\x1b[0m the build script of `width-asker v0.1.0` tests `cfg`s",
        );
}

/// A build-dependency whose wasm code path answers "not implemented" (as an archive
/// crate's permission setting does on wasm32) makes the script fail in the sandbox with
/// nothing awaiting review: the error names the attribute that selected that code and
/// offers `run-natively`; `approve --all` holds it back and names the command; approved
/// by name, the script runs natively and the build passes. A script that fails on its
/// own, with build-dependencies that have no such code, gets no such offer.
/// A script whose build-dependency `archive` answers "not implemented" on wasm only.
fn unpacker_with_a_wasm_only_fallback() -> Project {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "unpacker",
                "[build-dependencies]\narchive = { path = \"archive\" }\n",
            ),
        )
        .file("src/lib.rs", "")
        .file(
            "build.rs",
            "fn main() { archive::set_permissions().expect(\"setting permissions\"); }\n",
        )
        .file(
            "archive/Cargo.toml",
            "[package]\nname = \"archive\"\nversion = \"0.4.0\"\nedition = \"2021\"\n",
        )
        .file(
            "archive/src/lib.rs",
            r#"pub fn set_permissions() -> std::io::Result<()> {
    imp()
}

#[cfg(target_arch = "wasm32")]
fn imp() -> std::io::Result<()> {
    Err(std::io::Error::other("Not implemented"))
}

#[cfg(not(target_arch = "wasm32"))]
fn imp() -> std::io::Result<()> {
    Ok(())
}
"#,
        );
    project
}

/// The same when the build-dependency cannot be a twin (its build script's host output,
/// a `cfg` for Linux-only std API, does not compile for wasm) and a nested cargo builds it
/// for the guest: the code is found from the native compile's sources all the same.
#[test]
fn wasm_only_code_is_found_in_what_the_nested_cargo_built() {
    let project = unpacker_with_a_wasm_only_fallback();
    project
        .file(
            "archive/Cargo.toml",
            "[package]\nname = \"archive\"\nversion = \"0.4.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n",
        )
        .file(
            "archive/build.rs",
            r#"fn main() {
    println!("cargo:rustc-check-cfg=cfg(host_linux)");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cfg=host_linux");
    }
}
"#,
        );
    let source = project.read("archive/src/lib.rs");
    project.file(
        "archive/src/lib.rs",
        &format!(
            "{source}\n#[cfg(host_linux)]\npub fn root_inode() -> u64 {{\n    use std::os::linux::fs::MetadataExt;\n    std::fs::metadata(\"/\").map(|m| m.st_ino()).unwrap_or(0)\n}}\n"
        ),
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("Not implemented")
        .stderr_has("error[W110]: sandboxed build script of `unpacker v0.1.0` failed printing \"Not implemented\", which build-dependency archive v0.4.0 produces only in the sandbox, at ")
        .stderr_has("archive/src/lib.rs:5 `#[cfg(target_arch = \"wasm32\")]`");
    assert!(
        project
            .target()
            .join("debug/wasm-build/guest-cargo")
            .is_dir(),
        "the nested cargo built the build-dependency"
    );
}

#[test]
fn a_failure_in_a_build_dependencys_wasm_only_code_offers_run_natively() {
    let project = unpacker_with_a_wasm_only_fallback();
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("Not implemented")
        .stderr_has("error[W110]: sandboxed build script of `unpacker v0.1.0` failed printing \"Not implemented\", which build-dependency archive v0.4.0 produces only in the sandbox, at ")
        .stderr_has("archive/src/lib.rs:5 `#[cfg(target_arch = \"wasm32\")]`")
        .stderr_has("run-natively = true");
    project
        .wasm_build(&["approve", "--all"])
        .failure()
        .stderr_has("warning[W105]: `run-natively` not written for unpacker v0.1.0")
        .stderr_has("`cargo wasm-build approve unpacker@0.1.0`");
    project
        .wasm_build(&["approve", "unpacker@0.1.0"])
        .success()
        .stderr_has("run-natively = true");
    project.wasm_build(&[]).success();

    // The script's own failure, with nothing wasm-only in what it links: no offer.
    project.file(
        "build.rs",
        "fn main() { panic!(\"the script's own bug\"); }\n",
    );
    project.file(
        "archive/src/lib.rs",
        "pub fn set_permissions() -> std::io::Result<()> { Ok(()) }\n",
    );
    let manifest_text = project.read("Cargo.toml");
    let without_grant = manifest_text
        .split("[package.metadata.sandbox")
        .next()
        .unwrap()
        .to_string();
    project.file("Cargo.toml", &without_grant);
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("the script's own bug")
        .stderr_lacks("W110")
        .stderr_lacks("run-natively");
}

/// `run-natively` written by hand for a script already compiled for the sandbox: the
/// next build compiles it natively and runs it so, in one round (the CLI sees the grants
/// changed and removes the script compiled for the sandbox before cargo runs).
#[test]
fn run_natively_granted_by_hand_is_not_ignored() {
    let project = unpacker_with_a_wasm_only_fallback();
    project.wasm_build(&[]).failure().stderr_has("error[W110]");
    let granted = format!(
        "{}\n[package.metadata.sandbox.allow.\"unpacker@0.1.0\"]\nrun-natively = true\n",
        project.read("Cargo.toml")
    );
    project.file("Cargo.toml", &granted);
    project
        .wasm_build(&[])
        .success()
        .stderr_has("Confined 1 build script natively, as granted (run-natively): unpacker v0.1.0")
        .stderr_lacks("W405")
        .stderr_lacks("Not implemented");
}

/// A crypto crate whose script enables its ADX/MULX assembly only under
/// `#[cfg(target_arch = "x86_64")] if std::is_x86_feature_detected!("adx")`: compiled for
/// wasm before, that test was compiled out and the library built without those
/// instructions, silently. Now its output and `libblst.a` are byte-identical to native.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn a_crypto_crate_detecting_cpu_features_builds_the_native_assembly() {
    assert_same_as_native(
        "host-cfgs-blst",
        r#"blst = "=0.3.17""#,
        r#"[package.metadata.sandbox.allow."blst@0.3.17"]
exec = ["cc", "ar"]
"#,
        &["blst"],
    );
}

/// The facade's `cfg!` reaches a script through the edition's prelude: every edition
/// gets it, in a `const` too.
#[test]
fn every_edition_asks_the_host() {
    for edition in ["2015", "2018", "2021", "2024"] {
        let project = Project::new();
        project
            .file(
                "Cargo.toml",
                &manifest("edition-asker", "")
                    .replace("edition = \"2021\"", &format!("edition = \"{edition}\"")),
            )
            .file(
                "build.rs",
                r#"const UNIX: bool = cfg!(unix);
fn main() {
    println!("cargo:rustc-cfg=host_unix=\"{}\"", UNIX);
    println!("cargo:rustc-cfg=host_linux=\"{}\"", std::cfg!(target_os = "linux"));
}
"#,
            )
            .file("src/lib.rs", "");
        project.wasm_build(&[]).success();
        let output = &project.build_script_results("debug")["edition-asker"].output;
        assert!(
            output.contains("cargo:rustc-cfg=host_unix=\"true\"")
                && output.contains("cargo:rustc-cfg=host_linux=\"true\""),
            "edition {edition}: {output}"
        );
    }
}
