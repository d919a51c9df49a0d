//! Every diagnostic a user sees carries its stable code (`docs/diagnostics.md`): a
//! malformed sandbox table, a build script's attempt awaiting review, and a denial the
//! script itself is told about.

use crate::support::{Project, manifest};

/// A package whose build script runs `sh` and says what became of it.
fn runner(project: &Project, sandbox: &str) {
    project
        .file("Cargo.toml", &manifest("runner", sandbox))
        .file(
            "build.rs",
            r#"fn main() {
    match std::process::Command::new("sh").args(["-c", "true"]).status() {
        Ok(status) => println!("cargo::warning=sh: {status}"),
        Err(err) => println!("cargo::warning=sh failed: {err}"),
    }
}
"#,
        )
        .file("src/lib.rs", "");
}

#[test]
fn table_errors_attempts_and_denials_carry_their_codes() {
    let project = Project::new();

    // A table diagnostic: coded, located, and under its own heading only.
    runner(
        &project,
        "[package.metadata.sandbox.allow.\"runner@0.1.0\"]\nexe = [\"sh\"]",
    );
    let run = project.wasm_build(&[]).failure();
    assert_eq!(run.code, Some(101));
    assert!(
        run.stderr.starts_with(
            "error[W001]: unknown key `exe` in the allow entry for `runner@0.1.0`\n --> "
        ),
        "{}",
        run.stderr
    );
    run.stderr_has("Cargo.toml:8:1")
        .stderr_has("= help: did you mean `exec`?")
        .stderr_lacks("error: error[");

    // An attempt awaiting review: the script is told under the code, and the build fails
    // under it.
    runner(&project, "");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandbox[W101]: did not run `sh -c true`: build scripts of runner v0.1.0")
        .stderr_has(
            "error[W101]: sandboxed build script of `runner v0.1.0` needs permission to run \
             `sh`: it tried to run `sh -c true`\n",
        );

    // A denial: the script gets an error that names the code, and the build goes on.
    project.wasm_build(&["deny", "runner"]).success();
    project
        .wasm_build(&[])
        .success()
        .stderr_has(
            "sh failed: sandbox[W103]: the workspace's policy denies build scripts of runner \
             v0.1.0 to run `sh`",
        )
        .stderr_lacks("error[");
}

/// A diagnostic quotes the offending line of a manifest; a crate's manifest may hold a
/// right-to-left override (TOML allows it in strings and comments), which reaches the
/// terminal inert, in the consumer's own error and in the warning about a dependency.
#[test]
fn manifest_lines_are_quoted_inert() {
    let table = "[package.metadata.sandbox]\nexe = [\"sh\"] # \u{202e}txt.exe\n";
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("member", table))
        .file("src/lib.rs", "");
    let run = project.wasm_build(&[]).failure();
    run.stderr_has("error[W001]: unknown key `exe`")
        .stderr_has("exe = [\"sh\"] # \\u{202e}txt.exe")
        .stderr_lacks("\u{202e}");

    let project = Project::new();
    project
        .file("vendor/dep/Cargo.toml", &manifest("dep", table))
        .file("vendor/dep/src/lib.rs", "")
        .file("vendor/dep/build.rs", "fn main() {}")
        .file(
            "app/Cargo.toml",
            &format!(
                "{}\n[workspace]\n",
                manifest("app", "[dependencies]\ndep = { path = \"../vendor/dep\" }")
            ),
        )
        .file("app/src/lib.rs", "");
    let run = project
        .wasm_build(&["--manifest-path", "app/Cargo.toml"])
        .success();
    run.stderr_has("warning[W010]: ignoring the sandbox requests of dep v0.1.0")
        .stderr_has("exe = [\"sh\"] # \\u{202e}txt.exe")
        .stderr_lacks("\u{202e}");
}
