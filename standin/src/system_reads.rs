//! What the programs a run executed may read besides their arguments, fingerprinted for
//! the run cache: a restored run must be the run the script would make now, so a newer
//! header, `.pc` file or compiler installed since (`apt-get install libssl-dev`, a
//! `make install` into `/usr/local`) is a miss.
//!
//! A granted program in the jail may read the system directories (the jail's
//! `SYSTEM_READ_EXEC`: `/usr`, `/lib`, ...), its own installation and the
//! paths the script's build settings name (`PKG_CONFIG_PATH`). The fingerprint covers,
//! by **content** (files over 1 MiB by size and modification time), every file of the
//! trees a C toolchain and pkg-config read from there:
//! the system header directories, the compiler's own directories (`/usr/lib/gcc`), the
//! pkg-config directories and the paths the build settings name; and by **listing** (each
//! entry's name, kind, size and modification time) the library directories and the
//! directory of each program the run executed, where a library or a tool (`as`, `ld`)
//! is added, removed or replaced by an upgrade. What else a program could read there
//! (a file elsewhere in `/usr/share`, say) is outside the boundary: the RFC says so.
//!
//! Hashing the header trees on every lookup would cost more than most runs, so each
//! file's digest is remembered in the user's store beside its status (size, inode,
//! modification and change times, which no one can set back without root): a file whose
//! status is unchanged is not read again. The fingerprint itself is of contents, so two
//! machines with the same headers share entries.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use wasm_build_cache::{ArtifactCache, Key, Kind};

/// Trees read by content: headers, compiler internals, pkg-config data.
const CONTENT_TREES: &[&str] = &[
    "/usr/include",
    "/usr/local/include",
    "/usr/lib/gcc",
    "/usr/libexec/gcc",
    "/usr/lib/pkgconfig",
    "/usr/lib64/pkgconfig",
    "/usr/share/pkgconfig",
    "/usr/local/lib/pkgconfig",
    "/usr/local/share/pkgconfig",
];

/// Directories read by listing: libraries a program links.
const LISTED_DIRS: &[&str] = &["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib"];

/// Files larger than this are keyed by size and modification time instead of contents:
/// headers and `.pc` files are far smaller, and what is larger (the compiler's `cc1`,
/// static libraries) is replaced whole by an upgrade, which changes both. Reading them
/// would make the first lookup on a machine cost seconds.
const MAX_HASHED_FILE: u64 = 1 << 20;

/// More files than this in the trees read by content (paths named by build settings
/// included) and the run is not stored: fingerprinting them on every lookup would cost
/// more than the run.
const MAX_FILES: usize = 60_000;

/// The digest over what programs may read, or `None` when it cannot be had (a tree too
/// large, a file that cannot be read). `programs` are the files the run executed;
/// `setting_paths` the paths its build settings name.
pub(crate) fn fingerprint(
    store: &ArtifactCache,
    programs: &[PathBuf],
    setting_paths: &[PathBuf],
) -> Option<String> {
    let mut memo = Memo::load(store);
    let mut hasher = Sha256::new();
    let mut files = 0;
    let multiarch = multiarch_dirs();
    let content_roots = CONTENT_TREES
        .iter()
        .map(PathBuf::from)
        .chain(multiarch.iter().map(|dir| dir.join("pkgconfig")))
        .chain(setting_paths.iter().cloned());
    for root in content_roots {
        hasher.update(b"tree\0");
        hasher.update(root.as_os_str().as_encoded_bytes());
        content_tree(&root, &mut memo, &mut hasher, &mut files)?;
    }
    let mut listed: Vec<PathBuf> = LISTED_DIRS
        .iter()
        .map(PathBuf::from)
        .chain(multiarch)
        .chain(
            programs
                .iter()
                .filter_map(|p| p.parent().map(Path::to_path_buf)),
        )
        .collect();
    listed.sort();
    listed.dedup();
    for dir in listed {
        hasher.update(b"list\0");
        hasher.update(dir.as_os_str().as_encoded_bytes());
        listing(&dir, &mut hasher);
    }
    memo.save(store);
    Some(hex(&hasher.finalize()))
}

/// `/usr/lib/x86_64-linux-gnu` and its like (Debian's multiarch library directories).
fn multiarch_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["/usr/lib", "/usr/local/lib", "/lib"]
        .iter()
        .filter_map(|dir| fs::read_dir(dir).ok())
        .flatten()
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.contains("-linux-") && entry.file_type().is_ok_and(|kind| kind.is_dir())
        })
        .map(|entry| entry.path())
        .collect();
    dirs.sort();
    dirs
}

/// Each file under `root` by relative path and content digest, links by target; a root
/// that does not exist adds nothing.
fn content_tree(
    root: &Path,
    memo: &mut Memo,
    hasher: &mut Sha256,
    files: &mut usize,
) -> Option<()> {
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            // Absent, or not a directory: a named file is read by itself.
            if dir == root
                && let Ok(meta) = fs::metadata(root)
                && meta.is_file()
            {
                hasher.update(memo.digest(root, &meta)?.as_bytes());
            }
            continue;
        };
        let mut entries: Vec<fs::DirEntry> = entries.flatten().collect();
        entries.sort_by_key(fs::DirEntry::file_name);
        let mut subdirs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).ok()?;
            hasher.update(path.as_os_str().as_encoded_bytes());
            hasher.update([0]);
            if meta.file_type().is_symlink() {
                hasher.update(b"l");
                hasher.update(fs::read_link(&path).ok()?.as_os_str().as_encoded_bytes());
            } else if meta.is_dir() {
                hasher.update(b"d");
                subdirs.push(path);
            } else if meta.is_file() {
                *files += 1;
                if *files > MAX_FILES {
                    return None;
                }
                hasher.update(b"f");
                hasher.update(memo.digest(&path, &meta)?.as_bytes());
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    Some(())
}

/// Each entry of `dir` (not below) by name, kind, size and modification time.
fn listing(dir: &Path, hasher: &mut Sha256) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<fs::DirEntry> = entries.flatten().collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let Ok(meta) = entry.metadata() else { continue };
        hasher.update(entry.file_name().as_encoded_bytes());
        hasher.update([0, u8::from(meta.is_dir())]);
        hasher.update(meta.len().to_le_bytes());
        hasher.update(meta.mtime().to_le_bytes());
        hasher.update(meta.mtime_nsec().to_le_bytes());
    }
}

/// A file's status as far as it tells a change: what a write, a rename over it or a
/// `touch` changes. The change time cannot be set back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Status {
    size: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Status {
    fn of(meta: &fs::Metadata) -> Self {
        Status {
            size: meta.len(),
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// The digests of files read before, by path, with the status they had.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Memo {
    files: BTreeMap<PathBuf, (Status, String)>,
    #[serde(skip)]
    changed: bool,
}

impl Memo {
    fn key() -> Key {
        let mut key = Key::builder("system-reads-memo-v1");
        key.add(b"files");
        key.finish()
    }

    fn load(store: &ArtifactCache) -> Memo {
        store
            .fetch_bytes(Kind::Run, &Self::key())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Written back when it learned something; a lost race with another run only costs
    /// that run's digests being read again.
    fn save(&self, store: &ArtifactCache) {
        if self.changed
            && let Ok(bytes) = serde_json::to_vec(self)
        {
            let _ = store.store_bytes(Kind::Run, &Self::key(), &bytes);
        }
    }

    fn digest(&mut self, path: &Path, meta: &fs::Metadata) -> Option<String> {
        if meta.len() > MAX_HASHED_FILE {
            return Some(format!(
                "size {} modified {}.{:09}",
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec()
            ));
        }
        let status = Status::of(meta);
        if let Some((seen, digest)) = self.files.get(path)
            && *seen == status
        {
            return Some(digest.clone());
        }
        let digest = wasm_build_cache::file_digest(path).ok()?;
        // The status after reading: a file written while it was read is read again next
        // time, because its change time moved.
        let after = fs::symlink_metadata(path)
            .ok()
            .map(|meta| Status::of(&meta));
        if after.as_ref() == Some(&status) {
            self.files
                .insert(path.to_path_buf(), (status, digest.clone()));
            self.changed = true;
        }
        Some(digest)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file changed in a tree read by content changes the fingerprint, even with the
    /// same size and modification time; an unchanged tree gives the same one, from the
    /// memo.
    #[test]
    fn a_changed_file_in_a_setting_path_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactCache::open(&dir.path().join("store")).unwrap();
        let pc = dir.path().join("pc");
        fs::create_dir_all(&pc).unwrap();
        let file = pc.join("foo.pc");
        fs::write(&file, "Version: 1.0\n").unwrap();
        let settings = [pc.clone()];
        let first = fingerprint(&store, &[], &settings).unwrap();
        assert_eq!(fingerprint(&store, &[], &settings).unwrap(), first);
        let mtime = fs::metadata(&file).unwrap().modified().unwrap();
        fs::write(&file, "Version: 2.0\n").unwrap();
        fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_ne!(fingerprint(&store, &[], &settings).unwrap(), first);
    }

    /// A program's directory is listed: a tool added beside it changes the fingerprint.
    #[test]
    fn a_tool_added_beside_a_program_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactCache::open(&dir.path().join("store")).unwrap();
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        fs::write(bin.join("cc"), "cc").unwrap();
        let programs = [bin.join("cc")];
        let first = fingerprint(&store, &programs, &[]).unwrap();
        fs::write(bin.join("as"), "as").unwrap();
        assert_ne!(fingerprint(&store, &programs, &[]).unwrap(), first);
    }
}
