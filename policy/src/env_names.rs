//! Two rulings on environment variable names that the others build on: which ones cargo
//! sets for build scripts (the guest sees them), and which ones change what code a
//! program loads or runs (the exec broker screens those in what a script sets for a
//! program). What a script may see of the rest is [`crate::env`]'s ruling.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
