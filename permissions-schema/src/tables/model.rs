//! The sandbox tables as values: a crate's requests, the consumer's policy, and the
//! capability sets and limit overrides both are made of. Reading them from `Cargo.toml` is
//! [`super::parse`]'s.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::capability::{Capability, CapabilityKey, GatedDirective};
use crate::limits::Limits;
use crate::net::{HostPattern, HostsEntry, NetworkEntry, NetworkHost};
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
    pub(super) fn set_text(
        &mut self,
        key: LimitKey,
        text: Option<&str>,
    ) -> Result<(), &'static str> {
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

    pub(super) fn set_flag(&mut self, key: CapabilityKey, on: bool) {
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
    pub(super) fn header(self) -> &'static str {
        match self {
            TableKind::Package | TableKind::Dependency => "[package.metadata.sandbox]",
            TableKind::Workspace => "[workspace.metadata.sandbox]",
        }
    }

    pub(super) fn has_requests(self) -> bool {
        matches!(self, TableKind::Package | TableKind::Dependency)
    }
}

/// Keys of the consumer's policy: read from `[workspace.metadata.sandbox]`, or from the root
/// package's `[package.metadata.sandbox]` when the workspace has no table of its own.
pub const CONSUMER_KEYS: &[&str] = &["mode", "deny-rustc", "env-defaults", "allow", "deny"];

#[cfg(test)]
mod tests {
    use super::*;

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
