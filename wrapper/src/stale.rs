//! Build scripts that another version of the tool compiled.
//!
//! Cargo recompiles a build script when its sources, flags or rustc change, not when the
//! tool wrapping rustc does. After an upgrade, a target directory keeps scripts compiled
//! against the old std facade, which would run with the old facade's behaviour (and the
//! stand-in refuses them, see `StandIn::beside`). Removing the fingerprint of such a
//! script's compile unit makes cargo compile it again, through the tool, before it runs.

use std::fs;
use std::io;
use std::path::Path;

use anyhow::{Context as _, Result};
use wasm_build_contract::manifest::MANIFEST_NAME;

/// Where a target directory remembers the guest key it was last checked against.
const CHECKED: &str = ".wasm-build-guest-key";

/// Directories under a target directory that never hold build-script units.
const NOT_UNITS: &[&str] = &[
    "deps",
    "incremental",
    ".fingerprint",
    "examples",
    "modules",
    "doc",
    "package",
];

/// Makes cargo recompile every sandboxed build script under `target_dir` compiled by
/// another version of the tool. Returns how many; does nothing when the directory was
/// already checked by this version.
///
/// # Errors
///
/// Fails when a stale script's fingerprint cannot be removed (the build would then run
/// it and the stand-in would refuse it).
pub fn recompile_stale_guests(target_dir: &Path) -> Result<usize> {
    let key = wasm_build_shim::guest_key();
    let marker = target_dir.join(CHECKED);
    if fs::read_to_string(&marker).is_ok_and(|checked| checked == key) {
        return Ok(0);
    }
    if !target_dir.is_dir() {
        return Ok(0);
    }
    let stale = visit(target_dir, &key, 0)?;
    mark_checked(target_dir);
    Ok(stale)
}

/// Records that everything under `target_dir` was compiled by this version: after a
/// build, which compiled what was stale, or made the directory. Best effort: without the
/// mark the next build checks again.
pub fn mark_checked(target_dir: &Path) {
    if target_dir.is_dir() {
        let _ = fs::write(target_dir.join(CHECKED), wasm_build_shim::guest_key());
    }
}

fn visit(dir: &Path, key: &str, depth: usize) -> Result<usize> {
    const MAX_DEPTH: usize = 7;
    let mut stale = 0;
    for entry in read_dirs(dir)? {
        let name = entry.file_name();
        let path = entry.path();
        if name == "build" {
            stale += forget_stale_units(&path, key)?;
        } else if depth < MAX_DEPTH && !NOT_UNITS.iter().any(|skip| name == *skip) {
            stale += visit(&path, key, depth + 1)?;
        }
    }
    Ok(stale)
}

/// Removes the fingerprints of the stale compile units in a `build` directory.
fn forget_stale_units(build: &Path, key: &str) -> Result<usize> {
    let Some(profile) = build.parent() else {
        return Ok(0);
    };
    let mut stale = 0;
    for unit in read_dirs(build)? {
        if !compiled_by_another_version(&unit.path().join(MANIFEST_NAME), key) {
            continue;
        }
        let fingerprint = profile.join(".fingerprint").join(unit.file_name());
        match fs::remove_dir_all(&fingerprint) {
            Ok(()) => stale += 1,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err).with_context(|| {
                    format!(
                        "failed to remove {} (a build script compiled by another version of \
                         cargo-wasm-build); run `cargo clean`",
                        fingerprint.display()
                    )
                });
            }
        }
    }
    Ok(stale)
}

/// Whether the stand-in manifest at `path` is a wasm script compiled with another key.
/// Unreadable or foreign files count as not stale: the stand-in itself reports them.
fn compiled_by_another_version(path: &Path, key: &str) -> bool {
    let Ok(bytes) = fs::read(path) else {
        return false;
    };
    let Ok(manifest) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return false;
    };
    let is_wasm = manifest["script"]["kind"] == "wasm";
    is_wasm && manifest["guest_key"].as_str() != Some(key)
}

/// The subdirectories of `dir` (not following symlinks); none if it is unreadable.
fn read_dirs(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(_) => return Ok(Vec::new()),
    };
    Ok(entries
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(target: &Path, profile: &str, name: &str, manifest: &str) {
        let dir = target.join(profile).join("build").join(name);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(MANIFEST_NAME), manifest).unwrap();
        fs::create_dir_all(target.join(profile).join(".fingerprint").join(name)).unwrap();
    }

    #[test]
    fn only_wasm_scripts_of_another_version_lose_their_fingerprint() {
        let target = tempfile::tempdir().unwrap();
        let root = target.path();
        let current = format!(
            r#"{{"script":{{"kind":"wasm"}},"guest_key":"{}"}}"#,
            wasm_build_shim::guest_key()
        );
        unit(root, "debug", "fresh-1", &current);
        unit(
            root,
            "debug",
            "old-2",
            r#"{"script":{"kind":"wasm"},"guest_key":"0"}"#,
        );
        unit(root, "debug", "older-3", r#"{"script":{"kind":"wasm"}}"#);
        unit(root, "debug", "native-4", r#"{"script":{"kind":"native"}}"#);
        let nested = "debug/wasm-build/guest-cargo/target/debug";
        unit(
            root,
            nested,
            "nested-5",
            r#"{"script":{"kind":"wasm"},"guest_key":"0"}"#,
        );

        assert_eq!(recompile_stale_guests(root).unwrap(), 3);
        let kept =
            |profile: &str, name: &str| root.join(profile).join(".fingerprint").join(name).exists();
        assert!(kept("debug", "fresh-1"));
        assert!(!kept("debug", "old-2"));
        assert!(!kept("debug", "older-3"));
        assert!(kept("debug", "native-4"));
        assert!(!kept(nested, "nested-5"));

        // Checked once per version: a second run looks at nothing.
        unit(
            root,
            "debug",
            "old-6",
            r#"{"script":{"kind":"wasm"},"guest_key":"0"}"#,
        );
        assert_eq!(recompile_stale_guests(root).unwrap(), 0);
    }
}
