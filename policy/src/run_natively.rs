//! Whether a build script runs natively instead of in the wasm sandbox: asked once by the
//! wrapper (compile it for the host or for wasm) and again by the stand-in (run what was
//! compiled, or refuse a binary whose grant is gone), so both must get the same answer.

use crate::verdict::{Grants, Verdict};
use wasm_build_contract::Policy;
use wasm_build_permissions_schema::Capability;

/// Whether the consumer granted `run-natively` to the script under `policy`. Only an
/// explicit grant counts: pending review, refused, or learned in a learning build, the
/// script runs in the sandbox.
pub fn runs_natively(policy: &Policy) -> bool {
    policy.verdict(Capability::RunNatively) == Verdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_grant_runs_natively() {
        assert!(!runs_natively(&Policy::default()));
        let learning = Policy {
            learning: true,
            ..Policy::default()
        };
        assert!(!runs_natively(&learning));
        let mut granted = Policy::default();
        granted.granted.insert(Capability::RunNatively);
        assert!(runs_natively(&granted));
        granted.denied.insert(Capability::RunNatively);
        assert!(!runs_natively(&granted), "a deny wins over a grant");
    }
}
