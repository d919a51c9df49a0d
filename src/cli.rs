//! Command-line parsing: cargo's commands pass through, the tool's own are parsed here.

use std::ffi::OsString;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};

use crate::approve::{self, ApproveArgs, DecideArgs};
use crate::cache::{self, CacheArgs};
use crate::permissions::{self, PermissionsArgs};
use crate::run_cargo;
use wasm_build_permissions_schema::Mode;
use wasm_build_policy::edit::Decision;

#[derive(Debug, Parser)]
#[command(
    name = "cargo wasm-build",
    bin_name = "cargo wasm-build",
    version,
    about = "Build with every build script sandboxed in WebAssembly",
    long_about = "Build with every build script sandboxed in WebAssembly.\n\n\
        `cargo wasm-build [ARGS]` is `cargo build [ARGS]`, except that every build script of \
        every package is compiled to wasm32-wasip1 and run in wasmtime: it can read its own \
        package, write its OUT_DIR, see the variables cargo sets for build scripts, and \
        nothing else unless your workspace grants it.",
    after_help = "Any other arguments are passed to `cargo build`, e.g. `cargo wasm-build --release -p foo`.",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The tool's own option for build commands, taken out before the rest goes to cargo.
const MODE_FLAG: &str = "--sandbox-mode";

#[derive(Debug, Subcommand)]
enum Command {
    /// `cargo build` with sandboxed build scripts (the default)
    #[command(disable_help_flag = true)]
    Build(PassThrough),
    /// `cargo check` with sandboxed build scripts (for rust-analyzer, see the README)
    #[command(disable_help_flag = true)]
    Check(PassThrough),
    /// `cargo test` with sandboxed build scripts
    #[command(disable_help_flag = true)]
    Test(PassThrough),
    /// `cargo bench` with sandboxed build scripts
    #[command(disable_help_flag = true)]
    Bench(PassThrough),
    /// `cargo run` with sandboxed build scripts (the program itself runs natively)
    #[command(disable_help_flag = true)]
    Run(PassThrough),
    /// `cargo doc` with sandboxed build scripts
    #[command(disable_help_flag = true)]
    Doc(PassThrough),
    /// `cargo clippy` with sandboxed build scripts
    #[command(disable_help_flag = true)]
    Clippy(PassThrough),
    /// Approve what build scripts asked for or were denied (writes your Cargo.toml)
    Approve(ApproveArgs),
    /// Refuse what build scripts asked for or were denied (they see an error instead)
    Deny(DecideArgs),
    /// Show who runs code at build time, with which powers (table, json, markdown, html)
    Permissions(PermissionsArgs),
    /// Show what this machine offers to confine build scripts' programs, and the toolchain's
    /// wasm32-wasip1
    Doctor,
    /// Show (--stats) or empty (--clear) the shared cache of compiled guest artifacts
    Cache(CacheArgs),
}

/// Arguments handed to cargo unchanged, except `--sandbox-mode MODE` (deny, strict or
/// trust-declared), which overrides the workspace's mode for this run.
#[derive(Debug, clap::Args)]
struct PassThrough {
    /// Arguments for cargo (see `cargo help <command>`); `--sandbox-mode
    /// deny|strict|trust-declared` overrides the workspace's sandbox mode
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// Runs the CLI with `args` (without the program name) and returns the exit status.
pub fn main(args: &[OsString]) -> Result<i32> {
    // Cargo runs external subcommands as `cargo-wasm-build wasm-build ARGS`.
    let args = match args.first() {
        Some(first) if first == "wasm-build" => &args[1..],
        _ => args,
    };
    let cli = Cli::parse_from(with_default_command(args));
    let (command, pass) = match cli.command {
        Command::Build(pass) => ("build", pass),
        Command::Check(pass) => ("check", pass),
        Command::Test(pass) => ("test", pass),
        Command::Bench(pass) => ("bench", pass),
        Command::Run(pass) => ("run", pass),
        Command::Doc(pass) => ("doc", pass),
        Command::Clippy(pass) => ("clippy", pass),
        Command::Approve(args) => return approve::approve(&args),
        Command::Deny(args) => return approve::run(&args, Decision::Deny, None),
        Command::Permissions(args) => return permissions::run(&args),
        Command::Doctor => return crate::doctor::run(),
        Command::Cache(args) => return cache::run(&args),
    };
    let (mode, args) = take_mode(pass.args)?;
    run_cargo::run(command, &args, mode)
}

/// Removes `--sandbox-mode MODE` (or `--sandbox-mode=MODE`) from cargo's arguments.
fn take_mode(args: Vec<OsString>) -> Result<(Option<Mode>, Vec<OsString>)> {
    let mut mode = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            rest.push(arg);
            rest.extend(iter.by_ref());
            break;
        }
        let value = if arg == MODE_FLAG {
            iter.next()
        } else {
            match arg
                .to_str()
                .and_then(|a| a.strip_prefix(MODE_FLAG)?.strip_prefix('='))
            {
                Some(value) => Some(OsString::from(value)),
                None => {
                    rest.push(arg);
                    continue;
                }
            }
        };
        let value = value.unwrap_or_default();
        let text = value.to_string_lossy();
        mode = Some(Mode::parse(&text).ok_or_else(|| {
            anyhow::anyhow!("unknown {MODE_FLAG} `{text}`: use deny, strict or trust-declared")
        })?);
    }
    Ok((mode, rest))
}

/// `cargo wasm-build --release` means `cargo wasm-build build --release`: options that
/// are not one of our commands or a help/version flag go to `cargo build`. A first word
/// that is no option is a command, ours or misspelt (`chek`): `cargo build` takes no
/// positional argument, so it goes to the parser, which says it is unknown and suggests
/// the closest command, instead of cargo build's usage.
fn with_default_command(args: &[OsString]) -> Vec<OsString> {
    let ours = |arg: &OsString| {
        let known: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|sub| sub.get_name().to_string())
            .collect();
        arg.to_str().is_some_and(|arg| {
            known.iter().any(|name| name == arg)
                || matches!(arg, "-h" | "--help" | "-V" | "--version" | "help")
        })
    };
    let mut full = vec![OsString::from("cargo wasm-build")];
    match args.first() {
        Some(first) if first == "help" => full.push("--help".into()),
        Some(first) if ours(first) || !first.to_string_lossy().starts_with('-') => {
            full.extend(args.iter().cloned());
        }
        _ => {
            full.push("build".into());
            full.extend(args.iter().cloned());
        }
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        with_default_command(&args)
            .into_iter()
            .skip(1)
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn build_is_the_default() {
        assert_eq!(expand(&[]), ["build"]);
        assert_eq!(
            expand(&["--release", "-p", "x"]),
            ["build", "--release", "-p", "x"]
        );
        assert_eq!(
            expand(&["check", "--message-format=json"]),
            ["check", "--message-format=json"]
        );
        assert_eq!(expand(&["--help"]), ["--help"]);
        assert_eq!(
            expand(&["chek"]),
            ["chek"],
            "a misspelt command is no option"
        );
    }

    #[test]
    fn a_misspelt_command_is_unknown_with_a_suggestion() {
        let args: Vec<OsString> = vec!["chek".into()];
        let error = Cli::try_parse_from(with_default_command(&args)).unwrap_err();
        let text = error.render().to_string();
        assert!(
            text.contains("unrecognized subcommand 'chek'")
                && text.contains("a similar subcommand exists: 'check'"),
            "{text}"
        );
    }

    /// Cargo commands that compile and therefore run build scripts.
    const CARGO_COMMANDS: &[&str] = &["build", "check", "test", "bench", "run", "doc", "clippy"];

    #[test]
    fn every_cargo_command_is_a_subcommand() {
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .map(|sub| sub.get_name().to_string())
            .collect();
        for command in CARGO_COMMANDS {
            assert!(names.iter().any(|name| name == command), "{command}");
        }
    }

    /// Every `cargo wasm-build ...` command in the README and the guides parses, so the
    /// docs cannot drift from the CLI.
    #[test]
    fn documented_commands_parse() {
        let docs = [
            include_str!("../README.md"),
            include_str!("../docs/consumers.md"),
            include_str!("../docs/crate-authors.md"),
            include_str!("../docs/ci.md"),
            include_str!("../docs/rust-analyzer.md"),
            include_str!("../rfcs/0001-wasi-sandboxed-build-scripts.md"),
        ];
        let mut checked = 0;
        for doc in docs {
            for line in doc.lines() {
                let line = line.trim().trim_start_matches("- run: ");
                let Some(rest) = line.strip_prefix("cargo wasm-build") else {
                    continue;
                };
                let command = rest.split(" #").next().unwrap_or("").trim();
                // A placeholder (`ARGS`, `CRATE`) ends the command: what follows it is
                // prose, as in the RFC's diagram.
                let placeholder =
                    |arg: &str| arg.len() > 1 && arg.chars().all(|c| c.is_ascii_uppercase());
                let args: Vec<OsString> = command
                    .split_whitespace()
                    .take_while(|arg| !placeholder(arg))
                    .filter(|arg| !arg.contains('|') && !arg.starts_with('['))
                    .map(OsString::from)
                    .collect();
                if args.iter().any(|arg| arg == "--help" || arg == "-h") {
                    continue;
                }
                let parsed = Cli::try_parse_from(with_default_command(&args));
                assert!(
                    parsed.is_ok(),
                    "documented command does not parse: {line}\n{:?}",
                    parsed.err()
                );
                if let Ok(Cli {
                    command: Command::Build(pass) | Command::Check(pass) | Command::Test(pass),
                    ..
                }) = parsed
                {
                    take_mode(pass.args).unwrap_or_else(|err| panic!("{line}: {err}"));
                }
                checked += 1;
            }
        }
        assert!(checked >= 20, "only {checked} documented commands found");
    }

    #[test]
    fn the_mode_flag_is_ours_and_the_rest_is_cargo_s() {
        let args: Vec<OsString> = [
            "--release",
            "--sandbox-mode",
            "strict",
            "--",
            "--sandbox-mode=x",
        ]
        .map(OsString::from)
        .into();
        let (mode, rest) = take_mode(args).unwrap();
        assert_eq!(mode, Some(Mode::Strict));
        assert_eq!(rest, ["--release", "--", "--sandbox-mode=x"]);
        let (mode, _) = take_mode(vec!["--sandbox-mode=trust-declared".into()]).unwrap();
        assert_eq!(mode, Some(Mode::TrustDeclared));
        assert!(take_mode(vec!["--sandbox-mode=lax".into()]).is_err());
    }

    #[test]
    fn pass_through_keeps_help_and_hyphens_for_cargo() {
        let cli = Cli::try_parse_from(["x", "test", "--help", "--", "--nocapture"]).unwrap();
        let Command::Test(pass) = cli.command else {
            panic!("not test");
        };
        assert_eq!(pass.args, ["--help", "--", "--nocapture"]);
    }
}
