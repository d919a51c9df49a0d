//! The core pipeline: every build script runs as wasm32-wasip1 in wasmtime, and the build
//! comes out as cargo would make it.

use crate::support::{Project, host_triple, manifest};

/// A build script that proves where it ran: compiled for wasm32-wasip1, core's own `cfg!`
/// says `wasi` (std's, which scripts use, answers for the host in the sandbox too);
/// natively it is the host's.
const WHERE_AM_I: &str = r#"
fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let os = if core::cfg!(target_os = "wasi") { "wasi" } else { "native" };
    std::fs::write(format!("{out}/where.rs"), format!("pub const RAN_IN: &str = {os:?};")).unwrap();
    println!("cargo::rustc-cfg=generated");
    println!("cargo::rustc-check-cfg=cfg(generated)");
    println!("cargo:rerun-if-changed=build.rs");
}
"#;

const PRINT_WHERE: &str = r#"
include!(concat!(env!("OUT_DIR"), "/where.rs"));
fn main() {
    println!("build script ran in {RAN_IN}; generated cfg: {}", cfg!(generated));
}
"#;

fn where_am_i_project() -> Project {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("whereami", ""))
        .file("build.rs", WHERE_AM_I)
        .file("src/main.rs", PRINT_WHERE);
    project
}

fn run_binary(project: &Project, profile: &str, name: &str) -> String {
    let output = std::process::Command::new(project.target().join(profile).join(name))
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn build_script_runs_in_wasm_and_its_codegen_and_cfgs_reach_the_crate() {
    let project = where_am_i_project();
    project
        .wasm_build(&[])
        .success()
        .stderr_has("Sandboxed 1 build script in wasmtime: whereami v0.1.0");
    assert_eq!(
        run_binary(&project, "debug", "whereami"),
        "build script ran in wasi; generated cfg: true\n"
    );
    let results = project.build_script_results("debug");
    assert_eq!(
        results["whereami"].output,
        "cargo::rustc-cfg=generated\ncargo::rustc-check-cfg=cfg(generated)\ncargo:rerun-if-changed=build.rs\n"
    );
}

#[test]
fn plain_cargo_afterwards_runs_its_own_native_script_and_neither_confuses_the_other() {
    let project = where_am_i_project();
    project.wasm_build(&[]).success();
    project.cargo(&["build"]).success();
    assert_eq!(
        run_binary(&project, "debug", "whereami"),
        "build script ran in native; generated cfg: true\n"
    );
    // Back again: nothing is rebuilt, and the sandboxed artifacts are still the ones used.
    project
        .wasm_build(&["-v"])
        .success()
        .stderr_has("Fresh whereami");
    assert_eq!(
        run_binary(&project, "debug", "whereami"),
        "build script ran in wasi; generated cfg: true\n"
    );
}

#[test]
fn no_change_rebuild_runs_nothing() {
    // A build-dependency matters here: cargo reruns a script whose executable looks older
    // than the libraries it links.
    let project = build_dependency_project();
    project.wasm_build(&[]).success();
    project
        .wasm_build(&["-v"])
        .success()
        .stderr_lacks("Sandboxed")
        .stderr_lacks("Compiling")
        .stderr_lacks("Dirty");
}

/// Marks every stand-in of `project` as compiled by another version of the tool.
fn age_stand_ins(project: &Project) {
    for unit in std::fs::read_dir(project.target().join("debug/build"))
        .unwrap()
        .flatten()
    {
        let manifest = unit.path().join("wasm-build-standin.json");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["guest_key"] = "compiled-by-an-older-version".into();
        std::fs::write(&manifest, json.to_string()).unwrap();
    }
}

/// Cargo does not recompile a build script when only the tool changed; the tool notices
/// scripts compiled by another version (another std facade) and has them compiled again.
#[test]
fn scripts_compiled_by_another_tool_version_are_compiled_again() {
    let project = where_am_i_project();
    project.wasm_build(&[]).success();
    age_stand_ins(&project);
    std::fs::remove_file(project.target().join(".wasm-build-guest-key")).unwrap();
    project
        .wasm_build(&["-v"])
        .success()
        .stderr_has("Compiling whereami")
        .stderr_has("Sandboxed build script of whereami v0.1.0");
    assert!(run_binary(&project, "debug", "whereami").contains("ran in wasi"));
    project
        .wasm_build(&["-v"])
        .success()
        .stderr_lacks("Compiling");
}

/// A stale script the check did not catch (the directory was checked by this version
/// and an older one built there since) is refused, never run with the old facade.
#[test]
fn a_stale_script_that_slips_through_is_refused() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("rerun", ""))
        .file(
            "build.rs",
            r#"fn main() { println!("cargo:rerun-if-env-changed=STALE_RERUN"); }"#,
        )
        .file("src/lib.rs", "");
    project.wasm_build(&[]).success();
    age_stand_ins(&project);
    let run = project
        .wasm_build_env(&[], &[("STALE_RERUN", "1")])
        .failure()
        .stderr_has("belongs to a build script compiled by another version of cargo-wasm-build")
        .stderr_has("run `cargo clean`");
    assert!(
        run.stderr
            .lines()
            .filter(|line| line.contains("belongs to a build script compiled"))
            .all(|line| line.trim_start().starts_with("error[W404]: ")),
        "{}",
        run.stderr
    );
}

#[test]
fn release_profile_and_verbose_listing() {
    let project = where_am_i_project();
    project
        .wasm_build(&["--release", "-v"])
        .success()
        .stderr_has("Sandboxed build script of whereami v0.1.0 in wasmtime (");
    assert_eq!(
        run_binary(&project, "release", "whereami"),
        "build script ran in wasi; generated cfg: true\n"
    );
}

#[test]
fn custom_build_path() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest("custom", "").replace(
                "publish = false",
                "publish = false\nbuild = \"tools/gen.rs\"",
            ),
        )
        .file("tools/gen.rs", WHERE_AM_I)
        .file("src/main.rs", PRINT_WHERE);
    project.wasm_build(&[]).success();
    assert_eq!(
        run_binary(&project, "debug", "custom"),
        "build script ran in wasi; generated cfg: true\n"
    );
}

#[test]
fn links_metadata_flows_to_dependents() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            "[workspace]\nmembers = [\"native-lib\", \"app\"]\nresolver = \"2\"\n",
        )
        .file(
            "native-lib/Cargo.toml",
            &manifest("native-lib", "")
                .replace("publish = false", "publish = false\nlinks = \"nativelib\""),
        )
        .file(
            "native-lib/build.rs",
            r#"fn main() {
                println!("cargo:include=/opt/nativelib/include");
                println!("cargo::metadata=version=4.2");
            }"#,
        )
        .file("native-lib/src/lib.rs", "")
        .file(
            "app/Cargo.toml",
            &manifest(
                "app",
                "[dependencies]\nnative-lib = { path = \"../native-lib\" }",
            ),
        )
        .file(
            "app/build.rs",
            r#"fn main() {
                let include = std::env::var("DEP_NATIVELIB_INCLUDE").unwrap();
                let version = std::env::var("DEP_NATIVELIB_VERSION").unwrap();
                println!("cargo::rustc-env=NATIVELIB={include} {version}");
            }"#,
        )
        .file(
            "app/src/main.rs",
            r#"fn main() { println!("{}", env!("NATIVELIB")); }"#,
        )
        .file(
            "Cargo.toml",
            "[workspace]\nmembers = [\"native-lib\", \"app\"]\nresolver = \"2\"\n\n\
             [workspace.metadata.sandbox.allow.\"app@0.1.0\"]\ndirectives = [\"rustc-env\"]\n",
        );
    project
        .wasm_build(&["--workspace"])
        .success()
        .stderr_has("Sandboxed 2 build scripts");
    assert_eq!(
        run_binary(&project, "debug", "app"),
        "/opt/nativelib/include 4.2\n"
    );
}

#[test]
fn build_dependency_with_its_own_build_script() {
    let project = build_dependency_project();
    project.wasm_build(&["-p", "app"]).success();
    assert_eq!(run_binary(&project, "debug", "app"), "84\n");
}

/// `app`, whose build script uses `helper`, a build-dependency with a build script.
fn build_dependency_project() -> Project {
    let project = Project::new();
    project
        .file("Cargo.toml", "[workspace]\nmembers = [\"helper\", \"app\"]\nresolver = \"2\"\n")
        .file("helper/Cargo.toml", &manifest("helper", ""))
        .file(
            "helper/build.rs",
            r#"fn main() {
                let out = std::env::var("OUT_DIR").unwrap();
                std::fs::write(format!("{out}/answer.rs"), "pub const ANSWER: u32 = 42;").unwrap();
                println!("cargo::rustc-cfg=helper_generated");
                println!("cargo::rustc-check-cfg=cfg(helper_generated)");
            }"#,
        )
        .file(
            "helper/src/lib.rs",
            r#"include!(concat!(env!("OUT_DIR"), "/answer.rs"));
               #[cfg(helper_generated)]
               pub fn twice() -> u32 { ANSWER * 2 }"#,
        )
        .file(
            "app/Cargo.toml",
            &manifest("app", "[build-dependencies]\nhelper = { path = \"../helper\" }"),
        )
        .file(
            "app/build.rs",
            r#"fn main() {
                let out = std::env::var("OUT_DIR").unwrap();
                std::fs::write(format!("{out}/value.rs"), format!("const VALUE: u32 = {};", helper::twice())).unwrap();
            }"#,
        )
        .file(
            "app/src/main.rs",
            r#"include!(concat!(env!("OUT_DIR"), "/value.rs"));
               fn main() { println!("{VALUE}"); }"#,
        );
    project
}

#[test]
fn panicking_script_fails_the_build_naming_the_package() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("boom", ""))
        .file(
            "build.rs",
            r#"fn main() { panic!("the build script gave up"); }"#,
        )
        .file("src/lib.rs", "");
    let run = project.wasm_build(&[]).failure();
    assert_eq!(run.code, Some(101), "cargo's own exit status");
    run.stderr_has("failed to run custom build command for `boom v0.1.0")
        .stderr_has("the build script gave up")
        .stderr_has("error[W501]: sandboxed build script of `boom v0.1.0` panicked");
}

#[test]
fn non_zero_exit_status_is_reported() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("quitter", ""))
        .file("build.rs", r#"fn main() { std::process::exit(3); }"#)
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("error[W501]: sandboxed build script of `quitter v0.1.0` exited with status 3");
}

#[test]
fn cross_build_gives_the_script_target_and_host() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("crossed", "[lib]\ncrate-type = [\"rlib\"]"))
        .file(
            "build.rs",
            r#"fn main() {
                let target = std::env::var("TARGET").unwrap();
                let host = std::env::var("HOST").unwrap();
                let out = std::env::var("OUT_DIR").unwrap();
                std::fs::write(format!("{out}/triples.txt"), format!("{target} from {host}")).unwrap();
            }"#,
        )
        .file("src/lib.rs", "pub fn f() {}");
    project
        .wasm_build(&["--target", "wasm32-wasip1"])
        .success()
        .stderr_has("Sandboxed 1 build script");
    // The script is compiled as a host unit; it runs for the target's profile directory.
    let results = project.build_script_results("wasm32-wasip1/debug");
    let triples = String::from_utf8(results["crossed"].files["triples.txt"].clone()).unwrap();
    assert_eq!(triples, format!("wasm32-wasip1 from {}", host_triple()));
}

#[test]
fn check_with_json_messages_keeps_stdout_machine_readable() {
    let project = where_am_i_project();
    let run = project
        .wasm_build(&["check", "--message-format=json"])
        .success();
    let mut executed = false;
    for line in run.stdout.lines() {
        let message: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("not JSON on stdout: {line:?}: {err}"));
        if message["reason"] == "build-script-executed" {
            executed = true;
            assert_eq!(message["cfgs"][0], "generated");
        }
    }
    assert!(executed, "cargo reported the build script:\n{}", run.stdout);
}

#[test]
fn compile_errors_keep_cargo_s_exit_status_and_diagnostics() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("broken", ""))
        .file("build.rs", "fn main() { let x: u32 = \"not a number\"; }")
        .file("src/lib.rs", "");
    let run = project.wasm_build(&[]).failure();
    assert_eq!(run.code, Some(101));
    run.stderr_has("mismatched types")
        .stderr_has("could not compile `broken` (build script)");
}

/// A build script runs on the host: `std::env::consts` describe the host in the sandbox
/// too (natively they would; in wasm32-wasip1's std they describe wasi), so a script
/// looking for `libclang.so` does not look for `clang.wasm`.
#[test]
fn std_env_consts_describe_the_host() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("consts", ""))
        .file("src/lib.rs", "")
        .file(
            "build.rs",
            r#"fn main() {
    use std::env::consts::*;
    println!("cargo:warning=consts {OS} {FAMILY} {ARCH} {DLL_PREFIX}x{DLL_SUFFIX} x{EXE_SUFFIX} {DLL_EXTENSION}");
    assert!(core::cfg!(target_os = "wasi"), "the script itself is still wasm");
    assert!(!cfg!(target_os = "wasi"), "std's cfg! answers for the host");
}
"#,
        );
    project.wasm_build(&[]).success();
    use std::env::consts::*;
    let expected = format!(
        "cargo:warning=consts {OS} {FAMILY} {ARCH} {DLL_PREFIX}x{DLL_SUFFIX} x{EXE_SUFFIX} {DLL_EXTENSION}"
    );
    let results = project.build_script_results("debug");
    assert!(
        results["consts"].output.contains(&expected),
        "{}",
        results["consts"].output
    );
}

/// Ctrl-C in the middle of a build script that started a program: the terminal signals
/// the whole process group; the tool, cargo and the stand-in stop, the program (which
/// lives in a session of its own, out of the terminal's reach) is stopped too, and no
/// temporary file or directory of the tool is left behind. The tool exits with the
/// shell's status for SIGINT.
#[test]
fn an_interrupted_build_leaves_nothing_behind() {
    use std::os::unix::process::CommandExt;
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest(
                "slow",
                "[package.metadata.sandbox.allow.\"slow@0.1.0\"]\nexec = [\"sleep\"]\n",
            ),
        )
        .file("src/lib.rs", "")
        .file(
            "build.rs",
            r#"fn main() {
    let mut sleeper = std::process::Command::new("sleep").arg("287").spawn().unwrap();
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/started"), "").unwrap();
    sleeper.wait().unwrap();
}
"#,
        );
    let temp = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
    project.prepare(&mut command);
    command
        .arg("wasm-build")
        .env("TMPDIR", temp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0);
    let mut tool = command.spawn().unwrap();
    let pgid = i32::try_from(tool.id()).unwrap();
    let started = || {
        std::fs::read_dir(project.target().join("debug/build"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|dir| dir.path().join("out/started").exists())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !started() {
        assert!(
            std::time::Instant::now() < deadline,
            "the script never started"
        );
        assert!(tool.try_wait().unwrap().is_none(), "the build ended early");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: signals the process group the test made for the tool.
    assert_eq!(unsafe { libc::killpg(pgid, libc::SIGINT) }, 0);
    let status = tool.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    // The stand-in removes what it made on its way out, after the tool has gone.
    let left = || -> Vec<String> {
        std::fs::read_dir(temp.path())
            .unwrap()
            .flatten()
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let sleepers = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|entry| {
                std::fs::read(entry.path().join("cmdline"))
                    .is_ok_and(|cmdline| cmdline.ends_with(b"sleep\x00287\x00"))
            })
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while (!left().is_empty() || sleepers() > 0) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(left(), Vec::<String>::new(), "temporary files left behind");
    assert_eq!(sleepers(), 0, "the script's program outlived the build");
}
