//! `std::fs`, with permissions that tell the truth about what the build script may write.

pub use std::fs::*;

use std::fmt;
use std::io;
use std::ops::Deref;
use std::path::Path;
use std::time::SystemTime;

use crate::host;

/// `std::fs::Metadata` whose `permissions().readonly()` is answered by the sandbox: WASI
/// has no permission bits, so std alone reports every file read-only.
#[derive(Clone)]
pub struct Metadata {
    inner: std::fs::Metadata,
    writable: Option<bool>,
}

impl Metadata {
    pub fn file_type(&self) -> FileType {
        self.inner.file_type()
    }
    pub fn is_dir(&self) -> bool {
        self.inner.is_dir()
    }
    pub fn is_file(&self) -> bool {
        self.inner.is_file()
    }
    pub fn is_symlink(&self) -> bool {
        self.inner.is_symlink()
    }
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.inner.len()
    }
    #[allow(clippy::permissions_set_readonly_false)]
    pub fn permissions(&self) -> Permissions {
        let mut permissions = self.inner.permissions();
        if let Some(writable) = self.writable {
            permissions.set_readonly(!writable);
        }
        permissions
    }
    pub fn modified(&self) -> io::Result<SystemTime> {
        self.inner.modified()
    }
    pub fn accessed(&self) -> io::Result<SystemTime> {
        self.inner.accessed()
    }
    pub fn created(&self) -> io::Result<SystemTime> {
        self.inner.created()
    }
}

impl Deref for Metadata {
    type Target = std::fs::Metadata;
    fn deref(&self) -> &std::fs::Metadata {
        &self.inner
    }
}

impl From<std::fs::Metadata> for Metadata {
    fn from(inner: std::fs::Metadata) -> Self {
        Metadata {
            inner,
            writable: None,
        }
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type())
            .field("permissions", &self.permissions())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn with_writable(path: &Path, inner: std::fs::Metadata) -> Metadata {
    let writable = std::path::absolute(path)
        .ok()
        .and_then(|absolute| absolute.to_str().map(host::writable));
    Metadata { inner, writable }
}

/// Copies a file as std does on Unix, permission bits included: WASI cannot set them, and
/// build scripts copy executable scripts (configure, helper `.sh` files) and run them.
/// The host does the copy, within what the sandbox lets the script read and write.
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let text = |path: &Path| -> io::Result<String> {
        std::path::absolute(path)?
            .to_str()
            .map(str::to_string)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path is not UTF-8"))
    };
    host::copy_file(&text(from.as_ref())?, &text(to.as_ref())?)
}

/// Sets permissions as far as they survive WASI: read-only or writable. The host applies
/// them within the directories the script may write.
pub fn set_permissions<P: AsRef<Path>>(path: P, permissions: Permissions) -> io::Result<()> {
    let path = std::path::absolute(path.as_ref())?;
    let path = path
        .to_str()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path is not UTF-8"))?;
    host::set_readonly(path, permissions.readonly())
}

pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    Ok(with_writable(path, std::fs::metadata(path)?))
}

pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    Ok(with_writable(path, std::fs::symlink_metadata(path)?))
}
