//! Grants in cargo's fingerprint of a build script's run.
//!
//! Cargo reruns a build script only when what the script named with `rerun-if-*` changed
//! (or, if it named nothing, when a file of its package did). A grant is neither, so a
//! script that ran with a grant stayed fresh after the grant was removed: the build
//! passed until a clean build failed. So every run names its package's grant digest
//! file (see [`PolicyFile::grant_digest_file`](wasm_build_contract::PolicyFile)), which
//! the CLI rewrites only when that package's policy changes.
//!
//! Naming one file narrows cargo's default: a script that printed no `rerun-if-*` would
//! no longer rerun when its package's files change. So for such a script the stand-in
//! also names what cargo's default watches, the package's files: its directory, which
//! cargo watches whole (a new file changes a directory's mtime too). When the target
//! directory is inside it (a workspace's root package), which every build changes, it
//! names the top-level entries instead, without the one holding the target directory,
//! `target` and `.git`, which cargo never watches either. A downloaded package
//! (registry, git checkout) never changes, and cargo's default never reruns its script,
//! so there the digest alone keeps that default.

use std::path::{Path, PathBuf};

use wasm_build_policy::directive::{self, Directive};

/// The `cargo:rerun-if-changed` lines to print after the script's own (`kept`, what
/// cargo gets from it): the grant digest, and for a script that named nothing, what
/// cargo's default would have watched. `downloads` are where cargo extracts downloaded
/// packages.
pub(crate) fn rerun_lines(
    digest: &Path,
    kept: &[u8],
    (manifest_dir, out_dir): (&Path, &Path),
    downloads: &[PathBuf],
) -> Vec<String> {
    let mut watched = vec![digest.to_path_buf()];
    let downloaded = downloads.iter().any(|dir| manifest_dir.starts_with(dir));
    if !names_reruns(kept) && !downloaded {
        watched.extend(package_entries(manifest_dir, out_dir));
    }
    watched
        .iter()
        .filter_map(|path| path.to_str())
        // A line break would end the directive early; such a path cannot be named.
        .filter(|path| !path.contains(['\n', '\r']))
        .map(|path| format!("cargo:rerun-if-changed={path}"))
        .collect()
}

/// Whether cargo gets a `rerun-if-*` line from the script, which replaces its default.
fn names_reruns(kept: &[u8]) -> bool {
    directive::parse(kept).any(|line| {
        matches!(
            line.directive,
            Some((
                _,
                Directive::RerunIfChanged(_) | Directive::RerunIfEnvChanged(_)
            ))
        )
    })
}

/// The package directory; when it holds `out_dir` (the target directory), its top-level
/// entries without `.git`, `target` and the entry that holds `out_dir`.
fn package_entries(manifest_dir: &Path, out_dir: &Path) -> Vec<PathBuf> {
    if !out_dir.starts_with(manifest_dir) {
        return vec![manifest_dir.to_path_buf()];
    }
    let Ok(entries) = std::fs::read_dir(manifest_dir) else {
        // Unreadable: the whole directory, which cargo then finds stale, not fresh.
        return vec![manifest_dir.to_path_buf()];
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| entry.file_name() != ".git" && entry.file_name() != "target")
        .map(|entry| entry.path())
        .filter(|path| !out_dir.starts_with(path))
        .collect();
    paths.sort();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("app");
        for sub in [
            "src",
            ".git",
            "target/debug",
            "build-out/debug/build/app-1/out",
        ] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        std::fs::write(root.join("Cargo.toml"), "").unwrap();
        std::fs::write(root.join("build.rs"), "").unwrap();
        let out_dir = root.join("build-out/debug/build/app-1/out");
        (dir, root, out_dir)
    }

    #[test]
    fn a_script_that_names_nothing_keeps_cargos_default_beside_the_digest() {
        let (_dir, root, out_dir) = package();
        let digest = Path::new("/t/wasm-build/grants/app-1.json");
        let lines = rerun_lines(digest, b"cargo:rustc-cfg=x\n", (&root, &out_dir), &[]);
        let expected: Vec<String> = [
            digest.to_path_buf(),
            root.join("Cargo.toml"),
            root.join("build.rs"),
            root.join("src"),
        ]
        .iter()
        .map(|path| format!("cargo:rerun-if-changed={}", path.display()))
        .collect();
        assert_eq!(lines, expected, "no target directory, no .git");
    }

    #[test]
    fn a_package_outside_the_target_directory_is_watched_whole() {
        let (dir, root, _) = package();
        let out_dir = dir.path().join("target/debug/build/app-1/out");
        let lines = rerun_lines(Path::new("/t/d.json"), b"", (&root, &out_dir), &[]);
        assert_eq!(
            lines,
            [
                "cargo:rerun-if-changed=/t/d.json".to_string(),
                format!("cargo:rerun-if-changed={}", root.display())
            ]
        );
    }

    #[test]
    fn a_script_that_names_its_reruns_gets_only_the_digest() {
        let (_dir, root, out_dir) = package();
        let digest = Path::new("/t/d.json");
        for kept in [
            &b"cargo:rerun-if-changed=build.rs\n"[..],
            b"cargo::rerun-if-env-changed=CC",
        ] {
            assert_eq!(
                rerun_lines(digest, kept, (&root, &out_dir), &[]),
                ["cargo:rerun-if-changed=/t/d.json"]
            );
        }
    }

    #[test]
    fn a_downloaded_package_gets_only_the_digest() {
        let (dir, root, out_dir) = package();
        let lines = rerun_lines(
            Path::new("/t/d.json"),
            b"",
            (&root, &out_dir),
            &[dir.path().to_path_buf()],
        );
        assert_eq!(lines, ["cargo:rerun-if-changed=/t/d.json"]);
    }
}
