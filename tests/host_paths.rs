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

/// The package directory cargo extracted `name-version` into, under the cargo home the
/// tests use.
fn downloaded_package(name_version: &str) -> std::path::PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo")
        });
    std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flatten()
        .map(|index| index.path().join(name_version))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("{name_version} was downloaded"))
}

/// A `*-src` crate ships the C sources its `-sys` dependent compiles (lua-src lists them
/// and copies the headers; cc compiles them): the directory of a downloaded
/// build-dependency is readable by the script and its programs with no grant, and nothing
/// else of cargo's home is, not the registry's listing nor another package's directory.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn a_src_crate_build_dependency_is_read_without_a_grant() {
    let project = Project::locked("host-paths-lua-src");
    project
        .file(
            "Cargo.toml",
            &manifest(
                "lua-consumer",
                "[build-dependencies]\nlua-src = \"=551.1.0\"\n\
                 [package.metadata.sandbox.allow.\"lua-consumer@0.1.0\"]\nexec = [\"cc\", \"ar\"]\n",
            ),
        )
        .file("src/lib.rs", "")
        .file("build.rs", "fn main() {}");
    project.cargo(&["fetch"]).success();
    let sources = downloaded_package("lua-src-551.1.0");
    let registry = sources.parent().unwrap().to_path_buf();
    // A package of the registry that this script does not link.
    let other = std::fs::read_dir(&registry)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .find(|dir| {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            dir.join("Cargo.toml").is_file()
                && ![
                    "lua-src-",
                    "cc-",
                    "shlex-",
                    "find-msvc-tools-",
                    "jobserver-",
                    "libc-",
                ]
                .iter()
                .any(|linked| name.starts_with(linked))
        })
        .unwrap();
    project.file(
        "build.rs",
        &format!(
            r#"fn main() {{
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let hidden = |path: &str| std::fs::read_dir(path).is_err();
    std::fs::write(
        out.join("hidden.txt"),
        format!("registry {{}}\nother {{}}\n", hidden({registry:?}), hidden({other:?})),
    )
    .unwrap();
    lua_src::Build::new().build(lua_src::Lua51).print_cargo_metadata();
}}
"#
        ),
    );
    project
        .wasm_build(&[])
        .success()
        // Only what the script probed on purpose is said to be hidden.
        .stderr_has("which exist here but are hidden from it")
        .stderr_lacks("lua-src-551.1.0")
        .stderr_lacks("W101");
    let results = project.build_script_results("debug");
    let script = &results["lua-consumer"];
    assert_eq!(
        String::from_utf8_lossy(&script.files["hidden.txt"]),
        "registry true\nother true\n"
    );
    // The headers lua-src copied from its sources, and the library cc compiled from them.
    assert_eq!(
        script.files["include/lua.h"],
        std::fs::read(sources.join("lua-5.1.5/lua.h")).unwrap()
    );
    assert!(
        script.files.contains_key("lib/liblua5.1.a"),
        "{:?}",
        script.files.keys()
    );
    assert!(
        script.output.contains("cargo:rustc-link-lib=static=lua5.1"),
        "{}",
        script.output
    );
}
