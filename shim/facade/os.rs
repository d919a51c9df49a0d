//! `std::os`, with the part of `std::os::unix` a build script reaches for.
//!
//! A build script's `#[cfg(unix)]` is true in the sandbox on a Unix host (it describes the
//! host; see `host_cfg.rs`), so the code behind it must compile. wasm32-wasip1's std has
//! no `std::os::unix`; what WASI can do the same way is here, and `MetadataExt` with the
//! host's mode and owner. What cannot be honoured (setting modes through `Permissions`,
//! signals) is missing on purpose: a script that needs it fails to compile and the tool
//! says which item the facade lacks, rather than answering with made-up bits.

pub use std::os::*;

/// `std::os::unix`, as far as WASI can honour it.
pub mod unix {
    /// Byte views of OS strings: the same traits as `std::os::unix::ffi`.
    pub mod ffi {
        pub use std::os::wasi::ffi::{OsStrExt, OsStringExt};
    }

    /// File descriptors: `std::os::unix::io` re-exports `std::os::fd`, as here.
    pub mod io {
        pub use std::os::fd::*;
    }

    /// Symbolic links, and the Unix fields of file metadata.
    pub mod fs {
        use std::ffi::CString;
        use std::io;
        use std::path::Path;

        /// `std::os::unix::fs::MetadataExt` for std's `Metadata`. Mode, owner and group
        /// are the host's for metadata from `fs::metadata` and `fs::symlink_metadata`
        /// (the host answers them); std's own methods (`Path::metadata`,
        /// `File::metadata`) carry what WASI reports, which has no permission bits or
        /// owner.
        pub trait MetadataExt {
            fn dev(&self) -> u64;
            fn ino(&self) -> u64;
            fn mode(&self) -> u32;
            fn nlink(&self) -> u64;
            fn uid(&self) -> u32;
            fn gid(&self) -> u32;
            fn rdev(&self) -> u64;
            fn size(&self) -> u64;
            fn atime(&self) -> i64;
            fn atime_nsec(&self) -> i64;
            fn mtime(&self) -> i64;
            fn mtime_nsec(&self) -> i64;
            fn ctime(&self) -> i64;
            fn ctime_nsec(&self) -> i64;
            fn blksize(&self) -> u64;
            fn blocks(&self) -> u64;
        }

        fn fields(metadata: &std::fs::Metadata) -> crate::fs::mode_bits::UnixFields {
            // The layout is checked; another one (another toolchain) is the tool's bug,
            // and a made-up answer would go unnoticed.
            crate::fs::unix_fields(metadata).expect(
                "cargo-wasm-build: std's Metadata has a layout the sandbox does not know; please report this",
            )
        }

        impl MetadataExt for std::fs::Metadata {
            fn dev(&self) -> u64 {
                fields(self).dev
            }
            fn ino(&self) -> u64 {
                fields(self).ino
            }
            fn mode(&self) -> u32 {
                fields(self).mode
            }
            fn nlink(&self) -> u64 {
                fields(self).nlink
            }
            fn uid(&self) -> u32 {
                fields(self).uid
            }
            fn gid(&self) -> u32 {
                fields(self).gid
            }
            fn rdev(&self) -> u64 {
                fields(self).rdev
            }
            fn size(&self) -> u64 {
                self.len()
            }
            fn atime(&self) -> i64 {
                fields(self).atime.0
            }
            fn atime_nsec(&self) -> i64 {
                fields(self).atime.1
            }
            fn mtime(&self) -> i64 {
                fields(self).mtime.0
            }
            fn mtime_nsec(&self) -> i64 {
                fields(self).mtime.1
            }
            fn ctime(&self) -> i64 {
                fields(self).ctime.0
            }
            fn ctime_nsec(&self) -> i64 {
                fields(self).ctime.1
            }
            fn blksize(&self) -> u64 {
                fields(self).blksize
            }
            fn blocks(&self) -> u64 {
                fields(self).blocks
            }
        }

        extern "C" {
            // wasi-libc resolves both paths against the preopened directories, as
            // `std::fs` does.
            #[link_name = "symlink"]
            fn libc_symlink(target: *const core::ffi::c_char, link: *const core::ffi::c_char) -> i32;
        }

        /// Creates `link` pointing at `original`, which is stored as given.
        pub fn symlink<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
            let original = c_path(original.as_ref())?;
            let link = c_path(link.as_ref())?;
            // SAFETY: two NUL-terminated strings that live across the call.
            if unsafe { libc_symlink(original.as_ptr(), link.as_ptr()) } == 0 {
                Ok(())
            } else {
                Err(io::Error::last_os_error())
            }
        }

        fn c_path(path: &Path) -> io::Result<CString> {
            use std::os::wasi::ffi::OsStrExt as _;
            CString::new(path.as_os_str().as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
        }
    }
}
