//! Which of the stand-in's environment variables the guest may see.
//!
//! Cargo runs a build script with the user's whole environment plus its own variables.
//! The guest gets only the variables cargo documents as set for build scripts: none of
//! `HOME`, `PATH`, `SSH_AUTH_SOCK`, tokens, nor the `CARGO_*` variables that configure
//! cargo itself (`CARGO_REGISTRY_TOKEN`, `CARGO_HOME`, `CARGO_HTTP_*`, ...), which the user
//! may have set and cargo passes on unchanged.

use std::ffi::OsString;

/// Variables cargo sets for every build script, by exact name.
const CARGO_SET: &[&str] = &[
    "CARGO",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_MAKEFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "DEBUG",
    "PROFILE",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_LINKER",
];

/// Families of variables cargo sets for build scripts: target cfgs, enabled features,
/// package metadata and `links` metadata of dependencies.
const CARGO_SET_PREFIXES: &[&str] = &["CARGO_CFG_", "CARGO_FEATURE_", "CARGO_PKG_", "DEP_"];

/// Whether cargo sets `name` for build scripts (and the guest may therefore see it).
pub fn is_cargo_set(name: &str) -> bool {
    CARGO_SET.contains(&name)
        || CARGO_SET_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

/// Whether `name` describes the user's session or tools rather than the build (`PATH`,
/// `HOME`, locale, rustup's and cargo's own settings). A build script looking one up and
/// not finding it is expected in the sandbox and not worth telling the user about.
pub fn is_ambient(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "PWD",
        "OLDPWD",
        "TERM",
        "LANG",
        "TMPDIR",
        "TMP",
        "TEMP",
        "TZ",
        "HOSTNAME",
        "SHLVL",
        "_",
        "LD_LIBRARY_PATH",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_HOME",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "MAKEFLAGS",
        "MFLAGS",
        "DEBUG",
        "NO_COLOR",
        "CLICOLOR",
        "COLORTERM",
    ];
    const PREFIXES: &[&str] = &[
        "LC_",
        "RUSTUP_",
        "CARGO_TERM_",
        "CARGO_WASM_BUILD_",
        "SSH_",
        "XDG_",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// Whether a variable changes which code a program loads or runs rather than what it
/// builds: the dynamic loader's (`LD_PRELOAD`, `LD_LIBRARY_PATH`, `LD_AUDIT`), glibc's
/// (`GCONV_PATH` loads a module, `GLIBC_TUNABLES`, `LOCPATH`), and rustc's own
/// (`RUSTC_BOOTSTRAP` unlocks unstable options, `RUSTC_WRAPPER`). A build script may set
/// one for a program it starts only with a grant for it: set on the `rustc` a probe may
/// run, it would turn the probe into native code of the script's choosing.
pub fn changes_what_programs_run(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "GCONV_PATH",
        "GETCONF_DIR",
        "GLIBC_TUNABLES",
        "HOSTALIASES",
        "LOCALDOMAIN",
        "LOCPATH",
        "MALLOC_TRACE",
        "NLSPATH",
        "RESOLV_HOST_CONF",
        "RES_OPTIONS",
        "TZDIR",
    ];
    const PREFIXES: &[&str] = &["LD_", "DYLD_", "RUSTC_"];
    EXACT.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// The variables of `vars` the guest may see: cargo's, plus those `granted` by policy.
///
/// Names or values that are not UTF-8 are dropped: WASI passes the environment as
/// strings, and cargo itself only sets UTF-8 variables.
pub fn sandbox_env(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    granted: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vars
        .into_iter()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(name, _)| is_cargo_set(name) || granted(name))
        .collect();
    env.sort();
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(vars: &[(&str, &str)]) -> Vec<String> {
        let vars = vars
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        sandbox_env(vars, |_| false)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    #[test]
    fn keeps_cargo_variables_only() {
        let kept = names(&[
            ("OUT_DIR", "/t/out"),
            ("CARGO_PKG_NAME", "foo"),
            ("CARGO_CFG_TARGET_OS", "linux"),
            ("CARGO_FEATURE_STD", "1"),
            ("DEP_Z_INCLUDE", "/x"),
            ("TARGET", "x86_64-unknown-linux-gnu"),
            ("HOME", "/root"),
            ("PATH", "/usr/bin"),
            ("CARGO_REGISTRY_TOKEN", "secret"),
            ("CARGO_REGISTRIES_MY_TOKEN", "secret"),
            ("CARGO_HOME", "/root/.cargo"),
            ("SSH_AUTH_SOCK", "/tmp/agent"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("RUSTC_WRAPPER", "/usr/bin/cargo-wasm-build"),
            ("LD_PRELOAD", "/evil.so"),
        ]);
        assert_eq!(
            kept,
            [
                "CARGO_CFG_TARGET_OS",
                "CARGO_FEATURE_STD",
                "CARGO_PKG_NAME",
                "DEP_Z_INCLUDE",
                "OUT_DIR",
                "TARGET"
            ]
        );
    }

    #[test]
    fn loader_and_toolchain_variables_change_what_runs() {
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "GCONV_PATH",
            "RUSTC_BOOTSTRAP",
            "DYLD_INSERT_LIBRARIES",
        ] {
            assert!(changes_what_programs_run(name), "{name}");
        }
        for name in ["CC", "CFLAGS", "PATH", "RUSTFLAGS_X", "LDFLAGS"] {
            assert!(!changes_what_programs_run(name), "{name}");
        }
    }

    #[test]
    fn granted_names_are_added() {
        let vars =
            [("CC", "gcc"), ("HOME", "/root")].map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = sandbox_env(vars, |name| name == "CC");
        assert_eq!(env, [("CC".to_string(), "gcc".to_string())]);
    }
}
