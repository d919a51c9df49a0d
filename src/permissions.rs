//! `cargo wasm-build permissions`: the display of who runs code at build time.

#![allow(
    clippy::disallowed_methods,
    reason = "the CLI opens the HTML display in the user's browser and reads the terminal's settings"
)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use wasm_build_contract::inert::{Inert, InertLines};
use wasm_build_diagnostics::Diag as _;
use wasm_build_diagnostics::cli::NeedReview;
use wasm_build_diagnostics::color::{ColorChoice as Choice, Stream};
use wasm_build_display::report::{build_report, check_failures};
use wasm_build_display::{
    PermissionReport, TableStyle, render_card, render_html, render_markdown, render_table,
};
use wasm_build_permissions_schema::Diagnostic;
use wasm_build_policy::carry::{Drifted, drifted};
use wasm_build_policy::pending::{audit_logs, last_runs};
use wasm_build_policy::resolve::check_member_tables;
use wasm_build_policy::revoked::revoked;
use wasm_build_policy::unmatched;
use wasm_build_policy::{Consumer, Graph, PolicyError, Resolution};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A terminal table (one card with `-p`).
    Table,
    /// JSON, versioned, the contract for other tools (schema: `--format json-schema`).
    Json,
    /// The JSON Schema of the JSON format.
    JsonSchema,
    /// Markdown cards, for review documents and pull requests.
    Markdown,
    /// One self-contained HTML page.
    Html,
}

/// When to colour the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// As `CARGO_TERM_COLOR` says, else on a terminal unless `NO_COLOR` is set
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `permissions`.
#[derive(Debug, Clone, clap::Args)]
pub struct PermissionsArgs {
    /// Show one package's card (NAME, NAME@VERSION or a package id spec)
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    package: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write to this file instead of stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit with status 1 when anything is unreviewed or grants drifted (for CI)
    #[arg(long)]
    check: bool,
    /// Coloring of the table
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    color: ColorChoice,
    /// Space or comma separated list of features to activate
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Graph options"
    )]
    features: Vec<String>,
    /// Activate all available features
    #[arg(long, help_heading = "Graph options")]
    all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long, help_heading = "Graph options")]
    no_default_features: bool,
    /// Only the packages built for this target triple (default: the host's)
    #[arg(long, value_name = "TRIPLE", help_heading = "Graph options")]
    target: Option<String>,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH", help_heading = "Graph options")]
    manifest_path: Option<String>,
    /// The target directory the last build used, if not cargo's (for its last runs)
    #[arg(long, value_name = "DIR", help_heading = "Graph options")]
    target_dir: Option<String>,
    /// Assert that Cargo.lock will remain unchanged
    #[arg(long, help_heading = "Graph options")]
    locked: bool,
    /// Run without accessing the network
    #[arg(long, help_heading = "Graph options")]
    offline: bool,
    /// Equivalent to specifying both --locked and --offline
    #[arg(long, help_heading = "Graph options")]
    frozen: bool,
}

impl PermissionsArgs {
    /// The arguments as `cargo build` would take them, for resolving the same graph, for
    /// `platform`: cargo leaves out what never builds there, and so does the display.
    fn cargo_args(&self, platform: &str) -> Vec<String> {
        let mut args = Vec::new();
        for features in &self.features {
            args.extend(["--features".to_string(), features.clone()]);
        }
        for (flag, on) in [
            ("--all-features", self.all_features),
            ("--no-default-features", self.no_default_features),
            ("--locked", self.locked),
            ("--offline", self.offline),
            ("--frozen", self.frozen),
        ] {
            if on {
                args.push(flag.to_string());
            }
        }
        args.extend(["--target".to_string(), platform.to_string()]);
        if let Some(path) = &self.manifest_path {
            args.extend(["--manifest-path".to_string(), path.clone()]);
        }
        if let Some(dir) = &self.target_dir {
            args.extend(["--target-dir".to_string(), dir.clone()]);
        }
        args
    }

    /// Whether to colour the table, decided as every message of the tool is: the flag,
    /// else `CARGO_TERM_COLOR` (`always` too, which this once ignored), else whether the
    /// output is a terminal.
    fn color(&self) -> bool {
        let flag = match self.color {
            ColorChoice::Auto => Choice::Auto,
            ColorChoice::Always => Choice::Always,
            ColorChoice::Never => Choice::Never,
        };
        let stream = if self.output.is_some() {
            Stream::File
        } else {
            Stream::Stdout
        };
        Choice::from_flag_or_env(Some(flag)).colors(stream)
    }
}

/// Runs `permissions`; returns the exit status.
pub fn run(args: &PermissionsArgs) -> Result<i32> {
    if args.format == Format::JsonSchema {
        let schema = wasm_build_display::report_schema();
        return emit(
            args,
            &format!("{}\n", serde_json::to_string_pretty(&schema)?),
        )
        .map(|()| 0);
    }
    let platform = platform(args)?;
    let (graph, metadata) = Graph::load_with_metadata(&args.cargo_args(&platform))?;
    let rules = crate::homes::rules(&graph);
    let consumer = match Consumer::load(&graph.root_manifest, &rules) {
        // A malformed table is a finding of the check, as anything else it refuses.
        Err(PolicyError::Tables(diagnostics)) if args.check => {
            writeln!(std::io::stderr(), "{}", InertLines(&diagnostics.0))?;
            return Ok(crate::exit::UNREVIEWED);
        }
        loaded => loaded?,
    };
    let resolution = Resolution::new(&graph, consumer, None, rules);
    if args.check
        && let Err(diagnostics) = check_member_tables(&resolution)
    {
        writeln!(std::io::stderr(), "{}", InertLines(&diagnostics.0))?;
        return Ok(crate::exit::UNREVIEWED);
    }
    // Grants that match nothing, tables that are not read: errors for --check.
    let table_problems = unmatched::diagnostics(&graph, &resolution.consumer);
    let runs = last_runs(&audit_logs(&graph.target_dir));
    let tool = format!("cargo-wasm-build {}", env!("CARGO_PKG_VERSION"));
    let mut report = build_report(&graph, &resolution, &runs, &tool, Some(&metadata));
    report.platform = Some(platform.clone());
    if let Some(spec) = &args.package {
        report.packages.retain(|card| {
            card.name == *spec
                || card.spec == *spec
                || format!("{}@{}", card.name, card.version) == *spec
        });
        if report.packages.is_empty() {
            let mut message = format!(
                "no package `{}` in this workspace's dependency graph for {platform} (for another platform's: --target TRIPLE)",
                Inert(spec)
            );
            if let Some(close) = unmatched::closest_package(spec, &graph) {
                message.push_str(&format!(
                    "\nhelp: a package with a similar name exists: `{close}`"
                ));
            }
            bail!("{message}");
        }
    }
    if args.check {
        let drifts = drifted(&graph, &resolution, &runs);
        let extra = command_args(args)?;
        let revoked = revoked(&resolution, &runs, &graph.target_dir);
        let mut failures = check_failures(&report, &extra);
        failures.extend(revoked.iter().map(|gone| {
            let used: Vec<String> = gone.used.iter().map(ToString::to_string).collect();
            format!(
                "{} {}: its last run used grants removed since: {} (build again to see whether it builds without them: `cargo wasm-build{extra}`)",
                gone.name,
                gone.version,
                used.join(", ")
            )
        }));
        return check(&report, (&failures, &drifts, &extra), &table_problems);
    }
    for problem in &table_problems {
        writeln!(std::io::stderr(), "{}\n", problem.as_warning())?;
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let style = TableStyle {
        color: args.color(),
        width: if to_terminal {
            crate::terminal::width(libc::STDOUT_FILENO)
        } else {
            None
        },
    };
    let text = match args.format {
        Format::Table if args.package.is_some() => report
            .packages
            .iter()
            .map(|card| render_card(card, style))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Table => render_table(&report, style),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&report)?),
        Format::Markdown => render_markdown(&report),
        Format::Html => render_html(&report),
        Format::JsonSchema => unreachable!("handled above"),
    };
    emit(args, &text)?;
    Ok(0)
}

/// The platform the graph is resolved for, as cargo build would build for it: `--target`,
/// else `CARGO_BUILD_TARGET`, else the host cargo reports (`cargo -vV`).
fn platform(args: &PermissionsArgs) -> Result<String> {
    if let Some(target) = &args.target {
        return Ok(target.clone());
    }
    if let Some(target) = std::env::var("CARGO_BUILD_TARGET")
        .ok()
        .filter(|target| !target.is_empty())
    {
        return Ok(target);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(&cargo)
        .arg("-vV")
        .output()
        .with_context(|| format!("failed to run `{} -vV`", cargo.to_string_lossy()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_string())
        .with_context(|| {
            format!(
                "`{} -vV` did not say the host platform; pass `--target`",
                cargo.to_string_lossy()
            )
        })
}

fn emit(args: &PermissionsArgs, text: &str) -> Result<()> {
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("failed to write {}", path.display())),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()) {
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("failed to write the report"),
            }
        }
    }
}

/// What the commands `--check` prints need to find this workspace from any directory:
/// the manifest path and target directory it was given, made absolute.
fn command_args(args: &PermissionsArgs) -> Result<String> {
    let cwd = std::env::current_dir().context("failed to read the current directory")?;
    let mut extra = String::new();
    for (option, value) in [
        ("--manifest-path", &args.manifest_path),
        ("--target-dir", &args.target_dir),
    ] {
        if let Some(value) = value {
            extra.push_str(&format!(" {option} {}", cwd.join(value).display()));
        }
    }
    Ok(extra)
}

fn check(
    report: &PermissionReport,
    (failures, drifts, extra): (&[String], &[Drifted], &str),
    table_problems: &[Diagnostic],
) -> Result<i32> {
    let mut stderr = std::io::stderr();
    for problem in table_problems {
        writeln!(stderr, "{}\n", InertLines(&problem.to_string()))?;
    }
    if failures.is_empty() && table_problems.is_empty() {
        let scripts = report.summary.build_scripts;
        let macros = report.summary.proc_macros;
        writeln!(
            stderr,
            "permissions: {} reviewed ({} unsandboxed)",
            if scripts == 1 {
                "the 1 build script".to_string()
            } else {
                format!("all {scripts} build scripts")
            },
            if macros == 1 {
                "1 proc macro runs".to_string()
            } else {
                format!("{macros} proc macros run")
            },
        )?;
        return Ok(0);
    }
    if failures.is_empty() {
        return Ok(crate::exit::UNREVIEWED);
    }
    let said = NeedReview { failures };
    writeln!(stderr, "{}", said.render(crate::terminal::stderr_painter()))?;
    for drift in drifts {
        writeln!(
            stderr,
            "note: {} {} against {}:",
            drift.name, drift.version, drift.from
        )?;
        for line in drift.comparison() {
            writeln!(stderr, "  {}", Inert(&line))?;
        }
        writeln!(
            stderr,
            "  carry the grant over{}: `cargo wasm-build approve{extra} {}`",
            if drift.needs_nothing_new() {
                ""
            } else {
                " and review what is new"
            },
            Inert(&drift.spec)
        )?;
    }
    writeln!(
        stderr,
        "help: see them with `cargo wasm-build permissions{extra}`, then `cargo wasm-build approve{extra} --all` (or `deny`)"
    )?;
    Ok(crate::exit::UNREVIEWED)
}
