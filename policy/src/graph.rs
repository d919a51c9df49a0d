//! The resolved dependency graph, as far as the sandbox cares: who runs code at build time.

#![allow(
    clippy::disallowed_methods,
    reason = "runs `cargo metadata` with the cargo the user runs"
)]

use std::path::{Path, PathBuf};

use cargo_metadata::{Metadata, MetadataCommand, TargetKind};
use wasm_build_contract::cargo::is_crates_io;
use wasm_build_permissions_schema::PackageSpec;

use crate::error::PolicyError;

/// One package of the resolved graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Cargo's package id, unique in the graph.
    pub id: String,
    /// The name.
    pub name: String,
    /// The exact version.
    pub version: String,
    /// The spec grants use: `name@version` for crates.io and local packages, cargo's
    /// full id for other registries and git, so a fork cannot borrow the grants of the
    /// crate it replaces.
    pub spec: String,
    /// `Cargo.toml` of the package.
    pub manifest_path: PathBuf,
    /// Its directory (`CARGO_MANIFEST_DIR` of its build script).
    pub manifest_dir: PathBuf,
    /// Cargo's source string (`None` for path packages).
    pub source: Option<String>,
    /// Whether it is a member of the workspace being built.
    pub is_member: bool,
    /// Whether it has a build script.
    pub has_build_script: bool,
    /// Whether it is a proc macro (runs in the compiler, not sandboxed).
    pub is_proc_macro: bool,
    /// The `links` key.
    pub links: Option<String>,
    /// Whether its manifest has a `[package.metadata.sandbox]` table.
    pub declares_sandbox: bool,
    /// Names of the packages its build script links: its build-dependencies and theirs.
    pub build_dependencies: Vec<String>,
    /// The directories of those of them that cargo downloaded (registry and git
    /// packages, extracted under cargo's home), which the script and its programs may read
    /// by default: immutable published content, such as the C sources a `*-src` crate
    /// ships for the `-sys` script that builds them.
    pub build_dependency_sources: Vec<PathBuf>,
}

/// The graph of one workspace.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The workspace root directory.
    pub workspace_root: PathBuf,
    /// The workspace root manifest, where the consumer's policy lives.
    pub root_manifest: PathBuf,
    /// Cargo's target directory.
    pub target_dir: PathBuf,
    /// Every package of the resolved graph, sorted by name and version.
    pub packages: Vec<Package>,
    /// The libraries only build scripts link, whose native compile is deferred.
    pub lazy_libraries: Vec<wasm_build_contract::lazy::LazyLibrary>,
}

impl Graph {
    /// Runs `cargo metadata` with the options of `cargo_args` that shape the graph
    /// (manifest path, features, target platform, lockfile and network flags). The target
    /// directory is cargo's (`CARGO_TARGET_DIR`, `build.target-dir`), or `--target-dir` of
    /// `cargo_args`, which `cargo metadata` does not take.
    ///
    /// # Errors
    ///
    /// Fails when cargo cannot resolve the workspace; cargo's message is included.
    pub fn load(cargo_args: &[String]) -> Result<Self, PolicyError> {
        Self::load_with_metadata(cargo_args).map(|(graph, _)| graph)
    }

    /// [`Graph::load`], and the metadata it was made from (for what the graph leaves
    /// out: descriptions, links, who depends on whom).
    ///
    /// # Errors
    ///
    /// As [`Graph::load`].
    pub fn load_with_metadata(cargo_args: &[String]) -> Result<(Self, Metadata), PolicyError> {
        let mut command = MetadataCommand::new();
        if let Some(cargo) = std::env::var_os("CARGO") {
            command.cargo_path(cargo);
        }
        command.other_options(metadata_args(cargo_args));
        let metadata = command.exec().map_err(PolicyError::from_metadata)?;
        let mut graph = Self::from_metadata(&metadata);
        if !crate::lazy_libraries::selects_only_members(&graph, cargo_args) {
            graph.lazy_libraries.clear();
        }
        if let Some(dir) = target_dir_arg(cargo_args) {
            graph.target_dir = std::env::current_dir()
                .map_err(PolicyError::CurrentDir)?
                .join(dir);
        }
        Ok((graph, metadata))
    }

    /// The default target directory: where cargo puts builds when nothing says otherwise.
    pub fn default_target_dir(&self) -> PathBuf {
        self.workspace_root.join("target")
    }

    /// The graph of already-loaded metadata.
    pub fn from_metadata(metadata: &Metadata) -> Self {
        let resolved: Option<std::collections::HashSet<_>> = metadata
            .resolve
            .as_ref()
            .map(|resolve| resolve.nodes.iter().map(|node| node.id.clone()).collect());
        let names: std::collections::HashMap<&cargo_metadata::PackageId, &str> = metadata
            .packages
            .iter()
            .map(|package| (&package.id, package.name.as_str()))
            .collect();
        let nodes: std::collections::HashMap<&cargo_metadata::PackageId, &cargo_metadata::Node> =
            metadata
                .resolve
                .iter()
                .flat_map(|resolve| &resolve.nodes)
                .map(|node| (&node.id, node))
                .collect();
        let packages_by_id: std::collections::HashMap<
            &cargo_metadata::PackageId,
            &cargo_metadata::Package,
        > = metadata
            .packages
            .iter()
            .map(|package| (&package.id, package))
            .collect();
        let downloads = wasm_build_contract::cargo::cargo_home()
            .map(|home| wasm_build_contract::cargo::downloaded_sources(&home).to_vec())
            .unwrap_or_default();
        // Everything the build script links: its build-dependencies and, through their
        // normal dependencies, theirs (cxx-build brings cc).
        let linked = |id: &cargo_metadata::PackageId| -> Vec<&cargo_metadata::PackageId> {
            let of_kind = |id: &cargo_metadata::PackageId,
                           wanted: cargo_metadata::DependencyKind| {
                nodes
                    .get(id)
                    .into_iter()
                    .flat_map(|node| &node.deps)
                    .filter(move |dep| dep.dep_kinds.iter().any(|kind| kind.kind == wanted))
                    .map(|dep| &dep.pkg)
                    .collect::<Vec<_>>()
            };
            let mut seen: Vec<&cargo_metadata::PackageId> = Vec::new();
            let mut pending = of_kind(id, cargo_metadata::DependencyKind::Build);
            while let Some(next) = pending.pop() {
                if seen.contains(&next) {
                    continue;
                }
                seen.push(next);
                pending.extend(of_kind(next, cargo_metadata::DependencyKind::Normal));
            }
            seen
        };
        let build_dependencies = |id: &cargo_metadata::PackageId| -> Vec<String> {
            let mut deps: Vec<String> = linked(id)
                .into_iter()
                .filter_map(|dep| names.get(dep).map(|name| name.to_string()))
                .collect();
            deps.sort();
            deps.dedup();
            deps
        };
        let build_dependency_sources = |id: &cargo_metadata::PackageId| -> Vec<PathBuf> {
            let mut dirs: Vec<PathBuf> = linked(id)
                .into_iter()
                .filter_map(|dep| packages_by_id.get(dep))
                .filter_map(|dep| {
                    let source = dep.source.as_ref()?;
                    let dir = dep.manifest_path.parent()?.as_std_path();
                    downloaded_package_dir(&source.repr, dir, &downloads)
                })
                .collect();
            dirs.sort();
            dirs.dedup();
            dirs
        };
        let mut packages: Vec<Package> = metadata
            .packages
            .iter()
            .filter(|package| {
                resolved
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&package.id))
            })
            .map(|package| {
                let source = package.source.as_ref().map(|source| source.repr.clone());
                let version = package.version.to_string();
                let spec = match source.as_deref() {
                    None => format!("{}@{version}", package.name),
                    Some(source) if is_crates_io(source) => format!("{}@{version}", package.name),
                    Some(_) => full_spec(&package.id.repr, &package.name, &version),
                };
                let manifest_path = PathBuf::from(package.manifest_path.as_std_path());
                Package {
                    id: package.id.repr.clone(),
                    name: package.name.to_string(),
                    version,
                    spec,
                    manifest_dir: manifest_path
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default(),
                    manifest_path,
                    source,
                    is_member: metadata.workspace_members.contains(&package.id),
                    has_build_script: package
                        .targets
                        .iter()
                        .any(|target| target.is_kind(TargetKind::CustomBuild)),
                    is_proc_macro: package
                        .targets
                        .iter()
                        .any(|target| target.is_kind(TargetKind::ProcMacro)),
                    links: package.links.clone(),
                    declares_sandbox: package.metadata.get("sandbox").is_some(),
                    build_dependencies: build_dependencies(&package.id),
                    build_dependency_sources: build_dependency_sources(&package.id),
                }
            })
            .collect();
        packages.sort_by(|a, b| (&a.name, &a.version, &a.id).cmp(&(&b.name, &b.version, &b.id)));
        Graph {
            workspace_root: metadata.workspace_root.clone().into_std_path_buf(),
            root_manifest: metadata
                .workspace_root
                .join("Cargo.toml")
                .into_std_path_buf(),
            target_dir: metadata.target_directory.clone().into_std_path_buf(),
            packages,
            lazy_libraries: crate::lazy_libraries::of_metadata(metadata),
        }
    }

    /// Packages that run code at build time: build scripts and proc macros.
    pub fn build_time_packages(&self) -> impl Iterator<Item = &Package> {
        self.packages
            .iter()
            .filter(|package| package.has_build_script || package.is_proc_macro)
    }
}

/// `dir`, the directory of a package from `source`, when cargo downloaded it: a registry or
/// git package whose directory lies, without a `..` on the way and once links are
/// resolved, inside one of
/// `downloads` (where cargo extracts what it downloads, see
/// [`wasm_build_contract::cargo::downloaded_sources`]), two levels down at least (a
/// registry's package, a git checkout's revision or a package in it). Nothing
/// else under cargo's home (its credentials, its configuration, installed programs) and no
/// local directory qualifies: a path dependency of a git package may point anywhere.
fn downloaded_package_dir(source: &str, dir: &Path, downloads: &[PathBuf]) -> Option<PathBuf> {
    const DOWNLOADED: &[&str] = &["registry+", "sparse+", "git+"];
    if !DOWNLOADED.iter().any(|kind| source.starts_with(kind)) {
        return None;
    }
    let normal = dir.components().all(|part| {
        matches!(
            part,
            std::path::Component::RootDir | std::path::Component::Normal(_)
        )
    });
    let real = dir.canonicalize().ok()?;
    // `<root>/<index or repository>/<package or revision>`, at least: never a whole
    // index's or repository's tree.
    let inside = downloads.iter().any(|root| {
        root.canonicalize().is_ok_and(|root| {
            real.strip_prefix(&root)
                .is_ok_and(|below| below.components().count() >= 2)
        })
    });
    (normal && dir.is_absolute() && inside).then(|| dir.to_path_buf())
}

/// The value of `--target-dir` in `cargo_args` (before a `--`), as given.
pub fn target_dir_arg(cargo_args: &[String]) -> Option<&str> {
    option_value(cargo_args, "--target-dir")
}

/// The last value of the cargo option `name` (`--name VALUE` or `--name=VALUE`) before a
/// `--`, as given.
pub fn option_value<'a>(cargo_args: &'a [String], name: &str) -> Option<&'a str> {
    let mut args = cargo_args.iter().take_while(|arg| *arg != "--");
    let mut found = None;
    while let Some(arg) = args.next() {
        if arg == name {
            found = args.next().map(String::as_str);
        } else if let Some(value) = arg
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('='))
        {
            found = Some(value);
        }
    }
    found
}

/// The options of a cargo command line that `cargo metadata` understands and that change
/// the graph. Everything else (profiles, `-p`, `--message-format`, ...) is dropped.
pub fn metadata_args(cargo_args: &[String]) -> Vec<String> {
    const WITH_VALUE: &[&str] = &["--manifest-path", "--features", "-F", "--config", "-Z"];
    const FLAGS: &[&str] = &[
        "--all-features",
        "--no-default-features",
        "--locked",
        "--offline",
        "--frozen",
    ];
    let mut out = Vec::new();
    let mut args = cargo_args.iter().take_while(|arg| *arg != "--");
    while let Some(arg) = args.next() {
        if FLAGS.contains(&arg.as_str()) {
            out.push(arg.clone());
        } else if arg == "--target" {
            if let Some(target) = args.next() {
                out.extend(["--filter-platform".to_string(), target.clone()]);
            }
        } else if let Some(target) = arg.strip_prefix("--target=") {
            out.extend(["--filter-platform".to_string(), target.to_string()]);
        } else if WITH_VALUE.contains(&arg.as_str()) {
            if let Some(value) = args.next() {
                out.extend([arg.clone(), value.clone()]);
            }
        } else if WITH_VALUE
            .iter()
            .any(|opt| opt.starts_with("--") && arg.starts_with(&format!("{opt}=")))
        {
            out.push(arg.clone());
        }
    }
    out
}

/// cargo's package id in the full `<source>#name@version` form. cargo leaves the name out
/// when it is the source URL's last path segment (`git+https://host/zstd-sys#1.0.0`); grants
/// always spell it, so every spec reads, validates and matches the same way.
fn full_spec(id: &str, name: &str, version: &str) -> String {
    format!("{}#{name}@{version}", PackageSpec::source_of(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the directory of a registry or git package inside where cargo extracts
    /// downloads is readable by default: not the extraction roots, not the rest of cargo's
    /// home, not a local package, not a path that climbs out or a link that leads out.
    #[test]
    fn only_downloaded_package_directories_are_readable_by_default() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        let downloads = wasm_build_contract::cargo::downloaded_sources(&home).to_vec();
        let index = home.join("registry/src/index.crates.io-0123");
        let package = index.join("lua-src-551.1.0");
        let checkout = home.join("git/checkouts/repo-0123/abcdef/crate");
        for dir in [&package, &checkout, &home.join("git/db")] {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::os::unix::fs::symlink(home.join("git/db"), index.join("leak-1.0.0")).unwrap();
        const REGISTRY: &str = "registry+https://github.com/rust-lang/crates.io-index";
        let readable = |source: &str, dir: &Path| downloaded_package_dir(source, dir, &downloads);
        assert_eq!(readable(REGISTRY, &package), Some(package.clone()));
        assert_eq!(
            readable("sparse+https://index.crates.io/", &package),
            Some(package.clone())
        );
        assert_eq!(
            readable("git+https://example.com/repo#abcdef", &checkout),
            Some(checkout.clone())
        );
        for (source, dir) in [
            ("path+file:///x", package.clone()),
            (REGISTRY, index.clone()),
            (REGISTRY, home.join("registry/src")),
            (REGISTRY, home.clone()),
            (REGISTRY, home.join("git/db")),
            (REGISTRY, index.join("lua-src-551.1.0/../../../../git/db")),
            (REGISTRY, index.join("leak-1.0.0")),
            (REGISTRY, PathBuf::from("/usr")),
        ] {
            assert_eq!(readable(source, &dir), None, "{source} {}", dir.display());
        }
    }

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn graph_shaping_options_are_kept() {
        assert_eq!(
            metadata_args(&args(
                "--release -p foo --features a,b --target wasm32-wasip1 --locked --manifest-path x/Cargo.toml -j 2 --message-format=json -- --features no"
            )),
            args(
                "--features a,b --filter-platform wasm32-wasip1 --locked --manifest-path x/Cargo.toml"
            )
        );
        assert_eq!(
            metadata_args(&args("--features=a --target=x86_64-unknown-linux-gnu")),
            args("--features=a --filter-platform x86_64-unknown-linux-gnu")
        );
    }

    #[test]
    fn compact_and_full_ids_give_the_same_spec() {
        let full = "git+https://github.com/o/fake-sys#fake-sys@1.0.0";
        assert_eq!(
            full_spec(
                "git+https://github.com/o/fake-sys#1.0.0",
                "fake-sys",
                "1.0.0"
            ),
            full
        );
        assert_eq!(full_spec(full, "fake-sys", "1.0.0"), full);
        assert_eq!(
            full_spec(
                "registry+https://my.example/index#other-sys@0.2.0",
                "other-sys",
                "0.2.0"
            ),
            "registry+https://my.example/index#other-sys@0.2.0"
        );
    }
}
