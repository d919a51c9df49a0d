//! A program a script asked for, as found on this machine: what the broker resolves a
//! request with, and what a run cache checks again before it reuses a run.

use std::path::PathBuf;

/// A program a script asked for, and what it found on this machine: what a run's result
/// depends on besides its inputs (a run cache keys on the file's contents).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProgramUse {
    /// The program as the script named it (a bare name is looked up on the host `PATH`).
    pub requested: String,
    /// The path it named here: as given (joined to the working directory), or what a
    /// bare name found on the host `PATH`; `None` when `PATH` had none.
    pub found: Option<PathBuf>,
    /// The file it resolved to (symlinks and rustup proxies followed), or `None` when
    /// there was none: the script was told so.
    pub file: Option<PathBuf>,
}

/// The first executable file named `name` in the directories of `path`.
pub fn find_on_path(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path?)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests run programs and read the environment as they need"
)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path() {
        let path = std::env::var_os("PATH");
        let sh = find_on_path("sh", path.as_deref()).expect("sh on PATH");
        assert!(sh.is_absolute());
        assert_eq!(find_on_path("no-such-program-here", path.as_deref()), None);
    }
}
