//! The jail against a hostile native program (`attacks/attack.c`, compiled with the
//! system's C compiler): each test tries a way out and checks that it failed and that
//! nothing outside changed.

#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
#![allow(
    clippy::disallowed_methods,
    reason = "the jail's tests run programs in and out of it"
)]

use std::ffi::OsString;
use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasm_build_jail::{
    Access, Code, Error, Exceeded, Jail, Layer, Layers, Network, Outcome, ProgramFile, Resources,
    Spec, Stdio,
};

const HELPER: &str = env!("CARGO_BIN_EXE_wasm-build-jail-helper");

/// The attack program, compiled once per test run into a directory of its own.
fn attack_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("wasm-build-jail-attack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("attack");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attacks/attack.c");
        let status = std::process::Command::new("cc")
            .arg("-O1")
            .arg("-o")
            .arg(&binary)
            .arg(source)
            .status()
            .unwrap();
        assert!(status.success(), "the attack program compiles");
        binary
    })
}

/// A scratch layout: `work` is writable for the program, `secret` is not reachable.
struct Scene {
    _root: tempfile::TempDir,
    work: PathBuf,
    secret: PathBuf,
}

impl Scene {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().canonicalize().unwrap();
        let work = base.join("work");
        let secret = base.join("secret");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&secret).unwrap();
        std::fs::write(secret.join("key"), "SECRET-KEY").unwrap();
        Scene {
            _root: root,
            work,
            secret,
        }
    }

    fn spec(&self, args: &[&str]) -> Spec {
        let program = attack_binary();
        Spec {
            program: ProgramFile::identify(program).unwrap(),
            argv0: "attack".into(),
            args: args.iter().map(OsString::from).collect(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            cwd: self.work.clone(),
            access: Access {
                read_exec: vec![program.parent().unwrap().to_path_buf()],
                read: Vec::new(),
                write: vec![self.work.clone()],
            },
            network: Network::None,
            code: Code::Untrusted,
            time_limit: Some(Duration::from_secs(30)),
            jobserver_tokens: 0,
            resources: Resources::UNBOUNDED,
        }
    }
}

/// Runs `spec` and returns how it ended and what it printed.
fn run_spec(jail: &Jail, spec: &Spec) -> (Outcome, String) {
    let (outcome, said, _) = run_spec_noted(jail, spec);
    (outcome, said)
}

/// Runs `spec` and returns how it ended, what it printed and what the jail refused it.
fn run_spec_noted(jail: &Jail, spec: &Spec) -> (Outcome, String, Vec<String>) {
    let mut jailed = jail
        .spawn(spec, [Stdio::Null, Stdio::Piped, Stdio::Null])
        .unwrap();
    let mut stdout = String::new();
    jailed
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let finished = jailed.waiter.finish();
    (
        finished.outcome,
        stdout.trim().to_string(),
        finished.notes.refused,
    )
}

fn attack(scene: &Scene, args: &[&str]) -> String {
    let (outcome, stdout) = run_spec(&Jail::new(HELPER), &scene.spec(args));
    assert_eq!(outcome, Outcome::Exited(0), "{args:?}: {stdout}");
    stdout
}

#[track_caller]
fn assert_blocked(scene: &Scene, args: &[&str]) {
    let said = attack(scene, args);
    assert!(
        said.starts_with("blocked"),
        "{args:?} must be blocked: {said}"
    );
}

#[track_caller]
fn assert_works(scene: &Scene, args: &[&str]) -> String {
    let said = attack(scene, args);
    assert!(said.starts_with("ok"), "{args:?} must work: {said}");
    said
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn reads_writes_and_executions_stay_within_the_spec() {
    let scene = Scene::new();
    let secret = scene.secret.join("key");
    let inside = scene.work.join("out.txt");
    assert_blocked(&scene, &["read", path(&secret)]);
    assert_blocked(&scene, &["write", path(&scene.secret.join("planted"))]);
    assert_blocked(&scene, &["read", "/etc/shadow"]);
    assert_blocked(&scene, &["read", "/proc/1/environ"]);
    assert_works(&scene, &["read", "/usr/include/stdio.h"]);
    assert_works(&scene, &["write", path(&inside)]);
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), "pwned\n");
    // What the program writes never runs: a copy of itself in its writable directory.
    let copy = scene.work.join("copy");
    std::fs::copy(attack_binary(), &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_blocked(&scene, &["exec", path(&copy), "whoami"]);
    // Nor does a device node it makes (as root it could open the disk).
    assert_blocked(&scene, &["mknod", path(&scene.work.join("disk"))]);
    assert!(std::fs::read_to_string(&secret).unwrap() == "SECRET-KEY");
    assert!(!scene.secret.join("planted").exists());
}

#[test]
fn readable_files_cannot_be_truncated() {
    let scene = Scene::new();
    let mut spec = scene.spec(&["truncate", path(&scene.secret.join("key"))]);
    spec.access.read.push(scene.secret.clone());
    for cap in [None, Some(2)] {
        let (_, said) = run_spec(&Jail::new(HELPER).with_landlock_abi_cap(cap), &spec);
        assert!(said.starts_with("blocked"), "ABI cap {cap:?}: {said}");
        assert_eq!(
            std::fs::read_to_string(scene.secret.join("key")).unwrap(),
            "SECRET-KEY"
        );
    }
}

#[test]
fn no_socket_of_any_family_without_a_grant() {
    let scene = Scene::new();
    for family in ["inet", "inet6", "unix", "netlink", "packet", "vsock"] {
        assert_blocked(&scene, &["socket", family]);
    }
    assert_works(&scene, &["socketpair"]);
    // A Unix socket on disk, as an ssh-agent's or Docker's, and an abstract one.
    let listener_dir = tempfile::tempdir().unwrap();
    let socket = listener_dir.path().join("agent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    assert_blocked(&scene, &["unix-connect", path(&socket)]);
    assert_blocked(&scene, &["abstract-connect", "wasm-build-jail-test"]);
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port().to_string();
    assert_blocked(&scene, &["tcp-connect", &port]);
}

/// A loopback server that greets every connection with `greeting` and counts them.
struct Greeter {
    address: std::net::SocketAddr,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Greeter {
    fn start(greeting: &'static str) -> Self {
        use std::io::Write as _;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = stream.write_all(format!("{greeting}\n").as_bytes());
            }
        });
        Greeter { address, accepted }
    }

    fn port(&self) -> String {
        self.address.port().to_string()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// With the network through a proxy, the program reaches the proxy and nothing else:
/// not another port of the machine, not the metadata address, not through a socket
/// family, protocol or call that connects on its own, not by changing the address
/// after the jail read it; and every refusal is reported. Landlock's TCP rules (ABI 4)
/// refuse the program's own connections besides: at ABI 3 the supervisor holds alone.
#[test]
fn a_proxied_program_reaches_the_proxy_and_nothing_else() {
    for abi in [3, 6] {
        proxied_program_reaches_the_proxy_only(Jail::new(HELPER).with_landlock_abi_cap(Some(abi)));
    }
}

fn proxied_program_reaches_the_proxy_only(jail: Jail) {
    let scene = Scene::new();
    let proxy = Greeter::start("proxy");
    let forbidden = Greeter::start("forbidden");
    let proxied = |args: &[&str]| {
        let mut spec = scene.spec(args);
        spec.network = Network::Proxy(proxy.address);
        let (outcome, said, refused) = run_spec_noted(&jail, &spec);
        assert_eq!(outcome, Outcome::Exited(0), "{args:?}: {said}");
        (said, refused)
    };
    let (port, other) = (proxy.port(), forbidden.port());
    assert_eq!(proxied(&["net-to", "127.0.0.1", &port]).0, "ok proxy");
    assert_eq!(
        proxied(&["net-to", "127.0.0.1", &port, "nonblocking"]).0,
        "ok proxy"
    );
    assert_eq!(
        proxied(&["net-to", "::ffff:127.0.0.1", &port]).0,
        "ok proxy"
    );
    let (said, refused) = proxied(&["net-to", "127.0.0.1", &other]);
    assert_eq!(said, "blocked EACCES");
    let direct = format!("connect to `127.0.0.1:{other}` directly");
    assert!(
        refused.iter().any(|r| r.starts_with(&direct)),
        "{refused:?}"
    );
    for (host, port) in [
        ("169.254.169.254", "80"),
        ("10.0.0.1", "443"),
        ("::1", &port),
    ] {
        let (said, refused) = proxied(&["net-to", host, port]);
        assert_eq!(said, "blocked EACCES", "{host}");
        assert!(
            refused.iter().any(|r| r.contains("directly")),
            "{refused:?}"
        );
    }
    for attempt in [
        &["udp"][..],
        &["raw"],
        &["sctp"],
        &["socket", "unix"],
        &["socket", "netlink"],
        &["socket", "packet"],
        &["listen"],
        &["fastopen", "127.0.0.1", &other],
        &["io-uring"],
        &["read", path(&scene.secret.join("key"))],
    ] {
        let (said, _) = proxied(attempt);
        assert!(said.starts_with("blocked"), "{attempt:?}: {said}");
    }
    let (said, _) = proxied(&["connect-race", "127.0.0.1", &port, &other, "500"]);
    assert!(said.starts_with("blocked allowed="), "{said}");
    assert_eq!(
        forbidden.accepted(),
        0,
        "a connection reached the forbidden port"
    );
    assert!(proxy.accepted() > 3, "{said}: {}", proxy.accepted());
}

/// Where the supervisor cannot hand a connection over (Linux before 5.9), a proxied
/// program's connections fail, and the report says why: never a connection of its own.
#[test]
fn without_handing_over_descriptors_proxied_connections_fail_loudly() {
    let scene = Scene::new();
    let proxy = Greeter::start("proxy");
    let tools = tempfile::tempdir().unwrap();
    let jail = Jail::new(field_helper(tools.path(), "no-addfd"));
    let mut spec = scene.spec(&["net-to", "127.0.0.1", &proxy.port()]);
    spec.network = Network::Proxy(proxy.address);
    let (_, said, refused) = run_spec_noted(&jail, &spec);
    assert!(said.starts_with("blocked"), "{said}");
    assert!(
        refused
            .iter()
            .any(|refusal| refusal.starts_with("hand over the connection to the proxy")),
        "{refused:?}"
    );
}

#[test]
fn io_uring_ipc_keyrings_and_other_processes_are_out_of_reach() {
    let scene = Scene::new();
    assert_eq!(attack(&scene, &["io-uring"]), "blocked ENOSYS");
    // SAFETY: a private segment of this test process, removed below.
    let segment = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o666) };
    assert!(segment >= 0);
    assert_blocked(&scene, &["shm", &segment.to_string()]);
    // SAFETY: removes the segment created above.
    unsafe { libc::shmctl(segment, libc::IPC_RMID, std::ptr::null_mut()) };
    assert_blocked(&scene, &["keyctl"]);
    let me = std::process::id().to_string();
    assert_blocked(&scene, &["ptrace", &me]);
    let canary = Box::new(*b"CANARY!!");
    let address = format!("{:p}", canary.as_ptr());
    assert_blocked(&scene, &["vm-read", &me, &address]);
    assert_blocked(&scene, &["read", &format!("/proc/{me}/environ")]);
    assert_blocked(&scene, &["unshare"]);
    assert_blocked(&scene, &["tiocsti"]);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn the_x32_system_call_table_kills_the_program() {
    let scene = Scene::new();
    let (outcome, said) = run_spec(&Jail::new(HELPER), &scene.spec(&["x32"]));
    assert_eq!(outcome, Outcome::Signaled(libc::SIGSYS), "{said}");
}

/// A process outside the jail, to be signalled.
struct Bystander(std::process::Child);

impl Bystander {
    fn new() -> Self {
        Bystander(
            std::process::Command::new("sleep")
                .arg("60")
                .spawn()
                .unwrap(),
        )
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn signals_stay_inside_with_landlock_scopes_and_with_a_pid_namespace() {
    let scene = Scene::new();
    let mut bystander = Bystander::new();
    for cap in [None, Some(5)] {
        let jail = Jail::new(HELPER).with_landlock_abi_cap(cap);
        if cap.is_some() && jail.layers().user_namespaces.is_err() {
            continue;
        }
        let spec = scene.spec(&["kill", &bystander.pid(), &libc::SIGKILL.to_string()]);
        let (_, said) = run_spec(&jail, &spec);
        assert!(said.starts_with("blocked"), "cap {cap:?}: {said}");
        assert!(bystander.alive(), "cap {cap:?}: the bystander was killed");
        let (_, whoami) = run_spec(&jail, &scene.spec(&["whoami"]));
        if cap.is_some() {
            assert!(
                whoami.starts_with("ok pid=1 "),
                "in a PID namespace: {whoami}"
            );
        }
    }
}

#[test]
fn toolchain_code_runs_without_signal_scoping_where_none_exists() {
    let scene = Scene::new();
    let jail = Jail::new(HELPER).with_landlock_abi_cap(Some(5));
    let mut spec = scene.spec(&["whoami"]);
    spec.code = Code::Toolchain;
    let (outcome, said) = run_spec(&jail, &spec);
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(!said.contains("pid=1 "), "no PID namespace needed: {said}");
}

#[test]
fn capabilities_are_dropped() {
    let scene = Scene::new();
    let said = attack(&scene, &["whoami"]);
    assert!(said.ends_with("caps=0000000000000000"), "{said}");
}

/// Processes whose command line holds `marker`.
fn processes_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmdline)
                .contains(marker)
                .then_some(pid)
        })
        .collect()
}

/// A program that leaves a grandchild in a session of its own and exits at once, in a
/// loop: the sweep races the grandchild's double fork every time.
#[test]
fn setsid_daemons_and_double_forks_die_with_the_program() {
    let scene = Scene::new();
    let mut markers = Vec::new();
    for round in 0..50 {
        let marker = scene.work.join(format!("survived-{round}"));
        let said = attack(&scene, &["daemon", path(&marker), "1"]);
        assert_eq!(said, "ok forked");
        let survivors: Vec<String> = processes_with(path(&marker))
            .iter()
            .map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
            .collect();
        assert!(
            survivors.is_empty(),
            "round {round}: a daemon outlived the program: {survivors:?}"
        );
        markers.push(marker);
    }
    std::thread::sleep(Duration::from_millis(1500));
    for marker in markers {
        assert!(!marker.exists(), "a daemon ran on after the program ended");
    }
}

#[test]
fn the_time_limit_and_the_killer_stop_the_whole_tree() {
    let scene = Scene::new();
    let jail = Jail::new(HELPER);
    let marker = scene.work.join("late");
    // A shell that leaves a daemon behind and then waits: the limit ends both.
    let mut spec = scene.spec(&[]);
    spec.program = ProgramFile::identify(Path::new("/bin/sh")).unwrap();
    spec.argv0 = "sh".into();
    spec.args = vec![
        "-c".into(),
        format!(
            "{} daemon {} 3; sleep 30",
            path(attack_binary()),
            path(&marker)
        )
        .into(),
    ];
    spec.time_limit = Some(Duration::from_millis(500));
    let started = Instant::now();
    let (outcome, _) = run_spec(&jail, &spec);
    assert_eq!(outcome, Outcome::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(processes_with(path(&marker)).is_empty());

    spec.time_limit = None;
    let jailed = jail
        .spawn(&spec, [Stdio::Null, Stdio::Null, Stdio::Null])
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    jailed.killer.kill();
    assert_eq!(jailed.waiter.wait(), Outcome::Stopped);
    assert!(processes_with(path(&marker)).is_empty());
    std::thread::sleep(Duration::from_millis(3500));
    assert!(!marker.exists());
}

#[test]
fn inherited_descriptors_do_not_reach_the_program_and_a_jobserver_is_private() {
    let scene = Scene::new();
    // A descriptor this process leaks on purpose (no close-on-exec), as cargo's
    // jobserver pipe reaches a build script.
    let leaked = std::ffi::CString::new(path(&scene.secret.join("key"))).unwrap();
    // SAFETY: opens a file; the descriptor is closed below.
    let fd = unsafe { libc::open(leaked.as_ptr(), libc::O_RDONLY) };
    assert!(fd >= 0);
    let said = attack(&scene, &["fds"]);
    assert!(said.starts_with("ok fds= "), "{said}");

    let mut spec = scene.spec(&["fds"]);
    spec.env.push((
        "MAKEFLAGS".into(),
        format!("-j --jobserver-auth={fd},{fd}").into(),
    ));
    spec.jobserver_tokens = 2;
    let (_, said) = run_spec(&Jail::new(HELPER), &spec);
    assert_eq!(
        said,
        "ok fds=3,4, makeflags=-j --jobserver-auth=3,4 token=+"
    );
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
}

#[test]
fn a_program_swapped_after_it_was_judged_does_not_run() {
    let scene = Scene::new();
    let approved = scene.work.join("tool");
    std::fs::copy(attack_binary(), &approved).unwrap();
    let mut spec = scene.spec(&["whoami"]);
    spec.program = ProgramFile::identify(&approved).unwrap();
    spec.access.read_exec.push(scene.work.clone());
    // Replaced by another file at the same path between judgement and execution.
    let other = scene.work.join("other");
    std::fs::copy("/bin/sh", &other).unwrap();
    std::fs::rename(&other, &approved).unwrap();
    match Jail::new(HELPER).spawn(&spec, [Stdio::Null, Stdio::Null, Stdio::Null]) {
        Err(Error::Refused { message, .. }) => {
            assert!(message.contains("no longer the file"), "{message}")
        }
        other => panic!("a swapped program must be refused: {other:?}"),
    }
}

#[test]
fn scripts_run_through_their_interpreter_with_their_own_path() {
    let scene = Scene::new();
    let tools = tempfile::tempdir().unwrap();
    let script = tools.path().canonicalize().unwrap().join("tool.sh");
    std::fs::write(&script, "#!/bin/sh -e\necho \"$0 $*\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut spec = scene.spec(&["a", "b"]);
    spec.program = ProgramFile::identify(&script).unwrap();
    spec.argv0 = "tool.sh".into();
    let (outcome, said) = run_spec(&Jail::new(HELPER), &spec);
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(said, format!("{} a b", script.display()));

    // The same script where the program could have written it is refused.
    let written = scene.work.join("tool.sh");
    std::fs::copy(&script, &written).unwrap();
    spec.program = ProgramFile::identify(&written).unwrap();
    match Jail::new(HELPER).spawn(&spec, [Stdio::Null, Stdio::Null, Stdio::Null]) {
        Err(Error::Refused { message, .. }) => assert!(
            message.contains("a script in a directory the build writes"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn layers_are_probed_and_missing_ones_refuse_to_run() {
    let layers = Layers::probe(Path::new(HELPER), None);
    assert!(layers.landlock.is_ok(), "{layers:?}");
    assert!(layers.seccomp.is_ok(), "{layers:?}");
    assert!(layers.descendants.is_ok(), "{layers:?}");
    assert_eq!(layers.missing(Code::Untrusted), None);

    let none = Layers::probe(Path::new(HELPER), Some(0));
    assert!(none.landlock.is_err());
    assert_eq!(
        none.missing(Code::Toolchain).unwrap().layer,
        Layer::Landlock
    );

    let scene = Scene::new();
    let jail = Jail::new(HELPER).with_landlock_abi_cap(Some(0));
    match jail.spawn(
        &scene.spec(&["whoami"]),
        [Stdio::Null, Stdio::Null, Stdio::Null],
    ) {
        Err(Error::Unavailable(missing)) => {
            assert_eq!(missing.layer, Layer::Landlock);
            let text = missing.to_string();
            assert!(text.contains("help:"), "{text}");
        }
        other => panic!("no Landlock must refuse: {other:?}"),
    }
}

/// A fork bomb that stops itself at 2000 forks (and holds them a second) is stopped by the
/// process bound long before, and nothing of it survives. Without the bound it reaches
/// 2000 (checked by hand on the code before the bound: `ok forked 2000`).
#[test]
fn a_fork_bomb_is_stopped_at_the_process_bound() {
    let scene = Scene::new();
    let marker = scene.work.join("fork-bomb-marker");
    let mut spec = scene.spec(&["fork-bomb", "2000", path(&marker)]);
    spec.resources.processes = Some(64);
    let started = Instant::now();
    let (outcome, said) = run_spec(&Jail::new(HELPER), &spec);
    match outcome {
        Outcome::Exceeded(Exceeded::Processes { limit, counted }) => {
            assert_eq!(limit, 64);
            assert!(counted > 64, "{counted}");
        }
        other => panic!("the bomb must be stopped at its bound: {other:?} {said}"),
    }
    assert_eq!(said, "", "the bomb never got to say how far it got");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        processes_with(path(&marker)).is_empty(),
        "a process of the bomb survived"
    );
    // Below the bound, the same program runs to its end.
    let mut spec = scene.spec(&["fork-bomb", "20", path(&marker)]);
    spec.resources.processes = Some(64);
    let (outcome, said) = run_spec(&Jail::new(HELPER), &spec);
    assert_eq!(
        (outcome, said.as_str()),
        (Outcome::Exited(0), "ok forked 20")
    );
}

/// Processes that left the program's tree (a double fork into sessions of their own)
/// still count: they are the helper's.
#[test]
fn daemonized_processes_count_toward_the_process_bound() {
    let scene = Scene::new();
    let marker = scene.work.join("daemon-bomb-marker");
    let mut spec = scene.spec(&[]);
    spec.program = ProgramFile::identify(Path::new("/bin/sh")).unwrap();
    spec.argv0 = "sh".into();
    spec.args = vec![
        "-c".into(),
        "i=0; while [ $i -lt 40 ]; do (setsid sh -c 'sleep 10' $0 &); i=$((i+1)); done; sleep 10"
            .into(),
        path(&marker).into(),
    ];
    spec.resources.processes = Some(16);
    let started = Instant::now();
    let (outcome, _) = run_spec(&Jail::new(HELPER), &spec);
    assert!(
        matches!(
            outcome,
            Outcome::Exceeded(Exceeded::Processes { limit: 16, .. })
        ),
        "{outcome:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "stopped before its own end"
    );
    assert!(processes_with(path(&marker)).is_empty());
}

/// Memory past the address-space bound is refused to the program (`ENOMEM`), which then
/// holds less than the bound; without it the same program takes 1 GiB.
#[test]
fn memory_past_the_address_space_bound_is_refused() {
    let scene = Scene::new();
    let mut spec = scene.spec(&["memory-bomb", "1024"]);
    spec.resources.address_space = Some(256 << 20);
    let (outcome, said) = run_spec(&Jail::new(HELPER), &spec);
    assert_eq!(outcome, Outcome::Exited(0));
    let held: u64 = said
        .strip_prefix("blocked ENOMEM after ")
        .and_then(|rest| rest.strip_suffix(" MiB"))
        .unwrap_or_else(|| panic!("the bomb must be refused memory: {said}"))
        .parse()
        .unwrap();
    assert!(held < 256, "{held} MiB");
}

/// A file written past the file-size bound is cut at the bound: the writer is killed by
/// `SIGXFSZ`, or told `EFBIG` when it ignores that signal.
#[test]
fn a_file_past_the_file_size_bound_is_refused() {
    let scene = Scene::new();
    let big = scene.work.join("big");
    let jail = Jail::new(HELPER);
    let mut spec = scene.spec(&["disk-bomb", path(&big), "64", "ignore-sigxfsz"]);
    spec.resources.file_size = Some(1 << 20);
    let (outcome, said) = run_spec(&jail, &spec);
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(said, "blocked EFBIG after 1048576 bytes");
    assert_eq!(std::fs::metadata(&big).unwrap().len(), 1 << 20);

    let mut spec = scene.spec(&["disk-bomb", path(&big), "64"]);
    spec.resources.file_size = Some(1 << 20);
    let (outcome, _) = run_spec(&jail, &spec);
    assert_eq!(outcome, Outcome::Signaled(libc::SIGXFSZ));
    assert_eq!(std::fs::metadata(&big).unwrap().len(), 1 << 20);
}

/// The bounds hold for the program and everything it starts, cannot be raised from
/// inside, and core dumps are off even where nothing else is bounded.
#[test]
fn bounds_cannot_be_raised_from_inside() {
    let scene = Scene::new();
    let jail = Jail::new(HELPER);
    let mut spec = scene.spec(&[]);
    spec.program = ProgramFile::identify(Path::new("/bin/sh")).unwrap();
    spec.argv0 = "sh".into();
    spec.args = vec![
        "-c".into(),
        "ulimit -c; sh -c 'ulimit -v; ulimit -f'; ulimit -v unlimited 2>/dev/null || echo kept"
            .into(),
    ];
    spec.resources.address_space = Some(512 << 20);
    spec.resources.file_size = Some(4 << 20);
    let (outcome, said) = run_spec(&jail, &spec);
    assert_eq!(outcome, Outcome::Exited(0));
    // `ulimit -v` counts KiB, `-f` blocks of 512 bytes.
    assert_eq!(said, "0\n524288\n8192\nkept");
    spec.resources = Resources::UNBOUNDED;
    spec.args = vec!["-c".into(), "ulimit -c".into()];
    assert_eq!(run_spec(&jail, &spec).1, "0");
}

#[test]
#[ignore = "a measurement, not a test"]
fn spawn_cost() {
    let scene = Scene::new();
    let jail = Jail::new(HELPER);
    for program in [
        &["/bin/true"][..],
        &["/usr/bin/perl", "-e", "1"],
        &["/usr/bin/cc", "--version"],
        &["/usr/bin/python3", "-c", "1"],
    ] {
        let mut spec = scene.spec(&program[1..]);
        spec.program = ProgramFile::identify(Path::new(program[0])).unwrap();
        let rounds = 100;
        let start = Instant::now();
        for _ in 0..rounds {
            let jailed = jail
                .spawn(&spec, [Stdio::Null, Stdio::Null, Stdio::Null])
                .unwrap();
            assert_eq!(jailed.waiter.wait(), Outcome::Exited(0));
        }
        let jailed = start.elapsed() / rounds;
        let start = Instant::now();
        for _ in 0..rounds {
            std::process::Command::new(program[0])
                .args(&program[1..])
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
        }
        eprintln!(
            "{program:?}: jailed {jailed:?} native {:?}",
            start.elapsed() / rounds
        );
    }
}

/// A helper that runs under a seccomp filter making `close_range`, pidfds and `openat2`
/// fail as on an old kernel (`tests/fixtures/field.c old-kernel`): every fallback holds.
fn old_kernel_helper(dir: &Path) -> PathBuf {
    field_helper(dir, "old-kernel")
}

/// A helper that runs under `tests/fixtures/field.c <condition>`.
fn field_helper(dir: &Path, condition: &str) -> PathBuf {
    let field = dir.join("field");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/field.c");
    let status = std::process::Command::new("cc")
        .arg("-o")
        .arg(&field)
        .arg(source)
        .status()
        .unwrap();
    assert!(status.success());
    let helper = dir.join("helper.sh");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nexec {} {condition} {HELPER} \"$@\"\n",
            field.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    helper
}

#[test]
fn the_jail_holds_without_close_range_pidfds_or_openat2() {
    let scene = Scene::new();
    let tools = tempfile::tempdir().unwrap();
    let jail = Jail::new(old_kernel_helper(tools.path()));
    let leaked = std::ffi::CString::new(path(&scene.secret.join("key"))).unwrap();
    // SAFETY: opens a file without close-on-exec; closed below.
    let fd = unsafe { libc::open(leaked.as_ptr(), libc::O_RDONLY) };
    let (_, said) = run_spec(&jail, &scene.spec(&["fds"]));
    assert!(said.starts_with("ok fds= "), "{said}");
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    let marker = scene.work.join("old-kernel-daemon");
    let (_, said) = run_spec(&jail, &scene.spec(&["daemon", path(&marker), "1"]));
    assert_eq!(said, "ok forked");
    assert!(
        processes_with(path(&marker)).is_empty(),
        "a daemon outlived the program"
    );
    let (_, said) = run_spec(
        &jail,
        &scene.spec(&["read", path(&scene.secret.join("key"))]),
    );
    assert!(said.starts_with("blocked"), "{said}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!marker.exists());
}

fn mode_of(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn metadata_changes_only_beneath_writable_directories() {
    let scene = Scene::new();
    let key = scene.secret.join("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&scene.secret, std::fs::Permissions::from_mode(0o700)).unwrap();
    let key_times = std::fs::metadata(&key).unwrap().modified().unwrap();
    let own = scene.work.join("built");
    std::fs::write(&own, "x").unwrap();
    std::os::unix::fs::symlink(&key, scene.work.join("link")).unwrap();
    std::fs::create_dir(scene.work.join("sub")).unwrap();
    let escapes = [
        path(&key).to_string(),
        path(&scene.secret).to_string(),
        path(&scene.work.join("link")).to_string(),
        format!("{}/sub/../../secret/key", path(&scene.work)),
        // The system, and a directory the program may only read.
        "/usr/bin/true".to_string(),
    ];
    for _round in 0..20 {
        for target in &escapes {
            assert_blocked(&scene, &["chmod", target, "777"]);
            assert_blocked(&scene, &["chown", target]);
            assert_blocked(&scene, &["utime", target]);
            assert_blocked(&scene, &["setxattr", target]);
        }
    }
    assert_eq!(mode_of(&key), 0o600);
    assert_eq!(mode_of(&scene.secret), 0o700);
    assert_eq!(
        std::fs::metadata(&key).unwrap().modified().unwrap(),
        key_times
    );
    // A file opened for reading is not one the program may change either.
    let mut spec = scene.spec(&["fchmod", path(&key), "644"]);
    spec.access.read.push(scene.secret.clone());
    let (_, said) = run_spec(&Jail::new(HELPER), &spec);
    assert!(said.starts_with("blocked"), "{said}");
    assert_eq!(mode_of(&key), 0o600);
    // What the program may write, it may chmod, chown and touch, as a linker must.
    assert_works(&scene, &["chmod", path(&own), "755"]);
    assert_eq!(mode_of(&own), 0o755);
    assert_works(&scene, &["fchmod", path(&own), "700"]);
    assert_eq!(mode_of(&own), 0o700);
    assert_works(&scene, &["chown", path(&own)]);
    assert_works(&scene, &["utime", path(&own)]);
    let touched = std::fs::metadata(&own).unwrap().modified().unwrap();
    assert_eq!(touched, std::time::UNIX_EPOCH + Duration::from_secs(86400));
    assert_works(&scene, &["chmod", path(&scene.work.join("sub")), "750"]);
    assert_eq!(mode_of(&scene.work.join("sub")), 0o750);
}

#[test]
fn a_symlink_flipped_in_a_loop_never_leads_a_chmod_out() {
    let scene = Scene::new();
    let key = scene.secret.join("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let flip = scene.work.join("flip");
    std::fs::write(scene.work.join("plain"), "x").unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, flip, key, plain) = (
            stop.clone(),
            flip.clone(),
            key.clone(),
            scene.work.join("plain"),
        );
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::remove_file(&flip);
                let _ = std::os::unix::fs::symlink(&plain, &flip);
                let _ = std::fs::remove_file(&flip);
                let _ = std::os::unix::fs::symlink(&key, &flip);
            }
        })
    };
    for _ in 0..100 {
        let said = attack(&scene, &["chmod", path(&flip), "666"]);
        assert!(
            said.starts_with("ok") || said.starts_with("blocked"),
            "{said}"
        );
        assert_eq!(mode_of(&key), 0o600, "the chmod followed the link out");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flipper.join().unwrap();
}

#[test]
fn the_helper_and_other_processes_are_out_of_reach_of_prlimit() {
    let scene = Scene::new();
    let mut outsider = Bystander::new();
    let limits = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let before = limits(&outsider.pid());
    assert_blocked(&scene, &["prlimit", "parent"]);
    assert_blocked(&scene, &["prlimit", &outsider.pid()]);
    assert_eq!(limits(&outsider.pid()), before);
    assert!(outsider.alive());
    // Its own limits a program may still lower.
    assert_works(&scene, &["prlimit", "0"]);
}

#[test]
fn code_the_program_wrote_is_never_mapped_or_run() {
    let scene = Scene::new();
    let payload = scene.work.join("payload");
    std::fs::copy("/bin/true", &payload).unwrap();
    std::fs::set_permissions(&payload, std::fs::Permissions::from_mode(0o755)).unwrap();
    let loader = "/lib64/ld-linux-x86-64.so.2";
    assert_blocked(&scene, &["memfd-exec"]);
    assert_blocked(&scene, &["map-exec", path(&payload)]);
    assert_blocked(&scene, &["mprotect-exec", path(&payload)]);
    assert_blocked(&scene, &["loader", loader, path(&payload)]);
    assert_blocked(&scene, &["exec", path(&payload)]);
    // The system's own code loads as usual.
    assert_works(&scene, &["map-exec", "/bin/true"]);
    assert_works(&scene, &["mprotect-exec", "/bin/true"]);
    assert_works(&scene, &["loader", loader, "/bin/true"]);
    // And the refusal reaches the host, to be reported.
    let jail = Jail::new(HELPER);
    let mut jailed = jail
        .spawn(
            &scene.spec(&["map-exec", path(&payload)]),
            [Stdio::Null, Stdio::Null, Stdio::Null],
        )
        .unwrap();
    let _ = jailed.stdout.take();
    let finished = jailed.waiter.finish();
    assert_eq!(finished.outcome, Outcome::Exited(0));
    assert!(
        finished
            .notes
            .refused
            .iter()
            .any(|refusal| refusal.contains(path(&payload))),
        "{:?}",
        finished.notes.refused
    );
    assert_eq!(finished.notes.unswept, None);
}

#[test]
fn own_proc_entry_holds_no_host_sockets_and_nothing_watches_outside() {
    let scene = Scene::new();
    assert_blocked(&scene, &["proc-net"]);
    assert_blocked(&scene, &["inotify", path(&scene.secret)]);
    assert_works(&scene, &["whoami"]);
}

#[test]
fn without_seccomp_user_notification_nothing_runs() {
    let scene = Scene::new();
    let tools = tempfile::tempdir().unwrap();
    let jail = Jail::new(field_helper(tools.path(), "no-notify"));
    let marker = scene.work.join("ran");
    let err = jail
        .spawn(
            &scene.spec(&["write", path(&marker)]),
            [Stdio::Null, Stdio::Null, Stdio::Null],
        )
        .unwrap_err();
    match &err {
        Error::Unavailable(missing) => {
            assert_eq!(missing.layer, Layer::Seccomp, "{err}");
            assert!(missing.to_string().contains("user notification"), "{err}");
        }
        other => panic!("expected a missing layer, got {other}"),
    }
    assert!(!marker.exists());
    assert!(jail.layers().missing(Code::Toolchain).is_some());
}

/// The supervisor under every Landlock ABI a user may have (below 6, signals are kept in
/// by a PID namespace, so the supervisor meets callers from another PID namespace).
#[test]
fn the_supervisor_holds_on_older_landlocks() {
    let scene = Scene::new();
    let key = scene.secret.join("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let own = scene.work.join("built");
    std::fs::write(&own, "x").unwrap();
    let payload = scene.work.join("payload");
    std::fs::copy("/bin/true", &payload).unwrap();
    let bystander = Bystander::new();
    for abi in 1..=6 {
        let jail = Jail::new(HELPER).with_landlock_abi_cap(Some(abi));
        let said = |args: &[&str]| run_spec(&jail, &scene.spec(args)).1;
        for attack in [
            &["chmod", path(&key), "666"][..],
            &["map-exec", path(&payload)],
            &["prlimit", &bystander.pid()],
        ] {
            let outcome = said(attack);
            assert!(
                outcome.starts_with("blocked"),
                "ABI {abi}: {attack:?}: {outcome}"
            );
        }
        assert_eq!(said(&["chmod", path(&own), "640"]), "ok chmod", "ABI {abi}");
        assert_eq!(said(&["map-exec", "/bin/true"]), "ok mapped", "ABI {abi}");
    }
    assert_eq!(mode_of(&key), 0o600);
    assert_eq!(mode_of(&own), 0o640);
}

/// The sweep needs no new descriptor: a helper whose descriptor limit was lowered to
/// nothing while the program ran (what `prlimit` from inside once did) still finds and
/// kills the daemon the program left, and says so if it ever cannot.
#[test]
fn the_sweep_holds_when_the_helper_has_no_descriptors_left() {
    let scene = Scene::new();
    let marker = scene.work.join("survived");
    let jail = Jail::new(HELPER);
    let mut jailed = jail
        .spawn(
            &scene.spec(&["late-daemon", path(&marker), "1", "500"]),
            [Stdio::Null, Stdio::Piped, Stdio::Null],
        )
        .unwrap();
    // No new descriptor (what a jailed program's `prlimit` once did with 0, which here
    // would also stop the helper's `poll` and so end the jail, see below), once the
    // program has started (its loader's mappings are judged by the supervisor, which opens
    // descriptors to do so).
    std::thread::sleep(Duration::from_millis(250));
    limit_helper_descriptors(jailed.pid, 3);
    let mut said = String::new();
    jailed
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert_eq!(said.trim(), "ok forked");
    let finished = jailed.waiter.finish();
    assert_eq!(finished.outcome, Outcome::Exited(0));
    assert_eq!(finished.notes.unswept, None);
    assert!(
        processes_with(path(&marker)).is_empty(),
        "a daemon outlived the sweep"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!marker.exists(), "a daemon ran on after the program ended");
}

/// A helper that cannot wait any more (here: no descriptors at all, so `poll` fails)
/// ends the jail and says why, instead of leaving the program unwatched.
#[test]
fn a_helper_that_cannot_watch_ends_the_jail_and_says_so() {
    let scene = Scene::new();
    let marker = scene.work.join("survived");
    // A call the supervisor must judge, made after the helper lost its descriptors: it
    // wakes the helper, whose next wait then fails.
    std::fs::write(&marker, "").unwrap();
    let jailed = Jail::new(HELPER)
        .spawn(
            &scene.spec(&["late-chmod", path(&marker), "1000"]),
            [Stdio::Null, Stdio::Null, Stdio::Null],
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    limit_helper_descriptors(jailed.pid, 0);
    let finished = jailed.waiter.finish();
    assert_eq!(finished.outcome, Outcome::Stopped);
    assert!(
        finished
            .notes
            .unswept
            .as_deref()
            .is_some_and(|why| why.contains("could not watch")),
        "{finished:?}"
    );
    assert!(
        processes_with(path(&marker)).is_empty(),
        "the program outlived its helper's watch"
    );
}

/// Lowers the descriptor limit of the helper that runs `program` (its parent) to `limit`.
fn limit_helper_descriptors(program: u32, limit: libc::rlim_t) {
    let stat = std::fs::read_to_string(format!("/proc/{program}/stat")).unwrap();
    let helper: i32 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let limits = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: lowers the limits of the helper, a process of ours.
    let lowered =
        unsafe { libc::prlimit(helper, libc::RLIMIT_NOFILE, &limits, std::ptr::null_mut()) };
    assert_eq!(lowered, 0, "{}", std::io::Error::last_os_error());
}

/// What a call would meet anyway (no such file) is answered as the kernel would, and is
/// not reported as the jail's doing.
#[test]
fn ordinary_errors_are_not_reported_as_refusals() {
    let scene = Scene::new();
    let missing = scene.work.join("missing");
    let jailed = Jail::new(HELPER)
        .spawn(
            &scene.spec(&["chmod", path(&missing), "644"]),
            [Stdio::Null, Stdio::Null, Stdio::Null],
        )
        .unwrap();
    let finished = jailed.waiter.finish();
    assert_eq!(finished.outcome, Outcome::Exited(0));
    assert!(
        finished.notes.refused.is_empty(),
        "{:?}",
        finished.notes.refused
    );
    assert_eq!(
        attack(&scene, &["chmod", path(&missing), "644"]),
        "blocked ENOENT"
    );
}
