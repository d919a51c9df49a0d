//! `std::fs`: std's own types and functions, with what WASI answers differently from Unix
//! done by the sandbox.
//!
//! Every type here is std's (a script's `fs::Metadata` is what `Path::metadata` returns,
//! as crates such as tar and fs_extra expect); only some functions are the sandbox's:
//! - `metadata` and `symlink_metadata` report the write permission the sandbox gives:
//!   WASI has no permission bits, so std alone says every file is read-only (autocfg then
//!   refuses `OUT_DIR`). std's methods (`Path::metadata`, `File::metadata`,
//!   `DirEntry::metadata`) still say read-only: they never pass through here;
//! - `copy` and `set_permissions` carry permission bits, which WASI cannot set;
//! - `canonicalize` (std's, and `Path::canonicalize`) works on absolute paths: see
//!   `realpath` below.

pub use std::fs::*;

use std::ffi::{c_char, c_int, c_void, CStr, OsStr};
use std::io;
use std::mem::size_of;
use std::path::{Component, Path, PathBuf};

use crate::host;

/// Copies a file as std does on Unix, permission bits included: WASI cannot set them, and
/// build scripts copy executable scripts (configure, helper `.sh` files) and run them.
/// The host does the copy, within what the sandbox lets the script read and write.
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    host::copy_file(&utf8(&std::path::absolute(from)?)?, &utf8(&std::path::absolute(to)?)?)
}

/// Sets permissions as far as they survive WASI: read-only or writable. The host applies
/// them within the directories the script may write.
pub fn set_permissions<P: AsRef<Path>>(path: P, permissions: Permissions) -> io::Result<()> {
    host::set_readonly(
        &utf8(&std::path::absolute(path)?)?,
        permissions.readonly(),
    )
}

/// std's, with the host's mode, owner and group (what `std::os::unix::fs::MetadataExt`
/// reads, and `permissions().readonly()` is made of), or, where the host cannot tell,
/// `readonly()` false where the sandbox lets the script write.
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    Ok(with_host_mode(path, true, std::fs::metadata(path)?))
}

/// std's, with the host's mode as in [`metadata`] (of the link itself).
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    Ok(with_host_mode(path, false, std::fs::symlink_metadata(path)?))
}

fn with_host_mode(path: &Path, follow: bool, metadata: Metadata) -> Metadata {
    let host = std::path::absolute(path)
        .ok()
        .and_then(|absolute| absolute.to_str().map(str::to_string))
        .and_then(|absolute| host::unix_stat(&absolute, follow).ok());
    match host.and_then(|[mode, uid, gid]| mode_bits::with_unix(&metadata, mode, uid, gid)) {
        Some(patched) => patched,
        None => with_write_permission(path, metadata),
    }
}

/// The fields of wasi-libc's `struct stat` that `std::os::unix::fs::MetadataExt` reads,
/// when std's `Metadata` has the layout [`mode_bits`] checks.
pub(crate) fn unix_fields(metadata: &Metadata) -> Option<mode_bits::UnixFields> {
    mode_bits::fields(metadata)
}

fn utf8(path: &Path) -> io::Result<String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path is not UTF-8"))
}

fn with_write_permission(path: &Path, metadata: Metadata) -> Metadata {
    let writable = std::path::absolute(path)
        .ok()
        .and_then(|absolute| absolute.to_str().map(host::writable))
        .unwrap_or(false);
    if writable {
        mode_bits::add_write(metadata)
    } else {
        metadata
    }
}

/// Write permission in std's own `Metadata`, which has no constructor.
///
/// On wasm32-wasip1 std's `Metadata` is wasi-libc's `struct stat` and nothing else, and
/// wasi-libc fills `st_mode` with the file type alone. The mode is found where that
/// layout puts it and checked against what std itself reports (file type, size) before
/// anything is written; the result is checked again through std's own accessors. Any
/// mismatch (another layout in another toolchain) leaves std's answer untouched: a
/// read-only answer, never a wrong one.
pub(crate) mod mode_bits {
    use super::*;

    /// `st_mode` and `st_size` in wasi-libc's `struct stat`.
    const MODE_OFFSET: usize = 24;
    const SIZE_OFFSET: usize = 48;
    const S_IFMT: u32 = 0o170_000;
    const S_IFDIR: u32 = 0o040_000;
    const S_IFREG: u32 = 0o100_000;
    const S_IFLNK: u32 = 0o120_000;
    /// What `Permissions::set_readonly(false)` adds on Unix.
    const WRITE_BITS: u32 = 0o222;

    /// `st_uid`, `st_gid`, `st_rdev`, `st_blksize`, `st_blocks` in wasi-libc's
    /// `struct stat` (wasm32: `dev_t`, `ino_t`, `nlink_t` 8 bytes, `mode_t`, `uid_t`,
    /// `gid_t` 4, padding, `dev_t`, `off_t` 8, `blksize_t` 4, padding, `blkcnt_t` 8).
    const UID_OFFSET: usize = 28;
    const GID_OFFSET: usize = 32;
    const DEV_OFFSET: usize = 0;
    const INO_OFFSET: usize = 8;
    const NLINK_OFFSET: usize = 16;
    const RDEV_OFFSET: usize = 40;
    const BLKSIZE_OFFSET: usize = 56;
    const BLOCKS_OFFSET: usize = 64;
    /// `st_atim`, `st_mtim`, `st_ctim`: each an `i64` of seconds and a 4-byte `long` of
    /// nanoseconds, padded to 16 bytes.
    const ATIM_OFFSET: usize = 72;
    const MTIM_OFFSET: usize = 88;
    const CTIM_OFFSET: usize = 104;

    /// What `MetadataExt` reports beside what std's accessors give.
    pub(crate) struct UnixFields {
        pub(crate) dev: u64,
        pub(crate) ino: u64,
        pub(crate) nlink: u64,
        pub(crate) mode: u32,
        pub(crate) uid: u32,
        pub(crate) gid: u32,
        pub(crate) rdev: u64,
        pub(crate) blksize: u64,
        pub(crate) blocks: u64,
        pub(crate) atime: (i64, i64),
        pub(crate) mtime: (i64, i64),
        pub(crate) ctime: (i64, i64),
    }

    /// `metadata` with the host's mode, owner and group written where wasi-libc keeps
    /// them; `None` when the layout is not the expected one or the host's file type
    /// differs from std's (then nothing is written).
    pub(super) fn with_unix(metadata: &Metadata, mode: u32, uid: u32, gid: u32) -> Option<Metadata> {
        if !layout_matches(metadata) {
            return None;
        }
        let old = fields(metadata)?;
        // wasi-libc fills no owner; the host's file must be the same kind of file.
        if old.uid != 0 || old.gid != 0 || mode & S_IFMT != old.mode & S_IFMT {
            return None;
        }
        let mut patched = metadata.clone();
        let target = (&mut patched as *mut Metadata).cast::<u8>();
        // SAFETY: `fields` found wasi-libc's layout, so these u32 lie inside the value;
        // written on our own copy, checked through std's accessors below.
        unsafe {
            target.add(MODE_OFFSET).cast::<u32>().write_unaligned(mode);
            target.add(UID_OFFSET).cast::<u32>().write_unaligned(uid);
            target.add(GID_OFFSET).cast::<u32>().write_unaligned(gid);
        }
        let consistent = patched.len() == metadata.len()
            && patched.file_type() == metadata.file_type()
            && patched.permissions().readonly() == (mode & WRITE_BITS == 0);
        consistent.then_some(patched)
    }

    /// The `struct stat` fields of `metadata`, when its layout is the expected one.
    pub(super) fn fields(metadata: &Metadata) -> Option<UnixFields> {
        if CTIM_OFFSET + 16 > size_of::<Metadata>() {
            return None;
        }
        let base = (metadata as *const Metadata).cast::<u8>();
        // SAFETY: inside the value (checked above), plain integers.
        let read_u64 = |offset: usize| unsafe { base.add(offset).cast::<u64>().read_unaligned() };
        // SAFETY: likewise.
        let read_u32 = |offset: usize| unsafe { base.add(offset).cast::<u32>().read_unaligned() };
        let time = |offset: usize| (read_u64(offset) as i64, i64::from(read_u32(offset + 8) as i32));
        let fields = UnixFields {
            dev: read_u64(DEV_OFFSET),
            ino: read_u64(INO_OFFSET),
            nlink: read_u64(NLINK_OFFSET),
            mode: read_u32(MODE_OFFSET),
            uid: read_u32(UID_OFFSET),
            gid: read_u32(GID_OFFSET),
            rdev: read_u64(RDEV_OFFSET),
            blksize: u64::from(read_u32(BLKSIZE_OFFSET)),
            blocks: read_u64(BLOCKS_OFFSET),
            atime: time(ATIM_OFFSET),
            mtime: time(MTIM_OFFSET),
            ctime: time(CTIM_OFFSET),
        };
        let modified = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|since| (since.as_secs() as i64, i64::from(since.subsec_nanos())));
        let kind_matches = match fields.mode & S_IFMT {
            S_IFDIR => metadata.is_dir(),
            S_IFREG => metadata.is_file(),
            S_IFLNK => metadata.is_symlink(),
            _ => !metadata.is_dir() && !metadata.is_file() && !metadata.is_symlink(),
        };
        let size = read_u64(SIZE_OFFSET);
        let times_match = modified.is_none_or(|modified| modified == fields.mtime);
        (kind_matches && size == metadata.len() && times_match).then_some(fields)
    }

    pub(super) fn add_write(metadata: Metadata) -> Metadata {
        if !metadata.permissions().readonly() || !layout_matches(&metadata) {
            return metadata;
        }
        let mut patched = metadata.clone();
        let base = (&mut patched as *mut Metadata).cast::<u8>();
        // SAFETY: `layout_matches` found std's `st_mode` (a u32 inside the value) at this
        // offset; every bit pattern is a valid u32.
        unsafe {
            let mode = base.add(MODE_OFFSET).cast::<u32>();
            mode.write_unaligned(mode.read_unaligned() | WRITE_BITS);
        }
        let consistent = !patched.permissions().readonly()
            && patched.len() == metadata.len()
            && patched.file_type() == metadata.file_type();
        if consistent {
            patched
        } else {
            metadata
        }
    }

    fn layout_matches(metadata: &Metadata) -> bool {
        if size_of::<Metadata>() < SIZE_OFFSET + size_of::<u64>() {
            return false;
        }
        let base = (metadata as *const Metadata).cast::<u8>();
        // SAFETY: both reads are inside the value (checked above) and of plain integers.
        let (mode, size) = unsafe {
            (
                base.add(MODE_OFFSET).cast::<u32>().read_unaligned(),
                base.add(SIZE_OFFSET).cast::<u64>().read_unaligned(),
            )
        };
        let kind = if metadata.is_dir() {
            S_IFDIR
        } else if metadata.is_file() {
            S_IFREG
        } else if metadata.is_symlink() {
            S_IFLNK
        } else {
            return false;
        };
        mode & S_IFMT == kind && mode & !S_IFMT == 0 && size == metadata.len()
    }
}

extern "C" {
    fn __errno_location() -> *mut c_int;
    fn malloc(size: usize) -> *mut c_void;
}

/// `realpath(3)` for wasi-libc, in place of its own, so that std's `fs::canonicalize` and
/// `Path::canonicalize` work on absolute paths.
///
/// wasi-libc's walks every prefix of the path with `readlink`, and the prefixes above the
/// directories the sandbox opens (`/`, `/home`) are not visible to WASI: every absolute
/// path failed with `ENOENT`, while a relative one, walked from the working directory,
/// worked. This one resolves symlinks the same way and takes a prefix it cannot see as
/// the directory it must be, when something visible lies below it; a path that ends
/// somewhere hidden is still `ENOENT`.
///
/// The linker takes this definition because the facade comes before wasi-libc, whose
/// `realpath` is alone in its object file.
///
/// # Safety
///
/// As C's: `path` is a NUL-terminated string; `resolved` is null or holds `PATH_MAX`
/// bytes.
#[no_mangle]
unsafe extern "C" fn realpath(path: *const c_char, resolved: *mut c_char) -> *mut c_char {
    const PATH_MAX: usize = 4096;
    const EINVAL: c_int = 28;
    const EIO: c_int = 29;
    const ENAMETOOLONG: c_int = 37;
    const ENOMEM: c_int = 48;
    let fail = |errno: c_int| {
        // SAFETY: wasi-libc's errno location is valid for the program's lifetime.
        unsafe { *__errno_location() = errno };
        std::ptr::null_mut()
    };
    if path.is_null() {
        return fail(EINVAL);
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    // SAFETY: on WASI an `OsStr` is any bytes.
    let path = Path::new(unsafe { OsStr::from_encoded_bytes_unchecked(bytes) });
    let canonical = match canonical_path(path) {
        Ok(canonical) => canonical,
        Err(error) => return fail(error.raw_os_error().unwrap_or(EIO)),
    };
    let canonical = canonical.as_os_str().as_encoded_bytes();
    let len = canonical.len();
    let buffer = if resolved.is_null() {
        // SAFETY: plain allocation; the caller frees it with `free`, as C's realpath.
        let buffer = unsafe { malloc(len + 1) }.cast::<c_char>();
        if buffer.is_null() {
            return fail(ENOMEM);
        }
        buffer
    } else if len >= PATH_MAX {
        return fail(ENAMETOOLONG);
    } else {
        resolved
    };
    // SAFETY: `buffer` holds at least `len + 1` bytes (allocated so, or PATH_MAX).
    unsafe {
        std::ptr::copy_nonoverlapping(canonical.as_ptr().cast::<c_char>(), buffer, len);
        *buffer.add(len) = 0;
    }
    buffer
}

/// One step of resolving a path.
enum Step {
    Root,
    Parent,
    Name(std::ffi::OsString),
}

fn steps(path: &Path) -> Vec<Step> {
    path.components()
        .filter_map(|component| match component {
            Component::RootDir | Component::Prefix(_) => Some(Step::Root),
            Component::CurDir => None,
            Component::ParentDir => Some(Step::Parent),
            Component::Normal(name) => Some(Step::Name(name.to_os_string())),
        })
        .collect()
}

/// The absolute path `path` names, symlinks resolved, as `realpath` defines it.
fn canonical_path(path: &Path) -> io::Result<PathBuf> {
    const ELOOP: i32 = 32;
    const ENOTDIR: i32 = 54;
    const ENOENT: i32 = 44;
    const MAX_LINKS: usize = 40;
    if path.as_os_str().is_empty() {
        return Err(io::Error::from_raw_os_error(ENOENT));
    }
    let mut todo = std::collections::VecDeque::new();
    if path.is_relative() {
        todo.extend(steps(&std::env::current_dir()?));
    }
    todo.extend(steps(path));
    let mut resolved = PathBuf::from("/");
    // Prefixes WASI cannot see, taken as directories (see `realpath`).
    let mut hidden: Vec<PathBuf> = Vec::new();
    let mut links = 0;
    while let Some(step) = todo.pop_front() {
        let name = match step {
            Step::Root => {
                resolved = PathBuf::from("/");
                continue;
            }
            Step::Parent => {
                resolved.pop();
                continue;
            }
            Step::Name(name) => name,
        };
        let candidate = resolved.join(&name);
        if is_above_sandbox(&candidate) {
            // Looked up, it would only be reported as hidden (W302).
            hidden.push(candidate.clone());
            resolved = candidate;
            continue;
        }
        match std::fs::symlink_metadata(&candidate) {
            Ok(found) if found.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(ELOOP));
                }
                let target = std::fs::read_link(&candidate)?;
                for step in steps(&target).into_iter().rev() {
                    todo.push_front(step);
                }
            }
            Ok(found) => {
                if !found.is_dir() && !todo.is_empty() {
                    return Err(io::Error::from_raw_os_error(ENOTDIR));
                }
                resolved = candidate;
            }
            Err(error) if is_hidden(&error) => {
                hidden.push(candidate.clone());
                resolved = candidate;
            }
            Err(error) => return Err(error),
        }
    }
    if !hidden.is_empty() {
        std::fs::metadata(&resolved)?;
        let below_all = hidden
            .iter()
            .all(|prefix| resolved.starts_with(prefix) && resolved != *prefix);
        if !below_all {
            return Err(io::Error::from_raw_os_error(ENOENT));
        }
    }
    Ok(resolved)
}

/// Whether `path` is a directory above those the sandbox opened for the script, and
/// inside none of them: it exists, and WASI cannot look at it. (The sandbox also opens an
/// empty `/` that catches and reports such lookups, W302; it shows nothing, so it
/// counts for none.)
fn is_above_sandbox(path: &Path) -> bool {
    let opened = opened_directories();
    opened.iter().any(|dir| dir.starts_with(path) && dir != path)
        && !opened.iter().any(|dir| path.starts_with(dir))
}

/// The directories the sandbox opened for the script (WASI's preopens), read once.
fn opened_directories() -> &'static [PathBuf] {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    extern "C" {
        fn fd_prestat_get(fd: u32, prestat: *mut [u32; 2]) -> u16;
        fn fd_prestat_dir_name(fd: u32, path: *mut u8, len: usize) -> u16;
    }
    static OPENED: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    OPENED.get_or_init(|| {
        let mut opened = Vec::new();
        // Preopens are numbered from 3 on, without gaps; the first error ends them.
        for fd in 3.. {
            let mut prestat = [0u32; 2];
            // SAFETY: WASI writes its 8-byte `prestat` (a tag, then the name's length).
            if unsafe { fd_prestat_get(fd, &mut prestat) } != 0 {
                break;
            }
            if prestat[0] & 0xff != 0 {
                continue;
            }
            let mut name = vec![0u8; prestat[1] as usize];
            // SAFETY: WASI writes at most `name.len()` bytes into `name`.
            if unsafe { fd_prestat_dir_name(fd, name.as_mut_ptr(), name.len()) } != 0 {
                break;
            }
            // SAFETY: on WASI an `OsStr` is any bytes.
            let name = Path::new(unsafe { OsStr::from_encoded_bytes_unchecked(&name) });
            if name != Path::new("/") {
                opened.push(name.to_path_buf());
            }
        }
        opened
    })
}

/// Whether WASI answered as for a path outside every directory the sandbox opened.
fn is_hidden(error: &io::Error) -> bool {
    const ENOTCAPABLE: i32 = 76;
    error.kind() == io::ErrorKind::NotFound || error.raw_os_error() == Some(ENOTCAPABLE)
}
