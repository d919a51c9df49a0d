//! What a script looked for and did not find: which hidden variables and paths are the
//! consumer's to review, and the grants that would show them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::verdict::{Grants, Verdict};
use wasm_build_contract::policy::Policy;
use wasm_build_permissions_schema::hygiene::normalize_path;
use wasm_build_permissions_schema::{Capability, EnvPattern};

use crate::env::{env_capability, in_runtime_tree, is_ambient};
use crate::judge;

/// The paths the script looked for outside what it may read that exist on this machine,
/// where natively it would have found them. The kernel's and the session's trees
/// (`/proc`, `/sys`, `/dev`, `/run`) are never granted, so never reported.
pub fn hidden_paths(lookups: &BTreeSet<String>) -> Vec<String> {
    lookups
        .iter()
        .filter(|path| !in_runtime_tree(Path::new(path.as_str())))
        .filter(|path| Path::new(path.as_str()).exists())
        .cloned()
        .collect()
}

/// In strict mode, the hidden variables a script looked up (each returned with the grant
/// it needs) wait for review like a denied attempt; except one whose name no grant can hold ([W107](wasm_build_permissions_schema::Code::W107)),
/// which stays a warning: pending, it would fail every strict build with nothing to approve.
pub fn lookups_pending_review(hidden_lookups: &[String]) -> Vec<(String, Capability)> {
    hidden_lookups
        .iter()
        .filter(|name| EnvPattern::exactly(name).is_ok())
        .map(|name| (name.clone(), env_capability(name)))
        .collect()
}

/// The directories to grant for `paths`: each directory itself, a file's directory;
/// only where libraries, SDKs and toolchains are installed (a script looking into `/etc`
/// or a home directory is the user's to judge, not to approve in passing), none inside
/// another one chosen. A path is judged by where it leads ([`judge::resolve`]), so
/// `/usr/../home/me/.ssh` is no installation directory; the grant offered is the path as
/// a table normalizes it (`..` applied).
pub fn read_grants(paths: &[String]) -> Vec<String> {
    const INSTALL_PREFIXES: &[&str] = &[
        "/usr",
        "/opt",
        "/lib",
        "/lib32",
        "/lib64",
        "/nix/store",
        "/gnu/store",
        "/snap",
        "/Library",
        "/Applications",
        "/Developer",
    ];
    let installed = |dir: &Path| {
        INSTALL_PREFIXES
            .iter()
            .any(|prefix| dir.starts_with(prefix))
    };
    let mut dirs: Vec<PathBuf> = paths
        .iter()
        .filter_map(|path| normalize_path(path).ok())
        .map(PathBuf::from)
        .filter_map(|path| {
            if path.is_dir() {
                Some(path)
            } else {
                path.parent().map(Path::to_path_buf)
            }
        })
        .filter(|dir| installed(dir) && installed(&judge::resolve(dir)))
        .collect();
    dirs.sort();
    dirs.dedup();
    let mut chosen: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if !chosen.iter().any(|outer| dir.starts_with(outer)) {
            chosen.push(dir);
        }
    }
    chosen
        .into_iter()
        .map(|dir| dir.to_string_lossy().into_owned())
        .collect()
}

/// The paths a `deny` of `read` does not cover: the consumer decided on the others.
pub fn undenied(policy: &Policy, paths: Vec<String>) -> Vec<String> {
    paths
        .into_iter()
        .filter(|path| {
            !matches!(
                policy.verdict(Capability::Read(path.clone())),
                Verdict::Refused(_)
            )
        })
        .collect()
}

/// The hidden variables the script looked up that the consumer has not reviewed: neither
/// denied nor describing the session (`HOME`, `PATH`), whose absence the sandbox implies.
pub fn unreviewed_lookups(policy: &Policy, lookups: &BTreeSet<String>) -> Vec<String> {
    lookups
        .iter()
        .filter(|name| !is_ambient(name))
        .filter(|name| {
            !matches!(
                policy.verdict(Capability::Env((*name).clone())),
                Verdict::Refused(_)
            )
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_no_grant_can_name_are_not_pending() {
        let names = ["CFLAGS", "LD_*", "GITHUB_TOKEN"].map(String::from);
        let pending: Vec<Capability> = lookups_pending_review(&names)
            .into_iter()
            .map(|(_, capability)| capability)
            .collect();
        assert_eq!(
            pending,
            [
                Capability::Env("CFLAGS".into()),
                Capability::DangerousEnv("GITHUB_TOKEN".into())
            ]
        );
    }

    /// A lookup that climbs out of an installation directory is judged where it lands:
    /// approving it must not grant a home directory's secrets.
    #[test]
    fn read_grants_follow_dot_dot_out_of_installation_directories() {
        let paths: Vec<String> = [
            "/usr/../root/.ssh/id_rsa",
            "/usr/lib/../../home/me/.ssh",
            "/opt/./../etc/passwd",
            "/usr/lib/../include/stdio.h",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(read_grants(&paths), ["/usr/include"]);
    }

    #[test]
    fn read_grants_show_installed_software_only() {
        let paths: Vec<String> = [
            "/",
            "/usr/bin",
            "/usr/bin/env",
            "/usr/lib/os-release",
            "/etc/hostname",
            "/root/.ssh",
            "/home/me/lib",
        ]
        .map(String::from)
        .to_vec();
        // Directories as they are, files by their directory, nothing covered twice, and
        // nothing outside where software is installed.
        assert_eq!(read_grants(&paths), ["/usr/bin", "/usr/lib"]);
    }

    #[test]
    fn hidden_paths_are_those_a_native_run_would_have_found() {
        let lookups: BTreeSet<String> = [
            "/usr/bin",
            "/usr/bin/no-such-program-7f3a",
            "/proc/cpuinfo",
            "/dev/null",
        ]
        .map(String::from)
        .into();
        assert_eq!(hidden_paths(&lookups), ["/usr/bin"]);
    }
}
