//! What the CLI says about the shared caches after a build: the local build cache unused
//! ([`Code::W401`]), its bound malformed ([`Code::W402`]) or not kept ([`Code::W403`]), its
//! entries not trusted ([`Code::W407`]), a stored run not used ([`Code::W410`]), and the
//! shared (REAPI) cache unused ([`Code::W412`]) or an entry of it refused
//! ([`Code::W411`]). Each renders as one line without its line break; the reasons come
//! from the cache's log, which stand-ins wrote, and are shown inert.

use crate::code::Code;
use crate::color::{Painter, Tone};
use crate::diag::Diag;
use crate::inert::Inert;

/// One cache warning: its code and what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheWarning<'a> {
    /// [`Code::W401`]: the shared build cache cannot be used.
    Unusable {
        /// Why.
        why: &'a str,
    },
    /// [`Code::W402`]: its size bound is malformed; the default is used.
    BadBound {
        /// Why.
        why: &'a str,
        /// The default bound, as a size.
        default: &'a str,
    },
    /// [`Code::W403`]: it could not be trimmed to its bound.
    NotTrimmed {
        /// Its directory.
        root: &'a str,
        /// Why.
        why: &'a str,
    },
    /// [`Code::W407`]: entries were compiled again because the cache was not trusted.
    NotTrusted {
        /// Why.
        why: &'a str,
    },
    /// [`Code::W410`]: a stored build-script run was not used.
    RunNotUsed {
        /// What and why.
        why: &'a str,
    },
    /// [`Code::W411`]: an entry of the shared (REAPI) cache was not used.
    RemoteEntryRefused {
        /// What and why.
        why: &'a str,
    },
    /// [`Code::W412`]: the shared (REAPI) cache is not used in this build.
    RemoteUnused {
        /// Why.
        why: &'a str,
    },
}

impl Diag for CacheWarning<'_> {
    fn code(&self) -> Option<Code> {
        Some(match self {
            CacheWarning::Unusable { .. } => Code::W401,
            CacheWarning::BadBound { .. } => Code::W402,
            CacheWarning::NotTrimmed { .. } => Code::W403,
            CacheWarning::NotTrusted { .. } => Code::W407,
            CacheWarning::RunNotUsed { .. } => Code::W410,
            CacheWarning::RemoteEntryRefused { .. } => Code::W411,
            CacheWarning::RemoteUnused { .. } => Code::W412,
        })
    }

    fn render(&self, painter: Painter) -> String {
        let code = self.code().unwrap_or(Code::W401);
        let heading = painter.paint(&code.warning(), Tone::Warning);
        let said = match self {
            CacheWarning::Unusable { why } => format!(
                "not using the shared build cache (builds in a fresh target directory compile \
                 everything again): {}",
                Inert(why)
            ),
            CacheWarning::BadBound { why, default } => format!("{}; using {default}", Inert(why)),
            CacheWarning::NotTrimmed { root, why } => format!(
                "failed to trim the shared build cache {}: {}",
                Inert(root),
                Inert(why)
            ),
            CacheWarning::NotTrusted { why } => format!(
                "the shared build cache was not trusted, and its entries there were compiled \
                 again instead: {}",
                Inert(why)
            ),
            CacheWarning::RunNotUsed { why }
            | CacheWarning::RemoteEntryRefused { why }
            | CacheWarning::RemoteUnused { why } => Inert(why).to_string(),
        };
        format!("{heading} {said}")
    }
}

/// What a stand-in logs for the CLI to say once per build (under [`CacheWarning`]): why a
/// stored or shared run was not used, or the shared cache not at all. Names a crate wrote
/// and the endpoint are inert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheProblem<'a> {
    /// [`Code::W410`]: a stored run matched but could not be restored whole.
    StoredRunNotUsed {
        /// The package.
        package: &'a str,
        /// Its version.
        version: &'a str,
        /// Why.
        why: &'a str,
    },
    /// [`Code::W411`]: an entry of the shared cache was refused.
    SharedEntryNotUsed {
        /// The shared cache.
        endpoint: &'a str,
        /// The package.
        package: &'a str,
        /// Its version.
        version: &'a str,
        /// Why.
        why: &'a str,
    },
    /// [`Code::W411`]: a run could not be written to the shared cache.
    SharedRunNotWritten {
        /// The shared cache.
        endpoint: &'a str,
        /// The package.
        package: &'a str,
        /// Its version.
        version: &'a str,
        /// Why.
        why: &'a str,
    },
    /// [`Code::W412`]: the shared cache's configuration cannot be read.
    SharedMisconfigured {
        /// Why.
        why: &'a str,
    },
    /// [`Code::W412`]: the shared cache cannot be reached or refuses access.
    SharedUnreachable {
        /// The shared cache.
        endpoint: &'a str,
        /// Why.
        why: &'a str,
    },
    /// [`Code::W412`]: no key is trusted, so nothing is read.
    NoTrustedKey {
        /// The shared cache.
        endpoint: &'a str,
        /// The variable that names trusted keys.
        variable: &'a str,
    },
}

impl CacheProblem<'_> {
    /// Its kind.
    pub fn code(&self) -> Code {
        match self {
            CacheProblem::StoredRunNotUsed { .. } => Code::W410,
            CacheProblem::SharedEntryNotUsed { .. } | CacheProblem::SharedRunNotWritten { .. } => {
                Code::W411
            }
            CacheProblem::SharedMisconfigured { .. }
            | CacheProblem::SharedUnreachable { .. }
            | CacheProblem::NoTrustedKey { .. } => Code::W412,
        }
    }

    /// The sentence the log keeps.
    pub fn sentence(&self) -> String {
        match *self {
            CacheProblem::StoredRunNotUsed {
                package,
                version,
                why,
            } => format!(
                "a stored run of the build script of `{} v{}` was not used: {why}; the script ran instead",
                Inert(package),
                Inert(version)
            ),
            CacheProblem::SharedEntryNotUsed {
                endpoint,
                package,
                version,
                why,
            } => format!(
                "an entry of the shared cache {} for the build script of `{} v{}` was not used: {why}; the script ran instead",
                Inert(endpoint),
                Inert(package),
                Inert(version)
            ),
            CacheProblem::SharedRunNotWritten {
                endpoint,
                package,
                version,
                why,
            } => format!(
                "the run of the build script of `{} v{}` was not written to the shared cache {}: {why}",
                Inert(package),
                Inert(version),
                Inert(endpoint)
            ),
            CacheProblem::SharedMisconfigured { why } => {
                format!("the shared cache is not used: {why}")
            }
            CacheProblem::SharedUnreachable { endpoint, why } => format!(
                "the shared cache {} is not used in this build: {why}; build scripts run locally",
                Inert(endpoint)
            ),
            CacheProblem::NoTrustedKey { endpoint, variable } => format!(
                "nothing is read from the shared cache {}: no key is trusted ({variable})",
                Inert(endpoint)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each warning is said under its code, painted yellow, with the logged reason inert
    /// (a stand-in wrote it, from a crate's names).
    #[test]
    fn each_is_said_under_its_code_with_the_reason_inert() {
        let why = "entry of `x\u{1b}[2K v1`";
        let all = [
            (
                CacheWarning::Unusable { why },
                "W401",
                "not using the shared build cache",
            ),
            (
                CacheWarning::BadBound {
                    why,
                    default: "10 GiB",
                },
                "W402",
                "",
            ),
            (
                CacheWarning::NotTrimmed { root: "/c", why },
                "W403",
                "failed to trim the shared build cache /c: ",
            ),
            (
                CacheWarning::NotTrusted { why },
                "W407",
                "the shared build cache was not trusted",
            ),
            (CacheWarning::RunNotUsed { why }, "W410", ""),
            (CacheWarning::RemoteEntryRefused { why }, "W411", ""),
            (CacheWarning::RemoteUnused { why }, "W412", ""),
        ];
        for (warning, code, start) in all {
            let text = warning.render(Painter::new(false));
            assert!(
                text.starts_with(&format!("warning[{code}]: {start}")),
                "{text}"
            );
            assert!(text.contains("entry of `x\\u{1b}[2K v1`"), "{text}");
            assert!(
                warning
                    .render(Painter::new(true))
                    .starts_with(&format!("\x1b[1;33mwarning[{code}]:\x1b[0m "))
            );
        }
        assert_eq!(
            CacheWarning::BadBound {
                why: "bad",
                default: "10 GiB"
            }
            .render(Painter::new(false)),
            "warning[W402]: bad; using 10 GiB"
        );
    }
    /// A logged problem keeps its sentence, with the crate's name inert, and the CLI says
    /// it under the problem's code.
    #[test]
    fn logged_problems_are_said_under_their_codes() {
        let problem = CacheProblem::StoredRunNotUsed {
            package: "x\u{1b}[2K",
            version: "1.0.0",
            why: "a file is missing",
        };
        assert_eq!(problem.code(), Code::W410);
        let sentence = problem.sentence();
        assert_eq!(
            sentence,
            "a stored run of the build script of `x\\u{1b}[2K v1.0.0` was not used: a file is missing; the script ran instead"
        );
        let said = CacheWarning::RunNotUsed { why: &sentence }.render(Painter::new(false));
        assert!(said.starts_with("warning[W410]: a stored run"), "{said}");
        let shared = CacheProblem::SharedUnreachable {
            endpoint: "grpc://cache",
            why: "refused",
        };
        assert_eq!(shared.code(), Code::W412);
        assert_eq!(
            shared.sentence(),
            "the shared cache grpc://cache is not used in this build: refused; build scripts run locally"
        );
        let written = CacheProblem::SharedRunNotWritten {
            endpoint: "e",
            package: "p",
            version: "1",
            why: "w",
        };
        assert_eq!(written.code(), Code::W411);
    }
}
