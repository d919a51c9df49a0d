//! Building the std facade (see `wasm-build-shim`) for the rustc at hand.

#![allow(
    clippy::disallowed_methods,
    reason = "the wrapper compiles the std facade with the user's rustc"
)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use sha2::{Digest, Sha256};
use wasm_build_cache::{ArtifactCache, Key, Kind};
use wasm_build_shim::{FACADE_CRATE_NAME, FACADE_ROOT, facade_sources, guest_link_args};

use crate::guest_target::GUEST_TARGET;
use crate::toolchain::Toolchain;

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
                // Name the toolchain: the target is installed per toolchain.
                let toolchain = Toolchain::of(rustc, std::env::var_os("RUSTUP_TOOLCHAIN"));
                if let Ok(toolchain) = toolchain {
                    bail!(
                        "{}\nhelp: {}",
                        toolchain.missing_target(),
                        toolchain.install_help()
                    );
                }
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
    wasm_build_cache::file_digest(path)
        .with_context(|| format!("failed to read {}", path.display()))
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

/// A guest compile that failed because the std facade is not std (a type of its own where
/// std's was expected, an impl or method std has and it lacks). The code is fine; the
/// gap is a bug of this tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacadeGap {
    /// The std item where the facade differs, when rustc names it (`std::fs::Metadata`).
    pub item: Option<String>,
    /// rustc's first error, with std's name for the facade (`error[E0308]: mismatched
    /// types`).
    pub error: String,
}

impl FacadeGap {
    /// The gap rustc's rendered diagnostics point at, when they name the facade: a type
    /// "defined in crate `wasm_build_std`", a path through it, or its source file.
    pub fn named_in(diagnostics: &str) -> Option<FacadeGap> {
        Some(FacadeGap {
            item: Some(named_item(diagnostics)?),
            error: first_error(diagnostics),
        })
    }

    /// The gap of a compile that fails against the facade and not against std, although
    /// its diagnostics do not name the facade: rustc's first error says what is missing.
    pub fn unnamed_in(diagnostics: &str) -> FacadeGap {
        FacadeGap {
            item: named_item(diagnostics),
            error: first_error(diagnostics),
        }
    }
}

/// The std item of the facade that `diagnostics` name, by its std path.
fn named_item(diagnostics: &str) -> Option<String> {
    let lines: Vec<&str> = diagnostics.lines().collect();
    let defined_here = format!("is defined in crate `{FACADE_CRATE_NAME}`");
    for (index, line) in lines.iter().enumerate() {
        if !line.contains(&defined_here) {
            continue;
        }
        let Some(name) = backticked(line).next() else {
            continue;
        };
        let module = lines[index + 1..]
            .iter()
            .take(2)
            .find_map(|next| facade_module(next));
        return Some(match module {
            Some(module) => format!("{module}::{}", name.rsplit("::").next().unwrap_or(name)),
            None => as_std(name),
        });
    }
    let facade_path = format!("{FACADE_CRATE_NAME}::");
    if let Some(span) = lines
        .iter()
        .flat_map(|line| backticked(line))
        .find(|span| span.contains(&facade_path))
    {
        return Some(as_std(span));
    }
    lines
        .iter()
        .find_map(|line| facade_module(line))
        .map(str::to_string)
}

/// rustc's first error in `diagnostics` (`error[E0308]: mismatched types`), with std's
/// name for the facade.
fn first_error(diagnostics: &str) -> String {
    diagnostics
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("error[") || line.starts_with("error:"))
        .find(|line| {
            !line.starts_with("error: aborting due to")
                && !line.starts_with("error: could not compile")
        })
        .map_or_else(|| "no error message".to_string(), as_std)
}

/// The texts between backticks on `line`.
fn backticked(line: &str) -> impl Iterator<Item = &str> {
    line.split('`').skip(1).step_by(2)
}

/// `text` with the facade's crate name written as `std`, as the crate's code names it.
fn as_std(text: &str) -> String {
    text.replace(FACADE_CRATE_NAME, "std")
}

/// The std module of a facade source file a diagnostic points at
/// (`--> /cargo-wasm-build/std/facade/fs.rs:16:0` is `std::fs`).
fn facade_module(line: &str) -> Option<&'static str> {
    let rest = line.split(&format!("{REMAPPED}/facade/")).nth(1)?;
    let stem = rest.split(['.', ':']).next()?;
    Some(match stem {
        "fs" => "std::fs",
        "process" => "std::process",
        "env" => "std::env",
        "consts" => "std::env::consts",
        "thread" => "std::thread",
        "mpsc" => "std::sync::mpsc",
        "sync" => "std::sync",
        "os" => "std::os",
        _ => "std",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fs_extra against the facade whose `fs::Metadata` was a type of its own.
    const MISMATCH: &str = "error[E0308]: mismatched types
   --> /root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/fs_extra-1.3.0/src/dir.rs:454:63
    |
454 |         let item = get_details_entry_with_meta(path, &config, metadata)?;
    |                    ---------------------------                ^^^^^^^^ expected `Metadata`, found `std::fs::Metadata`
    |
    = note: `std::fs::Metadata` and `Metadata` have similar names, but are actually distinct types
note: `std::fs::Metadata` is defined in crate `std`
   --> /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/fs.rs:200:0
note: `Metadata` is defined in crate `wasm_build_std`
   --> /cargo-wasm-build/std/facade/fs.rs:16:0
";

    #[test]
    fn a_type_of_the_facade_where_std_s_was_expected_is_named_with_its_std_path() {
        assert_eq!(
            FacadeGap::named_in(MISMATCH),
            Some(FacadeGap {
                item: Some("std::fs::Metadata".into()),
                error: "error[E0308]: mismatched types".into(),
            })
        );
    }

    #[test]
    fn a_missing_impl_on_a_facade_type_is_named_as_the_crate_names_it() {
        let text = "error[E0277]: the trait bound `&ChildStdin: wasm_build_std::io::Write` is not satisfied\n  --> build.rs:3:9\n";
        assert_eq!(
            FacadeGap::named_in(text),
            Some(FacadeGap {
                item: Some("&ChildStdin: std::io::Write".into()),
                error:
                    "error[E0277]: the trait bound `&ChildStdin: std::io::Write` is not satisfied"
                        .into(),
            })
        );
    }

    #[test]
    fn diagnostics_that_do_not_name_the_facade_name_no_gap() {
        let text = "error[E0433]: failed to resolve: could not find `unix` in `os`\n --> src/lib.rs:1:30\n";
        assert_eq!(FacadeGap::named_in(text), None);
        assert_eq!(
            FacadeGap::unnamed_in(&format!("{text}error: aborting due to 1 previous error\n")),
            FacadeGap {
                item: None,
                error: "error[E0433]: failed to resolve: could not find `unix` in `os`".into(),
            }
        );
    }
}
