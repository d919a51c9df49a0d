//! What makes a run of `RUSTC` a probe, which a build script may start without a grant.
//!
//! Probes (autocfg, version_check, rustc_version, the probes of anyhow, serde,
//! proc-macro2, libc, rustix) ask rustc for its version or compile a small source to see
//! whether it builds. Confinement keeps rustc's reads and writes in bounds, but rustc
//! can also be told to run native code: a linker (`-C linker=OUT_DIR/x`), linker
//! arguments, a proc macro or plugin (`--extern`, `-L`), a target specification that
//! names a linker (`--target x.json`), options from a file (`@args`), unstable options
//! (`-Z`). A probe passes none of these, so a run of `RUSTC` is a probe when every
//! argument is on the list below; anything else needs an explicit `exec = ["$RUSTC"]`.
//!
//! The consumer's own flags (`CARGO_ENCODED_RUSTFLAGS`, which autocfg and others pass on
//! to their probes) are the consumer's choice and pass whatever they are.

/// Options without a value.
const FLAGS: &[&str] = &[
    "-",
    "--version",
    "-V",
    "-vV",
    "-Vv",
    "-v",
    "--verbose",
    "-O",
    "-g",
    "--test",
    "-h",
    "--help",
];

/// Options with a value, written `--opt value` or `--opt=value`, whose value cannot make
/// rustc run native code.
const WITH_VALUE: &[&str] = &[
    "--crate-name",
    "--crate-type",
    "--edition",
    "--emit",
    "--out-dir",
    "-o",
    "--cfg",
    "--check-cfg",
    "--cap-lints",
    "-A",
    "-W",
    "-D",
    "-F",
    "--allow",
    "--warn",
    "--deny",
    "--forbid",
    "--force-warn",
    "--error-format",
    "--json",
    "--color",
    "--print",
    "--diagnostic-width",
    "--remap-path-prefix",
    "--explain",
];

/// `-C` options that only shape the code rustc emits.
const CODEGEN: &[&str] = &[
    "opt-level",
    "debuginfo",
    "debug-assertions",
    "overflow-checks",
    "panic",
    "codegen-units",
    "target-cpu",
    "target-feature",
    "relocation-model",
    "code-model",
    "strip",
    "lto",
    "embed-bitcode",
    "metadata",
    "extra-filename",
    "incremental",
    "prefer-dynamic",
    "force-frame-pointers",
    "force-unwind-tables",
    "split-debuginfo",
    "symbol-mangling-version",
    "soft-float",
    "no-redzone",
    "link-dead-code",
    "dwarf-version",
    "instrument-coverage",
];

/// Options with a value that a probe may pass only as the consumer's own flags.
const CONSUMER_ONLY: &[&str] = &["-L", "--extern", "--sysroot"];

/// Why `args` are not a probe: the first argument that is not on the list, or `None` when
/// they are one. `rustflags` are the consumer's own flags, which pass as they are: an
/// option with its value only as the same pair.
pub fn unsafe_argument(args: &[String], rustflags: &[String]) -> Option<String> {
    let consumer = |option: &str, value: Option<&str>, whole: &str| {
        (value.is_none() && rustflags.iter().any(|flag| flag == whole))
            || rustflags
                .windows(2)
                .any(|pair| pair[0] == option && Some(pair[1].as_str()) == value)
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if FLAGS.contains(&arg.as_str()) {
            continue;
        }
        let (option, inline) = match arg.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option, Some(value)),
            _ => split_short(arg),
        };
        if !option.starts_with('-') {
            // A source file: reading it is confined like every read. An argument file
            // would hold options nobody checked.
            if option.starts_with('@') {
                return Some(arg.clone());
            }
            continue;
        }
        let takes_value = WITH_VALUE.contains(&option)
            || CONSUMER_ONLY.contains(&option)
            || ["-C", "--codegen", "-Z", "--target", "-l"].contains(&option);
        if !takes_value {
            if consumer(option, None, arg) {
                continue;
            }
            return Some(arg.clone());
        }
        if inline.is_some() && rustflags.iter().any(|flag| flag == arg) {
            continue;
        }
        let value = match inline {
            Some(value) => value.to_string(),
            None => match args.next() {
                Some(value) => value.clone(),
                None => return Some(arg.clone()),
            },
        };
        if inline.is_none() && consumer(option, Some(&value), arg) {
            continue;
        }
        let fine = match option {
            "-C" | "--codegen" => {
                let key = value.split_once('=').map_or(value.as_str(), |(key, _)| key);
                CODEGEN.contains(&key)
            }
            // Only narrowing the unstable features a probe may use.
            "-Z" => value.starts_with("allow-features="),
            // A target triple, never a JSON specification (which names a linker).
            "--target" => !value.contains('/') && !value.ends_with(".json"),
            // Libraries to link; `-l link-arg=...` would be a linker argument.
            "-l" => !value.starts_with("link-arg"),
            _ => !CONSUMER_ONLY.contains(&option),
        };
        if !fine {
            return Some(format!("{option} {value}"));
        }
    }
    None
}

/// `-Cfoo=bar` is `-C foo=bar`, `-lz` is `-l z`; other arguments as they are.
fn split_short(arg: &str) -> (&str, Option<&str>) {
    for short in ["-C", "-Z", "-l", "-A", "-W", "-D", "-F", "-o", "-L"] {
        if let Some(rest) = arg.strip_prefix(short)
            && !rest.is_empty()
            && !arg.starts_with("--")
        {
            return (short, Some(rest));
        }
    }
    (arg, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str]) -> Option<String> {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        unsafe_argument(&args, &[])
    }

    #[test]
    fn real_probes_pass() {
        let probes: &[&[&str]] = &[
            &["--version"],
            &["-vV"],
            &["--verbose", "--version"],
            // anyhow, thiserror, proc-macro2
            &[
                "--cfg=anyhow_build_probe",
                "--edition=2018",
                "--crate-name=anyhow",
                "--crate-type=lib",
                "--cap-lints=allow",
                "--emit=dep-info,metadata",
                "--out-dir",
                "/t/out/probe",
                "/t/out/probe.rs",
                "--target",
                "x86_64-unknown-linux-gnu",
            ],
            // autocfg
            &[
                "--crate-name",
                "probe0",
                "--crate-type",
                "lib",
                "--out-dir",
                "/t/out",
                "--emit=llvm-ir",
                "--target=x86_64-unknown-linux-gnu",
                "-",
            ],
            // rustix
            &[
                "--crate-type=rlib",
                "--emit=metadata",
                "--target",
                "x86_64-unknown-linux-gnu",
                "-o",
                "/dev/null",
                "-",
            ],
            &[
                "-Zallow-features=",
                "--print",
                "cfg",
                "-C",
                "opt-level=2",
                "-Copt-level=3",
            ],
        ];
        for probe in probes {
            assert_eq!(check(probe), None, "{probe:?}");
        }
    }

    #[test]
    fn ways_to_run_native_code_do_not() {
        let cases: &[(&[&str], &str)] = &[
            (&["x.rs", "-C", "linker=/t/out/p"], "-C linker=/t/out/p"),
            (&["x.rs", "-Clinker=/t/out/p"], "-C linker=/t/out/p"),
            (
                &["-C", "link-arg=-fuse-ld=/t/x"],
                "-C link-arg=-fuse-ld=/t/x",
            ),
            (
                &["--extern", "evil=/t/out/libevil.so", "y.rs"],
                "--extern evil=/t/out/libevil.so",
            ),
            (&["-L", "/t/out", "y.rs"], "-L /t/out"),
            (&["-L/t/out", "y.rs"], "-L /t/out"),
            (&["@/t/out/args"], "@/t/out/args"),
            (
                &["--target", "/t/out/evil.json", "y.rs"],
                "--target /t/out/evil.json",
            ),
            (&["--target=evil.json"], "--target evil.json"),
            (
                &["-Z", "codegen-backend=/t/x.so"],
                "-Z codegen-backend=/t/x.so",
            ),
            (
                &["-C", "llvm-args=-load=/t/x.so"],
                "-C llvm-args=-load=/t/x.so",
            ),
            (&["-l", "link-arg=-Wl,-plugin"], "-l link-arg=-Wl,-plugin"),
            (&["--sysroot", "/t/out"], "--sysroot /t/out"),
            (&["--bogus"], "--bogus"),
            (&["--crate-type"], "--crate-type"),
        ];
        for (args, offending) in cases {
            assert_eq!(check(args).as_deref(), Some(*offending), "{args:?}");
        }
    }

    #[test]
    fn the_consumers_own_flags_pass() {
        let rustflags = vec![
            "-C".to_string(),
            "linker=clang".to_string(),
            "-L/opt/lib".to_string(),
        ];
        let args: Vec<String> = ["-C", "linker=clang", "-L/opt/lib", "--version"]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(unsafe_argument(&args, &rustflags), None);
        for other in [
            &["-C", "linker=/t/out/p"][..],
            &["-L", "/t/out"],
            &["-L/t/out"],
        ] {
            let other: Vec<String> = other.iter().map(ToString::to_string).collect();
            assert!(unsafe_argument(&other, &rustflags).is_some(), "{other:?}");
        }
    }
}
