//! The user's build configuration reaches build scripts as natively (environment and
//! cargo's `[env]`), and what stays hidden is said.

use std::path::Path;

use crate::support::{Project, Run, ScriptResult, assert_results_match, host_triple, manifest};

/// A real cc-based `-sys` crate whose C is compiled with the consumer's flags.
const LIBZ: &str = r#"libz-sys = { version = "=1.1.23", default-features = false, features = ["static", "libc"] }"#;

/// What the consumer grants libz-sys when `CC_<target>` names gcc.
const LIBZ_GRANTS: &str = r#"[package.metadata.sandbox.allow."libz-sys@1.1.23"]
exec = ["gcc", "ar"]
"#;

/// `CC_x86_64_unknown_linux_gnu`: the target-specific form cc-rs reads before `CC`.
fn cc_for_target() -> String {
    format!("CC_{}", host_triple().replace('-', "_"))
}

fn consumer(project: &Project, dependencies: &str, grants: &str) {
    project
        .file(
            "Cargo.toml",
            &manifest(
                "consumer",
                &format!("[dependencies]\n{dependencies}\n{grants}"),
            ),
        )
        .file("src/lib.rs", "");
}

fn native_build(project: &Project, env: &[(&str, &str)]) -> Run {
    let mut command =
        std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.arg("build").envs(env.iter().copied());
    project.run(command)
}

/// Both builds' scripts agree: same directives, same `OUT_DIR` bytes. Returns the
/// sandboxed result of `package`.
fn assert_same(native: &Project, sandboxed: &Project, package: &str) -> ScriptResult {
    let sandboxed_results = sandboxed.build_script_results("debug");
    assert_results_match(&native.build_script_results("debug"), &sandboxed_results);
    sandboxed_results
        .get(package)
        .cloned()
        .unwrap_or_else(|| panic!("{package}'s build script ran"))
}

/// Whether the file holds `needle`. `-fno-ident` in `CFLAGS` leaves out the compiler's
/// `GCC: (...)` note from every object: a flag whose effect shows in the archive.
fn out_file_has(out_dir_file: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(out_dir_file).unwrap();
    bytes
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// The static library a libz-sys build left in its `OUT_DIR`.
fn libz_archive(project: &Project) -> std::path::PathBuf {
    let build = project.target().join("debug/build");
    std::fs::read_dir(&build)
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("out/lib/libz.a"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no libz.a under {}", build.display()))
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn flags_and_target_compiler_from_the_environment_build_what_cargo_builds() {
    let cc_var = cc_for_target();
    let env = [("CFLAGS", "-fno-ident"), (cc_var.as_str(), "gcc")];
    let native = Project::locked("environment-libz");
    let sandboxed = Project::locked("environment-libz");
    consumer(&native, LIBZ, "");
    consumer(&sandboxed, LIBZ, LIBZ_GRANTS);
    native_build(&native, &env).success();
    sandboxed.wasm_build_env(&[], &env).success();
    assert_same(&native, &sandboxed, "libz-sys");
    // The flags really reached the compiler.
    assert!(!out_file_has(&libz_archive(&sandboxed), "GCC: ("));

    // Changing a flag re-runs the script, as with cargo (cc-rs asked to be re-run on it).
    let changed = [("CFLAGS", "-O0"), (cc_var.as_str(), "gcc")];
    sandboxed.wasm_build_env(&[], &changed).success();
    assert!(out_file_has(&libz_archive(&sandboxed), "GCC: ("));
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn flags_and_compiler_from_cargo_config_build_what_cargo_builds() {
    let config = "[env]\nCFLAGS = \"-fno-ident\"\nCC = { value = \"gcc\", force = true }\n";
    let native = Project::locked("environment-libz");
    let sandboxed = Project::locked("environment-libz");
    consumer(&native, LIBZ, "");
    consumer(&sandboxed, LIBZ, LIBZ_GRANTS);
    for project in [&native, &sandboxed] {
        project.file(".cargo/config.toml", config);
    }
    native_build(&native, &[]).success();
    sandboxed.wasm_build(&[]).success();
    assert_same(&native, &sandboxed, "libz-sys");
    assert!(!out_file_has(&libz_archive(&sandboxed), "GCC: ("));
}

/// A fixture whose script reads a variable only the cargo configuration sets and finds a
/// library through `PKG_CONFIG_PATH` (pkg-config, a granted program, reads the `.pc`).
fn steered(project: &Project, grants: &str) {
    project
        .file(
            "Cargo.toml",
            &manifest(
                "consumer",
                &format!("[dependencies]\nsteered = {{ path = \"steered\" }}\n{grants}"),
            ),
        )
        .file("src/lib.rs", "")
        .file(
            "steered/Cargo.toml",
            &manifest(
                "steered",
                "[build-dependencies]\npkg-config = \"=0.3.34\"\n",
            ),
        )
        .file("steered/src/lib.rs", "")
        .file(
            "steered/build.rs",
            r#"fn main() {
    println!("cargo:rerun-if-env-changed=ZSTEER_MODE");
    let mode = std::env::var("ZSTEER_MODE").unwrap_or_else(|_| "unset".into());
    let library = pkg_config::Config::new()
        .cargo_metadata(true)
        .probe("steered-test")
        .expect("pkg-config finds steered-test through PKG_CONFIG_PATH");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(
        out.join("seen.txt"),
        format!("mode {mode}\nversion {}\n", library.version),
    )
    .unwrap();
}
"#,
        );
}

/// A `.pc` file of `version` in a directory of its own, outside every project.
fn pkg_config_dir(version: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("wasm-build-pc-")
        .tempdir()
        .unwrap();
    std::fs::write(
        dir.path().join("steered-test.pc"),
        format!("Name: steered-test\nDescription: test\nVersion: {version}\nLibs: -L${{pcfiledir}} -lsteeredtest\nCflags:\n"),
    )
    .unwrap();
    dir
}

#[test]
fn cargo_config_env_and_pkg_config_path_reach_the_script_and_its_programs() {
    let pc = pkg_config_dir("4.5.6");
    let pc_path = pc.path().to_str().unwrap().to_string();
    let env = [("PKG_CONFIG_PATH", pc_path.as_str())];
    let config = |mode: &str| format!("[env]\nZSTEER_MODE = \"{mode}\"\n");
    let native = Project::locked("environment-pkg-config");
    let sandboxed = Project::locked("environment-pkg-config");
    steered(&native, "");
    steered(
        &sandboxed,
        "[package.metadata.sandbox.allow.\"steered@0.1.0\"]\nexec = [\"pkg-config\"]\n",
    );
    for project in [&native, &sandboxed] {
        project.file(".cargo/config.toml", &config("one"));
    }
    native_build(&native, &env).success();
    sandboxed
        .wasm_build_env(&["-v"], &env)
        .success()
        .stderr_lacks("looked up");
    let result = assert_same(&native, &sandboxed, "steered");
    assert_eq!(result.files["seen.txt"], b"mode one\nversion 4.5.6\n");
    // `permissions` says where each variable came from.
    permissions(&sandboxed, "steered")
        .stdout_has("saw, set by your cargo configuration: ZSTEER_MODE")
        .stdout_has("saw build settings by default: PKG_CONFIG_PATH");

    // `rerun-if-env-changed` on variables of the cargo configuration: new values run the
    // script again, as with cargo, and `PKG_CONFIG_PATH` from `[env]` reaches pkg-config.
    let other_pc = pkg_config_dir("7.8.9");
    sandboxed.file(
        ".cargo/config.toml",
        &format!(
            "{}PKG_CONFIG_PATH = \"{}\"\n",
            config("two"),
            other_pc.path().display()
        ),
    );
    sandboxed.wasm_build(&[]).success();
    let seen = sandboxed.build_script_results("debug")["steered"].files["seen.txt"].clone();
    assert_eq!(seen, b"mode two\nversion 7.8.9\n");

    permissions(&sandboxed, "steered")
        .stdout_has("saw, set by your cargo configuration: PKG_CONFIG_PATH, ZSTEER_MODE");
}

/// `cargo wasm-build permissions -p package`, which must succeed.
fn permissions(project: &Project, package: &str) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
    command.args(["wasm-build", "permissions", "-p", package]);
    project.run(command).success()
}

/// A script that looks up a secret and a knob nobody granted.
fn snooping(project: &Project, extra: &str) {
    project
        .file(
            "Cargo.toml",
            &manifest(
                "consumer",
                &format!("[dependencies]\nsnoop = {{ path = \"snoop\" }}\n{extra}"),
            ),
        )
        .file("src/lib.rs", "")
        .file("snoop/Cargo.toml", &manifest("snoop", ""))
        .file("snoop/src/lib.rs", "")
        .file(
            "snoop/build.rs",
            r#"fn main() {
    let token = std::env::var("CI_JOB_TOKEN").is_ok();
    let flavor = std::env::var("SNOOP_FLAVOR").is_ok();
    let home = std::env::var("HOME").is_ok();
    println!("cargo:rustc-cfg=saw_token_{token}_flavor_{flavor}_home_{home}");
}
"#,
        );
}

#[test]
fn hidden_variables_a_script_looks_up_are_said_without_their_values() {
    let env = [
        ("CI_JOB_TOKEN", "hunter2-value"),
        ("SNOOP_FLAVOR", "mild-value"),
    ];
    let project = Project::new();
    snooping(&project, "");
    let run = project
        .wasm_build_env(&[], &env)
        .success()
        .stderr_has("warning[W301]: the build script of snoop v0.1.0 looked up `CI_JOB_TOKEN`, `SNOOP_FLAVOR`, set in your environment but hidden from it")
        .stderr_has("dangerous-env = [\"CI_JOB_TOKEN\"]")
        .stderr_has("env = [\"SNOOP_FLAVOR\"]")
        .stderr_lacks("`HOME`")
        .stderr_lacks("hunter2")
        .stderr_lacks("mild-value");
    assert!(!run.stdout.contains("hunter2"));
    // Even `-q` keeps the warning, as cargo keeps rustc's.
    project.file("snoop/src/lib.rs", "// touched\n");
    project.file(
        "snoop/build.rs",
        &project
            .read("snoop/build.rs")
            .replace("fn main", "// again\nfn main"),
    );
    project
        .wasm_build_env(&["-q"], &env)
        .success()
        .stderr_has("looked up `CI_JOB_TOKEN`, `SNOOP_FLAVOR`");

    permissions(&project, "snoop")
        .stdout_has("looked up hidden variables: CI_JOB_TOKEN, SNOOP_FLAVOR")
        .stdout_lacks("hunter2");
}

#[test]
fn strict_mode_fails_on_an_unreviewed_hidden_lookup_until_denied() {
    let env = [("CI_JOB_TOKEN", "hunter2-value")];
    let project = Project::new();
    snooping(&project, "[package.metadata.sandbox]\nmode = \"strict\"\n");
    project
        .wasm_build_env(&[], &env)
        .failure()
        .stderr_has("sandboxed build script of `snoop v0.1.0` needs permission to use the environment variable `CI_JOB_TOKEN`")
        .stderr_has("dangerous-env = [\"CI_JOB_TOKEN\"]")
        .stderr_lacks("hunter2");
    // The printed way out: refuse it. The script then runs without it, and nothing is said.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
    command.args(["wasm-build", "deny", "snoop"]);
    project.run(command).success();
    assert!(
        project
            .read("Cargo.toml")
            .contains("dangerous-env = [\"CI_JOB_TOKEN\"]")
    );
    project
        .wasm_build_env(&[], &env)
        .success()
        .stderr_lacks("CI_JOB_TOKEN");
}

#[test]
fn env_defaults_false_hides_build_settings_and_says_so() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "consumer",
                "[dependencies]\nlooker = { path = \"looker\" }\n[package.metadata.sandbox]\nenv-defaults = false\n",
            ),
        )
        .file("src/lib.rs", "")
        .file("looker/Cargo.toml", &manifest("looker", ""))
        .file("looker/src/lib.rs", "")
        .file(
            "looker/build.rs",
            "fn main() { assert!(std::env::var(\"CFLAGS\").is_err(), \"CFLAGS is hidden\"); }\n",
        );
    project
        .wasm_build_env(&[], &[("CFLAGS", "-O1")])
        .success()
        .stderr_has("looker v0.1.0 looked up `CFLAGS`")
        .stderr_has("env = [\"CFLAGS\"]");
}

/// Programs a script starts get the user's terminal, locale and time zone, as natively (a
/// curses-based generator fails without `TERM`), unless the script cleared its program's
/// environment or set one itself; a secret of the user's environment reaches none of them.
#[test]
fn programs_see_the_terminal_and_locale_and_never_a_secret() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "terminal",
                "[package.metadata.sandbox.allow.\"terminal@0.1.0\"]\nexec = [\"sh\"]\n",
            ),
        )
        .file("src/lib.rs", "")
        .file(
            "build.rs",
            r#"use std::process::Command;
fn main() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let exported = |command: &mut Command| command.args(["-c", "export -p"]).output().unwrap().stdout;
    std::fs::write(out.join("inherited.txt"), exported(&mut Command::new("sh"))).unwrap();
    std::fs::write(out.join("cleared.txt"), exported(Command::new("sh").env_clear())).unwrap();
    std::fs::write(out.join("set.txt"), exported(Command::new("sh").env("TERM", "dumb"))).unwrap();
}
"#,
        );
    let env = [
        ("TERM", "xterm-seen-by-programs"),
        ("LC_ALL", "C"),
        ("TZ", "UTC"),
        ("GITHUB_TOKEN", "canary-github"),
        ("DEPLOY_API_KEY", "canary-key"),
        ("LC_TOKEN", "canary-lc"),
    ];
    project.wasm_build_env(&[], &env).success();
    let results = project.build_script_results("debug");
    let files = &results["terminal"].files;
    let file = |name: &str| String::from_utf8(files[name].clone()).unwrap();
    let inherited = file("inherited.txt");
    for seen in ["TERM='xterm-seen-by-programs'", "LC_ALL='C'", "TZ='UTC'"] {
        assert!(inherited.contains(seen), "{seen} missing in:\n{inherited}");
    }
    let cleared = file("cleared.txt");
    assert!(!cleared.contains("TERM="), "{cleared}");
    let set = file("set.txt");
    assert!(set.contains("TERM='dumb'"), "{set}");
    for text in [&inherited, &cleared, &set] {
        assert!(
            !text.contains("canary"),
            "a secret reached a program:\n{text}"
        );
    }
}
