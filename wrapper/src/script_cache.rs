//! Build scripts compiled for the guest, kept in the user's cache by what they are
//! compiled from: a fresh target directory (a `cargo clean`, a new worktree, a CI job)
//! compiles no build script that was compiled before from the same sources, arguments,
//! toolchain and build-dependencies. With the run cache, that makes a build script whose
//! run is restored cost a lookup instead of a compile.
//!
//! The key has two levels, as ccache's "direct mode" has. The first covers the compile
//! as the wrapper sees it before rustc runs: the tool, the facade (which names the
//! rustc), the guest compile's arguments with the profile directory as a mark, the
//! digests of the twins it links and the contents of the native proc macros it loads,
//! the working directory, and rustc's own `RUSTC_*` switches. The second covers what
//! only a compile shows, from the dep-info of the compile that stored the entry: every
//! file rustc read (by path and SHA-256) and every variable it read through `env!` or
//! `option_env!` (by value). A lookup checks each candidate's files and variables here,
//! and takes the first that matches.
//!
//! An entry holds the module, the dep-info and rustc's diagnostics (replayed to cargo as
//! a compile would print them), the output directory as a mark. Every entry is checked
//! against its digest when fetched (the store's header), and the module against the
//! digest the entry names; anything that does not check out is a miss, and rustc runs.
//! Only compiles against twins are kept: a nested cargo's libraries are not keyed.

#![allow(
    clippy::disallowed_methods,
    reason = "the compiled-script key covers rustc's own RUSTC_* switches"
)]

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use wasm_build_cache::{ArtifactCache, Key, Kind, content_digest};

use crate::invocation::{Extern, Invocation};
use crate::read_set::{ReadSet, write_atomically};
use crate::twin_key::{add_compile, add_rustc_env};

/// Bumped when what an entry holds, or what a key covers, changes.
const FORMAT: u32 = 1;

/// What stands for the profile directory in keys, and for the output directory in
/// stored dep-info and diagnostics: a NUL is in no path and no argument.
const PROFILE_MARK: &str = "\0profile\0";
const OUT_DIR_MARK: &str = "\0out-dir\0";

/// How many second-level candidates a first-level entry keeps (newest first): a
/// package's sources change rarely, and each candidate costs a lookup its digests.
const CANDIDATES: usize = 4;

/// The first-level inputs of one build-script compile.
pub(crate) struct ScriptCompile<'a> {
    /// The guest compile, without `--emit`/`--out-dir`, with the script's own arguments.
    pub guest: &'a Invocation,
    /// The digests of the twins it links.
    pub linked: &'a [&'a str],
    /// The digest of the std facade.
    pub toolchain_key: &'a str,
    /// `<profile>`, replaced by a mark.
    pub profile_dir: &'a Path,
    /// Where cargo wants the module, its dep-info and `.d` file.
    pub out_dir: &'a Path,
}

/// What a compile left for cargo.
#[derive(Debug, Serialize, Deserialize)]
struct Compiled {
    format: u32,
    /// SHA-256 of the module, which is an entry of its own.
    module: String,
    /// The dep-info, the output directory as a mark.
    dep_info: String,
    /// rustc's stderr (cargo's JSON diagnostics), the output directory as a mark.
    stderr: Vec<u8>,
}

/// A restored compile: the module and dep-info are in place; `stderr` is for cargo.
pub(crate) struct Restored {
    pub stderr: Vec<u8>,
}

impl ScriptCompile<'_> {
    /// The first-level key, or `None` when an input cannot be read.
    fn key(&self) -> Option<Key> {
        let profile = self.profile_dir.to_str()?;
        let relative = |text: &str| text.replace(profile, PROFILE_MARK);
        let mut key = Key::builder("script-v1");
        key.add(FORMAT.to_le_bytes());
        key.add(env!("CARGO_PKG_VERSION"));
        key.add(self.toolchain_key);
        add_compile(&mut key, self.guest, self.linked, &relative);
        key.add("proc-macros");
        for value in self.guest.values("--extern") {
            if let Some(path) = Extern::parse(value)
                .path
                .filter(|path| !crate::invocation::is_rust_library_file(path))
            {
                key.add(fs::read(path).ok()?);
            }
        }
        key.add("cwd");
        key.add(relative(std::env::current_dir().ok()?.to_str()?));
        add_rustc_env(&mut key);
        Some(key.finish())
    }

    /// Puts the module at `wasm` and the dep-info at `dep_info` from the first candidate
    /// whose files and variables are the same here; `None` on a miss.
    pub(crate) fn restore(
        &self,
        store: &ArtifactCache,
        wasm: &Path,
        dep_info: &Path,
    ) -> Option<Restored> {
        let first = self.key()?;
        let candidates: Vec<ReadSet> = store.candidates(Kind::Module, &first, FORMAT)?;
        let candidate = candidates.iter().find(|c| c.matches_here())?;
        let compiled: Compiled = store
            .fetch_bytes(Kind::Module, &candidate.key("script-result-v1", &first)?)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(|compiled: &Compiled| compiled.format == FORMAT)?;
        let module = store.fetch_bytes(Kind::Module, &module_key(&compiled.module))?;
        if content_digest(&module) != compiled.module {
            return None;
        }
        let out_dir = self.out_dir.to_str()?;
        write_atomically(wasm, &module)?;
        write_atomically(
            dep_info,
            compiled.dep_info.replace(OUT_DIR_MARK, out_dir).as_bytes(),
        )?;
        let stderr = wasm_build_cache::relocate(
            &compiled.stderr,
            OUT_DIR_MARK.as_bytes(),
            out_dir.as_bytes(),
        );
        Some(Restored { stderr })
    }

    /// Keeps a successful compile: the module at `wasm`, its dep-info at `dep_info`,
    /// rustc's `stderr`. Nothing is kept when a file rustc read is in the target
    /// directory (generated, not keyed) or cannot be read; nothing about it fails the
    /// build.
    pub(crate) fn store(&self, store: &ArtifactCache, wasm: &Path, dep_info: &Path, stderr: &[u8]) {
        let _ = self.try_store(store, wasm, dep_info, stderr);
    }

    fn try_store(
        &self,
        store: &ArtifactCache,
        wasm: &Path,
        dep_info: &Path,
        stderr: &[u8],
    ) -> Option<()> {
        let first = self.key()?;
        let text = fs::read_to_string(dep_info).ok()?;
        let candidate = ReadSet::from_dep_info(&text, |path| path.starts_with(self.profile_dir))?;
        let module = fs::read(wasm).ok()?;
        let digest = content_digest(&module);
        let out_dir = self.out_dir.to_str()?;
        if stderr.contains(&0) || text.contains('\0') {
            return None;
        }
        let compiled = Compiled {
            format: FORMAT,
            module: digest.clone(),
            dep_info: text.replace(out_dir, OUT_DIR_MARK),
            stderr: wasm_build_cache::relocate(stderr, out_dir.as_bytes(), OUT_DIR_MARK.as_bytes()),
        };
        store
            .store_bytes(Kind::Module, &module_key(&digest), &module)
            .ok()?;
        let bytes = serde_json::to_vec(&compiled).ok()?;
        store
            .store_bytes(
                Kind::Module,
                &candidate.key("script-result-v1", &first)?,
                &bytes,
            )
            .ok()?;
        store.add_candidate(Kind::Module, &first, FORMAT, CANDIDATES, candidate)
    }
}

fn module_key(digest: &str) -> Key {
    let mut key = Key::builder("script-module");
    key.add(digest);
    key.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile<'a>(
        guest: &'a Invocation,
        profile: &'a Path,
        out_dir: &'a Path,
    ) -> ScriptCompile<'a> {
        ScriptCompile {
            guest,
            linked: &[],
            toolchain_key: "facade",
            profile_dir: profile,
            out_dir,
        }
    }

    /// A compile kept in one target directory is restored in another, its paths
    /// rewritten; a changed source is a miss.
    #[test]
    fn a_compile_is_restored_in_another_target_dir_until_a_source_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactCache::open(&dir.path().join("store")).unwrap();
        let source = dir.path().join("build.rs");
        fs::write(&source, "fn main() {}").unwrap();
        let mut outs = Vec::new();
        for target in ["a", "b"] {
            let profile = dir.path().join(target).join("debug");
            let out_dir = profile.join("build/p-1");
            fs::create_dir_all(&out_dir).unwrap();
            outs.push((profile, out_dir));
        }
        let args = |profile: &Path| {
            Invocation::parse(&[
                source.display().to_string(),
                "-L".into(),
                format!("dependency={}/deps", profile.display()),
            ])
            .unwrap()
        };
        let (profile_a, out_a) = &outs[0];
        let guest_a = args(profile_a);
        let first = compile(&guest_a, profile_a, out_a);
        let wasm = out_a.join("s.wasm");
        let dep_info = out_a.join("s.d");
        fs::write(&wasm, b"\0asm module").unwrap();
        let rule = format!("{}: {}\n", wasm.display(), source.display());
        fs::write(&dep_info, &rule).unwrap();
        let stderr = format!("{{\"artifact\":\"{}\"}}\n", dep_info.display());
        first.store(&store, &wasm, &dep_info, stderr.as_bytes());

        let (profile_b, out_b) = &outs[1];
        let guest_b = args(profile_b);
        let second = compile(&guest_b, profile_b, out_b);
        let restored = second
            .restore(&store, &out_b.join("s.wasm"), &out_b.join("s.d"))
            .expect("a hit in another target directory");
        assert_eq!(fs::read(out_b.join("s.wasm")).unwrap(), b"\0asm module");
        let text = fs::read_to_string(out_b.join("s.d")).unwrap();
        assert_eq!(
            text,
            rule.replace(&out_a.display().to_string(), &out_b.display().to_string())
        );
        assert!(
            String::from_utf8(restored.stderr)
                .unwrap()
                .contains(&out_b.display().to_string())
        );

        fs::write(&source, "fn main() { println!(\"changed\"); }").unwrap();
        let _ = fs::remove_file(out_b.join("s.wasm"));
        assert!(
            second
                .restore(&store, &out_b.join("s.wasm"), &out_b.join("s.d"))
                .is_none(),
            "a changed source is a miss"
        );
        assert!(!out_b.join("s.wasm").exists());
    }

    /// A stored module whose bytes were swapped is never used.
    #[test]
    fn a_swapped_module_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactCache::open(&dir.path().join("store")).unwrap();
        let source = dir.path().join("build.rs");
        fs::write(&source, "fn main() {}").unwrap();
        let profile = dir.path().join("t/debug");
        let out_dir = profile.join("build/p-1");
        fs::create_dir_all(&out_dir).unwrap();
        let guest = Invocation::parse(&[source.display().to_string()]).unwrap();
        let compile = compile(&guest, &profile, &out_dir);
        let wasm = out_dir.join("s.wasm");
        let dep_info = out_dir.join("s.d");
        fs::write(&wasm, b"good").unwrap();
        fs::write(
            &dep_info,
            format!("{}: {}\n", wasm.display(), source.display()),
        )
        .unwrap();
        compile.store(&store, &wasm, &dep_info, b"");
        let digest = content_digest(b"good");
        store
            .store_bytes(Kind::Module, &module_key(&digest), b"evil")
            .unwrap();
        fs::remove_file(&wasm).unwrap();
        assert!(compile.restore(&store, &wasm, &dep_info).is_none());
        assert!(!wasm.exists());
    }
}
