//! Which libraries only build scripts link, found in the resolved graph: the ones whose
//! native compile a sandboxed build defers (see [`wasm_build_contract::lazy`]).
//!
//! A library is needed natively when a workspace member, a test or a proc macro can
//! link it: it is reached from a member or a proc macro through normal and dev
//! dependencies. Everything else the graph holds is reached only through some build
//! script's build-dependencies, and a sandboxed script links twins. Only downloaded
//! packages (registry, git) qualify: a local package's compile shows its warnings, which
//! a deferred compile would not.
//!
//! The graph of `cargo metadata` is a superset of what cargo builds (every platform, the
//! features of the command line), so a library deferred here is never one the build links
//! natively unless its features differ from what metadata saw; and then the wrapper
//! compiles it for real before the native compile that links it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use cargo_metadata::{DependencyKind, Metadata, TargetKind};
use wasm_build_contract::lazy::{Depth, LazyLibrary};

/// One package as the search needs it.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// The package's directory.
    pub manifest_dir: PathBuf,
    /// A workspace member, or a proc macro: a root of what is needed natively.
    pub native_root: bool,
    /// A downloaded package whose library is a plain Rust library (no proc macro).
    pub may_defer: bool,
    /// Indices of the packages it depends on through normal or dev dependencies.
    pub links: Vec<usize>,
}

/// The libraries of `metadata`'s resolved graph that only build scripts link.
pub fn of_metadata(metadata: &Metadata) -> Vec<LazyLibrary> {
    let Some(resolve) = &metadata.resolve else {
        return Vec::new();
    };
    let index: BTreeMap<&cargo_metadata::PackageId, usize> = resolve
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (&node.id, i))
        .collect();
    let packages: BTreeMap<&cargo_metadata::PackageId, &cargo_metadata::Package> = metadata
        .packages
        .iter()
        .map(|package| (&package.id, package))
        .collect();
    let mut nodes = Vec::with_capacity(resolve.nodes.len());
    for node in &resolve.nodes {
        let Some(package) = packages.get(&node.id) else {
            return Vec::new();
        };
        let member = metadata.workspace_members.contains(&node.id);
        let proc_macro = package
            .targets
            .iter()
            .any(|target| target.is_kind(TargetKind::ProcMacro));
        let plain_library = package
            .targets
            .iter()
            .any(|target| target.is_kind(TargetKind::Lib) || target.is_kind(TargetKind::RLib));
        let downloaded = package
            .source
            .as_ref()
            .is_some_and(|source| !source.repr.starts_with("path+"));
        let links = node
            .deps
            .iter()
            .filter(|dep| {
                dep.dep_kinds.iter().any(|kind| {
                    matches!(
                        kind.kind,
                        DependencyKind::Normal | DependencyKind::Development
                    )
                })
            })
            .filter_map(|dep| index.get(&dep.pkg).copied())
            .collect();
        nodes.push(Node {
            manifest_dir: package
                .manifest_path
                .parent()
                .map(|dir| dir.as_std_path().to_path_buf())
                .unwrap_or_default(),
            native_root: member || proc_macro,
            may_defer: downloaded && plain_library && !proc_macro && !member,
            links,
        });
    }
    deferred(&nodes)
}

/// Whether every package `cargo_args` selects with `-p`/`--package` is a member of
/// `graph`'s workspace. A dependency selected by name is a root of the build: its native
/// library is what the user asked for, so nothing is deferred then.
pub fn selects_only_members(graph: &crate::Graph, cargo_args: &[String]) -> bool {
    let mut args = cargo_args.iter().take_while(|arg| *arg != "--");
    let mut selected = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "-p" || arg == "--package" {
            selected.extend(args.next().cloned());
        } else if let Some(value) = arg.strip_prefix("--package=") {
            selected.push(value.to_string());
        } else if let Some(value) = arg.strip_prefix("-p").filter(|value| !value.is_empty()) {
            selected.push(value.trim_start_matches('=').to_string());
        }
    }
    selected.iter().all(|spec| {
        graph
            .packages
            .iter()
            .any(|package| package.is_member && (package.name == *spec || package.spec == *spec))
    })
}

/// The deferrable libraries of `nodes`, at the depth they are needed.
pub(crate) fn deferred(nodes: &[Node]) -> Vec<LazyLibrary> {
    let mut native = vec![false; nodes.len()];
    let mut pending: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].native_root).collect();
    while let Some(next) = pending.pop() {
        if std::mem::replace(&mut native[next], true) {
            continue;
        }
        pending.extend(nodes[next].links.iter().copied());
    }
    let lazy = |i: usize| !native[i] && nodes[i].may_defer;
    // A deferred library another deferred library depends on keeps its metadata: the
    // dependent's dep-info run resolves names against it.
    let compiled_against: BTreeSet<usize> = (0..nodes.len())
        .filter(|&i| !native[i])
        .flat_map(|i| nodes[i].links.iter().copied())
        .collect();
    let mut libraries: Vec<LazyLibrary> = (0..nodes.len())
        .filter(|&i| lazy(i))
        .map(|i| LazyLibrary {
            manifest_dir: nodes[i].manifest_dir.clone(),
            depth: if compiled_against.contains(&i) {
                Depth::Metadata
            } else {
                Depth::DepInfo
            },
        })
        .collect();
    libraries.sort();
    libraries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, native_root: bool, may_defer: bool, links: &[usize]) -> Node {
        Node {
            manifest_dir: PathBuf::from(name),
            native_root,
            may_defer,
            links: links.to_vec(),
        }
    }

    fn depth_of(libraries: &[LazyLibrary], name: &str) -> Option<Depth> {
        libraries
            .iter()
            .find(|library| library.manifest_dir.as_path() == std::path::Path::new(name))
            .map(|library| library.depth)
    }

    #[test]
    fn only_what_no_member_and_no_proc_macro_reaches_is_deferred() {
        // app (member) -> serde_derive (proc macro) -> syn; app -> libc.
        // app's build script links cc -> shlex, libc; cc and shlex are build-only.
        let nodes = [
            node("app", true, false, &[1, 2]),
            node("serde_derive", true, false, &[3]),
            node("libc", false, true, &[]),
            node("syn", false, true, &[]),
            node("cc", false, true, &[5, 2]),
            node("shlex", false, true, &[]),
            node("local-helper", false, false, &[]),
        ];
        let libraries = deferred(&nodes);
        assert_eq!(depth_of(&libraries, "cc"), Some(Depth::DepInfo));
        assert_eq!(depth_of(&libraries, "shlex"), Some(Depth::Metadata));
        for native in ["app", "serde_derive", "libc", "syn", "local-helper"] {
            assert_eq!(depth_of(&libraries, native), None, "{native}");
        }
        assert_eq!(libraries.len(), 2);
    }

    #[test]
    fn selecting_a_dependency_by_name_defers_nothing() {
        let member = |name: &str, is_member: bool| crate::Package {
            id: name.into(),
            name: name.into(),
            version: "1.0.0".into(),
            spec: format!("{name}@1.0.0"),
            manifest_path: PathBuf::from(format!("/{name}/Cargo.toml")),
            manifest_dir: PathBuf::from(format!("/{name}")),
            source: None,
            is_member,
            has_build_script: false,
            is_proc_macro: false,
            links: None,
            declares_sandbox: false,
            build_dependencies: Vec::new(),
            build_dependency_sources: Vec::new(),
        };
        let graph = crate::Graph {
            workspace_root: PathBuf::from("/app"),
            root_manifest: PathBuf::from("/app/Cargo.toml"),
            target_dir: PathBuf::from("/app/target"),
            packages: vec![member("app", true), member("cc", false)],
            lazy_libraries: Vec::new(),
        };
        let args = |line: &str| line.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(selects_only_members(&graph, &args("build --release")));
        assert!(selects_only_members(
            &graph,
            &args("build -p app --package=app@1.0.0")
        ));
        assert!(selects_only_members(&graph, &args("run -- -p cc")));
        for line in [
            "build -p cc",
            "build --package cc",
            "build -pcc",
            "build --package=cc@1.0.0",
            "build -p app -p c*",
        ] {
            assert!(!selects_only_members(&graph, &args(line)), "{line}");
        }
    }

    #[test]
    fn a_library_a_proc_macro_links_is_native_even_when_only_build_scripts_use_the_macro() {
        // A build-only library (2) depends on a proc macro (1), which links syn (0).
        let nodes = [
            node("syn", false, true, &[]),
            node("derive", true, false, &[0]),
            node("builder", false, true, &[1]),
        ];
        let libraries = deferred(&nodes);
        assert_eq!(depth_of(&libraries, "syn"), None);
        assert_eq!(depth_of(&libraries, "builder"), Some(Depth::DepInfo));
    }
}
