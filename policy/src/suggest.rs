//! The tool's suggestions: programs that come with the one a build script was denied.
//!
//! A script denied `cc` stops there, so the next build would only then reveal `ar`, and
//! "build, approve, build" would take as many rounds as the script has programs. The
//! companions below are what a build-dependency runs after the denied program, every
//! time. `approve` offers them, marked as the tool's suggestion, so one round converges;
//! the consumer still approves them.

use wasm_build_permissions_schema::{Capability, CapabilitySet};

/// A capability the tool suggests approving along with what was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// What to approve.
    pub capability: Capability,
    /// Why, for the reviewer.
    pub why: &'static str,
}

/// (build-dependency, programs that trigger the suggestion, companions, why)
const COMPANIONS: &[(&str, &[&str], &[&str], &str)] = &[
    (
        "cc",
        &["cc", "c++", "gcc", "g++", "clang", "clang++"],
        &["ar"],
        "cc-rs archives what it compiles with `ar`",
    ),
    (
        "pkg-config",
        &["pkg-config", "pkgconf"],
        &["pkg-config", "pkgconf"],
        "the pkg-config crate tries both names",
    ),
    (
        "cmake",
        &["cmake"],
        &["make", "cc", "c++", "ar"],
        "the cmake crate builds with make and the C toolchain",
    ),
];

/// Companions of the programs in `needed`, for a package with `build_dependencies`,
/// leaving out what `needed` already has and what `reviewed` says was decided.
pub fn companions(
    build_dependencies: &[String],
    needed: &CapabilitySet,
    reviewed: impl Fn(&Capability) -> bool,
) -> Vec<Suggestion> {
    let mut suggestions: Vec<Suggestion> = Vec::new();
    for (dependency, triggers, companions, why) in COMPANIONS {
        let uses = build_dependencies.iter().any(|dep| dep == dependency);
        let triggered = needed
            .exec
            .iter()
            .any(|program| triggers.contains(&program.as_str()));
        if !uses || !triggered {
            continue;
        }
        for companion in *companions {
            let capability = Capability::Exec((*companion).to_string());
            let known = needed.exec.iter().any(|program| program == companion)
                || reviewed(&capability)
                || suggestions.iter().any(|s| s.capability == capability);
            if !known {
                suggestions.push(Suggestion { capability, why });
            }
        }
    }
    suggestions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(programs: &[&str]) -> CapabilitySet {
        CapabilitySet {
            exec: programs.iter().map(|p| p.parse().unwrap()).collect(),
            ..CapabilitySet::default()
        }
    }

    #[test]
    fn cc_users_denied_cc_are_offered_ar() {
        let deps = vec!["cc".to_string(), "pkg-config".to_string()];
        let suggestions = companions(&deps, &exec(&["cc"]), |_| false);
        assert_eq!(suggestions.len(), 1);
        assert_eq!(suggestions[0].capability, Capability::Exec("ar".into()));
        assert!(companions(&deps, &exec(&["cc", "ar"]), |_| false).is_empty());
        assert!(
            companions(&deps, &exec(&["cc"]), |cap| *cap
                == Capability::Exec("ar".into()))
            .is_empty()
        );
    }

    #[test]
    fn nothing_without_the_build_dependency_or_the_trigger() {
        assert!(companions(&[], &exec(&["cc"]), |_| false).is_empty());
        assert!(companions(&["cc".to_string()], &exec(&["sh"]), |_| false).is_empty());
    }
}
