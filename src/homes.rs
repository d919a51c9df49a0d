//! The homes of this machine, read once at the CLI's edge and handed to the policy's pure
//! rules: a grant of a path inside one of them needs its dangerous key.

#![allow(
    clippy::disallowed_methods,
    reason = "the homes whose paths need a dangerous grant come from the user's environment"
)]

use std::path::PathBuf;

use wasm_build_contract::cargo::cargo_home;
use wasm_build_permissions_schema::hygiene::{HomeKind, PathRules};
use wasm_build_policy::Graph;
use wasm_build_policy::resolve::path_rules;

/// `$HOME`, `CARGO_HOME` and `RUSTUP_HOME` (each defaulting as cargo and rustup do), each
/// also as its real path when it goes through a link, so a grant written either way is
/// judged the same.
fn homes() -> Vec<(HomeKind, PathBuf)> {
    let home = std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from);
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|home| home.join(".rustup")));
    let named = [
        (HomeKind::User, home),
        (HomeKind::Cargo, cargo_home()),
        (HomeKind::Rustup, rustup_home),
    ];
    let mut homes = Vec::new();
    for (kind, path) in named {
        let Some(path) = path else { continue };
        if let Ok(real) = path.canonicalize()
            && real != path
        {
            homes.push((kind, real));
        }
        homes.push((kind, path));
    }
    homes
}

/// Which paths need their dangerous key in `graph`'s build, on this machine.
pub fn rules(graph: &Graph) -> PathRules {
    path_rules(graph, &homes())
}
