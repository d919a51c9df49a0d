//! The `$TOOLCHAIN` a path grant may start with, made the directory of the toolchain one
//! run uses: the CLI resolves grants before it knows which toolchain each script runs
//! under, so the stand-in expands them.

use std::collections::BTreeSet;
use std::path::Path;

use wasm_build_contract::Policy;
use wasm_build_permissions_schema::Capability;

/// Replaces a leading `$TOOLCHAIN` in path grants with the toolchain's directory (or
/// drops those grants when there is none).
#[must_use]
pub fn with_toolchain(mut policy: Policy, toolchain: Option<&Path>) -> Policy {
    let expand = |set: BTreeSet<Capability>| -> BTreeSet<Capability> {
        set.into_iter()
            .filter_map(|capability| {
                let fix = |path: String| -> Option<String> {
                    match path.strip_prefix("$TOOLCHAIN") {
                        Some(rest) => Some(format!("{}{rest}", toolchain?.display())),
                        None => Some(path),
                    }
                };
                Some(match capability {
                    Capability::Read(path) => Capability::Read(fix(path)?),
                    Capability::Write(path) => Capability::Write(fix(path)?),
                    Capability::LinkSearch(path) => Capability::LinkSearch(fix(path)?),
                    Capability::DangerousRead(path) => Capability::DangerousRead(fix(path)?),
                    Capability::DangerousWrite(path) => Capability::DangerousWrite(fix(path)?),
                    other => other,
                })
            })
            .collect()
    };
    policy.granted = expand(policy.granted);
    policy.denied = expand(policy.denied);
    policy
}
