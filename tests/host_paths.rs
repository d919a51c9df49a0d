//! Build scripts that look for files on the host (a library, an SDK, a header): they see
//! only what they may read, and the user is told what they looked for in vain.

use crate::support::hostile::{fake_home, hostile, report};
use crate::support::{Project, manifest};

/// Probes the way library searches do; `/usr/bin/env` exists on every Linux machine.
const PROBES: &str = r#"
    record("env exists", &std::path::Path::new("/usr/bin/env").exists().to_string());
    record("bin listed", &std::fs::read_dir("/usr/bin").map(|d| d.count() > 0).unwrap_or(false).to_string());
    record("missing exists", &std::path::Path::new("/usr/bin/no-such-program-7f3a").exists().to_string());
    attempt("write root", std::fs::write("/planted", "x"));
"#;

fn probing(extra: &str) -> Project {
    hostile(PROBES, extra)
}

#[test]
fn paths_hidden_from_a_script_are_named_with_the_grant_that_shows_them() {
    let project = probing("");
    project
        .wasm_build(&[])
        .success()
        .stderr_has(
            "the build script of hostile v0.1.0 looked for `/usr/bin`, `/usr/bin/env`, which exist here but are hidden from it",
        )
        .stderr_has("[package.metadata.sandbox.allow.\"hostile@0.1.0\"]")
        .stderr_has("read = [\"/usr/bin\"]")
        .stderr_lacks("no-such-program");
    let seen = report(&project);
    assert_eq!(seen["env exists"], "false");
    assert_eq!(seen["bin listed"], "false");
    assert!(seen["write root"].starts_with("err"), "{seen:?}");
    assert!(!std::path::Path::new("/planted").exists());
}

#[test]
fn a_read_grant_shows_the_directory_to_the_script_as_natively() {
    let project =
        probing("[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nread = [\"/usr/bin\"]\n");
    project
        .wasm_build(&[])
        .success()
        .stderr_lacks("which exist here but are hidden");
    let seen = report(&project);
    assert_eq!(seen["env exists"], "true");
    assert_eq!(seen["bin listed"], "true");
    assert_eq!(seen["missing exists"], "false");
    assert!(seen["write root"].starts_with("err"), "{seen:?}");
}

/// `approve` offers what the script looked for in vain where software is installed, so
/// one approval round shows the script what a native run finds.
#[test]
fn approve_grants_the_directories_a_script_looked_for() {
    let project = probing("");
    project.wasm_build(&[]).success();
    project
        .wasm_build(&["approve", "--all", "--yes"])
        .success()
        .stderr_has("read = [\"/usr/bin\"]");
    assert!(
        project.read("Cargo.toml").contains("read = [\"/usr/bin\"]"),
        "{}",
        project.read("Cargo.toml")
    );
    project
        .wasm_build(&[])
        .success()
        .stderr_lacks("which exist here but are hidden");
    assert_eq!(report(&project)["env exists"], "true");
}

/// A lookup that climbs out of an installation directory with `..` is judged where it
/// lands: neither the build's hint nor `approve` offers a grant that reaches a home
/// directory's keys, while what the script looked for under `/usr` still is offered.
#[test]
fn a_lookup_climbing_out_with_dot_dot_is_never_offered_as_a_grant() {
    let home = fake_home();
    let sneaky = format!("/usr/..{}/.ssh/id_rsa", home.path().display());
    let project = hostile(
        &format!(
            r#"
    record("key", &std::fs::read_to_string({sneaky:?}).unwrap_or_default());
    record("env exists", &std::path::Path::new("/usr/bin/env").exists().to_string());
"#
        ),
        "",
    );
    project
        .wasm_build(&[])
        .success()
        // The warning names the lookup as made; the grant offered is `/usr/bin` alone.
        .stderr_has("looked for `/usr/../")
        .stderr_has("read = [\"/usr/bin\"]\n");
    project.wasm_build(&["approve", "--all", "--yes"]).success();
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("read = [\"/usr/bin\"]") && !manifest.contains(".ssh"),
        "{manifest}"
    );
    project.wasm_build(&[]).success();
    assert_eq!(report(&project)["key"], "");
}

/// Strict mode refuses a build whose script looked for something hidden until the
/// consumer decides; a `deny` is a decision, and silences the warning too.
#[test]
fn strict_mode_fails_on_a_hidden_path_until_granted_or_denied() {
    let project = probing("");
    project
        .wasm_build(&["--sandbox-mode", "strict"])
        .failure()
        .stderr_has("needs permission to read `/usr/bin`: it looked for `/usr/bin`")
        .stderr_has("which exists here but is hidden from build scripts (strict mode)")
        .stderr_lacks("which exist here but are hidden from it");
    let denied =
        probing("[package.metadata.sandbox.deny.\"hostile@0.1.0\"]\nread = [\"/usr/bin\"]\n");
    denied
        .wasm_build(&["--sandbox-mode", "strict"])
        .success()
        .stderr_lacks("hidden");
    assert_eq!(report(&denied)["env exists"], "false");
}

/// A flood of lookups keeps the first few thousand paths, not all of them: the host's
/// memory is not the guest's to grow.
#[test]
fn a_flood_of_lookups_is_kept_bounded() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("flood", ""))
        .file(
            "build.rs",
            r#"fn main() {
                for i in 0..200_000u32 {
                    let _ = std::path::Path::new(&format!("/no-such-dir-7f3a/{i}")).exists();
                }
                let _ = std::path::Path::new("/usr/bin/env").exists();
            }"#,
        )
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .success()
        .stderr_lacks("/usr/bin/env");
}
