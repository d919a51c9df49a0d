//! The permission display: who runs code at build time, with which powers.
//!
//! [`PermissionReport`] is the data, built by [`report::build_report`] from the policy's
//! resolution and the audit log; this module renders it as a terminal table, a
//! Markdown page, a self-contained HTML page, or JSON (its serde form, the contract for
//! other tools, with a JSON Schema from [`report_schema`]).

pub use wasm_build_diagnostics::escape;
mod html;
mod markdown;
pub mod report;
mod table;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use html::render_html;
pub use markdown::render_markdown;
pub use table::{TableStyle, render_card, render_table};

use wasm_build_contract::audit::{ExecVerdict, NetworkVerdict};
use wasm_build_permissions_schema::{Capability, CapabilityKey, CapabilitySet, Mode};

/// The version of the JSON format. Bumped when a field changes meaning or disappears;
/// new fields may appear without a bump. 2: limits are the text a table holds (`"2GiB"`,
/// `"10min"`) instead of numbers and `{secs, nanos}`, and unset ones are left out.
pub const REPORT_FORMAT_VERSION: u32 = 2;

/// The whole display: a summary and one card per package of the resolved graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PermissionReport {
    /// [`REPORT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The tool and version that made the report.
    pub tool: String,
    /// The workspace root.
    pub workspace_root: String,
    /// The consumer's mode.
    pub mode: Mode,
    /// The target triple the graph was resolved for (`--target`, or the host): packages
    /// that only build on other platforms are left out, as cargo leaves them out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Counts, first thing a reviewer reads.
    pub summary: Summary,
    /// Every package, build-time code first, then by name and version.
    pub packages: Vec<PackageCard>,
}

/// Counts over the graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Packages in the resolved graph.
    pub packages: usize,
    /// Packages that run code at build time: a build script, a proc macro, or both.
    #[serde(default)]
    pub build_time: usize,
    /// Packages with a build script.
    pub build_scripts: usize,
    /// Proc-macro packages (they run in the compiler, not sandboxed).
    pub proc_macros: usize,
    /// Build scripts that request or were granted programs.
    pub running_programs: usize,
    /// Build scripts that request or were granted network for a program.
    pub using_network: usize,
    /// Build scripts that request or were granted paths outside their package.
    pub reading_or_writing_paths: usize,
    /// Build scripts with requests or denied attempts nobody has reviewed.
    pub unreviewed: usize,
    /// Build scripts whose grants name another version than the one in the graph.
    pub drifted: usize,
    /// Build scripts granted to run natively (confined, outside wasm).
    pub native: usize,
}

/// One package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PackageCard {
    /// Name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// The spec grants use (`name@version`, or cargo's full id outside crates.io).
    pub spec: String,
    /// `crates.io`, `path`, `git`, or the registry's URL.
    pub source: String,
    /// Whether it is a member of the workspace.
    pub workspace_member: bool,
    /// Whether it has a build script.
    pub build_script: bool,
    /// Whether it is a proc macro (runs at build time, not sandboxed).
    pub proc_macro: bool,
    /// The `links` key.
    pub links: Option<String>,
    /// What the crate says it is (`description` of its manifest; the author's words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its license expression, as its manifest writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// `repository` of its manifest, as written (displays link it only when it is http(s)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `documentation` of its manifest, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// `homepage` of its manifest, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Why it is in the graph: the packages that depend on it directly, and how.
    #[serde(default)]
    pub dependents: Vec<Dependent>,
    /// One shortest chain of dependencies from a workspace member to it
    /// (`["app 0.1.0", "reqwest 0.12.0", "it 1.0.0"]`); empty for a member.
    #[serde(default)]
    pub dependency_path: Vec<String>,
    /// One-word verdict for the card.
    pub status: CardStatus,
    /// What the crate declares in `[package.metadata.sandbox]`.
    pub requested: CapabilitySet,
    /// Why, in the author's words.
    pub reason: Option<String>,
    /// What the workspace approved for this exact version.
    pub granted: CapabilitySet,
    /// What the workspace refused for this exact version.
    pub denied: CapabilitySet,
    /// Declared or attempted and neither approved nor refused.
    pub unreviewed: Vec<Capability>,
    /// Grant specs for other versions of this crate.
    pub drift: Vec<String>,
    /// What its last sandboxed run did, from the audit log.
    pub last_run: Option<LastRun>,
}

/// The verdict on one package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CardStatus {
    /// No build script, no proc macro.
    NoBuildTimeCode,
    /// A build script within the sandbox defaults.
    Sandboxed,
    /// A build script with grants beyond the defaults, all reviewed.
    Granted,
    /// Something declared or attempted waits for review.
    NeedsReview,
    /// Granted to run natively, confined.
    Native,
    /// A proc macro: runs in the compiler, not sandboxed. A proc macro with a build script
    /// has this status too (its build script is sandboxed, the macro is not), unless the
    /// script needs review.
    ProcMacro,
}

/// A package that depends on another one directly.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Dependent {
    /// Its name.
    pub name: String,
    /// Its exact version.
    pub version: String,
    /// How it depends: `normal`, `build` or `dev`.
    pub kinds: Vec<String>,
}

impl Dependent {
    /// `name version`, with the kinds when the dependency is not a normal one only:
    /// `cc 1.2.0 (build)`.
    pub fn short(&self) -> String {
        if self.kinds.iter().all(|kind| kind == "normal") {
            format!("{} {}", self.name, self.version)
        } else {
            format!("{} {} ({})", self.name, self.version, self.kinds.join(", "))
        }
    }
}

impl CardStatus {
    /// Human words for the status.
    pub fn label(self) -> &'static str {
        match self {
            CardStatus::NoBuildTimeCode => "no build-time code",
            CardStatus::Sandboxed => "sandboxed",
            CardStatus::Granted => "sandboxed, granted",
            CardStatus::NeedsReview => "needs review",
            CardStatus::Native => "native, confined",
            CardStatus::ProcMacro => "proc macro, not sandboxed",
        }
    }
}

/// The last sandboxed run of a build script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LastRun {
    /// Seconds since the Unix epoch.
    pub finished_at: u64,
    /// Whether it succeeded.
    pub succeeded: bool,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
    /// Whether it ran natively.
    pub native: bool,
    /// Programs it started or tried to, with how often and the verdict.
    pub programs: Vec<ProgramUse>,
    /// Hosts its network-granted programs connected to or were refused, with the bytes.
    #[serde(default)]
    pub network: Vec<HostUse>,
    /// Capabilities it was denied pending review.
    pub denied: Vec<Capability>,
    /// Directives the sandbox dropped, with why.
    pub dropped: Vec<String>,
    /// Variables it looked up that are set but hidden from it.
    pub hidden_env: Vec<String>,
    /// Variables it saw because the `[env]` table of the cargo configuration sets them.
    #[serde(default)]
    pub config_env: Vec<String>,
    /// Variables it saw because they are build settings that pass by default.
    #[serde(default)]
    pub default_env: Vec<String>,
    /// Why it failed, if it did.
    pub errors: Vec<String>,
}

/// How a build script's program used one host (and port) through the network proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostUse {
    /// The program, as its grant names it.
    pub program: String,
    /// `host:port` as the program named it.
    pub authority: String,
    /// The address connected to (or refused), when the name resolved.
    pub address: Option<String>,
    /// What became of the connections.
    pub verdict: NetworkVerdict,
    /// How many connections.
    pub count: usize,
    /// Bytes sent to the host, over all of them.
    pub sent: u64,
    /// Bytes received from the host, over all of them.
    pub received: u64,
    /// Why the first was refused or failed.
    pub why: Option<String>,
}

impl HostUse {
    /// One line: `curl → github.com:443 (140.82.112.3) ×2: 1.2 KiB sent, 3.4 MiB received`,
    /// or `curl → 169.254.169.254:80 refused: why`.
    pub fn line(&self) -> String {
        let count = if self.count > 1 {
            format!(" ×{}", self.count)
        } else {
            String::new()
        };
        let address = match &self.address {
            Some(address) if *address != self.authority_host() => format!(" ({address})"),
            _ => String::new(),
        };
        let head = format!(
            "{} → {}{address}{count}",
            short_program(&self.program),
            self.authority
        );
        match self.verdict {
            NetworkVerdict::Allowed => format!(
                "{head}: {} sent, {} received",
                bytes(self.sent),
                bytes(self.received)
            ),
            verdict => format!(
                "{head} {}: {}",
                verdict.as_str(),
                self.why.as_deref().unwrap_or("-")
            ),
        }
    }

    fn authority_host(&self) -> &str {
        let host = self
            .authority
            .rsplit_once(':')
            .map_or(self.authority.as_str(), |(host, _)| host);
        host.trim_start_matches('[').trim_end_matches(']')
    }
}

/// A byte count as people read it: `512 B`, `1.5 KiB`, `3.2 MiB`.
fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if count < 1024 {
        return format!("{count} B");
    }
    let mut value = count as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// How a build script used one program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProgramUse {
    /// The program as the script named it.
    pub program: String,
    /// What became of it.
    pub verdict: ExecVerdict,
    /// How many times.
    pub count: usize,
}

impl PackageCard {
    /// Whether the package runs code at build time.
    pub fn runs_at_build_time(&self) -> bool {
        self.build_script || self.proc_macro
    }

    /// The status label, and for a proc macro with a build script that the script is
    /// sandboxed (the macro is not).
    pub fn status_words(&self) -> String {
        let mut text = self.status.label().to_string();
        if self.proc_macro && self.build_script && self.status == CardStatus::ProcMacro {
            text.push_str(" (its build script is sandboxed)");
        }
        text
    }

    /// The status as the table shows it: its label, then drift, which the status alone
    /// does not say (`sandboxed; drift: grants name drifted@1.0.0`).
    pub fn status_text(&self) -> String {
        let mut text = self.status_words();
        if !self.drift.is_empty() {
            text.push_str(&format!("; drift: grants name {}", self.drift.join(", ")));
        }
        text
    }

    /// Whether a reviewer should look at it: it waits for review, its grants name
    /// another version, or something dangerous is granted or requested.
    pub fn needs_attention(&self) -> bool {
        self.status == CardStatus::NeedsReview
            || !self.drift.is_empty()
            || dangerous_part(&self.granted).is_some()
            || dangerous_part(&self.requested).is_some()
    }
}

/// `count` and the noun, singular or plural: `1 build script`, `2 build scripts`.
pub fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The JSON Schema of [`PermissionReport`], for the `--format json` contract.
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PermissionReport)).unwrap_or_default()
}

/// The capabilities of `set` that widen the sandbox past what review takes for granted
/// (see [`Capability::is_dangerous`]: homes, secrets, every variable, native runs), as
/// short text, or `None`. Every rendering shows it in red or marked, for what is granted
/// and for what is requested alike.
pub fn dangerous_part(set: &CapabilitySet) -> Option<String> {
    dangerous_of(&set.capabilities())
}

/// Those of `capabilities` that are dangerous, as [`dangerous_part`] writes them.
pub fn dangerous_of(capabilities: &[Capability]) -> Option<String> {
    let dangerous: Vec<String> = capabilities
        .iter()
        .filter(|capability| capability.is_dangerous())
        .map(|capability| {
            if capability.is_flag() {
                capability.toml_key().to_string()
            } else {
                format!("{}: {}", capability.toml_key(), capability.toml_value())
            }
        })
        .collect();
    (!dangerous.is_empty()).then(|| dangerous.join("; "))
}

/// A capability set as short text: `exec: cc, ar; env: CC`, or `-` when empty.
pub fn short_set(set: &CapabilitySet) -> String {
    let mut parts = Vec::new();
    let mut push = |key: &str, values: Vec<String>| {
        if !values.is_empty() {
            parts.push(format!("{key}: {}", values.join(", ")));
        }
    };
    for key in CapabilityKey::ALL.into_iter().filter(|key| !key.is_flag()) {
        push(key.key(), set.values(key));
    }
    if set.run_natively {
        parts.push("run natively".into());
    }
    if set.run_built {
        parts.push("run what it built".into());
    }
    let limits = set.limits.toml_pairs();
    if !limits.is_empty() {
        let limits: Vec<String> = limits
            .into_iter()
            .map(|(key, value)| format!("{key} {}", value.trim_matches('"')))
            .collect();
        parts.push(format!("limits: {}", limits.join(", ")));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
}

/// The last run as short text: `ok in 6.5 s; ran cc ×43, ar`. Programs that did not run
/// (awaiting review, refused, unavailable) are what the script *tried*:
/// `failed in 0.2 s; tried sh (pending)`; a learning build's are marked:
/// `ran cc (learned)`.
pub fn short_run(run: &LastRun) -> String {
    let mut text = format!(
        "{} in {:.1} s",
        if run.succeeded { "ok" } else { "failed" },
        run.elapsed_ms as f64 / 1000.0
    );
    let uses = |ran: bool| -> Vec<String> {
        run.programs
            .iter()
            .filter(|used| used.verdict.ran() == ran)
            .map(|used| {
                let count = if used.count > 1 {
                    format!(" ×{}", used.count)
                } else {
                    String::new()
                };
                let verdict = if used.verdict == ExecVerdict::Allowed {
                    String::new()
                } else {
                    format!(" ({})", used.verdict)
                };
                format!("{}{count}{verdict}", short_program(&used.program))
            })
            .collect()
    };
    for (word, list) in [("ran", uses(true)), ("tried", uses(false))] {
        if !list.is_empty() {
            text.push_str(&format!("; {word} {}", list.join(", ")));
        }
    }
    let hosts = |verdict: NetworkVerdict| -> Vec<String> {
        run.network
            .iter()
            .filter(|used| used.verdict == verdict)
            .map(|used| used.authority.clone())
            .collect()
    };
    for (word, verdict) in [
        ("reached", NetworkVerdict::Allowed),
        ("refused", NetworkVerdict::Refused),
    ] {
        let list = hosts(verdict);
        if !list.is_empty() {
            text.push_str(&format!("; {word} {}", list.join(", ")));
        }
    }
    // A program it tried is already said; the rest of what waits for review is not.
    let tried = |capability: &Capability| match capability {
        Capability::Exec(program) => run.programs.iter().any(|used| {
            used.verdict != ExecVerdict::Allowed
                && (used.program == *program || short_program(&used.program) == program)
        }),
        _ => false,
    };
    let denied: Vec<String> = run
        .denied
        .iter()
        .filter(|capability| !tried(capability))
        .map(ToString::to_string)
        .collect();
    if !denied.is_empty() {
        text.push_str("; awaiting review: ");
        text.push_str(&denied.join(", "));
    }
    text
}

/// A program path shortened to its file name (toolchain paths are long and alike).
fn short_program(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use wasm_build_permissions_schema::GatedDirective;

    /// A small report with one package of each kind, shared by the renderers' tests.
    pub fn report() -> PermissionReport {
        let card = |name: &str, status: CardStatus| PackageCard {
            name: name.into(),
            version: "1.0.0".into(),
            spec: format!("{name}@1.0.0"),
            source: "crates.io".into(),
            workspace_member: false,
            build_script: !matches!(status, CardStatus::NoBuildTimeCode | CardStatus::ProcMacro),
            proc_macro: status == CardStatus::ProcMacro,
            links: None,
            description: None,
            license: None,
            repository: None,
            documentation: None,
            homepage: None,
            dependents: Vec::new(),
            dependency_path: Vec::new(),
            status,
            requested: CapabilitySet::default(),
            reason: None,
            granted: CapabilitySet::default(),
            denied: CapabilitySet::default(),
            unreviewed: Vec::new(),
            drift: Vec::new(),
            last_run: None,
        };
        let mut zstd = card("zstd-sys", CardStatus::Granted);
        zstd.links = Some("zstd".into());
        zstd.granted.exec = vec!["cc".parse().unwrap(), "ar".parse().unwrap()];
        zstd.last_run = Some(LastRun {
            finished_at: 1_795_000_000,
            succeeded: true,
            elapsed_ms: 6500,
            native: false,
            network: Vec::new(),
            programs: vec![
                ProgramUse {
                    program: "cc".into(),
                    verdict: ExecVerdict::Allowed,
                    count: 43,
                },
                ProgramUse {
                    program: "ar".into(),
                    verdict: ExecVerdict::Allowed,
                    count: 1,
                },
            ],
            denied: Vec::new(),
            dropped: Vec::new(),
            hidden_env: Vec::new(),
            config_env: Vec::new(),
            default_env: Vec::new(),
            errors: Vec::new(),
        });
        let mut openssl = card("openssl-sys", CardStatus::NeedsReview);
        openssl.requested.exec = vec!["pkg-config".parse().unwrap()];
        openssl.reason = Some("finds the system OpenSSL".into());
        openssl.unreviewed = vec![
            Capability::Exec("pkg-config".into()),
            Capability::Directive(GatedDirective::RustcLinkArg),
        ];
        let serde = card("serde", CardStatus::Sandboxed);
        let derive = card("serde_derive", CardStatus::ProcMacro);
        let itoa = card("itoa", CardStatus::NoBuildTimeCode);
        PermissionReport {
            format_version: REPORT_FORMAT_VERSION,
            tool: "cargo-wasm-build 0.1.0".into(),
            workspace_root: "/work/app".into(),
            mode: Mode::Deny,
            platform: Some("x86_64-unknown-linux-gnu".into()),
            summary: Summary {
                packages: 5,
                build_time: 4,
                build_scripts: 3,
                proc_macros: 1,
                running_programs: 2,
                using_network: 0,
                reading_or_writing_paths: 0,
                unreviewed: 1,
                drifted: 0,
                native: 0,
            },
            packages: vec![openssl, zstd, serde, derive, itoa],
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests run programs and read the environment as they need"
)]
mod tests {
    use super::*;

    /// The schema shipped for `--format json` consumers is what the types generate. To
    /// update it: `UPDATE_SCHEMAS=1 cargo test -p wasm-build-display`.
    #[test]
    fn committed_report_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/schema/permissions-report.schema.json");
        let text = format!(
            "{}\n",
            serde_json::to_string_pretty(&report_schema()).unwrap()
        );
        if std::env::var_os("UPDATE_SCHEMAS").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            committed,
            text,
            "{} is stale; run with UPDATE_SCHEMAS=1",
            path.display()
        );
    }

    #[test]
    fn json_round_trips_and_keeps_key_order() {
        let report = fixtures::report();
        let json = serde_json::to_string_pretty(&report).unwrap();
        let back: PermissionReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        let first_keys: Vec<&str> = json
            .lines()
            .filter(|line| line.starts_with("  \""))
            .map(|line| line.trim().split('"').nth(1).unwrap())
            .collect();
        assert_eq!(
            first_keys,
            [
                "format_version",
                "tool",
                "workspace_root",
                "mode",
                "platform",
                "summary",
                "packages"
            ]
        );
    }

    #[test]
    fn the_schema_describes_the_report() {
        let schema = report_schema();
        assert_eq!(schema["title"], "PermissionReport");
        for key in ["format_version", "summary", "packages"] {
            assert!(schema["properties"][key].is_object(), "{key}");
        }
    }

    #[test]
    fn short_texts() {
        let report = fixtures::report();
        assert_eq!(short_set(&report.packages[1].granted), "exec: cc, ar");
        assert_eq!(
            short_run(report.packages[1].last_run.as_ref().unwrap()),
            "ok in 6.5 s; ran cc ×43, ar"
        );
    }

    /// A connection shows its program, host, port, address and bytes; a refused one, why.
    #[test]
    fn host_uses_show_bytes_or_why() {
        let mut used = HostUse {
            program: "/usr/bin/curl".into(),
            authority: "github.com:443".into(),
            address: Some("140.82.112.3".into()),
            verdict: NetworkVerdict::Allowed,
            count: 2,
            sent: 900,
            received: 3 * 1024 * 1024 + 200 * 1024,
            why: None,
        };
        assert_eq!(
            used.line(),
            "curl → github.com:443 (140.82.112.3) ×2: 900 B sent, 3.2 MiB received"
        );
        used.authority = "127.0.0.1:8080".into();
        used.address = Some("127.0.0.1".into());
        used.verdict = NetworkVerdict::Refused;
        used.count = 1;
        used.why = Some("127.0.0.1 is a loopback address".into());
        assert_eq!(
            used.line(),
            "curl → 127.0.0.1:8080 refused: 127.0.0.1 is a loopback address"
        );
        let run = LastRun {
            finished_at: 0,
            succeeded: false,
            elapsed_ms: 100,
            native: false,
            programs: Vec::new(),
            network: vec![used],
            denied: Vec::new(),
            dropped: Vec::new(),
            hidden_env: Vec::new(),
            config_env: Vec::new(),
            default_env: Vec::new(),
            errors: Vec::new(),
        };
        assert_eq!(short_run(&run), "failed in 0.1 s; refused 127.0.0.1:8080");
    }

    /// A program awaiting review did not run: the run says it was tried, and does not
    /// repeat it among what awaits review.
    #[test]
    fn what_did_not_run_was_tried() {
        let run = LastRun {
            finished_at: 0,
            succeeded: false,
            elapsed_ms: 200,
            native: false,
            network: Vec::new(),
            programs: vec![
                ProgramUse {
                    program: "/usr/bin/cc".into(),
                    verdict: ExecVerdict::Allowed,
                    count: 2,
                },
                ProgramUse {
                    program: "ar".into(),
                    verdict: ExecVerdict::Pending,
                    count: 4,
                },
            ],
            denied: vec![
                Capability::Exec("ar".into()),
                Capability::Env("CFLAGS".into()),
            ],
            dropped: Vec::new(),
            hidden_env: Vec::new(),
            config_env: Vec::new(),
            default_env: Vec::new(),
            errors: Vec::new(),
        };
        assert_eq!(
            short_run(&run),
            "failed in 0.2 s; ran cc ×2; tried ar ×4 (pending); awaiting review: use the environment variable `CFLAGS`"
        );
        let learned = LastRun {
            programs: vec![ProgramUse {
                program: "ar".into(),
                verdict: ExecVerdict::Learned,
                count: 4,
            }],
            ..run
        };
        assert_eq!(
            short_run(&learned),
            "failed in 0.2 s; ran ar ×4 (learned); awaiting review: use the environment variable `CFLAGS`",
            "a learning build ran it"
        );
    }

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(plural(1, "entry", "entries"), "1 entry");
        assert_eq!(plural(0, "entry", "entries"), "0 entries");
        assert_eq!(plural(2, "entry", "entries"), "2 entries");
    }
}
