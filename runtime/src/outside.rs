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
//! the guest and WASI's `path_open` and `path_filestat_get` that reports `(fd, path)` to
//! the host, then calls WASI. It has to be wasm: WASI's functions read the memory of the
//! instance that calls them, and a host function calling them directly has none. So the
//! guest imports its memory (see `wasm_build_shim::guest_link_args`), and the interposer
//! shares and exports it.

use std::collections::BTreeSet;

use anyhow::{Context as _, Result};
use wasmtime::{Caller, ExternType, Linker, Memory, Module, Store};

use crate::sandbox::Host;

const WASI: &str = "wasi_snapshot_preview1";
const HOST: &str = "cargo_wasm_build";
const NOTE: &str = "note_lookup";

/// At most this many distinct paths are kept: a script looking up millions of names
/// must not grow the host's memory (the guest's is limited, the host's is not).
const KEPT: usize = 4096;

/// What the guest looked for through the empty root.
#[derive(Debug, Default)]
pub(crate) struct OutsideLookups {
    /// The guest descriptor of the empty root.
    pub(crate) root_fd: Option<u32>,
    /// Absolute paths looked up through it (the first [`KEPT`]).
    pub(crate) paths: BTreeSet<String>,
}

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
    for name in ["path_open", "path_filestat_get"] {
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

/// Records the path when the lookup goes through the empty root.
fn note(mut caller: Caller<'_, Host>, fd: i32, path: i32, len: i32) {
    let outside = &caller.data().outside;
    if outside.root_fd != Some(fd as u32) || outside.paths.len() >= KEPT {
        return;
    }
    let Some(bytes) = crate::hostcalls::guest_bytes(&mut caller, path as u32, len as u32) else {
        return;
    };
    let relative = String::from_utf8_lossy(&bytes);
    let relative = relative.trim_start_matches("./").trim_matches('/');
    let absolute = match relative {
        "" | "." => "/".to_string(),
        rest => format!("/{rest}"),
    };
    caller.data_mut().outside.paths.insert(absolute);
}

/// The interposer, in the wasm binary format:
///
/// ```text
/// (import "wasi_snapshot_preview1" "path_open" (func $open (type $open)))
/// (import "wasi_snapshot_preview1" "path_filestat_get" (func $stat (type $stat)))
/// (import "cargo_wasm_build" "note_lookup" (func $note (param i32 i32 i32)))
/// (import "env" "memory" (memory 0))
/// (func (export "path_open") (type $open)
///   (call $note (local.get 0) (local.get 2) (local.get 3))
///   (call $open (local.get 0) ... (local.get 8)))
/// (func (export "path_filestat_get") (type $stat)
///   (call $note (local.get 0) (local.get 2) (local.get 3))
///   (call $stat (local.get 0) ... (local.get 4)))
/// (export "memory" (memory 0))
/// ```
fn interposer() -> Vec<u8> {
    const I32: u8 = 0x7f;
    const I64: u8 = 0x7e;
    const FUNC_TYPE: u8 = 0x60;
    const FUNC: u8 = 0x00;
    const MEMORY: u8 = 0x02;
    let open_params = [I32, I32, I32, I32, I32, I64, I64, I32, I32];
    let stat_params = [I32; 5];

    let mut types = vec![3];
    for params in [&open_params[..], &stat_params[..]] {
        types.extend([FUNC_TYPE, params.len() as u8]);
        types.extend(params);
        types.extend([1, I32]);
    }
    types.extend([FUNC_TYPE, 3, I32, I32, I32, 0]);

    let mut imports = vec![4];
    for (module, name, kind, index) in [
        (WASI, "path_open", FUNC, 0u8),
        (WASI, "path_filestat_get", FUNC, 1),
        (HOST, NOTE, FUNC, 2),
    ] {
        imports.extend(name_bytes(module));
        imports.extend(name_bytes(name));
        imports.extend([kind, index]);
    }
    imports.extend(name_bytes("env"));
    imports.extend(name_bytes("memory"));
    imports.extend([MEMORY, 0x00, 0x00]);

    let functions = vec![2, 0, 1];

    let mut exports = vec![3];
    for (name, kind, index) in [
        ("path_open", FUNC, 3u8),
        ("path_filestat_get", FUNC, 4),
        ("memory", MEMORY, 0),
    ] {
        exports.extend(name_bytes(name));
        exports.extend([kind, index]);
    }

    let mut code = vec![2];
    for (params, original) in [(open_params.len(), 0u8), (stat_params.len(), 1)] {
        const LOCAL_GET: u8 = 0x20;
        const CALL: u8 = 0x10;
        const END: u8 = 0x0b;
        let mut body = vec![0]; // no locals
        body.extend([LOCAL_GET, 0, LOCAL_GET, 2, LOCAL_GET, 3, CALL, 2]);
        for param in 0..params as u8 {
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
        assert_eq!(exports, ["path_open", "path_filestat_get", "memory"]);
        let imports: Vec<String> = module
            .imports()
            .map(|i| format!("{}.{}", i.module(), i.name()))
            .collect();
        assert_eq!(
            imports,
            [
                "wasi_snapshot_preview1.path_open",
                "wasi_snapshot_preview1.path_filestat_get",
                "cargo_wasm_build.note_lookup",
                "env.memory"
            ]
        );
    }
}
