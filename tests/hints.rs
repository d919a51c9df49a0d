//! Every command a failed build prints works verbatim, whatever decided the target
//! directory (`--target-dir`, `CARGO_TARGET_DIR`, `build.target-dir`), with profiles,
//! workspaces and `--manifest-path` from elsewhere; `approve` that finds nothing after a
//! failed build fails and says where it looked.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Project, Run};

/// A workspace `ws/` with members `app` and `runner`; runner's build script runs `sh`,
/// which needs a grant. A profile of its own, and the cargo configuration `config` at the
/// workspace root if given.
fn workspace(project: &Project, config: Option<&str>) {
    project
        .file(
            "ws/Cargo.toml",
            "[workspace]\nmembers = [\"app\", \"runner\"]\nresolver = \"2\"\n\n\
             [profile.dist]\ninherits = \"release\"\n",
        )
        .file(
            "ws/app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nrunner = { path = \"../runner\" }\n",
        )
        .file("ws/app/src/lib.rs", "")
        .file(
            "ws/runner/Cargo.toml",
            "[package]\nname = \"runner\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .file("ws/runner/src/lib.rs", "")
        .file(
            "ws/runner/build.rs",
            r#"fn main() {
    let ran = std::process::Command::new("sh").args(["-c", "true"]).status();
    assert!(ran.is_ok_and(|status| status.success()), "sh ran");
}
"#,
        );
    if let Some(config) = config {
        project.file("ws/.cargo/config.toml", config);
    }
}

/// How one build is run: arguments, where, and `CARGO_TARGET_DIR`.
struct Setup<'a> {
    args: &'a [&'a str],
    cwd: PathBuf,
    target_env: Option<PathBuf>,
}

fn tool(project: &Project, setup: &Setup<'_>, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
    project.prepare(&mut command);
    command.arg("wasm-build").args(args).current_dir(&setup.cwd);
    command.env_remove("CARGO_TARGET_DIR");
    if let Some(dir) = &setup.target_env {
        command.env("CARGO_TARGET_DIR", dir);
    }
    command
}

fn run(mut command: Command) -> Run {
    Run::from(command.output().unwrap())
}

/// The command between backquotes after `marker` in `text`.
fn printed(text: &str, marker: &str) -> String {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in\n{text}"))
        + marker.len();
    let end = start + text[start..].find('`').unwrap();
    text[start..end].to_string()
}

/// Runs `line` through the shell in `cwd`, with `CARGO_TARGET_DIR` unset: the printed
/// command must not depend on where it is typed or on the variable still being set.
fn run_verbatim(project: &Project, line: &str, cwd: &Path) -> Run {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cargo-wasm-build"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let mut command = Command::new("sh");
    project.prepare(&mut command);
    command
        .args(["-c", line])
        .current_dir(cwd)
        .env("PATH", path)
        .env_remove("CARGO_TARGET_DIR");
    run(command)
}

/// Build, run the printed `approve` from `approve_from`, build again: it passes.
fn hints_work_verbatim(
    project: &Project,
    setup: &Setup<'_>,
    approve_from: &Path,
    per_script: bool,
) {
    let failed = run(tool(project, setup, setup.args))
        .failure()
        .stderr_has("needs permission to run `sh`");
    let line = if per_script {
        printed(&failed.stderr, "help: to allow it, run `")
    } else {
        printed(&failed.stderr, "review the errors above and run `")
    };
    run_verbatim(project, &line, approve_from)
        .success()
        .stderr_has("Approved 1 package");
    run(tool(project, setup, setup.args))
        .success()
        .stderr_lacks("needs permission");
}

#[test]
fn target_dir_option_relative_to_the_build() {
    let project = Project::new();
    workspace(&project, None);
    let setup = Setup {
        args: &["--target-dir", "../elsewhere"],
        cwd: project.root().join("ws"),
        target_env: None,
    };
    hints_work_verbatim(&project, &setup, &project.root().join("ws/app"), true);
    assert!(
        project
            .root()
            .join("elsewhere/debug/wasm-build/audit.jsonl")
            .is_file()
    );
}

#[test]
fn cargo_target_dir_variable() {
    let project = Project::new();
    workspace(&project, None);
    let setup = Setup {
        args: &[],
        cwd: project.root().join("ws"),
        target_env: Some(project.root().join("from-env")),
    };
    hints_work_verbatim(&project, &setup, &project.root().join("ws"), false);
}

#[test]
fn build_target_dir_in_cargo_config_and_a_member_that_says_otherwise() {
    let project = Project::new();
    workspace(&project, Some("[build]\ntarget-dir = \"configured\"\n"));
    // Approving from a member whose own configuration names another target directory:
    // the printed command must still look where the build wrote.
    project.file(
        "ws/app/.cargo/config.toml",
        "[build]\ntarget-dir = \"other\"\n",
    );
    let setup = Setup {
        args: &[],
        cwd: project.root().join("ws"),
        target_env: None,
    };
    hints_work_verbatim(&project, &setup, &project.root().join("ws/app"), false);
    assert!(
        project
            .root()
            .join("ws/configured/debug/wasm-build/audit.jsonl")
            .is_file()
    );
}

#[test]
fn custom_profile_and_manifest_path_from_another_directory() {
    let project = Project::new();
    workspace(&project, None);
    let manifest = project.root().join("ws/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let setup = Setup {
        args: &[
            "--profile",
            "dist",
            "-p",
            "app",
            "--manifest-path",
            manifest,
        ],
        cwd: project.root().to_path_buf(),
        target_env: None,
    };
    hints_work_verbatim(&project, &setup, Path::new("/"), false);
}

/// The learning command a failed build prints carries the build's own arguments (a
/// profile of its own, `-p`) after `--`, and the manifest path and target directory, so
/// that typed from anywhere it runs the same scripts and the next build passes.
#[test]
fn the_learning_command_works_verbatim_with_the_builds_arguments() {
    let project = Project::new();
    workspace(&project, None);
    let manifest = project.root().join("ws/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let setup = Setup {
        args: &[
            "--profile",
            "dist",
            "-p",
            "app",
            "--manifest-path",
            manifest,
            "--target-dir",
            "elsewhere",
        ],
        cwd: project.root().to_path_buf(),
        target_env: None,
    };
    let failed = run(tool(&project, &setup, setup.args)).failure();
    let line = printed(
        &failed.stderr,
        "or, to see everything this build needs in one round first, `",
    );
    assert!(line.ends_with("--learn -- --profile dist -p app"), "{line}");
    run_verbatim(&project, &line, Path::new("/"))
        .success()
        .stderr_has("Learned runner v0.1.0")
        .stderr_has("Approved 1 package");
    run(tool(&project, &setup, setup.args))
        .success()
        .stderr_lacks("needs permission");
}

/// When the package's table exists already (a grant for `cc`), the hand-edit hint does
/// not print its header as a new table to paste (a duplicate table breaks the manifest):
/// it shows the keys that change, merged with what they hold; edited that way, the next
/// build passes.
#[test]
fn the_hand_edit_hint_merges_into_an_existing_table() {
    let project = Project::new();
    workspace(&project, None);
    let manifest = project.read("ws/Cargo.toml");
    project.file(
        "ws/Cargo.toml",
        &format!(
            "{manifest}\n[workspace.metadata.sandbox.allow.\"runner@0.1.0\"]\nexec = [\"cc\"]\n"
        ),
    );
    let setup = Setup {
        args: &[],
        cwd: project.root().join("ws"),
        target_env: None,
    };
    let failed = run(tool(&project, &setup, setup.args))
        .failure()
        .stderr_has("make these keys of the existing table read:")
        .stderr_lacks("or add to");
    let block: Vec<&str> = failed
        .stderr
        .lines()
        .skip_while(|line| !line.contains("make these keys of the existing table read:"))
        .skip(1)
        .take_while(|line| line.starts_with("          "))
        .map(str::trim)
        .collect();
    assert_eq!(
        block,
        [
            "[workspace.metadata.sandbox.allow.\"runner@0.1.0\"]",
            "exec = [\"cc\", \"sh\"]"
        ]
    );
    // The user's edit: the key line replaced in place.
    let edited = project
        .read("ws/Cargo.toml")
        .replace("exec = [\"cc\"]", block[1]);
    project.file("ws/Cargo.toml", &edited);
    run(tool(&project, &setup, setup.args))
        .success()
        .stderr_lacks("needs permission");
}

#[test]
fn approve_after_a_failed_build_it_cannot_find_fails_and_says_where_it_looked() {
    let project = Project::new();
    workspace(&project, None);
    let setup = Setup {
        args: &["--target-dir", "../hidden"],
        cwd: project.root().join("ws"),
        target_env: None,
    };
    run(tool(&project, &setup, setup.args)).failure();
    let looked = project.root().join("ws/target");
    run(tool(&project, &setup, &["approve", "--all"]))
        .failure()
        .stderr_has(&format!(
            "error[W406]: nothing is pending review, and no sandboxed build was found under {}",
            looked.display()
        ))
        .stderr_has("pass it as `--target-dir DIR`");
    // With the denial decided but the build not rerun, approve says why it finds nothing.
    run(tool(
        &project,
        &setup,
        &["deny", "--all", "--target-dir", "../hidden"],
    ))
    .success()
    .stderr_has("Denied 1 package");
    run(tool(
        &project,
        &setup,
        &["approve", "--all", "--target-dir", "../hidden"],
    ))
    .failure()
    .stderr_has(
        "error[W406]: nothing is pending review, but the last build of runner v0.1.0 failed",
    )
    .stderr_has("note: looked in ");
}
