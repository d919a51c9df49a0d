//! The file a spec runs, identified once (device and inode, the path resolved) so that the
//! helper can tell the file it opens to execute is still the one the host judged.

use std::io;
#[cfg(target_os = "linux")]
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[cfg(target_os = "linux")]
use crate::linux::fd;

/// The file a spec runs, identified so that the helper can tell it is still the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramFile {
    /// The path with every symlink resolved.
    pub path: PathBuf,
    /// The device of the file found there.
    pub device: u64,
    /// Its inode.
    pub inode: u64,
}

impl ProgramFile {
    /// Identifies the regular file `path` leads to (symlinks followed), with one
    /// resolution of the path: the file is opened, and its identity and resolved path are
    /// read from the open file.
    ///
    /// # Errors
    ///
    /// Fails when nothing is there, or it is not a regular file.
    pub fn identify(path: &Path) -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            let fd = fd::open(path, libc::O_PATH)?;
            let stat = fd::stat(&fd)?;
            fd::regular_file(&stat, path)?;
            Ok(ProgramFile {
                path: fd::path_of(&fd)?,
                device: stat.st_dev,
                inode: stat.st_ino,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            use std::os::unix::fs::MetadataExt;
            let path = path.canonicalize()?;
            let meta = std::fs::metadata(&path)?;
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a regular file", path.display()),
                ));
            }
            Ok(ProgramFile {
                path,
                device: meta.dev(),
                inode: meta.ino(),
            })
        }
    }

    /// Whether `other` is the same file (same device and inode), wherever it was found.
    pub fn same_file(&self, other: &ProgramFile) -> bool {
        self.device == other.device && self.inode == other.inode
    }
}

/// Opens the file `program` names and checks it is still that file.
#[cfg(target_os = "linux")]
pub(crate) fn open_identified(program: &ProgramFile) -> io::Result<OwnedFd> {
    let fd = fd::open_program(&program.path)?;
    let stat = fd::stat(&fd)?;
    fd::regular_file(&stat, &program.path)?;
    if stat.st_dev != program.device || stat.st_ino != program.inode {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is no longer the file that was approved (it was replaced in between)",
                program.path.display()
            ),
        ));
    }
    Ok(fd)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn identify_resolves_links_and_open_identified_refuses_a_swap() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let other = dir.path().join("other");
        std::fs::write(&real, "a").unwrap();
        std::fs::write(&other, "b").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let program = ProgramFile::identify(&link).unwrap();
        assert_eq!(program.path, real.canonicalize().unwrap());
        assert!(open_identified(&program).is_ok());
        std::fs::rename(&other, &real).unwrap();
        let err = open_identified(&program).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            ProgramFile::identify(dir.path()).is_err(),
            "a directory is no program"
        );
    }
}
