//! The audit log: one JSON line per sandboxed run, for the permission display and for
//! `approve`, which grants what the last runs were denied.

#![allow(
    clippy::disallowed_methods,
    reason = "the audit log's path and the colour decision are handed down by the CLI in the tool's own variables"
)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use wasm_build_diagnostics::color::Painter;
use wasm_build_diagnostics::script::Failure;
use wasm_build_permissions_schema::{Capability, Code};

use crate::cargo::CargoPackage;
use crate::vars::RUN_LOG_ENV;

/// One program the script tried to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecAttempt {
    /// The program as the script named it.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// What became of it.
    pub verdict: ExecVerdict,
}

/// What became of a program a script tried to run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ExecVerdict {
    /// A probe, or granted: it ran (confined).
    Allowed,
    /// Needs a grant nobody reviewed: the build fails with how to grant it.
    Pending,
    /// The consumer denied it: the script saw an error.
    Refused,
    /// Granted, but this machine cannot confine it: the build fails with why.
    Unavailable,
    /// Not reviewed, and run (confined, as if granted) by a learning build to record what
    /// the script needs.
    Learned,
}

impl ExecVerdict {
    /// Whether the program ran: allowed, or run by a learning build.
    pub fn ran(self) -> bool {
        matches!(self, ExecVerdict::Allowed | ExecVerdict::Learned)
    }

    /// The word the audit log and the permission display use.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecVerdict::Allowed => "allowed",
            ExecVerdict::Pending => "pending",
            ExecVerdict::Refused => "refused",
            ExecVerdict::Unavailable => "unavailable",
            ExecVerdict::Learned => "learned",
        }
    }
}

impl std::fmt::Display for ExecVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One connection a network-granted program asked the tool's filtering proxy for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkUse {
    /// The program, as its grant names it.
    pub program: String,
    /// The host as the program named it: a name in lower case, or an address.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The address connected to (or refused), when the name resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Bytes from the program to the host.
    pub sent: u64,
    /// Bytes from the host to the program.
    pub received: u64,
    /// What became of it.
    pub verdict: NetworkVerdict,
    /// Why it was refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// For a refused one, the host entry that would allow it (`127.0.0.1:8080`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

impl NetworkUse {
    /// The grant that would allow a refused connection.
    pub fn capability(&self) -> Option<Capability> {
        let host = self.grant.clone()?;
        Some(Capability::NetworkHost(
            wasm_build_permissions_schema::NetworkHost {
                program: self.program.clone(),
                host,
            },
        ))
    }

    /// `host:port`, an IPv6 address in brackets.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// What became of a connection through the proxy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkVerdict {
    /// Granted: made, and the bytes went through.
    Allowed,
    /// Not granted: refused before anything left the machine.
    Refused,
    /// Granted, but it could not be made (no such name, no answer), or the request was
    /// no proxy request.
    Failed,
}

impl NetworkVerdict {
    /// The word the audit log and the permission display use.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkVerdict::Allowed => "allowed",
            NetworkVerdict::Refused => "refused",
            NetworkVerdict::Failed => "failed",
        }
    }
}

/// What one run of a build script did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Package name.
    pub package: String,
    /// Package version.
    pub version: String,
    /// Package directory, which identifies the exact package.
    pub manifest_dir: PathBuf,
    /// Exit status the stand-in gave cargo.
    pub status: i32,
    /// The stand-in cargo ran, where it expects the compiled build script: `approve`
    /// removes it when it grants `run-natively`, so that cargo compiles the script
    /// natively in the next build.
    #[serde(default)]
    pub script: Option<PathBuf>,
    /// When the run ended, in seconds since the Unix epoch.
    #[serde(default)]
    pub finished_at: u64,
    /// Wall time of the sandboxed run.
    pub elapsed_ms: u64,
    /// Why the run failed, one sentence each (empty on success).
    pub errors: Vec<RunError>,
    /// Capabilities the script needed and nobody has reviewed.
    pub pending: Vec<Capability>,
    /// Of [`pending`](Self::pending), what a learning build let the script use (jailed)
    /// to record it, instead of stopping it.
    #[serde(default)]
    pub learned: Vec<Capability>,
    /// Programs the script tried to start, and the verdict on each.
    #[serde(default)]
    pub exec: Vec<ExecAttempt>,
    /// Connections its network-granted programs asked the proxy for, and the verdict on
    /// each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network: Vec<NetworkUse>,
    /// Connections past what the proxy records, or refused because too many were open.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub network_unrecorded: u64,
    /// Directives dropped as unsafe and unneeded, with why.
    #[serde(default)]
    pub dropped: Vec<String>,
    /// Variables the script looked up that are set in the user's environment but hidden
    /// by the sandbox: the script may behave differently than natively.
    #[serde(default)]
    pub hidden_env: Vec<String>,
    /// Variables the script saw because the `[env]` table of the cargo configuration sets
    /// them.
    #[serde(default)]
    pub config_env: Vec<String>,
    /// Variables the script saw because they are build settings that pass by default
    /// (`CFLAGS`, `PKG_CONFIG_PATH`).
    #[serde(default)]
    pub default_env: Vec<String>,
    /// Programs whose failure looked like the jail's doing (see
    /// `wasm_build_exec::outcome::RunOutput::stopped`).
    #[serde(default)]
    pub stopped: Vec<String>,
    /// Variables the script set for rustc probes that rustc or its linker read: the
    /// probes ran with the consumer's environment instead, and may have answered
    /// otherwise than natively.
    #[serde(default)]
    pub probe_env_dropped: Vec<String>,
    /// Paths the script looked for outside what it may read that exist on this machine:
    /// natively it would have found them.
    #[serde(default)]
    pub hidden_paths: Vec<String>,
    /// The `read` grants that would show the script [`hidden_paths`](Self::hidden_paths)
    /// where software is installed; `approve` offers them.
    #[serde(default)]
    pub read_grants: Vec<String>,
    /// The last lines the script printed on stderr, kept for a failed run only: a
    /// discovery or learning run hides cargo's output, where they would have been seen.
    #[serde(default)]
    pub stderr_tail: Vec<String>,
    /// Whether the script ran natively (confined) by the consumer's `run-natively` grant.
    #[serde(default)]
    pub native: bool,
    /// Whether the script belongs to a build-dependency built for the sandbox itself (see
    /// [`crate::manifest::StandIn::for_guest`]).
    #[serde(default)]
    pub for_guest: bool,
    /// The layers of the jail that confined the script's programs (or the script, when
    /// it ran natively), if any ran.
    #[serde(default)]
    pub confinement: Option<String>,
    /// Where the run was restored from instead of run (the run cache's directory), when
    /// it was: its `OUT_DIR` files came from there and what it printed was judged again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<String>,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// One reason a run failed: its kind and the sentence that says it (completing
/// "sandboxed build script of `name vX` ...").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RunErrorRecord")]
pub struct RunError {
    /// The kind of problem; `None` in a record written before codes existed.
    pub code: Option<Code>,
    /// What happened.
    pub message: String,
}

impl RunError {
    /// An error of the kind `code`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        RunError {
            code: Some(code),
            message: message.into(),
        }
    }

    /// The heading it is shown under: `error[W101]:`, or `error:` without a code.
    pub fn heading(&self) -> String {
        self.as_failure().heading()
    }

    /// [`RunError::heading`], in cargo's bold red when the output is coloured.
    pub fn shown_heading(&self, colour: bool) -> String {
        wasm_build_diagnostics::script::error_heading(&self.heading(), Painter::new(colour))
    }

    /// The error as the diagnostics crate says it.
    pub fn as_failure(&self) -> Failure<'_> {
        Failure {
            code: self.code,
            message: &self.message,
        }
    }
}

/// Whether the CLI colours its output, as it tells its stand-ins (see
/// [`crate::vars::COLOR_ENV`]): a stand-in's stderr is no terminal, so it cannot tell.
pub fn coloured_by_env() -> bool {
    std::env::var_os(crate::vars::COLOR_ENV).is_some_and(|v| v == "always")
}

/// A [`RunError`] as read back: audit logs written before codes existed hold the sentence
/// alone, and must still be read (`approve` reads the last runs).
#[derive(Deserialize)]
#[serde(untagged)]
enum RunErrorRecord {
    Coded { code: Option<Code>, message: String },
    Sentence(String),
}

impl From<RunErrorRecord> for RunError {
    fn from(record: RunErrorRecord) -> Self {
        match record {
            RunErrorRecord::Coded { code, message } => RunError { code, message },
            RunErrorRecord::Sentence(message) => RunError {
                code: None,
                message,
            },
        }
    }
}

impl RunRecord {
    /// The record of a run of `package`'s build script that ended now with `status`,
    /// failing for `errors` and waiting on `pending`; the wrapper (a compile that failed)
    /// and the stand-in (a run) fill in the rest. The one place a record says whom it is
    /// about and when, so `approve` and the display find every record the same way.
    pub fn finished(
        package: &CargoPackage,
        status: i32,
        errors: Vec<RunError>,
        pending: Vec<Capability>,
    ) -> RunRecord {
        RunRecord {
            package: package.name.clone(),
            version: package.version.clone(),
            manifest_dir: package.manifest_dir.clone(),
            status,
            finished_at: now(),
            errors,
            pending,
            ..RunRecord::default()
        }
    }
}

/// The last `count` lines of `bytes`, for [`RunRecord::stderr_tail`]; the first may be
/// cut short, since the bytes are a tail themselves.
pub fn last_lines(bytes: &[u8], count: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..]
        .iter()
        .map(|line| (*line).to_string())
        .collect()
}

/// Seconds since the Unix epoch, for [`RunRecord::finished_at`].
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Appends `record` to `log` and to the CLI's run log, if one is set.
///
/// Logging never fails a build: a read-only target directory loses the record, not the
/// artifacts.
pub fn append(log: &Path, record: &RunRecord) {
    let Ok(mut line) = serde_json::to_vec(record) else {
        return;
    };
    line.push(b'\n');
    append_line(log, &line);
    if let Some(run_log) = std::env::var_os(RUN_LOG_ENV) {
        append_line(Path::new(&run_log), &line);
    }
}

fn append_line(path: &Path, line: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // One `write` of a whole line with O_APPEND: lines of parallel runs never interleave.
    if let Ok(mut file) = OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.write_all(line);
    }
}

/// Reads the records of `log`, skipping lines that do not parse (a newer tool's format,
/// or a line cut short by a full disk).
pub fn read(log: &Path) -> Vec<RunRecord> {
    std::fs::read_to_string(log)
        .map(|text| {
            text.lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_codes_and_records_from_before_codes_still_read() {
        let record = RunRecord {
            package: "x".into(),
            errors: vec![RunError::new(Code::W101, "needs permission to run `cc`")],
            ..RunRecord::default()
        };
        let line = serde_json::to_string(&record).unwrap();
        assert!(
            line.contains(r#""errors":[{"code":"W101","message":"needs permission to run `cc`"}]"#),
            "{line}"
        );
        assert_eq!(serde_json::from_str::<RunRecord>(&line).unwrap(), record);
        assert_eq!(record.errors[0].heading(), "error[W101]:");

        let old = line.replace(
            r#"{"code":"W101","message":"needs permission to run `cc`"}"#,
            r#""needs permission to run `cc`""#,
        );
        let read: RunRecord = serde_json::from_str(&old).unwrap();
        assert_eq!(read.errors[0].code, None);
        assert_eq!(read.errors[0].message, "needs permission to run `cc`");
        assert_eq!(read.errors[0].heading(), "error:");
    }
    #[test]
    fn a_finished_record_names_its_package_and_when() {
        let package = CargoPackage {
            name: "zstd-sys".into(),
            version: "2.0.0".into(),
            manifest_dir: "/src/zstd-sys".into(),
        };
        let before = now();
        let record = RunRecord::finished(
            &package,
            1,
            vec![RunError::new(Code::W105, "cannot run in the sandbox")],
            vec![Capability::RunNatively],
        );
        assert_eq!(
            (record.package.as_str(), record.version.as_str()),
            ("zstd-sys", "2.0.0")
        );
        assert_eq!(record.manifest_dir, PathBuf::from("/src/zstd-sys"));
        assert_eq!(record.status, 1);
        assert!(record.finished_at >= before && record.finished_at > 0);
        assert_eq!(record.errors[0].code, Some(Code::W105));
        assert_eq!(record.pending, [Capability::RunNatively]);
        assert_eq!(record.script, None);
    }
}
