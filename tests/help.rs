//! `--help` of the tool and of each of its own subcommands, as snapshots: help is the
//! first documentation users read, so every change to it shows up in review as a diff of
//! `tests/snapshots/integration__help__*.snap`.
//!
//! The commands that stand for a cargo command (`build`, `check`, ...) hand `--help` to
//! cargo; their help is cargo's and changes with the toolchain, so instead of a snapshot
//! they are checked to print exactly what cargo prints.

use std::process::Command;

use crate::support::{Project, manifest, snapshot_settings};

/// The tool's own subcommands, whose help comes from its CLI definition.
const OWN_SUBCOMMANDS: &[&str] = &["approve", "deny", "permissions", "doctor", "cache"];

/// Subcommands that run the cargo command of the same name with sandboxed build scripts.
const CARGO_SUBCOMMANDS: &[&str] = &["build", "check", "test", "bench", "run", "doc", "clippy"];

/// `cargo wasm-build ARGS` in `project`, which must succeed without a word on stderr.
/// Colour is off whatever the caller's environment says (`CLICOLOR_FORCE` would put
/// escape codes into the snapshots).
fn stdout_of(project: &Project, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
    command
        .arg("wasm-build")
        .args(args)
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1");
    let run = project.run(command).success();
    assert_eq!(run.stderr, "", "{args:?} writes nothing to stderr");
    run.stdout
}

/// Help needs no project: it is read in an empty directory.
fn help(args: &[&str]) -> String {
    stdout_of(&Project::new(), args)
}

#[test]
fn top_level_help() {
    let long = help(&["--help"]);
    let short = help(&["-h"]);
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("long", long);
        insta::assert_snapshot!("short", short);
    });
    assert_eq!(help(&["help"]), long, "`help` is `--help`");
    for command in OWN_SUBCOMMANDS.iter().chain(CARGO_SUBCOMMANDS) {
        assert!(
            long.contains(&format!("\n  {command} ")),
            "`{command}` is listed:\n{long}"
        );
    }
}

#[test]
fn own_subcommands_help() {
    for command in OWN_SUBCOMMANDS {
        let text = help(&[*command, "--help"]);
        assert!(
            text.contains(&format!("Usage: cargo wasm-build {command}")),
            "{text}"
        );
        snapshot_settings().bind(|| insta::assert_snapshot!(*command, text));
    }
}

/// `cargo wasm-build build --help` is `cargo build --help`, and so on: the flags they take
/// are cargo's. (It is run in a project because these commands read the workspace before
/// they hand over to cargo.)
#[test]
fn cargo_subcommands_show_cargo_s_help() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("helped", ""))
        .file("src/lib.rs", "");
    for command in CARGO_SUBCOMMANDS {
        let ours = stdout_of(&project, &[*command, "--help"]);
        let cargo = project.cargo(&[*command, "--help"]).success().stdout;
        assert!(
            ours.contains(&format!("cargo {command}")),
            "{command}: {ours}"
        );
        assert_eq!(ours, cargo, "`cargo wasm-build {command} --help`");
    }
}

#[test]
fn version_is_the_package_s() {
    assert_eq!(
        help(&["--version"]),
        concat!("cargo wasm-build ", env!("CARGO_PKG_VERSION"), "\n")
    );
}
