//! Grants and tables that would take effect nowhere, found before they pass silently.
//!
//! A grant names one exact package (`name@version`). One that names no package of the
//! graph grants (or denies) nothing, and nothing would say so: a misspelt crate
//! (`mime_gess`), cargo's other spelling of a name (`mime-guess` for `mime_guess`), a
//! dependency removed since, a crates.io spec for a package that comes from git. Likewise
//! the consumer's keys (`allow`, `mode`, ...) in a `[package.metadata.sandbox]` that is
//! not where this workspace keeps them. Both are errors for `permissions --check` and
//! warnings for a build ([`Code::W006`], [`Code::W007`]).
//!
//! What this is not: a grant for another version of a crate the graph has is drift, an
//! upgrade to review (see [`crate::Resolved::drift`]); [`classify`] tells it apart, so
//! that each is said once, by its own code. Only when every version the graph builds has
//! a table of its own, so that no drift is shown, is such a table said to be left over.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use toml_edit::{Item, TableLike};
use wasm_build_contract::cargo::is_crates_io;
use wasm_build_diagnostics::leftover::Leftover;
use wasm_build_permissions_schema::{
    CONSUMER_KEYS, Code, Diagnostic, PackageSpec, SourceFile, did_you_mean,
};

use crate::graph::Graph;
use crate::resolve::Consumer;

/// The packages a grant may name: the graph's, and every package of the lockfile (which
/// also holds those of other features and platforms, so that a grant for a crate only
/// some builds use is not taken for a typo).
#[derive(Debug, Clone, Default)]
pub struct KnownPackages {
    /// Exact specs grants for them are written under.
    specs: BTreeSet<String>,
    /// `(name, version)` of lockfile packages whose exact spec is not known here (from
    /// git or another registry, outside the graph): any spec with that name and version
    /// counts as theirs.
    loose: BTreeSet<(String, String)>,
    /// Per name, the graph's specs of that name and the versions known.
    by_name: BTreeMap<String, (Vec<String>, BTreeSet<String>)>,
}

impl KnownPackages {
    /// The packages of `graph` and of its lockfile (`Cargo.lock` beside the root
    /// manifest), if it can be read.
    pub fn of(graph: &Graph) -> Self {
        let mut known = KnownPackages::default();
        for package in &graph.packages {
            known.specs.insert(package.spec.clone());
            let entry = known.by_name.entry(package.name.clone()).or_default();
            entry.0.push(package.spec.clone());
            entry.1.insert(package.version.clone());
        }
        let lock = graph.workspace_root.join("Cargo.lock");
        for (name, version, source) in lockfile_packages(&lock) {
            match source.as_deref() {
                None => {
                    known.specs.insert(format!("{name}@{version}"));
                }
                Some(source) if is_crates_io(source) => {
                    known.specs.insert(format!("{name}@{version}"));
                }
                Some(_) => {
                    known.loose.insert((name.clone(), version.clone()));
                }
            }
            known.by_name.entry(name).or_default().1.insert(version);
        }
        known
    }

    /// The graph's specs of the crate `name` (none for a crate only the lockfile has).
    fn graph_specs(&self, name: &str) -> &[String] {
        self.by_name.get(name).map_or(&[], |(specs, _)| specs)
    }

    fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }
}

/// `(name, version, source)` of every package of a lockfile; none when it cannot be read.
fn lockfile_packages(lock: &Path) -> Vec<(String, String, Option<String>)> {
    let Ok(text) = fs::read_to_string(lock) else {
        return Vec::new();
    };
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return Vec::new();
    };
    let Some(packages) = doc.get("package").and_then(Item::as_array_of_tables) else {
        return Vec::new();
    };
    packages
        .iter()
        .filter_map(|package| {
            let field = |key: &str| package.get(key).and_then(Item::as_str).map(String::from);
            Some((field("name")?, field("version")?, field("source")))
        })
        .collect()
}

/// Why a grant's spec matches no package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmatched {
    /// No package of that name: misspelt, spelt with `-` for `_` (or the other way), or no
    /// longer a dependency. `suggestion` is the spec of the closest name, if one is close.
    UnknownPackage {
        /// The spec the grant most likely meant.
        suggestion: Option<String>,
    },
    /// The package is in the graph at this version, but from another source (git, another
    /// registry), whose grants name that source: `spec` is how.
    OtherSource {
        /// The spec grants for it are written under.
        spec: String,
    },
    /// The crate is in the graph, at other versions only: drift, an upgrade to review,
    /// said by the drift review and not by [`diagnostics`].
    OtherVersion {
        /// The versions known.
        versions: Vec<String>,
    },
}

/// What is wrong with the grant spec `spec`, or `None` when it names a known package.
pub fn classify(spec: &str, known: &KnownPackages) -> Option<Unmatched> {
    if known.specs.contains(spec) {
        return None;
    }
    // Malformed specs are the parser's (W004); the name alone still says something.
    let (name, version) = match PackageSpec::parse(spec) {
        Ok(parsed) => (parsed.name(), Some(parsed.version())),
        Err(_) => (PackageSpec::name_of(spec), None),
    };
    if let Some(version) = version
        && known
            .loose
            .contains(&(name.to_string(), version.to_string()))
    {
        return None;
    }
    if let Some((specs, versions)) = known.by_name.get(name) {
        let same_version = specs.iter().find(|other| {
            PackageSpec::parse(other)
                .is_ok_and(|other| version.is_some_and(|v| other.version() == v))
        });
        return Some(match same_version {
            Some(other) => Unmatched::OtherSource {
                spec: other.clone(),
            },
            None => Unmatched::OtherVersion {
                versions: versions.iter().cloned().collect(),
            },
        });
    }
    let suggestion = did_you_mean(name, &known.names()).map(|close| {
        let versions = &known.by_name[close].1;
        match version {
            Some(version) if versions.contains(version) => format!("{close}@{version}"),
            _ if versions.len() == 1 => {
                format!("{close}@{}", versions.iter().next().map_or("", |v| v))
            }
            _ => close.to_string(),
        }
    });
    Some(Unmatched::UnknownPackage { suggestion })
}

/// Every grant or denial of the consumer that names no package of `graph` (drift aside),
/// and every consumer key in a table that is not read ([`Code::W007`]): located in their
/// manifests, as errors (`permissions --check` shows them so; a build shows each
/// [`Diagnostic::body`] as a warning).
pub fn diagnostics(graph: &Graph, consumer: &Consumer) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let Ok(text) = fs::read_to_string(&consumer.manifest) else {
        return found;
    };
    let Ok(doc) = toml_edit::Document::parse(text.clone()) else {
        return found;
    };
    let file = SourceFile {
        path: &consumer.manifest,
        text: &text,
    };
    let root = if consumer.in_workspace_table {
        "workspace"
    } else {
        "package"
    };
    let known = KnownPackages::of(graph);
    let reviewed = |spec: &str| {
        consumer.policy.allow.contains_key(spec) || consumer.policy.deny.contains_key(spec)
    };
    if let Some(sandbox) = sandbox_table(&doc, root) {
        for table in ["allow", "deny"] {
            let Some(grants) = sandbox.get(table).and_then(Item::as_table_like) else {
                continue;
            };
            for (spec, _) in grants.iter() {
                let span = grants.get_key_value(spec).and_then(|(key, _)| key.span());
                let grant = Grant { root, table, spec };
                if let Some(diagnostic) = unmatched_grant(&file, span, grant, &known, &reviewed) {
                    found.push(diagnostic);
                }
            }
        }
    }
    if consumer.in_workspace_table
        && doc.get("workspace").is_some()
        && let Some(package_table) = sandbox_table(&doc, "package")
    {
        found.extend(unread_consumer_keys(
            &file,
            package_table,
            "in a workspace root, grants and the mode are read from `[workspace.metadata.sandbox]`",
            "workspace",
        ));
    }
    found.extend(misspelt_sandbox_tables(&file, &doc));
    for member in graph
        .packages
        .iter()
        .filter(|package| package.is_member && package.declares_sandbox)
        .filter(|package| package.manifest_path != consumer.manifest)
    {
        found.extend(member_diagnostics(
            &member.manifest_path,
            &consumer.manifest,
        ));
    }
    found
}

/// What to say when the user names a package (`permissions -p`, `approve NAME`) that is
/// not in `graph`: that it is not, and the closest name of the graph if one is close.
pub fn no_such_package(spec: &str, graph: &Graph) -> String {
    let mut text = format!("no package `{spec}` in this workspace's dependency graph");
    if let Some(close) = closest_package(spec, graph) {
        text.push_str(&format!(
            "\nhelp: a package with a similar name exists: `{close}`"
        ));
    }
    text
}

/// The name of `graph`'s package closest to the one `spec` names, if one is close enough
/// to be what was meant.
pub fn closest_package<'a>(spec: &str, graph: &'a Graph) -> Option<&'a str> {
    let mut names: Vec<&str> = graph.packages.iter().map(|p| p.name.as_str()).collect();
    names.dedup();
    did_you_mean(PackageSpec::name_of(spec), &names)
}

/// [`diagnostics`] as a build shows them: warnings, each with its code and the text after
/// its heading.
pub fn warnings(graph: &Graph, consumer: &Consumer) -> Vec<(Code, String)> {
    diagnostics(graph, consumer)
        .iter()
        // A blank line after each, as between errors.
        .map(|diagnostic| (diagnostic.code, format!("{}\n", diagnostic.body())))
        .collect()
}

/// W007 for a table under `[workspace.metadata]` or `[package.metadata]` whose name is a
/// misspelling of `sandbox` (`sandbx`, `sand-box`): the tool reads none of it. Other
/// tools' tables there are theirs, and said nothing about.
fn misspelt_sandbox_tables(
    file: &SourceFile<'_>,
    doc: &toml_edit::Document<String>,
) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for root in ["workspace", "package"] {
        let Some(metadata) = doc
            .get(root)
            .and_then(|item| item.get("metadata"))
            .and_then(Item::as_table_like)
        else {
            continue;
        };
        for (key, value) in metadata.iter() {
            if did_you_mean(key, &["sandbox"]).is_none() {
                continue;
            }
            let span = metadata
                .get_key_value(key)
                .and_then(|(key, _)| key.span())
                .or_else(|| value.span());
            found.push(Leftover::NotTheSandboxTable { root, key }.at(file, span));
        }
    }
    found
}

/// `[<root>.metadata.sandbox]` of `doc`.
fn sandbox_table<'a>(
    doc: &'a toml_edit::Document<String>,
    root: &str,
) -> Option<&'a dyn TableLike> {
    doc.get(root)
        .and_then(|item| item.get("metadata"))
        .and_then(|item| item.get("sandbox"))
        .and_then(Item::as_table_like)
}

/// One table of the consumer's grants: `[<root>.metadata.sandbox.<table>."<spec>"]`.
#[derive(Clone, Copy)]
struct Grant<'a> {
    root: &'a str,
    table: &'a str,
    spec: &'a str,
}

/// W006 for `grant` when it matches no package. A table for another version of a crate of
/// the graph is drift, an upgrade to review, unless every version the graph builds has
/// its own table (`reviewed`): then nothing else will ever say that it is left over.
fn unmatched_grant(
    file: &SourceFile<'_>,
    span: Option<std::ops::Range<usize>>,
    Grant { root, table, spec }: Grant<'_>,
    known: &KnownPackages,
    reviewed: &dyn Fn(&str) -> bool,
) -> Option<Diagnostic> {
    let verb = if table == "allow" { "grants" } else { "denies" };
    let header = format!(
        "[{root}.metadata.sandbox.{table}.{}]",
        wasm_build_permissions_schema::toml_string(spec)
    );
    let name = PackageSpec::name_of(spec);
    let theirs = match classify(spec, known)? {
        Unmatched::OtherVersion { versions } => {
            let built = known.graph_specs(name);
            if !built.iter().all(|spec| reviewed(spec)) {
                return None;
            }
            let versions = versions.join(", ");
            return Some(
                Leftover::OtherVersion {
                    header: &header,
                    verb,
                    name,
                    versions: &versions,
                }
                .at(file, span),
            );
        }
        Unmatched::UnknownPackage { suggestion } => {
            return Some(
                Leftover::UnknownPackage {
                    header: &header,
                    verb,
                    name,
                    suggestion: suggestion.as_deref(),
                }
                .at(file, span),
            );
        }
        Unmatched::OtherSource { spec: theirs } => {
            wasm_build_permissions_schema::toml_string(&theirs)
        }
    };
    Some(
        Leftover::OtherSource {
            header: &header,
            verb,
            name,
            theirs: &theirs,
        }
        .at(file, span),
    )
}

/// [`Code::W007`] for each consumer key of a `[package.metadata.sandbox]` that is not
/// read, `why` it is not, and where it belongs (`[<home>.metadata.sandbox]`).
fn unread_consumer_keys(
    file: &SourceFile<'_>,
    table: &dyn TableLike,
    why: &str,
    home: &str,
) -> Vec<Diagnostic> {
    table
        .iter()
        .filter(|(key, _)| CONSUMER_KEYS.contains(key))
        .map(|(key, value)| {
            let span = table
                .get_key_value(key)
                .and_then(|(key, _)| key.span())
                .or_else(|| value.span());
            let (place, there) = if value.is_table_like() && !value.is_inline_table() {
                (
                    format!("`[package.metadata.sandbox.{key}]`"),
                    format!("`[{home}.metadata.sandbox.{key}]`"),
                )
            } else {
                (
                    format!("`{key}` in `[package.metadata.sandbox]`"),
                    format!("`[{home}.metadata.sandbox]`"),
                )
            };
            Leftover::ConsumerKeyNotRead {
                place: &place,
                why,
                there: &there,
            }
            .at(file, span)
        })
        .collect()
}

/// W007 for the consumer keys in a member's own table (not the root's): the tool reads
/// grants and the mode from the workspace root only.
fn member_diagnostics(manifest: &Path, root_manifest: &Path) -> Vec<Diagnostic> {
    let Ok(text) = fs::read_to_string(manifest) else {
        return Vec::new();
    };
    let Ok(doc) = toml_edit::Document::parse(text.clone()) else {
        return Vec::new();
    };
    let file = SourceFile {
        path: manifest,
        text: &text,
    };
    let Some(table) = sandbox_table(&doc, "package") else {
        return Vec::new();
    };
    unread_consumer_keys(
        &file,
        table,
        &format!(
            "grants and the mode are read from `[workspace.metadata.sandbox]` of the workspace root, {}",
            root_manifest.display()
        ),
        "workspace",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn graph(root: &Path, packages: &[(&str, &str, Option<&str>)]) -> Graph {
        Graph {
            workspace_root: root.to_path_buf(),
            root_manifest: root.join("Cargo.toml"),
            target_dir: root.join("target"),
            packages: packages
                .iter()
                .map(|(name, version, source)| crate::Package {
                    id: format!("{name}@{version}"),
                    name: (*name).into(),
                    version: (*version).into(),
                    spec: match source {
                        Some(source) => format!("{source}#{name}@{version}"),
                        None => format!("{name}@{version}"),
                    },
                    manifest_path: PathBuf::from(format!("/src/{name}/Cargo.toml")),
                    manifest_dir: PathBuf::from(format!("/src/{name}")),
                    source: source.map(String::from),
                    is_member: false,
                    has_build_script: true,
                    is_proc_macro: false,
                    links: None,
                    declares_sandbox: false,
                    build_dependencies: Vec::new(),
                    build_dependency_sources: Vec::new(),
                })
                .collect(),
            lazy_libraries: Vec::new(),
        }
    }

    #[test]
    fn a_named_package_not_in_the_graph_gets_the_closest_name() {
        let dir = tempfile::tempdir().unwrap();
        let graph = graph(dir.path(), &[("openssl-sys", "0.9.1", None)]);
        assert_eq!(
            no_such_package("opensl-sys", &graph),
            "no package `opensl-sys` in this workspace's dependency graph\n\
             help: a package with a similar name exists: `openssl-sys`"
        );
        assert_eq!(
            no_such_package("zlib@1.0.0", &graph),
            "no package `zlib@1.0.0` in this workspace's dependency graph"
        );
    }

    #[test]
    fn typos_other_spellings_sources_and_versions_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        // A crate of another platform only the lockfile knows.
        fs::write(
            dir.path().join("Cargo.lock"),
            "version = 4\n\n[[package]]\nname = \"windows_x86_64_gnu\"\nversion = \"0.52.6\"\n\
             source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n\
             [[package]]\nname = \"forked\"\nversion = \"0.3.0\"\nsource = \"git+https://example.com/forked#abc\"\n",
        )
        .unwrap();
        let known = KnownPackages::of(&graph(
            dir.path(),
            &[
                ("mime_guess", "2.0.5", None),
                (
                    "fake-sys",
                    "1.0.0",
                    Some("git+https://example.com/fake-sys"),
                ),
            ],
        ));
        let unknown = |suggestion: Option<&str>| Unmatched::UnknownPackage {
            suggestion: suggestion.map(String::from),
        };
        assert_eq!(classify("mime_guess@2.0.5", &known), None);
        assert_eq!(classify("windows_x86_64_gnu@0.52.6", &known), None);
        assert_eq!(classify("git+https://x#forked@0.3.0", &known), None);
        assert_eq!(
            classify("mime_gess@2.0.5", &known),
            Some(unknown(Some("mime_guess@2.0.5")))
        );
        assert_eq!(
            classify("mime-guess@2.0.5", &known),
            Some(unknown(Some("mime_guess@2.0.5")))
        );
        assert_eq!(
            classify("mime-guess@9.9.9", &known),
            Some(unknown(Some("mime_guess@2.0.5"))),
            "the version the graph has"
        );
        assert_eq!(classify("openssl-sys@0.9.1", &known), Some(unknown(None)));
        assert_eq!(
            classify("fake-sys@1.0.0", &known),
            Some(Unmatched::OtherSource {
                spec: "git+https://example.com/fake-sys#fake-sys@1.0.0".into()
            })
        );
        assert_eq!(
            classify("mime_guess@2.0.4", &known),
            Some(Unmatched::OtherVersion {
                versions: vec!["2.0.5".into()]
            })
        );
    }
}
