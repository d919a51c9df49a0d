//! Which file a request means, and which grants name it: a path as given or a bare name
//! found on the host `PATH`, a rustup proxy followed to the build's toolchain, and grants
//! matched to the file they name (never to a name alone, except a bare name the request
//! used too). What is judged is the file that runs.

use std::path::{Path, PathBuf};

use wasm_build_jail::ProgramFile;
use wasm_build_permissions_schema::Capability;
use wasm_build_policy::exec_verdict::RUSTC_GRANT;
use wasm_build_policy::network::NetworkRules;
use wasm_build_shim::protocol::{SpawnRequest, status};

use super::{Broker, Failure};
use crate::program::find_on_path;

impl Broker {
    /// The file the guest means: a path as given (relative to the request's working
    /// directory), or a bare name looked up on the host `PATH`; identified once, so
    /// that what is judged is what runs.
    pub(super) fn resolve(
        &self,
        request: &SpawnRequest,
    ) -> (Option<PathBuf>, Result<ProgramFile, Failure>) {
        let path = if request.program.contains('/') {
            request
                .cwd
                .as_deref()
                .map_or_else(|| self.ctx.manifest_dir.clone(), PathBuf::from)
                .join(&request.program)
        } else {
            match find_on_path(&request.program, self.ctx.host_path.as_deref()) {
                Some(path) => path,
                None => {
                    let message = format!("`{}`: program not found on PATH", request.program);
                    return (None, Err((status::NOT_FOUND, message)));
                }
            }
        };
        let file = ProgramFile::identify(&path)
            .map_err(|err| (status::NOT_FOUND, format!("{}: {err}", path.display())))
            .and_then(|file| self.through_rustup_proxy(&path, file));
        (Some(path), file)
    }

    /// The toolchain's own program for a rustup proxy (`~/.cargo/bin/cargo` is rustup,
    /// which picks the program by the name it was started as and the toolchain by the
    /// home directory's settings, neither of which a jailed program has): the one in the
    /// toolchain of the build's `RUSTC`, as natively when the proxy resolves to it.
    fn through_rustup_proxy(&self, path: &Path, file: ProgramFile) -> Result<ProgramFile, Failure> {
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            return Ok(file);
        };
        let Some(dir) = path.parent() else {
            return Ok(file);
        };
        let rustup = ProgramFile::identify(&dir.join("rustup")).ok();
        let is_proxy = name != "rustup"
            && rustup
                .is_some_and(|rustup| rustup.device == file.device && rustup.inode == file.inode);
        if !is_proxy {
            return Ok(file);
        }
        let Some(toolchain) = self.ctx.toolchain() else {
            return Ok(file);
        };
        let real = toolchain.join("bin").join(name);
        ProgramFile::identify(&real).map_err(|_| {
            (
                status::NOT_FOUND,
                format!(
                    "`{name}` is a rustup proxy, and the toolchain of this build ({}) has no \
                     `{name}`; install it with `rustup component add {name}`",
                    toolchain.display()
                ),
            )
        })
    }

    /// The program a grant names, resolved the way a request would be.
    pub(super) fn identity(&mut self, grant: &str) -> Option<ProgramFile> {
        if let Some(known) = self.identities.get(grant) {
            return known.clone();
        }
        let path = if grant == RUSTC_GRANT {
            self.ctx.rustc.as_ref().and_then(|rustc| {
                if rustc.components().count() > 1 {
                    Some(rustc.clone())
                } else {
                    find_on_path(&rustc.to_string_lossy(), self.ctx.host_path.as_deref())
                }
            })
        } else if grant.contains('/') {
            Some(PathBuf::from(grant))
        } else {
            find_on_path(grant, self.ctx.host_path.as_deref())
        };
        let identity = path.and_then(|path| ProgramFile::identify(&path).ok());
        self.identities.insert(grant.to_string(), identity.clone());
        identity
    }

    /// Whether one of `grants` (program names or paths) names the program a request for
    /// `requested` resolved to.
    fn names(&mut self, grants: Vec<String>, requested: &str, file: &ProgramFile) -> bool {
        // A bare name means the program PATH finds, as the request's name does; anything
        // with a `/` counts only as the file it names (a relative path would otherwise
        // mean another file from another working directory).
        grants.iter().any(|grant| {
            (grant == requested && !grant.contains('/') && grant != RUSTC_GRANT)
                || self
                    .identity(grant)
                    .is_some_and(|held| held.same_file(file))
        })
    }

    /// Whether an `exec` grant (or, `denied`, an `exec` denial) names the program.
    pub(super) fn holds(&mut self, denied: bool, requested: &str, file: &ProgramFile) -> bool {
        let set = if denied {
            &self.ctx.policy.denied
        } else {
            &self.ctx.policy.granted
        };
        let grants = set
            .iter()
            .filter_map(|capability| match capability {
                Capability::Exec(grant) => Some(grant.clone()),
                _ => None,
            })
            .collect();
        self.names(grants, requested, file)
    }

    /// What the `network` grants that name the program allow it: public addresses (a
    /// bare grant), named hosts, or nothing. Denials win: a denied bare grant takes the
    /// program's network away, a denied host that host.
    pub(super) fn network_rules(&mut self, requested: &str, file: &ProgramFile) -> NetworkRules {
        let granted = self.network_grants(false, requested, file);
        let denied = self.network_grants(true, requested, file);
        NetworkRules::from_grants(&granted, &denied)
    }

    /// The `network` grants (or, `denied`, denials) that name the program: `None` for a
    /// bare one, else the host.
    fn network_grants(
        &mut self,
        denied: bool,
        requested: &str,
        file: &ProgramFile,
    ) -> Vec<Option<String>> {
        let set = if denied {
            &self.ctx.policy.denied
        } else {
            &self.ctx.policy.granted
        };
        let grants: Vec<(String, Option<String>)> = set
            .iter()
            .filter_map(|capability| match capability {
                Capability::Network(program) => Some((program.clone(), None)),
                Capability::NetworkHost(grant) => {
                    Some((grant.program.clone(), Some(grant.host.clone())))
                }
                _ => None,
            })
            .collect();
        grants
            .into_iter()
            .filter(|(program, _)| self.names(vec![program.clone()], requested, file))
            .map(|(_, host)| host)
            .collect()
    }

    /// The name a grant should use: the bare name when the script gave a path that the
    /// name finds on `PATH` anyway (`/usr/bin/cc` is `cc`), else what the script gave.
    pub(super) fn suggested_name(&mut self, requested: &str, file: &ProgramFile) -> String {
        if !requested.contains('/') {
            return requested.to_string();
        }
        let name = Path::new(requested)
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or(requested);
        if self
            .identity(name)
            .is_some_and(|found| found.same_file(file))
        {
            name.to_string()
        } else {
            requested.to_string()
        }
    }
}
