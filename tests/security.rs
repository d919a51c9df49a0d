//! One test per attack class of the threat model (DESIGN.md): each runs a hostile build
//! script and proves the attempt failed, that nothing leaked or changed, and, where the
//! build must fail, that the error explains it.

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::support::hostile::{
    CANARY, PRELUDE, assert_failed, assert_no_canary_under, fake_home, hostile, parse_report,
    report,
};
use crate::support::{Project, manifest};

#[test]
fn secrets_by_path_are_out_of_reach() {
    let home = fake_home();
    let home_path = home.path().display().to_string();
    let project = hostile(
        &format!(
            r#"
    attempt("absolute", std::fs::read_to_string("{home_path}/.ssh/id_rsa"));
    attempt("credentials", std::fs::read_to_string("{home_path}/.cargo/credentials.toml"));
    attempt("dotdot", std::fs::read_to_string("../../../../../../../../../..{home_path}/.ssh/id_rsa"));
    attempt("link-in-package", std::fs::read_to_string("leak"));
    attempt("proc-environ", std::fs::read("/proc/self/environ"));
    attempt("proc-parent", std::fs::read("/proc/1/environ"));
    attempt("etc", std::fs::read("/etc/passwd"));
    record("root entries", &std::fs::read_dir("/").map(|d| d.count()).unwrap_or(0).to_string());
    attempt("own-source", std::fs::read_to_string("src/lib.rs"));
"#
        ),
        "",
    );
    // A package may even ship a symlink pointing at a secret: it is not followed.
    std::os::unix::fs::symlink(home.path().join(".ssh/id_rsa"), project.root().join("leak"))
        .unwrap();
    project
        .wasm_build_env(&[], &[("HOME", &home_path)])
        .success();
    let report = report(&project);
    assert_failed(
        &report,
        &[
            "absolute",
            "credentials",
            "dotdot",
            "link-in-package",
            "proc-environ",
            "proc-parent",
            "etc",
        ],
    );
    // `/` is an empty directory that only records what the script looked for.
    assert_eq!(report["root entries"], "0");
    assert_eq!(
        report["own-source"], "ok",
        "the package itself stays readable"
    );
    assert_no_canary_under(&project.target());
}

#[test]
fn environment_secrets_are_hidden() {
    let project = hostile(
        r#"
    let mut all: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    all.sort();
    std::fs::write(format!("{}/env.txt", std::env::var("OUT_DIR").unwrap()), all.join("\n")).unwrap();
    attempt("token", std::env::var("CARGO_REGISTRY_TOKEN"));
    attempt("aws", std::env::var("AWS_SECRET_ACCESS_KEY"));
    attempt("home", std::env::var("HOME"));
    attempt("path", std::env::var("PATH"));
    attempt("target", std::env::var("TARGET"));
"#,
        "",
    );
    project
        .wasm_build_env(
            &[],
            &[
                ("CARGO_REGISTRY_TOKEN", CANARY),
                ("AWS_SECRET_ACCESS_KEY", CANARY),
                ("SSH_AUTH_SOCK", "/tmp/agent.sock"),
            ],
        )
        .success();
    let report = report(&project);
    assert_failed(&report, &["token", "aws", "home", "path"]);
    assert_eq!(report["target"], "ok");
    let env = String::from_utf8(
        project.build_script_results("debug")["hostile"].files["env.txt"].clone(),
    )
    .unwrap();
    for line in env.lines() {
        let name = line.split('=').next().unwrap();
        let cargo_set = name.starts_with("CARGO_")
            || name.starts_with("DEP_")
            || [
                "CARGO",
                "OUT_DIR",
                "TARGET",
                "HOST",
                "NUM_JOBS",
                "OPT_LEVEL",
                "DEBUG",
                "PROFILE",
                "RUSTC",
                "RUSTDOC",
                "RUSTC_LINKER",
            ]
            .contains(&name);
        // Build settings of the test's own environment (`CFLAGS`, say) pass by design.
        let build_setting = wasm_build_policy::env::build_setting(name).is_some();
        assert!(cargo_set || build_setting, "the guest saw `{name}`");
        assert!(
            !name.starts_with("CARGO_REGISTRY") && name != "CARGO_HOME",
            "the guest saw `{name}`"
        );
    }
    assert_no_canary_under(&project.target());
}

#[test]
fn writes_outside_out_dir_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let outside_path = outside.path().display().to_string();
    let project = hostile(
        &format!(
            r#"
    let out = std::env::var("OUT_DIR").unwrap();
    attempt("source", std::fs::write("src/lib.rs", "pub fn pwned() {{}}"));
    attempt("new-source", std::fs::write("src/evil.rs", "x"));
    attempt("manifest", std::fs::OpenOptions::new().append(true).open("Cargo.toml"));
    attempt("dotdot", std::fs::write(format!("{{out}}/../../../../escape.txt"), "x"));
    attempt("absolute", std::fs::write("{outside_path}/pwned.txt", "x"));
    attempt("sibling-out-dir", std::fs::write(format!("{{out}}/../../other/out/x"), "x"));
    attempt("remove-source", std::fs::remove_file("build.rs"));
    attempt("inside", std::fs::write(format!("{{out}}/fine.txt"), "fine"));
"#
        ),
        "",
    );
    let source_before = project.read("src/lib.rs");
    // Writes into its own sources are refused and pending review, with the grant that
    // would allow them marked dangerous; writes anywhere else are not even offered.
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("needs permission to write `src` (dangerous: the package's own sources)")
        .stderr_has("needs permission to write `.` (dangerous: the package's own sources)")
        .stderr_lacks("pwned.txt")
        .stderr_lacks("escape.txt")
        .stderr_lacks("other/out");
    assert_eq!(project.read("src/lib.rs"), source_before);
    // Denied, they are refused quietly, and the build goes on as the script chooses.
    project
        .wasm_build(&["deny", "hostile@0.1.0"])
        .success()
        .stderr_has("dangerous-write = [\".\", \"src\"]");
    project.wasm_build(&[]).success();
    let report = report(&project);
    assert_failed(
        &report,
        &[
            "source",
            "new-source",
            "manifest",
            "dotdot",
            "absolute",
            "sibling-out-dir",
            "remove-source",
        ],
    );
    assert_eq!(report["inside"], "ok");
    assert_eq!(project.read("src/lib.rs"), source_before);
    assert!(!project.root().join("src/evil.rs").exists());
    assert!(project.root().join("build.rs").exists());
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(!project.target().join("escape.txt").exists());
}

#[test]
fn links_out_of_out_dir_are_removed_and_fail_the_build() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), CANARY).unwrap();
    let secret = outside.path().join("secret").display().to_string();
    let project = hostile(
        &format!(
            r#"
    let out = std::env::var("OUT_DIR").unwrap();
    #[allow(deprecated)]
    {{
        attempt("absolute-symlink", std::fs::soft_link("{secret}", format!("{{out}}/abs")));
        attempt("relative-symlink", std::fs::soft_link("../../../../../../../../../..{secret}", format!("{{out}}/rel")));
        attempt("source-symlink", std::fs::soft_link("../../../../../../../../../../{manifest_dir}/src/lib.rs", format!("{{out}}/src")));
    }}
    attempt("hard-link-source", std::fs::hard_link("src/lib.rs", format!("{{out}}/hard")));
    if std::path::Path::new(&format!("{{out}}/hard")).exists() {{
        attempt("write-through-hard-link", std::fs::write(format!("{{out}}/hard"), "pwned"));
    }}
"#,
            manifest_dir = "MANIFEST_DIR"
        ),
        "",
    );
    let manifest_dir = project.root().display().to_string();
    let build = project
        .read("build.rs")
        .replace("MANIFEST_DIR", &manifest_dir);
    project.file("build.rs", &build);
    let source_before = project.read("src/lib.rs");
    let run = project.wasm_build(&[]).failure();
    assert_eq!(
        project.read("src/lib.rs"),
        source_before,
        "the source is untouched"
    );
    let out_dir = fs::read_dir(project.target().join("debug/build"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("out"))
        .find(|out| out.is_dir())
        .unwrap();
    for link in ["abs", "rel", "src"] {
        assert!(
            fs::symlink_metadata(out_dir.join(link)).is_err(),
            "{link} was left in OUT_DIR"
        );
    }
    // Relative links can be made (WASI does not resolve them when creating), so the check
    // after the run has to find and remove them; absolute ones and hard links into the
    // read-only package are refused right away.
    run.stderr_has("error[W503]: sandboxed build script of `hostile v0.1.0` left a symlink")
        .stderr_has("/out/rel` pointing outside OUT_DIR to `../../../../../../../../../..")
        .stderr_has("/out/src` pointing outside OUT_DIR to");
    let report = parse_report(&fs::read_to_string(out_dir.join("report.txt")).unwrap());
    assert_failed(&report, &["absolute-symlink", "hard-link-source"]);
    assert!(!report.contains_key("write-through-hard-link"));
    assert_no_canary_under(&project.target());
}

#[test]
fn network_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let project = hostile(
        &format!(
            r#"
    attempt("tcp", std::net::TcpStream::connect("127.0.0.1:{port}"));
    attempt("udp", std::net::UdpSocket::bind("127.0.0.1:0"));
    attempt("bash", std::process::Command::new("bash").arg("-c").arg("echo hi > /dev/tcp/127.0.0.1/{port}").output().map(|o| if o.status.success() {{ Ok(()) }} else {{ Err(o.status) }}).and_then(|r| r.map_err(|s| std::io::Error::other(s.to_string()))));
"#
        ),
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"bash\"]\n",
    );
    project.wasm_build(&[]).success();
    let report = report(&project);
    assert_failed(&report, &["tcp", "udp", "bash"]);
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        listener.accept().is_err(),
        "nothing connected to the listener"
    );
}

#[test]
fn spawning_is_denied_without_a_grant() {
    let outside = tempfile::tempdir().unwrap();
    let marker = outside.path().join("pwned").display().to_string();
    let project = hostile(
        &format!(
            r#"
    attempt("sh", std::process::Command::new("sh").arg("-c").arg("touch {marker}").status());
    attempt("absolute-sh", std::process::Command::new("/bin/sh").arg("-c").arg("touch {marker}").status());
"#
        ),
        "",
    );
    let run = project.wasm_build(&[]).failure();
    run.stderr_has("sandboxed build script of `hostile v0.1.0` needs permission to run `sh`: it tried to run `sh -c 'touch ")
        .stderr_has("help: to allow it, run `cargo wasm-build approve hostile@0.1.0`")
        .stderr_has("exec = [\"sh\"]");
    assert!(!Path::new(&marker).exists());
}

/// What a build script prints, runs and names, and what its programs print, reaches the
/// user's terminal inert through every message that quotes it and through the warnings
/// cargo prints: OSC 52 (writes the clipboard), OSC 0 (retitles the window), cursor and
/// erase codes, a right-to-left override. Each is shown as `\u{..}` instead.
#[test]
fn what_a_script_wrote_reaches_the_terminal_inert() {
    const HOSTILE: &str = r"\x1b]52;c;b3duZWQ=\x07\x1b]0;owned\x07\x1b[2K\x1b[1A\u{202e}";
    let shown = r"\u{1b}]52;c;b3duZWQ=\u{7}\u{1b}]0;owned\u{7}\u{1b}[2K\u{1b}[1A\u{202e}";
    let raw = "\x1b]52;c;b3duZWQ=\x07\x1b]0;owned\x07\x1b[2K\x1b[1A\u{202e}";
    let outside = tempfile::tempdir().unwrap();
    let looked_for = outside.path().join(raw);
    fs::create_dir(&looked_for).unwrap();
    let looked_for = outside.path().display().to_string();
    let project = hostile(
        &format!(
            r##"
    let h = "{HOSTILE}";
    let out = std::env::var("OUT_DIR").unwrap();
    println!("cargo:warning=old {{h}}");
    println!("cargo::warning=new {{h}}");
    println!("cargo::error=error {{h}}");
    println!("cargo:rustc-env=E{{h}}=1");
    let _ = std::fs::metadata(format!("{looked_for}/{{h}}"));
    // Granted: fails the way a program the jail stopped fails, printing the escapes.
    let _ = std::process::Command::new("sh")
        .args(["-c", "echo \"$0: Permission denied\" >&2; exit 1", h])
        .output();
    // Awaiting review: its name, arguments and a variable it sets hold the escapes.
    let _ = std::process::Command::new("env")
        .arg(format!("-{{h}}"))
        .env(format!("LD_{{h}}"), h)
        .status();
    let built = format!("{{out}}/{{h}}");
    std::fs::write(&built, "#!/bin/sh\n").unwrap();
    let _ = std::process::Command::new(&built).arg(h).status();
    let rustc = std::env::var("RUSTC").unwrap();
    let _ = std::process::Command::new(rustc).args(["-C", &format!("linker={{h}}"), "-vV"]).output();
"##
        ),
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"sh\"]\n",
    );
    let run = project.wasm_build(&[]).failure();
    let all = format!("{}{}", run.stdout, run.stderr);
    for raw in ['\x1b', '\x07', '\u{202e}'] {
        assert!(!all.contains(raw), "{raw:?} reached the terminal:\n{all}");
    }
    for expected in [
        // cargo's warnings and errors, as the stand-in handed them on
        format!("old {shown}"),
        format!("new {shown}"),
        format!("error {shown}"),
        // the broker's notes to the script's stderr
        // (quoted by the one shell quoting, shlex's, which quotes a word with control
        // characters; the broker's own copy quoted only blanks and `'`)
        format!("did not run `LD_{shown}='{shown}' env '-{shown}'`"),
        format!("`-C linker={shown}` makes this run of rustc more than a probe"),
        // the stand-in's errors and the grants they offer
        format!("it tried to run `LD_{shown}='{shown}' env '-"),
        format!("it printed `cargo:rustc-env=E{shown}=1`"),
        format!("/{shown}' '{shown}'`"),
        // the summary
        format!("failed (exit status 1) after printing `{shown}: Permission denied`"),
        format!("looked for `{looked_for}/{shown}`"),
    ] {
        assert!(all.contains(&expected), "{expected}\n---\n{all}");
    }
}

#[test]
fn explicitly_denied_programs_fail_quietly_for_the_script() {
    let project = hostile(
        r#"
    attempt("curl", std::process::Command::new("sh").arg("-c").arg("true").status());
"#,
        "[package.metadata.sandbox.deny.\"hostile@0.1.0\"]\nexec = [\"sh\"]\n",
    );
    project.wasm_build(&[]).success();
    let report = report(&project);
    assert!(report["curl"].contains("PermissionDenied"), "{report:?}");
}

#[test]
fn granted_programs_are_confined() {
    let home = fake_home();
    let home_path = home.path().display().to_string();
    let outside = tempfile::tempdir().unwrap();
    let outside_path = outside.path().display().to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let project = hostile(
        &format!(
            r#"
    let out = std::env::var("OUT_DIR").unwrap();
    let sh = |name: &str, script: &str| {{
        let result = std::process::Command::new("sh").arg("-c").arg(script).output();
        let result = result.map_err(|e| e.to_string()).and_then(|o| if o.status.success() {{ Ok(String::from_utf8_lossy(&o.stdout).into_owned()) }} else {{ Err(format!("{{}}: {{}}", o.status, String::from_utf8_lossy(&o.stderr))) }});
        attempt(name, result)
    }};
    sh("read-home", "cat {home_path}/.ssh/id_rsa");
    sh("list-home", "ls {home_path}");
    sh("write-outside", "echo x > {outside_path}/pwned");
    sh("write-source", "echo x >> src/lib.rs");
    sh("connect", "exec 3<>/dev/tcp/127.0.0.1/{port}");
    sh("proc-environ", "cat /proc/1/environ");
    sh("write-out-dir", &format!("echo fine > {{out}}/from-sh.txt"));
    sh("read-package", "cat Cargo.toml");
    sh("read-system", "cat /usr/include/stdio.h > /dev/null");
    #[allow(deprecated)]
    let _ = std::fs::soft_link("{home_path}/.ssh/id_rsa", format!("{{out}}/link"));
    sh("read-through-link", &format!("cat {{out}}/link"));
    let _ = std::fs::remove_file(format!("{{out}}/link"));
"#
        ),
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"sh\"]\n",
    );
    let source_before = project.read("src/lib.rs");
    project
        .wasm_build_env(&[], &[("HOME", &home_path)])
        .success();
    let report = report(&project);
    assert_failed(
        &report,
        &[
            "read-home",
            "list-home",
            "write-outside",
            "write-source",
            "connect",
            "proc-environ",
            "read-through-link",
        ],
    );
    for allowed in ["write-out-dir", "read-package", "read-system"] {
        assert!(
            report[allowed].starts_with("ok"),
            "{allowed}: {}",
            report[allowed]
        );
    }
    assert_eq!(project.read("src/lib.rs"), source_before);
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    assert!(
        listener.accept().is_err(),
        "nothing connected to the listener"
    );
    assert_no_canary_under(&project.target());
}

#[test]
fn stdout_flood_is_stopped() {
    let project = hostile(
        r#"
    loop { println!("cargo:warning={}", "x".repeat(1000)); }
"#,
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\".limits]\nstdout = \"1MiB\"\n",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandboxed build script of `hostile v0.1.0` printed more than its stdout limit of 1 MiB and was stopped");
    let output = fs::read_dir(project.target().join("debug/build"))
        .unwrap()
        .flatten()
        .filter_map(|entry| fs::metadata(entry.path().join("output")).ok())
        .map(|meta| meta.len())
        .max()
        .unwrap_or(0);
    assert!(output <= 1 << 20, "cargo stored {output} bytes of output");
}

#[test]
fn infinite_loop_is_stopped() {
    let project = hostile(
        r#"
    let mut x = 0u64;
    loop { x = x.wrapping_add(1); if x == u64::MAX { break; } }
    println!("{x}");
"#,
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\".limits]\ncpu-time = \"2s\"\n",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("used more than its CPU-time limit of 2 s and was stopped");
}

#[test]
fn hang_in_sleep_is_stopped() {
    let project = hostile(
        r#"
    std::thread::sleep(std::time::Duration::from_secs(3600));
"#,
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\".limits]\nwall-time = \"1s\"\n",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("hung for more than its wall-clock limit of 1 s");
}

#[test]
fn memory_bomb_is_stopped() {
    let project = hostile(
        r#"
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop { hoard.push(vec![1u8; 1 << 20]); }
"#,
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\".limits]\nmemory = \"64MiB\"\n",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("tried to use more than its memory limit of 64 MiB");
}

#[test]
fn out_dir_flood_fails_the_build() {
    let project = hostile(
        r#"
    let out = std::env::var("OUT_DIR").unwrap();
    for i in 0..8 { std::fs::write(format!("{out}/blob{i}"), vec![0u8; 256 * 1024]).unwrap(); }
"#,
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\".limits]\nout-dir = \"1MiB\"\n",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("wrote 2097152 bytes into OUT_DIR, more than the limit of 1048576 bytes");
}

#[test]
fn dangerous_directives_are_stopped() {
    let project = hostile(
        r#"
    println!("cargo:rustc-link-arg=-Wl,--wrap=main");
    println!("cargo::rustc-link-search=native=/root/evil");
    println!("cargo:rustc-flags=-l dylib=evil");
"#,
        "",
    );
    let run = project.wasm_build(&[]).failure();
    run.stderr_has("needs permission to emit `cargo:rustc-link-arg`: it printed `cargo:rustc-link-arg=-Wl,--wrap=main`")
        .stderr_has("needs permission to add `/root/evil` to the library search path")
        .stderr_has("needs permission to emit `cargo:rustc-flags`")
        .stderr_has("directives = [\"rustc-link-arg\", \"rustc-flags\"]");
}

#[test]
fn rustc_env_that_hijacks_the_compiler_is_never_allowed() {
    let project = hostile(
        r#"
    println!("cargo:rustc-env=LD_PRELOAD=/tmp/evil.so");
    println!("cargo:rustc-env=RUSTC_WRAPPER=/tmp/evil");
    println!("cargo:rustc-env=CARGO_MANIFEST_DIR=/root");
    println!("cargo:rustc-env=GIT_HASH=abc123");
"#,
        // Not even a grant of the name lets a script move what proc macros and the tool
        // take for the package directory.
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\ndirectives = [\"rustc-env\"]\n",
    );
    let run = project.wasm_build(&[]).failure();
    run.stderr_has("error[W104]: sandboxed build script of `hostile v0.1.0` printed `cargo:rustc-env=LD_PRELOAD=/tmp/evil.so`, which is never allowed")
        .stderr_has("printed `cargo:rustc-env=RUSTC_WRAPPER=/tmp/evil`, which is never allowed")
        .stderr_has("printed `cargo:rustc-env=CARGO_MANIFEST_DIR=/root`, which is never allowed")
        .stderr_lacks("dangerous-rustc-env")
        .stderr_lacks("GIT_HASH=abc123`, which");
}

#[test]
fn rerun_directives_cannot_leak_secrets() {
    let home = fake_home();
    let home_path = home.path().display().to_string();
    let project = hostile(
        &format!(
            r#"
    println!("cargo:rerun-if-changed={home_path}/.ssh/id_rsa");
    println!("cargo:rerun-if-env-changed=AWS_SECRET_ACCESS_KEY");
    println!("cargo:rerun-if-env-changed=NOT_SET_ANYWHERE_123");
    println!("cargo:rerun-if-changed=build.rs");
"#
        ),
        "",
    );
    project
        .wasm_build_env(
            &[],
            &[("HOME", &home_path), ("AWS_SECRET_ACCESS_KEY", CANARY)],
        )
        .success();
    let output = &project.build_script_results("debug")["hostile"].output;
    assert_eq!(
        output,
        "cargo:rerun-if-env-changed=NOT_SET_ANYWHERE_123\ncargo:rerun-if-changed=build.rs\n",
        "directives on what the script cannot see are dropped"
    );
    assert_no_canary_under(&project.target());
}

#[test]
fn copies_keep_modes_but_not_reach() {
    use std::os::unix::fs::PermissionsExt;
    let home = fake_home();
    let home_path = home.path().display().to_string();
    let outside = tempfile::tempdir().unwrap();
    let outside_path = outside.path().display().to_string();
    let project = hostile(
        &format!(
            r#"
    let out = std::env::var("OUT_DIR").unwrap();
    attempt("copy-script", std::fs::copy("tool.sh", format!("{{out}}/tool.sh")));
    attempt("copy-secret", std::fs::copy("{home_path}/.ssh/id_rsa", format!("{{out}}/stolen")));
    attempt("copy-out", std::fs::copy("tool.sh", "{outside_path}/tool.sh"));
    #[allow(deprecated)]
    attempt("plant-link", std::fs::soft_link("../../../../../../../../../..{outside_path}/planted", format!("{{out}}/trap")));
    attempt("copy-onto-link", std::fs::copy("tool.sh", format!("{{out}}/trap")));
    let _ = std::fs::remove_file(format!("{{out}}/trap"));
"#
        ),
        "",
    );
    project.file("tool.sh", "#!/bin/sh\necho tool\n");
    std::fs::set_permissions(
        project.root().join("tool.sh"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    project.wasm_build(&[]).success();
    let report = report(&project);
    assert!(report["copy-script"].starts_with("ok"), "{report:?}");
    assert!(
        report["plant-link"].starts_with("ok"),
        "the trap exists: {report:?}"
    );
    assert_failed(&report, &["copy-secret", "copy-out", "copy-onto-link"]);
    let out_dir = fs::read_dir(project.target().join("debug/build"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("out"))
        .find(|out| out.join("tool.sh").exists())
        .unwrap();
    let mode = fs::metadata(out_dir.join("tool.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755, "executable, without setuid");
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_no_canary_under(&project.target());
}

/// A dependency hands its dependents paths through `links` metadata (`DEP_<LINKS>_*`). The
/// dependent's script may read what a dependency could legitimately point at (here its
/// `OUT_DIR`), and nothing else a hostile dependency names: the home directory, the
/// target directory as a whole, `/etc`.
#[test]
fn exported_paths_are_readable_only_where_a_dependency_could_point() {
    let home = fake_home();
    let home_path = home.path().display().to_string();
    // A workspace: the hostile package's own directory holds no target directory.
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            "[workspace]\nmembers = [\"hostile\", \"hdr\"]\nresolver = \"2\"\n",
        )
        .file(
            "hostile/Cargo.toml",
            &manifest("hostile", "[dependencies]\nhdr = { path = \"../hdr\" }"),
        )
        .file(
            "hostile/build.rs",
            &format!("{PRELUDE}\nfn main() {{\n{}\nfinish();\n}}\n", r##"
    let dep = |key: &str| std::env::var(format!("DEP_HDR_{key}")).unwrap();
    attempt("include", std::fs::read_to_string(format!("{}/hdr.h", dep("INCLUDE"))).map(|text| assert_eq!(text, "#define HDR 7\n")));
    attempt("ssh", std::fs::read_to_string(dep("SSH")));
    attempt("home", std::fs::read_dir(dep("HOME")));
    attempt("target", std::fs::read_dir(dep("TARGET")));
    attempt("scripts", std::fs::read_dir(dep("SCRIPTS")));
    attempt("etc", std::fs::read_to_string(format!("{}/passwd", dep("ETC"))));
"##),
        )
        .file("hostile/src/lib.rs", "");
    project
        .file(
            "hdr/Cargo.toml",
            &manifest("hdr", "").replace("publish = false", "publish = false\nlinks = \"hdr\""),
        )
        .file(
            "hdr/build.rs",
            &format!(
                r##"fn main() {{
                    let out = std::env::var("OUT_DIR").unwrap();
                    std::fs::create_dir_all(format!("{{out}}/include")).unwrap();
                    std::fs::write(format!("{{out}}/include/hdr.h"), "#define HDR 7\n").unwrap();
                    println!("cargo:include={{out}}/include");
                    println!("cargo:ssh={home_path}/.ssh/id_rsa");
                    println!("cargo:home={home_path}");
                    println!("cargo:target={{out}}/../../..");
                    println!("cargo:scripts={{out}}/..");
                    println!("cargo:etc=/etc");
                }}"##
            ),
        )
        .file("hdr/src/lib.rs", "");
    project.wasm_build(&[]).success();
    let report = report(&project);
    assert_eq!(report["include"], "ok", "{report:#?}");
    assert_failed(&report, &["ssh", "home", "target", "scripts", "etc"]);
    assert_no_canary_under(&project.target());
}
