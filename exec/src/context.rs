//! What the exec layer knows about the run it serves: the package, its policy, its
//! directories and environment, the jail. Built once by the stand-in and read by the
//! broker and by a native run alike, so it depends on nothing else here but the disk
//! watch it makes.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use wasm_build_contract::policy::Policy;
use wasm_build_jail::{Access, Jail, ProgramFile};
use wasm_build_permissions_schema::{Capability, Limits};
use wasm_build_policy::verdict::Grants;

use crate::disk_watch::DiskWatch;

/// Everything the broker needs to know about the run it serves.
pub struct ExecContext {
    /// `name v1.2.3`, for messages.
    pub package: String,
    /// The package's policy.
    pub policy: Policy,
    /// The environment the guest sees; children start from it.
    pub env: Vec<(String, String)>,
    /// The `RUSTC` cargo gave the build script, which may run probes by default.
    pub rustc: Option<PathBuf>,
    /// The package directory.
    pub manifest_dir: PathBuf,
    /// The script's `OUT_DIR`.
    pub out_dir: PathBuf,
    /// The run's private temporary directory (children's `TMPDIR`).
    pub temp_dir: PathBuf,
    /// Directories the script's dependencies exported through `links` metadata, which
    /// children may read like the script itself.
    pub exported_dirs: Vec<PathBuf>,
    /// Paths named by the build settings the script sees (`PKG_CONFIG_PATH`,
    /// `OPENSSL_DIR`), which children may read as they would natively.
    pub setting_paths: Vec<PathBuf>,
    /// Directories that are never a program's own installation, however it is laid out
    /// (the home directory, cargo's and rustup's homes): they hold secrets and other
    /// programs.
    pub shared_prefixes: Vec<PathBuf>,
    /// The host `PATH`, for finding programs and for the children themselves.
    pub host_path: Option<OsString>,
    /// The variables of cargo's environment for the script that a rustc probe gets,
    /// whatever the script may see ([`crate::probe_env::inherited`]).
    pub probe_env: Vec<(String, String)>,
    /// The harmless variables of the user's environment that every other program gets
    /// unless the script cleared or set them: terminal, colour, locale, time zone
    /// ([`wasm_build_policy::env::program_defaults`]).
    pub program_env: Vec<(String, String)>,
    /// Where programs run.
    pub jail: Jail,
    /// Whether the user opted in to running programs unconfined where the jail cannot be
    /// had ([`wasm_build_contract::vars::UNCONFINED_ENV`]).
    pub dangerously_unconfined: bool,
    /// Limits (child time, buffered output).
    pub limits: Limits,
}

impl ExecContext {
    /// What a program the script runs may touch: read and execute the system, the
    /// toolchain and the program's own installation; read the package and what its
    /// dependencies exported; write `OUT_DIR` and the private temporary directory; and
    /// what the consumer granted. Not other packages' `OUT_DIR`s, not the registry's
    /// sources, not the home directory.
    pub fn access(&self, program: &ProgramFile) -> Access {
        let mut access = Access {
            read_exec: self.toolchain().into_iter().collect(),
            read: vec![self.manifest_dir.clone()],
            write: vec![self.out_dir.clone(), self.temp_dir.clone()],
        };
        access.read_exec.extend(self.installation(program));
        if self.policy.verdict(Capability::RunBuilt).permits() {
            access.read_exec.push(self.out_dir.clone());
            access.read_exec.push(self.temp_dir.clone());
        }
        access.read.extend(self.exported_dirs.iter().cloned());
        access.read.extend(self.setting_paths.iter().cloned());
        for capability in &self.policy.granted {
            match capability {
                Capability::Read(path) | Capability::DangerousRead(path) => {
                    access.read.push(path.into());
                }
                Capability::Write(path) | Capability::DangerousWrite(path) => {
                    access.write.push(path.into());
                }
                _ => {}
            }
        }
        access
    }

    /// A program's environment: `env` as the script left it, plus the host `PATH` unless
    /// it set one (the guest cannot see PATH, but compilers need it to find their parts),
    /// the run's private `TMPDIR`, and, unless the script set one, a private empty `HOME`
    /// in it: tools that insist on a home (cargo, git, pip) then find an empty one instead
    /// of failing, and never the user's.
    pub(crate) fn child_env(&self, mut env: BTreeMap<String, String>) -> Vec<(OsString, OsString)> {
        if !env.contains_key("PATH")
            && let Some(path) = self.host_path.as_ref().and_then(|p| p.to_str())
        {
            env.insert("PATH".into(), path.to_string());
        }
        env.insert("TMPDIR".into(), self.temp_dir.display().to_string());
        if !env.contains_key("HOME") {
            let home = self.temp_dir.join("home");
            if std::fs::create_dir_all(&home).is_ok() {
                env.insert("HOME".into(), home.display().to_string());
            }
        }
        env.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    /// The toolchain of the `RUSTC` cargo gave the script: `<toolchain>/bin/rustc`, unless
    /// that is a shared directory (a `RUSTC` naming rustup's proxy in `~/.cargo/bin` would
    /// make it cargo's home, credentials and all).
    pub fn toolchain(&self) -> Option<PathBuf> {
        toolchain_of(self.rustc.as_deref(), &self.shared_prefixes)
    }

    /// Whether `program` lies where the build writes (`OUT_DIR`, the temporary directory):
    /// something the script or its programs built.
    pub fn built_here(&self, program: &ProgramFile) -> bool {
        [&self.out_dir, &self.temp_dir].into_iter().any(|dir| {
            dir.canonicalize()
                .is_ok_and(|dir| program.path.starts_with(dir))
        })
    }

    /// The installation a program lives in: `<prefix>` for `<prefix>/bin/<name>` (a pyenv
    /// python, a compiler in `/opt`), unless that prefix is shared (the home directory,
    /// cargo's home). Otherwise only the program's own file.
    fn installation(&self, program: &ProgramFile) -> Option<PathBuf> {
        let bin = program.path.parent()?;
        if bin.file_name()? != "bin" {
            return None;
        }
        let prefix = bin.parent()?;
        (!is_shared(prefix, &self.shared_prefixes)).then(|| prefix.to_path_buf())
    }

    /// The watch on what the script's programs write (see [`DiskWatch`]).
    pub(crate) fn disk_watch(&self) -> DiskWatch {
        DiskWatch::new(
            vec![self.out_dir.clone(), self.temp_dir.clone()],
            self.limits.out_dir_bytes,
        )
    }

    /// Tokens of the private jobserver a child's `make` gets: cargo's share for this
    /// script, less the token the child holds implicitly.
    pub(crate) fn jobserver_tokens(&self) -> u32 {
        let jobs = self
            .env
            .iter()
            .find(|(name, _)| name == "NUM_JOBS")
            .and_then(|(_, value)| value.parse::<u32>().ok())
            .unwrap_or(1);
        jobs.saturating_sub(1).max(1)
    }
}

/// The toolchain `rustc` belongs to (`<toolchain>/bin/rustc`), unless that is a shared
/// directory (a `RUSTC` naming rustup's proxy in `~/.cargo/bin` would make it cargo's
/// home, credentials and all).
pub fn toolchain_of(rustc: Option<&Path>, shared: &[PathBuf]) -> Option<PathBuf> {
    rustc
        .and_then(|rustc| rustc.canonicalize().ok())
        .and_then(|rustc| rustc.parent()?.parent().map(Path::to_path_buf))
        .filter(|toolchain| !is_shared(toolchain, shared))
}

/// Whether `dir` is `/`, or is or holds one of the `shared` directories.
fn is_shared(dir: &Path, shared: &[PathBuf]) -> bool {
    dir.parent().is_none() || shared.iter().any(|shared| shared.starts_with(dir))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn context(rustc: &Path, home: &Path) -> ExecContext {
        ExecContext {
            package: "p v1".into(),
            policy: Policy::default(),
            env: Vec::new(),
            rustc: Some(rustc.to_path_buf()),
            manifest_dir: home.join("pkg"),
            out_dir: home.join("out"),
            temp_dir: home.join("tmp"),
            exported_dirs: Vec::new(),
            setting_paths: Vec::new(),
            shared_prefixes: vec![home.to_path_buf(), home.join(".local"), home.join(".cargo")],
            host_path: None,
            probe_env: Vec::new(),
            program_env: Vec::new(),
            jail: Jail::new("/nonexistent"),
            dangerously_unconfined: false,
            limits: Limits::default(),
        }
    }

    pub(crate) fn program(path: &Path) -> ProgramFile {
        ProgramFile {
            path: path.to_path_buf(),
            device: 0,
            inode: 0,
        }
    }

    /// A program's own installation is readable; a shared directory (the home, cargo's
    /// home with its credentials) never is, however the program is laid out.
    #[test]
    fn installations_never_widen_to_a_shared_directory() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().canonicalize().unwrap();
        for bin in [
            ".cargo/bin",
            ".pyenv/versions/3.11/bin",
            ".local/bin",
            "bin",
        ] {
            std::fs::create_dir_all(home.join(bin)).unwrap();
            std::fs::write(home.join(bin).join("tool"), "").unwrap();
        }
        let ctx = context(&home.join(".cargo/bin/tool"), &home);
        assert_eq!(ctx.toolchain(), None, "rustup's proxy in cargo's home");
        let read_exec = |bin: &str| ctx.access(&program(&home.join(bin).join("tool"))).read_exec;
        assert_eq!(
            read_exec(".pyenv/versions/3.11/bin"),
            [home.join(".pyenv/versions/3.11")]
        );
        for shared in [".cargo/bin", ".local/bin", "bin"] {
            assert!(read_exec(shared).is_empty(), "{shared}");
        }
        assert!(
            ctx.access(&program(Path::new("/bin/sh")))
                .read_exec
                .is_empty()
        );
    }
}
