//! What is checked before anything is built, and said with the tool's own words: grants
//! that match nothing, tables that are not read, `~` in paths, a toolchain without the
//! guest target, misspelt commands, keys and packages (issue 25, items 3, 5 and 8).
//!
//! Every command runs as a user runs it: from the project's directory, one level above
//! the workspace (`--manifest-path app/Cargo.toml`), with the exit status asserted.

use crate::support::{Project, snapshot_settings};

/// A path dependency `mime_guess` 2.0.5 (a name with `_`, as the crates.io crate) whose
/// build script runs `sh`, and the consumer workspace `app/` with `sandbox` appended to
/// its manifest.
fn project(sandbox: &str) -> Project {
    let project = Project::new();
    project
        .file(
            "vendor/mime_guess/Cargo.toml",
            "[package]\nname = \"mime_guess\"\nversion = \"2.0.5\"\nedition = \"2021\"\n",
        )
        .file(
            "vendor/mime_guess/build.rs",
            "fn main() { let _ = std::process::Command::new(\"sh\").arg(\"-c\").arg(\"true\").status(); }\n",
        )
        .file("vendor/mime_guess/src/lib.rs", "")
        .file(
            "app/Cargo.toml",
            &format!(
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\nmime_guess = {{ path = \"../vendor/mime_guess\" }}\n\n\
                 [workspace]\n\n{sandbox}"
            ),
        )
        .file("app/src/main.rs", "fn main() {}\n");
    project
}

const APP: [&str; 2] = ["--manifest-path", "app/Cargo.toml"];

/// `extra` with the consumer's manifest.
fn app<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = extra.to_vec();
    all.extend(APP);
    all
}

/// Snapshot settings with the project's directory as `[ROOT]`.
fn redacted(project: &Project) -> insta::Settings {
    let mut settings = snapshot_settings();
    for root in [
        project.root().to_path_buf(),
        project.root().canonicalize().unwrap(),
    ] {
        settings.add_filter(&regex::escape(&root.display().to_string()), "[ROOT]");
    }
    settings
}

const GRANTED: &str = "[workspace.metadata.sandbox.allow.\"mime_guess@2.0.5\"]\nexec = [\"sh\"]\n";

/// A misspelt crate, the name with `-` for `_`, a crate not in the graph, and a version
/// the graph does not have beside the one it has (reviewed): each grants nothing, so `permissions --check` fails on them (exit 1) with the closest package of
/// the graph, and a build says the same as warnings and goes on.
#[test]
fn grants_that_match_nothing_fail_the_check_and_warn_the_build() {
    let project = project(&format!(
        "{GRANTED}\n\
         [workspace.metadata.sandbox.allow.\"mime_gess@2.0.5\"]\nexec = [\"sh\"]\n\n\
         [workspace.metadata.sandbox.allow.\"mime-guess@2.0.5\"]\nexec = [\"cc\"]\n\n\
         [workspace.metadata.sandbox.deny.\"openssl-sys@0.9.109\"]\nexec = [\"curl\"]\n\n\
         [workspace.metadata.sandbox.allow.\"mime_guess@2.0.50\"]\nexec = [\"sh\"]\n"
    ));
    let check = project.wasm_build(&app(&["permissions", "--check"]));
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    redacted(&project).bind(|| insta::assert_snapshot!("unmatched_check", check.stderr));

    // The display shows them too, as warnings on stderr, its report on stdout untouched.
    let display = project
        .wasm_build(&app(&["permissions", "--format", "json"]))
        .success();
    assert_eq!(
        display.stderr.matches("warning[W006]:").count(),
        4,
        "{}",
        display.stderr
    );
    assert!(display.stdout.starts_with('{'), "{}", display.stdout);

    let build = project.wasm_build(&app(&[])).success();
    for warning in [
        "warning[W006]: `[workspace.metadata.sandbox.allow.\"mime_gess@2.0.5\"]` grants nothing: no package `mime_gess` is in this workspace's dependency graph",
        "warning[W006]: `[workspace.metadata.sandbox.allow.\"mime-guess@2.0.5\"]` grants nothing",
        "warning[W006]: `[workspace.metadata.sandbox.deny.\"openssl-sys@0.9.109\"]` denies nothing",
        "warning[W006]: `[workspace.metadata.sandbox.allow.\"mime_guess@2.0.50\"]` grants nothing: this graph has `mime_guess` at 2.0.5 only, and every version it builds has its own table",
    ] {
        assert_eq!(build.stderr.matches(warning).count(), 1, "{}", build.stderr);
    }
    assert!(
        build
            .stderr
            .contains("= help: did you mean `mime_guess@2.0.5`?"),
        "{}",
        build.stderr
    );

    // Fixed, the check passes and counts in the singular.
    let manifest = project.read("app/Cargo.toml");
    let fixed = manifest
        .split("\n[workspace.metadata.sandbox.allow.\"mime_gess")
        .next()
        .unwrap();
    project.file("app/Cargo.toml", fixed);
    project
        .wasm_build(&app(&["permissions", "--check"]))
        .success()
        .stderr_has("permissions: the 1 build script reviewed (0 proc macros run unsandboxed)");
}

/// In a workspace root with `[workspace.metadata.sandbox]`, an `allow` under
/// `[package.metadata.sandbox]` would be ignored, as would one in another member's
/// manifest or under a misspelt `sandbx`: each is W007 (another tool's metadata is not),
/// and the build that needs the grant fails as it would.
#[test]
fn a_table_that_is_not_read_says_where_it_belongs() {
    let project = project(
        "members = [\"tool\"]\n\n[workspace.metadata.sandbox]\nmode = \"deny\"\n\n\
         [package.metadata.sandbox.allow.\"mime_guess@2.0.5\"]\nexec = [\"sh\"]\n\n\
         [workspace.metadata.sandbx.allow.\"mime_guess@2.0.5\"]\nexec = [\"sh\"]\n\n\
         [workspace.metadata.docs-rs]\nall-features = true\n",
    );
    project
        .file(
            "app/tool/Cargo.toml",
            "[package]\nname = \"tool\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [package.metadata.sandbox]\nmode = \"strict\"\n",
        )
        .file("app/tool/src/lib.rs", "");
    let check = project.wasm_build(&app(&["permissions", "--check"]));
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    redacted(&project).bind(|| insta::assert_snapshot!("unread_tables_check", check.stderr));

    let build = project.wasm_build(&app(&[])).failure();
    assert_eq!(build.code, Some(101));
    build
        .stderr_has("warning[W007]: `[package.metadata.sandbox.allow]` is not read: in a workspace root, grants and the mode are read from `[workspace.metadata.sandbox]`")
        .stderr_has("warning[W007]: `mode` in `[package.metadata.sandbox]` is not read")
        .stderr_has("error[W101]: sandboxed build script of `mime_guess v2.0.5` needs permission to run `sh`");
}

/// `~` is not expanded by the sandbox: a grant that starts with it is refused, in the
/// check (exit 1) and in the build (the tool's error, 101), never kept as a directory
/// named `~`.
#[test]
fn a_path_starting_with_a_tilde_is_refused() {
    let project = project(
        "[workspace.metadata.sandbox.allow.\"mime_guess@2.0.5\"]\nexec = [\"sh\"]\nread = [\"~/sdk/include\"]\n",
    );
    let expected = "error[W002]: `~/sdk/include` starts with `~`, which is not expanded\n  --> ";
    let check = project.wasm_build(&app(&["permissions", "--check"]));
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    assert!(check.stderr.starts_with(expected), "{}", check.stderr);
    redacted(&project).bind(|| insta::assert_snapshot!("tilde_check", check.stderr));
    let build = project.wasm_build(&app(&[]));
    assert_eq!(build.code, Some(101), "{}", build.stderr);
    assert!(build.stderr.starts_with(expected), "{}", build.stderr);
    assert!(!project.root().join("vendor/mime_guess/~").exists());
}

/// A misspelt key of the consumer's table gets the key it was meant to be, a swap of two
/// letters included.
#[test]
fn a_misspelt_key_gets_the_key_it_meant() {
    let project = project("[workspace.metadata.sandbox]\nmdoe = \"strict\"\n");
    let check = project.wasm_build(&app(&["permissions", "--check"]));
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    redacted(&project).bind(|| insta::assert_snapshot!("misspelt_key", check.stderr));
}

/// A rustc whose sysroot, a rustup toolchain's directory, lacks the guest target, and
/// that fails a compile for it as rustc does then; otherwise the real rustc: what
/// `cargo +nightly` is on a machine where only the default toolchain has wasm32-wasip1.
fn toolchain_without_the_target(project: &Project) -> String {
    let sysroot = project
        .root()
        .join("rustup/toolchains/nightly-x86_64-unknown-linux-gnu");
    std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/lib")).unwrap();
    let rustc = project.root().join("bin/rustc");
    project.file(
        "bin/rustc",
        &format!(
            "#!/bin/sh\n\
             if [ \"$1 $2\" = \"--print sysroot\" ]; then echo '{}'; exit 0; fi\n\
             for arg in \"$@\"; do case \"$arg\" in *wasm32-wasip1*)\n\
               echo \"error[E0463]: can't find crate for \\`std\\`\" >&2\n\
               echo \"  = note: the \\`wasm32-wasip1\\` target may not be installed\" >&2\n\
               exit 1;; esac; done\n\
             exec rustc \"$@\"\n",
            sysroot.display()
        ),
    );
    let mut permissions = std::fs::metadata(&rustc).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&rustc, permissions).unwrap();
    rustc.display().to_string()
}

const MISSING_TARGET: &str = "error[W409]: the wasm32-wasip1 target is not installed for the toolchain `nightly-x86_64-unknown-linux-gnu`, which cargo uses here: build scripts are compiled for it";
const INSTALL: &str = "help: install it for this toolchain with `rustup target add wasm32-wasip1 --toolchain nightly-x86_64-unknown-linux-gnu`";

/// The build refuses once, before cargo compiles anything, naming the toolchain and the
/// command that installs the target for it; `doctor` says the same and exits 1.
#[test]
fn a_toolchain_without_the_guest_target_is_refused_once_with_its_own_command() {
    let project = project(GRANTED);
    let rustc = toolchain_without_the_target(&project);
    let build = project.wasm_build_env(&app(&[]), &[("RUSTC", &rustc)]);
    assert_eq!(build.code, Some(101), "{}", build.stderr);
    assert_eq!(
        build.stderr,
        format!("{MISSING_TARGET}; nothing was built\n{INSTALL}\n")
    );
    assert!(
        !project.target().join("debug/build").exists(),
        "nothing compiled"
    );

    let doctor = project.wasm_build_env(&["doctor"], &[("RUSTC", &rustc)]);
    assert_eq!(doctor.code, Some(1), "{}", doctor.stdout);
    assert!(
        doctor.stdout.contains(
            "  wasm32-wasip1        MISSING                          toolchain `nightly-x86_64-unknown-linux-gnu`\n"
        ) && doctor.stdout.contains(&format!("{MISSING_TARGET}\n{INSTALL}\n")),
        "{}",
        doctor.stdout
    );

    // Named by cargo's configuration (`build.rustc`), the compiler is not guessed up
    // front: the compile that needs the target fails, and says the same.
    project.file(
        ".cargo/config.toml",
        &format!("[build]\nrustc = \"{rustc}\"\n"),
    );
    let build = project.wasm_build(&app(&[])).failure();
    assert!(
        !build.stderr.contains("error[W409]") && build.stderr.contains(INSTALL),
        "{}",
        build.stderr
    );
    std::fs::remove_file(project.root().join(".cargo/config.toml")).unwrap();

    // With the target there, the build goes on, and the check is not asked again.
    project.wasm_build(&app(&[])).success();
    let stamp = project.target().join("wasm-build/guest-target-checked");
    assert!(stamp.is_file());
}

/// `chek` is no cargo build option: it is said to be an unknown command, with the one
/// it most likely meant, not answered with `cargo build`'s usage.
#[test]
fn a_misspelt_command_gets_the_command_it_meant() {
    let project = project(GRANTED);
    let run = project.wasm_build(&["chek"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    insta::assert_snapshot!("misspelt_command", run.stderr);
    project
        .wasm_build(&["permisions"])
        .stderr_has("tip: a similar subcommand exists: 'permissions'");
}

/// Cargo's own errors (no manifest, a malformed one) are shown exactly as `cargo build`
/// shows them: once, under cargo's heading, not wrapped in the tool's.
#[test]
fn cargo_s_errors_are_shown_as_cargo_shows_them() {
    let project = Project::new();
    let ours = project.wasm_build(&[]);
    let cargo = project.cargo(&["build"]);
    assert_eq!(ours.code, Some(101));
    assert_eq!(ours.stderr, cargo.stderr);
    assert!(
        ours.stderr
            .starts_with("error: could not find `Cargo.toml`")
    );

    let project = self::project("bogus = [\n");
    let ours = project.wasm_build(&app(&[]));
    let cargo = project.cargo(&app(&["build"]));
    assert_eq!(ours.code, Some(101));
    assert_eq!(ours.stderr, cargo.stderr);
    assert_eq!(ours.stderr.matches("error:").count(), 1, "{}", ours.stderr);
}

/// A package named with `-p` or to `approve` that is not in the graph gets the closest
/// name of the graph (cargo's own `-p` already does).
#[test]
fn a_misspelt_package_gets_the_package_it_meant() {
    let project = project(GRANTED);
    let here = format!(" for {}", crate::support::host_triple());
    for (command, platform) in [
        (app(&["permissions", "-p", "mime-gess"]), here.as_str()),
        (app(&["approve", "mime-gess"]), ""),
        (app(&["deny", "mime-gess"]), ""),
    ] {
        let run = project.wasm_build(&command);
        assert_eq!(run.code, Some(101), "{command:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!(
                "error: no package `mime-gess` in this workspace's dependency graph{platform}"
            )) && run
                .stderr
                .ends_with("\nhelp: a package with a similar name exists: `mime_guess`\n"),
            "{command:?}: {}",
            run.stderr
        );
    }
    project
        .wasm_build(&app(&["-p", "mime-gess"]))
        .failure()
        .stderr_has("a package with a similar name exists: `mime_guess`");
}

/// `-v` lists each build script that ran once, and the summary counts them.
#[test]
fn verbose_lists_each_build_script_once() {
    let project = project(GRANTED);
    let run = project.wasm_build(&app(&["-v"])).success();
    let line = "   Sandboxed build script of mime_guess v2.0.5 in wasmtime (";
    assert_eq!(run.stderr.matches(line).count(), 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("   Sandboxed 1 build script in wasmtime\n"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("in wasmtime: mime_guess"),
        "{}",
        run.stderr
    );
}

/// `deny NAME` before any build (so nothing is pending) writes the decision: an empty
/// deny table for that exact version, which the check then counts as reviewed.
#[test]
fn deny_before_anything_is_pending_records_the_decision() {
    let project = project("");
    let run = project.wasm_build(&app(&["deny", "mime_guess", "-y"]));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "     Denying for mime_guess v2.0.5 (nothing is pending for it):\n             [workspace.metadata.sandbox.deny.\"mime_guess@2.0.5\"]\n"
        ) && run.stderr.contains("      Denied 1 package in "),
        "{}",
        run.stderr
    );
    assert!(
        project
            .read("app/Cargo.toml")
            .trim_end()
            .ends_with("[workspace]\n\n[workspace.metadata.sandbox.deny.\"mime_guess@2.0.5\"]"),
        "{}",
        project.read("app/Cargo.toml")
    );
    project
        .wasm_build(&app(&["deny", "app"]))
        .failure()
        .stderr_has("`app` has no build script: none of its code runs in the sandbox, so there is nothing to decide");
}

/// With colour on (`--color always`, as on a terminal), W101 is coloured like cargo's own
/// errors; without colour it is plain text.
#[test]
fn a_build_script_s_errors_are_coloured_when_the_build_is() {
    let project = project("");
    let coloured = project.wasm_build(&app(&["--color", "always"])).failure();
    assert!(
        coloured.stderr.contains(
            "\x1b[1;31merror[W101]:\x1b[0m sandboxed build script of `mime_guess v2.0.5` needs permission to run `sh`"
        ),
        "{:?}",
        coloured.stderr
    );
    let plain = project.wasm_build(&app(&[])).failure();
    assert!(
        plain.stderr.contains(
            "\n  error[W101]: sandboxed build script of `mime_guess v2.0.5` needs permission"
        ) && !plain.stderr.contains('\x1b'),
        "{:?}",
        plain.stderr
    );
}
