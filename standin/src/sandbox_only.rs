//! A script that failed in the sandbox, with nothing awaiting review, while it links
//! build-dependencies that compile code only the sandbox compiles (a wasm fallback that
//! answers "not implemented"): the failure may be the sandbox's doing, and running the
//! script natively is the way out. Said with the code found, as an offer: never granted
//! in passing (`approve --all` holds `run-natively` back).

use std::collections::BTreeMap;

use wasm_build_contract::Policy;
use wasm_build_contract::audit::RunError;
use wasm_build_contract::inert::Inert;
use wasm_build_contract::manifest::SandboxOnlyCode;
use wasm_build_contract::{Code, Verdict};
use wasm_build_permissions_schema::Capability;

/// How many places in the sources the error shows.
const SHOWN: usize = 3;

/// The [`Code::W110`] error for a failed run that links `code`, unless there is none or
/// the consumer denied `run-natively`.
pub(crate) fn failure(code: &[SandboxOnlyCode], policy: &Policy) -> Option<RunError> {
    if code.is_empty() || matches!(policy.verdict(Capability::RunNatively), Verdict::Refused(_)) {
        return None;
    }
    let mut by_package: BTreeMap<&str, Vec<&SandboxOnlyCode>> = BTreeMap::new();
    for at in code {
        by_package.entry(&at.package).or_default().push(at);
    }
    let places: Vec<String> = code
        .iter()
        .take(SHOWN)
        .map(|at| {
            format!(
                "{}:{} `#[cfg({})]`",
                at.file.display(),
                at.line,
                at.predicate
            )
        })
        .collect();
    let more = match code.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let packages: Vec<&str> = by_package.keys().copied().collect();
    Some(RunError::new(
        Code::W110,
        format!(
            "failed, and build-dependencies it links compile code here that the native build does not ({}): {}{more}; if that is why, it runs as natively with `run-natively` (still confined)",
            Inert(&packages.join(", ")),
            Inert(&places.join(", ")),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(package: &str, line: usize) -> SandboxOnlyCode {
        SandboxOnlyCode {
            package: package.into(),
            file: format!("/registry/{package}/src/lib.rs").into(),
            line,
            predicate: "target_arch = \"wasm32\"".into(),
        }
    }

    #[test]
    fn the_code_is_named_and_run_natively_offered() {
        let found = [code("tar v0.4.44", 10), code("tar v0.4.44", 20)];
        let error = failure(&found, &Policy::default()).unwrap();
        assert_eq!(error.code, Some(Code::W110));
        assert_eq!(
            error.message,
            "failed, and build-dependencies it links compile code here that the native build does not (tar v0.4.44): /registry/tar v0.4.44/src/lib.rs:10 `#[cfg(target_arch = \"wasm32\")]`, /registry/tar v0.4.44/src/lib.rs:20 `#[cfg(target_arch = \"wasm32\")]`; if that is why, it runs as natively with `run-natively` (still confined)"
        );
        let many: Vec<SandboxOnlyCode> = (1..=5).map(|line| code("a", line)).collect();
        assert!(
            failure(&many, &Policy::default())
                .unwrap()
                .message
                .contains(" and 2 more;")
        );
    }

    #[test]
    fn nothing_is_offered_without_such_code_or_against_a_deny() {
        assert_eq!(failure(&[], &Policy::default()), None);
        let mut denied = Policy::default();
        denied.denied.insert(Capability::RunNatively);
        assert_eq!(failure(&[code("tar v0.4.44", 10)], &denied), None);
    }
}
