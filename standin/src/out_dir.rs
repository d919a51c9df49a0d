//! Checks of what a build script left in `OUT_DIR`, made after it ran.
//!
//! The sandbox stops the script from reading outside its directories, but rustc runs
//! natively afterwards and follows whatever `OUT_DIR` contains: a symlink to `~/.ssh/id_rsa`
//! pulled in by `include_str!` would leak the key into the compiled crate. So no link may
//! lead out of `OUT_DIR`, and its size is bounded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use cap_fs_ext::DirExt as _;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, MetadataExt as _};
use wasm_build_contract::audit::RunError;
use wasm_build_diagnostics::run::RunFailure;

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

impl Violation {
    /// Its error: a link leading out ([`Code::W503`](wasm_build_contract::Code::W503)), or the size limit
    /// ([`Code::W502`](wasm_build_contract::Code::W502)), as the diagnostics crate words it.
    pub(crate) fn error(&self) -> RunError {
        let (first, second) = match self {
            Violation::SymlinkOut { link, target } => {
                (link.display().to_string(), target.display().to_string())
            }
            Violation::HardLinkOut { file } => (file.display().to_string(), String::new()),
            Violation::TooLarge { .. } => (String::new(), String::new()),
        };
        let failure = match *self {
            Violation::SymlinkOut { .. } => RunFailure::SymlinkOut {
                link: &first,
                target: &second,
            },
            Violation::HardLinkOut { .. } => RunFailure::HardLinkOut { file: &first },
            Violation::TooLarge { bytes, limit } => RunFailure::OutDirTooLarge { bytes, limit },
        };
        RunError::new(failure.code(), failure.sentence())
    }
}

/// Scans `out_dir`, removes every link that leads out of it, and reports what it found.
///
/// Everything is done on the directory's handle: a link is judged by resolving it
/// beneath `OUT_DIR` the way the kernel will (cap-std refuses a resolution that leaves),
/// and removed by name in the directory that holds it. Nothing the script started runs
/// any more when this is called, so what is checked is what rustc will see.
///
/// # Errors
///
/// Fails when `out_dir` cannot be read.
pub fn check(out_dir: &Path, max_bytes: u64) -> Result<Vec<Violation>> {
    let root = Dir::open_ambient_dir(out_dir, ambient_authority())
        .with_context(|| format!("failed to open {}", out_dir.display()))?;
    let mut scan = Scan {
        out_dir,
        root: &root,
        violations: Vec::new(),
        bytes: 0,
        inodes: HashMap::new(),
    };
    scan.walk(&root, Path::new(""))?;
    let Scan {
        mut violations,
        bytes,
        inodes,
        ..
    } = scan;
    for (nlink, names) in inodes.into_values() {
        if names.len() as u64 >= nlink {
            continue;
        }
        for name in names {
            root.remove_file(&name)
                .with_context(|| format!("failed to remove {}", out_dir.join(&name).display()))?;
            violations.push(Violation::HardLinkOut {
                file: out_dir.join(name),
            });
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

/// A file in `OUT_DIR` (not behind a symlink) with an execute bit, if there is one: a
/// program the build made there, such as an unpacked `configure`. Looked for after a
/// native script failed, since nothing may run from `OUT_DIR` without `run-built`.
pub(crate) fn an_executable(out_dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    // Enough to find one in an unpacked source tree, bounded for a tree of millions.
    const LOOKED_AT: usize = 20_000;
    let mut pending = vec![out_dir.to_path_buf()];
    let mut looked = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            looked += 1;
            if looked > LOOKED_AT {
                return None;
            }
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Some(entry.path());
            }
        }
    }
    None
}

struct Scan<'a> {
    out_dir: &'a Path,
    root: &'a Dir,
    violations: Vec<Violation>,
    bytes: u64,
    /// inode -> (hard-link count, names seen inside OUT_DIR)
    inodes: HashMap<(u64, u64), (u64, Vec<PathBuf>)>,
}

impl Scan<'_> {
    fn walk(&mut self, dir: &Dir, at: &Path) -> Result<()> {
        let shown = self.out_dir.join(at);
        let entries = dir
            .entries()
            .with_context(|| format!("failed to read {}", shown.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("failed to read {}", shown.display()))?;
            let name = entry.file_name();
            let path = at.join(&name);
            let meta = entry.metadata().with_context(|| {
                format!("failed to inspect {}", self.out_dir.join(&path).display())
            })?;
            if meta.is_symlink() {
                if leads_out(self.root, &path) {
                    let target = dir.read_link_contents(&name).unwrap_or_default();
                    dir.remove_file(&name).with_context(|| {
                        format!("failed to remove {}", self.out_dir.join(&path).display())
                    })?;
                    self.violations.push(Violation::SymlinkOut {
                        link: self.out_dir.join(&path),
                        target,
                    });
                }
            } else if meta.is_dir() {
                let sub = dir.open_dir_nofollow(&name).with_context(|| {
                    format!("failed to open {}", self.out_dir.join(&path).display())
                })?;
                self.walk(&sub, &path)?;
            } else {
                self.bytes = self.bytes.saturating_add(meta.len());
                if meta.nlink() > 1 {
                    self.inodes
                        .entry((meta.dev(), meta.ino()))
                        .or_insert((meta.nlink(), Vec::new()))
                        .1
                        .push(path);
                }
            }
        }
        Ok(())
    }
}

/// Whether the link at `path` (relative to `root`) resolves outside `root`. A link that
/// resolves nowhere (a missing target, a loop) leads nowhere.
fn leads_out(root: &Dir, path: &Path) -> bool {
    match root.metadata(path) {
        Ok(_) => false,
        Err(err) => {
            let nowhere = matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) || err.raw_os_error() == Some(libc::ELOOP);
            !nowhere
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
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
    fn links_that_climb_through_other_links_or_end_in_a_slash_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir_all(out.join("d")).unwrap();
        fs::create_dir_all(dir.path().join("secret-dir")).unwrap();
        fs::write(dir.path().join("secret"), "key").unwrap();
        // `up` stays inside (it is OUT_DIR itself), but `up/..` is OUT_DIR's parent.
        symlink(".", out.join("up")).unwrap();
        symlink("up/../secret", out.join("climb")).unwrap();
        symlink("d/../up/../secret", out.join("climb2")).unwrap();
        symlink("../secret-dir/", out.join("slash")).unwrap();
        symlink(
            format!("{}/", dir.path().join("secret-dir").display()),
            out.join("abs-slash"),
        )
        .unwrap();
        symlink("up/d", out.join("fine")).unwrap();
        let mut found: Vec<String> = check(&out, u64::MAX)
            .unwrap()
            .iter()
            .filter_map(|violation| match violation {
                Violation::SymlinkOut { link, .. } => {
                    Some(link.strip_prefix(&out).unwrap().display().to_string())
                }
                _ => None,
            })
            .collect();
        found.sort();
        assert_eq!(found, ["abs-slash", "climb", "climb2", "slash"]);
        assert!(out.join("fine").exists() && out.join("up").exists());
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
