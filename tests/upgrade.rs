//! Upgrades are a review, not a restart: a new version of a reviewed crate is compared
//! with what the old one was granted, its grants are carried over in one command when it
//! needs nothing more, and strict mode refuses it before anything compiles.

use crate::support::{Project, Run};

/// `vendor/fake-sys` at `version`, whose build script runs each of `programs` and sets
/// `used_sh` when `sh` ran; `declared` is its own sandbox table.
fn sys_crate(project: &Project, version: &str, programs: &[&str], declared: &str) {
    let runs: String = programs
        .iter()
        .map(|program| {
            format!(
                "let ok = std::process::Command::new(\"{program}\").arg(\"-c\").arg(\"true\").status().is_ok_and(|s| s.success());\n\
                 if ok && \"{program}\" == \"sh\" {{ println!(\"cargo::rustc-cfg=used_sh\"); }}\n"
            )
        })
        .collect();
    project
        .file(
            "vendor/fake-sys/Cargo.toml",
            &format!(
                "[package]\nname = \"fake-sys\"\nversion = \"{version}\"\nedition = \"2021\"\n\n{declared}\n"
            ),
        )
        .file(
            "vendor/fake-sys/build.rs",
            &format!(
                "fn main() {{\nprintln!(\"cargo::rustc-check-cfg=cfg(used_sh)\");\n{runs}}}\n"
            ),
        )
        .file(
            "vendor/fake-sys/src/lib.rs",
            "pub fn used_sh() -> bool { cfg!(used_sh) }",
        );
}

/// The consumer in `app/`, which reviewed fake-sys 1.0.0: it may run `sh`.
fn consumer(project: &Project) {
    project
        .file(
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nfake-sys = { path = \"../vendor/fake-sys\" }\n\n[workspace]\n\n\
             # fake-sys runs its configure script.\n\
             [workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\n\
             exec = [\"sh\"] # reviewed in March\n",
        )
        .file(
            "app/src/main.rs",
            "fn main() { println!(\"used sh: {}\", fake_sys::used_sh()); }",
        );
}

/// The options every command takes here: the consumer's manifest and the tests'
/// target directory, from the directory above the consumer.
fn with_manifest<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = extra.to_vec();
    all.extend(["--manifest-path", "app/Cargo.toml"]);
    all
}

/// The first `cargo wasm-build ...` command in backticks from `marker` on, on the first
/// line of `stderr` that holds it, as arguments after `cargo wasm-build`.
fn printed_command(stderr: &str, marker: &str) -> Vec<String> {
    let line = stderr
        .lines()
        .find(|line| line.contains(marker))
        .unwrap_or_else(|| panic!("no line holds {marker:?}\n{stderr}"));
    let after = line.find(marker).unwrap();
    let start = after + line[after..].find("`cargo wasm-build ").unwrap() + 1;
    let end = start + line[start..].find('`').unwrap();
    line[start..end]
        .split_whitespace()
        .skip(2)
        .map(String::from)
        .collect()
}

/// Runs a printed command verbatim from the project directory (not the consumer's).
fn run_printed(project: &Project, command: &[String]) -> Run {
    let args: Vec<&str> = command.iter().map(String::as_str).collect();
    project.wasm_build(&args)
}

fn binary_says(project: &Project) -> String {
    let output = std::process::Command::new(project.target().join("debug/app"))
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn an_upgrade_that_needs_nothing_new_is_carried_over_in_one_command() {
    let project = Project::new();
    sys_crate(&project, "1.0.0", &["sh"], "");
    consumer(&project);
    project.wasm_build(&with_manifest(&[])).success();

    // `cargo update`: another version, the same needs.
    sys_crate(&project, "1.0.1", &["sh"], "");
    let check = project
        .wasm_build(&with_manifest(&["permissions", "--check"]))
        .failure();
    assert_eq!(check.code, Some(1));
    let check = check
        .stderr_has("fake-sys 1.0.1: grants exist for fake-sys@1.0.0, not for this version")
        .stderr_has("note: fake-sys 1.0.1 against fake-sys@1.0.0:")
        .stderr_has("  fake-sys@1.0.0 was granted: run `sh`\n")
        .stderr_has("  fake-sys 1.0.1 declares: nothing\n")
        .stderr_has("  it has not run at this version")
        .stderr_has("  it needs nothing beyond that grant\n");

    let approve = printed_command(&check.stderr, "carry the grant over:");
    assert_eq!(
        approve.last().map(String::as_str),
        Some("fake-sys@1.0.1"),
        "{approve:?}"
    );
    run_printed(&project, &approve)
        .success()
        .stderr_has("Carrying fake-sys@1.0.0's grants over to fake-sys v1.0.1:")
        .stderr_has("Removing the tables of fake-sys@1.0.0: that version is no longer in the dependency graph")
        .stderr_has("-[workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\n+[workspace.metadata.sandbox.allow.\"fake-sys@1.0.1\"]\n")
        .stderr_has("Approved 1 package");
    let manifest = project.read("app/Cargo.toml");
    assert!(
        manifest.contains(
            "# fake-sys runs its configure script.\n\
             [workspace.metadata.sandbox.allow.\"fake-sys@1.0.1\"]\n\
             exec = [\"sh\"] # reviewed in March\n"
        ) && !manifest.contains("1.0.0"),
        "{manifest}"
    );

    let check = project
        .wasm_build(&with_manifest(&["permissions", "--check"]))
        .success();
    assert_eq!(check.code, Some(0));
    project.wasm_build(&with_manifest(&[])).success();
    assert_eq!(binary_says(&project), "used sh: true\n");
}

#[test]
fn a_new_version_that_attempts_more_carries_the_grant_and_reviews_only_what_is_new() {
    let project = Project::new();
    sys_crate(&project, "1.0.0", &["sh"], "");
    consumer(&project);
    project.wasm_build(&with_manifest(&[])).success();

    sys_crate(&project, "1.0.1", &["sh", "uname"], "");
    let build = project
        .wasm_build(&with_manifest(&[]))
        .failure()
        .stderr_has("fake-sys@1.0.0 was reviewed, but this build uses fake-sys 1.0.1");
    // The note's command compares and carries; the build's help approves everything.
    let compare = printed_command(&build.stderr, "fake-sys@1.0.0 was reviewed");
    run_printed(&project, &[compare, vec!["--dry-run".into()]].concat())
        .success()
        .stderr_has("  its last run attempted: run `sh`, run `uname`\n")
        .stderr_has("  it needs more than fake-sys@1.0.0 was granted: run `uname`\n")
        .stderr_has("Approving for fake-sys v1.0.1 (attempted in the last build):")
        .stderr_has("(dry run:");
    assert!(project.read("app/Cargo.toml").contains("fake-sys@1.0.0"));

    let approve = printed_command(&build.stderr, "to approve what the sandbox denied");
    run_printed(&project, &approve)
        .success()
        .stderr_has("Carrying fake-sys@1.0.0's grants over to fake-sys v1.0.1:")
        .stderr_has("+exec = [\"sh\", \"uname\"] # reviewed in March\n")
        .stderr_has("Approved 1 package");
    let manifest = project.read("app/Cargo.toml");
    assert!(
        manifest.contains(
            "[workspace.metadata.sandbox.allow.\"fake-sys@1.0.1\"]\n\
             exec = [\"sh\", \"uname\"] # reviewed in March\n"
        ) && !manifest.contains("1.0.0"),
        "{manifest}"
    );
    project.wasm_build(&with_manifest(&[])).success();
    assert_eq!(binary_says(&project), "used sh: true\n");
}

#[test]
fn strict_mode_refuses_a_new_version_before_compiling_anything() {
    let project = Project::new();
    sys_crate(&project, "1.0.1", &["sh"], "");
    consumer(&project);
    project
        .cargo(&["generate-lockfile", "--manifest-path", "app/Cargo.toml"])
        .success();
    // CI: a fresh target directory, the lockfile as committed.
    let strict = &["--sandbox-mode", "strict", "--locked"];
    let refused = project.wasm_build(&with_manifest(strict)).failure();
    assert_eq!(refused.code, Some(1));
    let refused = refused
        .stderr_has("error[W102]: strict mode: these build scripts have permissions nobody has reviewed; nothing was built")
        .stderr_has("  fake-sys v1.0.1 (a new version: grants exist for fake-sys@1.0.0, not for this one)\n")
        .stderr_lacks("Compiling");
    assert!(!project.target().exists(), "cargo never ran");

    let approve = printed_command(&refused.stderr, "then run `");
    assert_eq!(approve.last().map(String::as_str), Some("--all"));
    run_printed(&project, &approve)
        .success()
        .stderr_has("Carrying fake-sys@1.0.0's grants over to fake-sys v1.0.1:");
    project.wasm_build(&with_manifest(strict)).success();
    assert_eq!(binary_says(&project), "used sh: true\n");
}

/// A crate that declares more in its new version is a review of what is new, and
/// strict mode names it as such.
#[test]
fn a_new_version_that_declares_more_is_reviewed_for_what_is_new() {
    let project = Project::new();
    sys_crate(
        &project,
        "1.0.1",
        &["sh"],
        "[package.metadata.sandbox]\nexec = [\"sh\", \"uname\"]",
    );
    consumer(&project);
    project
        .wasm_build(&with_manifest(&["--sandbox-mode", "strict"]))
        .failure()
        .stderr_has(
            "  fake-sys v1.0.1 (declared; grants exist for fake-sys@1.0.0): run `sh`, run `uname`\n",
        );
    project
        .wasm_build(&with_manifest(&["approve", "fake-sys", "--dry-run"]))
        .success()
        .stderr_has("  fake-sys 1.0.1 declares: run `sh`, run `uname`\n")
        .stderr_has("  it needs more than fake-sys@1.0.0 was granted: run `uname`\n")
        .stderr_has("Approving for fake-sys v1.0.1 (declared by the crate):\n")
        .stderr_has("             exec = [\"uname\"]\n");
}

/// The path with a real crate: reviewed at one version, `cargo update --precise`
/// to another, then CI (`--check`, strict `--locked` on a fresh target) refuses before
/// compiling, the printed command carries the grant over, and CI passes.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn cargo_update_to_another_version_is_refused_by_ci_until_approve_carries_the_grant() {
    let project = Project::new();
    project
        .file(
            "app/Cargo.toml",
            &format!(
                "{}\n[workspace]\n\n\
                 [workspace.metadata.sandbox.allow.\"zstd-sys@2.1.3+zstd.1.5.7\"]\n\
                 exec = [\"ar\", \"cc\"] # compiles the vendored zstd\n",
                crate::support::manifest("app", "[dependencies]\nzstd-sys = \"2.1\"")
            ),
        )
        .file("app/src/main.rs", "fn main() {}")
        .file(
            "app/Cargo.lock",
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/locks/upgrade-zstd-sys.lock"),
            )
            .unwrap(),
        );
    project.wasm_build(&with_manifest(&["--locked"])).success();

    project
        .cargo(&[
            "update",
            "--offline",
            "--manifest-path",
            "app/Cargo.toml",
            "-p",
            "zstd-sys",
            "--precise",
            "2.1.2+zstd.1.5.7",
        ])
        .success();
    let check = project
        .wasm_build(&with_manifest(&["permissions", "--check", "--locked"]))
        .failure();
    assert_eq!(check.code, Some(1));
    check
        .stderr_has("zstd-sys 2.1.2+zstd.1.5.7: grants exist for zstd-sys@2.1.3+zstd.1.5.7, not for this version")
        .stderr_has("  zstd-sys@2.1.3+zstd.1.5.7 was granted: run `ar`, run `cc`\n");

    let ci_target = project.root().join("ci-target");
    let ci_target = ci_target.to_str().unwrap();
    let ci = |project: &Project| {
        project.wasm_build(&with_manifest(&[
            "--sandbox-mode",
            "strict",
            "--locked",
            "--target-dir",
            ci_target,
        ]))
    };
    let refused = ci(&project).failure();
    assert_eq!(refused.code, Some(1));
    let refused = refused
        .stderr_has("  zstd-sys v2.1.2+zstd.1.5.7 (a new version: grants exist for zstd-sys@2.1.3+zstd.1.5.7, not for this one)\n")
        .stderr_lacks("Compiling");
    assert!(
        !std::path::Path::new(ci_target).exists(),
        "nothing compiled"
    );

    let approve = printed_command(&refused.stderr, "then run `");
    run_printed(&project, &approve)
        .success()
        .stderr_has(
            "Carrying zstd-sys@2.1.3+zstd.1.5.7's grants over to zstd-sys v2.1.2+zstd.1.5.7:",
        )
        .stderr_has("Removing the tables of zstd-sys@2.1.3+zstd.1.5.7")
        .stderr_has("+[workspace.metadata.sandbox.allow.\"zstd-sys@2.1.2+zstd.1.5.7\"]\n");
    project
        .wasm_build(&with_manifest(&["permissions", "--check", "--locked"]))
        .success();
    ci(&project).success();
}
