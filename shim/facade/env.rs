//! `std::env`, with what wasm32-wasip1's std cannot do (it panics) done the Unix way, and
//! lookups of hidden variables reported to the host so the user can be told.

pub use std::env::*;

/// The host's, not wasi's: see `wasm_build_shim::facade_sources`.
#[path = "consts.rs"]
pub mod consts;

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

use crate::host;

/// Like std's: the variable, or why not. A variable the sandbox hides is reported to the
/// host (which tells the user if it is set outside) and is "not present" here.
pub fn var<K: AsRef<OsStr>>(key: K) -> Result<String, VarError> {
    match std::env::var(key.as_ref()) {
        Err(VarError::NotPresent) => {
            host::env_missing(key.as_ref());
            Err(VarError::NotPresent)
        }
        other => other,
    }
}

/// Like std's; see [`var`].
pub fn var_os<K: AsRef<OsStr>>(key: K) -> Option<OsString> {
    let value = std::env::var_os(key.as_ref());
    if value.is_none() {
        host::env_missing(key.as_ref());
    }
    value
}

/// A private temporary directory of this run (std panics here on wasm32-wasip1). It is
/// writable by the script and by the programs it starts, and removed after the run.
pub fn temp_dir() -> PathBuf {
    host::temp_dir()
}

/// The entries of a `PATH`-like list, split on `:` (std panics here on wasm32-wasip1).
pub fn split_paths<T: AsRef<OsStr> + ?Sized>(unparsed: &T) -> SplitPaths<'_> {
    SplitPaths {
        rest: Some(unparsed.as_ref().as_encoded_bytes()),
    }
}

/// Iterator over the entries of a `PATH`-like list.
#[derive(Clone)]
pub struct SplitPaths<'a> {
    rest: Option<&'a [u8]>,
}

impl Iterator for SplitPaths<'_> {
    type Item = PathBuf;
    fn next(&mut self) -> Option<PathBuf> {
        let rest = self.rest?;
        let (entry, tail) = match rest.iter().position(|byte| *byte == b':') {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        self.rest = tail;
        // SAFETY: the bytes are a sub-slice of an `OsStr`, split at an ASCII byte.
        let entry = unsafe { OsStr::from_encoded_bytes_unchecked(entry) };
        Some(PathBuf::from(entry))
    }
}

impl fmt::Debug for SplitPaths<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitPaths").finish_non_exhaustive()
    }
}

/// Joins paths with `:`, as on Unix (std returns an error on wasm32-wasip1).
pub fn join_paths<I, T>(paths: I) -> Result<OsString, JoinPathsError>
where
    I: IntoIterator<Item = T>,
    T: AsRef<OsStr>,
{
    let mut joined = OsString::new();
    for (index, path) in paths.into_iter().enumerate() {
        let path = path.as_ref();
        if path.as_encoded_bytes().contains(&b':') {
            return Err(JoinPathsError);
        }
        if index > 0 {
            joined.push(":");
        }
        joined.push(path);
    }
    Ok(joined)
}

/// A path given to [`join_paths`] contained the separator `:`.
#[derive(Debug)]
pub struct JoinPathsError;

impl fmt::Display for JoinPathsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("path segment contains separator `:`")
    }
}

impl std::error::Error for JoinPathsError {}
