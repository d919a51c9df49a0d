//! The artefact comparison on objects the host's real compiler, archiver and objdump make:
//! what a build script's C and assembly look like when it chose the same flags, and when
//! it silently chose others (issue 24: ADX detection compiled out, `-fcommon` skipped).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]
#![allow(clippy::disallowed_methods, reason = "the suite's tests run cargo")]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use wasm_build_compat::{Built, Comparison, compare, read_result};

/// Multiplies with MULX when `__ADX__` is defined, as blst's assembly does once its build
/// script detected ADX; `counter` is a tentative definition, common only with `-fcommon`;
/// `built` holds `__DATE__`, which differs between any two builds.
const SOURCE: &str = r#"
#include <stdint.h>
int counter;
const char *built = __DATE__ " " __TIME__;
uint64_t mul_hi(uint64_t a, uint64_t b) {
#ifdef __ADX__
    uint64_t lo, hi;
    __asm__("mulx %3, %0, %1" : "=r"(lo), "=r"(hi) : "d"(a), "r"(b));
    return hi ^ lo;
#else
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)(r >> 64) ^ (uint64_t)r;
#endif
}
"#;

/// A build script's `OUT_DIR` under `root`: `mul.o` and `libmul.a` compiled from [`SOURCE`]
/// with `flags`, at the time `epoch` (`SOURCE_DATE_EPOCH` sets `__DATE__`).
fn build(root: &Path, flags: &[&str], epoch: &str) -> PathBuf {
    let out = root.join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(root.join("mul.c"), SOURCE).unwrap();
    fs::write(root.join("output"), "cargo:rustc-link-lib=static=mul\n").unwrap();
    let status = Command::new("cc")
        .args(["-c", "-g", "-O2"])
        .args(flags)
        .arg(root.join("mul.c"))
        .arg("-o")
        .arg(out.join("mul.o"))
        .env("SOURCE_DATE_EPOCH", epoch)
        .status()
        .unwrap();
    assert!(status.success());
    // `U`: real timestamps and owners in the archive, as a non-deterministic `ar` writes.
    let status = Command::new("ar")
        .arg("rcU")
        .arg(out.join("libmul.a"))
        .arg(out.join("mul.o"))
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// Builds natively with `native_flags` and "sandboxed" with `sandboxed_flags` (in
/// directories of the same length, a year apart) and compares them as the suite does,
/// `libmul.a` standing for the package's compiled library as well.
fn compare_builds(test: &str, native_flags: &[&str], sandboxed_flags: &[&str]) -> Comparison {
    let temp = std::env::temp_dir().join(format!("compat-{test}-{}", std::process::id()));
    let native_root = temp.join(format!("native-{}", native_flags.join("")));
    let sandboxed_root = temp.join(format!("sandbx-{}", sandboxed_flags.join("")));
    let native_out = build(&native_root, native_flags, "0");
    let sandboxed_out = build(&sandboxed_root, sandboxed_flags, "31536000");
    let roots = [native_root.as_path(), sandboxed_root.as_path()];
    let native = read_result(&native_out, &roots).unwrap();
    let sandboxed = read_result(&sandboxed_out, &roots).unwrap();
    // The bytes differ (`__DATE__`, the archive's timestamps): a byte comparison would
    // report these files whatever the flags.
    assert_ne!(native.files["mul.o"], sandboxed.files["mul.o"]);
    let native_library = [native_out.join("libmul.a")];
    let sandboxed_library = [sandboxed_out.join("libmul.a")];
    let comparison = compare(
        Built {
            result: &native,
            out_dir: &native_out,
            artefacts: &native_library,
        },
        Built {
            result: &sandboxed,
            out_dir: &sandboxed_out,
            artefacts: &sandboxed_library,
        },
    );
    let _ = fs::remove_dir_all(&temp);
    comparison
}

#[test]
fn the_same_flags_give_the_same_code_whatever_the_paths_dates_and_timestamps() {
    let comparison = compare_builds("same", &["-D__ADX__"], &["-D__ADX__"]);
    assert_eq!(comparison, Comparison::default());
}

#[test]
fn adx_compiled_out_in_the_sandbox_is_a_code_difference_naming_mulx() {
    let comparison = compare_builds("adx", &["-D__ADX__"], &[]);
    assert!(comparison.script.is_empty(), "{:?}", comparison.script);
    for file in ["OUT_DIR/mul.o", "OUT_DIR/libmul.a", "libmul.a"] {
        let line = comparison
            .code
            .iter()
            .find(|line| line.starts_with(&format!("{file}: instructions")))
            .unwrap_or_else(|| panic!("no instruction line for {file}: {:?}", comparison.code));
        assert!(line.contains("`mulx` 1 → 0"), "{line}");
    }
}

#[test]
fn a_skipped_fcommon_is_a_code_difference_naming_the_symbol() {
    let comparison = compare_builds("common", &["-fcommon"], &["-fno-common"]);
    assert!(
        comparison.code.contains(
            &"OUT_DIR/mul.o: - symbol `counter` (global common in *COM*, 4 bytes)".to_string()
        ),
        "{:?}",
        comparison.code
    );
    assert!(
        comparison.code.contains(
            &"OUT_DIR/mul.o: + symbol `counter` (global object in .bss, 4 bytes)".to_string()
        ),
        "{:?}",
        comparison.code
    );
}

/// A build-dependency is compiled for the host natively and for wasm in the sandbox; it runs
/// the scripts and is not in the binary, so it is neither compared nor missing. A library
/// the sandboxed build did not compile at all is.
#[test]
fn libraries_built_only_for_scripts_are_not_compared() {
    let native_root = std::env::temp_dir().join(format!("compat-deps-{}", std::process::id()));
    let out = build(&native_root, &[], "0");
    let result = read_result(&out, &[native_root.as_path()]).unwrap();
    let native_libraries = [
        PathBuf::from("/t/cargo-plain/debug/deps/libclang_sys-918c606802f77b72.rlib"),
        PathBuf::from("/t/cargo-plain/debug/deps/libring-1c55b0c87f85877a.rlib"),
    ];
    let sandboxed_libraries = [PathBuf::from(
        "/t/cargo-wasmb/wasm32-wasip1/debug/deps/libclang_sys-b7826a4fd54c75d7.rlib",
    )];
    let built = |artefacts| Built {
        result: &result,
        out_dir: &out,
        artefacts,
    };
    let comparison = compare(built(&native_libraries), built(&sandboxed_libraries));
    let _ = fs::remove_dir_all(&native_root);
    assert_eq!(
        comparison.code,
        ["- libring-[HASH].rlib: not built in the sandboxed build"]
    );
}

/// Natively a package that a script and the crate use with other features is built twice
/// under one name; the sandboxed library must match one of them, not the first.
#[test]
fn a_library_built_twice_natively_matches_either() {
    let temp = std::env::temp_dir().join(format!("compat-twice-{}", std::process::id()));
    let for_scripts = build(&temp.join("native-a"), &["-D__ADX__"], "0");
    let for_crate = build(&temp.join("native-b"), &[], "0");
    let sandboxed = build(&temp.join("sandbx-b"), &[], "0");
    let result = read_result(&sandboxed, &[temp.as_path()]).unwrap();
    let built = |artefacts| Built {
        result: &result,
        out_dir: &sandboxed,
        artefacts,
    };
    let natives = [for_scripts.join("libmul.a"), for_crate.join("libmul.a")];
    let library = [sandboxed.join("libmul.a")];
    let matching = compare(built(&natives), built(&library));
    let other = compare(built(&natives[..1]), built(&library));
    let _ = fs::remove_dir_all(&temp);
    assert_eq!(matching.code, Vec::<String>::new());
    assert!(
        other.code.iter().any(|line| line.contains("`mulx` 1 → 0")),
        "{:?}",
        other.code
    );
}
