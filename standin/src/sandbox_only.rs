//! A script that failed in the sandbox, with nothing awaiting review, while it links
//! build-dependencies that compile code only the sandbox compiles (a wasm fallback that
//! answers "not implemented"): the failure may be the sandbox's doing, and running the
//! script natively is the way out. Said with the code found, as an offer: never granted
//! in passing (`approve --all` holds `run-natively` back).

use std::collections::BTreeSet;

use wasm_build_contract::Policy;
use wasm_build_contract::audit::RunError;
use wasm_build_contract::manifest::SandboxOnlyCode;
use wasm_build_diagnostics::run::RunFailure;
use wasm_build_permissions_schema::Capability;
use wasm_build_policy::verdict::{Grants, Verdict};

use crate::report::run_error;

/// How many places in the sources the error shows.
const SHOWN: usize = 3;

/// Shorter strings say too little to tie a failure to the code that printed them.
const TELLING_LENGTH: usize = 6;

/// The [`Code::W110`](wasm_build_contract::Code::W110) error for a failed run that links `code` and printed `stderr`,
/// unless there is no such code or the consumer denied `run-natively`. Places whose own
/// message is in the failure's stderr come first: they are most likely why.
pub(crate) fn failure(code: &[SandboxOnlyCode], stderr: &str, policy: &Policy) -> Option<RunError> {
    if code.is_empty() || matches!(policy.verdict(Capability::RunNatively), Verdict::Refused(_)) {
        return None;
    }
    let said = |at: &SandboxOnlyCode| {
        at.strings
            .iter()
            .find(|text| text.trim().len() >= TELLING_LENGTH && stderr.contains(text.trim()))
            .cloned()
    };
    let telling: Vec<(&SandboxOnlyCode, String)> = code
        .iter()
        .filter_map(|at| said(at).map(|text| (at, text)))
        .collect();
    let place = |at: &SandboxOnlyCode| {
        format!(
            "{}:{} `#[cfg({})]`",
            at.file.display(),
            at.line,
            at.predicate
        )
    };
    let packages: BTreeSet<&str> = code.iter().map(|at| at.package.as_str()).collect();
    let failure = match telling.first() {
        Some((at, text)) => {
            let place = place(at);
            run_error(RunFailure::SandboxOnlyPrinted {
                printed: text,
                package: &at.package,
                place: &place,
                other_places: code.len() - 1,
                packages: packages.len(),
            })
        }
        None => {
            let shown: Vec<String> = code.iter().take(SHOWN).map(place).collect();
            run_error(RunFailure::SandboxOnlyCode {
                packages: &packages.iter().copied().collect::<Vec<_>>().join(", "),
                places: &shown.join(", "),
                more: code.len().saturating_sub(SHOWN),
            })
        }
    };
    Some(failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_build_contract::Code;

    fn code(package: &str, line: usize, strings: &[&str]) -> SandboxOnlyCode {
        SandboxOnlyCode {
            package: package.into(),
            file: format!("/registry/{package}/src/lib.rs").into(),
            line,
            predicate: "target_arch = \"wasm32\"".into(),
            strings: strings.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    #[test]
    fn the_place_whose_message_is_in_the_failure_is_named_first() {
        let found = [
            code("zip v8.6.0", 115, &["unsupported"]),
            code("tar v0.4.46", 912, &["Not implemented"]),
            code("tar v0.4.46", 20, &[]),
        ];
        let stderr = "panicked: TarError { io: Custom { error: \"Not implemented\" } }";
        let error = failure(&found, stderr, &Policy::default()).unwrap();
        assert_eq!(error.code, Some(Code::W110));
        assert_eq!(
            error.message,
            "failed printing \"Not implemented\", which build-dependency tar v0.4.46 produces only in the sandbox, at /registry/tar v0.4.46/src/lib.rs:912 `#[cfg(target_arch = \"wasm32\")]` (and 2 other such places in 2 build-dependencies); if that is why, it runs as natively with `run-natively` (still confined)"
        );
    }

    #[test]
    fn without_a_telling_message_the_first_places_are_listed() {
        let found = [code("a v1.0.0", 10, &["x"]), code("a v1.0.0", 20, &[])];
        let error = failure(&found, "exit 1", &Policy::default()).unwrap();
        assert_eq!(
            error.message,
            "failed, and build-dependencies it links compile code here that the native build does not (a v1.0.0): /registry/a v1.0.0/src/lib.rs:10 `#[cfg(target_arch = \"wasm32\")]`, /registry/a v1.0.0/src/lib.rs:20 `#[cfg(target_arch = \"wasm32\")]`; if that is why, it runs as natively with `run-natively` (still confined)"
        );
        let many: Vec<SandboxOnlyCode> = (1..=5).map(|line| code("a", line, &[])).collect();
        assert!(
            failure(&many, "", &Policy::default())
                .unwrap()
                .message
                .contains(" and 2 more;")
        );
    }

    #[test]
    fn nothing_is_offered_without_such_code_or_against_a_deny() {
        assert_eq!(failure(&[], "", &Policy::default()), None);
        let mut denied = Policy::default();
        denied.denied.insert(Capability::RunNatively);
        assert_eq!(failure(&[code("tar v0.4.46", 10, &[])], "", &denied), None);
    }
}
