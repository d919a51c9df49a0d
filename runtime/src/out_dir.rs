//! Checks of what a build script left in `OUT_DIR`, made after it ran.
//!
//! The sandbox stops the script from reading outside its directories, but rustc runs
//! natively afterwards and follows whatever `OUT_DIR` contains: a symlink to `~/.ssh/id_rsa`
//! pulled in by `include_str!` would leak the key into the compiled crate. So no link may
//! lead out of `OUT_DIR`, and its size is bounded.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::policy::resolve;

/// Something in `OUT_DIR` that is not allowed to stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A symlink whose target resolves outside `OUT_DIR`.
    SymlinkOut {
        /// The link.
        link: PathBuf,
        /// What it points to, as stored in the link.
        target: PathBuf,
    },
    /// A file with more hard links than `OUT_DIR` holds: another name for it is outside.
    HardLinkOut {
        /// The file.
        file: PathBuf,
    },
    /// `OUT_DIR` holds more bytes than the limit.
    TooLarge {
        /// Bytes found.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::SymlinkOut { link, target } => write!(
                f,
                "left a symlink `{}` pointing outside OUT_DIR to `{}` (removed)",
                link.display(),
                target.display()
            ),
            Violation::HardLinkOut { file } => write!(
                f,
                "left `{}`, a hard link to a file outside OUT_DIR (removed)",
                file.display()
            ),
            Violation::TooLarge { bytes, limit } => write!(
                f,
                "wrote {bytes} bytes into OUT_DIR, more than the limit of {limit} bytes"
            ),
        }
    }
}

/// Scans `out_dir`, removes every link that leads out of it, and reports what it found.
///
/// # Errors
///
/// Fails when `out_dir` cannot be read.
pub fn check(out_dir: &Path, max_bytes: u64) -> Result<Vec<Violation>> {
    let root = resolve(out_dir);
    let mut violations = Vec::new();
    let mut bytes = 0u64;
    // inode -> (hard-link count, names seen inside OUT_DIR)
    let mut inodes: HashMap<(u64, u64), (u64, Vec<PathBuf>)> = HashMap::new();
    let mut pending = vec![out_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(&dir).with_context(|| format!("failed to read {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("failed to read {}", dir.display()))?;
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)
                .with_context(|| format!("failed to inspect {}", path.display()))?;
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap_or_default();
                let lands = resolve(&dir.join(&target));
                if !lands.starts_with(&root) {
                    remove(&path)?;
                    violations.push(Violation::SymlinkOut { link: path, target });
                }
            } else if meta.is_dir() {
                pending.push(path);
            } else {
                bytes = bytes.saturating_add(meta.len());
                if meta.nlink() > 1 {
                    let seen = inodes
                        .entry((meta.dev(), meta.ino()))
                        .or_insert((meta.nlink(), Vec::new()));
                    seen.1.push(path);
                }
            }
        }
    }
    for (nlink, names) in inodes.into_values() {
        if names.len() as u64 >= nlink {
            continue;
        }
        for file in names {
            remove(&file)?;
            violations.push(Violation::HardLinkOut { file });
        }
    }
    if bytes > max_bytes {
        violations.push(Violation::TooLarge {
            bytes,
            limit: max_bytes,
        });
    }
    Ok(violations)
}

fn remove(path: &Path) -> Result<()> {
    fs::remove_file(path).with_context(|| format!("failed to remove {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_inside_stay_links_outside_go() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir_all(out.join("sub")).unwrap();
        fs::write(dir.path().join("secret"), "key").unwrap();
        fs::write(out.join("a.rs"), "fn a() {}").unwrap();
        symlink("a.rs", out.join("inside")).unwrap();
        symlink("../a.rs", out.join("sub/inside-up")).unwrap();
        symlink(dir.path().join("secret"), out.join("absolute")).unwrap();
        symlink("../secret", out.join("relative")).unwrap();
        symlink("../../secret", out.join("sub/deeper")).unwrap();
        symlink("missing", out.join("dangling")).unwrap();
        fs::hard_link(dir.path().join("secret"), out.join("hard")).unwrap();
        fs::hard_link(out.join("a.rs"), out.join("sub/b.rs")).unwrap();

        let mut found: Vec<String> = check(&out, u64::MAX)
            .unwrap()
            .iter()
            .map(|violation| match violation {
                Violation::SymlinkOut { link, .. } => {
                    link.strip_prefix(&out).unwrap().display().to_string()
                }
                Violation::HardLinkOut { file } => {
                    file.strip_prefix(&out).unwrap().display().to_string()
                }
                Violation::TooLarge { .. } => "too large".into(),
            })
            .collect();
        found.sort();
        assert_eq!(found, ["absolute", "hard", "relative", "sub/deeper"]);
        assert!(
            out.join("dangling").symlink_metadata().is_ok(),
            "a dangling link inside is harmless"
        );
        assert!(out.join("inside").exists());
        assert!(out.join("sub/inside-up").exists());
        assert!(out.join("sub/b.rs").exists());
        assert!(!out.join("hard").exists());
        assert_eq!(
            fs::read_to_string(dir.path().join("secret")).unwrap(),
            "key"
        );
    }

    #[test]
    fn size_limit() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("big"), vec![0u8; 1000]).unwrap();
        assert_eq!(check(dir.path(), 1000).unwrap(), []);
        assert_eq!(
            check(dir.path(), 999).unwrap(),
            [Violation::TooLarge {
                bytes: 1000,
                limit: 999
            }]
        );
    }
}
