//! Cargo's build-script output protocol, parsed exactly as cargo parses it.
//!
//! The policy can only judge what cargo will do with a line if both read the line the same
//! way, so this mirrors cargo's `BuildOutput::parse` (src/compiler/custom_build.rs): lines
//! split on `\n`, non-UTF-8 lines ignored, whitespace trimmed, `cargo::` before `cargo:`,
//! and in the old syntax every key that is not reserved is links metadata.

/// Which prefix a directive line used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `cargo:KEY=VALUE`, where unknown keys are metadata.
    Single,
    /// `cargo::KEY=VALUE` (Rust 1.77+), where metadata is `cargo::metadata=KEY=VALUE`.
    Double,
}

/// What a directive asks cargo to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive<'a> {
    /// `rerun-if-changed=PATH`.
    RerunIfChanged(&'a str),
    /// `rerun-if-env-changed=VAR`.
    RerunIfEnvChanged(&'a str),
    /// `rustc-link-lib=[KIND[:MODIFIERS]=]NAME[:RENAME]`.
    RustcLinkLib(&'a str),
    /// `rustc-link-search=[KIND=]PATH`.
    RustcLinkSearch {
        /// `native`, `dependency`, `crate`, `framework` or `all` (the default).
        kind: Option<&'a str>,
        /// The directory added to the search path.
        path: &'a str,
    },
    /// `rustc-flags=FLAGS` (only `-l` and `-L` are accepted by cargo).
    RustcFlags(&'a str),
    /// Any `rustc-link-arg*` or `rustc-cdylib-link-arg` directive; `key` tells which.
    RustcLinkArg {
        /// The exact key, e.g. `rustc-link-arg-bins`.
        key: &'a str,
        /// The argument (for `rustc-link-arg-bin`, `BIN=ARG`).
        value: &'a str,
    },
    /// `rustc-cfg=CFG`.
    RustcCfg(&'a str),
    /// `rustc-check-cfg=CHECK`.
    RustcCheckCfg(&'a str),
    /// `rustc-env=VAR=VALUE`, set while compiling the package.
    RustcEnv {
        /// The variable's name.
        name: &'a str,
        /// Its value.
        value: &'a str,
    },
    /// `warning=MESSAGE`.
    Warning(&'a str),
    /// `error=MESSAGE` (new syntax only; in the old syntax `error` is metadata).
    Error(&'a str),
    /// Links metadata, exposed to dependents as `DEP_<LINKS>_<KEY>`.
    Metadata {
        /// The key.
        key: &'a str,
        /// The value.
        value: &'a str,
    },
    /// A key cargo rejects (`cargo::foo=bar`), or a line without `=`. Cargo fails the
    /// build on these; they are passed through so it still does.
    Invalid,
}

/// One line of build-script stdout as cargo will read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line exactly as printed (without the newline).
    pub raw: &'a [u8],
    /// The directive, or `None` for lines cargo ignores.
    pub directive: Option<(Syntax, Directive<'a>)>,
}

/// Keys that keep their meaning in the old `cargo:` syntax; any other old-syntax key is
/// metadata. Cargo froze this list: new keys exist only in the `cargo::` syntax.
const RESERVED_OLD_KEYS: &[&str] = &[
    "rustc-flags",
    "rustc-link-lib",
    "rustc-link-search",
    "rustc-link-arg-cdylib",
    "rustc-cdylib-link-arg",
    "rustc-link-arg-bins",
    "rustc-link-arg-bin",
    "rustc-link-arg-tests",
    "rustc-link-arg-benches",
    "rustc-link-arg-examples",
    "rustc-link-arg",
    "rustc-cfg",
    "rustc-check-cfg",
    "rustc-env",
    "warning",
    "rerun-if-changed",
    "rerun-if-env-changed",
];

/// Splits build-script stdout into lines and parses each.
pub fn parse(stdout: &[u8]) -> impl Iterator<Item = Line<'_>> {
    stdout.split(|byte| *byte == b'\n').map(|raw| Line {
        raw,
        directive: std::str::from_utf8(raw).ok().and_then(parse_line),
    })
}

fn parse_line(line: &str) -> Option<(Syntax, Directive<'_>)> {
    let line = line.trim();
    if let Some(data) = line.strip_prefix("cargo::") {
        return Some((Syntax::Double, parse_new(data)));
    }
    let data = line.strip_prefix("cargo:")?;
    let reserved = RESERVED_OLD_KEYS.iter().any(|key| {
        data.strip_prefix(key)
            .is_some_and(|rest| rest.starts_with('='))
    });
    let directive = if reserved {
        parse_new(data)
    } else {
        metadata(data)
    };
    Some((Syntax::Single, directive))
}

fn parse_new(data: &str) -> Directive<'_> {
    let Some((key, value)) = data.split_once('=') else {
        return Directive::Invalid;
    };
    let value = value.trim_end();
    match key {
        "rerun-if-changed" => Directive::RerunIfChanged(value),
        "rerun-if-env-changed" => Directive::RerunIfEnvChanged(value),
        "rustc-link-lib" => Directive::RustcLinkLib(value),
        "rustc-link-search" => match value.split_once('=') {
            Some((kind, path)) => Directive::RustcLinkSearch {
                kind: Some(kind),
                path,
            },
            None => Directive::RustcLinkSearch {
                kind: None,
                path: value,
            },
        },
        "rustc-flags" => Directive::RustcFlags(value),
        "rustc-link-arg"
        | "rustc-link-arg-bins"
        | "rustc-link-arg-bin"
        | "rustc-link-arg-tests"
        | "rustc-link-arg-benches"
        | "rustc-link-arg-examples"
        | "rustc-link-arg-cdylib"
        | "rustc-cdylib-link-arg" => Directive::RustcLinkArg { key, value },
        "rustc-cfg" => Directive::RustcCfg(value),
        "rustc-check-cfg" => Directive::RustcCheckCfg(value),
        "rustc-env" => match value.split_once('=') {
            Some((name, value)) => Directive::RustcEnv { name, value },
            None => Directive::Invalid,
        },
        "warning" => Directive::Warning(value),
        "error" => Directive::Error(value),
        "metadata" => metadata(value),
        _ => Directive::Invalid,
    }
}

fn metadata(data: &str) -> Directive<'_> {
    match data.split_once('=') {
        Some((key, value)) => Directive::Metadata {
            key,
            value: value.trim_end(),
        },
        None => Directive::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Option<(Syntax, Directive<'_>)> {
        let mut lines: Vec<_> = parse(line.as_bytes()).collect();
        assert_eq!(lines.len(), 1);
        lines.pop().unwrap().directive
    }

    #[test]
    fn both_syntaxes() {
        assert_eq!(
            one("cargo:rustc-cfg=foo"),
            Some((Syntax::Single, Directive::RustcCfg("foo")))
        );
        assert_eq!(
            one("cargo::rustc-cfg=foo"),
            Some((Syntax::Double, Directive::RustcCfg("foo")))
        );
    }

    #[test]
    fn old_syntax_unknown_keys_are_metadata() {
        assert_eq!(
            one("cargo:include=/x/include"),
            Some((
                Syntax::Single,
                Directive::Metadata {
                    key: "include",
                    value: "/x/include"
                }
            ))
        );
        // `error` was added after the old syntax froze.
        assert_eq!(
            one("cargo:error=boom"),
            Some((
                Syntax::Single,
                Directive::Metadata {
                    key: "error",
                    value: "boom"
                }
            ))
        );
        // A reserved word only counts when followed by `=`.
        assert_eq!(
            one("cargo:rustc-envX=1"),
            Some((
                Syntax::Single,
                Directive::Metadata {
                    key: "rustc-envX",
                    value: "1"
                }
            ))
        );
    }

    #[test]
    fn new_syntax_metadata_and_invalid() {
        assert_eq!(
            one("cargo::metadata=root=/x"),
            Some((
                Syntax::Double,
                Directive::Metadata {
                    key: "root",
                    value: "/x"
                }
            ))
        );
        assert_eq!(
            one("cargo::nonsense=1"),
            Some((Syntax::Double, Directive::Invalid))
        );
        assert_eq!(
            one("cargo::warning"),
            Some((Syntax::Double, Directive::Invalid))
        );
    }

    #[test]
    fn whitespace_is_trimmed_like_cargo() {
        assert_eq!(
            one("  cargo:rustc-link-arg=-Wl,-evil  \r"),
            Some((
                Syntax::Single,
                Directive::RustcLinkArg {
                    key: "rustc-link-arg",
                    value: "-Wl,-evil"
                }
            ))
        );
    }

    #[test]
    fn link_search_kinds_and_env() {
        assert_eq!(
            one("cargo:rustc-link-search=native=/usr/lib"),
            Some((
                Syntax::Single,
                Directive::RustcLinkSearch {
                    kind: Some("native"),
                    path: "/usr/lib"
                }
            ))
        );
        assert_eq!(
            one("cargo::rustc-env=A=b=c"),
            Some((
                Syntax::Double,
                Directive::RustcEnv {
                    name: "A",
                    value: "b=c"
                }
            ))
        );
    }

    #[test]
    fn other_lines_are_ignored_and_non_utf8_is_skipped() {
        assert_eq!(one("hello cargo:rustc-cfg=x"), None);
        let lines: Vec<_> = parse(b"\xffcargo:rustc-cfg=x\ncargo:rustc-cfg=y").collect();
        assert_eq!(lines[0].directive, None);
        assert_eq!(
            lines[1].directive,
            Some((Syntax::Single, Directive::RustcCfg("y")))
        );
    }
}

#[cfg(test)]
mod robustness {
    use std::collections::BTreeSet;

    use super::*;
    use crate::judge::RunContext;
    use wasm_build_contract::Policy;

    /// Pieces build-script output is made of, shuffled into lines: a cheap, deterministic
    /// version of the `directives` fuzz target that runs with every `cargo test`.
    const PIECES: &[&str] = &[
        "cargo:",
        "cargo::",
        "=",
        "==",
        "rustc-link-arg",
        "rustc-env",
        "rustc-link-search",
        "native=",
        "rerun-if-changed",
        "rerun-if-env-changed",
        "metadata",
        "warning",
        "/",
        "..",
        "\r",
        " ",
        "\t",
        "\u{feff}",
        "é",
        "\u{0}",
        "rustc-flags",
        "-l",
        "-L",
        "LD_PRELOAD",
        "x",
        "\n",
        "\u{10ffff}",
        "cargo:rustc-cfg=",
        "$HOME",
        "~",
    ];

    #[test]
    fn random_output_never_panics() {
        let ctx = RunContext {
            out_dir: "/tmp/robust/out".into(),
            manifest_dir: "/tmp/robust/pkg".into(),
            readable: vec!["/usr".into()],
            hidden_env: BTreeSet::from(["SECRET".to_string()]),
        };
        let policy = Policy::default();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut text = Vec::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.extend_from_slice(PIECES[(state % PIECES.len() as u64) as usize].as_bytes());
                if state.is_multiple_of(29) {
                    text.push(0xff);
                }
            }
            state = state.wrapping_add(1);
            for line in parse(&text) {
                if let Some((_, directive)) = &line.directive {
                    let _ = ctx.judge(&policy, directive);
                }
            }
        }
    }
}
