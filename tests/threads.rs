//! Build scripts that start threads or recurse deeply: the sandbox has one thread and
//! runs each spawned thread when something waits for it (see `shim/facade/thread.rs`).

use crate::support::{Project, assert_same_as_native, manifest};

/// What build scripts do with threads, in one script: a deep generator on a thread with a
/// larger stack, scoped workers, threads that send results back over a channel, a worker
/// that reads what the main thread sent before joining it, and rayon (from crates.io),
/// whose global pool falls back to the calling thread. Every result goes into `OUT_DIR`
/// and `rustc-cfg`s, which must be byte-identical to a native run.
const THREADED_BUILD_RS: &str = r#"
use rayon::prelude::*;
use std::hint::black_box;
use std::sync::mpsc;
use std::thread;

/// About 4 KiB of stack per level: 3000 levels need more than wasm32's default 1 MiB.
fn depth(level: u32) -> u64 {
    let frame = black_box([level as u8; 4096]);
    if level == 0 { 0 } else { u64::from(frame[9]) + depth(level - 1) }
}

fn main() {
    let mut lines = Vec::new();

    let deep = thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| depth(3000))
        .expect("a thread with a stack size starts");
    lines.push(format!("deep thread: {}", deep.join().unwrap()));
    lines.push(format!("deep main: {}", depth(600)));

    let words = ["alpha", "beta", "gamma", "delta", "epsilon"];
    let lengths: Vec<usize> = thread::scope(|scope| {
        let workers: Vec<_> = words
            .chunks(2)
            .map(|chunk| scope.spawn(move || chunk.iter().map(|w| w.len()).sum::<usize>()))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    lines.push(format!("scoped: {lengths:?}"));

    let (results, received) = mpsc::channel();
    for n in 1..=4u64 {
        let results = results.clone();
        thread::spawn(move || results.send(n * n).unwrap());
    }
    drop(results);
    let mut squares: Vec<u64> = received.iter().collect();
    squares.sort();
    lines.push(format!("channel: {squares:?}"));

    let (jobs, queue) = mpsc::sync_channel::<u64>(8);
    let summer = thread::spawn(move || queue.iter().sum::<u64>());
    for job in 1..=5 {
        jobs.send(job).unwrap();
    }
    drop(jobs);
    lines.push(format!("worker: {}", summer.join().unwrap()));

    let sum: u64 = (1..=1000u64).into_par_iter().map(|n| n * 3).sum();
    lines.push(format!("rayon: {sum}"));

    let cores = thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    lines.push(format!("parallelism: {cores}"));

    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/threads.txt"), lines.join("\n")).unwrap();
    println!("cargo:rustc-cfg=threads_sum=\"{sum}\"");
    println!("cargo:rustc-check-cfg=cfg(threads_sum, values(any()))");
}
"#;

/// The package `threaded`, whose build script is [`THREADED_BUILD_RS`].
fn threaded() -> Project {
    let project = Project::new();
    project
        .file(
            "Cargo.toml",
            &manifest("threaded", "[build-dependencies]\nrayon = \"1\""),
        )
        .file("build.rs", THREADED_BUILD_RS)
        .file("src/lib.rs", "");
    project
}

#[test]
fn build_script_threads_give_the_native_results() {
    let fixture = threaded();
    let dependency = format!("threaded = {{ path = {:?} }}", fixture.root());
    assert_same_as_native("threads-path-dependency", &dependency, "", &["threaded"]);
}

/// The threads' results themselves, so the comparison above cannot pass by both builds
/// producing nothing.
#[test]
fn build_script_threads_run_to_completion() {
    let project = threaded();
    project.wasm_build(&[]).success();
    let written = std::fs::read_dir(project.target().join("debug/build"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("out/threads.txt"))
        .find(|path| path.exists())
        .expect("the script wrote threads.txt");
    let depth = |levels: u64| (1..=levels).map(|level| level % 256).sum::<u64>();
    assert_eq!(
        std::fs::read_to_string(written).unwrap(),
        format!(
            "deep thread: {}\ndeep main: {}\nscoped: [9, 10, 7]\nchannel: [1, 4, 9, 16]\nworker: 15\nrayon: 1501500\nparallelism: {}",
            depth(3000),
            depth(600),
            std::thread::available_parallelism().unwrap().get()
        )
    );
}

/// A thread that waits for the thread that spawned it cannot run to completion first:
/// the build fails at once with an explanation, not at the CPU-time limit.
#[test]
fn thread_waiting_for_its_spawner_fails_with_an_explanation() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("waiting", ""))
        .file(
            "build.rs",
            r#"use std::sync::mpsc;
            fn main() {
                let (to_thread, from_main) = mpsc::channel::<u32>();
                let (to_main, from_thread) = mpsc::channel::<u32>();
                let echo = std::thread::spawn(move || {
                    for value in from_main.iter() {
                        to_main.send(value).unwrap();
                    }
                });
                to_thread.send(1).unwrap();
                assert_eq!(from_thread.recv().unwrap(), 1);
                drop(to_thread);
                echo.join().unwrap();
            }"#,
        )
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("waits for a message on a channel, which no thread can provide")
        .stderr_has("build.rs:")
        .stderr_lacks("time limit");
}

/// `Builder::spawn` without a stack size reports `Unsupported`, as wasm32-wasip1's std
/// does, with the reason: thread pools fall back on it (rayon, above).
#[test]
fn unsized_builder_spawn_is_unsupported_with_the_reason() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("pooled", ""))
        .file(
            "build.rs",
            r#"fn main() {
                let error = std::thread::Builder::new().spawn(|| ()).unwrap_err();
                assert_eq!(error.kind(), std::io::ErrorKind::Unsupported);
                println!("cargo:warning={error}");
            }"#,
        )
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .success()
        .stderr_has("`thread::Builder::spawn` needs a `stack_size`");
}

/// Runaway recursion ends with the cause, not with wasm's "out of bounds memory access".
#[test]
fn runaway_recursion_is_reported_as_a_stack_overflow() {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("recursive", ""))
        .file(
            "build.rs",
            r#"fn down(level: u64) -> u64 {
                let frame = std::hint::black_box([level as u8; 512]);
                u64::from(frame[3]) + down(level + 1)
            }
            fn main() { println!("{}", down(0)); }"#,
        )
        .file("src/lib.rs", "");
    project
        .wasm_build(&[])
        .failure()
        .stderr_has("sandboxed build script of `recursive v0.1.0` overflowed its stack of 64 MiB");
}
