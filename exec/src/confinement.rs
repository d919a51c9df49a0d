//! How a build confines the native programs its build scripts run: the jail, what the
//! build needs of it, and the user's one way out when this machine cannot provide it.

#![allow(
    clippy::disallowed_methods,
    reason = "which confinement the user asked for is the tool's own variable"
)]

use std::path::PathBuf;

use wasm_build_jail::{Code, Jail, Missing};
use wasm_build_permissions_schema::Capability;

use wasm_build_contract::PolicyFile;
use wasm_build_contract::vars::{LANDLOCK_ABI_ENV, UNCONFINED_ENV};

/// The jail, with this very executable as its helper, capped at the Landlock ABI the
/// user asked for ([`LANDLOCK_ABI_ENV`]).
pub fn jail() -> Jail {
    let helper = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
    let cap = std::env::var(LANDLOCK_ABI_ENV)
        .ok()
        .and_then(|cap| cap.parse().ok());
    Jail::new(helper).with_landlock_abi_cap(cap)
}

/// Whether the user opted in to running programs unconfined where the jail cannot be had.
pub fn dangerously_unconfined() -> bool {
    std::env::var_os(UNCONFINED_ENV).is_some_and(|value| !value.is_empty() && value != "0")
}

/// What the build's native programs will need of the jail: nothing without build
/// scripts; toolchain code (rustc probes) with any; anything, once a program or a native
/// script is granted.
pub fn needed(policies: &PolicyFile) -> Option<Code> {
    if policies.packages.is_empty() {
        return None;
    }
    // A learning build runs the programs scripts ask for as if granted.
    let granted = policies.packages.values().any(|policy| {
        policy.learning
            || policy.granted.iter().any(|capability| {
                matches!(capability, Capability::Exec(_) | Capability::RunNatively)
            })
    });
    Some(if granted {
        Code::Untrusted
    } else {
        Code::Toolchain
    })
}

/// The error for a build that cannot confine what it needs to: the layer, its likely
/// cause and fix, and the last resort.
pub fn refusal(missing: &Missing) -> String {
    format!(
        "{missing}\n  note: accepting that build scripts' programs then run with your full rights, \
         `{UNCONFINED_ENV}=1` runs them unconfined instead"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_build_contract::Policy;

    #[test]
    fn a_build_needs_what_its_grants_allow() {
        let mut file = PolicyFile::default();
        assert_eq!(needed(&file), None);
        file.packages.insert("/p".into(), Policy::default());
        assert_eq!(needed(&file), Some(Code::Toolchain));
        let mut granted = Policy::default();
        granted.granted.insert(Capability::Exec("cc".into()));
        file.packages.insert("/q".into(), granted);
        assert_eq!(needed(&file), Some(Code::Untrusted));
        let learning = Policy {
            learning: true,
            ..Policy::default()
        };
        let mut file = PolicyFile::default();
        file.packages.insert("/p".into(), learning);
        assert_eq!(needed(&file), Some(Code::Untrusted));
    }
}
