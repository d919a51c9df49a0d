//! Requests, grants and their review: the consumer decides, per package and exact version.

use crate::support::{Project, manifest};

/// A dependency outside the workspace (so not a member) whose build script runs `sh` and
/// falls back when it may not.
fn sys_crate(project: &Project, version: &str, sandbox_table: &str) {
    project
        .file(
            "vendor/fake-sys/Cargo.toml",
            &format!(
                "[package]\nname = \"fake-sys\"\nversion = \"{version}\"\nedition = \"2021\"\n\n{sandbox_table}\n"
            ),
        )
        .file(
            "vendor/fake-sys/build.rs",
            r#"fn main() {
                println!("cargo::rustc-check-cfg=cfg(used_sh)");
                let ran = std::process::Command::new("sh").arg("-c").arg("echo from-sh").output();
                match ran {
                    Ok(output) if output.status.success() => println!("cargo::rustc-cfg=used_sh"),
                    _ => println!("cargo::warning=no sh, falling back"),
                }
            }"#,
        )
        .file(
            "vendor/fake-sys/src/lib.rs",
            "pub fn used_sh() -> bool { cfg!(used_sh) }",
        );
}

/// The consumer workspace in `app/`, depending on `fake-sys` under `name`.
fn consumer(project: &Project, dependency: &str, policy: &str) {
    project
        .file(
            "app/Cargo.toml",
            &format!(
                "# The consumer.\n[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\n{dependency}\n\n[workspace]\n\n{policy}\n"
            ),
        )
        .file(
            "app/src/main.rs",
            "fn main() { println!(\"used sh: {}\", fake_sys::used_sh()); }",
        );
}

const MANIFEST: &[&str] = &["--manifest-path", "app/Cargo.toml"];

/// `extra` (a subcommand and its options first, if any) with the consumer's manifest.
fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = extra.to_vec();
    all.extend(MANIFEST);
    all
}

/// The `cargo wasm-build approve ...` command a failed build printed.
fn printed_approve_command(stderr: &str) -> Vec<String> {
    let start = stderr.find("run `cargo wasm-build approve").unwrap() + "run `".len();
    let end = start + stderr[start..].find('`').unwrap();
    stderr[start..end]
        .split_whitespace()
        .skip(2)
        .map(String::from)
        .collect()
}

/// Runs a printed command verbatim (it names the manifest the build was given, made
/// absolute, so it works from anywhere).
fn run_printed(project: &Project, command: &[String]) -> crate::support::Run {
    let full: Vec<&str> = command.iter().map(String::as_str).collect();
    project.wasm_build(&full)
}

/// `cargo wasm-build approve --manifest-path <absolute app/Cargo.toml> --target-dir
/// <the tests' target> REST` (the tests build into `target/` beside `app/`, not cargo's
/// default `app/target`).
fn approve_hint(project: &Project, rest: &str) -> String {
    format!(
        "run `cargo wasm-build approve --manifest-path {} --target-dir {} {rest}`",
        project.root().join("app/Cargo.toml").display(),
        project.target().display()
    )
}

fn binary_says(project: &Project) -> String {
    let output = std::process::Command::new(project.target().join("debug/app"))
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn declared_request_is_pending_until_approved_and_a_new_version_is_pending_again() {
    let project = Project::new();
    sys_crate(
        &project,
        "1.0.0",
        "[package.metadata.sandbox]\nexec = [\"sh\"]\nreason = \"runs the vendored configure\"",
    );
    consumer(
        &project,
        "fake-sys = { path = \"../vendor/fake-sys\" }",
        "[workspace.metadata.sandbox]\nmode = \"deny\" # the default, kept by approve",
    );
    let run = project
        .wasm_build(&args(&[]))
        .failure()
        .stderr_has("sandboxed build script of `fake-sys v1.0.0` needs permission to run `sh`")
        .stderr_has(&format!(
            "help: to allow it, {}",
            approve_hint(&project, "fake-sys@1.0.0")
        ));

    let approve = printed_approve_command(&run.stderr);
    run_printed(&project, &approve)
        .success()
        .stderr_has(
            "Approving for fake-sys v1.0.0 (declared by the crate and attempted in the last build)",
        )
        .stderr_has("Approved 1 package");
    let manifest = project.read("app/Cargo.toml");
    assert!(
        manifest.contains("# The consumer.")
            && manifest.contains("mode = \"deny\" # the default, kept by approve")
    );
    assert!(
        manifest.contains("[workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\nexec = [\"sh\"]"),
        "{manifest}"
    );

    project.wasm_build(&args(&[])).success();
    assert_eq!(binary_says(&project), "used sh: true\n");

    // An upgrade is a new version nobody has reviewed.
    sys_crate(
        &project,
        "1.0.1",
        "[package.metadata.sandbox]\nexec = [\"sh\"]",
    );
    project
        .wasm_build(&args(&[]))
        .failure()
        .stderr_has("sandboxed build script of `fake-sys v1.0.1` needs permission to run `sh`")
        .stderr_has("fake-sys@1.0.0 was reviewed, but this build uses fake-sys 1.0.1");
}

#[test]
fn undeclared_attempts_are_recorded_and_approve_all_converges() {
    let project = Project::new();
    sys_crate(&project, "2.0.0", "");
    consumer(&project, "fake-sys = { path = \"../vendor/fake-sys\" }", "");
    project
        .wasm_build(&args(&[]))
        .failure()
        .stderr_has(&approve_hint(&project, "--all"));
    project
        .wasm_build(&args(&["approve", "--all"]))
        .success()
        .stderr_has("(attempted in the last build)");
    project.wasm_build(&args(&[])).success();
    assert_eq!(binary_says(&project), "used sh: true\n");
    project
        .wasm_build(&args(&["approve", "--all"]))
        .success()
        .stderr_has("nothing is pending review");
}

#[test]
fn deny_lets_the_script_fall_back() {
    let project = Project::new();
    sys_crate(&project, "1.0.0", "");
    consumer(&project, "fake-sys = { path = \"../vendor/fake-sys\" }", "");
    project.wasm_build(&args(&[])).failure();
    project.wasm_build(&args(&["deny", "fake-sys"])).success();
    assert!(
        project
            .read("app/Cargo.toml")
            .contains("[workspace.metadata.sandbox.deny.\"fake-sys@1.0.0\"]\nexec = [\"sh\"]")
    );
    project.wasm_build(&args(&[])).success();
    assert_eq!(binary_says(&project), "used sh: false\n");
}

#[test]
fn a_dependency_cannot_grant_itself() {
    let project = Project::new();
    sys_crate(
        &project,
        "1.0.0",
        "[package.metadata.sandbox]\nexec = [\"sh\"]\nmode = \"trust-declared\"\n\
         [package.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\nexec = [\"sh\"]\n\n\
         [workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\nexec = [\"sh\"]",
    );
    consumer(&project, "fake-sys = { path = \"../vendor/fake-sys\" }", "");
    project
        .wasm_build(&args(&[]))
        .failure()
        .stderr_has("sandboxed build script of `fake-sys v1.0.0` needs permission to run `sh`");
}

#[test]
fn renamed_dependency_is_granted_under_its_real_name() {
    let project = Project::new();
    sys_crate(&project, "1.0.0", "");
    consumer(
        &project,
        "fake_sys = { package = \"fake-sys\", path = \"../vendor/fake-sys\" }",
        "[workspace.metadata.sandbox.allow.\"fake_sys@1.0.0\"]\nexec = [\"sh\"]",
    );
    project
        .wasm_build(&args(&[]))
        .failure()
        .stderr_has(&approve_hint(&project, "fake-sys@1.0.0"));
}

#[test]
fn a_git_fork_does_not_borrow_the_grants_of_the_crate_it_replaces() {
    let project = Project::new();
    sys_crate(&project, "1.0.0", "");
    let repo = project.root().join("vendor/fake-sys");
    for args in [
        &["init", "-q"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "fork",
        ],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(&repo)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }
    // Same name and version as the reviewed crate, but fetched from git: not the same
    // package, so the grant for `fake-sys@1.0.0` must not apply.
    consumer(
        &project,
        &format!("fake-sys = {{ git = \"file://{}\" }}", repo.display()),
        "[workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\nexec = [\"sh\"]",
    );
    let failed = project.wasm_build(&args(&[])).failure();
    let command = printed_approve_command(&failed.stderr);
    // cargo's package id spec of the fork, which names its source, in the command and in
    // the TOML alike.
    let spec = command
        .iter()
        .find(|arg| arg.starts_with("git+file://") && arg.ends_with("#fake-sys@1.0.0"))
        .unwrap_or_else(|| panic!("{command:?}"));
    assert!(
        failed
            .stderr
            .contains(&format!("[workspace.metadata.sandbox.allow.\"{spec}\"]")),
        "{}",
        failed.stderr
    );
    run_printed(&project, &command).success();
    project.wasm_build(&args(&[])).success();
    assert_eq!(binary_says(&project), "used sh: true\n");
}

#[test]
fn strict_mode_refuses_before_any_build_script_runs() {
    let project = Project::new();
    sys_crate(
        &project,
        "1.0.0",
        "[package.metadata.sandbox]\nexec = [\"sh\"]",
    );
    consumer(&project, "fake-sys = { path = \"../vendor/fake-sys\" }", "");
    let run = project
        .wasm_build(&args(&["--sandbox-mode", "strict"]))
        .failure();
    assert_eq!(run.code, Some(1));
    run.stderr_has(
        "error[W102]: strict mode: these build scripts have permissions nobody has reviewed; nothing was built",
    )
    .stderr_has("fake-sys v1.0.0 (declared): run `sh`")
    .stderr_lacks("Compiling");
    assert!(!project.target().exists(), "cargo never ran");
    project
        .wasm_build(&args(&["approve", "fake-sys"]))
        .success();
    project
        .wasm_build(&args(&["--sandbox-mode", "strict"]))
        .success();
}

#[test]
fn trust_declared_grants_declarations_and_says_so() {
    let project = Project::new();
    sys_crate(
        &project,
        "1.0.0",
        "[package.metadata.sandbox]\nexec = [\"sh\"]",
    );
    consumer(
        &project,
        "fake-sys = { path = \"../vendor/fake-sys\" }",
        "[workspace.metadata.sandbox]\nmode = \"trust-declared\"",
    );
    project
        .wasm_build(&args(&[]))
        .success()
        .stderr_has("warning[W106]: mode = trust-declared: granting without review what this crate declares: fake-sys v1.0.0");
    assert_eq!(binary_says(&project), "used sh: true\n");
}

#[test]
fn malformed_policy_is_a_located_error_with_a_suggestion() {
    let project = Project::new();
    sys_crate(&project, "1.0.0", "");
    consumer(
        &project,
        "fake-sys = { path = \"../vendor/fake-sys\" }",
        "[workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\nexe = [\"sh\"]",
    );
    let run = project.wasm_build(&args(&[])).failure();
    assert_eq!(run.code, Some(101));
    run.stderr_has("error[W001]: unknown key `exe` in the allow entry for `fake-sys@1.0.0`")
        .stderr_has("app/Cargo.toml:13:1")
        .stderr_has("help: did you mean `exec`?");
}

#[test]
fn revoking_run_natively_sends_the_script_back_to_the_sandbox() {
    let project = Project::new();
    sys_crate(&project, "1.0.0", "");
    let grant = "[workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\nrun-natively = true\nexec = [\"sh\"]";
    let dependency = "fake-sys = { path = \"../vendor/fake-sys\" }";
    consumer(&project, dependency, grant);
    project
        .wasm_build(&args(&[]))
        .success()
        .stderr_has("Confined 1 build script natively, as granted (run-natively): fake-sys v1.0.0");

    // The grant goes, by hand: cargo has no reason to compile the script again (its
    // sources are the same), so the CLI removes the native one before cargo runs, and the
    // same build compiles it for the sandbox and runs it there.
    consumer(
        &project,
        dependency,
        "[workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\nexec = [\"sh\"]",
    );
    project
        .wasm_build(&args(&[]))
        .success()
        .stderr_has("Sandboxed 1 build script in wasmtime: fake-sys v1.0.0")
        .stderr_lacks("W405")
        .stderr_lacks("Confined");
    assert_eq!(binary_says(&project), "used sh: true\n");
}

/// A grant that matches every variable, a family by a bare prefix, or a secret's name
/// needs `dangerous-env`; a package-relative path may not leave the package. Each is a
/// located error that says what to write instead, and the dangerous key is shown in red.
#[test]
fn grants_that_reach_too_far_need_a_dangerous_key() {
    let project = Project::new();
    let consumer = |grants: &str| {
        project
            .file(
                "Cargo.toml",
                &manifest(
                    "app",
                    &format!("[package.metadata.sandbox.allow.\"app@0.1.0\"]\n{grants}"),
                ),
            )
            .file(
                "build.rs",
                r#"fn main() {
                    for name in ["CFLAGS_x86", "CFLAGS_DEPLOY_TOKEN", "GITHUB_TOKEN"] {
                        println!("cargo:warning={name}={}", std::env::var(name).is_ok());
                    }
                }"#,
            )
            .file("src/lib.rs", "");
    };
    let env = [
        ("CFLAGS_x86", "-O2"),
        ("CFLAGS_DEPLOY_TOKEN", "CANARY"),
        ("GITHUB_TOKEN", "CANARY"),
    ];
    for (grant, help) in [
        ("env = [\"*\"]", "dangerous-env = [\"*\"]"),
        ("env = [\"GIT*\"]", "`GIT_*`"),
        (
            "env = [\"GITHUB_TOKEN\"]",
            "dangerous-env = [\"GITHUB_TOKEN\"]",
        ),
        (
            "read = [\"../../..\"]",
            "paths relative to the package stay inside it",
        ),
        ("write = [\"/\"]", "dangerous-write = [\"/\"]"),
    ] {
        consumer(grant);
        project
            .wasm_build_env(&[], &env)
            .failure()
            .stderr_has(&format!("{}:", project.root().join("Cargo.toml").display()))
            .stderr_has(help);
    }
    consumer("env = [\"CFLAGS_*\"]");
    project
        .wasm_build_env(&[], &env)
        .success()
        .stderr_has("CFLAGS_x86=true")
        .stderr_has("CFLAGS_DEPLOY_TOKEN=false")
        .stderr_has("GITHUB_TOKEN=false");
    consumer("dangerous-env = [\"GITHUB_TOKEN\"]");
    project
        .wasm_build_env(&[], &env)
        .success()
        .stderr_has("GITHUB_TOKEN=true");
    project
        .wasm_build(&["permissions", "-p", "app", "--color", "always"])
        .success();
    let card = project
        .wasm_build(&["permissions", "-p", "app", "--color", "always"])
        .stdout;
    assert!(
        card.contains("\x1b[1;31mdangerous: dangerous-env: GITHUB_TOKEN"),
        "{card}"
    );
}

/// A program awaiting review does not run, but the script is told it ran, so it goes on
/// and shows everything it needs in one build: one approval round, not one per program.
/// A caller that reads the program's output is told it failed, and why, on its stderr.
#[test]
fn every_program_a_script_needs_is_shown_in_one_round_and_none_runs() {
    let project = Project::new();
    let marker = project.root().join("ran");
    project
        .file("Cargo.toml", &crate::support::manifest("several", ""))
        .file("src/lib.rs", "")
        .file(
            "build.rs",
            &format!(
                r#"fn main() {{
    let configure = std::process::Command::new("sh").args(["-c", "touch {}"]).status().unwrap();
    assert!(configure.success());
    let listed = std::process::Command::new("cat").arg("--version").output().unwrap();
    assert_eq!(listed.status.code(), Some(1));
    assert!(listed.stdout.is_empty());
    let why = String::from_utf8(listed.stderr).unwrap();
    assert!(why.contains("`cat --version` did not run: it awaits review"), "{{why}}");
}}
"#,
                marker.display()
            ),
        );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandbox[W101]: did not run `sh -c 'touch ")
        .stderr_has("needs permission to run `sh`")
        .stderr_has("needs permission to run `cat`")
        .stderr_lacks("panicked");
    assert!(!marker.exists(), "a program awaiting review ran");
    project.wasm_build(&["approve", "--all"]).success();
    assert!(
        project
            .read("Cargo.toml")
            .contains("exec = [\"cat\", \"sh\"]")
    );
}

/// The discovery check runs a dependent on what a stopped script pretended; after the
/// approval, the next build runs both again for real, so nothing the pretence produced
/// survives (here: the `links` metadata the dependent copies into its `OUT_DIR`).
#[test]
fn nothing_a_discovery_run_produced_is_reused() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &crate::support::manifest("top", "[dependencies]\nuser = { path = \"user\" }\n"),
        )
        .file("src/lib.rs", "")
        .file(
            "maker/Cargo.toml",
            "[package]\nname = \"maker\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlinks = \"maker\"\n",
        )
        .file("maker/src/lib.rs", "")
        .file(
            "maker/build.rs",
            r#"fn main() {
    let out = std::process::Command::new("sh").args(["-c", "echo real"]).output().unwrap();
    println!("cargo:value=[{}]", String::from_utf8_lossy(&out.stdout).trim());
}
"#,
        )
        .file(
            "user/Cargo.toml",
            "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmaker = { path = \"../maker\" }\n",
        )
        .file("user/src/lib.rs", "")
        .file(
            "user/build.rs",
            r#"fn main() {
    let value = std::env::var("DEP_MAKER_VALUE").unwrap();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("value.txt"), &value).unwrap();
    let listed = std::process::Command::new("cat").arg("--version").output().unwrap();
    assert!(listed.status.success());
}
"#,
        );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandboxed build script of `maker v0.1.0` needs permission to run `sh`")
        .stderr_has("sandboxed build script of `user v0.1.0` needs permission to run `cat`");
    // The discovery run saw the pretence.
    let value = |project: &Project| {
        project.build_script_results("debug")["user"].files["value.txt"].clone()
    };
    assert_eq!(value(&project), b"[]");
    project
        .wasm_build(&["approve", "--all"])
        .success()
        .stderr_has("Approved 2 packages");
    project.wasm_build(&[]).success();
    assert_eq!(value(&project), b"[real]");
}

/// The environment of a run whose home is `home` (cargo's and rustup's stay where they
/// are, see `Project::prepare`), keeping the tests' warm artifact cache.
fn with_home(home: &std::path::Path) -> Vec<(&'static str, String)> {
    let artifacts = crate::support::test_cache_home()
        .join("cargo-wasm-build")
        .join("artifacts");
    vec![
        ("HOME", home.display().to_string()),
        ("CARGO_WASM_BUILD_CACHE", artifacts.display().to_string()),
    ]
}

/// A dependency that *declares* it reads the user's ssh keys and cargo's home (with its
/// registry token) gets them written by `approve --all` only under `dangerous-read`, and
/// the preview and the display say so; the same paths written by hand under `read` are
/// refused with W005. The project lives inside the home (as `~/src/app` would): the
/// workspace, the dependency's directory and the target directory are granted under the
/// plain key as before.
#[test]
fn declared_home_and_secret_reads_are_approved_only_under_the_dangerous_key() {
    let project = Project::new();
    // The home is the directory holding the project, with secrets where they usually are.
    let home = project.root();
    project.file(".ssh/id_rsa", "KEY-7f3a").file(
        ".cargo/credentials.toml",
        "[registry]\ntoken = \"TOKEN-7f3a\"\n",
    );
    let ssh = home.join(".ssh").display().to_string();
    let cargo_home = home.join(".cargo").display().to_string();
    sys_crate(
        &project,
        "1.0.0",
        &format!("[package.metadata.sandbox]\nread = [\"{ssh}\", \"{cargo_home}\"]"),
    );
    project.file(
        "vendor/fake-sys/build.rs",
        &format!(
            r#"fn main() {{
                let key = std::fs::read_to_string("{ssh}/id_rsa").is_ok();
                println!("cargo::warning=read the key: {{key}}");
            }}"#
        ),
    );
    project.file(
        "vendor/fake-sys/src/lib.rs",
        "pub fn used_sh() -> bool { false }",
    );
    let inside = |path: &str| home.join(path).display().to_string();
    let own_grants = format!(
        "[workspace.metadata.sandbox.allow.\"app@0.1.0\"]\nread = [\"{}\", \"{}\", \"{}\"]\n",
        inside("app/include"),
        inside("vendor/fake-sys/src"),
        inside("target/debug"),
    );
    consumer(
        &project,
        "fake-sys = { path = \"../vendor/fake-sys\" }",
        &own_grants,
    );
    let env = with_home(home);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // The declaration is shown as dangerous before anything is approved.
    let card = project
        .wasm_build_env(
            &args(&["permissions", "-p", "fake-sys", "--color", "always"]),
            &env,
        )
        .success()
        .stdout;
    assert!(
        card.contains(&format!(
            "\x1b[1;31mdangerous: dangerous-read: {ssh}; dangerous-read: {cargo_home}\x1b[0m"
        )),
        "{card}"
    );
    let built = project.wasm_build_env(&args(&[]), &env);
    assert!(
        built.stderr.contains("read the key: false"),
        "{}",
        built.stderr
    );

    let approved = project
        .wasm_build_env(&args(&["approve", "--all", "--yes"]), &env)
        .success()
        .stderr_has(&format!("dangerous-read = [\"{ssh}\", \"{cargo_home}\"]"))
        .stderr_has(&format!(
            "# dangerous: `{ssh}` reaches `.ssh`, where ssh keys are kept; it is written under `dangerous-read`"
        ))
        .stderr_has(&format!(
            "# dangerous: `{cargo_home}` is inside your home directory (keys, tokens, shell profiles) `{}`",
            home.display()
        ));
    let manifest = project.read("app/Cargo.toml");
    let table = &manifest[manifest.find("allow.\"fake-sys@1.0.0\"").unwrap()..];
    assert!(
        table.contains(&format!("dangerous-read = [\"{ssh}\", \"{cargo_home}\"]")),
        "{manifest}"
    );
    assert!(
        !table.lines().any(|line| line.starts_with("read =")),
        "nothing under the plain key: {manifest}\n{}",
        approved.stderr
    );
    // The consumer's own trees inside the home still take the plain key.
    assert!(manifest.contains(&own_grants), "{manifest}");

    // Approved, the script reads what the consumer let it (cargo reruns it once its
    // source changes).
    let script = project.read("vendor/fake-sys/build.rs");
    project.file("vendor/fake-sys/build.rs", &format!("{script}\n// again\n"));
    project
        .wasm_build_env(&args(&[]), &env)
        .success()
        .stderr_has("read the key: true");
    let card = project
        .wasm_build_env(
            &args(&["permissions", "-p", "fake-sys", "--color", "always"]),
            &env,
        )
        .success()
        .stdout;
    assert!(
        card.contains(&format!(
            "  granted      dangerous-read: {ssh}, {cargo_home}\n               \x1b[1;31mdangerous:"
        )),
        "{card}"
    );

    // Written by hand under the plain key, the same grants are refused with the code.
    for (path, why) in [
        (&ssh, "reaches `.ssh`"),
        (&cargo_home, "is inside your home directory"),
    ] {
        let by_hand = manifest
            .replace(
                &format!("dangerous-read = [\"{ssh}\", \"{cargo_home}\"]"),
                "",
            )
            .replace(
                "[workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]",
                &format!(
                    "[workspace.metadata.sandbox.allow.\"fake-sys@1.0.0\"]\nread = [\"{path}\"]"
                ),
            );
        project.file("app/Cargo.toml", &by_hand);
        project
            .wasm_build_env(&args(&[]), &env)
            .failure()
            .stderr_has(&format!("error[W005]: `{path}` {why}"))
            .stderr_has(&format!("dangerous-read = [\"{path}\"]"))
            .stderr_lacks("read the key: true");
    }
}

/// A dependency that stamps its crate with `cargo:rustc-env=CARGO_GIT_HASH=...`: cargo's
/// namespace is closed to `rustc-env`, but a name nothing reads while compiling can be
/// granted by name (`dangerous-rustc-env`, which `directives = ["rustc-env"]` does not
/// imply): the build says so, `approve` offers it marked dangerous, and the next build
/// passes with the crate's `env!` seeing the value.
#[test]
fn a_cargo_rustc_env_is_granted_by_name_and_offered_by_approve() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &crate::support::manifest(
                "app",
                "[dependencies]\nstamped = { path = \"stamped\" }\n\
                 [package.metadata.sandbox.allow.\"stamped@0.1.0\"]\ndirectives = [\"rustc-env\"]\n",
            ),
        )
        .file(
            "src/lib.rs",
            "pub fn hash() -> &'static str { stamped::HASH }\n",
        )
        .file("stamped/Cargo.toml", &crate::support::manifest("stamped", ""))
        .file(
            "stamped/build.rs",
            "fn main() { println!(\"cargo:rustc-env=CARGO_GIT_HASH=abc123\"); }\n",
        )
        .file(
            "stamped/src/lib.rs",
            "pub const HASH: &str = env!(\"CARGO_GIT_HASH\");\n",
        );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has(
            "needs permission to emit `cargo:rustc-env=CARGO_GIT_HASH` (dangerous: it overrides a cargo variable)",
        )
        .stderr_lacks("W104");
    project
        .wasm_build(&["approve", "--all"])
        .success()
        .stderr_has("dangerous-rustc-env = [\"CARGO_GIT_HASH\"]")
        .stderr_has("# dangerous:");
    assert!(
        project
            .read("Cargo.toml")
            .contains("dangerous-rustc-env = [\"CARGO_GIT_HASH\"]")
    );
    project.wasm_build(&[]).success();
    let output = &project.build_script_results("debug")["stamped"].output;
    assert!(
        output.contains("cargo:rustc-env=CARGO_GIT_HASH=abc123"),
        "{output}"
    );
    let card = project
        .wasm_build(&["permissions", "-p", "stamped", "--color", "always"])
        .stdout;
    assert!(
        card.contains("\x1b[1;31mdangerous: dangerous-rustc-env: CARGO_GIT_HASH"),
        "{card}"
    );
}

/// A script that writes a generated file into its own sources and copies a library next
/// to the binaries in `target/<profile>`: both writes are refused, the build names the
/// grants, `approve` offers them (the package's directory marked dangerous: those are its
/// sources), each the written file's directory and no more, and the next build writes
/// both. A write into cargo's own directories there (`deps`) is never offered (the grant
/// of the profile directory, once given, covers it: a directory grant covers what is
/// below it).
#[test]
fn writes_to_the_package_and_the_profile_directory_are_offered_by_approve() {
    let project = Project::new();
    project
        .file("Cargo.toml", &crate::support::manifest("writer", ""))
        .file("src/lib.rs", "")
        .file(
            "build.rs",
            r#"fn main() {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let profile = out.ancestors().nth(3).unwrap();
    let generated = std::fs::write("src/generated.rs", "// made by the script");
    let copied = std::fs::write(profile.join("libcopied.so"), "a library");
    let planted = std::fs::write(profile.join("deps/libplanted.rlib"), "x");
    println!("cargo:warning=generated {} copied {} planted {}", generated.is_ok(), copied.is_ok(), planted.is_ok());
}
"#,
        );
    let profile = project.target().join("debug");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has(&format!(
            "needs permission to write `src` (dangerous: the package's own sources): it tried to write `{}`",
            project.root().join("src/generated.rs").display()
        ))
        .stderr_has(&format!(
            "needs permission to write `{}`: it tried to write `{}`",
            profile.display(),
            profile.join("libcopied.so").display()
        ))
        .stderr_lacks("libplanted");
    project
        .wasm_build(&["approve", "--all"])
        .success()
        .stderr_has("dangerous-write = [\"src\"]")
        .stderr_has("# dangerous: write `src` (dangerous: the package's own sources)")
        .stderr_has(&format!("write = [\"{}\"]", profile.display()));
    assert!(!profile.join("deps/libplanted.rlib").exists());
    project
        .wasm_build(&[])
        .success()
        .stderr_has("generated true copied true");
    assert_eq!(project.read("src/generated.rs"), "// made by the script");
    assert_eq!(project.read("target/debug/libcopied.so"), "a library");
    let card = project
        .wasm_build(&["permissions", "-p", "writer", "--color", "always"])
        .stdout;
    assert!(
        card.contains("\x1b[1;31mdangerous: dangerous-write: src"),
        "the package write is shown dangerous: {card}"
    );
}
