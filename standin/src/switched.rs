//! Build scripts compiled for the other side of a `run-natively` grant.
//!
//! Cargo compiles a build script again when its sources or flags change, not when the
//! consumer grants or revokes `run-natively`. `approve` removes the scripts it grants it
//! to, but a grant written by hand (or taken away) leaves a script compiled for the sandbox
//! where it must now run natively, or the reverse; its stand-in refuses to run it against
//! the grant (W405), and the user would need one more build. So before cargo runs, the CLI
//! compares the packages granted `run-natively` with those of the last build in the target
//! directory and, when they differ, removes each compiled script whose last run was on the
//! other side: cargo compiles it again, the right way, in this same build.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use wasm_build_policy::pending::{audit_logs, newest_runs_by};

use crate::remove::remove_with_hard_links;

/// Where a target directory remembers the packages granted `run-natively` in its last build.
const MARKER: &str = ".wasm-build-run-natively";

/// Makes cargo compile again every build script under `target_dir` whose last run was
/// native while its package is not in `natively` (the package directories granted
/// `run-natively` now), or the reverse. Returns how many it removed; reads nothing but
/// one small file when the grants are those of the last build.
pub fn recompile_switched_scripts(target_dir: &Path, natively: &BTreeSet<PathBuf>) -> usize {
    let marker = target_dir.join(MARKER);
    let listed = listing(natively);
    if fs::read_to_string(&marker).is_ok_and(|last| last == listed) || !target_dir.is_dir() {
        return 0;
    }
    // The newest run of each compiled script says what it was compiled for.
    let newest = newest_runs_by(&audit_logs(target_dir), |record| record.script.clone());
    let mut removed = 0;
    for (script, record) in &newest {
        let switched = record.native != natively.contains(&record.manifest_dir);
        // Gone already (a clean, `approve`): cargo compiles it anyway.
        if switched && script.exists() && remove_with_hard_links(script).is_ok() {
            removed += 1;
        }
    }
    // Best effort: without the mark the next build looks again.
    let _ = fs::write(&marker, listed);
    removed
}

/// One package directory per line, sorted; directories that are not UTF-8 by their lossy
/// form (a changed set still reads as changed).
fn listing(natively: &BTreeSet<PathBuf>) -> String {
    natively
        .iter()
        .map(|dir| format!("{}\n", dir.to_string_lossy()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_build_contract::audit::{self, RunRecord};
    use wasm_build_contract::cargo::CargoPackage;

    /// A compiled script `build/<name>/build-script-build` under `target`, whose runs the
    /// profile's audit log records with `natives` (oldest first).
    fn script_with_runs(target: &Path, name: &str, natives: &[bool]) -> PathBuf {
        let dir = target.join("debug/build").join(name);
        fs::create_dir_all(&dir).unwrap();
        let script = dir.join("build-script-build");
        fs::write(&script, "#!/bin/sh\n").unwrap();
        let log = target.join("debug/wasm-build/audit.jsonl");
        fs::create_dir_all(log.parent().unwrap()).unwrap();
        for (at, native) in natives.iter().enumerate() {
            let package = CargoPackage {
                name: name.into(),
                version: "1.0.0".into(),
                manifest_dir: PathBuf::from(format!("/src/{name}")),
            };
            let mut record = RunRecord::finished(&package, 0, Vec::new(), Vec::new());
            record.script = Some(script.clone());
            record.native = *native;
            record.finished_at = at as u64 + 1;
            audit::append(&log, &record);
        }
        script
    }

    #[test]
    fn only_scripts_last_run_on_the_other_side_are_removed_and_only_when_grants_changed() {
        let target = tempfile::tempdir().unwrap();
        // Ran natively once, then (its grant withdrawn before) in the sandbox: current.
        let back_in_wasm = script_with_runs(target.path(), "back", &[true, false]);
        let wasm = script_with_runs(target.path(), "wasm", &[false]);
        let native = script_with_runs(target.path(), "native", &[true]);
        let granted: BTreeSet<PathBuf> = [PathBuf::from("/src/native")].into();

        assert_eq!(recompile_switched_scripts(target.path(), &granted), 0);
        for script in [&back_in_wasm, &wasm, &native] {
            assert!(script.exists(), "{}", script.display());
        }
        // `wasm` granted by hand, `native` withdrawn.
        let switched: BTreeSet<PathBuf> = [PathBuf::from("/src/wasm")].into();
        assert_eq!(recompile_switched_scripts(target.path(), &switched), 2);
        assert!(back_in_wasm.exists());
        assert!(!wasm.exists() && !native.exists());

        // The same grants again: the marker says nothing changed.
        assert_eq!(recompile_switched_scripts(target.path(), &switched), 0);
    }
}
