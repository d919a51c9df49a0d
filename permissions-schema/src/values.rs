//! The values a sandbox table holds, each checked once, where it is read: a limit's size
//! or duration, a program, a variable pattern. Their serde form is the text a table holds
//! (`"2GiB"`, `"10min"`, `"CFLAGS_*"`), so a value is spelled the same in the TOML, in the
//! report's JSON and in the JSON Schema editors check it against; the schema's patterns
//! sit next to the parsers that enforce them.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// Why a value is malformed: the message and the help a diagnostic shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    /// What is wrong, naming the value.
    pub message: String,
    /// How to write it instead.
    pub help: String,
}

impl ValueError {
    fn new(message: impl Into<String>, help: impl Into<String>) -> Self {
        ValueError {
            message: message.into(),
            help: help.into(),
        }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.help)
    }
}

impl std::error::Error for ValueError {}

/// Implements the traits every table value shares: `Display` and `FromStr` are its text,
/// serde goes through that text.
macro_rules! text_value {
    ($type:ident) => {
        impl TryFrom<String> for $type {
            type Error = ValueError;
            fn try_from(text: String) -> Result<Self, ValueError> {
                text.parse()
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> String {
                value.to_string()
            }
        }
    };
}

/// Implements comparison with the text, for the string-like values.
macro_rules! compare_with_text {
    ($type:ident) => {
        impl PartialEq<str> for $type {
            fn eq(&self, text: &str) -> bool {
                self.0 == text
            }
        }

        impl PartialEq<&str> for $type {
            fn eq(&self, text: &&str) -> bool {
                self.0 == *text
            }
        }
    };
}

/// A number of bytes, written `"512MiB"`, `"2GiB"`, `"64KiB"`, `"1GB"` or plain bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ByteSize(u64);

text_value!(ByteSize);

impl ByteSize {
    /// What a size must look like, for diagnostics.
    pub const EXPECTED: &'static str = "a size such as \"512MiB\" or \"2GiB\"";
    const PATTERN: &'static str = r"^[0-9]+ *(B|KiB|MiB|GiB|KB|kB|MB|GB)?$";

    /// `bytes` bytes.
    pub const fn new(bytes: u64) -> Self {
        ByteSize(bytes)
    }

    /// The number of bytes.
    pub const fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::new(format!("`{text}` is not a size"), Self::EXPECTED);
        let (number, unit) = split_number(text).ok_or_else(bad)?;
        let scale: u64 = match unit {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            _ => return Err(bad()),
        };
        number.checked_mul(scale).map(ByteSize).ok_or_else(bad)
    }
}

/// The shortest exact spelling, which `FromStr` reads back.
impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, scale) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if self.0 >= scale && self.0.is_multiple_of(scale) {
                return write!(f, "{}{unit}", self.0 / scale);
            }
        }
        write!(f, "{}", self.0)
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A size: a number of bytes, optionally with a unit (`KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`).",
            "type": "string",
            "pattern": Self::PATTERN,
        })
    }
}

/// A span of time, written `"500ms"`, `"90s"`, `"10min"`, `"2h"`; a plain number is
/// seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeLimit(Duration);

text_value!(TimeLimit);

impl TimeLimit {
    /// What a duration must look like, for diagnostics.
    pub const EXPECTED: &'static str = "a duration such as \"90s\" or \"10min\"";
    const PATTERN: &'static str = r"^[0-9]+ *(ms|s|min|h)?$";

    /// A limit of `duration`.
    pub const fn new(duration: Duration) -> Self {
        TimeLimit(duration)
    }

    /// The duration.
    pub const fn duration(self) -> Duration {
        self.0
    }
}

impl FromStr for TimeLimit {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::new(format!("`{text}` is not a duration"), Self::EXPECTED);
        let (number, unit) = split_number(text).ok_or_else(bad)?;
        let duration = match unit {
            "ms" => Some(Duration::from_millis(number)),
            "s" | "" => Some(Duration::from_secs(number)),
            "min" => number.checked_mul(60).map(Duration::from_secs),
            "h" => number.checked_mul(3600).map(Duration::from_secs),
            _ => None,
        };
        duration.map(TimeLimit).ok_or_else(bad)
    }
}

/// The shortest exact spelling, which `FromStr` reads back.
impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if self.0.subsec_nanos() != 0 {
            return write!(f, "{}ms", self.0.as_millis());
        }
        if secs >= 3600 && secs.is_multiple_of(3600) {
            write!(f, "{}h", secs / 3600)
        } else if secs >= 60 && secs.is_multiple_of(60) {
            write!(f, "{}min", secs / 60)
        } else {
            write!(f, "{secs}s")
        }
    }
}

impl JsonSchema for TimeLimit {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: a number with a unit (`ms`, `s`, `min`, `h`); plain numbers are seconds.",
            "type": "string",
            "pattern": Self::PATTERN,
        })
    }
}

/// The leading digits of `text` and the unit after them (spaces between the two allowed).
fn split_number(text: &str) -> Option<(u64, &str)> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    Some((number.parse().ok()?, unit.trim_start()))
}

/// A program as `exec` and `network` name it: a name looked up on `PATH`, a path, or
/// `$RUSTC`. The broker resolves it; here it is only known to be a usable name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Program(String);

text_value!(Program);
compare_with_text!(Program);

impl Program {
    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Program {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        if text.is_empty() || text.chars().any(char::is_control) {
            return Err(ValueError::new(
                format!("{text:?} is not a program"),
                "name a program found on PATH (\"cc\"), an absolute path, or \"$RUSTC\"",
            ));
        }
        Ok(Program(text.to_string()))
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for Program {
    fn schema_name() -> Cow<'static, str> {
        "Program".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A program: a name found on PATH, an absolute path, or `$RUSTC`.",
            "type": "string",
            "minLength": 1,
        })
    }
}

/// An `env` or `dangerous-env` entry: a variable's whole name, or a prefix followed by a
/// single `*`. Whether the plain `env` key may hold it (a prefix ending at a word
/// boundary, nothing secret-shaped) is `wasm_build_policy::hygiene::env_problem`'s question.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnvPattern(String);

text_value!(EnvPattern);
compare_with_text!(EnvPattern);

impl EnvPattern {
    const PATTERN: &'static str = r"^[^*=]*\*$|^[^*=]+$";

    /// The pattern naming exactly the variable `name`: what an attempt to use `name`
    /// needs. A name that is itself pattern-shaped (`LD_*`) has no such grant: granting it
    /// would hand over every variable it matches, more than was attempted.
    ///
    /// # Errors
    ///
    /// When `name` is not a variable name a grant can name.
    pub fn exactly(name: &str) -> Result<Self, ValueError> {
        if name.contains('*') {
            return Err(ValueError::new(
                format!("`{name}` is not a variable name (a grant of it would be a pattern)"),
                "variables whose names hold `*` cannot be granted",
            ));
        }
        name.parse()
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix before the `*`, or `None` for a whole name.
    pub fn prefix(&self) -> Option<&str> {
        self.0.strip_suffix('*')
    }
}

impl FromStr for EnvPattern {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let prefix = text.strip_suffix('*');
        let bare = prefix.unwrap_or(text);
        let malformed = bare.contains(['*', '=', '\0']) || bare.is_empty() && prefix.is_none();
        if malformed {
            return Err(ValueError::new(
                format!("invalid variable pattern `{text}`"),
                "use a name, or a prefix followed by a single `*` (`CFLAGS_*`)",
            ));
        }
        Ok(EnvPattern(text.to_string()))
    }
}

impl fmt::Display for EnvPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for EnvPattern {
    fn schema_name() -> Cow<'static, str> {
        "EnvPattern".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An environment variable's name, or a prefix followed by `*`.",
            "type": "string",
            "pattern": Self::PATTERN,
        })
    }
}

/// A `dangerous-rustc-env` entry: the exact name of a `CARGO_*` variable a build script may
/// set for the compiler with `cargo:rustc-env`. Cargo's namespace is closed to
/// `rustc-env` by default, since cargo, rustc, proc macros and this tool read some of
/// its names while compiling the package; only names none of them reads can be granted,
/// one by one: never one cargo sets for a compile or a build script (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, `CARGO_CRATE_NAME`, `CARGO_CFG_*`, `CARGO_MAKEFLAGS`: what tells the
/// tool which package it compiles, what proc macros read files relative to, the
/// jobserver), nor cargo's own settings that a program under rustc may read
/// (`CARGO_HOME`, `CARGO_TARGET_DIR`, `CARGO_BUILD_*`), nor the tool's (`CARGO_WASM_BUILD_*`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CargoEnvName(String);

text_value!(CargoEnvName);
compare_with_text!(CargoEnvName);

impl CargoEnvName {
    const PATTERN: &'static str = "^CARGO_[A-Z0-9_]+$";

    /// Why no grant can let a script set `name`, if none can.
    fn reserved(name: &str) -> Option<&'static str> {
        const SET_BY_CARGO: &[&str] = &[
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_MANIFEST_LINKS",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_RUSTC_CURRENT_DIR",
            "CARGO_TARGET_TMPDIR",
            "CARGO_MAKEFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
        ];
        const SET_BY_CARGO_PREFIXES: &[&str] = &[
            "CARGO_PKG_",
            "CARGO_CFG_",
            "CARGO_FEATURE_",
            "CARGO_BIN_EXE_",
        ];
        const CARGO_SETTINGS: &[&str] = &["CARGO_HOME", "CARGO_TARGET_DIR"];
        const CARGO_SETTINGS_PREFIXES: &[&str] = &["CARGO_BUILD_", "CARGO_WASM_BUILD_"];
        let starts = |prefixes: &[&str]| prefixes.iter().any(|prefix| name.starts_with(prefix));
        if SET_BY_CARGO.contains(&name) || starts(SET_BY_CARGO_PREFIXES) {
            Some("cargo sets it for every compile or build script")
        } else if CARGO_SETTINGS.contains(&name) || starts(CARGO_SETTINGS_PREFIXES) {
            Some("it configures cargo or this tool")
        } else {
            None
        }
    }
}

impl FromStr for CargoEnvName {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let rest = text.strip_prefix("CARGO_").unwrap_or_default();
        let well_formed = !rest.is_empty()
            && rest
                .bytes()
                .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_');
        if !well_formed {
            return Err(ValueError::new(
                format!("`{text}` is not the name of a `CARGO_*` variable"),
                "name one variable, such as `CARGO_GIT_HASH`; other names go under `directives = [\"rustc-env\"]`",
            ));
        }
        if let Some(why) = Self::reserved(text) {
            return Err(ValueError::new(
                format!("`{text}` can never be set with `cargo:rustc-env`: {why}"),
                "remove the entry; the crate must stop printing the directive",
            ));
        }
        Ok(CargoEnvName(text.to_string()))
    }
}

impl fmt::Display for CargoEnvName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for CargoEnvName {
    fn schema_name() -> Cow<'static, str> {
        "CargoEnvName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The exact name of a `CARGO_*` variable a build script may set with `cargo:rustc-env`; never one cargo sets for compiles (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...) or one of cargo's or this tool's settings.",
            "type": "string",
            "pattern": Self::PATTERN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a `CARGO_*` name that cargo, rustc and the tool leave alone can be granted.
    #[test]
    fn cargo_env_names_exclude_what_cargo_and_the_tool_read() {
        for name in ["CARGO_GIT_HASH", "CARGO_BUILD_DATE_X"] {
            let parsed = name.parse::<CargoEnvName>();
            assert_eq!(parsed.is_ok(), name == "CARGO_GIT_HASH", "{name}");
        }
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_VERSION",
            "CARGO_CRATE_NAME",
            "CARGO_CFG_TARGET_OS",
            "CARGO_MAKEFLAGS",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_WASM_BUILD_POLICY",
            "CARGO_",
            "CARGO_*",
            "cargo_x",
            "PATH",
            "LD_PRELOAD",
        ] {
            assert!(name.parse::<CargoEnvName>().is_err(), "{name}");
        }
    }

    #[test]
    fn sizes_and_durations_round_trip_through_their_text() {
        for bytes in [1, 1000, 64 << 10, 512 << 20, 2 << 30] {
            let size = ByteSize::new(bytes);
            assert_eq!(size.to_string().parse(), Ok(size));
        }
        for duration in [1, 90, 600, 7200].map(Duration::from_secs) {
            let limit = TimeLimit::new(duration);
            assert_eq!(limit.to_string().parse(), Ok(limit));
        }
        assert_eq!(
            "500ms".parse::<TimeLimit>().map(TimeLimit::duration),
            Ok(Duration::from_millis(500))
        );
        assert_eq!("2 GiB".parse::<ByteSize>(), Ok(ByteSize::new(2 << 30)));
        assert!(" 2GiB".parse::<ByteSize>().is_err());
        assert!("2 TiB".parse::<ByteSize>().is_err());
        assert!("-1s".parse::<TimeLimit>().is_err());
        assert!("99999999999999999999GiB".parse::<ByteSize>().is_err());
        assert!(
            "9999999999999999999h".parse::<TimeLimit>().is_err(),
            "overflow"
        );
    }

    #[test]
    fn serde_uses_the_text_a_table_holds() {
        let size: ByteSize = serde_json::from_str("\"2GiB\"").unwrap();
        assert_eq!(size.bytes(), 2 << 30);
        assert_eq!(serde_json::to_string(&size).unwrap(), "\"2GiB\"");
        assert!(serde_json::from_str::<ByteSize>("\"lots\"").is_err());
        let pattern: Result<EnvPattern, _> = serde_json::from_str("\"A*B\"");
        assert!(pattern.is_err(), "validated when deserialized too");
    }

    /// The JSON Schema's patterns accept exactly what the parsers accept (up to overflow),
    /// so an editor flags what the build would reject.
    #[test]
    fn the_schema_patterns_accept_what_the_parsers_accept() {
        let size = regex::Regex::new(ByteSize::PATTERN).unwrap();
        let time = regex::Regex::new(TimeLimit::PATTERN).unwrap();
        let env = regex::Regex::new(EnvPattern::PATTERN).unwrap();
        let numbers = ["", "0", "12", "-1", "1.5", " 7"];
        let units = [
            "", "B", "KiB", "MiB", "GiB", "KB", "kB", "MB", "GB", "TiB", "ms", "s", "min", "h",
            " s", "d", "*", "x",
        ];
        for number in numbers {
            for unit in units {
                let text = format!("{number}{unit}");
                assert_eq!(
                    size.is_match(&text),
                    text.parse::<ByteSize>().is_ok(),
                    "{text:?}"
                );
                assert_eq!(
                    time.is_match(&text),
                    text.parse::<TimeLimit>().is_ok(),
                    "{text:?}"
                );
            }
        }
        for text in ["CC", "CFLAGS_*", "*", "", "A*B", "**", "A=B", "=*", "a b"] {
            assert_eq!(
                env.is_match(text),
                text.parse::<EnvPattern>().is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn variable_patterns_are_names_or_one_trailing_star() {
        for fine in ["CC", "CFLAGS_*", "*", "GIT*"] {
            assert!(fine.parse::<EnvPattern>().is_ok(), "{fine}");
        }
        for bad in ["", "A*B", "**", "A=B", "A\0"] {
            assert!(bad.parse::<EnvPattern>().is_err(), "{bad:?}");
        }
        assert_eq!(
            EnvPattern::exactly("CFLAGS").map(|p| p.prefix().is_none()),
            Ok(true)
        );
        assert!(
            EnvPattern::exactly("LD_*").is_err(),
            "an attempted name is never widened into a pattern"
        );
    }

    #[test]
    fn programs_are_nonempty_printable_names() {
        assert!("cc".parse::<Program>().is_ok());
        assert!("/usr/bin/cc".parse::<Program>().is_ok());
        assert!("$RUSTC".parse::<Program>().is_ok());
        assert!("".parse::<Program>().is_err());
        assert!("cc\nrm".parse::<Program>().is_err());
    }
}
