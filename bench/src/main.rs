//! Benchmarks of cargo wasm-build against plain cargo:
//! `cargo run --release -p wasm-build-bench [-- --runs N] [--no-report] [--only small]`
//! (`--only` measures the clean builds of one project, and writes no report).
//!
//! On `bench/small` and `bench/project` (real application graphs, pinned by their
//! Cargo.lock), interleaving plain and sandboxed runs so that both see the same machine
//! conditions:
//! - clean build (empty target directory) with an empty user cache (the first ever), with
//!   the user cache the previous build filled but the run cache off (every build script
//!   runs), and with the warm run cache too (the build scripts' runs are restored);
//! - no-change rebuild;
//! - start of a cached build script: a stand-in for an empty build script, run directly;
//! - peak memory of a build script run (typenum, which writes ~1 MB of code);
//! - what one program a build script runs costs: a trivial granted program and a
//!   `rustc --version` probe, each in the jail, against the same script run natively.
//!
//! Reports medians and ratios and writes BENCHMARKS.md. Wall-clock figures on a shared
//! 2-core machine are noisy: the ratios of interleaved runs are the numbers to read.

#![allow(
    clippy::disallowed_methods,
    reason = "the benchmark runs cargo and the tool and reads their settings"
)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use wasm_build_compat::harness::{build_tool, cargo, command_output, workspace};

struct Options {
    runs: usize,
    report: bool,
    only: Option<String>,
}

fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}

/// One benchmark project and its interleaved timings, in seconds.
struct ProjectTimes {
    /// `bench/<dir>`.
    dir: &'static str,
    path: PathBuf,
    /// Plain `cargo build` in an empty target directory.
    native_clean: Vec<f64>,
    /// `cargo wasm-build` in an empty target directory with an empty user cache: the
    /// first build ever on a machine.
    first_ever: Vec<f64>,
    /// `cargo wasm-build` in an empty target directory with the user cache the previous
    /// build filled, the run cache off: CI with a kept cache, `cargo clean`, a new
    /// worktree, every build script running.
    warm_cache: Vec<f64>,
    /// The same with the run cache on: the build scripts' runs are restored (the library
    /// cache off: every library compiled).
    warm_runs: Vec<f64>,
    /// The same with the library cache on too, as a build runs by default: downloaded
    /// libraries' native compiles restored as well.
    warm_all: Vec<f64>,
    native_noop: Vec<f64>,
    sandboxed_noop: Vec<f64>,
}

/// The projects, smallest first: `bench/small` (an application of a dozen dependencies,
/// where fixed per-target-directory work shows most) and `bench/project` (170 packages).
const PROJECTS: [&str; 2] = ["small", "project"];

fn run() -> Result<()> {
    let options = parse_args()?;
    let workspace = workspace()?;
    let tool = build_tool(&workspace)?;
    let work = workspace.join("target/bench");
    fs::create_dir_all(&work)?;
    let mut projects = Vec::new();
    if let Some(only) = &options.only {
        let dir = PROJECTS
            .into_iter()
            .find(|dir| dir == only)
            .with_context(|| format!("--only takes one of {PROJECTS:?}"))?;
        let times = measure_project(&tool, &workspace, &work, dir, options.runs)?;
        print!("{}", project_summary(&times));
        let all = |times: &[f64]| {
            times
                .iter()
                .map(|time| format!("{time:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "all runs (s): clean cargo [{}], first ever [{}], warm cache [{}], warm run cache [{}], warm run and library caches [{}]",
            all(&times.native_clean),
            all(&times.first_ever),
            all(&times.warm_cache),
            all(&times.warm_runs),
            all(&times.warm_all)
        );
        return Ok(());
    }
    for dir in PROJECTS {
        projects.push(measure_project(
            &tool,
            &workspace,
            &work,
            dir,
            options.runs,
        )?);
    }
    let sandboxed_target = work.join("project-sandboxed");

    eprintln!("build-script start and memory");
    let starts = standin_start(&tool, &work)?;
    let memory = peak_memory(&sandboxed_target)?;
    eprintln!("programs run by a build script");
    let programs = program_costs(&tool, &work, options.runs)?;

    let mut summary = String::new();
    for project in &projects {
        summary.push_str(&project_summary(project));
    }
    let _ = writeln!(
        summary,
        "cached build-script start: sandboxed {:.1} ms, native {:.1} ms (median of {})",
        starts.0 * 1000.0,
        starts.1 * 1000.0,
        STARTS
    );
    let _ = writeln!(
        summary,
        "peak memory of the typenum build script run: {memory}"
    );
    let _ = writeln!(summary, "{}", programs.summary());
    print!("{summary}");
    if options.report {
        let mut report = report(&options, &projects, starts, &memory)?;
        report.push_str(&programs.report());
        fs::write(workspace.join("BENCHMARKS.md"), report)?;
        println!("wrote BENCHMARKS.md");
    }
    Ok(())
}

/// One line of medians and ratios for `project`.
fn project_summary(project: &ProjectTimes) -> String {
    let ratio = |times: &[f64]| median(times) / median(&project.native_clean);
    format!(
        "bench/{}: clean cargo {:.1} s; cargo wasm-build first ever {:.1} s ({:.3}), warm cache {:.1} s ({:.3}), warm run cache {:.1} s ({:.3}), warm run and library caches {:.1} s ({:.3}); no-change {:.3} s vs {:.3} s ({:.3})\n",
        project.dir,
        median(&project.native_clean),
        median(&project.first_ever),
        ratio(&project.first_ever),
        median(&project.warm_cache),
        ratio(&project.warm_cache),
        median(&project.warm_runs),
        ratio(&project.warm_runs),
        median(&project.warm_all),
        ratio(&project.warm_all),
        median(&project.native_noop),
        median(&project.sandboxed_noop),
        median(&project.sandboxed_noop) / median(&project.native_noop)
    )
}

/// Clean builds (plain, first ever, warm user cache) and no-change rebuilds of
/// `bench/<dir>`, interleaved round by round.
fn measure_project(
    tool: &Path,
    workspace: &Path,
    work: &Path,
    dir: &'static str,
    runs: usize,
) -> Result<ProjectTimes> {
    let project = workspace.join("bench").join(dir);
    // Everything downloaded up front: the network is not what is measured.
    run_quiet(
        Command::new(cargo())
            .args(["fetch", "--locked"])
            .current_dir(&project),
    )?;
    let native_target = work.join(format!("{dir}-native"));
    let sandboxed_target = work.join(format!("{dir}-sandboxed"));
    let user_cache = work.join(format!("{dir}-user-cache"));
    let plain = || {
        let mut command = Command::new(cargo());
        command.arg("build").arg("--locked");
        command
    };
    let sandboxed = |run_cache: &str, library_cache: &str| {
        let mut command = Command::new(tool);
        command
            .args(["wasm-build", "build", "--locked"])
            .env("CARGO_WASM_BUILD_CACHE", &user_cache)
            .env("CARGO_WASM_BUILD_RUN_CACHE", run_cache)
            .env("CARGO_WASM_BUILD_LIBRARY_CACHE", library_cache);
        command
    };
    let mut times = ProjectTimes {
        dir,
        path: project.clone(),
        native_clean: Vec::new(),
        first_ever: Vec::new(),
        warm_cache: Vec::new(),
        warm_runs: Vec::new(),
        warm_all: Vec::new(),
        native_noop: Vec::new(),
        sandboxed_noop: Vec::new(),
    };
    for round in 0..runs {
        eprintln!("bench/{dir}, round {}/{runs}: clean builds", round + 1);
        let _ = fs::remove_dir_all(&native_target);
        times
            .native_clean
            .push(timed_build(plain(), &project, &native_target)?);
        let _ = fs::remove_dir_all(&sandboxed_target);
        let _ = fs::remove_dir_all(&user_cache);
        times.first_ever.push(timed_build(
            sandboxed("on", "on"),
            &project,
            &sandboxed_target,
        )?);
        let _ = fs::remove_dir_all(&sandboxed_target);
        times.warm_cache.push(timed_build(
            sandboxed("off", "off"),
            &project,
            &sandboxed_target,
        )?);
        let _ = fs::remove_dir_all(&sandboxed_target);
        times.warm_runs.push(timed_build(
            sandboxed("on", "off"),
            &project,
            &sandboxed_target,
        )?);
        let _ = fs::remove_dir_all(&sandboxed_target);
        times.warm_all.push(timed_build(
            sandboxed("on", "on"),
            &project,
            &sandboxed_target,
        )?);
        eprintln!(
            "bench/{dir}, round {}/{runs}: no-change rebuilds",
            round + 1
        );
        for _ in 0..3 {
            times
                .native_noop
                .push(timed_build(plain(), &project, &native_target)?);
            times.sandboxed_noop.push(timed_build(
                sandboxed("on", "on"),
                &project,
                &sandboxed_target,
            )?);
        }
    }
    Ok(times)
}

fn parse_args() -> Result<Options> {
    let mut options = Options {
        runs: 3,
        report: true,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                options.runs = args
                    .next()
                    .context("--runs needs a number")?
                    .parse()
                    .context("--runs needs a number")?;
            }
            "--no-report" => options.report = false,
            "--only" => options.only = Some(args.next().context("--only needs a project")?),
            other => {
                bail!("unknown option `{other}` (see the comment at the top of bench/src/main.rs)")
            }
        }
    }
    Ok(options)
}

fn run_quiet(command: &mut Command) -> Result<()> {
    let status = command.stdout(Stdio::null()).status()?;
    if !status.success() {
        bail!("{command:?} failed");
    }
    Ok(())
}

fn timed_build(mut command: Command, project: &Path, target: &Path) -> Result<f64> {
    let started = Instant::now();
    let output = command
        .current_dir(project)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUSTC_WRAPPER")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    let elapsed = started.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "the build failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(elapsed)
}

/// Per program, in seconds: (native, sandboxed) for a trivial program and for a probe.
struct ProgramCosts {
    trivial: (Vec<f64>, Vec<f64>),
    probe: (Vec<f64>, Vec<f64>),
}

impl ProgramCosts {
    fn summary(&self) -> String {
        format!(
            "one program run by a build script: `true` native {:.2} ms, jailed {:.2} ms; `rustc --version` native {:.1} ms, jailed {:.1} ms",
            median(&self.trivial.0) * 1000.0,
            median(&self.trivial.1) * 1000.0,
            median(&self.probe.0) * 1000.0,
            median(&self.probe.1) * 1000.0
        )
    }

    fn report(&self) -> String {
        let row = |what: &str, (native, jailed): &(Vec<f64>, Vec<f64>)| {
            format!(
                "| {what}, median of {} runs (ms per program) | {:.2} | {:.2} | {:.2}× |\n",
                native.len(),
                median(native) * 1000.0,
                median(jailed) * 1000.0,
                median(jailed) / median(native)
            )
        };
        format!(
            "\nWhat one program a build script runs costs (the script is native under cargo, wasm under cargo wasm-build; each run starts {TRIVIAL} `true` and {PROBES} `rustc --version` one after another):\n\n\
             | program | cargo | cargo wasm-build (jailed) | ratio |\n| --- | --- | --- | --- |\n{}{}",
            row("`true` (granted)", &self.trivial),
            row("`rustc --version` (probe)", &self.probe)
        )
    }
}

const TRIVIAL: u32 = 100;
const PROBES: u32 = 20;

/// Runs a build script that starts `TRIVIAL` trivial programs and `PROBES` probes, natively
/// and sandboxed, `runs` times each, interleaved; the script times itself.
fn program_costs(tool: &Path, work: &Path, runs: usize) -> Result<ProgramCosts> {
    let project = work.join("spawns");
    fs::create_dir_all(project.join("src"))?;
    fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"spawns\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n\n         [package.metadata.sandbox.allow.\"spawns@0.1.0\"]\nexec = [\"true\"]\n",
    )?;
    fs::write(
        project.join("build.rs"),
        format!(
            r#"fn main() {{
    println!("cargo:rerun-if-env-changed=SPAWNS_ROUND");
    let start = std::time::Instant::now();
    for _ in 0..{TRIVIAL} {{
        assert!(std::process::Command::new("true").status().unwrap().success());
    }}
    let trivial = start.elapsed().as_secs_f64() / {TRIVIAL}.0;
    let rustc = std::env::var("RUSTC").unwrap();
    let start = std::time::Instant::now();
    for _ in 0..{PROBES} {{
        assert!(std::process::Command::new(&rustc).arg("--version").output().unwrap().status.success());
    }}
    let probe = start.elapsed().as_secs_f64() / {PROBES}.0;
    println!("cargo:warning=costs {{trivial}} {{probe}}");
}}"#
        ),
    )?;
    fs::write(project.join("src/lib.rs"), "")?;
    let mut costs = ProgramCosts {
        trivial: (Vec::new(), Vec::new()),
        probe: (Vec::new(), Vec::new()),
    };
    for round in 0..runs {
        for sandboxed in [false, true] {
            let mut command = if sandboxed {
                let mut command = Command::new(tool);
                // Each round must run the script, not restore its first run.
                command
                    .args(["wasm-build", "build"])
                    .env("CARGO_WASM_BUILD_RUN_CACHE", "off");
                command
            } else {
                let mut command = Command::new(cargo());
                command.arg("build");
                command
            };
            let target = work.join(if sandboxed {
                "spawns-sandboxed"
            } else {
                "spawns-native"
            });
            let output = command
                .current_dir(&project)
                .env("CARGO_TARGET_DIR", target)
                .env("SPAWNS_ROUND", round.to_string())
                .env("CARGO_TERM_COLOR", "never")
                .output()?;
            let stderr = String::from_utf8_lossy(&output.stderr);
            let Some((trivial, probe)) = stderr
                .lines()
                .find_map(|line| line.split_once("costs ")?.1.split_once(' '))
                .and_then(|(t, p)| {
                    Some((t.trim().parse::<f64>().ok()?, p.trim().parse::<f64>().ok()?))
                })
            else {
                bail!("the spawning build script reported nothing:\n{stderr}");
            };
            let (trivial_times, probe_times) = if sandboxed {
                (&mut costs.trivial.1, &mut costs.probe.1)
            } else {
                (&mut costs.trivial.0, &mut costs.probe.0)
            };
            trivial_times.push(trivial);
            probe_times.push(probe);
        }
    }
    Ok(costs)
}

const STARTS: usize = 30;

/// Median wall time of running an empty build script: sandboxed through its stand-in
/// (warm module cache), and natively.
fn standin_start(tool: &Path, work: &Path) -> Result<(f64, f64)> {
    let project = work.join("empty-script");
    fs::create_dir_all(project.join("src"))?;
    fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"empty-script\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )?;
    fs::write(project.join("build.rs"), "fn main() {}")?;
    fs::write(project.join("src/lib.rs"), "")?;
    let sandboxed_target = work.join("empty-sandboxed");
    let native_target = work.join("empty-native");
    run_quiet(
        Command::new(tool)
            .args(["wasm-build", "build", "-q"])
            .env("CARGO_WASM_BUILD_RUN_CACHE", "off")
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &sandboxed_target),
    )?;
    run_quiet(
        Command::new(cargo())
            .args(["build", "-q"])
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &native_target),
    )?;
    let sandboxed = median(&time_script(&sandboxed_target, &project)?);
    let native = median(&time_script(&native_target, &project)?);
    Ok((sandboxed, native))
}

/// Runs the compiled build script of `empty-script` as cargo would, `STARTS` times.
fn time_script(target: &Path, project: &Path) -> Result<Vec<f64>> {
    let build = target.join("debug/build");
    let mut script = None;
    let mut out_dir = None;
    for entry in fs::read_dir(&build)?.flatten() {
        let dir = entry.path();
        if dir.join("build-script-build").is_file() {
            script = Some(dir.join("build-script-build"));
        }
        if dir.join("out").is_dir() {
            out_dir = Some(dir.join("out"));
        }
    }
    let (Some(script), Some(out_dir)) = (script, out_dir) else {
        bail!("no build script under {}", build.display());
    };
    let mut times = Vec::new();
    for _ in 0..STARTS {
        let started = Instant::now();
        let status = Command::new(&script)
            .current_dir(project)
            .env("CARGO_PKG_NAME", "empty-script")
            .env("CARGO_PKG_VERSION", "0.1.0")
            .env("CARGO_MANIFEST_DIR", project)
            .env("OUT_DIR", &out_dir)
            .env("TARGET", "x86_64-unknown-linux-gnu")
            .env("HOST", "x86_64-unknown-linux-gnu")
            .stdout(Stdio::null())
            .status()?;
        times.push(started.elapsed().as_secs_f64());
        if !status.success() {
            bail!("{} failed", script.display());
        }
    }
    Ok(times)
}

/// Peak resident memory of re-running typenum's sandboxed build script, via
/// `/usr/bin/time -f %M`, or why it could not be measured.
fn peak_memory(sandboxed_target: &Path) -> Result<String> {
    let build = sandboxed_target.join("debug/build");
    let mut script = None;
    let mut out_dir = None;
    for entry in fs::read_dir(&build)?.flatten() {
        let dir = entry.path();
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if !name.starts_with("typenum-") {
            continue;
        }
        if dir.join("build-script-main").is_file() {
            script = Some(dir.join("build-script-main"));
        }
        if dir.join("out").is_dir() {
            out_dir = Some(dir.join("out"));
        }
    }
    let (Some(script), Some(out_dir)) = (script, out_dir) else {
        return Ok("not measured (no typenum build script found)".into());
    };
    let manifest_dir = dirs_of_typenum()?;
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(&script)
        .current_dir(&manifest_dir)
        .env("CARGO_PKG_NAME", "typenum")
        .env("CARGO_PKG_VERSION", "1.17.0")
        .env("CARGO_MANIFEST_DIR", &manifest_dir)
        .env("OUT_DIR", &out_dir)
        .stdout(Stdio::null())
        .output();
    let Ok(output) = output else {
        return Ok("not measured (/usr/bin/time is not installed)".into());
    };
    let text = String::from_utf8_lossy(&output.stderr);
    let kib: u64 = text
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or(0);
    Ok(format!(
        "{:.1} MiB (maximum resident set size of the whole stand-in process)",
        kib as f64 / 1024.0
    ))
}

fn dirs_of_typenum() -> Result<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .context("no CARGO_HOME")?;
    for entry in fs::read_dir(home.join("registry/src"))?.flatten() {
        let candidate = entry.path().join("typenum-1.17.0");
        if candidate.is_dir() {
            return Ok(candidate);
        }
    }
    bail!("typenum 1.17.0 sources not found")
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn report(
    options: &Options,
    projects: &[ProjectTimes],
    starts: (f64, f64),
    memory: &str,
) -> Result<String> {
    let cpu = command_output(
        "sh",
        &["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
    );
    let mut text = String::new();
    let _ = writeln!(text, "# Benchmarks\n");
    let _ = writeln!(
        text,
        "`cargo wasm-build` against plain `cargo build`, runs interleaved round by round, on two projects pinned by their Cargo.lock:\n"
    );
    for project in projects {
        let (packages, scripts) = count_packages(&project.path);
        let _ = writeln!(
            text,
            "- `bench/{}`: {packages} packages, {scripts} build scripts on Linux;",
            project.dir
        );
    }
    let _ = writeln!(
        text,
        "\nMeasured {} on {} cores ({}), {} RAM, {}, {}, Linux {}. Reproduce with:\n\n```sh\ncargo run --release -p wasm-build-bench -- --runs {}\n```\n",
        command_output("date", &["-u", "+%Y-%m-%d"]),
        command_output("nproc", &[]),
        cpu.trim(),
        command_output("sh", &["-c", "free -h | awk '/Mem:/ {print $2}'"]),
        command_output("rustc", &["--version"]),
        command_output("cargo", &["--version"]),
        command_output("uname", &["-r"]),
        options.runs
    );
    let _ = writeln!(
        text,
        "A clean build starts from an empty target directory. *First ever* also starts from an empty user cache (`CARGO_WASM_BUILD_CACHE`); *warm cache* keeps the one the build before it filled, as CI does when it keeps the cache between runs, and as `cargo clean` or a new worktree does on a laptop, with the run cache and the library cache off (every build script runs, every library is compiled); *warm run cache* also restores the build scripts' runs the first build stored instead of running them; *warm run and library caches*, the default, also restores the native compiles of downloaded libraries (the target directory is at the same path each time, as on a CI runner; see \"The library cache\" in docs/consumers.md). Every sandboxed build leaves uncompiled the native libraries only build scripts link (`CARGO_WASM_BUILD_LAZY_BUILD_DEPS`, see docs/consumers.md).\n"
    );
    let list = |values: &[f64], digits: usize| {
        values
            .iter()
            .map(|v| format!("{v:.digits$}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        text,
        "| project | measurement | cargo | cargo wasm-build | ratio | target |"
    );
    let _ = writeln!(text, "| --- | --- | --- | --- | --- | --- |");
    for project in projects {
        let rows = [
            (
                "clean build, first ever",
                &project.native_clean,
                &project.first_ever,
                1,
                "no slower than before",
            ),
            (
                "clean build, warm cache, run and library caches off",
                &project.native_clean,
                &project.warm_cache,
                1,
                "≤ 1.05",
            ),
            (
                "clean build, warm run cache, library cache off",
                &project.native_clean,
                &project.warm_runs,
                1,
                "for comparison",
            ),
            (
                "clean build, warm run and library caches (the default)",
                &project.native_clean,
                &project.warm_all,
                1,
                "≤ 0.8",
            ),
            (
                "no-change rebuild",
                &project.native_noop,
                &project.sandboxed_noop,
                3,
                "≤ 1.02",
            ),
        ];
        for (what, native, sandboxed, digits, target) in rows {
            let _ = writeln!(
                text,
                "| `bench/{}` | {what}, median of {} (s) | {:.digits$} | {:.digits$} | **{:.3}** | {target} |",
                project.dir,
                sandboxed.len(),
                median(native),
                median(sandboxed),
                median(sandboxed) / median(native)
            );
        }
    }
    let _ = writeln!(
        text,
        "\n| measurement | cargo | cargo wasm-build | ratio | target |\n| --- | --- | --- | --- | --- |"
    );
    let _ = writeln!(
        text,
        "| start of a cached empty build script, median of {STARTS} (ms) | {:.1} (native script) | {:.1} (stand-in, wasm) | {:.1}× | ≤ 10 ms |",
        starts.1 * 1000.0,
        starts.0 * 1000.0,
        starts.0 / starts.1
    );
    let _ = writeln!(
        text,
        "\nPeak memory of a build-script run (typenum): {memory}.\n"
    );
    for project in projects {
        let _ = writeln!(
            text,
            "All runs of `bench/{}` (s): clean cargo [{}], first ever [{}], warm cache [{}], warm run cache [{}], warm run and library caches [{}]; no-change cargo [{}], no-change cargo wasm-build [{}].\n",
            project.dir,
            list(&project.native_clean, 1),
            list(&project.first_ever, 1),
            list(&project.warm_cache, 1),
            list(&project.warm_runs, 1),
            list(&project.warm_all, 1),
            list(&project.native_noop, 3),
            list(&project.sandboxed_noop, 3)
        );
    }
    Ok(text)
}

fn count_packages(project: &Path) -> (usize, usize) {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
        ])
        .current_dir(project)
        .output();
    let Ok(output) = output else {
        return (0, 0);
    };
    let Ok(metadata) = serde_json::from_slice::<serde_json::Value>(&output.stdout) else {
        return (0, 0);
    };
    let ids: std::collections::HashSet<&str> = metadata["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|node| node["id"].as_str())
        .collect();
    let packages: Vec<&serde_json::Value> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| package["id"].as_str().is_some_and(|id| ids.contains(id)))
        .collect();
    let scripts = packages
        .iter()
        .filter(|package| {
            package["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|target| {
                    target["kind"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|kind| kind == "custom-build")
                })
        })
        .count();
    (packages.len(), scripts)
}
