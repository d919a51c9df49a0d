//! Progress of a cargo run whose own words the user does not need (the discovery check
//! after a stopped build, the learning check of `approve --learn`). Its output is hidden,
//! so the tool says what is happening instead, as cargo would: a status line on a
//! terminal, and one line per build script as it finishes, on a terminal or not.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use wasm_build_contract::audit::{self, RunRecord};

use crate::summary::{Output, Tone};

/// How often the status line is redrawn and the run log read while cargo works.
const TICK: Duration = Duration::from_millis(250);

/// What cargo reported on its JSON stdout.
enum Event {
    /// A unit finished: a crate checked or compiled, or a build script run.
    Unit(String),
}

/// Runs `cargo` (a `check` that takes `--message-format`), with its stdout and stderr
/// hidden; prints a status line while it works and, for each build script that
/// finishes, the line `describe` makes of its record (none for `None`). `run_log` is the
/// log its stand-ins append to. `verb` heads the status line (`Checking`).
pub fn watch(
    mut cargo: Command,
    run_log: &Path,
    verb: &str,
    output: &Output,
    describe: impl Fn(&RunRecord) -> Option<(&'static str, Tone, String)>,
) -> Result<ExitStatus> {
    cargo
        .arg("--message-format=json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cargo.spawn().context("failed to run cargo")?;
    let (events, received) = mpsc::channel();
    let reader = child.stdout.take().map(|stdout| {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(unit) = finished_unit(&line)
                    && events.send(Event::Unit(unit)).is_err()
                {
                    return;
                }
            }
        })
    });
    let mut status = StatusLine::new(verb, output);
    let mut shown = 0;
    loop {
        match received.recv_timeout(TICK) {
            Ok(Event::Unit(name)) => status.unit_done(name),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        shown = print_new_records(run_log, shown, &mut status, &describe);
        status.draw();
    }
    if let Some(reader) = reader {
        let _ = reader.join();
    }
    let exit = crate::signals::wait(&mut child).context("failed to wait for cargo")?;
    print_new_records(run_log, shown, &mut status, &describe);
    status.clear();
    Ok(exit)
}

/// The name of the unit a line of cargo's JSON output says finished, if it says so.
fn finished_unit(line: &str) -> Option<String> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    match message.get("reason")?.as_str()? {
        "compiler-artifact" => Some(message.get("target")?.get("name")?.as_str()?.to_string()),
        "build-script-executed" => {
            let id = message.get("package_id")?.as_str()?;
            Some(format!("{} (build script)", package_name(id)))
        }
        _ => None,
    }
}

/// The name in a package id, in either of cargo's id formats
/// (`registry+https://...#name@1.0.0`, or the old `name 1.0.0 (source)`).
fn package_name(id: &str) -> &str {
    match id.rsplit_once('#') {
        Some((path, name_version)) => {
            let name = name_version.split('@').next().unwrap_or(name_version);
            // `path+file:///dir/name#1.0.0` keeps the name in the path.
            if name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                path.rsplit('/').next().unwrap_or(path)
            } else {
                name
            }
        }
        None => id.split(' ').next().unwrap_or(id),
    }
}

/// Prints the lines for the records past the first `shown` in `run_log`; returns how many
/// there are now.
fn print_new_records(
    run_log: &Path,
    shown: usize,
    status: &mut StatusLine<'_>,
    describe: &impl Fn(&RunRecord) -> Option<(&'static str, Tone, String)>,
) -> usize {
    let records = audit::read(run_log);
    for record in records.iter().skip(shown) {
        if let Some((verb, tone, text)) = describe(record) {
            status.println(verb, tone, &text);
        }
    }
    records.len().max(shown)
}

/// Cargo's status line: `    Checking 57 crates done: ring (build script)  12s`, redrawn
/// in place on a terminal once the run has taken a second; nothing elsewhere.
struct StatusLine<'a> {
    verb: String,
    output: &'a Output,
    live: bool,
    started: Instant,
    done: usize,
    last: String,
    drawn: bool,
}

impl<'a> StatusLine<'a> {
    fn new(verb: &str, output: &'a Output) -> Self {
        StatusLine {
            verb: verb.to_string(),
            output,
            live: !output.is_quiet() && std::io::stderr().is_terminal(),
            started: Instant::now(),
            done: 0,
            last: String::new(),
            drawn: false,
        }
    }

    fn unit_done(&mut self, name: String) {
        self.done += 1;
        self.last = name;
    }

    fn draw(&mut self) {
        if !self.live || self.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let width = crate::terminal::width(libc::STDERR_FILENO).unwrap_or(80);
        let mut text = format!(
            "{} {} done{}{}  {}s",
            self.output.paint(&format!("{:>12}", self.verb), Tone::Help),
            self.done,
            if self.last.is_empty() { "" } else { ": " },
            self.last,
            self.started.elapsed().as_secs()
        );
        // Never wrap: a wrapped line cannot be redrawn in place. The colour codes do not
        // take columns, so this cuts what can be seen at most by their length.
        if let Some((cut, _)) = text.char_indices().nth(width.saturating_sub(1) + 11) {
            text.truncate(cut);
        }
        let _ = write!(std::io::stderr(), "\r\x1b[2K{text}");
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }

    fn clear(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            let _ = std::io::stderr().flush();
            self.drawn = false;
        }
    }

    /// A line above the status line: `    Learned ring v0.17.14: ...`.
    fn println(&mut self, verb: &str, tone: Tone, text: &str) {
        if self.output.is_quiet() {
            return;
        }
        self.clear();
        let _ = writeln!(
            std::io::stderr(),
            "{} {text}",
            self.output.paint(&format!("{verb:>12}"), tone)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_json_names_what_finished() {
        let artifact = r#"{"reason":"compiler-artifact","package_id":"registry+https://github.com/rust-lang/crates.io-index#libc@0.2.170","target":{"name":"libc"}}"#;
        assert_eq!(finished_unit(artifact).as_deref(), Some("libc"));
        let script = r#"{"reason":"build-script-executed","package_id":"registry+https://github.com/rust-lang/crates.io-index#ring@0.17.14"}"#;
        assert_eq!(
            finished_unit(script).as_deref(),
            Some("ring (build script)")
        );
        assert_eq!(package_name("path+file:///w/app#0.1.0"), "app");
        assert_eq!(package_name("path+file:///w/x#other@0.1.0"), "other");
        assert_eq!(package_name("ring 0.17.14 (registry+https://x)"), "ring");
        assert_eq!(finished_unit(r#"{"reason":"build-finished"}"#), None);
        assert_eq!(finished_unit("not json"), None);
    }
}
