//! From the consumer's grants and the crates' requests to one runtime [`Policy`] per
//! build script.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::hygiene::{HomeKind, Hygiene, PathRules, PathRulings as _};
use wasm_build_contract::{Policy, PolicyFile};
use wasm_build_diagnostics::cli::IgnoredTable;
use wasm_build_permissions_schema::{
    Capability, CapabilitySet, Code, ConsumerPolicy, GrantSite, Limits, Mode, PackageSpec,
    Rendered, Requests, SourceFile, TableKind, parse_table,
};

use crate::error::PolicyError;
use crate::graph::{Graph, Package};

/// The consumer's policy as read from the workspace root manifest.
#[derive(Debug, Clone, Default)]
pub struct Consumer {
    /// The policy.
    pub policy: ConsumerPolicy,
    /// Where it is kept (and where `approve` writes).
    pub manifest: PathBuf,
    /// Whether it lives in `[workspace.metadata.sandbox]` (else in the root package's
    /// `[package.metadata.sandbox]`).
    pub in_workspace_table: bool,
}

/// Which paths need `dangerous-read`/`dangerous-write` in `graph`'s build: those inside
/// the `homes` of this machine (`$HOME`, `CARGO_HOME`, `RUSTUP_HOME`, as the caller read
/// them), except inside the workspace, the target directory and the directory of any
/// package of the graph (a registry crate's lives in cargo's home), and secrets' places
/// anywhere (see [`PathRules`]).
pub fn path_rules(graph: &Graph, homes: &[(HomeKind, PathBuf)]) -> PathRules {
    let rules = homes
        .iter()
        .fold(PathRules::default(), |rules, (kind, home)| {
            rules.with_home(*kind, home)
        });
    // Each tree also as its real path, as the homes are: a grant is judged where it leads
    // too (see [`grant_key`]).
    [&graph.workspace_root, &graph.target_dir]
        .into_iter()
        .chain(graph.packages.iter().map(|package| &package.manifest_dir))
        .flat_map(|tree| [Some(tree.clone()), tree.canonicalize().ok()])
        .flatten()
        .fold(rules, |rules, tree| rules.with_own_tree(&tree))
}

/// `capability` under the key a grant of it needs, judging its path as written and where
/// it leads on this machine (relative to `base`, the package's directory): a path in a
/// dependency's directory that is a link into a home (a git checkout may hold
/// `keys -> ../../../../.ssh`) needs the dangerous key as much as the home itself.
pub fn grant_key(rules: &PathRules, capability: Capability, base: &Path) -> Capability {
    let leads_to_danger = |path: &str| {
        base.join(path)
            .canonicalize()
            .ok()
            .and_then(|real| real.to_str().map(|real| rules.hazard(real).is_some()))
            .unwrap_or(false)
    };
    match rules.grant_key(capability) {
        Capability::Read(path) if leads_to_danger(&path) => Capability::DangerousRead(path),
        Capability::Write(path) if leads_to_danger(&path) => Capability::DangerousWrite(path),
        other => other,
    }
}

/// A dependency's requests with every path that leads into a home or a secret (through a
/// link the parser could not see) under its dangerous key.
fn mark_links(needs: &CapabilitySet, base: &Path, rules: &PathRules) -> CapabilitySet {
    let mut marked = CapabilitySet {
        limits: needs.limits.clone(),
        ..CapabilitySet::default()
    };
    for capability in needs.capabilities() {
        // Declared values were read from a table, so they read back.
        let _ = marked.insert(grant_key(rules, capability, base));
    }
    marked
}

impl Consumer {
    /// Reads the policy from the root manifest; `rules` say which paths need their
    /// dangerous key (see [`path_rules`]).
    ///
    /// # Errors
    ///
    /// Fails with every diagnostic when the table is malformed.
    pub fn load(root_manifest: &Path, rules: &PathRules) -> Result<Self, PolicyError> {
        let text = fs::read_to_string(root_manifest).map_err(|source| PolicyError::Read {
            path: root_manifest.to_path_buf(),
            source,
        })?;
        let doc = toml_edit::Document::parse(text.clone()).map_err(|source| PolicyError::Toml {
            what: root_manifest.display().to_string(),
            source,
        })?;
        let file = SourceFile {
            path: root_manifest,
            text: &text,
        };
        let has_workspace = doc.get("workspace").is_some();
        let workspace_table = doc
            .get("workspace")
            .and_then(|ws| ws.get("metadata"))
            .and_then(|meta| meta.get("sandbox"));
        let (item, kind) = match workspace_table {
            Some(item) => (Some(item), TableKind::Workspace),
            None => (
                doc.get("package")
                    .and_then(|pkg| pkg.get("metadata"))
                    .and_then(|meta| meta.get("sandbox")),
                TableKind::Package,
            ),
        };
        let policy = match item {
            Some(item) => parse_table(&file, item, kind, &Hygiene(rules))
                .map_err(|diagnostics| Rendered::of(&diagnostics))?
                .consumer
                .unwrap_or_default(),
            None => ConsumerPolicy::default(),
        };
        Ok(Consumer {
            policy,
            manifest: root_manifest.to_path_buf(),
            in_workspace_table: has_workspace && (workspace_table.is_some() || item.is_none()),
        })
    }
}

/// One build-time package with what it asks for and what it got.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The package.
    pub package: Package,
    /// Its declared requests.
    pub requests: Requests,
    /// Why its declaration could not be read, if it could not: rendered diagnostics, each
    /// under its own heading.
    pub request_errors: Vec<String>,
    /// What the consumer approved for this exact version.
    pub allowed: CapabilitySet,
    /// What the consumer refused for this exact version.
    pub denied: CapabilitySet,
    /// Declared capabilities neither approved nor refused.
    pub unreviewed: Vec<Capability>,
    /// Larger limits declared but not approved.
    pub unreviewed_limits: bool,
    /// Grants for other versions of the same crate (reviewed before, not for this one).
    pub drift: Vec<String>,
    /// The policy its build script runs under.
    pub policy: Policy,
}

/// The sandbox's view of a whole build.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The consumer's policy.
    pub consumer: Consumer,
    /// Every package with a build script or proc macro.
    pub packages: Vec<Resolved>,
    /// The mode in effect (the consumer's, or one forced on the command line).
    pub mode: Mode,
    /// Which paths need their dangerous key: what `approve` writes goes through them.
    pub rules: PathRules,
}

impl Resolution {
    /// Resolves every build-time package of `graph` under `consumer`; `rules` say which
    /// paths need their dangerous key (see [`path_rules`]).
    ///
    /// `mode` overrides the consumer's mode when given.
    pub fn new(graph: &Graph, consumer: Consumer, mode: Option<Mode>, rules: PathRules) -> Self {
        let mode = mode.unwrap_or(consumer.policy.mode);
        let packages = graph
            .build_time_packages()
            .map(|package| resolve_package(package, &consumer.policy, mode, &rules))
            .collect();
        Resolution {
            consumer,
            packages,
            mode,
            rules,
        }
    }

    /// The file the stand-ins read.
    pub fn policy_file(&self) -> PolicyFile {
        PolicyFile {
            packages: self
                .packages
                .iter()
                .filter(|resolved| resolved.package.has_build_script)
                .map(|resolved| {
                    (
                        resolved.package.manifest_dir.clone(),
                        resolved.policy.clone(),
                    )
                })
                .collect(),
            grant_site: GrantSite {
                manifest: Some(self.consumer.manifest.clone()),
                in_package_table: !self.consumer.in_workspace_table,
                approve_args: String::new(),
                rules: self.rules.clone(),
            },
            config_env: BTreeSet::new(),
            strict: self.mode == Mode::Strict,
            grant_digests: None,
        }
    }

    /// Build scripts with declared requests nobody reviewed.
    pub fn unreviewed(&self) -> impl Iterator<Item = &Resolved> {
        self.packages.iter().filter(|resolved| {
            resolved.package.has_build_script
                && (!resolved.unreviewed.is_empty() || resolved.unreviewed_limits)
        })
    }
}

fn resolve_package(
    package: &Package,
    consumer: &ConsumerPolicy,
    mode: Mode,
    rules: &PathRules,
) -> Resolved {
    // A member's table is the consumer's own: a home under a plain key is an error there.
    let kind = if package.is_member {
        TableKind::Package
    } else {
        TableKind::Dependency
    };
    let (requests, request_errors) = if package.declares_sandbox {
        match read_requests(&package.manifest_path, kind, rules) {
            Ok(mut requests) => {
                if kind == TableKind::Dependency {
                    requests.needs = mark_links(&requests.needs, &package.manifest_dir, rules);
                }
                (requests, Vec::new())
            }
            Err(errors) => (Requests::default(), errors),
        }
    } else {
        (Requests::default(), Vec::new())
    };
    let allowed = consumer
        .allow
        .get(&package.spec)
        .cloned()
        .unwrap_or_default();
    let denied = consumer
        .deny
        .get(&package.spec)
        .cloned()
        .unwrap_or_default();
    // A drift is a crate reviewed before at another version and not at this one.
    let reviewed_here =
        consumer.allow.contains_key(&package.spec) || consumer.deny.contains_key(&package.spec);
    let drift = consumer
        .allow
        .keys()
        .chain(consumer.deny.keys())
        .filter(|spec| !reviewed_here && PackageSpec::name_of(spec) == package.name)
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // A member's declaration is the consumer's own; so is everything under trust-declared.
    let implicitly_granted = package.is_member || mode == Mode::TrustDeclared;
    let declared = requests.needs.capabilities();
    let reviewed = |capability: &Capability| {
        allowed.capabilities().contains(capability) || denied.capabilities().contains(capability)
    };
    let unreviewed: Vec<Capability> = if implicitly_granted {
        Vec::new()
    } else {
        declared
            .iter()
            .filter(|cap| !reviewed(cap))
            .cloned()
            .collect()
    };
    let unreviewed_limits = !implicitly_granted
        && !allowed
            .limits
            .covers(&requests.needs.limits, Limits::default());

    let mut granted = allowed.capabilities();
    let mut limits = allowed.limits.clone();
    if implicitly_granted {
        granted.extend(declared);
        limits.merge(&requests.needs.limits);
    }
    let policy = Policy {
        granted: absolute(&granted, &package.manifest_dir),
        denied: absolute(&denied.capabilities(), &package.manifest_dir),
        deny_rustc: consumer.deny_rustc,
        env_defaults: consumer.env_defaults,
        limits: limits.apply(Limits::default()),
        spec: Some(package.spec.clone()),
        learning: false,
        allow_table: consumer
            .allow
            .get(&package.spec)
            .map(|table| table.capabilities().into_iter().collect()),
        dependency_sources: package.build_dependency_sources.clone(),
    };
    Resolved {
        package: package.clone(),
        requests,
        request_errors,
        allowed,
        denied,
        unreviewed,
        unreviewed_limits,
        drift,
        policy,
    }
}

/// Paths of read/write/link-search capabilities made absolute: relative ones are relative
/// to the package, `$TOOLCHAIN` is kept for the stand-in, which knows the toolchain.
fn absolute(capabilities: &[Capability], manifest_dir: &Path) -> BTreeSet<Capability> {
    let fix = |path: &String| {
        if path.starts_with('/') || path.starts_with('$') {
            path.clone()
        } else {
            // Without `.` components: `.` is the package directory itself, and a
            // preopen named `<package>/.` would match no path the script opens.
            manifest_dir
                .join(path)
                .components()
                .collect::<PathBuf>()
                .display()
                .to_string()
        }
    };
    capabilities
        .iter()
        .map(|capability| match capability {
            Capability::Read(path) => Capability::Read(fix(path)),
            Capability::Write(path) => Capability::Write(fix(path)),
            Capability::LinkSearch(path) => Capability::LinkSearch(fix(path)),
            Capability::DangerousRead(path) => Capability::DangerousRead(fix(path)),
            Capability::DangerousWrite(path) => Capability::DangerousWrite(fix(path)),
            other => other.clone(),
        })
        .collect()
}

/// Reads a package's `[package.metadata.sandbox]` as a table of `kind`; errors are
/// rendered diagnostics, each under its own heading.
fn read_requests(
    manifest: &Path,
    kind: TableKind,
    rules: &PathRules,
) -> Result<Requests, Vec<String>> {
    let text = fs::read_to_string(manifest).map_err(|err| {
        vec![format!(
            "error: failed to read {}: {err}",
            manifest.display()
        )]
    })?;
    let doc = toml_edit::Document::parse(text.clone()).map_err(|err| {
        vec![format!(
            "error: failed to parse {}: {err}",
            manifest.display()
        )]
    })?;
    let Some(item) = doc
        .get("package")
        .and_then(|pkg| pkg.get("metadata"))
        .and_then(|meta| meta.get("sandbox"))
    else {
        return Ok(Requests::default());
    };
    let file = SourceFile {
        path: manifest,
        text: &text,
    };
    parse_table(&file, item, kind, &Hygiene(rules))
        .map(|table| table.requests)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// Fails when a workspace member's own sandbox table is malformed: that is the
/// consumer's file to fix. A dependency's malformed table is only reported
/// ([`Code::W010`], the warnings returned), since the consumer cannot fix it (its requests
/// then count as empty).
///
/// # Errors
///
/// The members' diagnostics, as [`Rendered`].
pub fn check_member_tables(resolution: &Resolution) -> Result<Vec<(Code, String)>, Rendered> {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for resolved in &resolution.packages {
        for error in &resolved.request_errors {
            if resolved.package.is_member {
                errors.push(error.clone());
            } else {
                let ignored = IgnoredTable {
                    name: &resolved.package.name,
                    version: &resolved.package.version,
                    error,
                };
                warnings.push((Code::W010, ignored.message()));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Rendered(errors.join("\n\n")));
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: &str, member: bool) -> Package {
        Package {
            id: format!("{name}@{version}"),
            name: name.into(),
            version: version.into(),
            spec: format!("{name}@{version}"),
            manifest_path: PathBuf::from(format!("/src/{name}/Cargo.toml")),
            manifest_dir: PathBuf::from(format!("/src/{name}")),
            source: None,
            is_member: member,
            has_build_script: true,
            is_proc_macro: false,
            links: None,
            declares_sandbox: false,
            build_dependencies: Vec::new(),
            build_dependency_sources: Vec::new(),
        }
    }

    fn consumer(text: &str) -> ConsumerPolicy {
        let doc = toml_edit::Document::parse(text.to_string()).unwrap();
        let file = SourceFile {
            path: Path::new("Cargo.toml"),
            text,
        };
        parse_table(
            &file,
            &doc["workspace"]["metadata"]["sandbox"],
            TableKind::Workspace,
            &Hygiene(&PathRules::default()),
        )
        .unwrap()
        .consumer
        .unwrap()
    }

    #[test]
    fn a_members_invalid_table_fails_and_a_dependencys_is_a_coded_warning() {
        let invalid = |member: bool| {
            let mut resolved = resolve_package(
                &package("fake-sys", "1.0.0", member),
                &ConsumerPolicy::default(),
                Mode::Deny,
                &PathRules::default(),
            );
            resolved.request_errors = vec!["error[W001]: unknown key `exe`".into()];
            Resolution {
                consumer: Consumer::default(),
                packages: vec![resolved],
                mode: Mode::Deny,
                rules: PathRules::default(),
            }
        };
        let warnings = check_member_tables(&invalid(false)).unwrap();
        assert_eq!(
            warnings,
            [(
                Code::W010,
                "ignoring the sandbox requests of fake-sys v1.0.0: its table is invalid\n\
                 error[W001]: unknown key `exe`"
                    .to_string()
            )]
        );
        let error = check_member_tables(&invalid(true)).unwrap_err();
        assert_eq!(
            error,
            Rendered("error[W001]: unknown key `exe`".into()),
            "already under its heading"
        );
    }

    /// A dependency's directory may hold a link into the home (a git checkout can): what
    /// it declares through the link is requested under the dangerous key, like the home.
    #[test]
    fn a_declared_path_that_links_into_a_home_is_dangerous() {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let dir = root.path().join("checkouts/linky");
        fs::create_dir_all(home.join(".ssh")).unwrap();
        fs::create_dir_all(home.join("notes")).unwrap();
        fs::create_dir_all(dir.join("include")).unwrap();
        std::os::unix::fs::symlink("../../home/.ssh", dir.join("keys")).unwrap();
        std::os::unix::fs::symlink(home.join("notes"), dir.join("notes")).unwrap();
        fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"linky\"\nversion = \"1.0.0\"\n\n\
             [package.metadata.sandbox]\nread = [\"keys\", \"notes\", \"include\"]\n",
        )
        .unwrap();
        let linky = Package {
            manifest_path: dir.join("Cargo.toml"),
            manifest_dir: dir.clone(),
            declares_sandbox: true,
            ..package("linky", "1.0.0", false)
        };
        let rules = PathRules::default()
            .with_home(HomeKind::User, &home)
            .with_own_tree(&dir);
        let resolved = resolve_package(&linky, &ConsumerPolicy::default(), Mode::Deny, &rules);
        assert_eq!(resolved.request_errors, Vec::<String>::new());
        assert_eq!(resolved.requests.needs.read, ["include"]);
        assert_eq!(resolved.requests.needs.dangerous_read, ["keys", "notes"]);
        assert!(
            resolved
                .unreviewed
                .contains(&Capability::DangerousRead("keys".into()))
        );
    }

    #[test]
    fn grants_match_the_exact_version_and_deny_wins() {
        let policy = consumer(
            r#"
[workspace.metadata.sandbox.allow."zstd-sys@2.0.15"]
exec = ["cc", "ar"]
read = ["include"]
[workspace.metadata.sandbox.deny."zstd-sys@2.0.15"]
exec = ["ar"]
"#,
        );
        let resolved = resolve_package(
            &package("zstd-sys", "2.0.15", false),
            &policy,
            Mode::Deny,
            &PathRules::default(),
        );
        assert!(
            resolved
                .policy
                .granted
                .contains(&Capability::Exec("cc".into()))
        );
        assert!(
            resolved
                .policy
                .denied
                .contains(&Capability::Exec("ar".into()))
        );
        assert!(
            resolved
                .policy
                .granted
                .contains(&Capability::Read("/src/zstd-sys/include".into())),
            "relative paths are the package's"
        );

        let newer = resolve_package(
            &package("zstd-sys", "2.0.16", false),
            &policy,
            Mode::Deny,
            &PathRules::default(),
        );
        assert!(
            newer.policy.granted.is_empty(),
            "a new version is unreviewed"
        );
        assert_eq!(newer.drift, ["zstd-sys@2.0.15"]);
    }
}
