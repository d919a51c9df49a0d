//! `cargo wasm-build approve --learn`: one learning build shows everything a graph's
//! scripts need, jailed, for one decision; and what it may never do.

use crate::support::{Project, manifest};

/// A script that runs a second program only when the first one worked, as the pkg-config
/// crate leads to cc: a pending first program (told it failed) hides the second, so
/// approving what a build showed needs another round. Printed as the build's own words.
const CHAINED: &str = r#"fn main() {
    let probe = std::process::Command::new("sh").args(["-c", "echo found"]).output().unwrap();
    if !probe.status.success() {
        panic!("the probe found nothing: {}", String::from_utf8_lossy(&probe.stderr));
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let made = std::process::Command::new("cp")
        .arg(std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("build.rs"))
        .arg(out.join("copied.rs"))
        .status()
        .unwrap();
    assert!(made.success());
    println!("cargo:value=[{}]", String::from_utf8_lossy(&probe.stdout).trim());
}
"#;

/// The dependent of [`CHAINED`], which copies its `links` value and runs a program too.
const DEPENDENT: &str = r#"fn main() {
    let value = std::env::var("DEP_MAKER_VALUE").unwrap();
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("value.txt"), &value).unwrap();
    let listed = std::process::Command::new("cat").arg("--version").output().unwrap();
    assert!(listed.status.success());
}
"#;

fn chained_project() -> Project {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest("top", "[dependencies]\nuser = { path = \"user\" }\n"),
        )
        .file("src/lib.rs", "")
        .file(
            "maker/Cargo.toml",
            "[package]\nname = \"maker\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlinks = \"maker\"\n",
        )
        .file("maker/src/lib.rs", "")
        .file("maker/build.rs", CHAINED)
        .file(
            "user/Cargo.toml",
            "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmaker = { path = \"../maker\" }\n",
        )
        .file("user/src/lib.rs", "")
        .file("user/build.rs", DEPENDENT);
    project
}

/// The first build stops on `sh` (the script panics on the pretence, and says so from the
/// discovery run too) and offers the learning build; `approve --learn` runs `sh`, `cp` and
/// `cat` jailed, approves all three in one decision, and the next build passes with every
/// script run again for real.
#[test]
fn a_learning_build_converges_in_one_approval_round() {
    let project = chained_project();
    let first = project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandboxed build script of `maker v0.1.0` needs permission to run `sh`")
        .stderr_lacks("needs permission to run `cp`")
        .stderr_has("or, to see everything this build needs in one round first, `cargo wasm-build approve --learn`");
    // What `approve --all` alone would write leaves `cp` for a second round.
    project
        .wasm_build(&["approve", "--all", "--dry-run"])
        .success()
        .stderr_has("exec = [\"sh\"]")
        .stderr_lacks("\"cp\"");
    drop(first);

    let other_dir = tempfile::tempdir().unwrap();
    let manifest_path = project.root().join("Cargo.toml");
    let mut learn = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
    learn
        .current_dir(other_dir.path())
        .args([
            "wasm-build",
            "approve",
            "--learn",
            "--yes",
            "--manifest-path",
        ])
        .arg(&manifest_path);
    let learned = project
        .run(learn)
        .success()
        .stderr_has("Learning")
        .stderr_has("Learned maker v0.1.0")
        .stderr_has("Learned user v0.1.0")
        .stderr_has("Approved 2 packages");
    assert!(
        learned.stderr.contains("run `cp`") && learned.stderr.contains("run `sh`"),
        "{}",
        learned.stderr
    );
    let written = project.read("Cargo.toml");
    assert!(written.contains("exec = [\"cp\", \"sh\"]"), "{written}");
    assert!(written.contains("exec = [\"cat\"]"), "{written}");
    assert!(
        !written.contains("# suggested"),
        "nothing guessed: {written}"
    );

    let built = project.wasm_build(&["-v"]).success().stderr_lacks("W101");
    // Both scripts ran again in this build, with what was approved.
    for script in ["maker v0.1.0", "user v0.1.0"] {
        assert!(built.stderr.contains(script), "{script}\n{}", built.stderr);
    }
    let results = project.build_script_results("debug");
    assert_eq!(results["user"].files["value.txt"], b"[found]");
    assert!(results["maker"].files.contains_key("copied.rs"));
    // The learning and discovery checks ran the same build-script units as the build:
    // nothing extra is left in the target directory (one compile, one run each).
    for package in ["maker", "user"] {
        let dirs = std::fs::read_dir(project.target().join("debug/build"))
            .unwrap()
            .flatten()
            .filter(|dir| {
                dir.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{package}-"))
            })
            .count();
        assert_eq!(dirs, 2, "{package}");
    }
}

/// A script that failed in the discovery run shows its last stderr lines there: cargo
/// hid that run's output, and "see its stderr above" would point at nothing.
#[test]
fn a_failed_script_of_the_discovery_run_shows_its_stderr() {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest("top", "[dependencies]\nuser = { path = \"user\" }\n"),
        )
        .file("src/lib.rs", "")
        .file(
            "maker/Cargo.toml",
            "[package]\nname = \"maker\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlinks = \"maker\"\n",
        )
        .file("maker/src/lib.rs", "")
        .file(
            "maker/build.rs",
            r#"fn main() { let _ = std::process::Command::new("sh").arg("-c").arg("true").status(); }"#,
        )
        .file(
            "user/Cargo.toml",
            "[package]\nname = \"user\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nmaker = { path = \"../maker\" }\n",
        )
        .file("user/src/lib.rs", "")
        .file(
            "user/build.rs",
            r#"fn main() {
    let out = std::process::Command::new("protoc").arg("--version").output().unwrap();
    eprintln!("protoc said: {}", String::from_utf8_lossy(&out.stderr).trim());
    panic!("could not compile the protos");
}
"#,
        );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandboxed build script of `maker v0.1.0` needs permission to run `sh`")
        .stderr_has("--- stderr of the build script of `user v0.1.0`")
        .stderr_has("could not compile the protos")
        .stderr_has("protoc said: sandbox[W101]: `protoc --version` did not run")
        .stderr_has("sandboxed build script of `user v0.1.0` needs permission to run `protoc`");
    // What the tool prints again from the discovery run is coloured as the build is.
    project
        .wasm_build(&["--color", "always"])
        .failure()
        .stderr_has("\x1b[1;31merror[W101]:\x1b[0m sandboxed build script of `user v0.1.0` needs permission to run `protoc`");
}

/// What a learning build may never do: a program it runs has no network and writes
/// nothing outside `OUT_DIR` (the jail of a granted program, no more); what leaves the
/// jail (network for a program, running natively) and dangerous keys stay pending and
/// stop the script as in any build.
#[test]
fn a_learning_build_runs_programs_jailed_and_learns_nothing_dangerous() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("top", ""))
        .file("src/lib.rs", "")
        .file(
            "build.rs",
            &r#"fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let script = format!(
        "echo pwned > {manifest}/src/planted.rs; echo $? > {out}/write-status; \
         (exec 3<>/dev/tcp/127.0.0.1/PORT && echo connected > {out}/net) ; echo $? > {out}/net-status"
    );
    let status = std::process::Command::new("bash").args(["-c", &script]).status().unwrap();
    println!("cargo:warning=bash exited {status}");
    println!("cargo:rustc-env=CARGO_SANDBOX_TEST_ID=evil");
}
"#
            .replace("PORT", &port.to_string()),
        );
    let learned = project
        .wasm_build(&["approve", "--learn", "--dry-run"])
        .success()
        .stderr_has("exec = [\"bash\"]")
        .stderr_has("Stopped top v0.1.0")
        .stderr_has("(it used run `bash`)")
        .stderr_has("needs permission to emit `cargo:rustc-env=CARGO_SANDBOX_TEST_ID`");
    drop(learned);
    assert!(!project.root().join("src/planted.rs").exists());
    let results = project.build_script_results("debug");
    let files = &results["top"].files;
    assert_ne!(
        files["write-status"], b"0\n",
        "the write into the package failed"
    );
    assert!(!files.contains_key("net"), "no connection was made");
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "nothing reached the listener");
}

/// Where the jail cannot be had, a learning build refuses before any script runs, even
/// with the opt-in to unconfined programs: it never runs what nobody reviewed unconfined.
#[test]
fn a_learning_build_refuses_without_the_jail_even_when_unconfined_is_allowed() {
    let project = chained_project();
    project
        .wasm_build_env(
            &["approve", "--learn", "--yes"],
            &[
                ("CARGO_WASM_BUILD_LANDLOCK_ABI", "0"),
                ("CARGO_WASM_BUILD_DANGEROUSLY_UNCONFINED_EXEC", "1"),
            ],
        )
        .failure()
        .stderr_has("error[W201]")
        .stderr_lacks("Learned");
    assert!(!project.read("Cargo.toml").contains("exec ="));
    assert!(project.build_script_results("debug").is_empty());
}

/// A new application as a user writes it, with a `-sys` crate that runs `cc` only after
/// pkg-config found its library (openssl-sys) and one that builds bundled C sources
/// (libsqlite3-sys): the first build, the learning build its error prints, one approval,
/// and the next build passes, from another directory, as printed.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn a_new_application_with_sys_crates_converges_in_one_round() {
    let project = Project::locked("learn-first-build");
    project
        .file(
            "Cargo.toml",
            &manifest(
                "app",
                "[dependencies]\nopenssl-sys = \"=0.9.118\"\nlibsqlite3-sys = { version = \"=0.30.1\", features = [\"bundled\"] }\n",
            ),
        )
        .file(
            "src/main.rs",
            r#"fn main() {
    let ssl = unsafe { openssl_sys::OpenSSL_version_num() };
    let sqlite = unsafe { libsqlite3_sys::sqlite3_libversion_number() };
    println!("{} {}", ssl > 0, sqlite > 3_000_000);
}
"#,
        );
    let first = project.wasm_build(&[]).failure();
    let printed = first
        .stderr
        .lines()
        .find_map(|line| {
            let start = line.find("`cargo wasm-build approve --learn")?;
            let rest = &line[start + 1..];
            Some(rest[..rest.find('`')?].to_string())
        })
        .unwrap_or_else(|| panic!("no learning command offered:\n{}", first.stderr));
    assert_eq!(printed, "cargo wasm-build approve --learn");

    let other_dir = tempfile::tempdir().unwrap();
    let mut learn = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
    learn
        .current_dir(other_dir.path())
        .args([
            "wasm-build",
            "approve",
            "--learn",
            "--yes",
            "--manifest-path",
        ])
        .arg(project.root().join("Cargo.toml"));
    project
        .run(learn)
        .success()
        .stderr_has("Learned openssl-sys v0.9.118")
        .stderr_has("Learned libsqlite3-sys v0.30.1")
        .stderr_has("Approved 2 packages");
    let written = project.read("Cargo.toml");
    let openssl = written
        .split("[package.metadata.sandbox.allow.\"openssl-sys@0.9.118\"]")
        .nth(1)
        .unwrap_or_else(|| panic!("{written}"));
    let openssl = openssl.split("\n[").next().unwrap();
    for program in ["\"cc\"", "\"pkg-config\""] {
        assert!(openssl.contains(program), "{program}: {written}");
    }

    project.wasm_build(&[]).success().stderr_lacks("W101");
    let output = std::process::Command::new(project.target().join("debug/app"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "true true\n");
}
