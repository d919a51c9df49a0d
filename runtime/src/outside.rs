//! Paths a build script looked for outside what it may read.
//!
//! A script that searches the host for a library (`/usr/lib/llvm-*/lib/libclang.so`, an
//! SDK, a system header) finds nothing in the sandbox and usually carries on with a
//! fallback: a quietly different build. wasi-libc resolves an absolute path against the
//! preopen with the longest matching prefix, so an empty, read-only directory preopened
//! as `/` catches every path outside the real preopens, and the guest sees nothing new (it
//! is empty).
//!
//! The lookups through it are recorded by an *interposer*: a small wasm module between
//! the guest and WASI's `path_open`, `path_filestat_get` and `path_create_directory` that
//! reports `(fd, path, open flags, rights)` to the host, then calls WASI. The same report
//! shows the writes the sandbox refused: a file opened for writing (or a directory
//! created) through a read-only preopen (the package directory) or the empty root (the
//! target directory, say), which `approve` can then offer as a `write` grant. It has to be wasm: WASI's functions read the memory of the
//! instance that calls them, and a host function calling them directly has none. So the
//! guest imports its memory (see `wasm_build_shim::guest_link_args`), and the interposer
//! shares and exports it.

use anyhow::{Context as _, Result};
use wasmtime::{Caller, ExternType, Linker, Memory, Module, Store};

use crate::host::Host;

const WASI: &str = "wasi_snapshot_preview1";
const HOST: &str = "cargo_wasm_build";
const NOTE: &str = "note_lookup";

/// At most this many distinct paths are kept: a script looking up millions of names
/// must not grow the host's memory (the guest's is limited, the host's is not).
const KEPT: usize = 4096;

/// `path_open`'s `oflags` that create or truncate, and `path_create_directory`'s note.
const CREATES: i32 = 0x1 | 0x8;
/// The `fd_write` right.
const RIGHT_WRITE: i64 = 1 << 6;

/// Gives `module` its memory and, when the run has an empty root, puts the interposer
/// between it and WASI's path lookups. A module that defines its own memory (built
/// without the sandbox's link arguments) runs unwatched.
pub(crate) fn watch(
    linker: &mut Linker<Host>,
    store: &mut Store<Host>,
    module: &Module,
    cache: Option<&crate::ModuleCache>,
) -> Result<()> {
    let Some(memory_type) =
        module.imports().find_map(
            |import| match (import.module(), import.name(), import.ty()) {
                ("env", "memory", ExternType::Memory(ty)) => Some(ty),
                _ => None,
            },
        )
    else {
        return Ok(());
    };
    let memory = Memory::new(&mut *store, memory_type)
        .map_err(anyhow::Error::from)
        .context("failed to give the build script its memory")?;
    linker
        .define(&mut *store, "env", "memory", memory)
        .map_err(anyhow::Error::from)?;
    if store.data().outside.root_fd.is_none() {
        return Ok(());
    }
    linker
        .func_wrap(HOST, NOTE, note)
        .map_err(anyhow::Error::from)?;
    let interposer = match cache {
        Some(cache) => cache.load_bytes(&crate::SandboxEngine::get()?, &interposer()),
        None => Module::new(store.engine(), interposer()).map_err(anyhow::Error::from),
    }
    .context("failed to compile the sandbox's path-lookup interposer")?;
    let instance = linker
        .instantiate(&mut *store, &interposer)
        .map_err(anyhow::Error::from)
        .context("failed to set up the sandbox's path-lookup interposer")?;
    linker.allow_shadowing(true);
    for name in INTERPOSED {
        let export = instance
            .get_export(&mut *store, name)
            .with_context(|| format!("the interposer has no {name}"))?;
        linker
            .define(&mut *store, WASI, name, export)
            .map_err(anyhow::Error::from)?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// The WASI functions the interposer stands between the guest and.
const INTERPOSED: [&str; 3] = ["path_open", "path_filestat_get", "path_create_directory"];

/// Records the path when the lookup goes through the empty root, and the path of a write
/// (`oflags` that create or truncate, or the write right) through a read-only preopen or
/// the empty root.
fn note(mut caller: Caller<'_, Host>, fd: i32, path: i32, len: i32, oflags: i32, rights: i64) {
    let fd = fd as u32;
    let outside = &caller.data().outside;
    let through_root = outside.root_fd == Some(fd);
    let writes = oflags & CREATES != 0 || rights & RIGHT_WRITE != 0;
    let read_only = outside
        .read_only
        .iter()
        .find(|(preopen, _)| *preopen == fd)
        .map(|(_, dir)| dir.clone());
    let wanted = (through_root && outside.paths.len() < KEPT)
        || (writes && (through_root || read_only.is_some()) && outside.writes.len() < KEPT);
    if !wanted {
        return;
    }
    let Some(bytes) = crate::hostcalls::guest_bytes(&mut caller, path as u32, len as u32) else {
        return;
    };
    let relative = String::from_utf8_lossy(&bytes);
    let relative = relative.trim_start_matches("./").trim_matches('/');
    let absolute = match (&read_only, relative) {
        (Some(dir), "" | ".") => dir.display().to_string(),
        (Some(dir), rest) => dir.join(rest).display().to_string(),
        (None, "" | ".") => "/".to_string(),
        (None, rest) => format!("/{rest}"),
    };
    let outside = &mut caller.data_mut().outside;
    if writes && outside.writes.len() < KEPT {
        outside.writes.insert(absolute.clone());
    }
    if through_root && outside.paths.len() < KEPT {
        outside.paths.insert(absolute);
    }
}

/// The interposer, in the wasm binary format:
///
/// ```text
/// (import "wasi_snapshot_preview1" "path_open" (func $open (type $open)))
/// (import "wasi_snapshot_preview1" "path_filestat_get" (func $stat (type $stat)))
/// (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (type $mkdir)))
/// (import "cargo_wasm_build" "note_lookup" (func $note (param i32 i32 i32 i32 i64)))
/// (import "env" "memory" (memory 0))
/// (func (export "path_open") (type $open)
///   (call $note (local.get 0) (local.get 2) (local.get 3) (local.get 4) (local.get 5))
///   (call $open (local.get 0) ... (local.get 8)))
/// (func (export "path_filestat_get") (type $stat)
///   (call $note (local.get 0) (local.get 2) (local.get 3) (i32.const 0) (i64.const 0))
///   (call $stat (local.get 0) ... (local.get 4)))
/// (func (export "path_create_directory") (type $mkdir)
///   (call $note (local.get 0) (local.get 1) (local.get 2) (i32.const 1) (i64.const 0))
///   (call $mkdir (local.get 0) (local.get 1) (local.get 2)))
/// (export "memory" (memory 0))
/// ```
fn interposer() -> Vec<u8> {
    const I32: u8 = 0x7f;
    const I64: u8 = 0x7e;
    const FUNC_TYPE: u8 = 0x60;
    const FUNC: u8 = 0x00;
    const MEMORY: u8 = 0x02;
    const LOCAL_GET: u8 = 0x20;
    const I32_CONST: u8 = 0x41;
    const I64_CONST: u8 = 0x42;
    let open_params = [I32, I32, I32, I32, I32, I64, I64, I32, I32];
    let stat_params = [I32; 5];
    let mkdir_params = [I32; 3];
    // What each function hands `note`: its descriptor, path pointer and length, then its
    // open flags and rights (constants for those without).
    let open_note = [
        LOCAL_GET, 0, LOCAL_GET, 2, LOCAL_GET, 3, LOCAL_GET, 4, LOCAL_GET, 5,
    ];
    let stat_note = [
        LOCAL_GET, 0, LOCAL_GET, 2, LOCAL_GET, 3, I32_CONST, 0, I64_CONST, 0,
    ];
    let mkdir_note = [
        LOCAL_GET, 0, LOCAL_GET, 1, LOCAL_GET, 2, I32_CONST, 1, I64_CONST, 0,
    ];
    let interposed: [(&[u8], &[u8]); 3] = [
        (&open_params, &open_note),
        (&stat_params, &stat_note),
        (&mkdir_params, &mkdir_note),
    ];
    let note_index = interposed.len() as u8;

    let mut types = vec![interposed.len() as u8 + 1];
    for (params, _) in interposed {
        types.extend([FUNC_TYPE, params.len() as u8]);
        types.extend(params);
        types.extend([1, I32]);
    }
    types.extend([FUNC_TYPE, 5, I32, I32, I32, I32, I64, 0]);

    let mut imports = vec![interposed.len() as u8 + 2];
    let wasi_imports = INTERPOSED
        .iter()
        .zip(0u8..)
        .map(|(name, index)| (WASI, *name, FUNC, index));
    for (module, name, kind, index) in wasi_imports.chain([(HOST, NOTE, FUNC, note_index)]) {
        imports.extend(name_bytes(module));
        imports.extend(name_bytes(name));
        imports.extend([kind, index]);
    }
    imports.extend(name_bytes("env"));
    imports.extend(name_bytes("memory"));
    imports.extend([MEMORY, 0x00, 0x00]);

    let mut functions = vec![interposed.len() as u8];
    functions.extend(0..interposed.len() as u8);

    let mut exports = vec![interposed.len() as u8 + 1];
    let defined = INTERPOSED
        .iter()
        .zip(note_index + 1..)
        .map(|(name, index)| (*name, FUNC, index));
    for (name, kind, index) in defined.chain([("memory", MEMORY, 0)]) {
        exports.extend(name_bytes(name));
        exports.extend([kind, index]);
    }

    let mut code = vec![interposed.len() as u8];
    for ((params, note_args), original) in interposed.into_iter().zip(0u8..) {
        const CALL: u8 = 0x10;
        const END: u8 = 0x0b;
        let mut body = vec![0]; // no locals
        body.extend(note_args);
        body.extend([CALL, note_index]);
        for param in 0..params.len() as u8 {
            body.extend([LOCAL_GET, param]);
        }
        body.extend([CALL, original, END]);
        code.push(body.len() as u8);
        code.extend(body);
    }

    let mut module = b"\0asm\x01\0\0\0".to_vec();
    for (id, contents) in [
        (1u8, types),
        (2, imports),
        (3, functions),
        (7, exports),
        (10, code),
    ] {
        module.push(id);
        module.extend(leb128(contents.len()));
        module.extend(contents);
    }
    module
}

fn name_bytes(name: &str) -> Vec<u8> {
    let mut bytes = leb128(name.len());
    bytes.extend(name.as_bytes());
    bytes
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interposer_is_valid_wasm_with_the_wasi_signatures() {
        let engine = wasmtime::Engine::default();
        let module = Module::new(&engine, interposer()).unwrap();
        let exports: Vec<String> = module.exports().map(|e| e.name().to_string()).collect();
        assert_eq!(
            exports,
            [
                "path_open",
                "path_filestat_get",
                "path_create_directory",
                "memory"
            ]
        );
        let imports: Vec<String> = module
            .imports()
            .map(|i| format!("{}.{}", i.module(), i.name()))
            .collect();
        assert_eq!(
            imports,
            [
                "wasi_snapshot_preview1.path_open",
                "wasi_snapshot_preview1.path_filestat_get",
                "wasi_snapshot_preview1.path_create_directory",
                "cargo_wasm_build.note_lookup",
                "env.memory"
            ]
        );
    }
}
