//! The native half, tried as an attacker who owns a dependency's build script and its
//! Cargo.toml, with no grants and with the grants a `-sys` crate plausibly asks for (`cc`,
//! `ar`, `sh` for a configure script). With `cc` the attacker runs native code of its
//! choosing (a compiler plugin, or the dynamic loader run on a file it compiled), so these
//! tests compile `jail/tests/attacks/attack.c` that way and check that the jail holds
//! around it: one test per way out.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use crate::support::hostile::{
    CANARY, assert_no_canary_under, fake_home, hostile, out_dir, report,
};
use crate::support::{Field, Project};

/// The dynamic loader: it runs a file it may only read, so a jailed program can run what
/// it compiled although nothing it writes is executable.
#[cfg(target_arch = "x86_64")]
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";
#[cfg(target_arch = "aarch64")]
const LOADER: &str = "/lib/ld-linux-aarch64.so.1";

/// `cc` and `sh`, and `run-built`, which lets the build run what it compiled (as a
/// configure script must): the attack program then runs as native code of the
/// attacker's choosing, which the rest of the jail must hold.
const GRANTS: &str = "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"cc\", \"sh\"]\nrun-built = true\n";

/// `cc` and `sh` without `run-built`: nothing the build wrote may run.
const COMPILER_ONLY: &str =
    "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"cc\", \"sh\"]\n";

/// A hostile package whose build script compiles the attack program with the granted
/// `cc`, then runs each of `attacks` (name, arguments) through the granted `sh` and the
/// loader, and records what the attack printed. `extra` goes into the manifest.
fn native_attacks(attacks: &[(&str, String)], extra: &str) -> Project {
    native_attacks_granted(attacks, &format!("{GRANTS}{extra}"))
}

/// [`native_attacks`] with the consumer's `grants` instead.
fn native_attacks_granted(attacks: &[(&str, String)], grants: &str) -> Project {
    let calls: String = attacks
        .iter()
        .map(|(name, args)| {
            format!(
                "    run({name:?}, {:?});\n",
                format!("exec {LOADER} $OUT_DIR/attack {args}")
            )
        })
        .collect();
    let project = hostile(
        &format!(
            r#"
    let out = std::env::var("OUT_DIR").unwrap();
    let compiled = std::process::Command::new("cc").args(["-O1", "-o", &format!("{{out}}/attack"), "attack.c"]).status();
    attempt("compile", compiled.map(|status| assert!(status.success())));
    let run = |name: &str, script: &str| {{
        let output = std::process::Command::new("sh").arg("-c").arg(script).env("OUT_DIR", &out).output().unwrap();
        record(name, String::from_utf8_lossy(&output.stdout).trim());
    }};
{calls}"#
        ),
        grants,
    );
    project.file("attack.c", include_str!("../jail/tests/attacks/attack.c"));
    project
}

/// Moves the hostile package into `hostile/` of a workspace whose root is the consumer, as
/// a dependency sits: its directory holds no target directory.
fn as_a_dependency(project: &Project) {
    as_a_dependency_granted(project, GRANTS);
}

/// [`as_a_dependency`], with `grants` in the consumer's manifest.
fn as_a_dependency_granted(project: &Project, grants: &str) {
    for file in ["Cargo.toml", "build.rs", "attack.c", "src/lib.rs"] {
        if !project.root().join(file).exists() {
            continue;
        }
        project.file(&format!("hostile/{file}"), &project.read(file));
        fs::remove_file(project.root().join(file)).unwrap();
    }
    project
        .file(
            "Cargo.toml",
            &crate::support::manifest(
                "consumer",
                &format!(
                    "[dependencies]\nhostile = {{ path = \"hostile\" }}\n\n{}",
                    grants
                ),
            ),
        )
        .file("src/lib.rs", "");
}

fn blocked(report: &BTreeMap<String, String>, names: &[&str]) {
    for name in names {
        let outcome = &report[*name];
        assert!(
            outcome.starts_with("blocked"),
            "{name} must be blocked: {outcome}"
        );
    }
}

/// Sockets of every kind (io_uring's included), other processes' IPC, memory, keys and
/// environments, and signals to them: each fails for native code the attacker runs.
#[test]
fn native_code_reaches_no_socket_ipc_key_or_other_process() {
    let agent_dir = tempfile::tempdir().unwrap();
    let agent = agent_dir.path().join("agent.sock");
    let _agent = std::os::unix::net::UnixListener::bind(&agent).unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    // SAFETY: a private segment of this test, removed below.
    let segment = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o666) };
    let mut bystander = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let me = std::process::id();
    let attacks = [
        ("io-uring", "io-uring".to_string()),
        ("unix", format!("unix-connect {}", agent.display())),
        ("abstract", "abstract-connect wasm-build-test".to_string()),
        ("tcp", format!("tcp-connect {port}")),
        ("netlink", "socket netlink".to_string()),
        ("shm", format!("shm {segment}")),
        ("keyctl", "keyctl".to_string()),
        ("ptrace", format!("ptrace {me}")),
        ("environ", format!("read /proc/{me}/environ")),
        ("signal", format!("kill {} 9", bystander.id())),
        ("unshare", "unshare".to_string()),
        ("tiocsti", "tiocsti".to_string()),
        ("fine", "read attack.c".to_string()),
    ];
    let project = native_attacks(&attacks, "");
    project.wasm_build(&[]).success();
    // SAFETY: removes the segment created above.
    unsafe { libc::shmctl(segment, libc::IPC_RMID, std::ptr::null_mut()) };
    let report = report(&project);
    assert_eq!(report["compile"], "ok", "{report:#?}");
    assert!(
        report["fine"].starts_with("ok"),
        "the attack runs: {report:#?}"
    );
    blocked(
        &report,
        &[
            "io-uring", "unix", "abstract", "tcp", "netlink", "shm", "keyctl", "ptrace", "environ",
            "signal", "unshare", "tiocsti",
        ],
    );
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the bystander lives"
    );
    let _ = bystander.kill();
    tcp.set_nonblocking(true).unwrap();
    assert!(tcp.accept().is_err(), "nothing connected");
}

/// A granted program reads the package, its own OUT_DIR, the system and the toolchain:
/// not another package's OUT_DIR (with its `rustc-env` values), not the registry's sources
/// (private git dependencies live beside them), not the home directory.
#[test]
fn native_code_reads_only_what_its_package_needs() {
    let home = fake_home();
    let cargo_home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap()));
    // Some downloaded package's manifest (this test suite's own builds fetched plenty).
    let registry_file = fs::read_dir(format!("{cargo_home}/registry/src"))
        .unwrap()
        .flatten()
        .flat_map(|index| fs::read_dir(index.path()).into_iter().flatten().flatten())
        .map(|package| package.path().join("Cargo.toml"))
        .find(|manifest| manifest.is_file())
        .unwrap();
    // Another package's OUT_DIR, as a sibling build script left it.
    let project_dir_placeholder = "TARGET_BUILD";
    let attacks = [
        (
            "other-out-dir",
            format!("read {project_dir_placeholder}/other-1/out/secret.rs"),
        ),
        ("registry", format!("read {}", registry_file.display())),
        (
            "home",
            format!("read {}/.ssh/id_rsa", home.path().display()),
        ),
        ("system", "read /usr/include/stdio.h".to_string()),
        ("package", "read Cargo.toml".to_string()),
        (
            "write-home",
            format!("write {}/.bashrc", home.path().display()),
        ),
        ("own-out-dir", "write $OUT_DIR/fine.txt".to_string()),
    ];
    let project = native_attacks(&attacks, "");
    let build = project.target().join("debug/build");
    let other = build.join("other-1/out");
    fs::create_dir_all(&other).unwrap();
    fs::write(other.join("secret.rs"), CANARY).unwrap();
    let script = project
        .read("build.rs")
        .replace(project_dir_placeholder, build.to_str().unwrap());
    project.file("build.rs", &script);
    as_a_dependency(&project);
    project.wasm_build(&[]).success();
    let report = report(&project);
    blocked(
        &report,
        &["other-out-dir", "registry", "home", "write-home"],
    );
    for allowed in ["system", "package", "own-out-dir"] {
        assert!(report[allowed].starts_with("ok"), "{allowed}: {report:#?}");
    }
    assert!(!home.path().join(".bashrc").exists());
}

/// Native code leaves a daemon (setsid, double fork) that plants a symlink in OUT_DIR
/// after the build script's checks, for rustc to follow: it is gone before the checks.
#[test]
fn daemons_of_granted_programs_die_with_the_build_script() {
    let attacks = [
        // A double fork into a session of its own that writes into OUT_DIR later.
        ("daemon", "daemon $OUT_DIR/late-daemon 2".to_string()),
        // The shell's ways: a setsid job that plants a link, and a background job.
        (
            "shell",
            "(setsid sh -c 'sleep 2; ln -s /etc/passwd $OUT_DIR/late-link' &); (sleep 2; touch $OUT_DIR/late-job) & echo ok".to_string(),
        ),
    ];
    let project = native_attacks(&attacks, "");
    let script = project
        .read("build.rs")
        .replace(&format!("exec {LOADER} $OUT_DIR/attack (setsid"), "(setsid");
    project.file("build.rs", &script);
    project.wasm_build(&[]).success();
    let report = report(&project);
    assert!(report["daemon"].starts_with("ok"), "{report:#?}");
    assert!(report["shell"].starts_with("ok"), "{report:#?}");
    std::thread::sleep(Duration::from_secs(3));
    let out_dir = out_dir(&project);
    for planted in ["late-daemon", "late-link", "late-job"] {
        assert!(
            fs::symlink_metadata(out_dir.join(planted)).is_err(),
            "{planted}: something the build script started ran on after it"
        );
    }
}

/// Everything the build script's process held (cargo's jobserver pipe among them) stays
/// out of native code; a `make` gets a jobserver of its own.
#[test]
fn native_code_inherits_no_descriptor() {
    let attacks = [("fds", "fds".to_string())];
    let project = native_attacks(&attacks, "");
    let script = project.read("build.rs").replace(
        ".env(\"OUT_DIR\", &out)",
        ".env(\"OUT_DIR\", &out).env(\"MAKEFLAGS\", std::env::var(\"CARGO_MAKEFLAGS\").unwrap_or_default())",
    );
    project.file("build.rs", &script);
    project.wasm_build(&["-j2"]).success();
    let report = report(&project);
    let fds = &report["fds"];
    assert!(fds.starts_with("ok fds=3,4, makeflags="), "{fds}");
    assert!(
        fds.contains("--jobserver-auth=3,4") && fds.ends_with("token=+"),
        "{fds}"
    );
}

/// A network grant lets a program reach its proxy, and nothing else: native code that
/// connects to this machine directly (ignoring `HTTPS_PROXY`) is refused by the jail and
/// fails the run (W111), and so do UDP, listening, Unix sockets and io_uring.
#[test]
fn a_network_grant_reaches_nothing_but_the_proxy() {
    let agent_dir = tempfile::tempdir().unwrap();
    let agent = agent_dir.path().join("docker.sock");
    let _agent = std::os::unix::net::UnixListener::bind(&agent).unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let attacks = [
        ("tcp", format!("tcp-connect {port}")),
        ("udp", "udp".to_string()),
        ("listen", "listen".to_string()),
        ("unix", format!("unix-connect {}", agent.display())),
        ("io-uring", "io-uring".to_string()),
    ];
    let project = native_attacks(&attacks, "network = [\"sh\"]\n");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("error[W111]")
        .stderr_has(&format!("connect to `127.0.0.1:{port}` directly"));
    let report = report(&project);
    blocked(&report, &["tcp", "udp", "listen", "unix", "io-uring"]);
    tcp.set_nonblocking(true).unwrap();
    assert!(tcp.accept().is_err(), "the direct connection was made");
}

/// With no grant at all, the only program is rustc, and rustc runs nothing the script
/// chose: a linker, a proc macro, a plugin or a target file are not probes. The script
/// can still compile a native program (a probe that links), but never run it.
#[test]
fn the_rustc_probe_runs_no_native_code_of_the_scripts_choosing() {
    let home = fake_home();
    let marker = home.path().join("ran");
    let project = hostile(
        &format!(
            r#"
    let out = std::env::var("OUT_DIR").unwrap();
    let rustc = std::env::var("RUSTC").unwrap();
    std::fs::write(format!("{{out}}/p.rs"), {program:?}).unwrap();
    std::fs::write(format!("{{out}}/y.rs"), "fn main() {{}}").unwrap();
    let run = |args: &[&str]| std::process::Command::new(&rustc).args(args).output().map(|o| o.status.success());
    attempt("compile-native", run(&[&format!("{{out}}/p.rs"), "-o", &format!("{{out}}/p")]));
    attempt("linker", run(&[&format!("{{out}}/y.rs"), "-C", &format!("linker={{out}}/p"), "-o", &format!("{{out}}/y")]));
    attempt("run-it", std::process::Command::new(format!("{{out}}/p")).status());
    attempt("preload", std::process::Command::new(&rustc).arg("--version").env("LD_PRELOAD", format!("{{out}}/p")).status());
    attempt("pattern-named", std::process::Command::new(&rustc).arg("--version").env("LD_*", "x").status());
"#,
            program = format!(
                "fn main() {{ std::fs::write({:?}, \"x\").unwrap(); }}",
                marker.display().to_string()
            )
        ),
        "",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("makes this run of rustc more than a probe")
        .stderr_has("needs permission to run `$RUSTC`: it tried to run `")
        .stderr_has(
            "needs permission to run programs it built in its OUT_DIR (jailed): it tried to run `",
        )
        // A probe runs without the variables the script set, and says so for those the
        // loader or rustc read; nothing asks for a grant of them.
        .stderr_has(
            "warning[W304]: the build script of hostile v0.1.0 set `LD_PRELOAD` for a rustc probe",
        )
        .stderr_lacks("environment variable `LD_PRELOAD`")
        .stderr_lacks("`LD_*`");
    assert!(!marker.exists(), "the script's native code ran");
    let report = report(&project);
    assert_eq!(
        report["compile-native"], "ok",
        "a probe that links still works"
    );
    assert_eq!(report["preload"], "ok", "rustc ran, without LD_PRELOAD");
    assert_eq!(report["pattern-named"], "ok", "rustc ran, without `LD_*`");
}

/// With no grant at all, a probe with ordinary arguments (`--crate-type bin`) links, and
/// rustc starts its linker `cc` by name. The attacker's script puts a link named `cc` to
/// `/usr/bin/perl` in `OUT_DIR/bin` (WASI refuses absolute link targets, so a relative one
/// that climbs to `/`), sets the probe's `PATH` to it and gives Perl code to run through
/// `PERL5OPT` and `PERL5DB`: Perl would run as the linker, native code of the script's
/// choosing with no grant (it did, before probes got the broker's environment). The
/// consumer's `cc` links the probe instead, the link is never what rustc runs, and the
/// dropped `PATH` is said. Nor does rustc take a target specification (which names a
/// linker) from the working directory the script chose.
#[test]
fn a_probe_never_runs_a_linker_the_script_put_on_its_path() {
    let project = linker_on_the_probes_path();
    let build = project.wasm_build(&[]);
    the_consumers_linker_ran(&project, build);
}

/// The same where a probe is most exposed: Landlock without scopes (ABI 4, 5) and no
/// user namespaces, so that nothing scopes a probe's signals; and ABI 6.
#[test]
fn a_probe_never_runs_a_linker_the_script_put_on_its_path_on_older_landlocks() {
    for abi in ["4", "5", "6"] {
        let project = linker_on_the_probes_path();
        let build = project.wasm_build_on(
            Some(Field::NoUserNamespaces),
            &[],
            &[("CARGO_WASM_BUILD_LANDLOCK_ABI", abi)],
        );
        the_consumers_linker_ran(&project, build);
    }
}

/// The attack of [`a_probe_never_runs_a_linker_the_script_put_on_its_path`].
fn linker_on_the_probes_path() -> Project {
    hostile(
        r#"
    let out = std::env::var("OUT_DIR").unwrap();
    let rustc = std::env::var("RUSTC").unwrap();
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        fn fd_prestat_get(fd: u32, prestat: *mut [u32; 2]) -> u32;
        fn fd_prestat_dir_name(fd: u32, name: *mut u8, len: usize) -> u32;
        fn path_symlink(target: *const u8, target_len: usize, fd: u32, link: *const u8, link_len: usize) -> u32;
    }
    // `std::os::wasi::fs::symlink_path` is unstable: the preopen of OUT_DIR, by hand.
    let symlink = |target: &str, link: &str| -> Result<(), u32> {
        for fd in 3..64 {
            let mut prestat = [0u32; 2];
            // SAFETY: WASI calls with buffers of the sizes they are given.
            if unsafe { fd_prestat_get(fd, &mut prestat) } != 0 { continue; }
            let mut name = vec![0u8; prestat[1] as usize];
            if unsafe { fd_prestat_dir_name(fd, name.as_mut_ptr(), name.len()) } != 0 || name != out.as_bytes() { continue; }
            let errno = unsafe { path_symlink(target.as_ptr(), target.len(), fd, link.as_ptr(), link.len()) };
            return if errno == 0 { Ok(()) } else { Err(errno) };
        }
        Err(u32::MAX)
    };
    std::fs::create_dir_all(format!("{out}/bin")).unwrap();
    let climb = "../".repeat(64);
    attempt("link", symlink(&format!("{climb}usr/bin/perl"), "bin/cc"));
    std::fs::write(format!("{out}/y.rs"), "fn main() {}").unwrap();
    let payload = format!("BEGIN {{ open(my $f, '>', '{out}/pwned'); print $f 'perl ran as the linker'; close $f; exit 0 }}");
    let probe = std::process::Command::new(&rustc)
        .args([&format!("{out}/y.rs"), "--crate-type", "bin", "-o", &format!("{out}/y")])
        .env("PATH", format!("{out}/bin"))
        .env("PERL5OPT", "-d")
        .env("PERL5DB", payload)
        .output();
    attempt("probe", match probe {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
        Err(err) => Err(err.to_string()),
    });
    match std::fs::read_to_string(format!("{out}/pwned")) {
        Ok(text) => record("pwned", &format!("ok {}", text.trim())),
        Err(err) => record("pwned", &format!("err {err}")),
    }
    // rustc looks for a target it does not know as `<target>.json` on RUST_TARGET_PATH,
    // and with none set, in its working directory: the script's to choose.
    std::fs::write(format!("{out}/evil.json"), "{}").unwrap();
    let target = std::process::Command::new(&rustc)
        .args(["--target", "evil", "--print", "cfg"])
        .current_dir(&out)
        .output();
    record("target-spec", &match target {
        Ok(output) => String::from_utf8_lossy(&output.stderr).lines().next().unwrap_or_default().to_string(),
        Err(err) => err.to_string(),
    });
    // Gone before the OUT_DIR check, which would say the script left a link leading out.
    let _ = std::fs::remove_file(format!("{out}/bin/cc"));
"#,
        "",
    )
}

/// The build succeeded, the script's Perl never ran and the consumer's `cc` linked the
/// probe; the dropped `PATH` was said, the interpreter's variables were not (neither
/// rustc nor its linker reads them).
#[track_caller]
fn the_consumers_linker_ran(project: &Project, build: crate::support::Run) {
    let build = build.success();
    let report = report(project);
    assert_eq!(report["link"], "ok", "the attack was set up: {report:#?}");
    assert!(
        report["pwned"].starts_with("err"),
        "the script's Perl ran as the linker: {report:#?}"
    );
    assert!(!out_dir(project).join("pwned").exists());
    assert_eq!(
        report["probe"], "ok",
        "the consumer's `cc` linked the probe"
    );
    assert!(out_dir(project).join("y").is_file());
    assert!(
        report["target-spec"].contains("could not find specification for target"),
        "rustc read a target specification in the working directory: {report:#?}"
    );
    build
        .stderr_has(
            "warning[W304]: the build script of hostile v0.1.0 set `PATH` for a rustc probe",
        )
        .stderr_has("exec = [\"$RUSTC\"]")
        .stderr_lacks("PERL5OPT");
}

/// Host calls (`fs::copy`, `set_permissions`) while a granted program flips a symlink in
/// OUT_DIR between a harmless file and a secret (or a file outside to overwrite), in a
/// loop: no round reads the secret or writes outside.
#[test]
fn host_calls_never_follow_a_symlink_flipped_under_them() {
    let home = fake_home();
    let victim = home.path().join(".bashrc");
    fs::write(&victim, "original").unwrap();
    let secret = home.path().join(".ssh/id_rsa");
    let project = hostile(
        &format!(
            r#"
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{{out}}/harmless"), "fine").unwrap();
    let flipper = format!("cd {{out}} && while :; do ln -sfn harmless r.tmp; mv -fT r.tmp flip; ln -sfn {secret} r.tmp; mv -fT r.tmp flip; ln -sfn w w.tmp; mv -fT w.tmp wflip; ln -sfn {victim} w.tmp; mv -fT w.tmp wflip; done");
    let mut child = std::process::Command::new("sh").arg("-c").arg(flipper).spawn().unwrap();
    while std::fs::symlink_metadata(format!("{{out}}/wflip")).is_err() {{
        std::thread::sleep(std::time::Duration::from_millis(5));
    }}
    let mut copied = 0;
    // At least 400 rounds, and on until the flipper (one jailed program per step, slower
    // than a round) has pointed `flip` at the harmless file once: the race must be run.
    let started = std::time::Instant::now();
    let mut rounds = 0;
    while rounds < 400 || (copied == 0 && started.elapsed() < std::time::Duration::from_secs(30)) {{
        rounds += 1;
        if std::fs::copy(format!("{{out}}/flip"), format!("{{out}}/copy")).is_ok() {{
            copied += 1;
            assert_eq!(std::fs::read_to_string(format!("{{out}}/copy")).unwrap(), "fine");
        }}
        let _ = std::fs::copy("Cargo.toml", format!("{{out}}/wflip"));
        if let Ok(meta) = std::fs::metadata(format!("{{out}}/flip")) {{
            let mut permissions = meta.permissions();
            permissions.set_readonly(true);
            let _ = std::fs::set_permissions(format!("{{out}}/flip"), permissions);
        }}
    }}
    child.kill().unwrap();
    let _ = child.wait();
    attempt("copied", if copied > 0 {{ Ok(copied) }} else {{ Err(copied) }});
    for name in ["flip", "wflip", "r.tmp", "w.tmp"] {{ let _ = std::fs::remove_file(format!("{{out}}/{{name}}")); }}
"#,
            secret = secret.display(),
            victim = victim.display()
        ),
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"sh\"]\n",
    );
    project.wasm_build(&[]).success();
    assert_eq!(report(&project)["copied"], "ok", "the race was run");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "original");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(&secret).unwrap().permissions().mode();
    assert_ne!(mode & 0o200, 0, "the secret's permissions are unchanged");
    assert_no_canary_under(&project.target());
}

/// The program a script asks for is resolved once, judged, and that very file runs: a
/// link flipped between a granted program and a denied one never runs the denied one.
#[test]
fn a_program_swapped_under_the_broker_never_runs() {
    let home = fake_home();
    let secret = home.path().join(".ssh/id_rsa");
    let project = hostile(
        &format!(
            r#"
    let out = std::env::var("OUT_DIR").unwrap();
    let flipper = format!("cd {{out}} && while :; do ln -sfn /bin/true l.tmp; mv -fT l.tmp tool; ln -sfn /bin/cat l.tmp; mv -fT l.tmp tool; done");
    let mut child = std::process::Command::new("sh").arg("-c").arg(flipper).spawn().unwrap();
    while std::fs::symlink_metadata(format!("{{out}}/tool")).is_err() {{
        std::thread::sleep(std::time::Duration::from_millis(5));
    }}
    // A refusal returns at once, far faster than the flipper's loop: pause between
    // attempts, and go on until both sides of the race were met (or 30 s passed).
    let (mut ran, mut refused) = (0, 0);
    let start = std::time::Instant::now();
    while (ran < 20 || refused < 20) && start.elapsed() < std::time::Duration::from_secs(30) {{
        match std::process::Command::new(format!("{{out}}/tool")).arg({secret:?}).output() {{
            Ok(output) => {{
                ran += 1;
                assert!(output.stdout.is_empty(), "cat ran");
            }}
            Err(_) => refused += 1,
        }}
        std::thread::sleep(std::time::Duration::from_millis(2));
    }}
    child.kill().unwrap();
    let _ = child.wait();
    attempt("ran", if ran > 0 {{ Ok(ran) }} else {{ Err(ran) }});
    for name in ["tool", "l.tmp"] {{ let _ = std::fs::remove_file(format!("{{out}}/{{name}}")); }}
"#,
            secret = secret.display().to_string()
        ),
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"sh\", \"true\"]\n\n[package.metadata.sandbox.deny.\"hostile@0.1.0\"]\nexec = [\"cat\"]\n",
    );
    project.wasm_build(&[]).success();
    assert_eq!(report(&project)["ran"], "ok", "the granted program ran");
    assert_no_canary_under(&project.target());
}

/// The build is killed (SIGKILL to the build script's stand-in, as when cargo is
/// interrupted): the programs it started die too, instead of running on unowned.
#[test]
fn programs_die_when_their_build_script_is_killed() {
    let marker = format!("wasm-build-orphan-{}", std::process::id());
    let project = hostile(
        &format!(
            r#"
    let _child = std::process::Command::new("sh").arg("-c").arg("sleep 300; : {marker}").spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(300));
"#
        ),
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"sh\"]\n",
    );
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
    command
        .arg("wasm-build")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    project.prepare(&mut command);
    let mut build = command.spawn().unwrap();
    let with = |needle: &str| -> Vec<i32> {
        fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|entry| {
                let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
                let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
                String::from_utf8_lossy(&cmdline)
                    .contains(needle)
                    .then_some(pid)
            })
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while with(&marker).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the program never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stand_in: Vec<i32> = with("--wasm-build-standin")
        .into_iter()
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.contains(&project.root().display().to_string()))
        })
        .collect();
    assert_eq!(stand_in.len(), 1, "one stand-in runs the script");
    // SAFETY: kills the stand-in found above.
    unsafe { libc::kill(stand_in[0], libc::SIGKILL) };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !with(&marker).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the program outlived its build script"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = build.kill();
    let _ = build.wait();
}

/// A granted program the jail stops fails like any failing program; a script that takes
/// that for a missing feature carries on and builds something else. The user is told,
/// naming the program and what it printed, and the build still succeeds as it would.
#[test]
fn a_granted_program_the_jail_stopped_is_reported() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("config.h"), "#define FEATURE 1\n").unwrap();
    let header = outside.path().join("config.h").display().to_string();
    let project = hostile(
        &format!(
            r#"
    // Natively this reads the header; in the jail it may not.
    let probe = std::process::Command::new("sh")
        .args(["-c", "cat {header}"])
        .output()
        .unwrap();
    attempt("probe", if probe.status.success() {{ Ok(()) }} else {{ Err("failed") }});
"#
        ),
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"sh\"]\n",
    );
    project
        .wasm_build(&["-q"])
        .success()
        .stderr_has("warning[W303]: a program the build script of hostile v0.1.0 ran may have been stopped by the sandbox")
        .stderr_has(&format!("`sh -c 'cat {header}'` failed (exit status 1) after printing `cat: {header}: Permission denied`"))
        .stderr_has("grant what it needs (`read = [...]`");
    assert_eq!(report(&project)["probe"], "err \"failed\"");
}

/// Without `run-built`, what a build wrote never runs as code: not executed (Landlock),
/// not through the dynamic loader (the jail's supervisor refuses to map it), not from an
/// anonymous file (`memfd_create` is refused). The refusal is reported, never silent.
#[test]
fn code_a_build_wrote_runs_only_with_run_built() {
    let attacks = [
        ("loader", "whoami".to_string()),
        ("memfd", "memfd-exec".to_string()),
    ];
    let project = native_attacks_granted(&attacks, COMPILER_ONLY);
    let build = project.wasm_build(&[]);
    let report = report(&project);
    assert_eq!(report["compile"], "ok", "{report:#?}");
    assert_eq!(
        report["loader"], "",
        "the loader ran a written file: {report:#?}"
    );
    // Asked for like any other permission, so that `approve` offers it.
    build
        .failure()
        .stderr_has("needs permission to run programs it built")
        .stderr_has("was refused by the jail: map `")
        .stderr_has("/attack` as code");
}

/// Granted programs go past the limits the consumer set: one forks past `processes`, one
/// takes memory past its address space (16 × `memory`), one writes a single file past
/// `out-dir` (the shell that ran the writer removes it and exits 0), one fills OUT_DIR
/// past it and would remove it all before the end-of-run check. Each is stopped, each program is
/// named with the limit and the key that raises it, and the build fails. Every bomb is
/// bounded in itself. (Before the jail had bounds, this build passed.)
#[test]
fn native_bombs_fail_the_build_with_the_limit_named() {
    let project = hostile(
        r#"
    let out = std::env::var("OUT_DIR").unwrap();
    let run = |name: &str, script: &str| {
        let output = std::process::Command::new("sh").arg("-c").arg(script).env("OUT_DIR", &out).output().unwrap();
        record(name, &format!("{} {}", output.status, String::from_utf8_lossy(&output.stderr).trim().replace('\n', " | ")));
    };
    run("fork", "i=0; while [ $i -lt 40 ]; do sleep 10 & i=$((i+1)); done; wait");
    run("memory", "awk 'BEGIN { s = \"x\"; while (length(s) < 2^30) s = s s }'");
    run("one-file", "head -c 3145728 /dev/zero > $OUT_DIR/one; rm -f $OUT_DIR/one");
    // Last: what it leaves in OUT_DIR stops every program started after it.
    run("many-files", "for i in 1 2 3 4; do head -c 524288 /dev/zero > $OUT_DIR/part$i; done; sleep 10; rm -f $OUT_DIR/part*");
"#,
        "",
    );
    as_a_dependency_granted(
        &project,
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"sh\"]\n\
         limits = { out-dir = \"1MiB\", processes = 16, memory = \"64MiB\" }\n",
    );
    project
        .wasm_build(&[])
        .failure()
        .stderr_has(
            "bytes in OUT_DIR and its temporary directory while its programs ran, more than \
             its out-dir limit of 1MiB; they were stopped; raise `limits.out-dir` for it if it \
             needs more",
        )
        .stderr_has(
            "stopped by the jail's file-size limit of 1MiB per file (`out-dir`); raise \
             `limits.out-dir` for it if it needs more",
        )
        .stderr_has(
            "which was killed with everything it started: stopped by the jail's limit of 16 \
             processes and threads at once; raise `limits.processes` for it if it needs more",
        )
        .stderr_has(
            "after printing `awk: run time error: out of memory`: stopped by the jail's \
             address-space limit of 1GiB per process (16 × `memory`); raise `limits.memory` \
             for it if it needs more",
        );
    let report = report(&project);
    assert!(
        report["one-file"].contains("File size limit exceeded"),
        "{report:#?}"
    );
    for stopped in ["many-files", "fork"] {
        assert!(
            report[stopped].contains("signal: 9"),
            "{stopped} was stopped while it ran: {report:#?}"
        );
    }
}
