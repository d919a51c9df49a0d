//! Benchmarks of cargo wasm-build against plain cargo:
//! `cargo run --release -p wasm-build-bench [-- --runs N] [--no-report]`.
//!
//! On `bench/project` (a real application graph, pinned by its Cargo.lock), interleaving
//! plain and sandboxed runs so that both see the same machine conditions:
//! - clean build (empty target directory, module cache included);
//! - no-change rebuild;
//! - start of a cached build script: a stand-in for an empty build script, run directly;
//! - peak memory of a build script run (typenum, which writes ~1 MB of code);
//! - what one program a build script runs costs: a trivial granted program and a
//!   `rustc --version` probe, each in the jail, against the same script run natively.
//!
//! Reports medians and ratios and writes BENCHMARKS.md. Wall-clock figures on a shared
//! 2-core machine are noisy: the ratios of interleaved runs are the numbers to read.

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
}

fn main() {
    if let Err(err) = run() {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}

fn run() -> Result<()> {
    let options = parse_args()?;
    let workspace = workspace()?;
    let tool = build_tool(&workspace)?;
    let project = workspace.join("bench/project");
    let work = workspace.join("target/bench");
    fs::create_dir_all(&work)?;
    // Everything downloaded up front: the network is not what is measured.
    run_quiet(
        Command::new(cargo())
            .args(["fetch", "--locked"])
            .current_dir(&project),
    )?;

    let native_target = work.join("native");
    let sandboxed_target = work.join("sandboxed");
    let plain = || {
        let mut command = Command::new(cargo());
        command.arg("build").arg("--locked");
        command
    };
    let sandboxed = || {
        let mut command = Command::new(&tool);
        command.args(["wasm-build", "build", "--locked"]);
        command
    };

    let mut clean = (Vec::new(), Vec::new());
    let mut noop = (Vec::new(), Vec::new());
    for round in 0..options.runs {
        eprintln!("round {}/{}: clean builds", round + 1, options.runs);
        for (target, command, times) in [
            (&native_target, plain(), &mut clean.0),
            (&sandboxed_target, sandboxed(), &mut clean.1),
        ] {
            let _ = fs::remove_dir_all(target);
            times.push(timed_build(command, &project, target)?);
        }
        eprintln!("round {}/{}: no-change rebuilds", round + 1, options.runs);
        for _ in 0..3 {
            for (target, command, times) in [
                (&native_target, plain(), &mut noop.0),
                (&sandboxed_target, sandboxed(), &mut noop.1),
            ] {
                times.push(timed_build(command, &project, target)?);
            }
        }
    }

    eprintln!("build-script start and memory");
    let starts = standin_start(&tool, &work)?;
    let memory = peak_memory(&sandboxed_target)?;
    eprintln!("programs run by a build script");
    let programs = program_costs(&tool, &work, options.runs)?;

    let clean_ratio = median(&clean.1) / median(&clean.0);
    let noop_ratio = median(&noop.1) / median(&noop.0);
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "clean build:      cargo {:.1} s, cargo wasm-build {:.1} s, ratio {clean_ratio:.3}",
        median(&clean.0),
        median(&clean.1)
    );
    let _ = writeln!(
        summary,
        "no-change build:  cargo {:.3} s, cargo wasm-build {:.3} s, ratio {noop_ratio:.3}",
        median(&noop.0),
        median(&noop.1)
    );
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
        let mut report = report(&options, &clean, &noop, starts, &memory, &project)?;
        report.push_str(&programs.report());
        fs::write(workspace.join("BENCHMARKS.md"), report)?;
        println!("wrote BENCHMARKS.md");
    }
    Ok(())
}

fn parse_args() -> Result<Options> {
    let mut options = Options {
        runs: 3,
        report: true,
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
                command.args(["wasm-build", "build"]);
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
    clean: &(Vec<f64>, Vec<f64>),
    noop: &(Vec<f64>, Vec<f64>),
    starts: (f64, f64),
    memory: &str,
    project: &Path,
) -> Result<String> {
    let cpu = command_output(
        "sh",
        &["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
    );
    let mut text = String::new();
    let _ = writeln!(text, "# Benchmarks\n");
    let _ = writeln!(
        text,
        "`cargo wasm-build` against plain `cargo build` on `bench/project` ({} packages, {} build scripts on Linux; pinned by its Cargo.lock), runs interleaved.\n",
        count_packages(project).0,
        count_packages(project).1
    );
    let _ = writeln!(
        text,
        "Measured {} on {} cores ({}), {} RAM, {}, {}, Linux {}. Reproduce with:\n\n```sh\ncargo run --release -p wasm-build-bench -- --runs {}\n```\n",
        command_output("date", &["-u", "+%Y-%m-%d"]),
        command_output("nproc", &[]),
        cpu.trim(),
        command_output("sh", &["-c", "free -h | awk '/Mem:/ {print $2}'"]),
        command_output("rustc", &["--version"]),
        command_output("cargo", &["--version"]),
        command_output("uname", &["-r"]),
        options.runs
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
        "| measurement | cargo | cargo wasm-build | ratio | target |"
    );
    let _ = writeln!(text, "| --- | --- | --- | --- | --- |");
    let _ = writeln!(
        text,
        "| clean build, median of {} (s) | {:.1} | {:.1} | **{:.3}** | ≤ 1.10 |",
        clean.0.len(),
        median(&clean.0),
        median(&clean.1),
        median(&clean.1) / median(&clean.0)
    );
    let _ = writeln!(
        text,
        "| no-change rebuild, median of {} (s) | {:.3} | {:.3} | **{:.3}** | ≤ 1.02 |",
        noop.0.len(),
        median(&noop.0),
        median(&noop.1),
        median(&noop.1) / median(&noop.0)
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
    let _ = writeln!(
        text,
        "All runs (s): clean cargo [{}], clean cargo wasm-build [{}]; no-change cargo [{}], no-change cargo wasm-build [{}].",
        list(&clean.0, 1),
        list(&clean.1, 1),
        list(&noop.0, 3),
        list(&noop.1, 3)
    );
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
