//! What a compile turned out to read, from its dep-info: every file (by path and SHA-256)
//! and every variable read through `env!`/`option_env!` (by the digest of its value).
//!
//! This is the second level of the compile caches' keys, as ccache's "direct mode" keeps
//! it: the first level covers what is known before rustc runs, a read set what only the
//! compile shows. A lookup takes the first stored read set whose files and variables are
//! the same here.

#![allow(
    clippy::disallowed_methods,
    reason = "a read set compares the variables rustc read with this process's, which rustc inherits"
)]

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use wasm_build_cache::{Key, content_digest, file_digest};

/// The files and variables one compile read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReadSet {
    /// Each file rustc read, by path and SHA-256.
    pub files: Vec<(String, String)>,
    /// Each variable rustc read, by name and the SHA-256 of its value (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
}

impl ReadSet {
    /// What the dep-info of a compile says it read, with the files' digests now; `None`
    /// when a file is `refused` (not to be keyed by content) or cannot be read.
    pub(crate) fn from_dep_info(
        dep_info: &str,
        refused: impl Fn(&Path) -> bool,
    ) -> Option<ReadSet> {
        let mut files = BTreeMap::new();
        let mut env = BTreeMap::new();
        for line in dep_info.lines() {
            if let Some(var) = line.strip_prefix("# env-dep:") {
                let name = var.split_once('=').map_or(var, |(name, _)| name);
                env.insert(name.to_string(), env_digest(name));
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let Some((_, deps)) = crate::cfg_scan::split_rule(line) else {
                continue;
            };
            for dep in crate::cfg_scan::split_escaped(deps) {
                if refused(Path::new(&dep)) {
                    return None;
                }
                if let std::collections::btree_map::Entry::Vacant(entry) = files.entry(dep) {
                    let digest = file_digest(Path::new(entry.key())).ok()?;
                    entry.insert(digest);
                }
            }
        }
        Some(ReadSet {
            files: files.into_iter().collect(),
            env: env.into_iter().collect(),
        })
    }

    /// Whether every file and variable is the same here.
    pub(crate) fn matches_here(&self) -> bool {
        self.env
            .iter()
            .all(|(name, digest)| env_digest(name) == *digest)
            && self
                .files
                .iter()
                .all(|(path, digest)| file_digest(Path::new(path)).ok().as_ref() == Some(digest))
    }

    /// The key of the result stored for this read set under the first-level key `first`.
    pub(crate) fn key(&self, domain: &str, first: &Key) -> Option<Key> {
        let mut key = Key::builder(domain);
        key.add(first.as_str()).add(serde_json::to_vec(self).ok()?);
        Some(key.finish())
    }
}

/// The SHA-256 of a variable's value in this process, which rustc inherited; `None`
/// when it is unset. Values are keyed by digest, never written down: they may be secret.
fn env_digest(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| content_digest(value.as_encoded_bytes()))
}

/// Writes `bytes` to `dest` through a temporary file beside it, renamed: a reader (cargo,
/// rustc) never sees half a file.
pub(crate) fn write_atomically(dest: &Path, bytes: &[u8]) -> Option<()> {
    let dir = dest.parent()?;
    let mut temp = tempfile::Builder::new()
        .prefix(".wasm-build-cache")
        .tempfile_in(dir)
        .ok()?;
    std::io::Write::write_all(&mut temp, bytes).ok()?;
    temp.persist(dest).ok().map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// The variables rustc read (`# env-dep:` lines) are part of a read set: the value
    /// it had here then, by digest; a read set made with another value is a miss.
    #[test]
    fn a_variable_rustc_read_is_compared_by_value() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("build.rs");
        fs::write(&source, "fn main() {}").unwrap();
        let dep_info = format!(
            "/t/s.wasm: {}\n# env-dep:PATH=/bin\n# env-dep:WASM_BUILD_SURELY_UNSET_VAR\n",
            source.display()
        );
        let read = ReadSet::from_dep_info(&dep_info, |path| path.starts_with("/t")).unwrap();
        assert_eq!(
            read.env,
            [
                ("PATH".to_string(), env_digest("PATH")),
                ("WASM_BUILD_SURELY_UNSET_VAR".to_string(), None)
            ]
        );
        assert!(read.matches_here());
        let mut other = read.clone();
        other.env[0].1 = Some(content_digest(b"another value"));
        assert!(!other.matches_here());
        let mut set = read;
        set.env[1].1 = Some(content_digest(b""));
        assert!(!set.matches_here(), "set now, unset then");
    }

    /// A file that changed since is a miss; a refused file gives no read set at all.
    #[test]
    fn a_changed_file_is_a_miss_and_a_refused_one_no_read_set() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("lib.rs");
        fs::write(&source, "pub fn f() {}").unwrap();
        let dep_info = format!(
            "/t/lib.rlib: {}\n\n{}:\n",
            source.display(),
            source.display()
        );
        let read = ReadSet::from_dep_info(&dep_info, |_| false).unwrap();
        assert_eq!(read.files.len(), 1);
        assert!(read.matches_here());
        fs::write(&source, "pub fn g() {}").unwrap();
        assert!(!read.matches_here());
        assert!(ReadSet::from_dep_info(&dep_info, |path| path == source).is_none());
    }
}
