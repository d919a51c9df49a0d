//! Building the std facade (see `wasm-build-shim`) for the rustc at hand.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use sha2::{Digest, Sha256};
use wasm_build_cache::{ArtifactCache, Key, Kind};
use wasm_build_shim::{FACADE_CRATE_NAME, FACADE_ROOT, facade_sources, guest_link_args};

use crate::guest::GUEST_TARGET;

/// How the facade is compiled, apart from paths; part of its key.
const COMPILE_ARGS: [&str; 11] = [
    "--edition",
    "2021",
    "--crate-type",
    "rlib",
    "-O",
    "--cap-lints",
    "warn",
    "--crate-name",
    FACADE_CRATE_NAME,
    "--target",
    GUEST_TARGET,
];

/// What the facade's source directory is called inside it; part of its key.
const REMAPPED: &str = "/cargo-wasm-build/std";

/// The facade compiled for one rustc.
#[derive(Debug, Clone)]
pub struct Facade {
    /// The rlib to pass as `--extern std=...`.
    pub rlib: PathBuf,
    /// Changes when the facade or the rustc changes; names its directory.
    pub key: String,
    /// The SHA-256 of the rlib's bytes. Twins are keyed by it, not by `key`: a twin
    /// records the exact facade it was compiled against, and must never be handed out
    /// beside another one (which rustc refuses with E0460).
    pub digest: String,
}

impl Facade {
    /// The facade for `rustc`, built into `dir` on first use (about half a second, or a
    /// copy from the user's `shared` cache) and reused afterwards. Parallel builds wait
    /// for each other instead of racing.
    ///
    /// # Errors
    ///
    /// Fails when rustc cannot compile it, most often because the wasm32-wasip1 target is
    /// not installed; the error says how to install it.
    pub fn for_rustc(rustc: &Path, dir: &Path, shared: Option<&ArtifactCache>) -> Result<Self> {
        let key = facade_key(rustc);
        let out = dir.join(&key);
        let rlib = out.join(format!("lib{FACADE_CRATE_NAME}.rlib"));
        let facade = |key: String| -> Result<Facade> {
            Ok(Facade {
                digest: file_digest(&rlib)?,
                rlib: rlib.clone(),
                key,
            })
        };
        if rlib.is_file() {
            return facade(key);
        }
        fs::create_dir_all(&out).with_context(|| format!("failed to create {}", out.display()))?;
        let lock_path = out.join(".lock");
        let lock = File::create(&lock_path)
            .with_context(|| format!("failed to create {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("failed to lock {}", lock_path.display()))?;
        if rlib.is_file() {
            return facade(key);
        }
        let shared_key = {
            let mut shared_key = Key::builder("facade");
            shared_key.add(&key);
            shared_key.finish()
        };
        if let Some(shared) = shared
            && shared.fetch(Kind::Facade, &shared_key, &rlib)
        {
            return facade(key);
        }
        let sources = out.join("src");
        for (path, contents) in facade_sources() {
            let file = sources.join(path);
            if let Some(parent) = file.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("failed to create {}", parent.display()))?;
            }
            fs::write(&file, contents)
                .with_context(|| format!("failed to write {}", file.display()))?;
        }
        let partial = out.join(format!("lib{FACADE_CRATE_NAME}.rlib.partial"));
        let output = Command::new(rustc)
            .args(COMPILE_ARGS)
            // The sources' directory is inside the target directory; with it remapped the
            // facade is the same in every one, and so are the twins compiled against it.
            .arg(format!(
                "--remap-path-prefix={}={REMAPPED}",
                sources.display()
            ))
            .arg("-o")
            .arg(&partial)
            .arg(sources.join(FACADE_ROOT))
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("failed to run {}", rustc.display()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("E0463") || stderr.contains("may not be installed") {
                bail!(
                    "the {GUEST_TARGET} target is not installed for {}; \
                     install it with `rustup target add {GUEST_TARGET}`",
                    rustc.display()
                );
            }
            bail!(
                "failed to compile the sandbox's std facade:\n{}",
                stderr.trim_end()
            );
        }
        fs::rename(&partial, &rlib)
            .with_context(|| format!("failed to write {}", rlib.display()))?;
        if let Some(shared) = shared {
            // Sharing is an optimisation; a full disk must not fail the build.
            let _ = shared.store(Kind::Facade, &shared_key, &rlib);
        }
        facade(key)
    }

    /// The arguments that make a guest compile use the facade as `std`.
    ///
    /// Every guest library records the facade under its real crate name, and rustc finds
    /// a dependency's dependencies by that name on the `-L dependency=` paths, not through
    /// `--extern std=`. A `#![no_std]` crate never loads its `std` extern, so without the
    /// search path it cannot load a guest library built against the facade (prost without
    /// its `std` feature, over bytes).
    pub fn rustc_args(&self) -> Vec<String> {
        rustc_args(&self.rlib)
    }
}

/// [`Facade::rustc_args`] for the facade at `rlib`, for a process that was handed its path.
pub fn rustc_args(rlib: &Path) -> Vec<String> {
    let mut args = vec!["--extern".into(), format!("std={}", rlib.display())];
    if let Some(dir) = rlib.parent() {
        args.extend(["-L".into(), format!("dependency={}", dir.display())]);
    }
    args.extend(guest_link_args());
    args
}

/// The SHA-256 of a file's bytes, as hex.
pub(crate) fn file_digest(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// A digest of the facade's sources and the identity of the rustc file (path, size,
/// modification time: a toolchain update replaces the file) and rustup toolchain.
///
/// The facade is shared across projects through the user's cache, where a stale entry
/// would outlive `cargo clean`: under a rustup proxy, whose file stays the same when
/// `stable` moves on, the toolchain's own rustc is identified too (as cargo does for its
/// `rustc -vV` cache).
fn facade_key(rustc: &Path) -> String {
    let mut digest = Sha256::new();
    for (path, contents) in facade_sources() {
        digest.update(path.as_bytes());
        digest.update(contents.as_bytes());
    }
    for arg in guest_link_args()
        .iter()
        .map(String::as_str)
        .chain(COMPILE_ARGS)
        .chain([REMAPPED])
    {
        digest.update(arg.as_bytes());
        digest.update([0]);
    }
    // A rustup proxy keeps its file across toolchain updates; the toolchain it resolved
    // to is in the environment it gave cargo.
    if let Some(toolchain) = std::env::var_os("RUSTUP_TOOLCHAIN") {
        digest.update(toolchain.as_encoded_bytes());
    }
    let resolved = rustc.canonicalize().unwrap_or_else(|_| rustc.to_path_buf());
    let toolchain_rustc = match (
        std::env::var_os("RUSTUP_HOME"),
        std::env::var_os("RUSTUP_TOOLCHAIN"),
    ) {
        (Some(home), Some(toolchain)) => Some(
            PathBuf::from(home)
                .join("toolchains")
                .join(toolchain)
                .join("bin")
                .join("rustc"),
        ),
        _ => None,
    };
    for file in std::iter::once(resolved).chain(toolchain_rustc) {
        digest.update(file.as_os_str().as_encoded_bytes());
        if let Ok(meta) = fs::metadata(&file) {
            digest.update(meta.len().to_le_bytes());
            if let Ok(modified) = meta.modified() {
                digest.update(format!("{modified:?}").as_bytes());
            }
        }
    }
    digest
        .finalize()
        .iter()
        .take(12)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
