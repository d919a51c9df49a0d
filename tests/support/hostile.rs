//! Hostile build scripts: a prelude that records what each attempt did, and the checks
//! that nothing leaked.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::path::Path;

use super::{Project, manifest};

/// A canary no build script may ever see.
pub const CANARY: &str = "CANARY-7f3a9c-secret";

/// The prelude of every hostile build script: `attempt` records whether an operation
/// worked into `OUT_DIR/report.txt`, so one script can try many things and the test can
/// check each.
pub const PRELUDE: &str = r#"
use std::fmt::Write as _;
static mut REPORT: String = String::new();
fn attempt<T, E: std::fmt::Debug>(name: &str, result: Result<T, E>) -> Option<T> {
    let line = match &result {
        Ok(_) => format!("{name}: ok\n"),
        Err(err) => format!("{name}: err {err:?}\n"),
    };
    // SAFETY: build scripts are single-threaded.
    unsafe { (*std::ptr::addr_of_mut!(REPORT)).push_str(&line) };
    result.ok()
}
#[allow(dead_code)]
fn record(name: &str, text: &str) {
    // SAFETY: build scripts are single-threaded.
    unsafe { (*std::ptr::addr_of_mut!(REPORT)).push_str(&format!("{name}: {text}\n")) };
}
fn finish() {
    let out = std::env::var("OUT_DIR").unwrap();
    // SAFETY: as above.
    let report = unsafe { (*std::ptr::addr_of!(REPORT)).clone() };
    std::fs::write(format!("{out}/report.txt"), report).unwrap();
}
"#;

/// A package `hostile` whose build script runs `body` (between the prelude's helpers and
/// `finish()`); `extra` is appended to the manifest (grants, limits).
pub fn hostile(body: &str, extra: &str) -> Project {
    let project = Project::new();
    project
        .file("Cargo.toml", &manifest("hostile", extra))
        .file(
            "build.rs",
            &format!("{PRELUDE}\nfn main() {{\n{body}\nfinish();\n}}\n"),
        )
        .file("src/lib.rs", "pub fn nothing() {}");
    project
}

/// The report lines of a successful run, `name -> "ok" | "err ..."`.
pub fn report(project: &Project) -> BTreeMap<String, String> {
    parse_report(&fs::read_to_string(out_dir(project).join("report.txt")).unwrap())
}

/// The `OUT_DIR` of the `hostile` package (the one the report was written into), also
/// after a failed build.
pub fn out_dir(project: &Project) -> std::path::PathBuf {
    fs::read_dir(project.target().join("debug/build"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("hostile-"))
        .map(|entry| entry.path().join("out"))
        .find(|out| out.join("report.txt").exists())
        .expect("the hostile build script wrote its report")
}

pub fn parse_report(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|line| {
            let (name, outcome) = line.split_once(": ").unwrap();
            (name.to_string(), outcome.to_string())
        })
        .collect()
}

#[track_caller]
pub fn assert_failed(report: &BTreeMap<String, String>, names: &[&str]) {
    for name in names {
        let outcome = report
            .get(*name)
            .unwrap_or_else(|| panic!("no attempt {name}: {report:#?}"));
        assert!(outcome.starts_with("err"), "{name} must fail: {outcome}");
    }
}

/// Every file under `dir`, searched for the canary.
pub fn assert_no_canary_under(dir: &Path) {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                pending.push(path);
            } else if meta.is_file() {
                let mut bytes = Vec::new();
                fs::File::open(&path)
                    .unwrap()
                    .read_to_end(&mut bytes)
                    .unwrap();
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(CANARY),
                    "the canary leaked into {}",
                    path.display()
                );
            }
        }
    }
}

/// A fake home with secrets in the usual places.
pub fn fake_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    fs::create_dir_all(home.path().join(".ssh")).unwrap();
    fs::write(home.path().join(".ssh/id_rsa"), CANARY).unwrap();
    fs::create_dir_all(home.path().join(".cargo")).unwrap();
    fs::write(
        home.path().join(".cargo/credentials.toml"),
        format!("[registry]\ntoken = \"{CANARY}\"\n"),
    )
    .unwrap();
    home
}
