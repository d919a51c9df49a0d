//! The shared cache in a build without the REAPI client (the `remote-cache` feature):
//! nothing is fetched or stored, and a configured cache is said unusable once per build
//! (W412, with how to install a build that has the client), never quietly skipped.

use wasm_build_remote_cache::Config;

use super::Lookup;

/// Never a hit; says once that a configured cache is not used.
pub(super) fn fetch(lookup: &Lookup) -> Option<String> {
    say_unusable(lookup);
    None
}

/// Stores nothing; says once that a configured cache is not used.
pub(super) fn store(lookup: &Lookup) {
    say_unusable(lookup);
}

fn say_unusable(lookup: &Lookup) {
    // Without the client, a configured cache is always an error (`ConfigError::NoClient`).
    // The environment first: with no cache configured (the usual case), the build's log
    // is never read.
    let Err(err) = Config::from_env() else {
        return;
    };
    if !lookup.store.remote_unusable() {
        lookup
            .store
            .note_remote_unusable(&format!("the shared cache is not used: {err}"));
    }
}
