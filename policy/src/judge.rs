//! The verdict on each directive a build script prints, and on each path it names.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::verdict::{Grants, Verdict};
use wasm_build_contract::Policy;
use wasm_build_permissions_schema::{Capability, CargoEnvName, GatedDirective};

use crate::directive::Directive;

/// What the sandbox knows about one run when it judges the script's directives.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The script's `OUT_DIR`.
    pub out_dir: PathBuf,
    /// The package directory.
    pub manifest_dir: PathBuf,
    /// Other directories the script or its granted programs may read: dependency
    /// sources, other `OUT_DIR`s, system and toolchain directories, granted paths.
    pub readable: Vec<PathBuf>,
    /// Names of variables set in the stand-in's environment that the guest could not see.
    pub hidden_env: BTreeSet<String>,
}

/// Environment variables a build script may never set for the compiler, grant or not:
/// they change which programs run (`PATH`, `RUSTC_WRAPPER`), what gets loaded into them
/// (`LD_PRELOAD`), or cargo's and rustc's own behaviour.
fn forbidden_rustc_env(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PATH",
        "HOME",
        "TMPDIR",
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "OUT_DIR",
    ];
    const PREFIXES: &[&str] = &["RUSTC", "RUSTDOC", "CARGO", "LD_", "DYLD_", "RUST_"];
    let upper = name.to_ascii_uppercase();
    EXACT.contains(&upper.as_str()) || PREFIXES.iter().any(|prefix| upper.starts_with(prefix))
}

impl RunContext {
    /// The verdict on one directive of the script's output.
    pub fn judge(&self, policy: &Policy, directive: &Directive<'_>) -> Verdict {
        match *directive {
            Directive::RerunIfChanged(path) => {
                // Cargo stats the path on every build; on a secret's path that leaks when
                // the secret changes. The script could not read such a path, so its
                // output cannot depend on it and the directive is not needed.
                if self.can_read(path) {
                    Verdict::Allowed
                } else {
                    Verdict::Dropped("outside what the build script can read")
                }
            }
            Directive::RerunIfEnvChanged(name) => {
                // Cargo records the variable's value under target/ in plain text. A
                // variable that is set but hidden may be a secret; the script cannot see
                // it, so its output cannot depend on it and the directive is not needed.
                // Unset variables leak nothing and pass, as natively.
                if self.hidden_env.contains(name) {
                    Verdict::Dropped("the sandbox hides this variable from the build script")
                } else {
                    Verdict::Allowed
                }
            }
            Directive::RustcLinkSearch { path, .. } => {
                if self.can_read(path) {
                    Verdict::Allowed
                } else {
                    policy.verdict(Capability::LinkSearch(
                        resolve(&self.manifest_dir.join(path)).display().to_string(),
                    ))
                }
            }
            Directive::RustcLinkArg { .. } => {
                policy.verdict(Capability::Directive(GatedDirective::RustcLinkArg))
            }
            Directive::RustcFlags(_) => {
                policy.verdict(Capability::Directive(GatedDirective::RustcFlags))
            }
            // Cargo's own namespace, for a name nothing reads while compiling: a grant of
            // exactly that name lets it pass (see `CargoEnvName`).
            Directive::RustcEnv { name, .. } if name.parse::<CargoEnvName>().is_ok() => {
                policy.verdict(Capability::DangerousRustcEnv(name.to_string()))
            }
            Directive::RustcEnv { name, .. } if forbidden_rustc_env(name) => Verdict::Forbidden(
                "it would change which programs the compiler runs or loads, or how cargo behaves",
            ),
            Directive::RustcEnv { .. } => {
                policy.verdict(Capability::Directive(GatedDirective::RustcEnv))
            }
            Directive::RustcLinkLib(_)
            | Directive::RustcCfg(_)
            | Directive::RustcCheckCfg(_)
            | Directive::Warning(_)
            | Directive::Error(_)
            | Directive::Metadata { .. }
            | Directive::Invalid => Verdict::Allowed,
        }
    }
}

impl RunContext {
    /// Whether `path` (relative to the package) lies in a directory the script or its
    /// granted programs may read. Symlinks and `..` are resolved first.
    pub fn can_read(&self, path: &str) -> bool {
        let resolved = resolve(&self.manifest_dir.join(path));
        [&self.out_dir, &self.manifest_dir]
            .into_iter()
            .chain(&self.readable)
            .any(|dir| resolved.starts_with(resolve(dir)))
    }
}

/// The grants that would allow the writes the sandbox refused the script (`refused`,
/// absolute paths), each with the written path that needs it, for what the consumer has not
/// denied. Only two places are offered, where scripts that write outside `OUT_DIR` write:
/// - its own package directory, as a package-relative `dangerous-write` of the written
///   file's directory: those are the package's sources, which cargo watches and compiles,
///   so the grant is shown as dangerous; never a package cargo downloaded (inside one of
///   `downloads`), whose sources every project on the machine shares and cargo takes
///   for immutable;
/// - the build's profile directory (`target/<profile>`, where a script copies a library
///   next to the binaries), as a `write` of the written file's directory, unless that is
///   inside cargo's own directories there (`build` with the other scripts' `OUT_DIR`s,
///   `deps`, `.fingerprint`, `incremental`).
///
/// Anything else (another package's sources, the home directory, the system) is not
/// offered: the script failed to write it, as it would fail on a read-only machine.
pub fn pending_writes(
    policy: &Policy,
    (manifest_dir, out_dir): (&Path, &Path),
    downloads: &[PathBuf],
    refused: &BTreeSet<String>,
) -> Vec<(String, Capability)> {
    let package = resolve(manifest_dir);
    let downloaded = downloads
        .iter()
        .any(|root| package.starts_with(resolve(root)));
    let profile = out_dir.ancestors().nth(3).map(resolve);
    refused
        .iter()
        .filter_map(|written| {
            let path = resolve(Path::new(written));
            let dir = path.parent()?;
            // The profile directory first: the target directory is often in the package.
            let in_profile = profile
                .as_deref()
                .and_then(|profile| dir.strip_prefix(profile).ok());
            let offered = if let Some(inside) = in_profile {
                const CARGO_OWN: &[&str] = &["build", "deps", ".fingerprint", "incremental"];
                let first = inside.components().next();
                if first.is_some_and(|part| CARGO_OWN.iter().any(|own| part.as_os_str() == *own)) {
                    return None;
                }
                Capability::Write(dir.display().to_string())
            } else {
                let inside = dir.strip_prefix(&package).ok().filter(|_| !downloaded)?;
                let relative = inside.display().to_string();
                let relative = if relative.is_empty() {
                    ".".into()
                } else {
                    relative
                };
                Capability::DangerousWrite(relative)
            };
            let needed = Capability::Write(path.display().to_string());
            match policy.verdict(needed) {
                Verdict::Pending(_) => Some((written.clone(), offered)),
                _ => None,
            }
        })
        .collect()
}

/// `path` with symlinks of its existing part resolved and `.`/`..` of the rest applied
/// lexically, so that neither a link nor `..` can make an outside path look inside.
pub fn resolve(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = existing.canonicalize() {
            let mut resolved = canonical;
            for component in rest.into_iter().rev() {
                match component {
                    Component::ParentDir => {
                        resolved.pop();
                    }
                    Component::Normal(name) => resolved.push(name),
                    _ => {}
                }
            }
            return resolved;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(root: &Path) -> RunContext {
        let out_dir = root.join("target/out");
        let manifest_dir = root.join("pkg");
        std::fs::create_dir_all(&out_dir).unwrap();
        std::fs::create_dir_all(&manifest_dir).unwrap();
        RunContext {
            out_dir,
            manifest_dir,
            readable: vec!["/usr".into()],
            hidden_env: ["AWS_SECRET_ACCESS_KEY".to_string()].into(),
        }
    }

    /// Refused writes are offered only inside the package (a dangerous, package-relative
    /// grant of the written file's directory) and the profile directory outside cargo's
    /// own directories; never in a downloaded package, elsewhere, or once denied.
    #[test]
    fn refused_writes_offer_the_package_and_profile_directories_only() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().canonicalize().unwrap();
        let package = root.join("pkg");
        let profile = root.join("target/debug");
        let out_dir = profile.join("build/pkg-0123/out");
        let registry = root.join("home/registry/src");
        let downloaded = registry.join("index/dep-1.0.0");
        for dir in [
            &package.join("src"),
            &out_dir,
            &profile.join("deps"),
            &downloaded,
        ] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let refused: BTreeSet<String> = [
            package.join("src/generated.rs"),
            package.join("Cargo.toml"),
            profile.join("libcopied.so"),
            profile.join("deps/libplanted.rlib"),
            profile.join("build/other-0123/out/x"),
            root.join("home/.bashrc"),
        ]
        .iter()
        .map(|path| path.display().to_string())
        .collect();
        let downloads = [registry.clone()];
        let offered = |policy: &Policy, package: &Path| -> Vec<Capability> {
            pending_writes(policy, (package, &out_dir), &downloads, &refused)
                .into_iter()
                .map(|(_, capability)| capability)
                .collect()
        };
        assert_eq!(
            offered(&Policy::default(), &package),
            [
                Capability::DangerousWrite(".".into()),
                Capability::DangerousWrite("src".into()),
                Capability::Write(profile.display().to_string()),
            ]
        );
        assert_eq!(
            offered(&Policy::default(), &downloaded),
            [Capability::Write(profile.display().to_string())]
        );
        let mut policy = Policy::default();
        policy
            .denied
            .insert(Capability::DangerousWrite(package.display().to_string()));
        assert_eq!(
            offered(&policy, &package),
            [Capability::Write(profile.display().to_string())]
        );
    }

    #[test]
    fn safe_directives_pass_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let policy = Policy::default();
        for directive in [
            Directive::RustcCfg("x"),
            Directive::RustcLinkLib("z"),
            Directive::RerunIfChanged("build.rs"),
            Directive::RerunIfEnvChanged("TARGET"),
            Directive::RerunIfEnvChanged("LIBC_BUILD_VERBOSE"),
            Directive::RustcLinkSearch {
                kind: Some("native"),
                path: ctx.out_dir.to_str().unwrap(),
            },
            Directive::RustcLinkSearch {
                kind: None,
                path: "/usr/lib/x86_64-linux-gnu",
            },
            Directive::RerunIfChanged("/usr/include/zlib.h"),
        ] {
            assert_eq!(ctx.judge(&policy, &directive), Verdict::Allowed);
        }
    }

    #[test]
    fn gated_directives_are_pending_until_granted() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let link_arg = Directive::RustcLinkArg {
            key: "rustc-link-arg",
            value: "-Wl,--wrap=main",
        };
        let mut policy = Policy::default();
        assert_eq!(
            ctx.judge(&policy, &link_arg),
            Verdict::Pending(Capability::Directive(GatedDirective::RustcLinkArg))
        );
        policy
            .granted
            .insert(Capability::Directive(GatedDirective::RustcLinkArg));
        assert_eq!(ctx.judge(&policy, &link_arg), Verdict::Allowed);
        policy
            .denied
            .insert(Capability::Directive(GatedDirective::RustcLinkArg));
        assert!(matches!(ctx.judge(&policy, &link_arg), Verdict::Refused(_)));
    }

    #[test]
    fn dangerous_rustc_env_is_forbidden_even_when_granted() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let mut policy = Policy::default();
        policy
            .granted
            .insert(Capability::Directive(GatedDirective::RustcEnv));
        for name in [
            "PATH",
            "LD_PRELOAD",
            "RUSTC_WRAPPER",
            "CARGO_HOME",
            "ld_library_path",
        ] {
            let directive = Directive::RustcEnv { name, value: "x" };
            assert!(matches!(
                ctx.judge(&policy, &directive),
                Verdict::Forbidden(_)
            ));
        }
        let fine = Directive::RustcEnv {
            name: "GIT_HASH",
            value: "abc",
        };
        assert_eq!(ctx.judge(&policy, &fine), Verdict::Allowed);
    }

    /// A `CARGO_*` name nothing reads while compiling is pending its own named grant,
    /// which `directives = ["rustc-env"]` does not give; names cargo or the tool read stay
    /// forbidden whatever is granted.
    #[test]
    fn a_cargo_rustc_env_passes_only_with_a_grant_of_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let mut policy = Policy::default();
        policy
            .granted
            .insert(Capability::Directive(GatedDirective::RustcEnv));
        let named = Directive::RustcEnv {
            name: "CARGO_GIT_HASH",
            value: "abc",
        };
        let wanted = Capability::DangerousRustcEnv("CARGO_GIT_HASH".into());
        assert_eq!(ctx.judge(&policy, &named), Verdict::Pending(wanted.clone()));
        policy.granted.insert(wanted);
        assert_eq!(ctx.judge(&policy, &named), Verdict::Allowed);
        policy
            .granted
            .insert(Capability::DangerousRustcEnv("CARGO_MANIFEST_DIR".into()));
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_VERSION",
            "CARGO_WASM_BUILD_POLICY",
        ] {
            let directive = Directive::RustcEnv { name, value: "/" };
            assert!(
                matches!(ctx.judge(&policy, &directive), Verdict::Forbidden(_)),
                "{name}"
            );
        }
    }

    #[test]
    fn reruns_on_what_the_script_cannot_see_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let policy = Policy::default();
        for path in [
            "/root/.ssh/id_rsa",
            "../../../etc/passwd",
            "src/../../secret",
        ] {
            assert!(
                matches!(
                    ctx.judge(&policy, &Directive::RerunIfChanged(path)),
                    Verdict::Dropped(_)
                ),
                "{path}"
            );
        }
        assert!(matches!(
            ctx.judge(
                &policy,
                &Directive::RerunIfEnvChanged("AWS_SECRET_ACCESS_KEY")
            ),
            Verdict::Dropped(_)
        ));
    }

    #[test]
    fn link_search_outside_what_can_be_read_is_pending() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        let directive = Directive::RustcLinkSearch {
            kind: Some("native"),
            path: "/root/evil-libs",
        };
        assert_eq!(
            ctx.judge(&Policy::default(), &directive),
            Verdict::Pending(Capability::LinkSearch("/root/evil-libs".into()))
        );
    }

    #[test]
    fn a_symlink_out_of_the_package_does_not_count_as_inside() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ctx(dir.path());
        std::fs::create_dir(dir.path().join("secret")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), ctx.manifest_dir.join("link"))
            .unwrap();
        let policy = Policy::default();
        assert!(matches!(
            ctx.judge(&policy, &Directive::RerunIfChanged("link/key")),
            Verdict::Dropped(_)
        ));
    }
}
