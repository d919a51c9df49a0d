//! Comparing what build scripts leave behind in a native and a sandboxed build.
//!
//! Used by the compatibility suite (`src/main.rs`) and by the end-to-end tests: a build
//! script's result is the `output` file cargo keeps (every line it printed, directives
//! included) and the files of its `OUT_DIR`, with paths that legitimately differ between
//! the two builds (the target directories, cargo's unit hashes) normalised.

pub mod harness;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// What one build script left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptResult {
    /// The `output` file cargo keeps, normalised.
    pub output: String,
    /// Files in `OUT_DIR` by relative path; text files normalised.
    pub files: BTreeMap<String, Vec<u8>>,
}

/// `text` with each of `roots` replaced by `[ROOT]` and every `-<16 hex digits>` (cargo's
/// unit hashes in directory and file names, which differ between plain cargo and cargo
/// wasm-build by design) by `-[HASH]`.
pub fn normalise(text: &str, roots: &[&Path]) -> String {
    String::from_utf8_lossy(&normalise_bytes(text.as_bytes(), roots)).into_owned()
}

/// [`normalise`] for any bytes: object files and archives embed the same paths (debug
/// info, `__FILE__`), so they compare equal only once the paths are normalised too.
pub fn normalise_bytes(bytes: &[u8], roots: &[&Path]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for root in roots {
        bytes = replace_bytes(&bytes, root.display().to_string().as_bytes(), b"[ROOT]");
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let is_hash = bytes[i] == b'-'
            && bytes.len() >= i + 17
            && bytes[i + 1..i + 17]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && bytes.get(i + 17).is_none_or(|b| !b.is_ascii_alphanumeric());
        if is_hash {
            out.extend_from_slice(b"-[HASH]");
            i += 17;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() {
        return haystack.to_vec();
    }
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// The result of the build script that ran with `out_dir`, or `None` if cargo kept no
/// output for it (the script failed).
pub fn read_result(out_dir: &Path, roots: &[&Path]) -> Option<ScriptResult> {
    let output = fs::read_to_string(out_dir.parent()?.join("output")).ok()?;
    let mut files = BTreeMap::new();
    let mut pending = vec![out_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                pending.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(out_dir)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let contents = fs::read(&path).unwrap_or_default();
            files.insert(relative, normalise_bytes(&contents, roots));
        }
    }
    Some(ScriptResult {
        output: normalise(&output, roots),
        files,
    })
}

/// Every build script under `<build_dir>/<pkg>-<hash>/`, keyed by package name.
pub fn results_in(build_dir: &Path, roots: &[&Path]) -> BTreeMap<String, ScriptResult> {
    let mut results = BTreeMap::new();
    for entry in fs::read_dir(build_dir).into_iter().flatten().flatten() {
        let dir = entry.path();
        let Some(name) = dir.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let Some((package, _hash)) = name.rsplit_once('-') else {
            continue;
        };
        if let Some(result) = read_result(&dir.join("out"), roots) {
            results.insert(package.to_string(), result);
        }
    }
    results
}

/// Where the build scripts cargo ran put their output, from its `--message-format json`
/// messages: package id → `OUT_DIR`.
pub fn executed_scripts(json_lines: &str) -> BTreeMap<String, PathBuf> {
    json_lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "build-script-executed")
        .filter_map(|message| {
            Some((
                message["package_id"].as_str()?.to_string(),
                PathBuf::from(message["out_dir"].as_str()?),
            ))
        })
        .collect()
}

/// How two results differ, as readable lines; empty when they are the same.
///
/// Directives (`cargo:` lines) must match in order, since cargo applies them in order
/// (link libraries, say). Other lines are logs, and parallel compiles finish in any
/// order natively too, so they are compared as a multiset.
pub fn differences(native: &ScriptResult, sandboxed: &ScriptResult) -> Vec<String> {
    let mut diffs = Vec::new();
    let is_directive = |line: &&&str| line.trim_start().starts_with("cargo:");
    let native_lines: Vec<&str> = native.output.lines().collect();
    let sandboxed_lines: Vec<&str> = sandboxed.output.lines().collect();
    let mut unmatched = sandboxed_lines.clone();
    for line in &native_lines {
        match unmatched.iter().position(|other| other == line) {
            Some(at) => {
                unmatched.remove(at);
            }
            None => diffs.push(format!("- {line}")),
        }
    }
    diffs.extend(unmatched.iter().map(|line| format!("+ {line}")));
    let native_directives: Vec<&&str> = native_lines.iter().filter(is_directive).collect();
    let sandboxed_directives: Vec<&&str> = sandboxed_lines.iter().filter(is_directive).collect();
    if diffs.is_empty() && native_directives != sandboxed_directives {
        diffs.push("(same directives in a different order)".into());
    }
    for (file, contents) in &native.files {
        match sandboxed.files.get(file) {
            None => diffs.push(format!("- OUT_DIR/{file}")),
            Some(other) if other != contents => diffs.push(format!("~ OUT_DIR/{file} differs")),
            Some(_) => {}
        }
    }
    for file in sandboxed.files.keys() {
        if !native.files.contains_key(file) {
            diffs.push(format!("+ OUT_DIR/{file}"));
        }
    }
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_hides_roots_and_hashes() {
        let root = Path::new("/tmp/p");
        assert_eq!(
            normalise(
                "/tmp/p/target/debug/build/zstd-sys-037daf03b63c73e5/out/4f97f2375d6aa471-debug.o x-0123",
                &[root]
            ),
            "[ROOT]/target/debug/build/zstd-sys-[HASH]/out/4f97f2375d6aa471-debug.o x-0123"
        );
    }

    #[test]
    fn differences_name_lines_and_files() {
        let a = ScriptResult {
            output: "cargo:rustc-cfg=a\ncargo:rustc-cfg=b\n".into(),
            files: [("x.rs".to_string(), b"1".to_vec())].into(),
        };
        let b = ScriptResult {
            output: "cargo:rustc-cfg=a\n".into(),
            files: [("x.rs".to_string(), b"2".to_vec())].into(),
        };
        assert_eq!(
            differences(&a, &b),
            ["- cargo:rustc-cfg=b", "~ OUT_DIR/x.rs differs"]
        );
        assert!(differences(&a, &a).is_empty());
    }

    #[test]
    fn executed_scripts_are_read_from_cargo_messages() {
        let lines = r#"{"reason":"compiler-artifact","package_id":"x"}
{"reason":"build-script-executed","package_id":"registry+https://github.com/rust-lang/crates.io-index#libc@0.2.177","out_dir":"/t/debug/build/libc-0123/out","cfgs":[]}"#;
        let scripts = executed_scripts(lines);
        assert_eq!(
            scripts["registry+https://github.com/rust-lang/crates.io-index#libc@0.2.177"],
            PathBuf::from("/t/debug/build/libc-0123/out")
        );
    }
}
