//! Downloaded libraries compiled natively, kept in the user's store by what they are
//! compiled from: a fresh target directory at the same path (a `cargo clean`, a CI job
//! with its cache restored) compiles no registry or git library that was compiled there
//! before from the same sources, arguments, toolchain and dependencies. With the run
//! cache, that is what makes a clean build faster than plain cargo's.
//!
//! Only compiles whose output is a function of what the key covers are kept:
//! - a library (`lib`/`rlib`, no proc macro, no linking) of a package from a registry or
//!   a git checkout, under plain rustc (no user wrapper such as sccache, no workspace
//!   wrapper), without incremental compilation, with every `-C` option one known to
//!   read no file, no `-Z` option, no argument file, no target spec file;
//! - the first level covers the tool, the compiler (its path and files, which rustup
//!   replaces on every update), every argument verbatim (paths included: the bytes of an
//!   rlib name the target directory, so another target directory is another key), the
//!   working directory, the variables cargo sets for the compile and rustc's `RUSTC_*`
//!   switches, and the contents of every crate it links (`--extern`) and of every static
//!   native library it bundles (`-l static=`, found in its `-L` directories as rustc
//!   finds it);
//! - the second level ([`ReadSet`]) what the compile read, from its dep-info: every
//!   source file by content (an edited registry source is a miss, unlike cargo, which
//!   never looks) and every variable read through `env!`/`option_env!` by value.
//!
//! What is not covered, as with cargo's own fingerprints and sccache: what a proc macro
//! reads without telling rustc. Proc macros themselves are covered by content.
//!
//! An entry is rustc's diagnostics (replayed to cargo, artifact notifications included, so
//! pipelining works as with a compile) and the files it wrote, each stored by content and
//! checked against its digest when fetched. Anything that does not check out is a miss,
//! and rustc runs. `CARGO_WASM_BUILD_LIBRARY_CACHE=off` turns it off.

#![allow(
    clippy::disallowed_methods,
    reason = "the key covers the variables cargo sets for the compile and rustc's RUSTC_* switches"
)]

use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use wasm_build_cache::{ArtifactCache, Key, Kind};
use wasm_build_contract::vars::LIBRARY_CACHE_ENV;

use wasm_build_exec::program::find_on_path;

use crate::digest_memo::DigestMemo;
use crate::invocation::Invocation;
use crate::read_set::ReadSet;
use crate::record::is_cargo_compile_var;
use crate::twin_key::add_rustc_env;

/// Bumped when what an entry holds, or what a key covers, changes.
const FORMAT: u32 = 1;

/// How many read sets a first-level entry keeps (newest first).
const CANDIDATES: usize = 4;

/// rustc's diagnostics past this are not kept (the compile still succeeds, uncached).
const MAX_STDERR: usize = 16 << 20;

/// `-C` options that make rustc read no file and whose effect is all in the argument.
const PURE_CODEGEN: &[&str] = &[
    "metadata",
    "extra-filename",
    "embed-bitcode",
    "debuginfo",
    "opt-level",
    "codegen-units",
    "strip",
    "panic",
    "debug-assertions",
    "overflow-checks",
    "lto",
    "linker-plugin-lto",
    "split-debuginfo",
    "target-cpu",
    "target-feature",
    "force-frame-pointers",
    "force-unwind-tables",
    "relocation-model",
    "code-model",
    "prefer-dynamic",
    "symbol-mangling-version",
    "instrument-coverage",
    "no-redzone",
    "soft-float",
    "relro-level",
    "link-dead-code",
    "default-linker-libraries",
    "linker",
    "linker-flavor",
    "link-arg",
    "link-args",
    "link-self-contained",
    "rpath",
];

/// What a compile left: the files rustc wrote (each stored by content) and its stderr.
#[derive(Debug, Serialize, Deserialize)]
struct Compiled {
    format: u32,
    /// Each file rustc wrote, by path and SHA-256, in the order it reported them.
    outputs: Vec<(PathBuf, String)>,
    /// rustc's stderr: cargo's JSON diagnostics and artifact notifications.
    stderr: Vec<u8>,
}

/// One native compile of a library, as cargo asked for it.
pub(crate) struct LibraryCompile<'a> {
    rustc: &'a Path,
    args: &'a [String],
    invocation: &'a Invocation,
    /// `--out-dir`: where rustc writes, and the only place an entry is written back to.
    out_dir: &'a Path,
    /// Digests of the libraries in `out_dir` already hashed.
    memo: DigestMemo,
}

impl<'a> LibraryCompile<'a> {
    /// The compile of plain `rustc` (the caller knows there is no wrapper around it), when
    /// the library cache may keep it (see the module docs).
    pub(crate) fn of(
        rustc: &'a Path,
        args: &'a [String],
        invocation: &'a Invocation,
    ) -> Option<Self> {
        let off = std::env::var_os(LIBRARY_CACHE_ENV).is_some_and(|value| value == "off");
        let keyable = invocation.is_rust_library()
            && reports_artifacts(invocation)
            && reads_only_keyed_files(invocation, args)
            && is_downloaded();
        if off || !keyable {
            return None;
        }
        let out_dir = invocation.out_dir()?;
        Some(LibraryCompile {
            rustc,
            args,
            invocation,
            out_dir,
            memo: DigestMemo::for_deps_dir(out_dir)?,
        })
    }

    /// Restores the compile from `store`, or runs rustc and stores what it wrote; the exit
    /// status for cargo.
    pub(crate) fn run(&self, store: &ArtifactCache) -> std::io::Result<i32> {
        let first = self.key();
        if let Some(first) = &first
            && let Some(stderr) = self.restore(store, first)
        {
            store.note_library(true);
            std::io::stderr().write_all(&stderr)?;
            return Ok(0);
        }
        let started = SystemTime::now();
        let (status, stderr) = self.compile()?;
        if status == 0
            && let Some(first) = &first
            && let Some(stderr) = stderr
            && self.store(store, first, stderr, started).is_some()
        {
            store.note_library(false);
        }
        Ok(status)
    }

    /// The first-level key, or `None` when an input cannot be read.
    fn key(&self) -> Option<Key> {
        let mut key = Key::builder("library-v1");
        key.add(FORMAT.to_le_bytes());
        key.add(env!("CARGO_PKG_VERSION"));
        key.add("rustc");
        add_compiler(&mut key, self.rustc)?;
        key.add("args");
        for arg in self.args {
            key.add(arg);
        }
        key.add("cwd");
        key.add(std::env::current_dir().ok()?.as_os_str().as_encoded_bytes());
        key.add("env");
        let mut env: Vec<(String, std::ffi::OsString)> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
            .filter(|(name, _)| is_cargo_compile_var(name))
            .collect();
        env.sort();
        for (name, value) in env {
            key.add(name).add(value.as_encoded_bytes());
        }
        add_rustc_env(&mut key);
        key.add("externs");
        for external in self.invocation.externs() {
            key.add(&external.name);
            if let Some(path) = &external.path {
                key.add(self.memo.digest(path)?);
            }
        }
        key.add("static-libraries");
        for library in bundled_libraries(self.invocation)? {
            key.add(wasm_build_cache::file_digest(&library).ok()?);
        }
        Some(key.finish())
    }

    /// Puts the files of the first stored compile whose read set matches here where
    /// rustc would have written them; its stderr, or `None` on a miss.
    fn restore(&self, store: &ArtifactCache, first: &Key) -> Option<Vec<u8>> {
        let candidates: Vec<ReadSet> = store.candidates(Kind::Library, first, FORMAT)?;
        let candidate = candidates.iter().find(|read| read.matches_here())?;
        let compiled: Compiled = store
            .fetch_bytes(Kind::Library, &candidate.key("library-result-v1", first)?)
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .filter(|compiled: &Compiled| compiled.format == FORMAT)?;
        for (path, digest) in &compiled.outputs {
            if !is_output_of(path, self.out_dir)
                || !store.fetch_content(Kind::Library, digest, path)
            {
                return None;
            }
            self.memo.remember(path, digest);
        }
        Some(compiled.stderr)
    }

    /// Runs rustc, passing its stderr on line by line as it comes (cargo starts the
    /// dependents of a library when rustc reports its metadata) and keeping a copy;
    /// returns its status and the copy (`None` when too big to keep).
    fn compile(&self) -> std::io::Result<(i32, Option<Vec<u8>>)> {
        let mut child = Command::new(self.rustc)
            .args(self.args)
            .stderr(Stdio::piped())
            .spawn()?;
        let Some(pipe) = child.stderr.take() else {
            return Ok((exit_code(child.wait()?), None));
        };
        let mut kept = Some(Vec::new());
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        let mut stderr = std::io::stderr();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            stderr.write_all(&line)?;
            if let Some(copy) = &mut kept {
                copy.extend_from_slice(&line);
                if copy.len() > MAX_STDERR {
                    kept = None;
                }
            }
        }
        Ok((exit_code(child.wait()?), kept))
    }

    /// Keeps a successful compile: the files rustc reported writing, its read set and
    /// stderr. Nothing is kept when an output is outside `--out-dir` or a file rustc read
    /// cannot be read; nothing about it fails the build.
    fn store(
        &self,
        store: &ArtifactCache,
        first: &Key,
        stderr: Vec<u8>,
        started: SystemTime,
    ) -> Option<()> {
        let outputs = artifacts(&stderr);
        if outputs.is_empty() || outputs.iter().any(|path| !is_output_of(path, self.out_dir)) {
            return None;
        }
        let dep_info = outputs
            .iter()
            .find(|path| path.extension().is_some_and(|ext| ext == "d"))?;
        let read = ReadSet::from_dep_info(&fs::read_to_string(dep_info).ok()?, |path| {
            changed_since(path, started)
        })?;
        let mut stored = Vec::with_capacity(outputs.len());
        for path in outputs {
            let digest = store.store_content(Kind::Library, &path).ok()?;
            self.memo.remember(&path, &digest);
            stored.push((path, digest));
        }
        let compiled = Compiled {
            format: FORMAT,
            outputs: stored,
            stderr,
        };
        let bytes = serde_json::to_vec(&compiled).ok()?;
        store
            .store_bytes(
                Kind::Library,
                &read.key("library-result-v1", first)?,
                &bytes,
            )
            .ok()?;
        store.add_candidate(Kind::Library, first, FORMAT, CANDIDATES, read)
    }
}

/// Whether `path` was written (or its status changed) at or after `started`: a source
/// that changed while rustc ran may differ from what it compiled, so the compile is not
/// kept (ccache refuses such files the same way). Unreadable counts as changed.
fn changed_since(path: &Path, started: SystemTime) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = fs::metadata(path) else {
        return true;
    };
    let changed = SystemTime::UNIX_EPOCH
        + std::time::Duration::new(
            u64::try_from(meta.ctime()).unwrap_or(0),
            u32::try_from(meta.ctime_nsec()).unwrap_or(0),
        );
    meta.modified().map_or(true, |modified| modified >= started) || changed >= started
}

/// The status to exit with for rustc's: its code, or 128 plus the signal that stopped
/// it, as a shell says it.
fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(1)
}

/// Whether `path` names a file directly in `out_dir`, where rustc writes a library's
/// outputs: an entry naming any other place (`out/../../.bashrc`) is never written.
fn is_output_of(path: &Path, out_dir: &Path) -> bool {
    let named = path
        .file_name()
        .is_some_and(|name| name != ".." && name != ".");
    named && path.parent() == Some(out_dir)
}

/// The files rustc reported writing (`--json=artifacts`), in order.
fn artifacts(stderr: &[u8]) -> Vec<PathBuf> {
    #[derive(Deserialize)]
    struct Artifact {
        artifact: PathBuf,
    }
    stderr
        .split(|byte| *byte == b'\n')
        .filter(|line| line.starts_with(b"{\"$message_type\":\"artifact\""))
        .filter_map(|line| serde_json::from_slice::<Artifact>(line).ok())
        .map(|artifact| artifact.artifact)
        .collect()
}

/// Whether rustc will report the files it writes, which is how an entry learns them.
fn reports_artifacts(invocation: &Invocation) -> bool {
    invocation.value("--error-format") == Some("json")
        && invocation
            .values("--json")
            .any(|value| value.split(',').any(|part| part == "artifacts"))
}

/// Whether every file the compile reads, besides its sources (in the dep-info) and the
/// crates and static libraries it links (in the key), is named by no argument: no
/// argument file, no `-Z`, no target spec, no `-C` option outside [`PURE_CODEGEN`],
/// no incremental directory.
fn reads_only_keyed_files(invocation: &Invocation, args: &[String]) -> bool {
    let pure_codegen = invocation.values("-C").all(|value| {
        let name = value.split_once('=').map_or(value, |(name, _)| name);
        PURE_CODEGEN.contains(&name)
    });
    let spec_file = invocation.values("--target").any(|target| {
        Path::new(target)
            .extension()
            .is_some_and(|ext| ext == "json")
    });
    pure_codegen
        && !spec_file
        && invocation.values("-Z").next().is_none()
        && !args.iter().any(|arg| arg.starts_with('@'))
}

/// Whether the package comes from a registry or a git checkout, which cargo never
/// rebuilds on its own: a path dependency or a workspace member is the user's to edit.
fn is_downloaded() -> bool {
    let (Some(home), Some(manifest_dir)) = (
        wasm_build_contract::cargo::cargo_home(),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) else {
        return false;
    };
    wasm_build_contract::cargo::is_downloaded(&home, Path::new(&manifest_dir))
}

/// Adds the compiler: its path, and the identity (size, modification time, inode) of the
/// driver library beside it and of the executable, which every toolchain install or
/// update replaces. `None` when there is no driver library where rustup and distribution
/// packages put it (an unfamiliar layout is not keyed).
fn add_compiler(key: &mut wasm_build_cache::KeyBuilder, rustc: &Path) -> Option<()> {
    use std::os::unix::fs::MetadataExt as _;
    let rustc = match rustc.to_str() {
        _ if rustc.is_absolute() => rustc.to_path_buf(),
        // A bare name is what cargo ran from `PATH`; another relative path, from here.
        Some(name) if rustc.components().count() == 1 => {
            find_on_path(name, std::env::var_os("PATH").as_deref())?
        }
        _ => fs::canonicalize(rustc).ok()?,
    };
    let lib = rustc.parent()?.parent()?.join("lib");
    let mut drivers: Vec<PathBuf> = fs::read_dir(&lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("librustc_driver-"))
        })
        .collect();
    if drivers.is_empty() {
        return None;
    }
    drivers.sort();
    key.add(rustc.as_os_str().as_encoded_bytes());
    for file in std::iter::once(&rustc).chain(&drivers) {
        let meta = fs::metadata(file).ok()?;
        key.add(file.as_os_str().as_encoded_bytes());
        key.add(meta.len().to_le_bytes())
            .add(meta.mtime().to_le_bytes())
            .add(meta.mtime_nsec().to_le_bytes())
            .add(meta.ino().to_le_bytes());
    }
    Some(())
}

/// The static native libraries the rlib bundles (`-l static=name`, `-l static:+bundle=
/// name`), found in the `-L native=`/`-L all=` directories in order as rustc looks; `None`
/// when one is not there (rustc would look elsewhere, outside the key) or the kind is
/// not understood.
fn bundled_libraries(invocation: &Invocation) -> Option<Vec<PathBuf>> {
    let dirs: Vec<&Path> = invocation
        .values("-L")
        .filter_map(|value| match value.split_once('=') {
            Some(("native" | "all", dir)) => Some(Path::new(dir)),
            Some(("dependency" | "crate" | "framework", _)) => None,
            _ => Some(Path::new(value)),
        })
        .collect();
    let mut found = Vec::new();
    for value in invocation.values("-l") {
        let (kind, name) = value.split_once('=').unwrap_or(("dylib", value));
        let (kind, modifiers) = kind.split_once(':').unwrap_or((kind, ""));
        let name = name.split_once(':').map_or(name, |(name, _)| name);
        match kind {
            "static" if !modifiers.contains("-bundle") => {
                let file = format!("lib{name}.a");
                found.push(
                    dirs.iter()
                        .map(|dir| dir.join(&file))
                        .find(|path| path.is_file())?,
                );
            }
            "static" | "dylib" | "framework" | "link-arg" => {}
            _ => return None,
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(args: &[&str]) -> Invocation {
        Invocation::parse(&args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn only_compiles_that_read_nothing_unkeyed_are_kept() {
        let base = [
            "--crate-type",
            "lib",
            "--error-format=json",
            "--json=diagnostic-rendered-ansi,artifacts,future-incompat",
            "-C",
            "debuginfo=2",
            "-C",
            "metadata=abc",
        ];
        let ok = invocation(&base);
        let args: Vec<String> = base.iter().map(|arg| arg.to_string()).collect();
        assert!(reports_artifacts(&ok) && reads_only_keyed_files(&ok, &args));
        for extra in [
            &["-C", "incremental=/tmp/inc"][..],
            &["-C", "profile-use=/tmp/p.profdata"],
            &["-Z", "unstable-options"],
            &["--target", "/tmp/custom.json"],
            &["@/tmp/args"],
        ] {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            let args: Vec<String> = all.iter().map(|arg| arg.to_string()).collect();
            assert!(
                !reads_only_keyed_files(&invocation(&all), &args),
                "{extra:?} names a file outside the key"
            );
        }
        assert!(!reports_artifacts(&invocation(&["--crate-type", "lib"])));
    }

    /// The compile of `args` by `rustc`, whatever its package (the environment says
    /// which package is compiled; [`LibraryCompile::of`] checks it).
    fn compile_of<'a>(
        rustc: &'a Path,
        args: &'a [String],
        invocation: &'a Invocation,
    ) -> LibraryCompile<'a> {
        let out_dir = invocation.out_dir().unwrap();
        LibraryCompile {
            rustc,
            args,
            invocation,
            out_dir,
            memo: DigestMemo::for_deps_dir(out_dir).unwrap(),
        }
    }

    /// A toolchain laid out as rustup and distributions do: `bin/rustc` beside
    /// `lib/librustc_driver-<hash>.so`.
    fn toolchain(dir: &Path, driver: &str) -> PathBuf {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::create_dir_all(dir.join("lib")).unwrap();
        fs::write(dir.join("bin/rustc"), b"rustc").unwrap();
        fs::write(
            dir.join(format!("lib/librustc_driver-{driver}.so")),
            b"driver",
        )
        .unwrap();
        dir.join("bin/rustc")
    }

    /// Every input the first level covers changes the key: the toolchain, an argument,
    /// a linked crate's or a bundled static library's contents.
    #[test]
    fn every_input_changes_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let rustc = toolchain(&dir.path().join("toolchain"), "aaaa");
        let deps = dir.path().join("debug/deps");
        fs::create_dir_all(&deps).unwrap();
        let dep = deps.join("libdep-1.rmeta");
        fs::write(&dep, b"rust dep v1").unwrap();
        let native = dir.path().join("out");
        fs::create_dir_all(&native).unwrap();
        fs::write(native.join("libbundled.a"), b"!<arch>\nv1").unwrap();
        let args: Vec<String> = [
            "--crate-name",
            "lib",
            "--crate-type",
            "lib",
            "-C",
            "metadata=1",
            "--out-dir",
            deps.to_str().unwrap(),
            "--extern",
            &format!("dep={}", dep.display()),
            "-L",
            &format!("native={}", native.display()),
            "-l",
            "static=bundled",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        let key = |rustc: &Path, args: &[String]| {
            let invocation = Invocation::parse(args).unwrap();
            compile_of(rustc, args, &invocation).key().unwrap()
        };
        let base = key(&rustc, &args);
        assert_eq!(key(&rustc, &args), base, "the same compile, the same key");

        let mut other_args = args.clone();
        other_args[5] = "metadata=2".to_string();
        assert_ne!(key(&rustc, &other_args), base, "an argument");

        fs::write(&dep, b"rust dep v2").unwrap();
        let changed_dep = key(&rustc, &args);
        assert_ne!(changed_dep, base, "a linked crate");

        fs::write(native.join("libbundled.a"), b"!<arch>\nv2").unwrap();
        let changed_static = key(&rustc, &args);
        assert_ne!(changed_static, changed_dep, "a bundled static library");

        let updated = toolchain(&dir.path().join("toolchain"), "bbbb");
        fs::remove_file(dir.path().join("toolchain/lib/librustc_driver-aaaa.so")).unwrap();
        assert_ne!(key(&updated, &args), changed_static, "another toolchain");

        let unknown = dir.path().join("elsewhere/rustc");
        fs::create_dir_all(unknown.parent().unwrap()).unwrap();
        fs::write(&unknown, b"rustc").unwrap();
        let invocation = Invocation::parse(&args).unwrap();
        let without_driver = compile_of(&unknown, &args, &invocation);
        assert!(
            without_driver.key().is_none(),
            "an unfamiliar layout is not keyed"
        );
    }

    #[test]
    fn bundled_static_libraries_are_found_where_rustc_looks() {
        let dir = tempfile::tempdir().unwrap();
        let native = dir.path().join("out");
        fs::create_dir_all(&native).unwrap();
        fs::write(native.join("libzstd.a"), b"!<arch>\n").unwrap();
        let native_arg = format!("native={}", native.display());
        let found = bundled_libraries(&invocation(&[
            "-L",
            "dependency=/nowhere",
            "-L",
            &native_arg,
            "-l",
            "static=zstd",
            "-l",
            "dylib=m",
        ]))
        .unwrap();
        assert_eq!(found, [native.join("libzstd.a")]);
        assert!(
            bundled_libraries(&invocation(&["-L", &native_arg, "-l", "static=missing"])).is_none(),
            "a static library rustc would find elsewhere is not keyed"
        );
        assert_eq!(
            bundled_libraries(&invocation(&["-l", "static:-bundle=zstd"])).unwrap(),
            Vec::<PathBuf>::new(),
            "not bundled: the final link reads it, not this compile"
        );
    }

    #[test]
    fn only_files_directly_in_the_output_directory_are_outputs() {
        let out = Path::new("/t/debug/deps");
        assert!(is_output_of(Path::new("/t/debug/deps/libx-1.rlib"), out));
        for elsewhere in [
            "/t/debug/deps/../../../home/u/.bashrc",
            "/t/debug/deps/sub/libx-1.rlib",
            "/t/debug/libx-1.rlib",
            "/t/debug/deps/..",
            "/t/debug/deps",
        ] {
            assert!(!is_output_of(Path::new(elsewhere), out), "{elsewhere}");
        }
    }

    /// A file written while rustc ran is not one the compile can be keyed by.
    #[test]
    fn a_source_changed_during_the_compile_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("lib.rs");
        fs::write(&source, "pub fn f() {}").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let started = SystemTime::now();
        assert!(!changed_since(&source, started));
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(&source, "pub fn g() {}").unwrap();
        assert!(changed_since(&source, started));
        assert!(changed_since(&dir.path().join("gone.rs"), started));
    }

    #[test]
    fn artifacts_are_read_from_rustcs_notifications() {
        let stderr = br#"{"$message_type":"artifact","artifact":"/t/deps/x-1.d","emit":"dep-info"}
{"$message_type":"diagnostic","message":"unused","rendered":"warning"}
{"$message_type":"artifact","artifact":"/t/deps/libx-1.rmeta","emit":"metadata"}
{"$message_type":"artifact","artifact":"/t/deps/libx-1.rlib","emit":"link"}
"#;
        assert_eq!(
            artifacts(stderr),
            [
                PathBuf::from("/t/deps/x-1.d"),
                PathBuf::from("/t/deps/libx-1.rmeta"),
                PathBuf::from("/t/deps/libx-1.rlib")
            ]
        );
    }
}
