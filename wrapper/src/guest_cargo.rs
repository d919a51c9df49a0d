//! Letting cargo itself build a build script's dependencies for wasm32-wasip1.
//!
//! The fast path ([`crate::guest`]) compiles each build-dependency again from the record of
//! its native compile. That record describes the host: the dependencies cargo resolved
//! for the host platform and the cfgs the dependency's own build script printed for it.
//! When wasm32-wasip1 needs something else (tempfile over rustix uses `linux-raw-sys` on
//! Linux but `libc` and `errno` on WASI, and rustix's build script picks its backend by
//! target), the twins do not compile. Then a nested cargo builds the same dependencies,
//! with the same versions (the workspace's `Cargo.lock`) and features, for
//! wasm32-wasip1: cargo resolves the target-specific dependencies and runs their build
//! scripts with the guest's `TARGET`, sandboxed by this same tool.

#![allow(
    clippy::disallowed_methods,
    reason = "the wrapper builds build-dependencies that do not fit the guest with a nested cargo"
)]

use std::collections::BTreeMap;
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use cargo_metadata::Message;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};
use wasm_build_contract::cargo::is_crates_io;
use wasm_build_contract::vars::{AUDIT_LOG_ENV, GUEST_FACADE_ENV};

use crate::facade;
use crate::guest_target::GUEST_TARGET;
use crate::invocation::Invocation;
use crate::record::{Record, is_cargo_compile_var};
use crate::state::StateDir;

/// Whether this process runs under a nested guest cargo.
pub fn is_nested() -> bool {
    std::env::var_os(GUEST_FACADE_ENV).is_some()
}

/// The facade arguments for a guest library compiled by the nested cargo, or `None` when
/// the compile is not one (no nested cargo, or another target).
pub fn facade_args_for(invocation: &Invocation) -> Option<Vec<String>> {
    let facade = PathBuf::from(std::env::var_os(GUEST_FACADE_ENV)?);
    if invocation.value("--target") != Some(GUEST_TARGET) {
        return None;
    }
    Some(facade::rustc_args(&facade))
}

/// The nested cargo failed: the build-dependencies do not compile for the guest even
/// when cargo resolves them for it.
#[derive(Debug)]
pub struct NestedBuildFailed {
    /// The package cargo could not compile, when it said.
    pub package: Option<String>,
    /// cargo's diagnostics.
    pub diagnostics: String,
}

impl std::fmt::Display for NestedBuildFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cargo could not build the build-dependencies for {GUEST_TARGET}:\n{}",
            self.diagnostics
        )
    }
}

impl std::error::Error for NestedBuildFailed {}

/// Why the nested cargo gave no guest build-dependencies.
#[derive(Debug, thiserror::Error)]
pub enum NestedCargoError {
    /// Cargo ran and could not build them.
    #[error(transparent)]
    Failed(#[from] NestedBuildFailed),
    /// It could not be set up or run (a lock file missing, a source it cannot name).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The build-dependencies cargo built for the guest.
#[derive(Debug, Default)]
pub struct GuestDependencies {
    /// The guest rlib for each native library path the build script's compile names.
    pub libraries: BTreeMap<PathBuf, PathBuf>,
    /// Where their own dependencies are (guest libraries and native proc macros).
    pub search: Vec<PathBuf>,
}

/// One direct build-dependency, as cargo compiled it natively.
#[derive(Debug)]
struct Direct {
    native: PathBuf,
    name: String,
    version: String,
    manifest_dir: PathBuf,
    crate_name: String,
    features: Vec<String>,
}

/// Builds the library dependencies of the build-script compile `script` for the guest
/// with a nested cargo. `root_manifest` is the workspace's root manifest (its
/// `Cargo.lock` pins the versions, its `[patch]` applies), `facade` the std facade.
///
/// # Errors
///
/// Fails when a dependency comes from a source the nested cargo cannot name (another
/// registry) or cargo cannot build them; the error carries cargo's diagnostics.
pub fn build(
    script: &Invocation,
    state: &StateDir,
    root_manifest: &Path,
    rustc: &Path,
    facade: &Path,
) -> Result<GuestDependencies, NestedCargoError> {
    let directs = direct_dependencies(script, state)?;
    let workspace = root_manifest
        .parent()
        .context("the workspace's root manifest has no directory")?;
    let lock_path = workspace.join("Cargo.lock");
    let lockfile = fs::read_to_string(&lock_path)
        .with_context(|| format!("failed to read {}", lock_path.display()))?;
    let lock = parse_lock(&lockfile, &lock_path)?;
    let stem = format!(
        "{}{}",
        script.crate_name().unwrap_or("build_script"),
        script.extra_filename()
    );
    let package_dir = state.guest_cargo().join("packages").join(stem);
    fs::create_dir_all(&package_dir)
        .with_context(|| format!("failed to create {}", package_dir.display()))?;
    let manifest = manifest(&directs, &lock, &patches(root_manifest)?)?;
    write_if_changed(&package_dir.join("Cargo.toml"), &manifest)?;
    write_if_changed(&package_dir.join("lib.rs"), "")?;
    // The workspace's lock file, afresh every time: cargo trims the copy to this graph,
    // and the workspace's may have moved on.
    write_if_changed(&package_dir.join("Cargo.lock"), &lockfile)?;
    let artifacts = run_cargo(&package_dir, workspace, state, rustc, facade)?;

    let target_dir = state.guest_cargo().join("target");
    let mut deps = GuestDependencies {
        search: vec![
            target_dir.join(GUEST_TARGET).join("debug").join("deps"),
            target_dir.join("debug").join("deps"),
        ],
        ..GuestDependencies::default()
    };
    for direct in directs {
        let rlib = artifacts
            .get(&(direct.manifest_dir.clone(), direct.crate_name.clone()))
            .with_context(|| {
                format!(
                    "cargo built no {GUEST_TARGET} library `{}` for {} {}",
                    direct.crate_name, direct.name, direct.version
                )
            })?;
        deps.libraries.insert(direct.native, rlib.clone());
    }
    Ok(deps)
}

/// The Rust libraries the build script links, from the records of their native compiles.
fn direct_dependencies(script: &Invocation, state: &StateDir) -> Result<Vec<Direct>> {
    let mut directs = Vec::new();
    for native in script.linked_libraries() {
        let stem = native
            .file_stem()
            .and_then(|stem| stem.to_str())
            .with_context(|| format!("unexpected library path {}", native.display()))?;
        let record = Record::load(&state.records(), stem)?;
        let env = |name: &str| {
            record
                .var(name)
                .map(String::from)
                .with_context(|| format!("the record of `{stem}` lacks {name}"))
        };
        let invocation = record.invocation()?;
        let features = invocation
            .values("--cfg")
            .filter_map(|cfg| cfg.strip_prefix("feature=\""))
            .filter_map(|feature| feature.strip_suffix('"'))
            .map(String::from)
            .collect();
        directs.push(Direct {
            name: env("CARGO_PKG_NAME")?,
            version: env("CARGO_PKG_VERSION")?,
            manifest_dir: PathBuf::from(env("CARGO_MANIFEST_DIR")?),
            crate_name: invocation
                .crate_name()
                .with_context(|| format!("the record of `{stem}` has no crate name"))?
                .to_string(),
            features,
            native,
        });
    }
    Ok(directs)
}

/// `(name, version)` to the source cargo locked it from (`None` for path packages).
type Lock = BTreeMap<(String, String), Option<String>>;

/// The packages of the lock file `text`, read from `path`.
fn parse_lock(text: &str, path: &Path) -> Result<Lock> {
    let doc: DocumentMut = text
        .parse()
        .with_context(|| format!("failed to parse {}", path.display()))?;
    let mut lock = Lock::new();
    let packages = doc
        .get("package")
        .and_then(Item::as_array_of_tables)
        .into_iter()
        .flatten();
    for package in packages {
        let field = |key: &str| package.get(key).and_then(Item::as_str).map(String::from);
        if let (Some(name), Some(version)) = (field("name"), field("version")) {
            lock.insert((name, version), field("source"));
        }
    }
    Ok(lock)
}

/// The manifest of the nested package: one dependency per direct build-dependency, with
/// exactly the version, source and features of the native build.
fn manifest(directs: &[Direct], lock: &Lock, patch: &Option<Table>) -> Result<String> {
    let mut doc = DocumentMut::new();
    let mut package = Table::new();
    package.insert("name", value("wasm-build-guest-dependencies"));
    package.insert("version", value("0.0.0"));
    package.insert("edition", value("2021"));
    package.insert("publish", value(false));
    doc.insert("package", Item::Table(package));
    let mut lib = Table::new();
    lib.insert("path", value("lib.rs"));
    doc.insert("lib", Item::Table(lib));
    let mut dependencies = Table::new();
    for (index, direct) in directs.iter().enumerate() {
        let source = lock
            .get(&(direct.name.clone(), direct.version.clone()))
            .with_context(|| {
                format!(
                    "{} {} is not in the workspace's Cargo.lock",
                    direct.name, direct.version
                )
            })?;
        let mut dependency = source_spec(direct, source.as_deref())?;
        dependency.insert("package", direct.name.as_str().into());
        dependency.insert("default-features", false.into());
        let features: Array = direct.features.iter().map(String::as_str).collect();
        dependency.insert("features", features.into());
        dependencies.insert(&format!("dependency{index}"), value(dependency));
    }
    doc.insert("dependencies", Item::Table(dependencies));
    // Its own workspace: never a member of one it happens to sit under.
    doc.insert("workspace", Item::Table(Table::new()));
    if let Some(patch) = patch {
        doc.insert("patch", Item::Table(patch.clone()));
    }
    Ok(doc.to_string())
}

/// How the nested manifest names the package's source, so cargo picks the locked entry.
fn source_spec(direct: &Direct, source: Option<&str>) -> Result<InlineTable> {
    let mut spec = InlineTable::new();
    let Some(source) = source else {
        spec.insert("path", direct.manifest_dir.display().to_string().into());
        return Ok(spec);
    };
    let version = format!("={}", direct.version);
    if is_crates_io(source) {
        spec.insert("version", version.as_str().into());
        return Ok(spec);
    }
    if let Some(git) = source.strip_prefix("git+") {
        let url = git.split_once('#').map_or(git, |(url, _)| url);
        let (repository, query) = url.split_once('?').unwrap_or((url, ""));
        spec.insert("git", repository.into());
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            if let Some((key, reference)) = pair.split_once('=')
                && matches!(key, "branch" | "tag" | "rev")
            {
                spec.insert(key, reference.into());
            }
        }
        return Ok(spec);
    }
    bail!(
        "{} {} comes from `{source}`, which the nested {GUEST_TARGET} build cannot name",
        direct.name,
        direct.version
    )
}

/// The root manifest's `[patch]` table, with relative paths made absolute.
fn patches(root_manifest: &Path) -> Result<Option<Table>> {
    let text = fs::read_to_string(root_manifest)
        .with_context(|| format!("failed to read {}", root_manifest.display()))?;
    let doc: DocumentMut = text
        .parse()
        .with_context(|| format!("failed to parse {}", root_manifest.display()))?;
    let Some(patch) = doc.get("patch").and_then(Item::as_table) else {
        return Ok(None);
    };
    let base = root_manifest.parent().unwrap_or(Path::new("."));
    let mut patch = patch.clone();
    for (_, sources) in patch.iter_mut() {
        let Some(sources) = sources.as_table_like_mut() else {
            continue;
        };
        for (_, dependency) in sources.iter_mut() {
            let Some(dependency) = dependency.as_table_like_mut() else {
                continue;
            };
            if let Some(path) = dependency.get("path").and_then(Item::as_str) {
                let absolute = base.join(path).display().to_string();
                dependency.insert("path", value(absolute));
            }
        }
    }
    Ok(Some(patch))
}

fn write_if_changed(path: &Path, contents: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    fs::write(path, contents).with_context(|| format!("failed to write {}", path.display()))
}

/// Runs the nested cargo and returns the rlib of every library it built, by package
/// directory and crate name.
fn run_cargo(
    package_dir: &Path,
    workspace: &Path,
    state: &StateDir,
    rustc: &Path,
    facade: &Path,
) -> Result<BTreeMap<(PathBuf, String), PathBuf>, NestedCargoError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let exe = std::env::current_exe().context("failed to locate cargo-wasm-build itself")?;
    let mut command = Command::new(&cargo);
    command
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "--target",
        ])
        .arg(GUEST_TARGET)
        .arg("--manifest-path")
        .arg(package_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(state.guest_cargo().join("target"))
        // The workspace's `.cargo/config.toml` (source replacement, registries) applies.
        .current_dir(workspace)
        .env("RUSTC", rustc)
        .env("RUSTC_WRAPPER", &exe)
        .env(GUEST_FACADE_ENV, facade)
        .env(AUDIT_LOG_ENV, state.audit_log())
        // Build-dependencies carry no debug info by default either; smaller modules
        // compile faster.
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        // Its diagnostics are quoted in an error shown inert, where colour codes would
        // show as escapes.
        .env("CARGO_TERM_COLOR", "never")
        // clippy-driver is for the user's workspace, not for this one.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if is_compile_var(name) {
            command.env_remove(name);
        }
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to run {}", Path::new(&cargo).display()))?;
    let stderr = child.stderr.take();
    let diagnostics = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        }
        text
    });
    let mut artifacts = BTreeMap::new();
    if let Some(stdout) = child.stdout.take() {
        for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
            let Message::CompilerArtifact(artifact) = message else {
                continue;
            };
            let Some(dir) = artifact.manifest_path.parent() else {
                continue;
            };
            let rlib = artifact
                .filenames
                .iter()
                .find(|file| file.extension() == Some("rlib"));
            if let Some(rlib) = rlib {
                artifacts.insert(
                    (
                        PathBuf::from(dir.as_std_path()),
                        artifact.target.name.replace('-', "_"),
                    ),
                    PathBuf::from(rlib.as_std_path()),
                );
            }
        }
    }
    let status = child.wait().context("failed to wait for cargo")?;
    let diagnostics = diagnostics.join().unwrap_or_default();
    if !status.success() {
        let package = diagnostics
            .split("could not compile `")
            .nth(1)
            .and_then(|rest| rest.split('`').next())
            .map(String::from);
        return Err(NestedBuildFailed {
            package,
            diagnostics: diagnostics.trim_end().to_string(),
        }
        .into());
    }
    Ok(artifacts)
}

/// Variables the outer cargo set for the build script's compile, or that would redirect
/// the nested build; none may leak into it.
fn is_compile_var(name: &str) -> bool {
    const REDIRECTING: &[&str] = &[
        "CARGO_MANIFEST_LINKS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_TARGET_DIR",
    ];
    is_cargo_compile_var(name) || REDIRECTING.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(name: &str, version: &str, features: &[&str]) -> Direct {
        Direct {
            native: PathBuf::from(format!("/t/debug/deps/lib{name}-0.rlib")),
            name: name.into(),
            version: version.into(),
            manifest_dir: PathBuf::from(format!("/src/{name}")),
            crate_name: name.replace('-', "_"),
            features: features.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn the_nested_manifest_pins_version_source_and_features() {
        let directs = [
            direct("prost-build", "0.13.5", &["default", "format"]),
            direct("helper", "0.1.0", &[]),
            direct("forked", "1.0.0", &[]),
        ];
        let mut lock = Lock::new();
        lock.insert(
            ("prost-build".into(), "0.13.5".into()),
            Some("registry+https://github.com/rust-lang/crates.io-index".into()),
        );
        lock.insert(("helper".into(), "0.1.0".into()), None);
        lock.insert(
            ("forked".into(), "1.0.0".into()),
            Some("git+https://example.com/forked?branch=fix#0123abcd".into()),
        );
        let text = manifest(&directs, &lock, &None).unwrap();
        assert!(text.contains(r#"dependency0 = { version = "=0.13.5", package = "prost-build", default-features = false, features = ["default", "format"] }"#), "{text}");
        assert!(text.contains(r#"dependency1 = { path = "/src/helper", package = "helper", default-features = false, features = [] }"#), "{text}");
        assert!(text.contains(r#"dependency2 = { git = "https://example.com/forked", branch = "fix", package = "forked""#), "{text}");
        assert!(text.contains("[workspace]"), "{text}");
    }

    #[test]
    fn packages_from_other_registries_are_refused_with_a_reason() {
        let directs = [direct("private", "1.0.0", &[])];
        let mut lock = Lock::new();
        lock.insert(
            ("private".into(), "1.0.0".into()),
            Some("sparse+https://my.example/index/".into()),
        );
        let err = manifest(&directs, &lock, &None).unwrap_err().to_string();
        assert!(
            err.contains("private 1.0.0 comes from `sparse+https://my.example/index/`"),
            "{err}"
        );
    }

    #[test]
    fn patches_keep_their_meaning_from_another_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Cargo.toml");
        fs::write(
            &root,
            "[workspace]\n[patch.crates-io]\nserde = { path = \"vendor/serde\" }\nlog = { git = \"https://example.com/log\" }\n",
        )
        .unwrap();
        let text = manifest(&[], &Lock::new(), &patches(&root).unwrap()).unwrap();
        assert!(
            text.contains(&format!("{}", dir.path().join("vendor/serde").display())),
            "{text}"
        );
        assert!(text.contains("https://example.com/log"), "{text}");
    }
}
