//! The sandbox tables of `Cargo.toml`: a crate's requests and the consumer's policy.
//!
//! ```toml
//! # In a crate's own manifest: what its build script needs (a request, never a grant).
//! [package.metadata.sandbox]
//! version = 1
//! exec = ["cc", "ar"]
//! env = ["CC", "CFLAGS_*"]
//! reason = "compiles the bundled C library"
//!
//! # In the workspace being built: what the consumer approves, per package and version.
//! [workspace.metadata.sandbox]
//! mode = "deny"                      # or "strict", "trust-declared"
//! [workspace.metadata.sandbox.allow."zstd-sys@2.0.15+zstd.1.5.7"]
//! exec = ["cc", "ar"]
//! [workspace.metadata.sandbox.deny."some-crate@1.2.3"]
//! exec = ["curl"]
//! ```
//!
//! A single-package project with no `[workspace]` table puts `mode`, `allow` and `deny` in
//! its own `[package.metadata.sandbox]`.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use toml_edit::{Item, TableLike};

use crate::capability::{Capability, CapabilityKey, GatedDirective};
use crate::code::Code;
use crate::diagnostic::{Diagnostic, SourceFile, did_you_mean};
use crate::hygiene::{self, PathRules};
use crate::limits::Limits;
use crate::net::{HostPattern, HostsEntry, NetworkEntry, NetworkHost};
use crate::spec::PackageSpec;
use crate::values::{ByteSize, CargoEnvName, EnvPattern, Program, TimeLimit, ValueError};

/// The schema version this tool reads and writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Keys of a capability set, in the order they are written: every [`CapabilityKey`], then
/// `limits`.
pub const CAPABILITY_KEYS: [&str; CapabilityKey::ALL.len() + 1] = {
    let mut keys = ["limits"; CapabilityKey::ALL.len() + 1];
    let mut at = 0;
    while at < CapabilityKey::ALL.len() {
        keys[at] = CapabilityKey::ALL[at].key();
        at += 1;
    }
    keys
};

/// A key of a `limits` table. Every list of limit keys (the parser's, the table writer's,
/// the displays') is derived from [`LimitKey::ALL`] and [`LimitKey::key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LimitKey {
    /// `memory`: bytes of wasm memory.
    Memory,
    /// `cpu-time`: CPU time of the script's own code.
    CpuTime,
    /// `wall-time`: wall-clock time of the whole run.
    WallTime,
    /// `child-time`: wall-clock time of one child process.
    ChildTime,
    /// `stdout`: bytes on stdout.
    Stdout,
    /// `stderr`: bytes on stderr.
    Stderr,
    /// `out-dir`: bytes in `OUT_DIR`.
    OutDir,
    /// `processes`: processes and threads one of its programs holds at once.
    Processes,
}

impl LimitKey {
    /// Every key, in the order a table is written and displayed.
    pub const ALL: [LimitKey; 8] = [
        LimitKey::Memory,
        LimitKey::CpuTime,
        LimitKey::WallTime,
        LimitKey::ChildTime,
        LimitKey::Stdout,
        LimitKey::Stderr,
        LimitKey::OutDir,
        LimitKey::Processes,
    ];

    /// The key as written in TOML.
    pub const fn key(self) -> &'static str {
        match self {
            LimitKey::Memory => "memory",
            LimitKey::CpuTime => "cpu-time",
            LimitKey::WallTime => "wall-time",
            LimitKey::ChildTime => "child-time",
            LimitKey::Stdout => "stdout",
            LimitKey::Stderr => "stderr",
            LimitKey::OutDir => "out-dir",
            LimitKey::Processes => "processes",
        }
    }

    /// Parses a key as written in TOML.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|limit| limit.key() == key)
    }
}

/// Limits replacing the defaults for one build script (larger for a script that needs
/// more, or stricter).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct LimitOverrides {
    /// wasm memory (default 1GiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<ByteSize>,
    /// CPU time of the script's own code (default 300s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_time: Option<TimeLimit>,
    /// Wall-clock time of the whole run (default 30min).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_time: Option<TimeLimit>,
    /// Wall-clock time of one child process (default 10min).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_time: Option<TimeLimit>,
    /// Bytes printed on stdout (default 16MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<ByteSize>,
    /// Bytes printed on stderr (default 16MiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<ByteSize>,
    /// Bytes left in `OUT_DIR` (default 4GiB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_dir: Option<ByteSize>,
    /// Processes and threads one of its programs holds at once, with what it starts
    /// (default 4096).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub processes: Option<u32>,
}

impl LimitOverrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == LimitOverrides::default()
    }

    /// `base` with every limit this sets replaced. The consumer may raise a limit for a
    /// script that needs more, or lower one to be stricter than the defaults.
    pub fn apply(&self, base: Limits) -> Limits {
        let bytes = |size: Option<ByteSize>, base: u64| size.map_or(base, ByteSize::bytes);
        let time =
            |limit: Option<TimeLimit>, base: Duration| limit.map_or(base, TimeLimit::duration);
        Limits {
            memory_bytes: bytes(self.memory, base.memory_bytes),
            cpu_time: time(self.cpu_time, base.cpu_time),
            wall_time: time(self.wall_time, base.wall_time),
            child_time: time(self.child_time, base.child_time),
            stdout_bytes: bytes(self.stdout, base.stdout_bytes),
            stderr_bytes: bytes(self.stderr, base.stderr_bytes),
            out_dir_bytes: bytes(self.out_dir, base.out_dir_bytes),
            processes: self.processes.unwrap_or(base.processes),
        }
    }

    /// Whether these overrides of `base` allow at least what `other` asks for. A request
    /// at or below `base` needs no override: a crate asking for a *stricter* limit than
    /// the default asks for nothing to review.
    pub fn covers(&self, other: &LimitOverrides, base: Limits) -> bool {
        fn at_least<T: PartialOrd>(have: T, want: Option<T>) -> bool {
            want.is_none_or(|want| have >= want)
        }
        let have = self.apply(base);
        let bytes = |size: Option<ByteSize>| size.map(ByteSize::bytes);
        let time = |limit: Option<TimeLimit>| limit.map(TimeLimit::duration);
        at_least(have.memory_bytes, bytes(other.memory))
            && at_least(have.cpu_time, time(other.cpu_time))
            && at_least(have.wall_time, time(other.wall_time))
            && at_least(have.child_time, time(other.child_time))
            && at_least(have.stdout_bytes, bytes(other.stdout))
            && at_least(have.stderr_bytes, bytes(other.stderr))
            && at_least(have.out_dir_bytes, bytes(other.out_dir))
            && at_least(have.processes, other.processes)
    }

    /// The larger of each limit.
    pub fn merge(&mut self, other: &LimitOverrides) {
        fn max<T: Ord + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            }
        }
        self.memory = max(self.memory, other.memory);
        self.cpu_time = max(self.cpu_time, other.cpu_time);
        self.wall_time = max(self.wall_time, other.wall_time);
        self.child_time = max(self.child_time, other.child_time);
        self.stdout = max(self.stdout, other.stdout);
        self.stderr = max(self.stderr, other.stderr);
        self.out_dir = max(self.out_dir, other.out_dir);
        self.processes = max(self.processes, other.processes);
    }

    /// The overrides as `key = value` pairs in TOML syntax, in schema order.
    pub fn toml_pairs(&self) -> Vec<(&'static str, String)> {
        self.texts()
            .into_iter()
            .map(|(key, text)| {
                let value = match key {
                    LimitKey::Processes => text,
                    _ => crate::toml_string(&text),
                };
                (key.key(), value)
            })
            .collect()
    }

    /// The overrides set, as the text a table holds (`"2GiB"`, `"10min"`), in schema
    /// order.
    pub fn texts(&self) -> Vec<(LimitKey, String)> {
        LimitKey::ALL
            .into_iter()
            .filter_map(|key| Some((key, self.text(key)?)))
            .collect()
    }

    /// The override of `key` as a table holds it, if set.
    pub fn text(&self, key: LimitKey) -> Option<String> {
        let size = |size: Option<ByteSize>| size.map(|size| size.to_string());
        let time = |limit: Option<TimeLimit>| limit.map(|limit| limit.to_string());
        match key {
            LimitKey::Memory => size(self.memory),
            LimitKey::CpuTime => time(self.cpu_time),
            LimitKey::WallTime => time(self.wall_time),
            LimitKey::ChildTime => time(self.child_time),
            LimitKey::Stdout => size(self.stdout),
            LimitKey::Stderr => size(self.stderr),
            LimitKey::OutDir => size(self.out_dir),
            LimitKey::Processes => self.processes.map(|count| count.to_string()),
        }
    }

    /// Sets the override of `key` from the text a table holds; `Err` says what the text
    /// must look like.
    fn set_text(&mut self, key: LimitKey, text: Option<&str>) -> Result<(), &'static str> {
        let size = || {
            text.and_then(|text| text.parse().ok())
                .ok_or(ByteSize::EXPECTED)
        };
        let time = || {
            text.and_then(|text| text.parse().ok())
                .ok_or(TimeLimit::EXPECTED)
        };
        match key {
            LimitKey::Memory => self.memory = Some(size()?),
            LimitKey::CpuTime => self.cpu_time = Some(time()?),
            LimitKey::WallTime => self.wall_time = Some(time()?),
            LimitKey::ChildTime => self.child_time = Some(time()?),
            LimitKey::Stdout => self.stdout = Some(size()?),
            LimitKey::Stderr => self.stderr = Some(size()?),
            LimitKey::OutDir => self.out_dir = Some(size()?),
            LimitKey::Processes => {
                self.processes = Some(
                    text.and_then(|text| text.parse().ok())
                        .filter(|count| *count > 0)
                        .ok_or("a number of processes such as 8192")?,
                );
            }
        }
        Ok(())
    }
}

/// Everything a build script may be granted: the body of a request, and of an `allow`
/// or `deny` entry. Its fields are the keys `CapabilityKey` names, plus `limits`; the
/// tables' JSON Schema is generated from this type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct CapabilitySet {
    /// Programs: names found on PATH, absolute paths, or `$RUSTC`.
    pub exec: Vec<Program>,
    /// Environment variables the script may see and set for its programs: names, or
    /// prefixes ending in `_*`; never every variable or a secret's name.
    pub env: Vec<EnvPattern>,
    /// Paths its programs may read: relative to the package, absolute, or `$TOOLCHAIN/...`.
    pub read: Vec<String>,
    /// Paths its programs may write, likewise.
    pub write: Vec<String>,
    /// Programs (also in `exec`) that may use the network, through the tool's filtering
    /// proxy: a program alone reaches public addresses only; `{ program, hosts }` names
    /// the hosts it may reach (an address that is not public only when named).
    pub network: Vec<NetworkEntry>,
    /// Directives that reach past the package.
    pub directives: Vec<GatedDirective>,
    /// Library search paths outside what the script can read.
    pub link_search: Vec<String>,
    /// Run the script natively, confined, when it cannot be compiled for wasm.
    pub run_natively: bool,
    /// Let its programs run what they built in `OUT_DIR` (still jailed).
    pub run_built: bool,
    /// Environment variables `env` refuses: every one (`*`), secrets.
    pub dangerous_env: Vec<EnvPattern>,
    /// Paths `read` refuses: `/`, home directories, anything inside the user's, cargo's
    /// or rustup's home (outside the workspace), secrets' places (`.ssh`, `.aws`, ...).
    pub dangerous_read: Vec<String>,
    /// Paths `write` refuses, likewise.
    pub dangerous_write: Vec<String>,
    /// `CARGO_*` variables `cargo:rustc-env` may set, each by its exact name: cargo's
    /// namespace is otherwise closed to `rustc-env`.
    pub dangerous_rustc_env: Vec<CargoEnvName>,
    /// Limits replacing the defaults.
    pub limits: LimitOverrides,
}

impl CapabilitySet {
    /// The values under the list key `key` as written in TOML (gated directives by their
    /// keys); none for a flag (see [`CapabilitySet::flag`]).
    pub fn values(&self, key: CapabilityKey) -> Vec<String> {
        fn texts<T: ToString>(values: &[T]) -> Vec<String> {
            values.iter().map(ToString::to_string).collect()
        }
        match key {
            CapabilityKey::Exec => texts(&self.exec),
            CapabilityKey::Env => texts(&self.env),
            CapabilityKey::Read => self.read.clone(),
            CapabilityKey::Write => self.write.clone(),
            CapabilityKey::Network => self
                .network
                .iter()
                .map(|entry| match entry {
                    NetworkEntry::Public(program) => program.to_string(),
                    NetworkEntry::Hosts(hosts) => {
                        format!("{} to {}", hosts.program, texts(&hosts.hosts).join(", "))
                    }
                })
                .collect(),
            CapabilityKey::Directives => texts(&self.directives),
            CapabilityKey::LinkSearch => self.link_search.clone(),
            CapabilityKey::DangerousEnv => texts(&self.dangerous_env),
            CapabilityKey::DangerousRead => self.dangerous_read.clone(),
            CapabilityKey::DangerousWrite => self.dangerous_write.clone(),
            CapabilityKey::DangerousRustcEnv => texts(&self.dangerous_rustc_env),
            CapabilityKey::RunNatively | CapabilityKey::RunBuilt => Vec::new(),
        }
    }

    /// Whether the flag `key` is on (false for a list key).
    pub fn flag(&self, key: CapabilityKey) -> bool {
        match key {
            CapabilityKey::RunNatively => self.run_natively,
            CapabilityKey::RunBuilt => self.run_built,
            _ => false,
        }
    }

    fn set_flag(&mut self, key: CapabilityKey, on: bool) {
        match key {
            CapabilityKey::RunNatively => self.run_natively = on,
            CapabilityKey::RunBuilt => self.run_built = on,
            _ => {}
        }
    }

    /// Every capability in the set (limits aside).
    pub fn capabilities(&self) -> Vec<Capability> {
        let mut all = Vec::new();
        all.extend(
            self.exec
                .iter()
                .map(ToString::to_string)
                .map(Capability::Exec),
        );
        all.extend(
            self.env
                .iter()
                .map(ToString::to_string)
                .map(Capability::Env),
        );
        all.extend(self.read.iter().cloned().map(Capability::Read));
        all.extend(self.write.iter().cloned().map(Capability::Write));
        for entry in &self.network {
            match entry {
                NetworkEntry::Public(program) => all.push(Capability::Network(program.to_string())),
                NetworkEntry::Hosts(entry) => {
                    all.extend(entry.hosts.iter().map(|host| {
                        Capability::NetworkHost(NetworkHost {
                            program: entry.program.to_string(),
                            host: host.to_string(),
                        })
                    }));
                }
            }
        }
        all.extend(self.directives.iter().copied().map(Capability::Directive));
        all.extend(self.link_search.iter().cloned().map(Capability::LinkSearch));
        if self.run_natively {
            all.push(Capability::RunNatively);
        }
        if self.run_built {
            all.push(Capability::RunBuilt);
        }
        all.extend(
            self.dangerous_env
                .iter()
                .map(ToString::to_string)
                .map(Capability::DangerousEnv),
        );
        all.extend(
            self.dangerous_read
                .iter()
                .cloned()
                .map(Capability::DangerousRead),
        );
        all.extend(
            self.dangerous_write
                .iter()
                .cloned()
                .map(Capability::DangerousWrite),
        );
        all.extend(
            self.dangerous_rustc_env
                .iter()
                .map(ToString::to_string)
                .map(Capability::DangerousRustcEnv),
        );
        all
    }

    /// Adds `capability` as a table would hold it (a declared or granted one: an env
    /// value may be a pattern), once.
    ///
    /// # Errors
    ///
    /// When a value is malformed (see [`crate::values`]).
    pub fn insert(&mut self, capability: Capability) -> Result<(), ValueError> {
        self.add(capability, |name| name.parse())
    }

    /// Adds what an attempt needed, once: an env value is then a variable's name, which
    /// must not widen into a pattern (a script that tried to set `LD_*` gets no entry
    /// that would grant `LD_PRELOAD`).
    ///
    /// # Errors
    ///
    /// When a value is no name a grant can hold; see [`EnvPattern::exactly`].
    pub fn insert_attempt(&mut self, capability: Capability) -> Result<(), ValueError> {
        self.add(capability, EnvPattern::exactly)
    }

    fn add(
        &mut self,
        capability: Capability,
        env: impl Fn(&str) -> Result<EnvPattern, ValueError>,
    ) -> Result<(), ValueError> {
        fn add<T: PartialEq>(list: &mut Vec<T>, value: T) {
            if !list.contains(&value) {
                list.push(value);
            }
        }
        match capability {
            Capability::Exec(v) => add(&mut self.exec, v.parse()?),
            Capability::Env(v) => add(&mut self.env, env(&v)?),
            Capability::Read(v) => add(&mut self.read, v),
            Capability::Write(v) => add(&mut self.write, v),
            Capability::Network(v) => add(&mut self.network, NetworkEntry::Public(v.parse()?)),
            Capability::NetworkHost(grant) => self.add_network_host(&grant)?,
            Capability::Directive(v) => add(&mut self.directives, v),
            Capability::LinkSearch(v) => add(&mut self.link_search, v),
            Capability::RunNatively => self.run_natively = true,
            Capability::RunBuilt => self.run_built = true,
            Capability::DangerousEnv(v) => add(&mut self.dangerous_env, env(&v)?),
            Capability::DangerousRead(v) => add(&mut self.dangerous_read, v),
            Capability::DangerousWrite(v) => add(&mut self.dangerous_write, v),
            Capability::DangerousRustcEnv(v) => add(&mut self.dangerous_rustc_env, v.parse()?),
        }
        Ok(())
    }

    /// Adds one host of a program's network grant to the program's `{ program, hosts }`
    /// entry, or a new entry.
    fn add_network_host(&mut self, grant: &NetworkHost) -> Result<(), ValueError> {
        let program: Program = grant.program.parse()?;
        let host: HostPattern = grant.host.parse()?;
        let existing = self.network.iter_mut().find_map(|entry| match entry {
            NetworkEntry::Hosts(entry) if entry.program == program => Some(entry),
            _ => None,
        });
        match existing {
            Some(entry) if entry.hosts.contains(&host) => {}
            Some(entry) => entry.hosts.push(host),
            None => self.network.push(NetworkEntry::Hosts(HostsEntry {
                program,
                hosts: vec![host],
            })),
        }
        Ok(())
    }

    /// Whether the set grants nothing.
    pub fn is_empty(&self) -> bool {
        self.capabilities().is_empty() && self.limits.is_empty()
    }
}

/// What a crate declares in `[package.metadata.sandbox]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Requests {
    /// What the build script needs.
    pub needs: CapabilitySet,
    /// Why, in the author's words, shown to the reviewer.
    pub reason: Option<String>,
}

/// How strictly the consumer treats what nobody has reviewed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A build script that uses something unreviewed fails, naming the grant.
    #[default]
    Deny,
    /// The build fails before any build script runs if anything declared or attempted
    /// before is unreviewed: for CI.
    Strict,
    /// What crates declare is granted without review (a quick start; reported loudly).
    TrustDeclared,
}

impl Mode {
    /// The spelling in TOML and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Deny => "deny",
            Mode::Strict => "strict",
            Mode::TrustDeclared => "trust-declared",
        }
    }

    /// Parses the TOML spelling.
    pub fn parse(text: &str) -> Option<Self> {
        [Mode::Deny, Mode::Strict, Mode::TrustDeclared]
            .into_iter()
            .find(|mode| mode.as_str() == text)
    }
}

/// The consumer's policy: `[workspace.metadata.sandbox]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct ConsumerPolicy {
    /// How unreviewed requests are treated.
    pub mode: Mode,
    /// Refuse the default grant of running `RUSTC` (every probe then needs a grant).
    pub deny_rustc: bool,
    /// `false` hides the build settings of the environment (`CFLAGS`, `PKG_CONFIG_PATH`,
    /// `OPENSSL_DIR`) that build scripts otherwise see without a grant, until they are
    /// granted one by one.
    pub env_defaults: bool,
    /// Approvals by package spec, `name@version` (or cargo's full package id outside
    /// crates.io).
    pub allow: BTreeMap<String, CapabilitySet>,
    /// Refusals by package spec; deny wins over allow.
    pub deny: BTreeMap<String, CapabilitySet>,
}

impl Default for ConsumerPolicy {
    fn default() -> Self {
        ConsumerPolicy {
            mode: Mode::default(),
            deny_rustc: false,
            env_defaults: true,
            allow: BTreeMap::new(),
            deny: BTreeMap::new(),
        }
    }
}

/// Both halves of a `[package.metadata.sandbox]` or `[workspace.metadata.sandbox]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxTable {
    /// The crate's own requests (package tables only).
    pub requests: Requests,
    /// The consumer keys (`mode`, `allow`, `deny`, `deny-rustc`, `env-defaults`), if any
    /// were present.
    pub consumer: Option<ConsumerPolicy>,
}

/// Which table is being read: they accept different keys, and treat a request that needs
/// a dangerous key differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// `[package.metadata.sandbox]` of the consumer's own package: requests (granted as
    /// written, so one that needs its dangerous key under the plain one is an error), plus
    /// consumer keys for a root package.
    Package,
    /// `[package.metadata.sandbox]` of a dependency: requests only count, and a request
    /// under a plain key for what needs the dangerous one (a path inside this machine's
    /// home, a secret's name) is read as a request for the dangerous key. The crate cannot
    /// know which of its requests are dangerous here, and the consumer must see them as
    /// such.
    Dependency,
    /// `[workspace.metadata.sandbox]`: consumer keys only.
    Workspace,
}

impl TableKind {
    fn header(self) -> &'static str {
        match self {
            TableKind::Package | TableKind::Dependency => "[package.metadata.sandbox]",
            TableKind::Workspace => "[workspace.metadata.sandbox]",
        }
    }

    fn has_requests(self) -> bool {
        matches!(self, TableKind::Package | TableKind::Dependency)
    }
}

/// How a value that needs its `dangerous-` key is treated under its plain key.
#[derive(Debug, Clone, Copy)]
struct Hazards<'a> {
    rules: &'a PathRules,
    /// A request for the dangerous key ([`TableKind::Dependency`]) instead of an error
    /// ([`Code::W005`]).
    reclassify: bool,
}

/// Keys of the consumer's policy: read from `[workspace.metadata.sandbox]`, or from the root
/// package's `[package.metadata.sandbox]` when the workspace has no table of its own.
pub const CONSUMER_KEYS: &[&str] = &["mode", "deny-rustc", "env-defaults", "allow", "deny"];

/// Reads a sandbox table; every problem is reported, not just the first. `rules` say which
/// paths need `dangerous-read`/`dangerous-write` on this machine (see [`PathRules`]).
///
/// # Errors
///
/// Returns all diagnostics when anything is malformed or unknown.
pub fn parse_table(
    file: &SourceFile<'_>,
    item: &Item,
    kind: TableKind,
    rules: &PathRules,
) -> Result<SandboxTable, Vec<Diagnostic>> {
    let grants = Hazards {
        rules,
        reclassify: false,
    };
    let requests = Hazards {
        rules,
        reclassify: kind == TableKind::Dependency,
    };
    let mut errors = Vec::new();
    let mut table = SandboxTable::default();
    let Some(body) = item.as_table_like() else {
        errors.push(file.error(
            Code::W002,
            item.span(),
            format!("{} must be a table", kind.header()),
        ));
        return Err(errors);
    };
    let mut consumer = ConsumerPolicy::default();
    let mut saw_consumer = false;
    let mut own_keys: Vec<&str> = vec!["version"];
    if kind.has_requests() {
        own_keys.extend(CAPABILITY_KEYS);
        own_keys.push("reason");
    }
    own_keys.extend(CONSUMER_KEYS);
    for (key, value) in body.iter() {
        let span = key_span(body, key).or_else(|| value.span());
        match key {
            "version" => check_version(file, value, &mut errors),
            "reason" if kind.has_requests() => {
                table.requests.reason = string(file, value, key, &mut errors);
            }
            "mode" => {
                saw_consumer = true;
                if let Some(text) = string(file, value, key, &mut errors) {
                    match Mode::parse(&text) {
                        Some(mode) => consumer.mode = mode,
                        None => errors.push(
                            file.error(Code::W002, value.span(), format!("unknown mode `{text}`"))
                                .with_help("use \"deny\", \"strict\" or \"trust-declared\""),
                        ),
                    }
                }
            }
            "deny-rustc" => {
                saw_consumer = true;
                match value.as_bool() {
                    Some(flag) => consumer.deny_rustc = flag,
                    None => errors.push(file.error(
                        Code::W002,
                        value.span(),
                        "`deny-rustc` must be true or false",
                    )),
                }
            }
            "env-defaults" => {
                saw_consumer = true;
                match value.as_bool() {
                    Some(flag) => consumer.env_defaults = flag,
                    None => errors.push(file.error(
                        Code::W002,
                        value.span(),
                        "`env-defaults` must be true or false",
                    )),
                }
            }
            "allow" | "deny" => {
                saw_consumer = true;
                let grants = parse_grants(file, value, key, kind, grants, &mut errors);
                if key == "allow" {
                    consumer.allow = grants;
                } else {
                    consumer.deny = grants;
                }
            }
            key if kind.has_requests() && CAPABILITY_KEYS.contains(&key) => {
                let needs = &mut table.requests.needs;
                parse_capability(file, key, value, needs, requests, &mut errors);
            }
            other => errors.push(unknown_key(file, span, other, kind.header(), &own_keys)),
        }
    }
    if saw_consumer {
        table.consumer = Some(consumer);
    }
    if errors.is_empty() {
        Ok(table)
    } else {
        Err(errors)
    }
}

fn key_span(table: &dyn TableLike, key: &str) -> Option<std::ops::Range<usize>> {
    table.get_key_value(key).and_then(|(key, _)| key.span())
}

fn unknown_key(
    file: &SourceFile<'_>,
    span: Option<std::ops::Range<usize>>,
    key: &str,
    header: &str,
    known: &[&str],
) -> Diagnostic {
    let diagnostic = file.error(Code::W001, span, format!("unknown key `{key}` in {header}"));
    match did_you_mean(key, known) {
        Some(suggestion) => diagnostic.with_help(format!("did you mean `{suggestion}`?")),
        None => diagnostic.with_help(format!("known keys: {}", known.join(", "))),
    }
}

fn check_version(file: &SourceFile<'_>, value: &Item, errors: &mut Vec<Diagnostic>) {
    match value.as_integer() {
        Some(SCHEMA_VERSION) => {}
        Some(other) => errors.push(
            file.error(Code::W003, value.span(), format!("unsupported sandbox schema version {other}"))
                .with_help(format!("this cargo-wasm-build reads version {SCHEMA_VERSION}; update it to read newer tables")),
        ),
        None => errors.push(file.error(Code::W002, value.span(), "`version` must be an integer")),
    }
}

fn string(
    file: &SourceFile<'_>,
    value: &Item,
    key: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<String> {
    match value.as_str() {
        Some(text) => Some(text.to_string()),
        None => {
            errors.push(file.error(
                Code::W002,
                value.span(),
                format!("`{key}` must be a string"),
            ));
            None
        }
    }
}

type Span = Option<std::ops::Range<usize>>;

/// The non-empty strings of the array `key`, each with its own span, so a diagnostic about
/// one entry points at that entry.
fn strings(
    file: &SourceFile<'_>,
    value: &Item,
    key: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<(String, Span)> {
    let Some(array) = value.as_array() else {
        errors.push(
            file.error(
                Code::W002,
                value.span(),
                format!("`{key}` must be an array of strings"),
            )
            .with_help(format!("write `{key} = [\"...\"]`")),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for element in array.iter() {
        match element.as_str() {
            Some(text) if !text.is_empty() => out.push((text.to_string(), element.span())),
            _ => errors.push(file.error(
                Code::W002,
                element.span(),
                format!("`{key}` entries must be non-empty strings"),
            )),
        }
    }
    out
}

/// No hazard: every well-formed entry is fine under its key.
fn harmless<T>(_: &T) -> Option<(String, String)> {
    None
}

/// The entries of `key` read by `parse`, each at its own span: a malformed one is reported
/// ([`Code::W002`]) and left out; one that `hazard` finds reaching secrets or homes is
/// reported as needing its `dangerous-` key ([`Code::W005`]) and kept.
fn entries<T>(
    file: &SourceFile<'_>,
    value: &Item,
    key: &str,
    errors: &mut Vec<Diagnostic>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
    hazard: impl Fn(&T) -> Option<(String, String)>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (text, span) in strings(file, value, key, errors) {
        match parse(&text) {
            Ok(parsed) => {
                if let Some((message, help)) = hazard(&parsed) {
                    errors.push(file.error(Code::W005, span, message).with_help(help));
                }
                out.push(parsed);
            }
            Err(ValueError { message, help }) => {
                errors.push(file.error(Code::W002, span, message).with_help(help));
            }
        }
    }
    out
}

/// A path as written in `read`, `write` or `link-search`, normalized.
fn path(text: &str) -> Result<String, ValueError> {
    hygiene::normalize_path(text).map_err(|(message, help)| ValueError { message, help })
}

/// A directive that needs a grant, with a suggestion when the name is not one.
fn gated_directive(name: &str) -> Result<GatedDirective, ValueError> {
    if let Some(gated) = GatedDirective::from_key(name) {
        return Ok(gated);
    }
    let known: Vec<&str> = GatedDirective::ALL.iter().map(|g| g.key()).collect();
    let help = match did_you_mean(name, &known) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("directives that need a grant: {}", known.join(", ")),
    };
    Err(ValueError {
        message: format!("`{name}` is not a directive that needs a grant"),
        help,
    })
}

fn parse_capability(
    file: &SourceFile<'_>,
    key: &str,
    value: &Item,
    set: &mut CapabilitySet,
    hazards: Hazards<'_>,
    errors: &mut Vec<Diagnostic>,
) {
    if key == "limits" {
        set.limits = parse_limits(file, value, errors);
        return;
    }
    let Some(kind) = CapabilityKey::from_key(key) else {
        return;
    };
    let path_problem = |path: &String| hazards.rules.problem(key, path);
    // Under its plain key, a value that needs the dangerous one is an error, or (from a
    // dependency) a request for the dangerous key.
    let refused = |problem: Option<(String, String)>| problem.filter(|_| !hazards.reclassify);
    match kind {
        CapabilityKey::Exec => set.exec = entries(file, value, key, errors, str::parse, harmless),
        CapabilityKey::Network => set.network = network_entries(file, value, errors),
        CapabilityKey::Env => {
            let all = entries(file, value, key, errors, str::parse, |pattern| {
                refused(hygiene::env_problem(pattern))
            });
            let (dangerous, plain): (Vec<_>, Vec<_>) = all
                .into_iter()
                .partition(|pattern| hazards.reclassify && hygiene::env_problem(pattern).is_some());
            set.env = plain;
            extend_unique(&mut set.dangerous_env, dangerous);
        }
        CapabilityKey::DangerousEnv => {
            let all = entries(file, value, key, errors, str::parse, harmless);
            extend_unique(&mut set.dangerous_env, all);
        }
        CapabilityKey::Read | CapabilityKey::Write => {
            let all = entries(file, value, key, errors, path, |p| refused(path_problem(p)));
            let (dangerous, plain): (Vec<_>, Vec<_>) = all
                .into_iter()
                .partition(|p| hazards.reclassify && path_problem(p).is_some());
            if kind == CapabilityKey::Read {
                set.read = plain;
                extend_unique(&mut set.dangerous_read, dangerous);
            } else {
                set.write = plain;
                extend_unique(&mut set.dangerous_write, dangerous);
            }
        }
        CapabilityKey::DangerousRead => {
            let all = entries(file, value, key, errors, path, harmless);
            extend_unique(&mut set.dangerous_read, all);
        }
        CapabilityKey::DangerousWrite => {
            let all = entries(file, value, key, errors, path, harmless);
            extend_unique(&mut set.dangerous_write, all);
        }
        CapabilityKey::LinkSearch => {
            set.link_search = entries(file, value, key, errors, path, harmless)
        }
        CapabilityKey::DangerousRustcEnv => {
            set.dangerous_rustc_env = entries(file, value, key, errors, str::parse, harmless)
        }
        CapabilityKey::Directives => {
            set.directives = entries(file, value, key, errors, gated_directive, harmless)
        }
        CapabilityKey::RunNatively | CapabilityKey::RunBuilt => match value.as_bool() {
            Some(flag) => set.set_flag(kind, flag),
            None => errors.push(file.error(
                Code::W002,
                value.span(),
                format!("`{key}` must be true or false"),
            )),
        },
    }
}

/// The entries of `network`: program names, and `{ program, hosts }` tables, each
/// malformed one reported at its own span and left out.
fn network_entries(
    file: &SourceFile<'_>,
    value: &Item,
    errors: &mut Vec<Diagnostic>,
) -> Vec<NetworkEntry> {
    const SHAPE: &str = "write `network = [\"curl\"]` (public addresses only) or \
         `network = [{ program = \"curl\", hosts = [\"github.com\", \"*.pyke.io:443\"] }]`";
    let Some(array) = value.as_array() else {
        errors.push(
            file.error(Code::W002, value.span(), "`network` must be an array")
                .with_help(SHAPE),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut report = |span: Span, ValueError { message, help }: ValueError| {
        errors.push(file.error(Code::W002, span, message).with_help(help));
    };
    for element in array.iter() {
        let span = element.span();
        if let Some(text) = element.as_str() {
            match text.parse::<Program>() {
                Ok(program) => out.push(NetworkEntry::Public(program)),
                Err(why) => report(span, why),
            }
            continue;
        }
        let Some(table) = element.as_inline_table() else {
            report(
                span,
                ValueError {
                    message: "`network` entries must be programs or `{ program, hosts }` tables"
                        .into(),
                    help: SHAPE.into(),
                },
            );
            continue;
        };
        match hosts_entry(table) {
            Ok(entry) => out.push(NetworkEntry::Hosts(entry)),
            Err(why) => report(span, why),
        }
    }
    out
}

/// One `{ program = "curl", hosts = [...] }` entry of `network`.
fn hosts_entry(table: &toml_edit::InlineTable) -> Result<HostsEntry, ValueError> {
    let shape = || ValueError {
        message: "a `network` table needs `program` (a string) and `hosts` (an array of \
                  hosts), nothing else"
            .into(),
        help: "write `{ program = \"curl\", hosts = [\"github.com\", \"127.0.0.1:8080\"] }`".into(),
    };
    if table
        .iter()
        .any(|(key, _)| key != "program" && key != "hosts")
    {
        return Err(shape());
    }
    let program = table
        .get("program")
        .and_then(|v| v.as_str())
        .ok_or_else(shape)?;
    let hosts = table
        .get("hosts")
        .and_then(|v| v.as_array())
        .ok_or_else(shape)?;
    let mut entry = HostsEntry {
        program: program.parse()?,
        hosts: Vec::new(),
    };
    for host in hosts.iter() {
        let host: HostPattern = host.as_str().ok_or_else(shape)?.parse()?;
        if !entry.hosts.contains(&host) {
            entry.hosts.push(host);
        }
    }
    if entry.hosts.is_empty() {
        return Err(shape());
    }
    Ok(entry)
}

/// Appends the values of `more` that `list` does not hold yet: a dangerous key may be
/// filled both from its own entries and from a dependency's plain ones, in either order.
fn extend_unique<T: PartialEq>(list: &mut Vec<T>, more: Vec<T>) {
    for value in more {
        if !list.contains(&value) {
            list.push(value);
        }
    }
}

fn parse_limits(
    file: &SourceFile<'_>,
    value: &Item,
    errors: &mut Vec<Diagnostic>,
) -> LimitOverrides {
    let mut limits = LimitOverrides::default();
    let Some(table) = value.as_table_like() else {
        errors.push(
            file.error(Code::W002, value.span(), "`limits` must be a table")
                .with_help("write `limits = { memory = \"2GiB\", cpu-time = \"10min\" }`"),
        );
        return limits;
    };
    for (key, item) in table.iter() {
        let span = key_span(table, key).or_else(|| item.span());
        // Sizes and times are strings; a count is an integer.
        let count = item.as_integer().map(|count| count.to_string());
        let text = item.as_str().or(count.as_deref());
        let bad = |what: &str| {
            file.error(
                Code::W002,
                item.span(),
                format!("`limits.{key}` must be {what}"),
            )
        };
        let Some(limit) = LimitKey::from_key(key) else {
            let known: Vec<&str> = LimitKey::ALL.iter().map(|limit| limit.key()).collect();
            errors.push(unknown_key(file, span, key, "`limits`", &known));
            continue;
        };
        if let Err(what) = limits.set_text(limit, text) {
            errors.push(bad(what));
        }
    }
    limits
}

fn parse_grants(
    file: &SourceFile<'_>,
    value: &Item,
    key: &str,
    kind: TableKind,
    hazards: Hazards<'_>,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, CapabilitySet> {
    let mut grants = BTreeMap::new();
    let Some(table) = value.as_table_like() else {
        errors.push(
            file.error(
                Code::W002,
                value.span(),
                format!("`{key}` must be a table of packages"),
            )
            .with_help(format!(
                "write `{}` followed by a `[...{key}.\"name@version\"]` table",
                kind.header()
            )),
        );
        return grants;
    };
    for (spec, body) in table.iter() {
        let span = key_span(table, spec).or_else(|| body.span());
        if let Err(why) = PackageSpec::parse(spec) {
            errors.push(file.error(Code::W004, span.clone(), format!("`{spec}` is not a package spec: {why}"))
                .with_help("grants name one exact version, e.g. \"zstd-sys@2.0.15+zstd.1.5.7\"; a new version must be reviewed again"));
            continue;
        }
        let Some(body_table) = body.as_table_like() else {
            errors.push(file.error(
                Code::W002,
                body.span(),
                format!("the {key} entry for `{spec}` must be a table"),
            ));
            continue;
        };
        let mut set = CapabilitySet::default();
        for (cap_key, cap_value) in body_table.iter() {
            if CAPABILITY_KEYS.contains(&cap_key) {
                parse_capability(file, cap_key, cap_value, &mut set, hazards, errors);
            } else {
                let cap_span = key_span(body_table, cap_key).or_else(|| cap_value.span());
                errors.push(unknown_key(
                    file,
                    cap_span,
                    cap_key,
                    &format!("the {key} entry for `{spec}`"),
                    &CAPABILITY_KEYS,
                ));
            }
        }
        grants.insert(spec.to_string(), set);
    }
    grants
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(text: &str, path: &[&str], kind: TableKind) -> Result<SandboxTable, Vec<String>> {
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let mut item = doc.as_item();
        for key in path {
            item = &item[*key];
        }
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text,
        };
        parse_table(&file, item, kind, &PathRules::default())
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn requests_with_every_key() {
        let text = r#"
[package.metadata.sandbox]
version = 1
exec = ["cc", "ar"]
env = ["CC", "CFLAGS_*"]
read = ["vendor/include", "$TOOLCHAIN"]
write = []
network = []
directives = ["rustc-link-arg"]
link-search = ["/opt/lib"]
limits = { memory = "2GiB", cpu-time = "10min" }
reason = "compiles the bundled C library"
"#;
        let table = parse(
            text,
            &["package", "metadata", "sandbox"],
            TableKind::Package,
        )
        .unwrap();
        let needs = &table.requests.needs;
        assert_eq!(needs.exec, ["cc", "ar"]);
        assert_eq!(needs.env, ["CC", "CFLAGS_*"]);
        assert_eq!(needs.directives, [GatedDirective::RustcLinkArg]);
        assert_eq!(needs.limits.memory, Some(ByteSize::new(2 << 30)));
        assert_eq!(
            needs.limits.cpu_time,
            Some(TimeLimit::new(Duration::from_secs(600)))
        );
        assert_eq!(
            table.requests.reason.as_deref(),
            Some("compiles the bundled C library")
        );
        assert_eq!(table.consumer, None);
    }

    #[test]
    fn env_defaults_are_on_unless_turned_off() {
        let table = |text: &str| {
            parse(
                text,
                &["workspace", "metadata", "sandbox"],
                TableKind::Workspace,
            )
        };
        let on = table("[workspace.metadata.sandbox]\nmode = \"deny\"\n").unwrap();
        assert!(on.consumer.unwrap().env_defaults);
        let off = table("[workspace.metadata.sandbox]\nenv-defaults = false\n").unwrap();
        assert!(!off.consumer.unwrap().env_defaults);
        let errors = table("[workspace.metadata.sandbox]\nenv-defaults = \"no\"\n").unwrap_err();
        assert!(
            errors[0].contains("`env-defaults` must be true or false"),
            "{errors:?}"
        );
    }

    #[test]
    fn consumer_policy() {
        let text = r#"
[workspace.metadata.sandbox]
mode = "strict"
[workspace.metadata.sandbox.allow."zstd-sys@2.0.15+zstd.1.5.7"]
exec = ["cc", "ar"]
[workspace.metadata.sandbox.deny."evil@1.0.0"]
exec = ["curl"]
"#;
        let table = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap();
        let consumer = table.consumer.unwrap();
        assert_eq!(consumer.mode, Mode::Strict);
        assert_eq!(
            consumer.allow["zstd-sys@2.0.15+zstd.1.5.7"].exec,
            ["cc", "ar"]
        );
        assert_eq!(consumer.deny["evil@1.0.0"].exec, ["curl"]);
    }

    #[test]
    fn unknown_keys_are_located_errors_with_suggestions() {
        let text = "[package]\nname = \"x\"\n\n[package.metadata.sandbox]\nexe = [\"cc\"]\ndirectives = [\"rustc-link-args\"]\nlimits = { memroy = \"1GiB\" }\n";
        let errors = parse(
            text,
            &["package", "metadata", "sandbox"],
            TableKind::Package,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("error[W001]: unknown key `exe`")
                && errors[0].contains("Cargo.toml:5:1")
                && errors[0].contains("did you mean `exec`?"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("error[W002]: `rustc-link-args` is not a directive")
                && errors[1].contains("did you mean `rustc-link-arg`?"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("error[W001]: unknown key `memroy`")
                && errors[2].contains("did you mean `memory`?"),
            "{}",
            errors[2]
        );
    }

    #[test]
    fn workspace_table_takes_no_requests() {
        let text = "[workspace.metadata.sandbox]\nexec = [\"cc\"]\n";
        let errors = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err();
        assert!(
            errors[0].contains("unknown key `exec` in [workspace.metadata.sandbox]"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn malformed_values_are_errors() {
        let text = r#"
[workspace.metadata.sandbox]
mode = "lenient"
version = 2
[workspace.metadata.sandbox.allow."cc@1"]
exec = "cc"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
exec = ["cc", 3]
env = ["A*B"]
"#;
        let errors = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err();
        let all = errors.join("\n");
        assert!(all.contains("error[W002]: unknown mode `lenient`"), "{all}");
        assert!(
            all.contains("error[W003]: unsupported sandbox schema version 2"),
            "{all}"
        );
        assert!(
            all.contains("error[W004]: `cc@1` is not a package spec: the version must be exact"),
            "{all}"
        );
        assert!(
            all.contains("error[W002]: `exec` entries must be non-empty strings"),
            "{all}"
        );
        assert!(
            all.contains("error[W002]: invalid variable pattern `A*B`"),
            "{all}"
        );
    }

    /// `network` holds programs (public addresses) and `{ program, hosts }` tables; each
    /// host is one capability, a non-public address a dangerous one, and what `approve`
    /// adds for a host joins the program's table.
    #[test]
    fn network_grants_name_programs_or_their_hosts() {
        let text = r#"
[workspace.metadata.sandbox.allow."a@1.0.0"]
network = ["git", { program = "curl", hosts = ["GitHub.com.", "*.pyke.io:443", "127.0.0.1:8080"] }]
"#;
        let table = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap();
        let mut set = table.consumer.unwrap().allow["a@1.0.0"].clone();
        let capabilities = set.capabilities();
        let lines: Vec<String> = capabilities.iter().map(Capability::toml_line).collect();
        assert_eq!(
            lines,
            [
                r#"network = ["git"]"#,
                r#"network = [{ program = "curl", hosts = ["github.com"] }]"#,
                r#"network = [{ program = "curl", hosts = ["*.pyke.io:443"] }]"#,
                r#"network = [{ program = "curl", hosts = ["127.0.0.1:8080"] }]"#,
            ]
        );
        let dangerous: Vec<bool> = capabilities.iter().map(Capability::is_dangerous).collect();
        assert_eq!(dangerous, [false, false, false, true]);
        assert!(capabilities.iter().all(|c| !c.is_learnable()));
        set.insert(Capability::NetworkHost(NetworkHost {
            program: "curl".into(),
            host: "[::1]:9".into(),
        }))
        .unwrap();
        assert_eq!(
            set.values(CapabilityKey::Network),
            [
                "git",
                "curl to github.com, *.pyke.io:443, 127.0.0.1:8080, [::1]:9"
            ]
        );
        assert_eq!(
            crate::grant_lines(&set.capabilities()),
            [
                r#"network = ["git", { program = "curl", hosts = ["github.com", "*.pyke.io:443", "127.0.0.1:8080", "[::1]:9"] }]"#
            ]
        );

        let bad = r#"
[workspace.metadata.sandbox.allow."a@1.0.0"]
network = [{ program = "curl" }, { program = "curl", hosts = ["10.0.0.0/8"] }, { program = "curl", hosts = [], extra = 1 }, 3, { program = "curl", hosts = ["127.1"] }]
"#;
        let errors = parse(
            bad,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err()
        .join("\n");
        assert_eq!(errors.matches("error[W002]").count(), 5, "{errors}");
        assert!(
            errors.contains("`\"10.0.0.0/8\"` is an address range")
                || errors.contains("\"10.0.0.0/8\" is an address range"),
            "{errors}"
        );
        assert!(errors.contains("\"127.1\" is not a host"), "{errors}");
        assert!(
            errors.contains("`network` entries must be programs or `{ program, hosts }` tables"),
            "{errors}"
        );
    }

    #[test]
    fn what_reaches_secrets_needs_its_dangerous_key() {
        let text = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
env = ["*"]
read = ["/home/me"]
write = ["../elsewhere"]
"#;
        let errors = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("error[W005]: `env = [\"*\"]`"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("error[W005]: `/home/me` covers a home directory"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("error[W002]: `../elsewhere` leaves the package"),
            "{}",
            errors[2]
        );
    }

    fn parse_with(
        text: &str,
        path: &[&str],
        kind: TableKind,
        rules: &PathRules,
    ) -> Result<SandboxTable, Vec<String>> {
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let item = path.iter().fold(doc.as_item(), |item, key| &item[*key]);
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text,
        };
        parse_table(&file, item, kind, rules)
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    fn homes() -> PathRules {
        PathRules::default()
            .with_home(hygiene::HomeKind::User, Path::new("/home/me"))
            .with_home(hygiene::HomeKind::Cargo, Path::new("/home/me/.cargo"))
            .with_own_tree(Path::new("/home/me/src/app"))
    }

    /// What the consumer writes under a plain key for a path inside this machine's home,
    /// or a secret's place anywhere, is refused with the code, in a grant and in a
    /// member's own requests alike; the dangerous key holds it.
    #[test]
    fn the_consumer_writes_homes_and_secrets_under_the_dangerous_key() {
        let text = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
read = ["/home/me/.cargo", "/srv/x/.ssh", "/home/me/src/app/vendor", "/usr/include"]
write = ["/home/me/.local/bin"]
"#;
        let at = ["workspace", "metadata", "sandbox"];
        let errors = parse_with(text, &at, TableKind::Workspace, &homes()).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert!(
            errors[0].starts_with("error[W005]: `/home/me/.cargo` covers a home directory"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("error[W005]: `/srv/x/.ssh` reaches `.ssh`"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2]
                .starts_with("error[W005]: `/home/me/.local/bin` is inside your home directory"),
            "{}",
            errors[2]
        );
        assert!(
            errors[2].contains("dangerous-write = [\"/home/me/.local/bin\"]"),
            "{}",
            errors[2]
        );
        let fixed = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
dangerous-read = ["/home/me/.cargo", "/srv/x/.ssh"]
read = ["/home/me/src/app/vendor", "/usr/include"]
dangerous-write = ["/home/me/.local/bin"]
"#;
        let consumer = parse_with(fixed, &at, TableKind::Workspace, &homes())
            .unwrap()
            .consumer
            .unwrap();
        assert_eq!(consumer.allow["ok@1.0.0"].dangerous_read.len(), 2);

        let member = "[package.metadata.sandbox]\nread = [\"/home/me/.ssh\"]\n";
        let errors = parse_with(
            member,
            &["package", "metadata", "sandbox"],
            TableKind::Package,
            &homes(),
        )
        .unwrap_err();
        assert!(errors[0].starts_with("error[W005]:"), "{errors:?}");
    }

    /// A dependency's request under a plain key for what needs the dangerous one is a
    /// request for the dangerous key, whatever order the keys come in.
    #[test]
    fn a_dependency_requests_homes_and_secrets_under_the_dangerous_key() {
        let text = r#"
[package.metadata.sandbox]
dangerous-read = ["/opt/sdk"]
read = ["/home/me/.ssh", "/home/me/.cargo", "include", "/usr/include", "/opt/sdk"]
write = ["/home/me/.cargo/bin"]
env = ["CC", "GITHUB_TOKEN"]
"#;
        let needs = parse_with(
            text,
            &["package", "metadata", "sandbox"],
            TableKind::Dependency,
            &homes(),
        )
        .unwrap()
        .requests
        .needs;
        assert_eq!(needs.read, ["include", "/usr/include", "/opt/sdk"]);
        assert_eq!(
            needs.dangerous_read,
            ["/opt/sdk", "/home/me/.ssh", "/home/me/.cargo"]
        );
        assert_eq!(needs.write, Vec::<String>::new());
        assert_eq!(needs.dangerous_write, ["/home/me/.cargo/bin"]);
        assert_eq!(needs.env, ["CC"]);
        assert_eq!(needs.dangerous_env, ["GITHUB_TOKEN"]);
    }

    /// `processes` is a count, written as a TOML integer (and written back as one).
    #[test]
    fn the_process_limit_is_a_number() {
        let table = |limits: &str| {
            parse(
                &format!("[package.metadata.sandbox]\nlimits = {{ {limits} }}\n"),
                &["package", "metadata", "sandbox"],
                TableKind::Package,
            )
        };
        let needs = table("processes = 8192").unwrap().requests.needs;
        assert_eq!(needs.limits.processes, Some(8192));
        assert_eq!(needs.limits.apply(Limits::default()).processes, 8192);
        assert_eq!(
            needs.limits.toml_pairs(),
            [("processes", "8192".to_string())]
        );
        for bad in ["processes = 0", "processes = -3", "processes = \"many\""] {
            let errors = table(bad).unwrap_err();
            assert!(
                errors[0].contains("`limits.processes` must be a number of processes"),
                "{bad}: {errors:?}"
            );
        }
    }

    #[test]
    fn overrides_replace_only_what_they_set() {
        let overrides = LimitOverrides {
            memory: Some(ByteSize::new(64 << 20)),
            cpu_time: Some(TimeLimit::new(Duration::from_secs(3600))),
            ..LimitOverrides::default()
        };
        let limits = overrides.apply(Limits::default());
        assert_eq!(limits.memory_bytes, 64 << 20);
        assert_eq!(limits.cpu_time, Duration::from_secs(3600));
        assert_eq!(limits.wall_time, Limits::DEFAULT.wall_time);
    }

    #[test]
    fn stricter_requests_need_no_override() {
        let none = LimitOverrides::default();
        let stricter = LimitOverrides {
            memory: Some(ByteSize::new(Limits::DEFAULT.memory_bytes / 8)),
            cpu_time: Some(TimeLimit::new(Duration::from_secs(1))),
            ..LimitOverrides::default()
        };
        assert!(none.covers(&stricter, Limits::DEFAULT));
        let larger = LimitOverrides {
            memory: Some(ByteSize::new(Limits::DEFAULT.memory_bytes * 2)),
            ..LimitOverrides::default()
        };
        assert!(!none.covers(&larger, Limits::DEFAULT));
        assert!(larger.covers(&larger, Limits::DEFAULT));
        let granted_less = LimitOverrides {
            memory: Some(ByteSize::new(Limits::DEFAULT.memory_bytes / 16)),
            ..LimitOverrides::default()
        };
        assert!(
            !granted_less.covers(&stricter, Limits::DEFAULT),
            "a grant below the request"
        );
    }

    /// A malformed entry is reported where it stands, not at the start of its array.
    #[test]
    fn entry_diagnostics_point_at_the_entry() {
        let text = "[workspace.metadata.sandbox.allow.\"ok@1.0.0\"]\nenv = [\"CC\",\n  \"A*B\"]\nread = [\"src\", \"/home/me\"]\ndirectives = [\"rustc-env\", \"rustc-cfg\"]\nlimits = { memory = \"lots\" }\n";
        let errors = parse(
            text,
            &["workspace", "metadata", "sandbox"],
            TableKind::Workspace,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        let at = |needle: &str, place: &str| {
            let error = errors.iter().find(|e| e.contains(needle)).unwrap();
            assert!(error.contains(place), "{needle} at {place}: {error}");
        };
        at("invalid variable pattern `A*B`", "Cargo.toml:3:3");
        at("`/home/me` covers a home directory", "Cargo.toml:4:16");
        at("`rustc-cfg` is not a directive", "Cargo.toml:5:28");
        at("`limits.memory` must be a size", "Cargo.toml:6:21");
    }

    /// What an attempt used is a name; a declaration or grant may be a pattern.
    #[test]
    fn attempts_never_widen_into_patterns() {
        let mut set = CapabilitySet::default();
        assert!(set.insert(Capability::Env("CFLAGS_*".into())).is_ok());
        assert!(set.insert_attempt(Capability::Env("CC".into())).is_ok());
        let refused = set.insert_attempt(Capability::Env("LD_*".into()));
        assert!(refused.is_err_and(|why| why.message.contains("`LD_*` is not a variable name")),);
        assert_eq!(set.env, ["CFLAGS_*", "CC"]);
        assert!(set.insert(Capability::Exec(String::new())).is_err());
    }
}

#[cfg(test)]
mod robustness {
    use super::*;
    use std::path::Path;

    /// Fragments of sandbox tables, shuffled into documents: a cheap, deterministic
    /// version of the `sandbox_tables` fuzz target that runs with every `cargo test`.
    const PIECES: &[&str] = &[
        "[package.metadata.sandbox]\n",
        "[workspace.metadata.sandbox]\n",
        "[workspace.metadata.sandbox.allow.\"a@1.0.0\"]\n",
        "exec = [\"cc\"]\n",
        "exec = 3\n",
        "env = [\"A*\", \"*\", \"\"]\n",
        "limits = { memory = \"9999999999999GiB\" }\n",
        "limits = { cpu-time = \"-1s\" }\n",
        "mode = \"strict\"\n",
        "mode = 1\n",
        "version = 2\n",
        "allow = 5\n",
        "deny = { \"x\" = 1 }\n",
        "directives = [\"rustc-env\", 1]\n",
        "run-natively = \"yes\"\n",
        "[package.metadata.sandbox.allow.\"@\"]\n",
        "é = 1\n",
        "reason = \"\u{0}\"\n",
        "limits = []\n",
        "link-search = [\"/\"]\n",
    ];

    #[test]
    fn random_tables_never_panic() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5_000 {
            let mut text = String::new();
            for _ in 0..(state % 8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
            }
            state = state.wrapping_add(1);
            let Ok(doc) = toml_edit::Document::parse(text.clone()) else {
                continue;
            };
            let file = SourceFile {
                path: Path::new("Cargo.toml"),
                text: &text,
            };
            for (root, kind) in [
                ("package", TableKind::Package),
                ("package", TableKind::Dependency),
                ("workspace", TableKind::Workspace),
            ] {
                let item = doc
                    .get(root)
                    .and_then(|item| item.get("metadata"))
                    .and_then(|item| item.get("sandbox"));
                if let Some(item) = item {
                    let _ = parse_table(&file, item, kind, &PathRules::default());
                }
            }
        }
    }
}
