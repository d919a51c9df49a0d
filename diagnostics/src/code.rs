//! The stable codes of the diagnostics cargo wasm-build shows, one per kind of problem,
//! each documented in `docs/diagnostics.md` under its own heading.
//!
//! A code is rendered the way rustc renders its own, `error[W001]: ...` or
//! `warning[W301]: ...`; the `W` stands for wasm-build, not for "warning" (a code keeps
//! its number whether a situation makes it an error or a warning). The hundreds group the
//! kinds:
//!
//! | codes | kind |
//! | --- | --- |
//! | `W0xx` | the sandbox tables of `Cargo.toml` |
//! | `W1xx` | what awaits review, or was denied |
//! | `W2xx` | the confinement of native programs |
//! | `W3xx` | where a sandboxed build may differ from a native one |
//! | `W4xx` | the shared cache and the tool's own state |
//! | `W5xx` | a build script that failed in the sandbox |
//!
//! Codes are never renumbered nor reused: a kind that goes away keeps its number retired.
//! This crate is the lowest every process links, so the table diagnostics and the
//! stand-in, runtime and CLI share one definition (`wasm_build_permissions_schema::Code`
//! and `wasm_build_contract::Code` are this type, re-exported).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where the codes are explained, relative to the repository root.
pub const DOCS: &str = "docs/diagnostics.md";

macro_rules! codes {
    ($($code:ident => $summary:literal,)*) => {
        /// A stable diagnostic code; see the [module](self) for the groups.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        pub enum Code {
            $(
                #[doc = $summary]
                $code,
            )*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$code),*];

            /// The code as written: `W001`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => stringify!($code),)*
                }
            }

            /// What the code means, in one line (the first line of its section in the
            /// docs).
            pub const fn summary(self) -> &'static str {
                match self {
                    $(Code::$code => $summary,)*
                }
            }
        }
    };
}

codes! {
    W001 => "An unknown key in a sandbox table.",
    W002 => "A value in a sandbox table is of the wrong type or malformed.",
    W003 => "A sandbox table is of a schema version this cargo-wasm-build cannot read.",
    W004 => "A grant or denial does not name one exact package version.",
    W005 => "A grant that reaches secrets or home directories is written under its plain key instead of its `dangerous-` key.",
    W006 => "A grant or denial names no package of the dependency graph, so it takes effect nowhere.",
    W007 => "Consumer keys (`allow`, `deny`, `mode`, ...) in a sandbox table that is not read for them.",
    W010 => "A dependency's own sandbox table is invalid, so its requests are ignored.",
    W101 => "A build script attempted something that needs a permission nobody has reviewed.",
    W102 => "Permissions nobody has reviewed stop a gate: strict mode, or `permissions --check`.",
    W103 => "The workspace's policy denies what a build script attempted.",
    W104 => "A build script printed a directive that is never allowed.",
    W105 => "A build script cannot run in the wasm sandbox at all.",
    W106 => "Mode `trust-declared` grants what dependencies declare without review.",
    W107 => "A build script attempted something that no grant can name without granting more.",
    W109 => "A build script's `#[cfg]` attributes ask what the wasm sandbox cannot answer as the host would.",
    W110 => "A build script failed in the sandbox, and build-dependencies it links compile code there that the native build does not.",
    W111 => "A program's connection through the network proxy was refused: its grant does not reach that host or address.",
    W201 => "This machine cannot confine the native programs a build needs to run.",
    W202 => "Native programs run unconfined, as the user opted in to.",
    W301 => "A build script looked up environment variables that are set but hidden from it.",
    W302 => "A build script looked for paths that exist but are hidden from it.",
    W303 => "A program a build script ran may have been stopped by the sandbox.",
    W304 => "A rustc probe ran without variables its build script set for it.",
    W401 => "The shared build cache cannot be used.",
    W402 => "The size bound of the shared build cache is malformed.",
    W403 => "The shared build cache could not be trimmed to its bound.",
    W404 => "A build script's stand-in was made by another version of cargo-wasm-build.",
    W405 => "A build script's `run-natively` grant changed since it was compiled (granted by hand, or removed).",
    W406 => "`approve` or `deny` found nothing to decide on, and no build or only a failed one.",
    W407 => "An entry of the shared build cache was not used: a directory on its way, or the entry, could be changed by others.",
    W408 => "The sandbox's std facade lacks what a build script or its build-dependency uses: a bug of cargo-wasm-build.",
    W409 => "The toolchain cargo uses has no wasm32-wasip1 target, so build scripts cannot be compiled for the sandbox.",
    W410 => "A stored build-script run matched but was not used: a file of it is missing or does not match its digest.",
    W411 => "An entry of the shared (REAPI) cache was not used: unsigned, signed by a key not trusted, forged, or a blob of it does not match its digest.",
    W412 => "The shared (REAPI) cache is not used in this build: unreachable, too slow, refusing access, or misconfigured.",
    W413 => "A library only build scripts link, whose native compile was deferred, failed to compile natively when a native compile linked it.",
    W501 => "A build script failed in the sandbox: it exited with an error, panicked or crashed.",
    W502 => "A build script exceeded one of its limits.",
    W503 => "A build script left a link in `OUT_DIR` that leads outside it.",
}

impl Code {
    /// The anchor of the code's section in the docs: `w001`.
    pub fn anchor(self) -> String {
        self.as_str().to_ascii_lowercase()
    }

    /// Where the code is explained: `docs/diagnostics.md#w001`.
    pub fn docs(self) -> String {
        format!("{DOCS}#{}", self.anchor())
    }

    /// The heading of an error with this code: `error[W001]:`.
    pub fn error(self) -> String {
        format!("error[{self}]:")
    }

    /// The heading of a warning with this code: `warning[W301]:`.
    pub fn warning(self) -> String {
        format!("warning[{self}]:")
    }

    /// The heading of a message handed to a build script itself: `sandbox[W103]:`.
    pub fn sandbox(self) -> String {
        format!("sandbox[{self}]:")
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The codes documented in `docs/diagnostics.md`, each `### W001` heading with the
    /// line of text that follows it.
    fn documented() -> BTreeMap<String, String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/diagnostics.md");
        let text = std::fs::read_to_string(path).expect("docs/diagnostics.md");
        let mut found = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(code) = line.strip_prefix("### ") else {
                continue;
            };
            let summary = lines
                .by_ref()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .unwrap_or_default();
            assert!(
                found
                    .insert(code.trim().to_string(), summary.to_string())
                    .is_none(),
                "{code} is documented twice"
            );
        }
        found
    }

    #[test]
    fn every_code_is_documented_and_every_documented_code_exists() {
        let documented = documented();
        for code in Code::ALL {
            let Some(summary) = documented.get(code.as_str()) else {
                panic!("{code} has no `### {code}` section in {DOCS}");
            };
            assert_eq!(
                summary,
                &format!("**{}**", code.summary()),
                "the first line of the section of {code} in {DOCS} is its summary, in bold"
            );
        }
        for heading in documented.keys() {
            assert!(
                Code::ALL.iter().any(|code| code.as_str() == heading),
                "{DOCS} documents `{heading}`, which is no code (every `### ` heading is one)"
            );
        }
    }

    #[test]
    fn codes_are_ordered_unique_and_well_formed() {
        for pair in Code::ALL.windows(2) {
            assert!(pair[0] < pair[1] && pair[0].as_str() < pair[1].as_str());
        }
        for code in Code::ALL {
            let text = code.as_str();
            assert!(
                text.len() == 4
                    && text.starts_with('W')
                    && text[1..].chars().all(|c| c.is_ascii_digit()),
                "{text}"
            );
            assert_eq!(
                code.docs(),
                format!("docs/diagnostics.md#{}", code.anchor())
            );
        }
        assert_eq!(Code::W001.error(), "error[W001]:");
        assert_eq!(Code::W301.warning(), "warning[W301]:");
        assert_eq!(
            serde_json::to_string(&Code::W101).unwrap(),
            "\"W101\"",
            "serialized as written"
        );
    }
}
