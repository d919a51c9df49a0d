//! The wasm host driven directly: small guest programs (`runtime/test-programs/`),
//! compiled once per test run for `wasm32-wasip1`, run through [`Sandbox`] and judged on
//! what they leave behind (files, what they print, how they ended), not on having run.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "the guest programs are compiled with rustc for each test run"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wasm_build_exec::outcome::{Exit, RunOutput};
use wasm_build_permissions_schema::Limits;
use wasm_build_runtime::SandboxEngine;
use wasm_build_runtime::preopen::{Access, Preopen};
use wasm_build_runtime::sandbox::Sandbox;
use wasmtime::Module;

/// Every guest in `test-programs/`; [`every_guest_program_has_a_test`] keeps the two in
/// step, and each name is used by one test below.
const GUESTS: &[&str] = &[
    "sandbox_alloc",
    "sandbox_env",
    "sandbox_flood",
    "sandbox_fs",
];

fn programs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test-programs")
}

/// The directory of the compiled guests: each compiled once per test run, with the link
/// arguments build scripts get.
fn compiled() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest-programs");
        std::fs::create_dir_all(&out).unwrap();
        for guest in GUESTS {
            let status = std::process::Command::new("rustc")
                .args(["--edition=2024", "--target=wasm32-wasip1", "-Copt-level=1"])
                .args(wasm_build_shim::guest_link_args())
                .arg(programs_dir().join(format!("{guest}.rs")))
                .arg("-o")
                .arg(out.join(format!("{guest}.wasm")))
                .status()
                .unwrap();
            assert!(status.success(), "{guest} did not compile");
        }
        out
    })
}

/// A run of `guest` with `args`, `env`, `preopens` and `limits`, nothing else.
fn run(
    guest: &str,
    args: &[&str],
    env: &[(&str, &str)],
    preopens: Vec<Preopen>,
    limits: Limits,
) -> RunOutput {
    let engine = SandboxEngine::get().unwrap();
    let module =
        Module::from_file(engine.engine(), compiled().join(format!("{guest}.wasm"))).unwrap();
    Sandbox {
        engine: &engine,
        module: &module,
        args: std::iter::once(guest)
            .chain(args.iter().copied())
            .map(str::to_string)
            .collect(),
        env: env
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        preopens,
        limits,
        exec: None,
        temp_dir: None,
        hidden_env: BTreeSet::new(),
        exit_on_hang: false,
        module_cache: None,
    }
    .run()
    .unwrap()
}

fn stdout(output: &RunOutput) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn every_guest_program_has_a_test() {
    let found: BTreeSet<String> = std::fs::read_dir(programs_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = GUESTS.iter().map(|guest| guest.to_string()).collect();
    assert_eq!(found, listed);
}

/// A read-only preopen is readable and refuses writes, a read-write one takes them, and
/// nothing outside the preopens is there: not a file elsewhere on the host, not the
/// parent of a writable directory.
#[test]
fn preopens_give_exactly_what_they_grant() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (ro, rw) = (root.join("package"), root.join("out"));
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::write(ro.join("input.txt"), "hello").unwrap();
    let secret = root.join("secret.txt");
    std::fs::write(&secret, "the key").unwrap();
    let preopens = vec![
        Preopen {
            path: ro.clone(),
            access: Access::ReadOnly,
        },
        Preopen {
            path: rw.clone(),
            access: Access::ReadWrite,
        },
    ];
    let path = |path: &Path| path.to_str().unwrap().to_string();
    let output = run(
        "sandbox_fs",
        &[&path(&ro), &path(&rw), &path(&secret)],
        &[],
        preopens,
        Limits::default(),
    );
    assert_eq!(output.exit, Exit::Code(0), "{}", stdout(&output));
    assert_eq!(
        std::fs::read_to_string(rw.join("output.txt")).unwrap(),
        "copied: hello"
    );
    assert_eq!(
        stdout(&output),
        "read-only write: refused\noutside read: refused\nescape: refused\n"
    );
    assert!(!ro.join("planted.txt").exists());
    assert!(!root.join("escaped.txt").exists());
    assert!(
        output
            .refused_writes
            .contains(&path(&ro.join("planted.txt"))),
        "{:?}",
        output.refused_writes
    );
    assert!(
        output.outside_lookups.contains(&path(&secret)),
        "{:?}",
        output.outside_lookups
    );
}

/// The guest sees exactly the environment it is given, in order, nothing of the host's,
/// and its exit status comes back as it gave it.
#[test]
fn the_environment_is_exactly_what_was_given() {
    let output = run(
        "sandbox_env",
        &["3", "two words"],
        &[
            ("OUT_DIR", "/t/out"),
            ("TARGET", "x86_64-unknown-linux-gnu"),
        ],
        Vec::new(),
        Limits::default(),
    );
    assert_eq!(
        stdout(&output),
        "OUT_DIR=/t/out\nTARGET=x86_64-unknown-linux-gnu\nargs: 3 two words\n"
    );
    assert_eq!(output.exit, Exit::Code(3));
    assert!(!output.exit.success());
}

/// A guest that prints more than its stdout limit is stopped at the limit, with what it
/// printed before kept and nothing after.
#[test]
fn a_stdout_flood_is_stopped_at_the_limit() {
    let limits = Limits {
        stdout_bytes: 64 << 10,
        ..Limits::default()
    };
    let output = run("sandbox_flood", &["1048576"], &[], Vec::new(), limits);
    assert_eq!(output.exit, Exit::StdoutFlood(64 << 10));
    assert!(output.stdout.len() <= 64 << 10, "{}", output.stdout.len());
    assert!(!stdout(&output).contains("printed everything"));
    let within = run("sandbox_flood", &["4096"], &[], Vec::new(), limits);
    assert_eq!(within.exit, Exit::Code(0));
    assert!(stdout(&within).ends_with("printed everything\n"));
}

/// A guest that allocates past its memory limit ends as out of memory (not as the panic
/// Rust's allocation failure looks like), and one within the limit runs.
#[test]
fn memory_past_the_limit_is_refused() {
    let limits = Limits {
        memory_bytes: 32 << 20,
        ..Limits::default()
    };
    let output = run("sandbox_alloc", &["256"], &[], Vec::new(), limits);
    assert_eq!(output.exit, Exit::OutOfMemory(32 << 20));
    assert!(output.stdout.is_empty());
    let within = run("sandbox_alloc", &["8"], &[], Vec::new(), limits);
    assert_eq!(within.exit, Exit::Code(0));
    assert_eq!(stdout(&within), "allocated 8 MiB\n");
}
