//! The verdict on one thing a build script tries: granted, refused, pending review,
//! forbidden whatever the grants, or learned in a learning build. Every other ruling
//! that depends on the consumer's grants goes through [`Grants::verdict`].

use std::path::Path;

use wasm_build_contract::Policy;
use wasm_build_permissions_schema::{Capability, EnvPattern};

/// The verdict on one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Within the defaults or granted.
    Allowed,
    /// Needs this capability, which the consumer has not reviewed: the build fails and the
    /// error says how to grant it.
    Pending(Capability),
    /// Needs this capability, which the consumer explicitly denied.
    Refused(Capability),
    /// Never allowed, whatever the grants; the string says why.
    Forbidden(&'static str),
    /// Harmless to leave out and unsafe to pass: the directive is dropped, the build goes
    /// on, and the audit log says why.
    Dropped(&'static str),
    /// Awaits review, but this is a learning build: the attempt goes ahead (jailed, as a
    /// granted one would) and is recorded as pending, for `approve` to offer.
    Learning(Capability),
}

impl Verdict {
    /// Whether the attempt goes ahead: allowed, or used to learn what the script needs.
    pub fn permits(&self) -> bool {
        matches!(self, Verdict::Allowed | Verdict::Learning(_))
    }
}

/// The grant verdict, as methods on the [`Policy`] the CLI resolved and hands to each
/// process: the data stays in the contract, the ruling lives here.
pub trait Grants {
    /// The verdict on needing `capability`: granted, refused or pending review.
    fn verdict(&self, capability: Capability) -> Verdict;

    /// The verdict on `capability` once nothing covers it: pending review, or in a
    /// [learning](Policy::learning) build, learned when it
    /// [can be](Capability::is_learnable).
    fn unreviewed(&self, capability: Capability) -> Verdict;
}

impl Grants for Policy {
    fn verdict(&self, capability: Capability) -> Verdict {
        if let Capability::Env(name) = &capability
            && EnvPattern::exactly(name).is_err()
        {
            // A grant of `LD_*` would be a pattern covering every `LD_` variable: asking
            // for it must not turn into asking for them all.
            return Verdict::Forbidden(
                "a variable whose name holds `*` or `=` (or no name) cannot be granted",
            );
        }
        if self.denied.iter().any(|denied| covers(denied, &capability)) {
            return Verdict::Refused(capability);
        }
        if self
            .granted
            .iter()
            .any(|granted| covers(granted, &capability))
        {
            return Verdict::Allowed;
        }
        self.unreviewed(capability)
    }

    fn unreviewed(&self, capability: Capability) -> Verdict {
        if self.learning && capability.is_learnable() {
            return Verdict::Learning(capability);
        }
        Verdict::Pending(capability)
    }
}

/// Whether a granted (or denied) capability covers a needed one. Environment grants may
/// end in `_*` to cover a prefix (never a secret-shaped name, unless the grant is
/// `dangerous-env`); path grants cover everything below them.
fn covers(held: &Capability, needed: &Capability) -> bool {
    use wasm_build_permissions_schema::hygiene::env_covers;
    match (held, needed) {
        (Capability::Env(pattern), Capability::Env(name)) => env_covers(pattern, name, false),
        (Capability::DangerousEnv(pattern), Capability::Env(name)) => {
            env_covers(pattern, name, true)
        }
        (Capability::Read(dir) | Capability::DangerousRead(dir), Capability::Read(path))
        | (Capability::Write(dir) | Capability::DangerousWrite(dir), Capability::Write(path))
        | (Capability::Write(dir) | Capability::DangerousWrite(dir), Capability::Read(path))
        | (Capability::LinkSearch(dir), Capability::LinkSearch(path))
        | (Capability::Read(dir) | Capability::DangerousRead(dir), Capability::LinkSearch(path)) => {
            Path::new(path).starts_with(Path::new(dir))
        }
        (held, needed) => held == needed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A learning build learns programs and directives, never what leaves the jail or a
    /// dangerous key, and never overrides a deny.
    #[test]
    fn a_learning_build_learns_only_what_stays_jailed() {
        let mut policy = Policy {
            learning: true,
            ..Policy::default()
        };
        let cc = Capability::Exec("cc".into());
        assert_eq!(policy.verdict(cc.clone()), Verdict::Learning(cc.clone()));
        assert_eq!(
            policy.verdict(Capability::RunBuilt),
            Verdict::Learning(Capability::RunBuilt)
        );
        for never in [
            Capability::Network("curl".into()),
            Capability::RunNatively,
            Capability::Env("EDITOR".into()),
            Capability::DangerousRead("/home".into()),
            Capability::DangerousRustcEnv("CARGO_PKG_NAME".into()),
        ] {
            assert_eq!(policy.verdict(never.clone()), Verdict::Pending(never));
        }
        policy.denied.insert(cc.clone());
        assert_eq!(policy.verdict(cc.clone()), Verdict::Refused(cc));
    }

    /// A variable whose name is pattern-shaped is never pending: a grant of it would be a
    /// pattern covering the whole family, more than was attempted.
    #[test]
    fn pattern_shaped_names_are_forbidden_not_pending() {
        let mut policy = Policy::default();
        assert!(matches!(
            policy.verdict(Capability::Env("LD_*".into())),
            Verdict::Forbidden(_)
        ));
        policy.granted.insert(Capability::Env("LD_*".into()));
        assert!(
            matches!(
                policy.verdict(Capability::Env("LD_*".into())),
                Verdict::Forbidden(_)
            ),
            "not even under a grant that covers it"
        );
        assert!(matches!(
            policy.verdict(Capability::Env(String::new())),
            Verdict::Forbidden(_)
        ));
        assert_eq!(
            policy.verdict(Capability::Env("LD_LIBRARY_PATH".into())),
            Verdict::Allowed
        );
    }
}
