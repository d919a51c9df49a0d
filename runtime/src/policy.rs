//! What one build script may do, and the verdict on each thing it tries.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, Result};

use serde::{Deserialize, Serialize};
use wasm_build_permissions_schema::{Capability, GatedDirective, GrantSite, Limits};

use crate::directive::Directive;

/// The resolved policy of one package's build script: what the consumer granted and
/// explicitly denied on top of the sandbox defaults.
///
/// The defaults, which need no entry here: read the package directory, read and write
/// `OUT_DIR`, see the variables cargo sets for build scripts, run the `RUSTC` cargo
/// provides (confined), and emit every directive that stays within the package
/// (`rustc-cfg`, `rustc-check-cfg`, `rustc-link-lib`, `warning`, `error`, links metadata,
/// and `rerun-if-*` / `rustc-link-search` for what the script can see).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Capabilities the consumer approved.
    pub granted: BTreeSet<Capability>,
    /// Capabilities the consumer refused. An attempt to use one fails quietly (the script
    /// sees an error and may fall back) instead of failing the build as pending.
    pub denied: BTreeSet<Capability>,
    /// When true, running `RUSTC` needs a grant like any other program.
    pub deny_rustc: bool,
    /// Resource limits.
    pub limits: Limits,
    /// The spec the consumer grants this package under (`name@version`, or cargo's full
    /// id for git and other registries), so denial hints name a grant that applies.
    #[serde(default)]
    pub spec: Option<String>,
    /// Whether the script sees the [build settings](crate::env::build_setting) set in the
    /// environment (`CFLAGS`, `PKG_CONFIG_PATH`, `OPENSSL_DIR`) without a grant. Off with
    /// `env-defaults = false`.
    #[serde(default = "yes")]
    pub env_defaults: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            granted: BTreeSet::new(),
            denied: BTreeSet::new(),
            deny_rustc: false,
            limits: Limits::default(),
            spec: None,
            env_defaults: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// The environment variable through which the CLI hands the resolved policies of a build
/// to its stand-ins.
pub const POLICY_ENV: &str = "CARGO_WASM_BUILD_POLICY";

/// The resolved policies of every package in one build, written by the CLI before it
/// starts cargo and read by each stand-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyFile {
    /// Policy by package directory (`CARGO_MANIFEST_DIR`), which identifies the resolved
    /// package exactly: registry, git and path sources all live in distinct directories.
    pub packages: BTreeMap<PathBuf, Policy>,
    /// Where grants are written, for the hints in denials.
    #[serde(default)]
    pub grant_site: GrantSite,
    /// Names in the `[env]` table of the cargo configuration that applies to the build:
    /// cargo sets them for build scripts, and the consumer wrote them, so the scripts see
    /// them (see [`Policy::sees_env`]).
    #[serde(default)]
    pub config_env: BTreeSet<String>,
    /// Strict mode: a hidden variable a script looks up is pending review, like a denied
    /// attempt, instead of a warning.
    #[serde(default)]
    pub strict: bool,
}

impl PolicyFile {
    /// Reads the file named by [`POLICY_ENV`]; without one, every package gets the
    /// defaults (as when `RUSTC_WRAPPER` is set by hand instead of through the CLI).
    ///
    /// # Errors
    ///
    /// Fails when the variable names a file that cannot be read or parsed.
    pub fn from_env() -> Result<Self> {
        let Some(path) = std::env::var_os(POLICY_ENV) else {
            return Ok(PolicyFile::default());
        };
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "failed to read the sandbox policy {}",
                Path::new(&path).display()
            )
        })?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "the sandbox policy {} is corrupt",
                Path::new(&path).display()
            )
        })
    }

    /// The policy of the package in `manifest_dir`.
    pub fn policy_for(&self, manifest_dir: &Path) -> Policy {
        self.packages.get(manifest_dir).cloned().unwrap_or_default()
    }
}

/// The verdict on one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Within the defaults or granted.
    Allowed,
    /// Needs this capability, which the consumer has not reviewed: the build fails and the
    /// error says how to grant it.
    Pending(Capability),
    /// Needs this capability, which the consumer explicitly denied.
    Refused(Capability),
    /// Never allowed, whatever the grants; the string says why.
    Forbidden(&'static str),
    /// Harmless to leave out and unsafe to pass: the directive is dropped, the build goes
    /// on, and the audit log says why.
    Dropped(&'static str),
}

impl Policy {
    /// The verdict on needing `capability`: granted, refused or pending review.
    pub fn verdict(&self, capability: Capability) -> Verdict {
        if self.denied.iter().any(|denied| covers(denied, &capability)) {
            return Verdict::Refused(capability);
        }
        if self
            .granted
            .iter()
            .any(|granted| covers(granted, &capability))
        {
            return Verdict::Allowed;
        }
        Verdict::Pending(capability)
    }

    /// Replaces a leading `$TOOLCHAIN` in path grants with the toolchain's directory (or
    /// drops those grants when there is none).
    #[must_use]
    pub fn with_toolchain(mut self, toolchain: Option<&Path>) -> Self {
        let expand = |set: BTreeSet<Capability>| -> BTreeSet<Capability> {
            set.into_iter()
                .filter_map(|capability| {
                    let fix = |path: String| -> Option<String> {
                        match path.strip_prefix("$TOOLCHAIN") {
                            Some(rest) => Some(format!("{}{rest}", toolchain?.display())),
                            None => Some(path),
                        }
                    };
                    Some(match capability {
                        Capability::Read(path) => Capability::Read(fix(path)?),
                        Capability::Write(path) => Capability::Write(fix(path)?),
                        Capability::LinkSearch(path) => Capability::LinkSearch(fix(path)?),
                        Capability::DangerousRead(path) => Capability::DangerousRead(fix(path)?),
                        Capability::DangerousWrite(path) => Capability::DangerousWrite(fix(path)?),
                        other => other,
                    })
                })
                .collect()
        };
        self.granted = expand(self.granted);
        self.denied = expand(self.denied);
        self
    }

    /// The spec to grant under: the resolved one, else `name@version`.
    pub fn grant_spec(&self, name: &str, version: &str) -> String {
        self.spec
            .clone()
            .unwrap_or_else(|| wasm_build_permissions_schema::package_spec(name, version))
    }

    /// Whether the guest may see environment variable `name` beyond cargo's own.
    pub fn allows_env(&self, name: &str) -> bool {
        self.verdict(Capability::Env(name.to_string())) == Verdict::Allowed
    }

    /// Why the script sees the variable `name` when it is set, or `None` when it is
    /// hidden. A deny wins over everything but cargo's own variables; the cargo
    /// configuration's `[env]` (`config`) passes except for secret-shaped names and those
    /// that change which code programs load, which need their grants.
    pub fn sees_env(&self, name: &str, config: &BTreeSet<String>) -> Option<EnvOrigin> {
        use wasm_build_permissions_schema::hygiene::is_secret_shaped;
        if crate::env::is_cargo_set(name) {
            return Some(EnvOrigin::Cargo);
        }
        match self.verdict(Capability::Env(name.to_string())) {
            Verdict::Allowed => return Some(EnvOrigin::Granted),
            Verdict::Refused(_) => return None,
            _ => {}
        }
        if config.contains(name)
            && !is_secret_shaped(name)
            && !crate::env::changes_what_programs_run(name)
        {
            return Some(EnvOrigin::CargoConfig);
        }
        (self.env_defaults && crate::env::build_setting(name).is_some())
            .then_some(EnvOrigin::BuildSetting)
    }

    /// What the consumer must review for a script to see the hidden variable `name`:
    /// `env`, or `dangerous-env` for a secret's name.
    pub fn env_capability(name: &str) -> Capability {
        if wasm_build_permissions_schema::hygiene::is_secret_shaped(name) {
            Capability::DangerousEnv(name.to_string())
        } else {
            Capability::Env(name.to_string())
        }
    }
}

/// Why a build script sees a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvOrigin {
    /// Cargo sets it for every build script.
    Cargo,
    /// The consumer granted it (`env` or `dangerous-env`).
    Granted,
    /// The `[env]` table of the cargo configuration sets it.
    CargoConfig,
    /// It is a build setting that passes by default ([`crate::env::build_setting`]).
    BuildSetting,
}

/// Whether a granted (or denied) capability covers a needed one. Environment grants may
/// end in `_*` to cover a prefix (never a secret-shaped name, unless the grant is
/// `dangerous-env`); path grants cover everything below them.
fn covers(held: &Capability, needed: &Capability) -> bool {
    use wasm_build_permissions_schema::hygiene::env_covers;
    match (held, needed) {
        (Capability::Env(pattern), Capability::Env(name)) => env_covers(pattern, name, false),
        (Capability::DangerousEnv(pattern), Capability::Env(name)) => {
            env_covers(pattern, name, true)
        }
        (Capability::Read(dir) | Capability::DangerousRead(dir), Capability::Read(path))
        | (Capability::Write(dir) | Capability::DangerousWrite(dir), Capability::Write(path))
        | (Capability::Write(dir) | Capability::DangerousWrite(dir), Capability::Read(path))
        | (Capability::LinkSearch(dir), Capability::LinkSearch(path))
        | (Capability::Read(dir) | Capability::DangerousRead(dir), Capability::LinkSearch(path)) => {
            Path::new(path).starts_with(Path::new(dir))
        }
        (held, needed) => held == needed,
    }
}

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

impl Policy {
    /// The verdict on one directive of the script's output.
    pub fn judge_directive(&self, ctx: &RunContext, directive: &Directive<'_>) -> Verdict {
        match *directive {
            Directive::RerunIfChanged(path) => {
                // Cargo stats the path on every build; on a secret's path that leaks when
                // the secret changes. The script could not read such a path, so its
                // output cannot depend on it and the directive is not needed.
                if ctx.can_read(path) {
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
                if ctx.hidden_env.contains(name) {
                    Verdict::Dropped("the sandbox hides this variable from the build script")
                } else {
                    Verdict::Allowed
                }
            }
            Directive::RustcLinkSearch { path, .. } => {
                if ctx.can_read(path) {
                    Verdict::Allowed
                } else {
                    self.verdict(Capability::LinkSearch(
                        resolve(&ctx.manifest_dir.join(path)).display().to_string(),
                    ))
                }
            }
            Directive::RustcLinkArg { .. } => {
                self.verdict(Capability::Directive(GatedDirective::RustcLinkArg))
            }
            Directive::RustcFlags(_) => {
                self.verdict(Capability::Directive(GatedDirective::RustcFlags))
            }
            Directive::RustcEnv { name, .. } if forbidden_rustc_env(name) => Verdict::Forbidden(
                "it would change which programs the compiler runs or loads, or how cargo behaves",
            ),
            Directive::RustcEnv { .. } => {
                self.verdict(Capability::Directive(GatedDirective::RustcEnv))
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
            assert_eq!(policy.judge_directive(&ctx, &directive), Verdict::Allowed);
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
            policy.judge_directive(&ctx, &link_arg),
            Verdict::Pending(Capability::Directive(GatedDirective::RustcLinkArg))
        );
        policy
            .granted
            .insert(Capability::Directive(GatedDirective::RustcLinkArg));
        assert_eq!(policy.judge_directive(&ctx, &link_arg), Verdict::Allowed);
        policy
            .denied
            .insert(Capability::Directive(GatedDirective::RustcLinkArg));
        assert!(matches!(
            policy.judge_directive(&ctx, &link_arg),
            Verdict::Refused(_)
        ));
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
                policy.judge_directive(&ctx, &directive),
                Verdict::Forbidden(_)
            ));
        }
        let fine = Directive::RustcEnv {
            name: "GIT_HASH",
            value: "abc",
        };
        assert_eq!(policy.judge_directive(&ctx, &fine), Verdict::Allowed);
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
                    policy.judge_directive(&ctx, &Directive::RerunIfChanged(path)),
                    Verdict::Dropped(_)
                ),
                "{path}"
            );
        }
        assert!(matches!(
            policy.judge_directive(&ctx, &Directive::RerunIfEnvChanged("AWS_SECRET_ACCESS_KEY")),
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
            Policy::default().judge_directive(&ctx, &directive),
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
            policy.judge_directive(&ctx, &Directive::RerunIfChanged("link/key")),
            Verdict::Dropped(_)
        ));
    }

    #[test]
    fn env_grants_match_prefixes() {
        let mut policy = Policy::default();
        policy.granted.insert(Capability::Env("CFLAGS_*".into()));
        policy.granted.insert(Capability::Env("CC".into()));
        assert!(policy.allows_env("CFLAGS_x86_64_unknown_linux_gnu"));
        assert!(policy.allows_env("CC"));
        assert!(!policy.allows_env("CCX"));
        assert!(!policy.allows_env("HOME"));
        assert!(
            !policy.allows_env("CFLAGS_DEPLOY_TOKEN"),
            "a prefix never covers a secret"
        );
        policy.granted.insert(Capability::DangerousEnv("*".into()));
        assert!(policy.allows_env("CFLAGS_DEPLOY_TOKEN"));
    }

    #[test]
    fn build_settings_and_cargo_config_pass_unless_denied_or_turned_off() {
        let config: BTreeSet<String> = ["ZSTD_FLAVOR", "LD_PRELOAD", "CI_JOB_TOKEN"]
            .map(String::from)
            .into();
        let mut policy = Policy::default();
        assert_eq!(policy.sees_env("OUT_DIR", &config), Some(EnvOrigin::Cargo));
        assert_eq!(
            policy.sees_env("CFLAGS", &config),
            Some(EnvOrigin::BuildSetting)
        );
        assert_eq!(
            policy.sees_env("ZSTD_FLAVOR", &config),
            Some(EnvOrigin::CargoConfig)
        );
        // Cargo's configuration is the consumer's word, but not for what loads into
        // programs or a secret: those keep their grants.
        assert_eq!(policy.sees_env("LD_PRELOAD", &config), None);
        assert_eq!(policy.sees_env("CI_JOB_TOKEN", &config), None);
        assert_eq!(policy.sees_env("EDITOR", &config), None);
        policy.granted.insert(Capability::Env("EDITOR".into()));
        assert_eq!(policy.sees_env("EDITOR", &config), Some(EnvOrigin::Granted));
        policy.denied.insert(Capability::Env("CFLAGS".into()));
        policy.denied.insert(Capability::Env("ZSTD_FLAVOR".into()));
        assert_eq!(policy.sees_env("CFLAGS", &config), None);
        assert_eq!(policy.sees_env("ZSTD_FLAVOR", &config), None);
        policy.env_defaults = false;
        assert_eq!(policy.sees_env("CXXFLAGS", &config), None);
        assert_eq!(policy.sees_env("TARGET", &config), Some(EnvOrigin::Cargo));
        assert_eq!(
            Policy::env_capability("CI_JOB_TOKEN"),
            Capability::DangerousEnv("CI_JOB_TOKEN".into())
        );
        assert_eq!(Policy::env_capability("CC"), Capability::Env("CC".into()));
    }

    #[test]
    fn an_old_policy_file_keeps_the_defaults_on() {
        let mut json = serde_json::to_value(Policy::default()).unwrap();
        json.as_object_mut()
            .unwrap()
            .remove("env_defaults")
            .unwrap();
        let policy: Policy = serde_json::from_value(json).unwrap();
        assert!(policy.env_defaults);
    }
}
