//! Precompiled modules on disk, so a build script starts in milliseconds.
//!
//! Compiling a module with Cranelift costs 0.1–5 s; loading a precompiled one costs under a
//! millisecond. Entries are keyed by the SHA-256 of the wasm bytes and the engine's
//! compatibility key, written atomically (temp file + rename) so parallel cargo jobs never
//! see half an entry, and a corrupt or stale entry is recompiled, never trusted.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};
use wasmtime::Module;

use wasm_build_cache::{ArtifactCache, Key, Kind};

use crate::SandboxEngine;

/// A directory of precompiled modules.
///
/// The directory must be writable only by the user running the build: loading an entry
/// maps its machine code into this process. It lives under the target directory, which
/// no build script can write to (scripts write only their own `OUT_DIR`).
///
/// Behind it may sit the user's [`ArtifactCache`], shared by every target directory: a
/// module compiled for one project is copied (its digest checked) instead of compiled
/// again in the next.
#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: PathBuf,
    shared: Option<ArtifactCache>,
}

impl ModuleCache {
    /// A cache stored in `dir` (created on first store).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModuleCache {
            dir: dir.into(),
            shared: None,
        }
    }

    /// Takes modules from, and gives them to, the user's shared cache.
    #[must_use]
    pub fn with_shared(mut self, shared: Option<ArtifactCache>) -> Self {
        self.shared = shared;
        self
    }

    /// The directory holding the entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key under which `wasm` is stored: a digest of its bytes.
    pub fn key(wasm: &[u8]) -> String {
        key_of(&Sha256::digest(wasm))
    }

    /// Loads the module stored under `key`, or compiles the wasm file at `wasm_path` and
    /// stores it when there is no usable entry. Passing the key saves reading and hashing
    /// the wasm on the fast path, where a build script should start in milliseconds.
    ///
    /// # Errors
    ///
    /// Fails when the wasm file cannot be read or is not a valid module for this engine.
    /// A cache that cannot be written is not an error: the compiled module is returned.
    pub fn load(&self, engine: &SandboxEngine, key: &str, wasm_path: &Path) -> Result<Module> {
        if let Some(module) = self.deserialize(engine, &self.entry_path(engine, key)) {
            return Ok(module);
        }
        let wasm = fs::read(wasm_path)
            .with_context(|| format!("failed to read {}", wasm_path.display()))?;
        self.load_bytes(engine, &wasm)
    }

    /// Loads the module compiled from `wasm`, compiling and storing it the first time:
    /// for the small modules the runtime itself puts beside a script (the path-lookup
    /// interposer), which Cranelift would otherwise compile in every stand-in.
    ///
    /// # Errors
    ///
    /// Fails when `wasm` is not a valid module for this engine.
    pub fn load_bytes(&self, engine: &SandboxEngine, wasm: &[u8]) -> Result<Module> {
        let entry = self.entry_path(engine, &Self::key(wasm));
        if let Some(module) = self.deserialize(engine, &entry) {
            return Ok(module);
        }
        let compiled = compile(engine, wasm)?;
        // Storing is an optimisation; a read-only or full disk must not fail the build.
        let _ = self.store(&entry, &compiled);
        deserialize_bytes(engine, &compiled)
    }

    /// Compiles `wasm` into the cache ahead of its first run, unless already there, and
    /// returns its key.
    ///
    /// # Errors
    ///
    /// Fails when `wasm` is not a valid module or the entry cannot be written.
    pub fn precompile(&self, engine: &SandboxEngine, wasm: &[u8]) -> Result<String> {
        let digest = Sha256::digest(wasm);
        let key = key_of(&digest);
        let entry = self.entry_path(engine, &key);
        if entry.is_file() {
            return Ok(key);
        }
        let shared_key = shared_key(engine, &digest);
        if let Some(shared) = &self.shared
            && shared.fetch(Kind::Module, &shared_key, &entry)
        {
            return Ok(key);
        }
        let compiled = compile(engine, wasm)?;
        self.store(&entry, &compiled)?;
        if let Some(shared) = &self.shared {
            // Sharing is an optimisation; a full disk must not fail the build.
            let _ = shared.store_bytes(Kind::Module, &shared_key, &compiled);
        }
        Ok(key)
    }

    fn entry_path(&self, engine: &SandboxEngine, key: &str) -> PathBuf {
        self.dir
            .join(format!("{key}-{}.cwasm", engine.compatibility_key()))
    }

    /// Loads an entry, or `None` when it is missing, truncated, corrupt or from another
    /// wasmtime: all of those are recompiled rather than reported.
    fn deserialize(&self, engine: &SandboxEngine, entry: &Path) -> Option<Module> {
        if !entry.is_file() {
            return None;
        }
        // SAFETY: entries are written only by `store`, in a directory that sandboxed code
        // cannot write (see the type's docs); wasmtime checks the header, version and
        // engine settings and rejects anything it did not produce.
        unsafe { Module::deserialize_file(engine.engine(), entry) }.ok()
    }

    fn store(&self, entry: &Path, compiled: &[u8]) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("failed to create module cache {}", self.dir.display()))?;
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)
            .with_context(|| format!("failed to write into module cache {}", self.dir.display()))?;
        temp.write_all(compiled)
            .and_then(|()| temp.flush())
            .with_context(|| format!("failed to write into module cache {}", self.dir.display()))?;
        temp.persist(entry)
            .with_context(|| format!("failed to store {}", entry.display()))?;
        Ok(())
    }
}

/// The local key of a module with SHA-256 `digest`: its first 16 bytes, as hex.
fn key_of(digest: &[u8]) -> String {
    digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The shared cache's key for a module with SHA-256 `digest` compiled by `engine`: the
/// whole digest and the engine's compatibility key (wasmtime version, Cranelift settings,
/// CPU features).
fn shared_key(engine: &SandboxEngine, digest: &[u8]) -> Key {
    let mut key = Key::builder("module");
    key.add(digest).add(engine.compatibility_key());
    key.finish()
}

fn compile(engine: &SandboxEngine, wasm: &[u8]) -> Result<Vec<u8>> {
    engine
        .engine()
        .precompile_module(wasm)
        .map_err(anyhow::Error::from)
        .context("failed to compile the build script's wasm module")
}

fn deserialize_bytes(engine: &SandboxEngine, compiled: &[u8]) -> Result<Module> {
    // SAFETY: `compiled` was produced by `precompile_module` of this very engine a moment
    // ago, in this process.
    unsafe { Module::deserialize(engine.engine(), compiled) }
        .map_err(anyhow::Error::from)
        .context("failed to load a module this process just compiled")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(module (func (export "_start")))`, hand-assembled.
    const EMPTY_START: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
        0x03, 0x02, 0x01, 0x00, // function section
        0x07, 0x0a, 0x01, 0x06, b'_', b's', b't', b'a', b'r', b't', 0x00, 0x00, // export
        0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code section
    ];

    fn entries(dir: &Path) -> Vec<PathBuf> {
        fs::read_dir(dir)
            .map(|it| it.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn precompiled_entry_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path().join("modules"));
        let engine = SandboxEngine::get().unwrap();
        let key = cache.precompile(&engine, EMPTY_START).unwrap();
        let stored = entries(cache.dir());
        assert_eq!(stored.len(), 1);
        let no_wasm = dir.path().join("absent.wasm");
        let module = cache.load(&engine, &key, &no_wasm).unwrap();
        assert!(module.get_export("_start").is_some());
        assert_eq!(entries(cache.dir()), stored, "no second entry was written");
    }

    #[test]
    fn corrupt_entry_is_recompiled_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path());
        let engine = SandboxEngine::get().unwrap();
        let wasm = dir.path().join("script.wasm");
        fs::write(&wasm, EMPTY_START).unwrap();
        let key = cache.precompile(&engine, EMPTY_START).unwrap();
        let entry = entries(cache.dir())
            .into_iter()
            .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .unwrap();
        fs::write(&entry, b"\x7fELF garbage").unwrap();
        let module = cache.load(&engine, &key, &wasm).unwrap();
        assert!(module.get_export("_start").is_some());
        assert_ne!(
            fs::read(&entry).unwrap(),
            b"\x7fELF garbage",
            "entry was repaired"
        );
    }

    #[test]
    fn modules_from_bytes_are_compiled_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path());
        let engine = SandboxEngine::get().unwrap();
        let module = cache.load_bytes(&engine, EMPTY_START).unwrap();
        assert!(module.get_export("_start").is_some());
        let stored = entries(cache.dir());
        assert_eq!(stored.len(), 1);
        let modified = fs::metadata(&stored[0]).unwrap().modified().unwrap();
        cache.load_bytes(&engine, EMPTY_START).unwrap();
        assert_eq!(entries(cache.dir()), stored);
        assert_eq!(
            fs::metadata(&stored[0]).unwrap().modified().unwrap(),
            modified,
            "loaded, not stored again"
        );
    }

    #[test]
    fn invalid_wasm_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModuleCache::new(dir.path());
        let engine = SandboxEngine::get().unwrap();
        let wasm = dir.path().join("script.wasm");
        fs::write(&wasm, b"not wasm").unwrap();
        let err = cache.load(&engine, "0123", &wasm).unwrap_err();
        assert!(format!("{err:#}").contains("failed to compile"), "{err:#}");
    }
}
