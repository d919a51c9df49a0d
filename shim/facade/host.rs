//! The host calls of the sandbox (see `protocol.rs` for the encodings).

use std::io;

use crate::protocol::status;

#[link(wasm_import_module = "cargo_wasm_build")]
extern "C" {
    #[link_name = "spawn"]
    fn host_spawn(request: *const u8, len: usize, handle: *mut u32) -> u32;
    #[link_name = "child_read"]
    fn host_child_read(handle: u32, stream: u32, buf: *mut u8, len: usize, read: *mut usize) -> u32;
    #[link_name = "child_write"]
    fn host_child_write(handle: u32, buf: *const u8, len: usize, written: *mut usize) -> u32;
    #[link_name = "child_close_stdin"]
    fn host_child_close_stdin(handle: u32) -> u32;
    #[link_name = "child_wait"]
    fn host_child_wait(handle: u32, block: u32, status: *mut i32) -> u32;
    #[link_name = "child_kill"]
    fn host_child_kill(handle: u32) -> u32;
    #[link_name = "child_id"]
    fn host_child_id(handle: u32) -> u32;
    #[link_name = "child_release"]
    fn host_child_release(handle: u32);
    #[link_name = "path_writable"]
    fn host_path_writable(path: *const u8, len: usize) -> u32;
    #[link_name = "last_error"]
    fn host_last_error(buf: *mut u8, len: usize) -> usize;
    #[link_name = "env_missing"]
    fn host_env_missing(name: *const u8, len: usize);
    #[link_name = "temp_dir"]
    fn host_temp_dir(buf: *mut u8, len: usize) -> usize;
    #[link_name = "process_id"]
    fn host_process_id() -> u32;
    #[link_name = "available_parallelism"]
    fn host_available_parallelism() -> u32;
    #[link_name = "copy_file"]
    fn host_copy_file(from: *const u8, from_len: usize, to: *const u8, to_len: usize, copied: *mut u64) -> u32;
    #[link_name = "set_readonly"]
    fn host_set_readonly(path: *const u8, len: usize, readonly: u32) -> u32;
    #[link_name = "unix_stat"]
    fn host_unix_stat(path: *const u8, len: usize, follow: u32, fields: *mut u32) -> u32;
}

fn check(code: u32) -> io::Result<()> {
    let kind = match code {
        status::OK => return Ok(()),
        status::NOT_FOUND => io::ErrorKind::NotFound,
        status::PERMISSION_DENIED => io::ErrorKind::PermissionDenied,
        status::INVALID_INPUT => io::ErrorKind::InvalidInput,
        status::UNSUPPORTED => io::ErrorKind::Unsupported,
        status::BROKEN_PIPE => io::ErrorKind::BrokenPipe,
        _ => io::ErrorKind::Other,
    };
    let mut message = vec![0u8; 1024];
    // SAFETY: the host writes at most `len` bytes into the buffer we own.
    let len = unsafe { host_last_error(message.as_mut_ptr(), message.len()) };
    message.truncate(len.min(1024));
    Err(io::Error::new(kind, String::from_utf8_lossy(&message).into_owned()))
}

pub fn spawn(request: &[u8]) -> io::Result<u32> {
    let mut handle = 0;
    // SAFETY: pointers to live buffers of the given lengths.
    check(unsafe { host_spawn(request.as_ptr(), request.len(), &mut handle) })?;
    Ok(handle)
}

pub fn read(handle: u32, stream: u32, buf: &mut [u8]) -> io::Result<usize> {
    let mut read = 0;
    // SAFETY: the host writes at most `buf.len()` bytes into `buf`.
    check(unsafe { host_child_read(handle, stream, buf.as_mut_ptr(), buf.len(), &mut read) })?;
    Ok(read)
}

pub fn write(handle: u32, buf: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    // SAFETY: pointer to a live buffer of the given length.
    check(unsafe { host_child_write(handle, buf.as_ptr(), buf.len(), &mut written) })?;
    Ok(written)
}

pub fn close_stdin(handle: u32) -> io::Result<()> {
    // SAFETY: plain value arguments.
    check(unsafe { host_child_close_stdin(handle) })
}

/// `Some((code, signal))` once the child has exited; `None` if `block` is false and it
/// is still running. Negative values stand for "none".
pub fn wait(handle: u32, block: bool) -> io::Result<Option<(i32, i32)>> {
    let mut status = [0i32; 3];
    // SAFETY: the host writes three i32 into `status`.
    check(unsafe { host_child_wait(handle, u32::from(block), status.as_mut_ptr()) })?;
    Ok((status[0] != 0).then_some((status[1], status[2])))
}

pub fn kill(handle: u32) -> io::Result<()> {
    // SAFETY: plain value arguments.
    check(unsafe { host_child_kill(handle) })
}

pub fn id(handle: u32) -> u32 {
    // SAFETY: plain value arguments.
    unsafe { host_child_id(handle) }
}

pub fn release(handle: u32) {
    // SAFETY: plain value arguments.
    unsafe { host_child_release(handle) }
}

/// Tells the host the script looked up a variable it cannot see.
pub fn env_missing(name: &std::ffi::OsStr) {
    let name = name.as_encoded_bytes();
    // SAFETY: pointer to a live buffer of the given length.
    unsafe { host_env_missing(name.as_ptr(), name.len()) }
}

/// The run's private temporary directory.
pub fn temp_dir() -> std::path::PathBuf {
    let mut buf = vec![0u8; 4096];
    // SAFETY: the host writes at most `len` bytes into the buffer we own.
    let len = unsafe { host_temp_dir(buf.as_mut_ptr(), buf.len()) };
    buf.truncate(len.min(4096));
    std::path::PathBuf::from(String::from_utf8_lossy(&buf).into_owned())
}

/// The host process id of the sandbox (std panics on wasm32-wasip1).
pub fn process_id() -> u32 {
    // SAFETY: no arguments.
    unsafe { host_process_id() }
}

/// The host's available parallelism; 0 when it cannot tell.
pub fn available_parallelism() -> u32 {
    // SAFETY: no arguments.
    unsafe { host_available_parallelism() }
}

/// Copies `from` to `to` on the host, permission bits included.
pub fn copy_file(from: &str, to: &str) -> io::Result<u64> {
    let mut copied = 0u64;
    // SAFETY: pointers to live buffers of the given lengths, and to a u64.
    check(unsafe { host_copy_file(from.as_ptr(), from.len(), to.as_ptr(), to.len(), &mut copied) })?;
    Ok(copied)
}

/// Makes `path` read-only or writable on the host.
pub fn set_readonly(path: &str, readonly: bool) -> io::Result<()> {
    // SAFETY: pointer to a live buffer of the given length.
    check(unsafe { host_set_readonly(path.as_ptr(), path.len(), u32::from(readonly)) })
}

/// The Unix mode, owner and group of `path` on the host, where the script may read.
pub fn unix_stat(path: &str, follow: bool) -> io::Result<[u32; 3]> {
    let mut fields = [0u32; 3];
    // SAFETY: a pointer to a live buffer of the given length, and to three u32.
    check(unsafe { host_unix_stat(path.as_ptr(), path.len(), u32::from(follow), fields.as_mut_ptr()) })?;
    Ok(fields)
}

/// Whether the host says `path` is writable for this build script.
pub fn writable(path: &str) -> bool {
    // SAFETY: pointer to a live buffer of the given length.
    unsafe { host_path_writable(path.as_ptr(), path.len()) == 1 }
}
