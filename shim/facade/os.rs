//! `std::os`, with the part of `std::os::unix` a build script reaches for.
//!
//! A build script's `#[cfg(unix)]` is true in the sandbox on a Unix host (it describes the
//! host; see `host_cfg.rs`), so the code behind it must compile. wasm32-wasip1's std has
//! no `std::os::unix`; what WASI can do the same way is here. What it cannot (permission
//! modes, owners, signals) is missing on purpose: a script that needs it fails to compile
//! and the tool says which item the facade lacks, rather than answering with made-up bits.

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

    /// Symbolic links.
    pub mod fs {
        use std::ffi::CString;
        use std::io;
        use std::path::Path;

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
