//! Native compiles of libraries that only build scripts link, deferred until something
//! native links them.
//!
//! Cargo compiles cc, pkg-config or autocfg natively because native build scripts link
//! them. A sandboxed script links their wasm twins, so the CLI names such libraries
//! ([`wasm_build_contract::lazy`]) and the wrapper asks rustc only for what cargo and the
//! twin still read: the dep-info (sources, the variables `env!` read; cargo fingerprints
//! it, the twin's key hashes it), and the metadata when another deferred library's
//! dep-info needs it. The library files cargo expects are placeholders rustc refuses to
//! load.
//!
//! A placeholder never reaches a binary: every native compile goes through the wrapper,
//! which first compiles for real each library it links that is still a placeholder
//! (a script granted `run-natively`, or a graph that `cargo metadata` saw otherwise than
//! cargo builds it), from the record of cargo's own compile, with the file times cargo
//! saw kept so that nothing it fingerprinted looks rebuilt.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use thiserror::Error;
use wasm_build_contract::lazy::{Depth, LAZY_LIBRARIES_ENV, depth_of};

use crate::invocation::{Arg, Invocation};
use crate::record::Record;
use crate::state::StateDir;

/// What a deferred library's files start with: no rlib or rmeta does (`!<arch>`, `rust`).
const PLACEHOLDER: &[u8] = b"!<cargo-wasm-build: not compiled natively>\n";

/// Where a target directory remembers that a build in it deferred native compiles.
const DEFERRING_MARKER: &str = ".wasm-build-deferring";

/// Records that a build in `target_dir` may leave placeholders, creating the directory as
/// cargo would (best effort: without the mark, a later build that defers nothing leaves
/// the placeholders, which native compiles still make real when they link them).
pub fn mark_deferring(target_dir: &Path) {
    let marker = target_dir.join(DEFERRING_MARKER);
    if !marker.exists() && fs::create_dir_all(target_dir).is_ok() {
        let _ = fs::write(marker, "");
    }
}

/// For a build that defers nothing (`CARGO_WASM_BUILD_LAZY_BUILD_DEPS=off`), removes the
/// placeholders earlier builds in `target_dir` left, so that cargo, finding the files
/// missing, compiles those libraries natively in this build as `cargo build` does.
/// Returns how many libraries; reads nothing unless a build there deferred.
pub fn forget_deferred(target_dir: &Path) -> usize {
    let marker = target_dir.join(DEFERRING_MARKER);
    if !marker.exists() {
        return 0;
    }
    let mut libraries = 0;
    // Libraries compiled for the host (every deferred one) live in `<profile>/deps`.
    let profiles = fs::read_dir(target_dir).into_iter().flatten().flatten();
    for profile in profiles {
        let deps = profile.path().join("deps");
        let Ok(entries) = fs::read_dir(&deps) else {
            continue;
        };
        for path in entries.flatten().map(|entry| entry.path()) {
            let library = path
                .extension()
                .is_some_and(|ext| ext == "rlib" || ext == "rmeta");
            if library && is_placeholder(&path) && fs::remove_file(&path).is_ok() {
                libraries += usize::from(path.extension().is_some_and(|ext| ext == "rlib"));
            }
        }
    }
    let _ = fs::remove_file(marker);
    libraries
}

/// The emit cargo asks of a library compile, the only one deferred.
const CARGO_EMIT: &str = "dep-info,metadata,link";

/// A deferred library could not be compiled for real when a native compile linked it.
#[derive(Debug, Error)]
pub enum MakeRealError {
    /// rustc failed on it (`diagnostics` is what it said, rendered).
    #[error("the native compile of `{library}` failed")]
    Failed {
        /// The crate's name.
        library: String,
        /// rustc's rendered diagnostics.
        diagnostics: String,
    },
    /// Its record, its files or rustc itself could not be had.
    #[error("the native compile of `{library}` could not run: {reason}")]
    Unavailable {
        /// The crate's name, or the file's stem.
        library: String,
        /// Why, in words.
        reason: String,
    },
}

/// How far the native compile of `invocation` runs, when the CLI deferred it: a plain
/// library compile of a package it named, outside a nested cargo.
pub(crate) fn deferred_depth(invocation: &Invocation) -> Option<Depth> {
    let listed = std::env::var(LAZY_LIBRARIES_ENV).ok()?;
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let depth = depth_of(&listed, Path::new(&dir))?;
    let plain = invocation.is_rust_library()
        && invocation.values("--emit").eq([CARGO_EMIT])
        && invocation.out_dir().is_some()
        && invocation.value("-o").is_none()
        && invocation.library_stem().is_some()
        && !crate::guest_cargo::is_nested();
    plain.then_some(depth)
}

/// Runs the deferred compile of `invocation` and leaves placeholders where cargo expects
/// the rest; returns its status for cargo. `None` when rustc failed on it (a dependency
/// cargo built otherwise than the CLI saw): the library is then compiled natively as any
/// other, so an error is the native compile's own.
pub(crate) fn compile_deferred(
    rustc: &Path,
    invocation: &Invocation,
    depth: Depth,
) -> anyhow::Result<Option<i32>> {
    let outputs = Outputs::of(invocation)?;
    let mut deferred = invocation.clone();
    deferred.retain(|arg| !matches!(arg, Arg::Opt(opt, _) if opt == "--emit"));
    deferred.push(
        "--emit",
        match depth {
            Depth::DepInfo => "dep-info",
            Depth::Metadata => "dep-info,metadata",
        },
    );
    let succeeded = Command::new(rustc)
        .args(deferred.to_args())
        .stdin(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success());
    let Some(output) = succeeded else {
        return Ok(None);
    };
    // rustc's notices (the artifacts it wrote) and any warning, for cargo.
    let _ = std::io::stderr().write_all(&output.stderr);
    let _ = std::io::stdout().write_all(&output.stdout);
    let placeholders: &[&Path] = match depth {
        Depth::DepInfo => &[&outputs.rlib, &outputs.rmeta],
        Depth::Metadata => &[&outputs.rlib],
    };
    for path in placeholders {
        fs::write(path, PLACEHOLDER)
            .map_err(|err| anyhow::anyhow!("failed to write {}: {err}", path.display()))?;
    }
    complete_dep_info(&outputs)?;
    Ok(Some(0))
}

/// Compiles for real every deferred library `invocation` links, and theirs first.
///
/// # Errors
///
/// Fails when one of them does not compile, or its record is missing.
pub(crate) fn make_real(rustc: &Path, invocation: &Invocation) -> Result<(), MakeRealError> {
    let mut done = BTreeSet::new();
    make_real_below(rustc, invocation, &mut done)
}

fn make_real_below(
    rustc: &Path,
    invocation: &Invocation,
    done: &mut BTreeSet<PathBuf>,
) -> Result<(), MakeRealError> {
    for library in invocation.linked_libraries() {
        let rlib = library.with_extension("rlib");
        if done.contains(&rlib) || !is_placeholder(&rlib) {
            continue;
        }
        done.insert(rlib.clone());
        materialize(rustc, &rlib, done)?;
    }
    Ok(())
}

/// Replays cargo's compile of the deferred library `rlib`.
fn materialize(
    rustc: &Path,
    rlib: &Path,
    done: &mut BTreeSet<PathBuf>,
) -> Result<(), MakeRealError> {
    let stem = rlib
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default()
        .to_string();
    let unavailable = |reason: String| MakeRealError::Unavailable {
        library: stem.clone(),
        reason,
    };
    let deps = rlib.parent().unwrap_or(Path::new("."));
    let state = StateDir::for_deps_dir(deps)
        .ok_or_else(|| unavailable(format!("{} is not a cargo deps directory", deps.display())))?;
    let record =
        Record::load(&state.records(), &stem).map_err(|err| unavailable(format!("{err:#}")))?;
    let invocation = record
        .invocation()
        .map_err(|err| unavailable(format!("{err:#}")))?;
    let library = invocation.crate_name().unwrap_or(&stem).to_string();
    make_real_below(rustc, &invocation, done)?;

    // Parallel compiles may link the same library: one compiles it, the others wait.
    let lock_path = deps.join(format!(".{stem}.lazy-lock"));
    let lock = File::create(&lock_path)
        .and_then(|lock| lock.lock().map(|()| lock))
        .map_err(|err| unavailable(format!("failed to lock {}: {err}", lock_path.display())))?;
    if !is_placeholder(rlib) {
        return Ok(());
    }
    let outputs = Outputs::of(&invocation).map_err(|err| unavailable(format!("{err:#}")))?;
    let times = outputs.modified();
    let output = Command::new(rustc)
        .args(&record.args)
        .current_dir(&record.cwd)
        .env_clear()
        .envs(record.replay_env())
        .stdin(Stdio::null())
        .output()
        .map_err(|err| unavailable(format!("failed to run {}: {err}", rustc.display())))?;
    if !output.status.success() {
        return Err(MakeRealError::Failed {
            library,
            diagnostics: crate::guest::rendered(&String::from_utf8_lossy(&output.stderr)),
        });
    }
    outputs.set_modified(&times);
    drop(lock);
    Ok(())
}

/// Whether `path` is a deferred library's placeholder.
fn is_placeholder(path: &Path) -> bool {
    let mut head = [0u8; PLACEHOLDER.len()];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut head))
        .is_ok_and(|()| head == PLACEHOLDER)
}

/// The files a library compile with cargo's emit writes.
struct Outputs {
    dep_info: PathBuf,
    rlib: PathBuf,
    rmeta: PathBuf,
}

impl Outputs {
    fn of(invocation: &Invocation) -> anyhow::Result<Self> {
        let (Some(out_dir), Some(stem), Some(name)) = (
            invocation.out_dir(),
            invocation.library_stem(),
            invocation.crate_name(),
        ) else {
            anyhow::bail!("a library compile without --out-dir or --crate-name");
        };
        Ok(Outputs {
            dep_info: out_dir.join(format!("{name}{}.d", invocation.extra_filename())),
            rlib: out_dir.join(format!("{stem}.rlib")),
            rmeta: out_dir.join(format!("{stem}.rmeta")),
        })
    }

    fn all(&self) -> [&Path; 3] {
        [&self.dep_info, &self.rlib, &self.rmeta]
    }

    fn modified(&self) -> Vec<Option<SystemTime>> {
        self.all()
            .iter()
            .map(|path| fs::metadata(path).and_then(|meta| meta.modified()).ok())
            .collect()
    }

    /// Puts back the times cargo saw: a dependency newer than what cargo built on it
    /// makes cargo rebuild that, next time, for nothing.
    fn set_modified(&self, times: &[Option<SystemTime>]) {
        for (path, time) in self.all().iter().zip(times) {
            if let Some(time) = time {
                let _ = File::options()
                    .write(true)
                    .open(path)
                    .and_then(|file| file.set_modified(*time));
            }
        }
    }
}

/// Gives the dep-info of a deferred compile the lines rustc writes for the library files
/// of a full one (the `.d` line, then the rlib's, then the rmeta's, each with the same
/// sources), so that it is the file a full compile writes.
fn complete_dep_info(outputs: &Outputs) -> anyhow::Result<()> {
    let path = &outputs.dep_info;
    let text = fs::read_to_string(path)
        .map_err(|err| anyhow::anyhow!("failed to read {}: {err}", path.display()))?;
    let completed = with_library_lines(&text, outputs).ok_or_else(|| {
        anyhow::anyhow!(
            "rustc wrote dep-info {} in an unknown shape",
            path.display()
        )
    })?;
    fs::write(path, completed)
        .map_err(|err| anyhow::anyhow!("failed to write {}: {err}", path.display()))
}

fn with_library_lines(text: &str, outputs: &Outputs) -> Option<String> {
    let own = format!("{}: ", outputs.dep_info.to_str()?);
    let first = text.lines().next()?;
    let sources = first.strip_prefix(&own)?;
    let targets = [
        outputs.rlib.to_str()?.to_string(),
        outputs.rmeta.to_str()?.to_string(),
    ];
    // What follows the target lines: the sources as empty rules, then `# env-dep:` lines.
    let mut rest: Vec<&str> = Vec::new();
    let mut lines = text.lines().skip(1).peekable();
    while let Some(line) = lines.next() {
        let is_target = targets.iter().any(|target| {
            line.strip_prefix(target.as_str())
                .is_some_and(|tail| tail.starts_with(": "))
        });
        if is_target {
            if lines.peek() == Some(&"") {
                lines.next();
            }
            continue;
        }
        rest.push(line);
    }
    let mut out = format!("{first}\n");
    if rest.first() == Some(&"") {
        rest.remove(0);
    }
    out.push('\n');
    for target in &targets {
        out.push_str(&format!("{target}: {sources}\n\n"));
    }
    for line in rest {
        out.push_str(line);
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs() -> Outputs {
        Outputs {
            dep_info: PathBuf::from("/t/deps/cc-1.d"),
            rlib: PathBuf::from("/t/deps/libcc-1.rlib"),
            rmeta: PathBuf::from("/t/deps/libcc-1.rmeta"),
        }
    }

    const FULL: &str = "/t/deps/cc-1.d: /r/cc/src/lib.rs /r/cc/src/a.rs\n\n\
        /t/deps/libcc-1.rlib: /r/cc/src/lib.rs /r/cc/src/a.rs\n\n\
        /t/deps/libcc-1.rmeta: /r/cc/src/lib.rs /r/cc/src/a.rs\n\n\
        /r/cc/src/lib.rs:\n/r/cc/src/a.rs:\n\n# env-dep:CARGO_PKG_VERSION=1.0.0\n";

    #[test]
    fn a_deferred_dep_info_gets_the_library_lines_of_a_full_compile() {
        let dep_info_only = "/t/deps/cc-1.d: /r/cc/src/lib.rs /r/cc/src/a.rs\n\n\
            /r/cc/src/lib.rs:\n/r/cc/src/a.rs:\n\n# env-dep:CARGO_PKG_VERSION=1.0.0\n";
        assert_eq!(with_library_lines(dep_info_only, &outputs()).unwrap(), FULL);
        let with_metadata = "/t/deps/cc-1.d: /r/cc/src/lib.rs /r/cc/src/a.rs\n\n\
            /t/deps/libcc-1.rmeta: /r/cc/src/lib.rs /r/cc/src/a.rs\n\n\
            /r/cc/src/lib.rs:\n/r/cc/src/a.rs:\n\n# env-dep:CARGO_PKG_VERSION=1.0.0\n";
        assert_eq!(with_library_lines(with_metadata, &outputs()).unwrap(), FULL);
        assert_eq!(with_library_lines(FULL, &outputs()).unwrap(), FULL);
        assert_eq!(with_library_lines("something else\n", &outputs()), None);
    }

    #[test]
    fn a_build_that_defers_nothing_removes_the_placeholders_so_cargo_compiles_them() {
        let target = tempfile::tempdir().unwrap();
        let deps = target.path().join("debug/deps");
        fs::create_dir_all(&deps).unwrap();
        for file in ["libcc-1.rlib", "libcc-1.rmeta", "libshlex-1.rlib"] {
            fs::write(deps.join(file), PLACEHOLDER).unwrap();
        }
        fs::write(deps.join("libshlex-1.rmeta"), b"rust\0\0\0real metadata").unwrap();
        fs::write(deps.join("cc-1.d"), "dep-info").unwrap();
        // No build there deferred: nothing is even looked at.
        assert_eq!(forget_deferred(target.path()), 0);
        assert!(deps.join("libcc-1.rlib").exists());

        mark_deferring(target.path());
        assert_eq!(forget_deferred(target.path()), 2);
        let mut left: Vec<String> = fs::read_dir(&deps)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["cc-1.d", "libshlex-1.rmeta"]);
        assert!(!target.path().join(DEFERRING_MARKER).exists());
    }

    #[test]
    fn only_a_placeholder_is_taken_for_one() {
        let dir = tempfile::tempdir().unwrap();
        let placeholder = dir.path().join("libcc-1.rlib");
        fs::write(&placeholder, PLACEHOLDER).unwrap();
        assert!(is_placeholder(&placeholder));
        let archive = dir.path().join("libshlex-1.rlib");
        fs::write(
            &archive,
            b"!<arch>\n/               0           0     0     0       4         `\n",
        )
        .unwrap();
        assert!(!is_placeholder(&archive));
        assert!(!is_placeholder(&dir.path().join("missing.rlib")));
    }
}
