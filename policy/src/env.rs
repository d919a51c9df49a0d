//! Which of the stand-in's environment variables the guest may see.
//!
//! Cargo runs a build script with the user's whole environment plus its own variables.
//! The guest gets only the variables cargo documents as set for build scripts: none of
//! `HOME`, `PATH`, `SSH_AUTH_SOCK`, tokens, nor the `CARGO_*` variables that configure
//! cargo itself (`CARGO_REGISTRY_TOKEN`, `CARGO_HOME`, `CARGO_HTTP_*`, ...), which the user
//! may have set and cargo passes on unchanged.

use std::collections::BTreeSet;
use std::ffi::OsString;

use crate::env_names::{changes_what_programs_run, is_cargo_set};
use crate::hygiene::is_secret_shaped;
use crate::verdict::{Grants, Verdict};
use serde::{Deserialize, Serialize};
use wasm_build_contract::Policy;
use wasm_build_permissions_schema::Capability;

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
        // Read by std itself (on a panic, when spawning a thread), not by the script.
        "RUST_BACKTRACE",
        "RUST_LIB_BACKTRACE",
        "RUST_MIN_STACK",
    ];
    const PREFIXES: &[&str] = &[
        "LC_",
        "RUSTUP_",
        "CARGO_TERM_",
        wasm_build_contract::vars::PREFIX,
        "SSH_",
        "XDG_",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// Variables of the user's environment that every program a build script starts gets
/// (a granted program, a program the script built), as natively, unless the script
/// cleared or set them. They say how to present output and nothing else: the terminal's
/// kind and size (`TERM`, `COLUMNS`, `LINES`: curses-based tools and code generators fail
/// without a `TERM`), colour (`NO_COLOR`, `CLICOLOR`, `CLICOLOR_FORCE`, `COLORTERM`), the
/// locale (`LANG`, `LANGUAGE`, `LC_*`: messages, collation, the encoding of what a
/// program prints) and the time zone (`TZ`). None names a secret, a file a program would
/// run or load code from, or where the user keeps anything: `TERMINFO` and `TZDIR` (paths
/// to data a library parses) and `LOCPATH` and `NLSPATH` (which choose what glibc loads)
/// are not here, and a variable in a program's environment is readable by the program,
/// which may be the script's own code.
pub const PROGRAM_DEFAULTS: &[&str] = &[
    "TERM",
    "COLORTERM",
    "COLUMNS",
    "LINES",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "LANG",
    "LANGUAGE",
    "TZ",
];

/// The prefix of the locale's categories (`LC_ALL`, `LC_CTYPE`, `LC_MESSAGES`, ...),
/// which pass to programs with [`PROGRAM_DEFAULTS`].
const LOCALE_PREFIX: &str = "LC_";

/// Whether `name` is one of the harmless variables every program a script starts gets
/// from the user's environment ([`PROGRAM_DEFAULTS`] and the locale's `LC_*`). A name
/// shaped like a secret's never is, whatever its prefix.
pub fn passes_to_programs(name: &str) -> bool {
    let locale = name.strip_prefix(LOCALE_PREFIX).is_some_and(|category| {
        !category.is_empty()
            && category
                .bytes()
                .all(|byte| byte.is_ascii_uppercase() || byte == b'_')
    });
    (PROGRAM_DEFAULTS.contains(&name) || locale) && !is_secret_shaped(name)
}

/// The variables of `vars` (the user's environment, as the stand-in got it) that every
/// program a script starts gets ([`passes_to_programs`]); names or values that are not
/// UTF-8 are left out.
pub fn program_defaults(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(String, String)> {
    kept_vars(vars, passes_to_programs)
}

/// The variables of `vars` whose names `keep` passes, sorted; names or values that are
/// not UTF-8 are left out (no program's defaults, and no probe's, need one).
pub fn kept_vars(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    keep: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = vars
        .into_iter()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(name, _)| keep(name))
        .collect();
    kept.sort();
    kept
}

/// Version of the list of [`build_setting`] families. Bumped whenever a family is added,
/// widened or narrowed, so that the RFC, `docs/consumers.md` and a reviewer's memory of
/// "what passes by default" can name the list they mean.
pub const BUILD_SETTINGS_VERSION: u32 = 1;

/// A family of variables that users set on purpose to steer how native code is built,
/// and that a build script sees without a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildSetting {
    /// The family's name, as `permissions` and the docs show it.
    pub family: &'static str,
    /// Why seeing it is safe.
    pub why: &'static str,
}

/// The C and C++ tools and their flags, each also in the forms cc-rs, cmake and
/// pkg-config read for one target: `HOST_CC`, `TARGET_CC`, `CC_x86_64-unknown-linux-gnu`
/// and `CC_x86_64_unknown_linux_gnu`.
const TOOLCHAIN_BASES: &[&str] = &[
    "CC",
    "CXX",
    "CPP",
    "AR",
    "AS",
    "LD",
    "NM",
    "RANLIB",
    "CFLAGS",
    "CXXFLAGS",
    "CPPFLAGS",
    "LDFLAGS",
    "ARFLAGS",
    "ASFLAGS",
    "RANLIBFLAGS",
    "CXXSTDLIB",
    "CRATE_CC_NO_DEFAULTS",
    "CC_ENABLE_DEBUG_OUTPUT",
    "CC_SHELL_ESCAPED_FLAGS",
    "CC_FORCE_DISABLE",
    "CC_KNOWN_WRAPPER_CUSTOM",
    "BINDGEN_EXTRA_CLANG_ARGS",
    "PKG_CONFIG",
    "CMAKE",
];

/// Variables the compilers themselves read, and the platform SDKs they build against.
const COMPILER_INPUTS: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "OBJCPLUS_INCLUDE_PATH",
    "LIBRARY_PATH",
    "SOURCE_DATE_EPOCH",
    "SDKROOT",
    "MACOSX_DEPLOYMENT_TARGET",
    "IPHONEOS_DEPLOYMENT_TARGET",
    "TVOS_DEPLOYMENT_TARGET",
    "WATCHOS_DEPLOYMENT_TARGET",
    "XROS_DEPLOYMENT_TARGET",
    "ANDROID_NDK_HOME",
    "ANDROID_NDK_ROOT",
    "WASI_SDK_PATH",
    "WASI_SYSROOT",
    "PROTOC",
    "PROTOC_INCLUDE",
    "LIBCLANG_PATH",
    "LIBCLANG_STATIC_PATH",
    "LLVM_CONFIG_PATH",
    "CLANG_PATH",
];

/// Whole families by prefix: pkg-config's, cmake's, system-deps' and pyo3's settings.
const TOOL_PREFIXES: &[&str] = &["PKG_CONFIG_", "CMAKE_", "SYSTEM_DEPS_", "PYO3_"];

/// The documented knobs of `-sys` crates: `OPENSSL_DIR`, `LIBZ_SYS_STATIC`,
/// `ZSTD_SYS_USE_PKG_CONFIG`, `LIBSQLITE3_SYS_BUNDLING`, `LIBSQLITE3_FLAGS` (extra `-D`s
/// for the bundled SQLite), `<NAME>_NO_VENDOR`...
const KNOB_SUFFIXES: &[&str] = &[
    "_STATIC",
    "_DYNAMIC",
    "_DIR",
    "_LIB_DIR",
    "_LIBDIR",
    "_INCLUDE_DIR",
    "_LIBS",
    "_FLAGS",
    "_NO_VENDOR",
    "_VENDORED",
    "_USE_PKG_CONFIG",
    "_NO_PKG_CONFIG",
];

/// Families of names that describe a session, a version-control checkout or a service
/// rather than a build, even when they end like a knob (`XDG_RUNTIME_DIR`, `GIT_DIR`).
const NOT_BUILD_PREFIXES: &[&str] = &[
    "XDG_",
    "GIT_",
    "DBUS_",
    "SYSTEMD_",
    "DOCKER_",
    "KUBE",
    "GNUPG",
    "GPG_",
    "SSH_",
    "RUSTUP_",
    "CARGO_",
    "RUSTC",
    "RUST_",
    "NIX_",
    "VSCODE_",
    "JAVA_",
    "INVOCATION_",
    "SSL_CERT_",
];

const TOOLCHAIN: BuildSetting = BuildSetting {
    family: "C/C++ toolchain and flags",
    why: "which compiler, archiver and flags build the crate's native code; a named \
          program still runs only with an `exec` grant",
};
const COMPILER: BuildSetting = BuildSetting {
    family: "compiler inputs and platform SDKs",
    why: "search paths and SDKs the compilers read themselves, as natively",
};
const TOOLS: BuildSetting = BuildSetting {
    family: "pkg-config, cmake, system-deps and pyo3 settings",
    why: "how those tools find and link the system's libraries",
};
const KNOBS: BuildSetting = BuildSetting {
    family: "knobs of -sys crates",
    why: "`<NAME>_STATIC`, `<NAME>_DIR`, `<NAME>_NO_VENDOR`...: the switches a -sys crate \
          documents for choosing and finding its native library",
};

/// The families that pass by default, for the docs and `permissions`.
pub const BUILD_SETTINGS: &[BuildSetting] = &[TOOLCHAIN, COMPILER, TOOLS, KNOBS];

/// The family of build settings `name` belongs to, if any: a variable users set to steer
/// what native code a build produces, never a secret's name, never one that changes which
/// code a program loads (`LD_PRELOAD`), never one describing the session (`HOME`).
pub fn build_setting(name: &str) -> Option<BuildSetting> {
    let shaped = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if !shaped || changes_what_programs_run(name) || is_ambient(name) || is_secret_shaped(name) {
        return None;
    }
    let base = toolchain_base(name);
    if TOOLCHAIN_BASES.contains(&base) {
        return Some(TOOLCHAIN);
    }
    if COMPILER_INPUTS.contains(&name) {
        return Some(COMPILER);
    }
    if TOOL_PREFIXES.iter().any(|prefix| base.starts_with(prefix)) {
        return Some(TOOLS);
    }
    is_knob(name).then_some(KNOBS)
}

/// `CC` for `CC`, `HOST_CC`, `TARGET_CC`, `CC_x86_64-unknown-linux-gnu` and
/// `CC_x86_64_unknown_linux_gnu`: a target triple is lower case, so an upper-case
/// suffix (`CC_API`) is another name. Triples start with their architecture, a letter.
fn toolchain_base(name: &str) -> &str {
    let name = name
        .strip_prefix("HOST_")
        .or_else(|| name.strip_prefix("TARGET_"))
        .unwrap_or(name);
    let triple_at = name
        .char_indices()
        .find(|&(at, c)| at > 1 && name[..at].ends_with('_') && c.is_ascii_lowercase());
    match triple_at {
        Some((at, _)) => &name[..at - 1],
        None => name,
    }
}

/// `<NAME><KNOB_SUFFIX>` with an upper-case `NAME` that is not a session's, a checkout's
/// or a service's.
fn is_knob(name: &str) -> bool {
    let upper = name
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if !upper
        || NOT_BUILD_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
    {
        return false;
    }
    name.contains("_SYS_")
        || KNOB_SUFFIXES.iter().any(|suffix| {
            name.strip_suffix(suffix)
                .is_some_and(|stem| !stem.is_empty() && !stem.ends_with('_'))
        })
}

/// The absolute paths a build setting's value names, when its name says it holds paths
/// (`PKG_CONFIG_PATH`, `OPENSSL_DIR`, `CMAKE_TOOLCHAIN_FILE`, `LIBRARY_PATH`): programs the
/// script runs may read them, as they would natively. Never `/`, a home directory, or the
/// kernel's and services' runtime trees, whatever the value says.
pub fn setting_paths(name: &str, value: &str) -> Vec<std::path::PathBuf> {
    const PATH_SUFFIXES: &[&str] = &[
        "_PATH", "_DIR", "_LIBDIR", "_FILE", "_ROOT", "_HOME", "_INCLUDE", "_SYSROOT",
    ];
    const EXACT: &[&str] = &["CPATH", "SDKROOT", "PROTOC_INCLUDE"];
    let base = toolchain_base(name);
    let names_paths =
        EXACT.contains(&base) || PATH_SUFFIXES.iter().any(|suffix| base.ends_with(suffix));
    if !names_paths {
        return Vec::new();
    }
    value
        .split(':')
        .filter(|entry| entry.starts_with('/'))
        .filter_map(|entry| {
            let normal = crate::hygiene::normalize_path(entry).ok()?;
            let covers_homes = crate::hygiene::path_problem("read", &normal).is_some();
            let system = in_runtime_tree(std::path::Path::new(&normal));
            (!covers_homes && !system).then(|| normal.into())
        })
        .collect()
}

/// Whether `path` is in the kernel's or the services' runtime trees (`/proc`, `/sys`,
/// `/dev`, `/run`), which no build setting and no grant ever makes readable.
pub fn in_runtime_tree(path: &std::path::Path) -> bool {
    const TREES: &[&str] = &["/proc", "/sys", "/dev", "/run", "/var/run"];
    TREES.iter().any(|tree| path.starts_with(tree))
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

/// Whether the guest may see environment variable `name` beyond cargo's own.
pub fn allows_env(policy: &Policy, name: &str) -> bool {
    policy.verdict(Capability::Env(name.to_string())) == Verdict::Allowed
}

/// Why the script sees the variable `name` when it is set, or `None` when it is
/// hidden. A deny wins over everything but cargo's own variables; the cargo
/// configuration's `[env]` (`config`) passes except for secret-shaped names and those
/// that change which code programs load, which need their grants.
pub fn sees_env(policy: &Policy, name: &str, config: &BTreeSet<String>) -> Option<EnvOrigin> {
    if is_cargo_set(name) {
        return Some(EnvOrigin::Cargo);
    }
    match policy.verdict(Capability::Env(name.to_string())) {
        Verdict::Allowed => return Some(EnvOrigin::Granted),
        Verdict::Refused(_) => return None,
        _ => {}
    }
    // The tool's own settings (`CARGO_WASM_BUILD_*`: the shared cache's endpoint,
    // token file and keys) are read by the stand-in, never handed to scripts.
    if config.contains(name)
        && !is_secret_shaped(name)
        && !changes_what_programs_run(name)
        && !name.starts_with(wasm_build_contract::vars::PREFIX)
    {
        return Some(EnvOrigin::CargoConfig);
    }
    (policy.env_defaults && build_setting(name).is_some()).then_some(EnvOrigin::BuildSetting)
}

/// What the consumer must review for a script to see the hidden variable `name`:
/// `env`, or `dangerous-env` for a secret's name.
pub fn env_capability(name: &str) -> Capability {
    if is_secret_shaped(name) {
        Capability::DangerousEnv(name.to_string())
    } else {
        Capability::Env(name.to_string())
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
    /// It is a build setting that passes by default ([`build_setting`]).
    BuildSetting,
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

    /// Programs get the terminal, colour, locale and time zone, and never a secret, a
    /// path to code, or cargo's and the user's settings.
    #[test]
    fn programs_get_presentation_variables_and_nothing_else() {
        let vars = [
            ("TERM", "xterm-256color"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C"),
            ("LC_MESSAGES", "fr_FR.UTF-8"),
            ("TZ", "UTC"),
            ("COLUMNS", "80"),
            ("NO_COLOR", "1"),
            ("LC_TOKEN", "secret"),
            ("LC_", "x"),
            ("lc_all", "x"),
            ("GITHUB_TOKEN", "secret"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("CARGO_REGISTRY_TOKEN", "secret"),
            ("SSH_AUTH_SOCK", "/tmp/agent"),
            ("HOME", "/root"),
            ("PATH", "/usr/bin"),
            ("TERMINFO", "/home/u/.terminfo"),
            ("TZDIR", "/home/u/zones"),
            ("LOCPATH", "/home/u/locale"),
            ("LD_PRELOAD", "/evil.so"),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let kept: Vec<String> = program_defaults(vars).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            kept,
            [
                "COLUMNS",
                "LANG",
                "LC_ALL",
                "LC_MESSAGES",
                "NO_COLOR",
                "TERM",
                "TZ"
            ]
        );
        for name in PROGRAM_DEFAULTS {
            assert!(!changes_what_programs_run(name), "{name}");
            assert!(!is_cargo_set(name), "{name}");
        }
    }

    #[test]
    fn build_settings_pass_by_family_and_secrets_never_do() {
        for (name, family) in [
            ("CC", TOOLCHAIN),
            ("CFLAGS", TOOLCHAIN),
            ("HOST_CXX", TOOLCHAIN),
            ("TARGET_AR", TOOLCHAIN),
            ("CC_x86_64-unknown-linux-gnu", TOOLCHAIN),
            ("CFLAGS_aarch64_apple_darwin", TOOLCHAIN),
            ("CRATE_CC_NO_DEFAULTS", TOOLCHAIN),
            (
                "BINDGEN_EXTRA_CLANG_ARGS_x86_64_unknown_linux_gnu",
                TOOLCHAIN,
            ),
            ("PKG_CONFIG", TOOLCHAIN),
            ("CPATH", COMPILER),
            ("SOURCE_DATE_EPOCH", COMPILER),
            ("PROTOC", COMPILER),
            ("PKG_CONFIG_PATH", TOOLS),
            ("PKG_CONFIG_ALLOW_CROSS", TOOLS),
            ("TARGET_PKG_CONFIG_SYSROOT_DIR", TOOLS),
            ("PKG_CONFIG_PATH_x86_64-unknown-linux-gnu", TOOLS),
            ("CMAKE_TOOLCHAIN_FILE", TOOLS),
            ("SYSTEM_DEPS_ZLIB_NO_PKG_CONFIG", TOOLS),
            ("OPENSSL_DIR", KNOBS),
            ("OPENSSL_STATIC", KNOBS),
            ("OPENSSL_LIB_DIR", KNOBS),
            ("LIBZ_SYS_STATIC", KNOBS),
            ("ZSTD_SYS_USE_PKG_CONFIG", KNOBS),
            ("LIBSQLITE3_SYS_BUNDLING", KNOBS),
            ("SODIUM_NO_VENDOR", KNOBS),
            ("LIBSQLITE3_FLAGS", KNOBS),
        ] {
            assert_eq!(build_setting(name), Some(family), "{name}");
        }
        for name in [
            // Secrets, whatever family they look like.
            "CC_API_TOKEN",
            "CMAKE_PASSWORD",
            "PKG_CONFIG_SECRET",
            "AWS_LIB_DIR",
            "GITHUB_TOKEN",
            "SSH_AUTH_SOCK",
            "OPENSSL_KEY",
            // What loads into programs, and the session.
            "LD_LIBRARY_PATH",
            "LD_PRELOAD",
            "RUSTC_BOOTSTRAP",
            "GCONV_PATH",
            "HOME",
            "PATH",
            "XDG_RUNTIME_DIR",
            "GIT_DIR",
            "CARGO_HOME",
            "CARGO_REGISTRY_TOKEN",
            "RUSTUP_TOOLCHAIN",
            // Neither a tool's nor a knob's.
            "CCX",
            "CC_APPLE",
            "EDITOR",
            "_DIR",
            "A__STATIC",
            "lower_dir",
            "SSL_CERT_DIR",
        ] {
            assert_eq!(build_setting(name), None, "{name}");
        }
    }

    #[test]
    fn paths_in_build_settings_are_readable_except_homes_and_runtime_trees() {
        assert_eq!(
            setting_paths(
                "PKG_CONFIG_PATH",
                "/opt/a/lib/pkgconfig:relative:/usr/../opt/b"
            ),
            ["/opt/a/lib/pkgconfig", "/opt/b"].map(std::path::PathBuf::from)
        );
        assert_eq!(
            setting_paths("OPENSSL_DIR", "/home/me/openssl"),
            [std::path::PathBuf::from("/home/me/openssl")]
        );
        for (name, value) in [
            ("OPENSSL_DIR", "/"),
            ("OPENSSL_DIR", "/home/me"),
            ("OPENSSL_DIR", "/home/me/../../root"),
            ("PKG_CONFIG_PATH", "/proc/1/root"),
            ("FOO_DIR", "/run/user/1000"),
            ("CFLAGS", "/opt/not-a-path-setting"),
            ("OPENSSL_STATIC", "/opt/x"),
        ] {
            assert!(setting_paths(name, value).is_empty(), "{name}={value}");
        }
    }

    #[test]
    fn granted_names_are_added() {
        let vars =
            [("CC", "gcc"), ("HOME", "/root")].map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let env = sandbox_env(vars, |name| name == "CC");
        assert_eq!(env, [("CC".to_string(), "gcc".to_string())]);
    }

    #[test]
    fn env_grants_match_prefixes() {
        let mut policy = Policy::default();
        policy.granted.insert(Capability::Env("CFLAGS_*".into()));
        policy.granted.insert(Capability::Env("CC".into()));
        assert!(allows_env(&policy, "CFLAGS_x86_64_unknown_linux_gnu"));
        assert!(allows_env(&policy, "CC"));
        assert!(!allows_env(&policy, "CCX"));
        assert!(!allows_env(&policy, "HOME"));
        assert!(
            !allows_env(&policy, "CFLAGS_DEPLOY_TOKEN"),
            "a prefix never covers a secret"
        );
        policy.granted.insert(Capability::DangerousEnv("*".into()));
        assert!(allows_env(&policy, "CFLAGS_DEPLOY_TOKEN"));
    }

    #[test]
    fn build_settings_and_cargo_config_pass_unless_denied_or_turned_off() {
        let config: BTreeSet<String> = [
            "ZSTD_FLAVOR",
            "LD_PRELOAD",
            "CI_JOB_TOKEN",
            "CARGO_WASM_BUILD_REMOTE_CACHE",
        ]
        .map(String::from)
        .into();
        let mut policy = Policy::default();
        assert_eq!(
            sees_env(&policy, "OUT_DIR", &config),
            Some(EnvOrigin::Cargo)
        );
        assert_eq!(
            sees_env(&policy, "CFLAGS", &config),
            Some(EnvOrigin::BuildSetting)
        );
        assert_eq!(
            sees_env(&policy, "ZSTD_FLAVOR", &config),
            Some(EnvOrigin::CargoConfig)
        );
        // Cargo's configuration is the consumer's word, but not for what loads into
        // programs or a secret: those keep their grants.
        assert_eq!(sees_env(&policy, "LD_PRELOAD", &config), None);
        assert_eq!(sees_env(&policy, "CI_JOB_TOKEN", &config), None);
        // The tool's own settings are the stand-in's, never a script's.
        assert_eq!(
            sees_env(&policy, "CARGO_WASM_BUILD_REMOTE_CACHE", &config),
            None
        );
        assert_eq!(sees_env(&policy, "EDITOR", &config), None);
        policy.granted.insert(Capability::Env("EDITOR".into()));
        assert_eq!(
            sees_env(&policy, "EDITOR", &config),
            Some(EnvOrigin::Granted)
        );
        policy.denied.insert(Capability::Env("CFLAGS".into()));
        policy.denied.insert(Capability::Env("ZSTD_FLAVOR".into()));
        assert_eq!(sees_env(&policy, "CFLAGS", &config), None);
        assert_eq!(sees_env(&policy, "ZSTD_FLAVOR", &config), None);
        policy.env_defaults = false;
        assert_eq!(sees_env(&policy, "CXXFLAGS", &config), None);
        assert_eq!(sees_env(&policy, "TARGET", &config), Some(EnvOrigin::Cargo));
        assert_eq!(
            env_capability("CI_JOB_TOKEN"),
            Capability::DangerousEnv("CI_JOB_TOKEN".into())
        );
        assert_eq!(env_capability("CC"), Capability::Env("CC".into()));
    }
}
