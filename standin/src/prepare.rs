//! Everything a run needs before it starts: the package, its policy, the environment the
//! script sees, and the directories it and its programs may read.

#![allow(
    clippy::disallowed_methods,
    reason = "the stand-in builds a script's environment from what cargo and the CLI hand it (decided by policy::env)"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use wasm_build_contract::cargo::{CargoPackage, cargo_home, cargo_var};
use wasm_build_contract::policy::{Policy, PolicyFile};
use wasm_build_exec::context::{ExecContext, toolchain_of};
use wasm_build_permissions_schema::{Capability, GrantSite};
use wasm_build_policy::env::{EnvOrigin, sandbox_env, sees_env};
use wasm_build_policy::judge::RunContext;
use wasm_build_policy::toolchain::with_toolchain;
use wasm_build_runtime::SandboxEngine;
use wasm_build_runtime::preopen::{Access, Preopen};

use crate::exports::exported_dirs;
use crate::run_cache;

/// The package whose build script is running, as cargo describes it in the environment.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) cargo: CargoPackage,
    pub(crate) out_dir: PathBuf,
}

impl Package {
    pub(crate) fn from_env() -> Result<Self> {
        Ok(Package {
            cargo: CargoPackage::from_env()?,
            out_dir: cargo_var("OUT_DIR")?.into(),
        })
    }
}

/// The variables a script sees without a grant, besides cargo's: the cargo
/// configuration's `[env]` and the build settings that pass by default.
#[derive(Debug, Default)]
pub(crate) struct PassedEnv {
    pub(crate) config: Vec<String>,
    pub(crate) defaults: Vec<String>,
    /// Paths their values name, readable by the script's programs.
    pub(crate) paths: Vec<PathBuf>,
}

impl PassedEnv {
    pub(crate) fn of(env: &[(String, String)], origin: impl Fn(&str) -> Option<EnvOrigin>) -> Self {
        let mut passed = PassedEnv::default();
        for (name, value) in env {
            match origin(name) {
                Some(EnvOrigin::CargoConfig) => passed.config.push(name.clone()),
                Some(EnvOrigin::BuildSetting) => passed.defaults.push(name.clone()),
                _ => continue,
            }
            passed.paths.extend(
                wasm_build_policy::env::setting_paths(name, value)
                    .into_iter()
                    .filter(|path| path.exists()),
            );
        }
        passed
    }
}

/// Everything a run needs to know before it starts, from cargo's environment and the
/// build's policy.
pub(crate) struct Prepared {
    pub(crate) package: Package,
    pub(crate) policy: Policy,
    /// What the script sees.
    pub(crate) env: Vec<(String, String)>,
    /// Set in the stand-in's environment, hidden from the script.
    pub(crate) hidden_env: BTreeSet<String>,
    /// What the script sees without a grant beyond cargo's own variables.
    pub(crate) passed_env: PassedEnv,
    /// Strict mode: hidden lookups are pending review.
    pub(crate) strict: bool,
    /// Directories the script's dependencies handed it through `links` metadata, and the
    /// downloaded build-dependencies it links, opened read-only for the script itself and
    /// its programs.
    pub(crate) exported: Vec<PathBuf>,
    /// Directories never taken for a program's installation (see [`shared_prefixes`]).
    pub(crate) shared_prefixes: Vec<PathBuf>,
    pub(crate) ctx: RunContext,
    pub(crate) temp_dir: tempfile::TempDir,
    /// Where the consumer's grants go, for the hints in denials.
    pub(crate) grant_site: GrantSite,
    /// The file that changes when this package's policy does (see [`rerun`]).
    pub(crate) grant_digest: Option<PathBuf>,
}

impl Prepared {
    pub(crate) fn from_env() -> Result<Self> {
        let package = Package::from_env()?;
        let shared_prefixes = shared_prefixes();
        let toolchain = toolchain_of(
            std::env::var_os("RUSTC").map(PathBuf::from).as_deref(),
            &shared_prefixes,
        );
        let file = PolicyFile::from_env()?;
        let policy = with_toolchain(
            file.policy_for(&package.cargo.manifest_dir),
            toolchain.as_deref(),
        );
        let origin = |name: &str| sees_env(&policy, name, &file.config_env);
        let env = sandbox_env(std::env::vars_os(), |name| origin(name).is_some());
        let hidden_env: BTreeSet<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .filter(|name| !env.iter().any(|(visible, _)| visible == name))
            .collect();
        let passed_env = PassedEnv::of(&env, origin);
        let mut exported = exported_dirs(&env, &package.out_dir, cargo_home().as_deref());
        // The downloaded build-dependencies it links, read like what dependencies export.
        exported.extend(policy.dependency_sources.iter().cloned());
        let mut readable = readable_dirs(
            &dependency_dirs(&package.out_dir),
            toolchain.as_deref(),
            &policy,
        );
        readable.extend(passed_env.paths.iter().cloned());
        let ctx = RunContext {
            out_dir: package.out_dir.clone(),
            manifest_dir: package.cargo.manifest_dir.clone(),
            readable,
            hidden_env: hidden_env.clone(),
        };
        let temp_dir = tempfile::Builder::new()
            .prefix("cargo-wasm-build-tmp-")
            .tempdir()
            .context("failed to create the build script's temporary directory")?;
        wasm_build_exec::interrupt::remove_on_exit(temp_dir.path());
        let grant_digest = file.grant_digest_file(&package.cargo.manifest_dir);
        Ok(Prepared {
            package,
            policy,
            grant_site: file.grant_site,
            grant_digest,
            env,
            hidden_env,
            passed_env,
            strict: file.strict,
            exported,
            shared_prefixes,
            ctx,
            temp_dir,
        })
    }

    /// What the run cache keys a run of `module` on.
    pub(crate) fn run_facts<'a>(
        &'a self,
        engine: &SandboxEngine,
        module: &'a Path,
    ) -> run_cache::RunFacts<'a> {
        run_cache::RunFacts {
            package: (&self.package.cargo.name, &self.package.cargo.version),
            manifest_dir: &self.package.cargo.manifest_dir,
            out_dir: &self.package.out_dir,
            module,
            engine_key: engine.compatibility_key(),
            policy: &self.policy,
            env: &self.env,
            program_env: wasm_build_policy::env::program_defaults(std::env::vars_os()),
            probe_env: wasm_build_exec::probe_env::inherited(std::env::vars_os()),
            exported: &self.exported,
            setting_paths: &self.passed_env.paths,
        }
    }

    pub(crate) fn exec_context(&self) -> ExecContext {
        ExecContext {
            package: format!(
                "{} v{}",
                self.package.cargo.name, self.package.cargo.version
            ),
            policy: self.policy.clone(),
            env: self.env.clone(),
            rustc: std::env::var_os("RUSTC").map(PathBuf::from),
            manifest_dir: self.package.cargo.manifest_dir.clone(),
            out_dir: self.package.out_dir.clone(),
            temp_dir: self.temp_dir.path().to_path_buf(),
            exported_dirs: self.exported.clone(),
            setting_paths: self.passed_env.paths.clone(),
            shared_prefixes: self.shared_prefixes.clone(),
            host_path: std::env::var_os("PATH"),
            probe_env: wasm_build_exec::probe_env::inherited(std::env::vars_os()),
            program_env: wasm_build_policy::env::program_defaults(std::env::vars_os()),
            jail: wasm_build_exec::confinement::jail(),
            dangerously_unconfined: wasm_build_exec::confinement::dangerously_unconfined(),
            limits: self.policy.limits,
        }
    }
}

/// The directories the consumer granted the script (`read`, `write` and their dangerous
/// forms): the script reads (or writes) them as its programs do. Relative grants are the
/// package's; a grant that is not a directory here gives the script nothing.
pub(crate) fn granted_preopens(policy: &Policy, manifest_dir: &Path) -> Vec<Preopen> {
    policy
        .granted
        .iter()
        .filter_map(|capability| match capability {
            Capability::Read(path) | Capability::DangerousRead(path) => {
                Some((path, Access::ReadOnly))
            }
            Capability::Write(path) | Capability::DangerousWrite(path) => {
                Some((path, Access::ReadWrite))
            }
            _ => None,
        })
        .map(|(path, access)| Preopen {
            path: manifest_dir.join(path),
            access,
        })
        .filter(|preopen| preopen.path.is_dir())
        .collect()
}

/// Directories that are never a program's own installation: the home directory, cargo's
/// and rustup's homes, and `~/.local` (the prefix of everything `pip install --user`).
pub(crate) fn shared_prefixes() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut shared: Vec<PathBuf> = home.iter().cloned().collect();
    shared.extend(home.iter().map(|home| home.join(".local")));
    shared.extend(cargo_home());
    shared.extend(
        std::env::var_os("RUSTUP_HOME")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|home| home.join(".rustup"))),
    );
    shared
}

/// Everything a directive may point into: what cargo and rustc may read on the host.
pub(crate) fn readable_dirs(
    dependency_dirs: &[PathBuf],
    toolchain: Option<&Path>,
    policy: &Policy,
) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = dependency_dirs.to_vec();
    dirs.extend(wasm_build_jail::SYSTEM_READ_EXEC.iter().map(PathBuf::from));
    dirs.extend(toolchain.map(Path::to_path_buf));
    for capability in &policy.granted {
        if let Capability::Read(path)
        | Capability::Write(path)
        | Capability::DangerousRead(path)
        | Capability::DangerousWrite(path) = capability
        {
            dirs.push(PathBuf::from(path));
        }
    }
    dirs
}

/// Directories a directive may name besides the package (cargo and rustc read them on
/// the host, not the script): the sources of every dependency and the other build
/// scripts' `OUT_DIR`s, where `rustc-link-search` of a dependency's library points.
pub(crate) fn dependency_dirs(out_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    // <profile>/build/<pkg>-<hash>/out
    if let Some(build_dir) = out_dir.parent().and_then(Path::parent) {
        dirs.push(build_dir.to_path_buf());
    }
    if let Some(cargo_home) = cargo_home() {
        dirs.extend(wasm_build_contract::cargo::downloaded_sources(&cargo_home));
    }
    dirs
}
