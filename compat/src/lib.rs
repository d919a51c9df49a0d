//! Comparing what build scripts leave behind in a native and a sandboxed build.
//!
//! Used by the compatibility suite (`src/main.rs`) and by the end-to-end tests: a build
//! script's result is the `output` file cargo keeps (every line it printed, directives
//! included) and the files of its `OUT_DIR`, with paths that legitimately differ between
//! the two builds (the target directories, cargo's unit hashes) normalised.

#![allow(
    clippy::disallowed_methods,
    reason = "the compatibility suite runs cargo and compares what programs left"
)]

pub mod code;
pub mod harness;

use std::collections::BTreeMap;

use code::{Fingerprint, is_code};
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
        output: normalise(&without_grant_reruns(&output), roots),
        files,
    })
}

/// `output` without the `rerun-if-changed` lines the stand-in adds after everything else
/// (the package's grant digest first, then what keeps cargo's default): they are the
/// tool's, not the script's, and name paths a native run has no reason to.
fn without_grant_reruns(output: &str) -> String {
    let is_rerun = |line: &str| line.starts_with("cargo:rerun-if-changed=");
    let lines: Vec<&str> = output.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|line| is_rerun(line) && line.contains("/wasm-build/grants/"));
    match start {
        Some(start) if lines[start..].iter().all(|line| is_rerun(line)) => lines[..start].concat(),
        _ => output.to_string(),
    }
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
    let mut diffs = output_differences(native, sandboxed);
    diffs.extend(
        file_differences(native, sandboxed)
            .iter()
            .map(ToString::to_string),
    );
    diffs
}

fn output_differences(native: &ScriptResult, sandboxed: &ScriptResult) -> Vec<String> {
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
    diffs
}

/// How one `OUT_DIR` file differs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FileDifference<'a> {
    Missing(&'a str),
    Extra(&'a str),
    Changed(&'a str),
}

impl std::fmt::Display for FileDifference<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileDifference::Missing(file) => write!(f, "- OUT_DIR/{file}"),
            FileDifference::Extra(file) => write!(f, "+ OUT_DIR/{file}"),
            FileDifference::Changed(file) => write!(f, "~ OUT_DIR/{file} differs"),
        }
    }
}

fn file_differences<'a>(
    native: &'a ScriptResult,
    sandboxed: &'a ScriptResult,
) -> Vec<FileDifference<'a>> {
    let mut diffs = Vec::new();
    for (file, contents) in &native.files {
        match sandboxed.files.get(file) {
            None => diffs.push(FileDifference::Missing(file)),
            Some(other) if other != contents => diffs.push(FileDifference::Changed(file)),
            Some(_) => {}
        }
    }
    for file in sandboxed.files.keys() {
        if !native.files.contains_key(file) {
            diffs.push(FileDifference::Extra(file));
        }
    }
    diffs
}

/// One build of a package: its build script's result, where that lives, and what cargo
/// compiled from the package.
#[derive(Debug, Clone, Copy)]
pub struct Built<'a> {
    /// What the build script printed and wrote.
    pub result: &'a ScriptResult,
    /// Where it wrote it.
    pub out_dir: &'a Path,
    /// The package's compiled libraries (`.rlib`, `.a`), from cargo's `compiler-artifact`
    /// messages (see [`compiled_artefacts`]).
    pub artefacts: &'a [PathBuf],
}

/// What differs between the native and the sandboxed build of one package.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// What the script printed and the `OUT_DIR` files other than objects and archives.
    pub script: Vec<String>,
    /// Compiled code: the objects and archives in `OUT_DIR` and the package's libraries,
    /// compared by their [`Fingerprint`], each line naming the file.
    pub code: Vec<String>,
}

impl Comparison {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.script.is_empty() && self.code.is_empty()
    }
}

/// Symbol lines listed per file before the rest is counted.
const SYMBOL_LINES: usize = 6;

/// Compares two builds of one package: [`differences`] for what the script printed and
/// wrote, except that objects and archives whose bytes differ are compared by their code,
/// and the package's compiled libraries by theirs. Bytes that differ while the code is the
/// same (paths, hashes, timestamps, `__DATE__`) are not a difference.
pub fn compare(native: Built<'_>, sandboxed: Built<'_>) -> Comparison {
    let mut comparison = Comparison {
        script: output_differences(native.result, sandboxed.result),
        code: Vec::new(),
    };
    for difference in file_differences(native.result, sandboxed.result) {
        let FileDifference::Changed(file) = difference else {
            comparison.script.push(difference.to_string());
            continue;
        };
        let both_code = [native.result, sandboxed.result]
            .iter()
            .all(|result| result.files.get(file).is_some_and(|bytes| is_code(bytes)));
        if !both_code {
            comparison.script.push(difference.to_string());
            continue;
        }
        let lines = code_differences(&native.out_dir.join(file), &sandboxed.out_dir.join(file));
        comparison.code.extend(
            lines
                .into_iter()
                .map(|line| format!("OUT_DIR/{file}: {line}")),
        );
    }
    comparison
        .code
        .extend(artefact_differences(native.artefacts, sandboxed.artefacts));
    comparison
}

/// The target cargo wasm-build compiles build scripts and their build-dependencies for.
const SCRIPT_TARGET: &str = "wasm32-wasip1";

/// How the code of the same-named libraries of two builds differs.
///
/// The sandboxed build also compiles build-dependencies for [`SCRIPT_TARGET`]; those run
/// the scripts and never end up in the binary, so they are not compared, and a package the
/// native build compiled only for its scripts (a build-dependency, built for the host
/// there) is not missing.
fn artefact_differences(native: &[PathBuf], sandboxed: &[PathBuf]) -> Vec<String> {
    let for_scripts = |path: &PathBuf| {
        path.components()
            .any(|part| part.as_os_str() == SCRIPT_TARGET)
    };
    let native = by_name(native.iter());
    let built_for_scripts = by_name(sandboxed.iter().filter(|path| for_scripts(path)));
    let sandboxed = by_name(sandboxed.iter().filter(|path| !for_scripts(path)));
    let mut lines = Vec::new();
    for (name, native_paths) in &native {
        match sandboxed.get(name) {
            None if built_for_scripts.contains_key(name) => {}
            None => lines.push(format!("- {name}: not built in the sandboxed build")),
            Some(sandboxed_paths) => {
                for sandboxed_path in sandboxed_paths {
                    let differences = closest_differences(native_paths, sandboxed_path);
                    lines.extend(
                        differences
                            .into_iter()
                            .map(|line| format!("{name}: {line}")),
                    );
                }
            }
        }
    }
    for name in sandboxed.keys() {
        if !native.contains_key(name) {
            lines.push(format!("+ {name}: built only in the sandboxed build"));
        }
    }
    lines
}

/// `paths` by [`artefact_name`].
fn by_name<'a>(paths: impl Iterator<Item = &'a PathBuf>) -> BTreeMap<String, Vec<&'a PathBuf>> {
    let mut named: BTreeMap<String, Vec<&PathBuf>> = BTreeMap::new();
    for path in paths {
        named.entry(artefact_name(path)).or_default().push(path);
    }
    named
}

/// How `sandboxed` differs from the native library it matches: nothing when one of
/// `natives` has the same code, else its differences from the first. Natively a package a
/// script and the crate both use with other features is built twice, under one name.
fn closest_differences(natives: &[&PathBuf], sandboxed: &Path) -> Vec<String> {
    let mut first = None;
    for native in natives {
        let differences = code_differences(native, sandboxed);
        if differences.is_empty() {
            return differences;
        }
        first.get_or_insert(differences);
    }
    first.unwrap_or_default()
}

/// `libring-1c55b0c87f85877a.rlib` → `libring-[HASH].rlib`.
fn artefact_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    normalise(&name, &[])
}

/// How the code of two objects or archives differs; a line saying why when one cannot be
/// read (which fails the row rather than passing it unread).
fn code_differences(native: &Path, sandboxed: &Path) -> Vec<String> {
    // objdump takes seconds on a large rlib: read both sides at once.
    let (native, sandboxed) = std::thread::scope(|scope| {
        let native = scope.spawn(|| Fingerprint::of(native));
        let sandboxed = Fingerprint::of(sandboxed);
        let native = native
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (native, sandboxed)
    });
    match (native, sandboxed) {
        (Ok(native), Ok(sandboxed)) => native.differences(&sandboxed, SYMBOL_LINES),
        (Err(error), _) | (_, Err(error)) => vec![format!("not compared: {error}")],
    }
}

/// The libraries cargo compiled per package, from its `--message-format json` messages:
/// package id → the `.rlib` and `.a` files of its library targets (not its build script,
/// not `.rmeta`; proc-macro and cdylib `.so` files are linked, and do not end up in the
/// binary as objects).
pub fn compiled_artefacts(json_lines: &str) -> BTreeMap<String, Vec<PathBuf>> {
    let mut artefacts: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for message in json_lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
    {
        let Some(id) = message["package_id"].as_str() else {
            continue;
        };
        let files = message["filenames"].as_array().into_iter().flatten();
        let libraries = files
            .filter_map(serde_json::Value::as_str)
            .filter(|file| file.ends_with(".rlib") || file.ends_with(".a"))
            .map(PathBuf::from);
        artefacts
            .entry(id.to_string())
            .or_default()
            .extend(libraries);
    }
    artefacts
}

/// What each failed build script said last, from cargo's log: package name → the panic
/// (`panicked at <where>: <message>`) or the first error line its stderr holds. The audit
/// record says the script failed; this says why, in its own words.
pub fn script_failures(log: &str) -> BTreeMap<String, String> {
    const START: &str = "error: failed to run custom build command for `";
    let mut failures = BTreeMap::new();
    let lines: Vec<&str> = log.lines().collect();
    for (at, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix(START) else {
            continue;
        };
        let Some((name, _version)) = rest.split_once(" v") else {
            continue;
        };
        // The block runs until cargo's next message.
        let block: Vec<&str> = lines[at + 1..]
            .iter()
            .take_while(|line| {
                !["error:", "error[", "warning:", "   Compiling "]
                    .iter()
                    .any(|start| line.starts_with(start))
            })
            .map(|line| line.trim())
            .collect();
        let panic = block.iter().position(|line| line.contains("panicked at"));
        let said = match panic {
            Some(at) => Some(format!(
                "{} {}",
                block[at],
                block.get(at + 1).copied().unwrap_or_default()
            )),
            None => block
                .iter()
                .find(|line| line.contains("error:") && !line.starts_with("error["))
                .map(|line| line.to_string()),
        };
        if let Some(said) = said {
            failures.insert(name.to_string(), said.trim().to_string());
        }
    }
    failures
}

/// The first compile error cargo's log shows in a file of package `name` (a crates.io
/// package, whose files live in `<name>-<version>/`): the error, where, and rustc's label
/// (`expected `Metadata`, found `std::fs::Metadata``). Build-dependencies compiled for the
/// scripts report here, not in the outer build's JSON messages.
pub fn logged_compile_error(log: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    let directory = format!("/{name}-");
    for (at, line) in lines.iter().enumerate() {
        if !line.starts_with("error[E") {
            continue;
        }
        let Some(place) = lines
            .get(at + 1)
            .and_then(|next| next.trim().strip_prefix("--> "))
        else {
            continue;
        };
        let Some(start) = place.find(&directory) else {
            continue;
        };
        let label = lines[at + 2..]
            .iter()
            .take_while(|line| !line.trim().is_empty() && !line.starts_with("error"))
            .find(|line| line.contains('^'))
            .map(|line| {
                line.trim_start_matches([' ', '|'])
                    .trim_start_matches(['^', '-', ' '])
            });
        let mut said = format!("{line} at {}", &place[start + 1..]);
        if let Some(label) = label {
            said.push_str(": ");
            said.push_str(label.trim());
        }
        return Some(said);
    }
    None
}

/// The first compile error per package, from cargo's `--message-format json` messages,
/// saying whether it was the build script or the library that failed: why a sandboxed
/// build script never ran when no audit record says so.
pub fn compile_errors(json_lines: &str) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    for message in json_lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-message")
        .filter(|message| message["message"]["level"] == "error")
    {
        let Some(id) = message["package_id"].as_str() else {
            continue;
        };
        let what = if message["target"]["kind"][0] == "custom-build" {
            "the build script does not compile"
        } else {
            "the library does not compile"
        };
        let text = message["message"]["rendered"]
            .as_str()
            .or_else(|| message["message"]["message"].as_str())
            .unwrap_or_default();
        // The first lines: the error and where it is.
        let summary: Vec<&str> = text.lines().take(2).map(str::trim).collect();
        errors
            .entry(id.to_string())
            .or_insert_with(|| format!("{what}: {}", summary.join(" ")));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_own_reruns_are_not_the_scripts_output() {
        let script = "cargo:rustc-cfg=x\ncargo:rerun-if-changed=build.rs\n";
        let recorded = format!(
            "{script}cargo:rerun-if-changed=/t/wasm-build/grants/x-0123456789abcdef.json\n\
             cargo:rerun-if-changed=/src/x/src\n"
        );
        assert_eq!(without_grant_reruns(&recorded), script);
        assert_eq!(without_grant_reruns(script), script);
    }

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
    fn compiled_libraries_are_read_from_cargo_messages() {
        let lines = r#"{"reason":"compiler-artifact","package_id":"p#ring@0.17.14","target":{"kind":["custom-build"]},"filenames":["/t/debug/build/ring-1/build-script-build"]}
{"reason":"compiler-artifact","package_id":"p#ring@0.17.14","target":{"kind":["lib"]},"filenames":["/t/debug/deps/libring-0123.rlib","/t/debug/deps/libring-0123.rmeta"]}
{"reason":"compiler-artifact","package_id":"p#serde_derive@1.0.0","target":{"kind":["proc-macro"]},"filenames":["/t/debug/deps/libserde_derive-0123.so"]}"#;
        let artefacts = compiled_artefacts(lines);
        assert_eq!(
            artefacts["p#ring@0.17.14"],
            [PathBuf::from("/t/debug/deps/libring-0123.rlib")]
        );
        assert!(artefacts["p#serde_derive@1.0.0"].is_empty());
    }

    #[test]
    fn the_first_compile_error_says_what_failed() {
        let lines = r#"{"reason":"compiler-message","package_id":"p#tar@0.4.44","target":{"kind":["lib"]},"message":{"level":"warning","rendered":"warning: unused"}}
{"reason":"compiler-message","package_id":"p#tar@0.4.44","target":{"kind":["lib"]},"message":{"level":"error","rendered":"error[E0308]: mismatched types\n  --> src/entry.rs:10:5\n   |\n"}}
{"reason":"compiler-message","package_id":"p#tar@0.4.44","target":{"kind":["lib"]},"message":{"level":"error","rendered":"error: aborting"}}
{"reason":"compiler-message","package_id":"p#x@1.0.0","target":{"kind":["custom-build"]},"message":{"level":"error","rendered":"error[E0599]: no method named `write_all`"}}"#;
        let errors = compile_errors(lines);
        assert_eq!(
            errors["p#tar@0.4.44"],
            "the library does not compile: error[E0308]: mismatched types --> src/entry.rs:10:5"
        );
        assert_eq!(
            errors["p#x@1.0.0"],
            "the build script does not compile: error[E0599]: no method named `write_all`"
        );
    }

    #[test]
    fn a_failed_script_says_why_in_its_own_words() {
        let log = "   Compiling zeroize v1.9.1
error: failed to run custom build command for `mozjpeg-sys v2.2.3`
note: To improve backtraces for build dependencies, set the CARGO_PROFILE_DEV_BUILD_OVERRIDE_DEBUG=true environment variable to enable debug information generation.

Caused by:
  process didn't exit successfully: `/t/build-script-build` (exit status: 101)
  --- stderr

  thread 'main' (1) panicked at /r/mozjpeg-sys-2.2.3/src/build.rs:28:42:
  root dir: Os { code: 44, kind: NotFound, message: \"No such file or directory\" }
  error[W501]: sandboxed build script of `mozjpeg-sys v2.2.3` panicked or aborted (see its stderr above)
error: failed to run custom build command for `mlua-sys v0.6.8`

Caused by:
  --- stdout
  cargo:warning=cc1: fatal error: /r/lua-src-547.0.0/lua-5.4.7/lapi.c: Permission denied
  --- stderr
  error occurred in cc-rs: command did not execute successfully
warning: build failed
";
        let failures = script_failures(log);
        assert_eq!(
            failures["mozjpeg-sys"],
            "thread 'main' (1) panicked at /r/mozjpeg-sys-2.2.3/src/build.rs:28:42: root dir: Os { code: 44, kind: NotFound, message: \"No such file or directory\" }"
        );
        assert_eq!(
            failures["mlua-sys"],
            "cargo:warning=cc1: fatal error: /r/lua-src-547.0.0/lua-5.4.7/lapi.c: Permission denied"
        );
    }

    #[test]
    fn a_build_dependency_compile_error_is_found_in_the_log() {
        let log = "   Compiling fs_extra v1.3.0
error[E0308]: mismatched types
   --> /r/index/fs_extra-1.3.0/src/dir.rs:270:47
    |
270 |     get_details_entry_with_meta(path, config, metadata)
    |     ---------------------------               ^^^^^^^^ expected `Metadata`, found `std::fs::Metadata`
    |
";
        assert_eq!(
            logged_compile_error(log, "fs_extra").as_deref(),
            Some(
                "error[E0308]: mismatched types at fs_extra-1.3.0/src/dir.rs:270:47: expected `Metadata`, found `std::fs::Metadata`"
            )
        );
        assert_eq!(logged_compile_error(log, "tar"), None);
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
