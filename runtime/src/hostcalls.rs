//! The host functions the std facade imports (module `cargo_wasm_build`).
//!
//! Every call validates guest pointers against the guest's memory and answers a status
//! code; a malformed call is an error for the guest, never a trap or a host panic.

use std::path::Path;

use anyhow::Result;
use wasm_build_diagnostics::Diag as _;
use wasm_build_exec::child::{ChildProcess, Stream};
use wasm_build_shim::protocol::{IMPORT_MODULE, SpawnRequest, status, stream};
use wasmtime::{Caller, Linker};

use crate::host::Host;

/// Adds every host function to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<Host>) -> Result<()> {
    let module = IMPORT_MODULE;
    linker.func_wrap(module, "spawn", spawn)?;
    linker.func_wrap(module, "child_read", child_read)?;
    linker.func_wrap(module, "child_write", child_write)?;
    linker.func_wrap(module, "child_close_stdin", child_close_stdin)?;
    linker.func_wrap(module, "child_wait", child_wait)?;
    linker.func_wrap(module, "child_kill", child_kill)?;
    linker.func_wrap(module, "child_id", child_id)?;
    linker.func_wrap(module, "child_release", child_release)?;
    linker.func_wrap(module, "path_writable", path_writable)?;
    linker.func_wrap(module, "last_error", last_error)?;
    linker.func_wrap(module, "env_missing", env_missing)?;
    linker.func_wrap(module, "temp_dir", temp_dir)?;
    linker.func_wrap(module, "process_id", |_: Caller<'_, Host>| {
        std::process::id()
    })?;
    // What a native script would see (processor facts are not secret), so scripts that
    // size their `make -j` by it build as natively; 0 when the host cannot tell.
    linker.func_wrap(module, "available_parallelism", |_: Caller<'_, Host>| {
        std::thread::available_parallelism().map_or(0, |n| n.get() as u32)
    })?;
    linker.func_wrap(module, "copy_file", copy_file)?;
    linker.func_wrap(module, "set_readonly", set_readonly)?;
    linker.func_wrap(module, "unix_stat", unix_stat)?;
    Ok(())
}

pub(crate) fn guest_bytes(caller: &mut Caller<'_, Host>, ptr: u32, len: u32) -> Option<Vec<u8>> {
    let memory = caller.get_export("memory")?.into_memory()?;
    let start = ptr as usize;
    let end = start.checked_add(len as usize)?;
    memory.data(&caller).get(start..end).map(<[u8]>::to_vec)
}

fn put_bytes(caller: &mut Caller<'_, Host>, ptr: u32, bytes: &[u8]) -> bool {
    let Some(memory) = caller
        .get_export("memory")
        .and_then(|export| export.into_memory())
    else {
        return false;
    };
    let start = ptr as usize;
    let Some(end) = start.checked_add(bytes.len()) else {
        return false;
    };
    match memory.data_mut(caller).get_mut(start..end) {
        Some(slot) => {
            slot.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}

fn put_u32(caller: &mut Caller<'_, Host>, ptr: u32, value: u32) -> bool {
    put_bytes(caller, ptr, &value.to_le_bytes())
}

/// Records `message` for `last_error` and returns `code`.
fn fail(caller: &mut Caller<'_, Host>, code: u32, message: impl Into<String>) -> u32 {
    caller.data_mut().last_error = message.into();
    code
}

fn bad_pointer(caller: &mut Caller<'_, Host>) -> u32 {
    fail(
        caller,
        status::INVALID_INPUT,
        "sandbox: a pointer outside the guest's memory",
    )
}

fn spawn(mut caller: Caller<'_, Host>, ptr: u32, len: u32, handle_out: u32) -> u32 {
    let Some(bytes) = guest_bytes(&mut caller, ptr, len) else {
        return bad_pointer(&mut caller);
    };
    let Some(request) = SpawnRequest::decode(&bytes) else {
        return fail(
            &mut caller,
            status::INVALID_INPUT,
            "sandbox: malformed spawn request",
        );
    };
    let host = caller.data_mut();
    let Some(broker) = host.broker.as_mut() else {
        return fail(
            &mut caller,
            status::UNSUPPORTED,
            "sandbox: starting programs is not available here",
        );
    };
    match broker.spawn(&request) {
        Ok(handle) => {
            if put_u32(&mut caller, handle_out, handle) {
                status::OK
            } else {
                bad_pointer(&mut caller)
            }
        }
        Err((code, message)) => fail(&mut caller, code, message),
    }
}

fn child_of(
    caller: &mut Caller<'_, Host>,
    handle: u32,
) -> Result<std::sync::Arc<ChildProcess>, u32> {
    let found = match caller.data().broker.as_ref() {
        Some(broker) => broker.child(handle),
        None => Err((status::INVALID_INPUT, format!("no child process {handle}"))),
    };
    found.map_err(|(code, message)| fail(caller, code, message))
}

fn child_read(
    mut caller: Caller<'_, Host>,
    handle: u32,
    which: u32,
    buf: u32,
    len: u32,
    read_out: u32,
) -> u32 {
    let child = match child_of(&mut caller, handle) {
        Ok(child) => child,
        Err(code) => return code,
    };
    let which = match which {
        stream::STDOUT => Stream::Stdout,
        stream::STDERR => Stream::Stderr,
        _ => {
            return fail(
                &mut caller,
                status::INVALID_INPUT,
                "sandbox: no such stream",
            );
        }
    };
    let mut chunk = vec![0u8; (len as usize).min(64 * 1024)];
    let read = child.read(which, &mut chunk);
    if put_bytes(&mut caller, buf, &chunk[..read]) && put_u32(&mut caller, read_out, read as u32) {
        status::OK
    } else {
        bad_pointer(&mut caller)
    }
}

fn child_write(
    mut caller: Caller<'_, Host>,
    handle: u32,
    buf: u32,
    len: u32,
    written_out: u32,
) -> u32 {
    let child = match child_of(&mut caller, handle) {
        Ok(child) => child,
        Err(code) => return code,
    };
    let Some(bytes) = guest_bytes(&mut caller, buf, len) else {
        return bad_pointer(&mut caller);
    };
    match child.write_stdin(&bytes) {
        Some(Ok(written)) => {
            if put_u32(&mut caller, written_out, written as u32) {
                status::OK
            } else {
                bad_pointer(&mut caller)
            }
        }
        Some(Err(err)) if err.kind() == std::io::ErrorKind::BrokenPipe => fail(
            &mut caller,
            status::BROKEN_PIPE,
            "the child closed its stdin",
        ),
        Some(Err(err)) => fail(&mut caller, status::OTHER, err.to_string()),
        None => fail(
            &mut caller,
            status::BROKEN_PIPE,
            "the child's stdin is closed",
        ),
    }
}

fn child_close_stdin(mut caller: Caller<'_, Host>, handle: u32) -> u32 {
    match child_of(&mut caller, handle) {
        Ok(child) => {
            child.close_stdin();
            status::OK
        }
        Err(code) => code,
    }
}

fn child_wait(mut caller: Caller<'_, Host>, handle: u32, block: u32, status_out: u32) -> u32 {
    let child = match child_of(&mut caller, handle) {
        Ok(child) => child,
        Err(code) => return code,
    };
    let exit = child.wait(block != 0);
    if exit.is_some() && (child.timed_out() || child.overflowed()) {
        let why = if child.timed_out() {
            "ran past its time limit"
        } else {
            "printed more than its output limit"
        };
        if let Some(broker) = caller.data().broker.as_ref() {
            let killed = wasm_build_diagnostics::broker::ChildKilled {
                pid: child.pid(),
                why,
            };
            broker.note(&killed.render(wasm_build_diagnostics::Painter::default()));
        }
    }
    let words: [i32; 3] = match exit {
        None => [0, -1, -1],
        Some(exit) => [1, exit.code.unwrap_or(-1), exit.signal.unwrap_or(-1)],
    };
    let bytes: Vec<u8> = words.iter().flat_map(|word| word.to_le_bytes()).collect();
    if put_bytes(&mut caller, status_out, &bytes) {
        status::OK
    } else {
        bad_pointer(&mut caller)
    }
}

fn child_kill(mut caller: Caller<'_, Host>, handle: u32) -> u32 {
    match child_of(&mut caller, handle) {
        Ok(child) => {
            child.kill();
            status::OK
        }
        Err(code) => code,
    }
}

fn child_id(mut caller: Caller<'_, Host>, handle: u32) -> u32 {
    child_of(&mut caller, handle).map_or(0, |child| child.pid())
}

fn child_release(mut caller: Caller<'_, Host>, handle: u32) {
    if let Some(broker) = caller.data_mut().broker.as_mut() {
        broker.release(handle);
    }
}

fn path_writable(mut caller: Caller<'_, Host>, ptr: u32, len: u32) -> u32 {
    let Some(bytes) = guest_bytes(&mut caller, ptr, len) else {
        return 0;
    };
    let Ok(path) = String::from_utf8(bytes) else {
        return 0;
    };
    u32::from(caller.data().fs.is_writable(Path::new(&path)))
}

fn last_error(mut caller: Caller<'_, Host>, ptr: u32, len: u32) -> u32 {
    let message = caller.data().last_error.clone().into_bytes();
    let shown = message.len().min(len as usize);
    if !put_bytes(&mut caller, ptr, &message[..shown]) {
        return 0;
    }
    message.len() as u32
}

fn guest_string(caller: &mut Caller<'_, Host>, ptr: u32, len: u32) -> Option<String> {
    guest_bytes(caller, ptr, len).and_then(|bytes| String::from_utf8(bytes).ok())
}

fn io_status(err: &std::io::Error) -> u32 {
    match err.kind() {
        std::io::ErrorKind::NotFound => status::NOT_FOUND,
        std::io::ErrorKind::PermissionDenied => status::PERMISSION_DENIED,
        _ => status::OTHER,
    }
}

/// `fs::copy` done by the host, so permission bits survive (WASI has none); see
/// [`crate::host_fs::HostFs::copy`] for what it refuses.
fn copy_file(
    mut caller: Caller<'_, Host>,
    from: u32,
    from_len: u32,
    to: u32,
    to_len: u32,
    copied_out: u32,
) -> u32 {
    let (Some(from), Some(to)) = (
        guest_string(&mut caller, from, from_len),
        guest_string(&mut caller, to, to_len),
    ) else {
        return bad_pointer(&mut caller);
    };
    match caller.data().fs.copy(Path::new(&from), Path::new(&to)) {
        Ok(copied) => {
            if put_bytes(&mut caller, copied_out, &copied.to_le_bytes()) {
                status::OK
            } else {
                bad_pointer(&mut caller)
            }
        }
        Err(err) => fail(&mut caller, io_status(&err), err.to_string()),
    }
}

fn set_readonly(mut caller: Caller<'_, Host>, ptr: u32, len: u32, readonly: u32) -> u32 {
    let Some(path) = guest_string(&mut caller, ptr, len) else {
        return bad_pointer(&mut caller);
    };
    match caller
        .data()
        .fs
        .set_readonly(Path::new(&path), readonly != 0)
    {
        Ok(()) => status::OK,
        Err(err) => fail(&mut caller, io_status(&err), err.to_string()),
    }
}

/// Mode, owner and group of a path the script may read, as three little-endian u32 at
/// `out` (see [`crate::host_fs::HostFs::unix_stat`]).
fn unix_stat(mut caller: Caller<'_, Host>, ptr: u32, len: u32, follow: u32, out: u32) -> u32 {
    let Some(path) = guest_string(&mut caller, ptr, len) else {
        return bad_pointer(&mut caller);
    };
    match caller.data().fs.unix_stat(Path::new(&path), follow != 0) {
        Ok(fields) => {
            let bytes: Vec<u8> = fields
                .iter()
                .flat_map(|field| field.to_le_bytes())
                .collect();
            if put_bytes(&mut caller, out, &bytes) {
                status::OK
            } else {
                bad_pointer(&mut caller)
            }
        }
        Err(err) => fail(&mut caller, io_status(&err), err.to_string()),
    }
}

fn env_missing(mut caller: Caller<'_, Host>, ptr: u32, len: u32) {
    let Some(name) =
        guest_bytes(&mut caller, ptr, len).and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        return;
    };
    let host = caller.data_mut();
    if host.hidden_env.contains(&name) {
        host.hidden_lookups.insert(name);
    }
}

fn temp_dir(mut caller: Caller<'_, Host>, ptr: u32, len: u32) -> u32 {
    let dir = caller
        .data()
        .temp_dir
        .as_ref()
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|| "/tmp".into())
        .into_bytes();
    let shown = dir.len().min(len as usize);
    if !put_bytes(&mut caller, ptr, &dir[..shown]) {
        return 0;
    }
    dir.len() as u32
}
