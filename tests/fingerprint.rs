//! Grants are part of a build script's fingerprint: changing a package's grant reruns
//! exactly that package's script, and cargo's own rerun rules stay as the script left
//! them.

use std::collections::BTreeSet;

use crate::support::{Project, Run};

/// A path dependency in `vendor/NAME` whose build script runs `sh` (falling back without
/// it) and prints `reruns` besides.
fn sys_crate(project: &Project, name: &str, reruns: &str) {
    let cfg = name.replace('-', "_");
    project
        .file(
            &format!("vendor/{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
        )
        .file(
            &format!("vendor/{name}/build.rs"),
            &format!(
                r#"fn main() {{
                    {reruns}
                    println!("cargo::rustc-check-cfg=cfg(used_sh)");
                    let ran = std::process::Command::new("sh").arg("-c").arg("true").status();
                    if ran.is_ok_and(|status| status.success()) {{
                        println!("cargo::rustc-cfg=used_sh");
                    }}
                }}"#
            ),
        )
        .file(
            &format!("vendor/{name}/src/lib.rs"),
            &format!("pub fn {cfg}() -> bool {{ cfg!(used_sh) }}\n"),
        );
}

/// The consumer: a workspace in `ws/` whose member `ws/app` has a build script that
/// prints no `rerun-if-*`; `grants` are the workspace's sandbox tables.
fn consumer(project: &Project, grants: &str) {
    project.file(
        "ws/Cargo.toml",
        &format!("[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n\n{grants}"),
    );
}

fn member(project: &Project) {
    project
        .file(
            "ws/app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\na-sys = { path = \"../../vendor/a-sys\" }\n\
             b-sys = { path = \"../../vendor/b-sys\" }\n",
        )
        .file("ws/app/build.rs", "fn main() {}\n")
        .file(
            "ws/app/src/main.rs",
            "fn main() { println!(\"a: {} b: {}\", a_sys::a_sys(), b_sys::b_sys()); }\n",
        );
}

fn grant(name: &str, table: &str) -> String {
    format!("[workspace.metadata.sandbox.{table}.\"{name}@1.0.0\"]\nexec = [\"sh\"]\n\n")
}

/// `cargo wasm-build -v` on the workspace, from the directory above it, into a target
/// directory inside the member `app`, whose build script names no `rerun-if-*`.
fn build(project: &Project) -> Run {
    project.wasm_build(&[
        "-v",
        "--manifest-path",
        "ws/Cargo.toml",
        "--target-dir",
        "ws/app/target",
    ])
}

/// The packages whose build scripts cargo ran, from its `-v` `Running` lines.
fn scripts_run(run: &Run) -> BTreeSet<String> {
    run.stderr
        .lines()
        .filter(|line| {
            line.trim_start().starts_with("Running `") && line.contains("build-script-build")
        })
        .filter_map(|line| {
            let dir = line.split("/build/").nth(1)?.split('/').next()?;
            Some(dir.rsplit_once('-')?.0.to_string())
        })
        .collect()
}

fn says(project: &Project) -> String {
    let output = std::process::Command::new(project.root().join("ws/app/target/debug/app"))
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(ToString::to_string).collect()
}

#[test]
fn a_changed_grant_reruns_exactly_the_scripts_it_affects() {
    let project = Project::new();
    sys_crate(
        &project,
        "a-sys",
        r#"println!("cargo::rerun-if-changed=build.rs");"#,
    );
    sys_crate(&project, "b-sys", "");
    member(&project);
    consumer(
        &project,
        &format!("{}{}", grant("a-sys", "allow"), grant("b-sys", "allow")),
    );
    let first = build(&project).success();
    assert_eq!(scripts_run(&first), set(&["a-sys", "app", "b-sys"]));
    assert_eq!(says(&project), "a: true b: true\n");

    // Nothing changed: every script stays fresh, the consumer's too, although its
    // target directory is inside it and every build writes there.
    let again = build(&project).success();
    assert_eq!(scripts_run(&again), set(&[]), "{}", again.stderr);

    // a-sys's grant becomes a denial: its script reruns and falls back; no other does.
    consumer(
        &project,
        &format!("{}{}", grant("a-sys", "deny"), grant("b-sys", "allow")),
    );
    let denied = build(&project).success();
    assert_eq!(scripts_run(&denied), set(&["a-sys"]), "{}", denied.stderr);
    denied.stderr_has("Fresh b-sys v1.0.0");
    assert_eq!(says(&project), "a: false b: true\n");

    // b-sys's grant is removed: its script reruns, so the build fails here as a clean
    // build (CI) would, instead of passing on the old run.
    consumer(&project, &grant("a-sys", "deny"));
    // Before that build, the gates already know: the last run of b-sys used the grant.
    let gate = &[
        "--manifest-path",
        "ws/Cargo.toml",
        "--target-dir",
        "ws/app/target",
    ];
    let check = project
        .wasm_build(&[&["permissions", "--check"][..], gate].concat())
        .failure();
    assert_eq!(check.code, Some(1));
    check.stderr_has("b-sys 1.0.0: its last run used grants removed since: run `sh`");
    let strict = project
        .wasm_build(&[&["-v", "--sandbox-mode", "strict"][..], gate].concat())
        .failure();
    assert_eq!(strict.code, Some(1));
    assert_eq!(scripts_run(&strict), set(&[]), "{}", strict.stderr);
    strict.stderr_has("  b-sys v1.0.0 (its last run used grants removed since): run `sh`\n");
    let removed = build(&project).failure();
    assert_eq!(scripts_run(&removed), set(&["b-sys"]), "{}", removed.stderr);
    removed.stderr_has("sandboxed build script of `b-sys v1.0.0` needs permission to run `sh`");

    // Granted again; then a file of b-sys changes: a script that names no `rerun-if-*`
    // still reruns on its package's files, as cargo's default does.
    consumer(
        &project,
        &format!("{}{}", grant("a-sys", "deny"), grant("b-sys", "allow")),
    );
    assert_eq!(scripts_run(&build(&project).success()), set(&["b-sys"]));
    project.file("vendor/b-sys/src/extra.rs", "// new file\n");
    let touched = build(&project).success();
    assert_eq!(scripts_run(&touched), set(&["b-sys"]), "{}", touched.stderr);
    assert_eq!(says(&project), "a: false b: true\n");
}

/// Cargo's own account of why the script reruns names the package's grant file.
#[test]
fn cargo_says_the_grant_changed() {
    let project = Project::new();
    sys_crate(
        &project,
        "a-sys",
        r#"println!("cargo::rerun-if-changed=build.rs");"#,
    );
    sys_crate(&project, "b-sys", "");
    member(&project);
    consumer(&project, &grant("a-sys", "allow"));
    build(&project).failure();
    consumer(
        &project,
        &format!("{}{}", grant("a-sys", "deny"), grant("b-sys", "deny")),
    );
    let run = project
        .wasm_build_env(
            &[
                "--manifest-path",
                "ws/Cargo.toml",
                "--target-dir",
                "ws/app/target",
            ],
            &[("CARGO_LOG", "cargo::core::compiler::fingerprint=info")],
        )
        .success();
    let reason = run
        .stderr
        .lines()
        .find(|line| line.contains("wasm-build/grants/a-sys-"))
        .unwrap_or_else(|| panic!("no fingerprint line names a-sys's grants\n{}", run.stderr));
    eprintln!("{reason}");
    assert!(reason.contains("stale"), "{reason}");
}
