//! One power a build script can ask for, in the vocabulary shared by requests, grants and
//! denials.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::inert::{Inert, is_invisible_control};
use crate::net::{HostPattern, NetworkHost};

/// A cargo directive that the sandbox passes only when granted, because it reaches past
/// the package being built.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum GatedDirective {
    /// `rustc-link-arg*` and `rustc-cdylib-link-arg`: arbitrary linker arguments, which
    /// can load plugins, run scripts or pull files into the final binary.
    RustcLinkArg,
    /// `rustc-env`: environment of the compiler while it builds the package.
    RustcEnv,
    /// `rustc-flags`: `-l`/`-L` flags for the compiler.
    RustcFlags,
}

impl GatedDirective {
    /// Every gated directive, in display order.
    pub const ALL: [GatedDirective; 3] = [
        GatedDirective::RustcLinkArg,
        GatedDirective::RustcEnv,
        GatedDirective::RustcFlags,
    ];

    /// The directive's key as written after `cargo:` (for link args, the family name).
    pub fn key(self) -> &'static str {
        match self {
            GatedDirective::RustcLinkArg => "rustc-link-arg",
            GatedDirective::RustcEnv => "rustc-env",
            GatedDirective::RustcFlags => "rustc-flags",
        }
    }

    /// Parses a key as written in a grant.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|gated| gated.key() == key)
    }
}

impl fmt::Display for GatedDirective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The key of a grant table that holds one kind of [`Capability`]. Every list of keys
/// (the parser's, the table writer's, the displays', the JSON Schema's check) is derived
/// from [`CapabilityKey::ALL`] and [`CapabilityKey::key`], so a new kind of capability is
/// added here and nowhere else by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CapabilityKey {
    /// `exec`: programs (names looked up on `PATH`, or absolute paths).
    Exec,
    /// `env`: environment variables (names, or prefixes ending in `*`).
    Env,
    /// `read`: paths to read.
    Read,
    /// `write`: paths to write.
    Write,
    /// `network`: programs that may use the network.
    Network,
    /// `directives`: directives that reach past the package.
    Directives,
    /// `link-search`: library search paths.
    LinkSearch,
    /// `run-natively`: run the build script natively (a flag).
    RunNatively,
    /// `run-built`: run what the build built (a flag).
    RunBuilt,
    /// `dangerous-env`: environment variables `env` may not name.
    DangerousEnv,
    /// `dangerous-read`: paths `read` may not name.
    DangerousRead,
    /// `dangerous-write`: paths `write` may not name.
    DangerousWrite,
    /// `dangerous-rustc-env`: `CARGO_*` variables `cargo:rustc-env` may set, by name.
    DangerousRustcEnv,
}

impl CapabilityKey {
    /// Every key, in the order a table is written and displayed.
    pub const ALL: [CapabilityKey; 13] = [
        CapabilityKey::Exec,
        CapabilityKey::Env,
        CapabilityKey::Read,
        CapabilityKey::Write,
        CapabilityKey::Network,
        CapabilityKey::Directives,
        CapabilityKey::LinkSearch,
        CapabilityKey::RunNatively,
        CapabilityKey::RunBuilt,
        CapabilityKey::DangerousEnv,
        CapabilityKey::DangerousRead,
        CapabilityKey::DangerousWrite,
        CapabilityKey::DangerousRustcEnv,
    ];

    /// The key as written in TOML.
    pub const fn key(self) -> &'static str {
        match self {
            CapabilityKey::Exec => "exec",
            CapabilityKey::Env => "env",
            CapabilityKey::Read => "read",
            CapabilityKey::Write => "write",
            CapabilityKey::Network => "network",
            CapabilityKey::Directives => "directives",
            CapabilityKey::LinkSearch => "link-search",
            CapabilityKey::RunNatively => "run-natively",
            CapabilityKey::RunBuilt => "run-built",
            CapabilityKey::DangerousEnv => "dangerous-env",
            CapabilityKey::DangerousRead => "dangerous-read",
            CapabilityKey::DangerousWrite => "dangerous-write",
            CapabilityKey::DangerousRustcEnv => "dangerous-rustc-env",
        }
    }

    /// Parses a key as written in TOML.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.key() == key)
    }

    /// Whether the key is a boolean switch rather than a list.
    pub fn is_flag(self) -> bool {
        matches!(self, CapabilityKey::RunNatively | CapabilityKey::RunBuilt)
    }
}

impl fmt::Display for CapabilityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One grantable power. Its [`Capability::toml_key`] and [`Capability::toml_value`] are
/// the line that grants it, so a denial can print exactly what to add.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(tag = "kind", content = "value", rename_all = "kebab-case")]
pub enum Capability {
    /// Run a program (a name looked up on the host `PATH`, or an absolute path).
    Exec(String),
    /// See an environment variable, and set it for programs the script runs (a name, or a
    /// prefix ending in `_*`).
    Env(String),
    /// Read a directory or file outside the package.
    Read(String),
    /// Write a directory outside `OUT_DIR`.
    Write(String),
    /// Let a granted program connect to public addresses, any host, through the tool's
    /// filtering proxy.
    Network(String),
    /// Let a granted program connect to one host (and port), through the proxy: an
    /// address that is not public only this way, named (see [`crate::net`]).
    NetworkHost(NetworkHost),
    /// Pass a directive that reaches past the package.
    Directive(GatedDirective),
    /// Add a library search path outside `OUT_DIR` and the package.
    LinkSearch(String),
    /// See environment variables that the `env` key may not grant: every variable (`*`),
    /// a prefix without a word boundary, or secret-shaped names (`*_TOKEN`, `AWS_*`,
    /// `SSH_AUTH_SOCK`). Behind its own key so that it is seen in review.
    DangerousEnv(String),
    /// Read a path that `read` may not grant: `/`, a home directory or above it, anything
    /// inside the user's, cargo's or rustup's home outside the workspace, a secret's place.
    DangerousRead(String),
    /// Write a path that `write` may not grant, likewise; and, by the package-relative
    /// path `approve` offers, the package's own directory (its sources).
    DangerousWrite(String),
    /// Set the `CARGO_*` variable of this exact name for the compiler with
    /// `cargo:rustc-env`, which is otherwise never allowed (it overrides what cargo says
    /// about the package to the crate's `env!`). Names cargo sets for compiles, and
    /// cargo's and the tool's settings, are never grantable (see
    /// [`crate::CargoEnvName`]).
    DangerousRustcEnv(String),
    /// Run the build script natively instead of in wasm (still confined: no network,
    /// writes only `OUT_DIR`), for scripts whose build-dependencies cannot be compiled
    /// for wasm32-wasip1 (bindgen loading libclang, say). Programs it starts are confined
    /// but not checked against `exec` grants.
    RunNatively,
    /// Let the programs the build script runs execute what they built in its `OUT_DIR` and
    /// temporary directory (a configure script's test programs, a generator compiled
    /// first), and let the script itself run those: still jailed like every granted
    /// program. Without it nothing a build writes is executable.
    RunBuilt,
}

impl Capability {
    /// The kind of capability: the key of the grant table that holds it.
    pub fn kind(&self) -> CapabilityKey {
        match self {
            Capability::Exec(_) => CapabilityKey::Exec,
            Capability::Env(_) => CapabilityKey::Env,
            Capability::Read(_) => CapabilityKey::Read,
            Capability::Write(_) => CapabilityKey::Write,
            Capability::Network(_) | Capability::NetworkHost(_) => CapabilityKey::Network,
            Capability::Directive(_) => CapabilityKey::Directives,
            Capability::LinkSearch(_) => CapabilityKey::LinkSearch,
            Capability::RunNatively => CapabilityKey::RunNatively,
            Capability::RunBuilt => CapabilityKey::RunBuilt,
            Capability::DangerousEnv(_) => CapabilityKey::DangerousEnv,
            Capability::DangerousRead(_) => CapabilityKey::DangerousRead,
            Capability::DangerousWrite(_) => CapabilityKey::DangerousWrite,
            Capability::DangerousRustcEnv(_) => CapabilityKey::DangerousRustcEnv,
        }
    }

    /// The key of the grant table that holds this capability.
    pub fn toml_key(&self) -> &'static str {
        self.kind().key()
    }

    /// Whether the capability widens the sandbox past what review can take for granted:
    /// displays show it in red.
    pub fn is_dangerous(&self) -> bool {
        matches!(
            self,
            Capability::DangerousEnv(_)
                | Capability::DangerousRead(_)
                | Capability::DangerousWrite(_)
                | Capability::DangerousRustcEnv(_)
                | Capability::RunNatively
        ) || self.reaches_non_public_address()
    }

    /// Whether this is a network grant of an address that is not public: this machine,
    /// its link, a private network.
    fn reaches_non_public_address(&self) -> bool {
        match self {
            Capability::NetworkHost(grant) => grant
                .host
                .parse::<HostPattern>()
                .is_ok_and(|host| host.is_dangerous()),
            _ => false,
        }
    }

    /// Whether a learning build (`cargo wasm-build approve --learn`) may let a script use
    /// the capability before review, to record it: what acts inside the jail or the
    /// package's own compile (a program, jailed with no network; running what the build
    /// built, jailed; a gated directive or search path for the compile) and is undone by
    /// running the script again. Never the network, never a dangerous key, never
    /// variables (what a script sees is decided before it starts) and never leaving the
    /// wasm sandbox.
    pub fn is_learnable(&self) -> bool {
        matches!(
            self,
            Capability::Exec(_)
                | Capability::Directive(_)
                | Capability::LinkSearch(_)
                | Capability::RunBuilt
        )
    }

    /// The value within that key's array.
    pub fn toml_value(&self) -> String {
        match self {
            Capability::Exec(value)
            | Capability::Env(value)
            | Capability::Read(value)
            | Capability::Write(value)
            | Capability::Network(value)
            | Capability::LinkSearch(value)
            | Capability::DangerousEnv(value)
            | Capability::DangerousRead(value)
            | Capability::DangerousWrite(value)
            | Capability::DangerousRustcEnv(value) => value.clone(),
            Capability::Directive(gated) => gated.key().to_string(),
            Capability::NetworkHost(grant) => format!("{} to {}", grant.program, grant.host),
            Capability::RunNatively | Capability::RunBuilt => "true".to_string(),
        }
    }

    /// The entry within that key's array as TOML writes it: a string, or for a host of a
    /// network grant `{ program = "curl", hosts = ["github.com"] }`.
    pub fn toml_entry(&self) -> String {
        match self {
            Capability::NetworkHost(grant) => format!(
                "{{ program = {}, hosts = [{}] }}",
                toml_string(&grant.program),
                toml_string(&grant.host)
            ),
            other => toml_string(&other.toml_value()),
        }
    }

    /// Whether the capability is a flag (`key = true`) rather than an array entry.
    pub fn is_flag(&self) -> bool {
        self.kind().is_flag()
    }

    /// The TOML line that grants exactly this capability, e.g. `exec = ["cc"]`.
    pub fn toml_line(&self) -> String {
        if self.is_flag() {
            return format!("{} = true", self.toml_key());
        }
        format!("{} = [{}]", self.toml_key(), self.toml_entry())
    }
}

impl Capability {
    /// The capability as a sentence fragment ("run `cc`"), with each value the crate wrote
    /// quoted by `code`: for a terminal in backticks, for Markdown as a code span that the
    /// value cannot break out of.
    pub fn describe(&self, code: impl Fn(&str) -> String) -> String {
        match self {
            Capability::Exec(program) => format!("run {}", code(program)),
            Capability::Env(name) => format!("use the environment variable {}", code(name)),
            Capability::Read(path) => format!("read {}", code(path)),
            Capability::Write(path) => format!("write {}", code(path)),
            Capability::Network(program) => {
                format!("let {} connect to public addresses", code(program))
            }
            Capability::NetworkHost(grant) if self.reaches_non_public_address() => format!(
                "let {} connect to {} (dangerous: not a public address)",
                code(&grant.program),
                code(&grant.host)
            ),
            Capability::NetworkHost(grant) => format!(
                "let {} connect to {}",
                code(&grant.program),
                code(&grant.host)
            ),
            Capability::Directive(gated) => format!("emit {}", code(&format!("cargo:{gated}"))),
            Capability::LinkSearch(path) => {
                format!("add {} to the library search path", code(path))
            }
            Capability::RunNatively => "run natively (confined) instead of in wasm".into(),
            Capability::RunBuilt => "run programs it built in its OUT_DIR (jailed)".into(),
            Capability::DangerousEnv(name) => format!(
                "use the environment variable {} (dangerous: it may be a secret)",
                code(name)
            ),
            Capability::DangerousRead(path) => {
                format!("read {} (dangerous: a home or a secret)", code(path))
            }
            // A relative path is the package's own: its sources.
            Capability::DangerousWrite(path) if !path.starts_with(['/', '$']) => {
                format!(
                    "write {} (dangerous: the package's own sources)",
                    code(path)
                )
            }
            Capability::DangerousWrite(path) => {
                format!("write {} (dangerous: a home or a secret)", code(path))
            }
            Capability::DangerousRustcEnv(name) => format!(
                "emit {} (dangerous: it overrides a cargo variable)",
                code(&format!("cargo:rustc-env={name}"))
            ),
        }
    }
}

impl fmt::Display for Capability {
    /// For a terminal: each value the crate wrote in backticks, [`Inert`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(|value| format!("`{}`", Inert(value))))
    }
}

/// A TOML basic string: quoted, with `"`, `\` and control characters escaped, and the
/// other characters that would steer or hide what a terminal shows
/// ([`is_invisible_control`]) as `\uXXXX` too: the same value, printed inert in hints.
pub fn toml_string(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for ch in value.chars() {
        match ch {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            ch if is_invisible_control(ch) => {
                quoted.push_str(&format!("\\u{:04X}", u32::from(ch)));
            }
            ch => quoted.push(ch),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_lines_grant_exactly_the_capability() {
        assert_eq!(
            Capability::Exec("cc".into()).toml_line(),
            r#"exec = ["cc"]"#
        );
        assert_eq!(
            Capability::Directive(GatedDirective::RustcLinkArg).toml_line(),
            r#"directives = ["rustc-link-arg"]"#
        );
        assert_eq!(
            Capability::Read(r#"C:\a "b""#.into()).toml_line(),
            r#"read = ["C:\\a \"b\""]"#
        );
    }

    /// A name a script chose shows inert in every hint: the sentence and the TOML line,
    /// which still grants the very same name.
    #[test]
    fn values_a_script_chose_are_shown_inert() {
        let name = "LD_\x1b]0;owned\x07\u{202e}X";
        let env = Capability::Env(name.into());
        assert_eq!(
            env.to_string(),
            r"use the environment variable `LD_\u{1b}]0;owned\u{7}\u{202e}X`"
        );
        let line = env.toml_line();
        assert_eq!(line, r#"env = ["LD_\u001B]0;owned\u0007\u202EX"]"#);
        let parsed: toml_edit::DocumentMut = line.parse().unwrap();
        assert_eq!(parsed["env"][0].as_str(), Some(name));
    }

    #[test]
    fn capability_keys_round_trip_and_name_every_kind() {
        for key in CapabilityKey::ALL {
            assert_eq!(CapabilityKey::from_key(key.key()), Some(key));
        }
        let one_of_each = [
            Capability::Exec("cc".into()),
            Capability::Env("CC".into()),
            Capability::Read("/usr".into()),
            Capability::Write("/tmp".into()),
            Capability::Network("curl".into()),
            Capability::Directive(GatedDirective::RustcEnv),
            Capability::LinkSearch("/opt".into()),
            Capability::RunNatively,
            Capability::RunBuilt,
            Capability::DangerousEnv("*".into()),
            Capability::DangerousRead("/".into()),
            Capability::DangerousWrite("/".into()),
            Capability::DangerousRustcEnv("CARGO_GIT_HASH".into()),
        ];
        let kinds: Vec<CapabilityKey> = one_of_each.iter().map(Capability::kind).collect();
        assert_eq!(kinds, CapabilityKey::ALL);
        assert!(
            one_of_each
                .iter()
                .all(|c| c.is_flag() == c.kind().is_flag())
        );
    }

    #[test]
    fn gated_directive_keys_round_trip() {
        for gated in GatedDirective::ALL {
            assert_eq!(GatedDirective::from_key(gated.key()), Some(gated));
        }
        assert_eq!(GatedDirective::from_key("rustc-cfg"), None);
    }
}
