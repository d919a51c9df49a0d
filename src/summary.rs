//! What the CLI prints after cargo: which build scripts ran in the sandbox.

use std::ffi::OsString;
use std::io::Write;

use wasm_build_contract::PolicyFile;
use wasm_build_contract::audit::RunRecord;
use wasm_build_contract::inert::Inert;
use wasm_build_diagnostics::Diag as _;
use wasm_build_diagnostics::color::{ColorChoice, Painter, Stream};
use wasm_build_diagnostics::summary::{
    HiddenEnv, HiddenPaths, ProbeEnvDropped, SawWithoutGrant, Script, StoppedPrograms,
};
use wasm_build_permissions_schema::Capability;
use wasm_build_policy::env::env_capability;

/// The colour of a status word.
pub use wasm_build_diagnostics::Tone;

/// How chatty and colourful the summary is, following the flags given to cargo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    quiet: bool,
    verbose: bool,
    color: bool,
}

impl Output {
    /// Reads `-q`, `-v` and `--color` from cargo's arguments (up to a `--`), and the
    /// colour the way cargo decides it (`CARGO_TERM_COLOR`, then `NO_COLOR`, `CLICOLOR`
    /// and whether stderr is a terminal: [`ColorChoice`]).
    pub fn from_args(args: &[OsString]) -> Self {
        let args: Vec<&str> = args
            .iter()
            .filter_map(|arg| arg.to_str())
            .take_while(|arg| *arg != "--")
            .collect();
        let quiet = args.iter().any(|arg| *arg == "-q" || *arg == "--quiet");
        let verbose = args.iter().any(|arg| is_verbose_flag(arg));
        let flag_color = args.iter().enumerate().find_map(|(i, arg)| {
            arg.strip_prefix("--color=").or_else(|| {
                (*arg == "--color")
                    .then(|| args.get(i + 1).copied())
                    .flatten()
            })
        });
        let choice = ColorChoice::from_flag_or_env(flag_color.and_then(ColorChoice::parse));
        Output {
            quiet,
            verbose,
            color: choice.colors(Stream::Stderr),
        }
    }
}

/// Whether `arg` is cargo's `--verbose`, `-v`, `-vv`, ...
pub fn is_verbose_flag(arg: &str) -> bool {
    arg == "--verbose" || (arg.starts_with("-v") && arg[1..].chars().all(|c| c == 'v'))
}

impl Output {
    /// Whether `-v` was given.
    pub fn is_verbose(&self) -> bool {
        self.verbose
    }

    /// Whether output is coloured, as [`wasm_build_contract::vars::COLOR_ENV`] tells the
    /// stand-ins.
    pub fn color_choice(&self) -> &'static str {
        if self.color { "always" } else { "never" }
    }

    /// Whether cargo was asked to be quiet.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// The painter of everything said on stderr.
    pub fn painter(&self) -> Painter {
        Painter::new(self.color)
    }

    /// `word` in bold `tone` when colour is on.
    pub fn paint(&self, word: &str, tone: Tone) -> String {
        self.painter().paint(word, tone)
    }
}

/// Prints the summary of `records`; nothing when no build script ran.
pub fn print(records: &[RunRecord], policy: &PolicyFile, output: &Output) {
    if records.is_empty() {
        return;
    }
    // Like rustc's warnings under `cargo -q`, a script that may have built something else
    // is said even when the rest is not.
    let text = if output.quiet {
        format!(
            "{}{}{}{}",
            stopped_notes(records, output),
            probe_env_notes(records, policy, output),
            environment_notes(records, policy, output),
            path_notes(records, policy, output)
        )
    } else {
        render(records, policy, output)
    };
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// A warning per build script whose programs failed the way programs the jail stopped
/// fail: the script may have taken the failure for a missing feature and carried on.
fn stopped_notes(records: &[RunRecord], output: &Output) -> String {
    records
        .iter()
        .filter(|record| !record.stopped.is_empty())
        .map(|record| {
            StoppedPrograms {
                script: script(record),
                stopped: &record.stopped,
            }
            .render(output.painter())
        })
        .collect()
}

/// A warning per build script whose rustc probes ran without variables it set for them
/// that rustc or its linker read (a probe's environment is the consumer's), with the
/// grant that runs rustc as an ordinary program with the script's environment.
fn probe_env_notes(records: &[RunRecord], policy: &PolicyFile, output: &Output) -> String {
    records
        .iter()
        .filter(|record| !record.probe_env_dropped.is_empty())
        .map(|record| {
            ProbeEnvDropped {
                script: script(record),
                names: &record.probe_env_dropped,
                allow_table: &allow_table(policy, record),
            }
            .render(output.painter())
        })
        .collect()
}

/// The table that grants `record`'s script.
fn allow_table(policy: &PolicyFile, record: &RunRecord) -> String {
    policy.grant_site.allow_table(
        &policy
            .policy_for(&record.manifest_dir)
            .grant_spec(&record.package, &record.version),
    )
}

/// A warning per build script that looked up variables set in the user's environment
/// but hidden from it (so it may have built something else than natively), naming them
/// and the TOML that grants them; in strict mode those are errors already and are not
/// repeated. With `-v` or in strict mode, also what each script saw without a grant.
fn environment_notes(records: &[RunRecord], policy: &PolicyFile, output: &Output) -> String {
    let mut text = String::new();
    for record in records {
        let hidden: Vec<&String> = record
            .hidden_env
            .iter()
            .filter(|name| !record.pending.contains(&env_capability(name)))
            .collect();
        if hidden.is_empty() {
            continue;
        }
        let grants: Vec<_> = hidden.iter().map(|name| env_capability(name)).collect();
        text.push_str(
            &HiddenEnv {
                script: script(record),
                names: &hidden,
                allow_table: &allow_table(policy, record),
                grant_lines: &wasm_build_permissions_schema::grant_lines(&grants),
            }
            .render(output.painter()),
        );
    }
    if !(policy.strict || output.verbose) {
        return text;
    }
    for record in records {
        for (names, origin) in [
            (
                &record.config_env,
                "the `[env]` of your cargo configuration",
            ),
            (&record.default_env, "build settings that pass by default"),
        ] {
            if names.is_empty() {
                continue;
            }
            text.push_str(
                &SawWithoutGrant {
                    script: script(record),
                    origin,
                    names,
                }
                .render(output.painter()),
            );
        }
    }
    text
}

/// A warning per build script that looked for paths that exist here but are hidden
/// from it (a search for a host library, an SDK, a header), naming them and the `read`
/// grant that would show them (`RunRecord::read_grants`).
fn path_notes(records: &[RunRecord], policy: &PolicyFile, output: &Output) -> String {
    let mut text = String::new();
    // In strict mode they are errors already.
    let said = |record: &RunRecord| {
        record
            .pending
            .iter()
            .any(|capability| matches!(capability, Capability::Read(_)))
    };
    for record in records
        .iter()
        .filter(|record| !record.hidden_paths.is_empty() && !said(record))
    {
        let grants: Vec<Capability> = record
            .read_grants
            .iter()
            .cloned()
            .map(Capability::Read)
            .collect();
        let table = allow_table(policy, record);
        let lines = wasm_build_permissions_schema::grant_lines(&grants);
        text.push_str(
            &HiddenPaths {
                script: script(record),
                paths: &record.hidden_paths,
                grant: (!grants.is_empty()).then_some((table.as_str(), lines.as_slice())),
            }
            .render(output.painter()),
        );
    }
    text
}

/// The script of `record`, as messages name it.
fn script(record: &RunRecord) -> Script<'_> {
    Script {
        package: &record.package,
        version: &record.version,
    }
}

/// `name vX.Y.Z`.
fn label(record: &RunRecord) -> String {
    script(record).to_string()
}

fn render(records: &[RunRecord], policy: &PolicyFile, output: &Output) -> String {
    let status = |word: &str, ok: bool| {
        output.paint(
            &format!("{word:>12}"),
            if ok { Tone::Good } else { Tone::Bad },
        )
    };
    let mut text = String::new();
    // Runs of the nested cargo that built build-dependencies for the guest are listed on
    // their own: the same packages may also have run for the user's build.
    let (guest, own): (Vec<&RunRecord>, Vec<&RunRecord>) =
        records.iter().partition(|record| record.for_guest);
    let (native, wasm): (Vec<&RunRecord>, Vec<&RunRecord>) =
        own.into_iter().partition(|record| record.native);
    if output.verbose {
        for record in records {
            let restored;
            let (word, place) = if let Some(from) = &record.restored {
                restored = format!("from the run cache in {}", Inert(from));
                ("Restored", restored.as_str())
            } else if record.native {
                ("Confined", "natively (granted run-natively)")
            } else {
                ("Sandboxed", "in wasmtime")
            };
            let nested = if record.for_guest {
                ", building build-dependencies for wasm32-wasip1"
            } else {
                ""
            };
            text.push_str(&format!(
                "{} build script of {} {place}{nested} ({} ms{})\n",
                status(word, record.status == 0),
                label(record),
                record.elapsed_ms,
                if record.status == 0 { "" } else { ", failed" }
            ));
        }
    }
    let line = |group: &[&RunRecord], word: &str, place: &str| {
        let failed = group.iter().any(|record| record.status != 0);
        let mut names: Vec<String> = Vec::new();
        for name in group.iter().map(|record| label(record)) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let scripts = if names.len() == 1 {
            "build script"
        } else {
            "build scripts"
        };
        // Under -v each run has its own line above: the count only, not the names again.
        let listed = if output.verbose {
            String::new()
        } else {
            format!(": {}", names.join(", "))
        };
        format!(
            "{} {} {scripts} {place}{listed}\n",
            status(word, !failed),
            names.len(),
        )
    };
    if !wasm.is_empty() {
        text.push_str(&line(&wasm, "Sandboxed", "in wasmtime"));
    }
    if !native.is_empty() {
        text.push_str(&line(
            &native,
            "Confined",
            "natively, as granted (run-natively)",
        ));
    }
    if !guest.is_empty() {
        text.push_str(&line(
            &guest,
            "Sandboxed",
            "while cargo built build-dependencies for wasm32-wasip1",
        ));
    }
    let failed = records.iter().filter(|record| record.status != 0).count();
    text.push_str(&stopped_notes(records, output));
    text.push_str(&probe_env_notes(records, policy, output));
    text.push_str(&environment_notes(records, policy, output));
    text.push_str(&path_notes(records, policy, output));
    if failed > 0 {
        text.push_str(&format!(
            "{} {failed} of them in the sandbox (see their errors above)\n",
            status("Failed", false)
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(package: &str, status: i32) -> RunRecord {
        RunRecord {
            package: package.into(),
            version: "1.0.0".into(),
            manifest_dir: "/x".into(),
            status,
            finished_at: 0,
            elapsed_ms: 7,
            ..RunRecord::default()
        }
    }

    #[test]
    fn probes_that_ran_without_what_the_script_set_are_warned_about() {
        let output = Output {
            quiet: true,
            verbose: false,
            color: false,
        };
        let mut record = record("probing", 0);
        record.probe_env_dropped = vec!["PATH".into(), "RUSTC_BOOTSTRAP".into()];
        let text = probe_env_notes(
            &[record, self::record("quiet", 0)],
            &PolicyFile::default(),
            &output,
        );
        assert!(
            text.starts_with("warning[W304]: the build script of probing v1.0.0 set `PATH`, `RUSTC_BOOTSTRAP` for a rustc probe, which ran with your environment instead"),
            "{text}"
        );
        assert!(text.contains("exec = [\"$RUSTC\"]\n"), "{text}");
        assert!(!text.contains("quiet"), "{text}");
    }

    #[test]
    fn summary_names_every_script() {
        let output = Output {
            quiet: false,
            verbose: false,
            color: false,
        };
        assert_eq!(
            render(
                &[record("serde", 0), record("libc", 0)],
                &PolicyFile::default(),
                &output
            ),
            "   Sandboxed 2 build scripts in wasmtime: serde v1.0.0, libc v1.0.0\n"
        );
    }

    #[test]
    fn runs_of_the_nested_guest_build_are_listed_apart_and_once() {
        let output = Output {
            quiet: false,
            verbose: false,
            color: false,
        };
        let guest = |package| RunRecord {
            for_guest: true,
            ..record(package, 0)
        };
        assert_eq!(
            render(
                &[
                    record("rustix", 0),
                    guest("rustix"),
                    guest("quote"),
                    guest("rustix"),
                    record("app", 0)
                ],
                &PolicyFile::default(),
                &output
            ),
            "   Sandboxed 2 build scripts in wasmtime: rustix v1.0.0, app v1.0.0\n   \
             Sandboxed 2 build scripts while cargo built build-dependencies for wasm32-wasip1: \
             rustix v1.0.0, quote v1.0.0\n"
        );
    }

    #[test]
    fn verbose_lists_each_run_and_failures_are_counted() {
        let output = Output {
            quiet: false,
            verbose: true,
            color: false,
        };
        let text = render(&[record("evil", 1)], &PolicyFile::default(), &output);
        assert!(
            text.contains("   Sandboxed build script of evil v1.0.0 in wasmtime (7 ms, failed)\n"),
            "{text}"
        );
        assert!(
            text.contains("      Failed 1 of them in the sandbox"),
            "{text}"
        );
        // Each run is listed once: the summary line counts them without the names.
        let text = render(
            &[record("rustix", 0), record("app", 0)],
            &PolicyFile::default(),
            &output,
        );
        assert_eq!(text.matches("rustix v1.0.0").count(), 1, "{text}");
        assert!(
            text.ends_with("   Sandboxed 2 build scripts in wasmtime\n"),
            "{text}"
        );
    }

    #[test]
    fn hidden_variables_the_script_looked_up_are_pointed_out() {
        let output = Output {
            quiet: false,
            verbose: false,
            color: false,
        };
        let mut looked = record("zstd-sys", 0);
        looked.hidden_env = vec!["CC".into()];
        let text = render(&[looked], &PolicyFile::default(), &output);
        assert!(
            text.contains("warning[W301]: the build script of zstd-sys v1.0.0 looked up `CC`, set in your environment but hidden from it: it may have built something else than `cargo build` would\nhelp: if it should see it, add to [workspace.metadata.sandbox.allow.\"zstd-sys@1.0.0\"]\n          env = [\"CC\"]\n"),
            "{text}"
        );
        let mut secret = record("zstd-sys", 0);
        secret.hidden_env = vec!["CI_JOB_TOKEN".into(), "ZSTD_FLAVOR".into()];
        let text = render(&[secret.clone()], &PolicyFile::default(), &output);
        assert!(
            text.contains("looked up `CI_JOB_TOKEN`, `ZSTD_FLAVOR`")
                && text.contains("if it should see them")
                && text.contains(
                    "dangerous-env = [\"CI_JOB_TOKEN\"]\n          env = [\"ZSTD_FLAVOR\"]\n"
                ),
            "{text}"
        );
        // In strict mode a hidden lookup is an error of its own, not repeated here.
        secret.pending = vec![env_capability("CI_JOB_TOKEN")];
        let text = render(&[secret], &PolicyFile::default(), &output);
        assert!(text.contains("looked up `ZSTD_FLAVOR`, set"), "{text}");
    }

    #[test]
    fn hidden_paths_are_named_with_the_read_grants_that_show_them() {
        let output = Output {
            quiet: true,
            verbose: false,
            color: false,
        };
        let mut searched = record("clang-sys", 0);
        searched.hidden_paths = vec![
            "/".into(),
            "/usr/bin".into(),
            "/usr/bin/env".into(),
            "/etc/hostname".into(),
            "/root/.ssh".into(),
        ];
        searched.read_grants = vec!["/usr/bin".into()];
        let text = path_notes(&[searched.clone()], &PolicyFile::default(), &output);
        assert!(
            text.contains("warning[W302]: the build script of clang-sys v1.0.0 looked for `/`, `/usr/bin`, `/usr/bin/env`, `/etc/hostname`, `/root/.ssh`, which exist here but are hidden from it"),
            "{text}"
        );
        assert!(text.contains("          read = [\"/usr/bin\"]\n"), "{text}");
        searched.hidden_paths = vec!["/root/.ssh".into()];
        searched.read_grants = Vec::new();
        let text = path_notes(&[searched], &PolicyFile::default(), &output);
        assert!(
            text.contains("looked for `/root/.ssh`") && !text.contains("help:"),
            "{text}"
        );
    }

    #[test]
    fn strict_mode_and_verbose_show_what_scripts_saw_without_a_grant() {
        let output = Output {
            quiet: false,
            verbose: false,
            color: false,
        };
        let mut saw = record("zstd-sys", 0);
        saw.default_env = vec!["CC".into(), "CFLAGS".into()];
        saw.config_env = vec!["ZSTD_FLAVOR".into()];
        let quiet = render(&[saw.clone()], &PolicyFile::default(), &output);
        assert!(!quiet.contains("saw"), "{quiet}");
        let strict = PolicyFile {
            strict: true,
            ..PolicyFile::default()
        };
        let text = render(&[saw], &strict, &output);
        assert!(
            text.contains("note: the build script of zstd-sys v1.0.0 saw the `[env]` of your cargo configuration: ZSTD_FLAVOR\n")
                && text.contains("note: the build script of zstd-sys v1.0.0 saw build settings that pass by default: CC, CFLAGS\n"),
            "{text}"
        );
    }

    #[test]
    fn flags_are_read_like_cargo() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(Output::from_args(&args(&["-q"])).quiet);
        assert!(Output::from_args(&args(&["-vv"])).verbose);
        assert!(!Output::from_args(&args(&["--", "-q"])).quiet);
        assert!(Output::from_args(&args(&["--color", "always"])).color);
        assert!(!Output::from_args(&args(&["--color=never"])).color);
    }

    /// What a script ran, looked up and looked for, and what its programs printed, shows
    /// inert in every note, while the summary's own colours stay.
    #[test]
    fn what_a_script_wrote_is_shown_inert() {
        let output = Output {
            quiet: false,
            verbose: true,
            color: true,
        };
        let hostile = "\x1b]52;c;aGk=\x07\x1b[2K\u{202e}";
        let mut record = record("fake-sys", 1);
        record.stopped = vec![format!("`cc {hostile}` failed after printing `{hostile}`")];
        record.hidden_env = vec![format!("X{hostile}")];
        record.hidden_paths = vec![format!("/usr/{hostile}")];
        record.read_grants = vec![format!("/usr/{hostile}")];
        record.default_env = vec![format!("CC{hostile}")];
        let text = render(&[record], &PolicyFile::default(), &output);
        let uncoloured = ["31", "32", "33", "36"]
            .iter()
            .fold(text.replace("\x1b[0m", ""), |text, tone| {
                text.replace(&format!("\x1b[1;{tone}m"), "")
            });
        assert!(
            !uncoloured.contains(['\x1b', '\x07', '\u{202e}']),
            "{text:?}"
        );
        let shown = r"\u{1b}]52;c;aGk=\u{7}\u{1b}[2K\u{202e}";
        for expected in [
            format!("    `cc {shown}` failed after printing `{shown}`\n"),
            format!("looked up `X{shown}`"),
            r#"env = ["X\u001B]52;c;aGk=\u0007\u001B[2K\u202E"]"#.to_string(),
            format!("looked for `/usr/{shown}`"),
            format!("saw build settings that pass by default: CC{shown}\n"),
        ] {
            assert!(text.contains(&expected), "{expected}\n{text}");
        }
        assert!(text.contains("\x1b[1;33mwarning[W303]:\x1b[0m"), "{text:?}");
    }

    #[test]
    fn programs_that_look_stopped_are_warned_about() {
        let output = Output {
            quiet: true,
            verbose: false,
            color: false,
        };
        let mut record = record("fake-sys", 0);
        record.stopped = vec![
            "`cc -c x.c` failed (exit status 1) after printing `x.h: Permission denied`".into(),
        ];
        let mut text = String::new();
        text.push_str(&stopped_notes(&[record], &output));
        assert!(
            text.starts_with("warning[W303]: a program the build script of fake-sys v1.0.0 ran may have been stopped by the sandbox")
                && text.contains("    `cc -c x.c` failed (exit status 1) after printing `x.h: Permission denied`\n")
                && text.contains("help: programs may read"),
            "{text}"
        );
    }
}
