//! The SHA-256 of files in a profile's `deps/` that the library cache already hashed when
//! it stored or restored them, so that the keys of their dependents do not hash them
//! again: a dependent's key covers the contents of every crate it links (about 450 MB on
//! a 170-package graph, read again by each dependent).
//!
//! A digest is used only while the file is the one that was hashed: the same inode, size,
//! modification time and change time. Rewriting the file (rustc, a tool, a hand) changes
//! at least one of them, even when the modification time is put back, since nobody can set
//! the change time; anything else is hashed again.

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use wasm_build_cache::file_digest;

use crate::state::StateDir;

/// Remembered digests for the files of one `deps/` directory.
pub(crate) struct DigestMemo {
    dir: PathBuf,
}

impl DigestMemo {
    /// The memo of the profile whose `deps/` is `deps_dir`.
    pub(crate) fn for_deps_dir(deps_dir: &Path) -> Option<Self> {
        Some(DigestMemo {
            dir: StateDir::for_deps_dir(deps_dir)?.digests(),
        })
    }

    /// The SHA-256 of `path`: remembered when it is still the file that was hashed, else
    /// computed.
    pub(crate) fn digest(&self, path: &Path) -> Option<String> {
        let remembered = self
            .entry(path)
            .and_then(|entry| fs::read_to_string(entry).ok())
            .and_then(|text| {
                let (stamp, digest) = text.split_once(' ')?;
                (Some(stamp) == stamp_of(path).as_deref()).then(|| digest.trim().to_string())
            });
        remembered.or_else(|| file_digest(path).ok())
    }

    /// Remembers that `path`, as it is now, has the SHA-256 `digest`.
    pub(crate) fn remember(&self, path: &Path, digest: &str) {
        let (Some(entry), Some(stamp)) = (self.entry(path), stamp_of(path)) else {
            return;
        };
        let _ = fs::create_dir_all(&self.dir);
        let _ = crate::read_set::write_atomically(&entry, format!("{stamp} {digest}\n").as_bytes());
    }

    /// Where the digest of `path` is remembered: by its file name, which is unique in a
    /// `deps/` directory; files of other directories are not remembered.
    fn entry(&self, path: &Path) -> Option<PathBuf> {
        let deps = self.dir.parent()?.parent()?.join("deps");
        let name = path.file_name()?;
        (path.parent() == Some(deps.as_path())).then(|| self.dir.join(name))
    }
}

/// What identifies a file as it is now: inode, size, modification and change times.
fn stamp_of(path: &Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    Some(format!(
        "{}:{}:{}.{}:{}.{}",
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remembered_digest_holds_only_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let deps = dir.path().join("debug/deps");
        fs::create_dir_all(&deps).unwrap();
        let rmeta = deps.join("libx-1.rmeta");
        fs::write(&rmeta, b"one").unwrap();
        let memo = DigestMemo::for_deps_dir(&deps).unwrap();
        memo.remember(&rmeta, "remembered");
        assert_eq!(memo.digest(&rmeta).unwrap(), "remembered");

        // Rewritten in place with its time put back: the change time tells.
        let modified = fs::metadata(&rmeta).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&rmeta, b"two").unwrap();
        fs::File::options()
            .write(true)
            .open(&rmeta)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        assert_eq!(memo.digest(&rmeta), file_digest(&rmeta).ok());

        // Files elsewhere are hashed, never remembered.
        let elsewhere = dir.path().join("libproc.so");
        fs::write(&elsewhere, b"so").unwrap();
        memo.remember(&elsewhere, "remembered");
        assert_eq!(memo.digest(&elsewhere), file_digest(&elsewhere).ok());
    }
}
