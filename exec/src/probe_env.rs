//! The environment a rustc probe runs with: built by the broker from an allow list, never
//! from what the script set.
//!
//! A probe's arguments are checked (see `wasm_build_policy::probe`), but rustc also starts its
//! linker (`cc`, found on `PATH`), and the linker driver starts its own parts, each
//! reading variables that choose what runs: `PATH`, `COMPILER_PATH`, `GCC_EXEC_PREFIX`,
//! an interpreter's `PYTHONPATH` or `PERL5OPT`, and whatever else a program on the way
//! reads. A script that sets `PATH` to a directory in `OUT_DIR` holding a link named `cc`
//! to `/usr/bin/perl`, with `PERL5OPT` and `PERL5DB` set, has rustc run its Perl as the
//! linker: no list of dangerous names can be complete, so none is kept.
//!
//! A probe gets instead: the consumer's own `PATH` (its relative entries dropped: they
//! would be looked up in the working directory the script chose), the run's private
//! `TMPDIR` and empty `HOME`, and, from cargo's environment for the build script
//! ([`inherited`]), the variables cargo sets for build scripts (which a probe's source
//! may read with `env!`), the locale, and the few variables rustc and its linker driver
//! read ([`TOOLCHAIN`]). When cargo's environment names no `RUST_TARGET_PATH`, it is an
//! empty directory, since rustc otherwise looks for `<target>.json` in its working
//! directory, which the script chooses. The script may remove variables (anyhow removes
//! `RUSTC_BOOTSTRAP` for its first probe), never set one: a variable it set is dropped,
//! and [`Built::dropped`] names those rustc or its linker read, for a warning. Granted
//! (`exec = ["$RUSTC"]`), rustc is an ordinary program and gets the script's environment.
//!
//! The working directory stays the script's: probes name their sources relative to it
//! (anyhow's `src/nightly.rs`), and rustc looks nothing up in it that it would run once
//! `RUST_TARGET_PATH` is set.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use wasm_build_policy::env_names::{changes_what_programs_run, is_cargo_set};

/// Variables rustc and its linker driver read, which a probe gets when cargo's
/// environment for the script has them: unstable features (`RUSTC_BOOTSTRAP`, which
/// changes a feature probe's answer), custom targets, the C driver's library search path,
/// and Apple's SDK and deployment targets.
pub const TOOLCHAIN: &[&str] = &[
    "RUSTC_BOOTSTRAP",
    "RUST_TARGET_PATH",
    "RUST_MIN_STACK",
    "LIBRARY_PATH",
    "SDKROOT",
    "MACOSX_DEPLOYMENT_TARGET",
    "IPHONEOS_DEPLOYMENT_TARGET",
    "TVOS_DEPLOYMENT_TARGET",
    "WATCHOS_DEPLOYMENT_TARGET",
    "XROS_DEPLOYMENT_TARGET",
];

/// Names the C driver reads to choose the programs it runs: never passed to a probe, but
/// dropping one the script set changes what the probe does, so it is said.
const DRIVER_PROGRAMS: &[&str] = &["COMPILER_PATH", "GCC_EXEC_PREFIX"];

/// The locale: messages only, but a probe gets it as natively.
fn is_locale(name: &str) -> bool {
    name == "LANG" || name == "LANGUAGE" || name.starts_with("LC_")
}

/// Whether a probe gets `name` from cargo's environment for the script.
fn passes(name: &str) -> bool {
    is_cargo_set(name) || is_locale(name) || TOOLCHAIN.contains(&name)
}

/// The variables of `vars` (cargo's environment for the build script, as the stand-in
/// got it) that a probe gets; names or values that are not UTF-8 are left out.
pub fn inherited(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Vec<(String, String)> {
    wasm_build_policy::env::kept_vars(vars, passes)
}

/// Whether rustc or its linker read `name`, so that dropping a value the script set may
/// change the probe's answer. Only plain names: the programs read no other.
fn read_by_toolchain(name: &str) -> bool {
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    plain
        && (passes(name)
            || ["PATH", "TMPDIR", "HOME"].contains(&name)
            || name.starts_with("RUST_")
            || DRIVER_PROGRAMS.contains(&name)
            || changes_what_programs_run(name))
}

/// What a probe's environment is made of, besides the request.
pub struct ProbeEnv<'a> {
    /// From cargo's environment for the script ([`inherited`]).
    pub inherited: &'a [(String, String)],
    /// The consumer's `PATH`.
    pub host_path: Option<&'a OsStr>,
    /// The run's private temporary directory.
    pub temp_dir: &'a Path,
}

/// A probe's environment, and what the script set that it does not get.
#[derive(Debug, PartialEq, Eq)]
pub struct Built {
    /// The whole environment.
    pub env: Vec<(OsString, OsString)>,
    /// Variables the script set that rustc or its linker read, dropped.
    pub dropped: Vec<String>,
}

impl ProbeEnv<'_> {
    /// The environment of a probe whose script cleared its environment (`env_clear`) and
    /// set or removed the variables in `edits`, in order.
    pub fn build(&self, env_clear: bool, edits: &[(String, Option<String>)]) -> Built {
        let mut env: BTreeMap<OsString, OsString> = if env_clear {
            BTreeMap::new()
        } else {
            self.inherited
                .iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect()
        };
        // The last edit of a name is what the script meant for it.
        let last: BTreeMap<&str, Option<&str>> = edits
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_deref()))
            .collect();
        for (name, value) in &last {
            if value.is_none() {
                env.remove(OsStr::new(name));
            }
        }
        let target_path = env
            .get(OsStr::new("RUST_TARGET_PATH"))
            .and_then(|value| absolute_entries(value))
            .unwrap_or_else(|| self.empty_dir().into());
        env.insert("RUST_TARGET_PATH".into(), target_path);
        if let Some(path) = self.host_path.and_then(absolute_entries) {
            env.insert("PATH".into(), path);
        }
        env.insert("TMPDIR".into(), self.temp_dir.into());
        let home = self.temp_dir.join("home");
        if std::fs::create_dir_all(&home).is_ok() {
            env.insert("HOME".into(), home.into());
        }
        let dropped = last
            .iter()
            .filter_map(|(name, value)| {
                let value = (*value)?;
                let differs = env.get(OsStr::new(name)) != Some(&OsString::from(value));
                (differs && read_by_toolchain(name)).then(|| name.to_string())
            })
            .collect();
        Built {
            env: env.into_iter().collect(),
            dropped,
        }
    }

    /// An empty directory of the run's own, where rustc finds no target specification.
    fn empty_dir(&self) -> PathBuf {
        let dir = self.temp_dir.join("no-target-specs");
        let _ = std::fs::create_dir_all(&dir);
        dir
    }
}

/// A search path without its relative entries (an empty one means the working
/// directory, which the script chose); `None` when none is left.
fn absolute_entries(value: &OsStr) -> Option<OsString> {
    let dirs: Vec<PathBuf> = std::env::split_paths(value)
        .filter(|dir| dir.is_absolute())
        .collect();
    if dirs.is_empty() {
        return None;
    }
    std::env::join_paths(dirs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        vars.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    fn edits(edits: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        edits
            .iter()
            .map(|(name, value)| (name.to_string(), value.map(str::to_string)))
            .collect()
    }

    fn get<'a>(built: &'a Built, name: &str) -> Option<&'a str> {
        built
            .env
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.to_str())
    }

    /// Cargo's environment for a script, with what a user's session holds besides.
    fn cargo_env() -> Vec<(String, String)> {
        inherited(owned(&[
            ("OUT_DIR", "/t/out"),
            ("CARGO_PKG_NAME", "p"),
            ("TARGET", "x86_64-unknown-linux-gnu"),
            ("RUSTC", "rustc"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C.UTF-8"),
            ("RUSTC_BOOTSTRAP", "1"),
            ("LIBRARY_PATH", "/opt/lib"),
            ("PATH", "/usr/bin"),
            ("HOME", "/home/me"),
            ("SSH_AUTH_SOCK", "/tmp/agent"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("PYTHONPATH", "/home/me/py"),
            ("LD_PRELOAD", "/home/me/x.so"),
            ("COMPILER_PATH", "/opt/gcc"),
            ("CC", "clang"),
        ]))
    }

    #[test]
    fn a_probe_gets_cargos_variables_the_locale_and_what_rustc_reads() {
        let names: Vec<String> = cargo_env().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "CARGO_PKG_NAME",
                "LANG",
                "LC_ALL",
                "LIBRARY_PATH",
                "OUT_DIR",
                "RUSTC",
                "RUSTC_BOOTSTRAP",
                "TARGET"
            ]
        );
    }

    #[test]
    fn what_the_script_sets_never_reaches_a_probe() {
        let temp = tempfile::tempdir().unwrap();
        let inherited = cargo_env();
        let probe = ProbeEnv {
            inherited: &inherited,
            host_path: Some(OsStr::new("/usr/local/bin:/usr/bin")),
            temp_dir: temp.path(),
        };
        let built = probe.build(
            false,
            &edits(&[
                ("PATH", Some("/t/out/bin")),
                ("PERL5OPT", Some("-d")),
                ("PERL5DB", Some("BEGIN { system 'id' }")),
                ("PYTHONPATH", Some("/t/out/py")),
                ("COMPILER_PATH", Some("/t/out/bin")),
                ("GCC_EXEC_PREFIX", Some("/t/out/gcc/")),
                ("LIBRARY_PATH", Some("/t/out/lib")),
                ("LD_PRELOAD", Some("/t/out/x.so")),
                ("RUST_TARGET_PATH", Some("/t/out")),
                ("RUSTC_BOOTSTRAP", Some("1")),
                ("HOME", Some("/t/out")),
                ("TMPDIR", Some("/t/out")),
                ("RUSTVERSION", Some("1")),
            ]),
        );
        assert_eq!(get(&built, "PATH"), Some("/usr/local/bin:/usr/bin"));
        assert_eq!(get(&built, "LIBRARY_PATH"), Some("/opt/lib"));
        assert_eq!(get(&built, "RUSTC_BOOTSTRAP"), Some("1"), "cargo's own");
        assert_eq!(get(&built, "TMPDIR"), temp.path().to_str());
        assert_eq!(
            get(&built, "HOME").map(PathBuf::from),
            Some(temp.path().join("home"))
        );
        assert_eq!(
            get(&built, "RUST_TARGET_PATH").map(PathBuf::from),
            Some(temp.path().join("no-target-specs"))
        );
        for name in [
            "PERL5OPT",
            "PERL5DB",
            "PYTHONPATH",
            "COMPILER_PATH",
            "GCC_EXEC_PREFIX",
            "LD_PRELOAD",
            "RUSTVERSION",
            "SSH_AUTH_SOCK",
            "CC",
        ] {
            assert_eq!(get(&built, name), None, "{name}");
        }
        // Said: what rustc or its linker read. RUSTC_BOOTSTRAP was set to what the probe
        // gets anyway; an interpreter's variables and a wrapper's hint change nothing.
        assert_eq!(
            built.dropped,
            [
                "COMPILER_PATH",
                "GCC_EXEC_PREFIX",
                "HOME",
                "LD_PRELOAD",
                "LIBRARY_PATH",
                "PATH",
                "RUST_TARGET_PATH",
                "TMPDIR"
            ]
        );
    }

    #[test]
    fn the_script_may_remove_what_a_probe_would_get() {
        let temp = tempfile::tempdir().unwrap();
        let inherited = cargo_env();
        let probe = ProbeEnv {
            inherited: &inherited,
            host_path: Some(OsStr::new("/usr/bin")),
            temp_dir: temp.path(),
        };
        // anyhow's first probe: without RUSTC_BOOTSTRAP.
        let built = probe.build(false, &edits(&[("RUSTC_BOOTSTRAP", None)]));
        assert_eq!(get(&built, "RUSTC_BOOTSTRAP"), None);
        assert_eq!(get(&built, "OUT_DIR"), Some("/t/out"));
        assert!(built.dropped.is_empty());
        // Set, then removed: the removal counts, and nothing was dropped.
        let built = probe.build(
            false,
            &edits(&[("RUSTC_BOOTSTRAP", Some("1")), ("RUSTC_BOOTSTRAP", None)]),
        );
        assert_eq!(get(&built, "RUSTC_BOOTSTRAP"), None);
        assert!(built.dropped.is_empty());
        // Cleared: only what the broker gives every probe.
        let built = probe.build(true, &[]);
        let names: Vec<&OsString> = built.env.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["HOME", "PATH", "RUST_TARGET_PATH", "TMPDIR"]);
    }

    #[test]
    fn a_probe_never_finds_programs_in_its_working_directory() {
        let temp = tempfile::tempdir().unwrap();
        for consumers in ["/usr/bin::.:bin:/bin", ":/usr/bin:/bin:"] {
            let probe = ProbeEnv {
                inherited: &[],
                host_path: Some(OsStr::new(consumers)),
                temp_dir: temp.path(),
            };
            assert_eq!(
                get(&probe.build(false, &[]), "PATH"),
                Some("/usr/bin:/bin"),
                "{consumers}"
            );
        }
        // The consumer's own target directory, when it has one.
        let inherited = vec![("RUST_TARGET_PATH".to_string(), "/opt/targets".to_string())];
        let probe = ProbeEnv {
            inherited: &inherited,
            host_path: None,
            temp_dir: temp.path(),
        };
        let built = probe.build(false, &[]);
        assert_eq!(get(&built, "RUST_TARGET_PATH"), Some("/opt/targets"));
        assert_eq!(get(&built, "PATH"), None);
    }
}
