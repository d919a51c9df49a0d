//! The machines users build on: Docker (user namespaces blocked by its seccomp profile),
//! Ubuntu ≥ 23.10 (the same by AppArmor), kernels without Landlock or without its newer
//! rights. This machine is made to look like each (`tests/fixtures/field.c` runs the tool
//! under a seccomp filter that fails those system calls the way they fail there;
//! `CARGO_WASM_BUILD_LANDLOCK_ABI` caps Landlock at an older kernel's ABI). A build is
//! identical to plain cargo's there, or fails with an error that names what is missing:
//! never a quietly different build.

use crate::support::{Field, Project, assert_same_as_native_when, manifest};

/// Scripts that probe rustc (serde, anyhow, proc-macro2, libc): with no user namespaces,
/// nothing changes, and with an old Landlock as well, probes still run (they run only
/// toolchain code, so they need no signal scoping).
const PROBING: &str = r#"serde = { version = "=1.0.228", features = ["derive"] }
libc = "=0.2.177"
anyhow = "=1.0.100"
"#;
const PROBING_SCRIPTS: &[&str] = &["serde", "libc", "anyhow", "proc-macro2"];

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn blocked_user_namespaces_change_nothing() {
    assert_same_as_native_when(
        "field-probing-and-zstd-sys",
        &format!("{PROBING}zstd-sys = \"=2.1.2\"\n"),
        "[package.metadata.sandbox.allow.\"zstd-sys@2.1.2+zstd.1.5.7\"]\nexec = [\"cc\", \"ar\"]\n",
        &[PROBING_SCRIPTS, &["zstd-sys"]].concat(),
        |project| project.wasm_build_on(Some(Field::NoUserNamespaces), &[], &[]),
    );
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn an_old_landlock_without_user_namespaces_runs_probes_identically() {
    assert_same_as_native_when("field-probing", PROBING, "", PROBING_SCRIPTS, |project| {
        project.wasm_build_on(
            Some(Field::NoUserNamespaces),
            &[],
            &[("CARGO_WASM_BUILD_LANDLOCK_ABI", "5")],
        )
    });
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn an_old_landlock_without_user_namespaces_refuses_granted_programs_loudly() {
    let project = Project::locked("exec-zstd-sys-granted");
    project
        .file(
            "Cargo.toml",
            &manifest(
                "app",
                "[dependencies]\nzstd-sys = \"=2.1.2\"\n\n[package.metadata.sandbox.allow.\"zstd-sys@2.1.2+zstd.1.5.7\"]\nexec = [\"cc\", \"ar\"]\n",
            ),
        )
        .file("src/lib.rs", "");
    project
        .wasm_build_on(
            Some(Field::NoUserNamespaces),
            &[],
            &[("CARGO_WASM_BUILD_LANDLOCK_ABI", "5")],
        )
        .failure()
        .stderr_has("error[W201]: signal scoping is not available on this machine (Landlock ABI 5 has no scopes, and unprivileged user namespaces fail")
        .stderr_has("help: use Linux ≥ 6.12, or allow unprivileged user namespaces")
        .stderr_lacks("Compiling");
}

#[test]
fn without_landlock_the_build_fails_before_any_script_runs() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest("app", &format!("[dependencies]\n{PROBING}")),
        )
        .file("src/lib.rs", "");
    project
        .wasm_build_on(Some(Field::NoLandlock), &[], &[])
        .failure()
        .stderr_has("error[W201]: Landlock is not available on this machine (landlock_create_ruleset: Function not implemented")
        .stderr_has("cause: the kernel is older than 5.13")
        .stderr_lacks("Compiling");
    assert!(
        !project.target().join("debug/build").exists(),
        "nothing was built"
    );
}

/// cargo started with the tool as `RUSTC_WRAPPER` but without `cargo wasm-build` (as an
/// editor might): the up-front check is skipped, and each build script that runs a
/// program fails on its own, saying why, instead of taking a failed probe for an old
/// compiler.
#[test]
fn without_landlock_a_probe_fails_its_build_script_loudly() {
    let project = prober();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(crate::support::field());
    command.arg("no-landlock").arg("sh").arg("-c").arg(format!(
        "RUSTC_WRAPPER={} exec {cargo} build",
        env!("CARGO_BIN_EXE_cargo-wasm-build")
    ));
    project
        .run(command)
        .failure()
        .stderr_has("error[W201]: sandboxed build script of `prober v0.1.0` could not run `")
        .stderr_has("Landlock is not available on this machine");
}

/// Without seccomp user notification the jail's supervisor cannot be had, so no program
/// runs (not even a rustc probe): each build script that tries fails, saying which layer
/// is missing, instead of running programs under a weaker jail.
#[test]
fn without_seccomp_user_notification_programs_fail_loudly() {
    let project = prober();
    project
        .wasm_build_on(Some(Field::SeccompWithoutNotify), &[], &[])
        .failure()
        .stderr_has("error[W201]: sandboxed build script of `prober v0.1.0` could not run `")
        .stderr_has("seccomp is not available on this machine")
        .stderr_has("user notification");
}

/// A package whose build script probes rustc, as autocfg-style probes do: a failure
/// reads as "feature missing".
fn prober() -> Project {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("prober", ""))
        .file(
            "build.rs",
            r#"fn main() {
                let rustc = std::env::var("RUSTC").unwrap();
                let probed = std::process::Command::new(rustc).arg("--version").output().is_ok_and(|o| o.status.success());
                if probed { println!("cargo:rustc-cfg=modern"); }
            }"#,
        )
        .file("src/lib.rs", "");
    project
}

/// `doctor` says how a program granted `network` is confined here: through the proxy
/// always, with Landlock's TCP rules as a second wall only from ABI 4.
#[test]
fn doctor_says_whether_landlock_tcp_rules_back_the_proxy() {
    let project = Project::new();
    let line = |abi: &str| {
        let doctor = project.wasm_build_env(&["doctor"], &[("CARGO_WASM_BUILD_LANDLOCK_ABI", abi)]);
        doctor
            .stdout
            .lines()
            .find(|line| line.starts_with("programs granted `network`:"))
            .unwrap_or_else(|| panic!("no network line: {}", doctor.stdout))
            .to_string()
    };
    let with_rules = line("6");
    assert!(
        with_rules.contains("only through the build's proxy"),
        "{with_rules}"
    );
    assert!(
        with_rules.contains("Landlock's TCP rules refuse"),
        "{with_rules}"
    );
    let without = line("3");
    assert!(without.contains("the supervisor alone holds"), "{without}");
}
