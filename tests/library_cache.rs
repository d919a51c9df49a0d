//! The library cache: a clean build in the same target directory restores the native
//! compiles of downloaded libraries instead of running rustc, and the build is byte for
//! byte the one rustc makes; an edited source, a changed variable the library reads, a
//! damaged entry or the cache turned off each mean rustc runs.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{Project, Run, app_workspace, git_package, manifest};

/// A member using two registry libraries, `itoa`, and `typenum`, whose build script
/// generates the code its library includes from `OUT_DIR`; and a path dependency,
/// `helper`, which is the user's to edit and never stored.
fn registry_project() -> Project {
    let project = app(
        Project::locked("library-cache"),
        "itoa = \"1\"\ntypenum = \"1\"\nhelper = { path = \"../helper\" }",
        "use typenum::Unsigned;\n\
         fn main() { assert_eq!(helper::seven(), typenum::U7::to_u32()); println!(\"{} {}\", itoa::Buffer::new().format(42), typenum::U7::to_u32()); }\n",
    );
    project
        .file("helper/Cargo.toml", &manifest("helper", ""))
        .file("helper/src/lib.rs", "pub fn seven() -> u32 { 7 }\n");
    project
}

/// `project` as a workspace of one binary, `app`, with `dependencies` and `main_rs`.
fn app(project: Project, dependencies: &str, main_rs: &str) -> Project {
    app_workspace(&project, &format!("[dependencies]\n{dependencies}\n"))
        .file("app/src/main.rs", main_rs);
    project
}

/// `(restored, compiled and stored)` from the `-v` summary; `None` when it said nothing.
fn library_usage(run: &Run) -> Option<(u64, u64)> {
    let line = run
        .stderr
        .lines()
        .find_map(|line| line.strip_prefix("Library cache: restored "))?;
    let (restored, rest) = line.split_once(" downloaded libraries, compiled and stored ")?;
    let stored = rest.split_once(' ')?.0;
    Some((restored.parse().ok()?, stored.parse().ok()?))
}

fn binary(project: &Project) -> Vec<u8> {
    fs::read(project.target().join("debug/app")).unwrap()
}

fn run_binary(project: &Project) -> String {
    let output = std::process::Command::new(project.target().join("debug/app"))
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// Builds from an empty target directory (same path) with `-v` and `env`.
fn clean_build(project: &Project, env: &[(&str, &str)]) -> Run {
    let _ = fs::remove_dir_all(project.target());
    project.wasm_build_env(&["build", "-v"], env).success()
}

/// The store's library entries (the user cache of every test run).
fn library_entries() -> Vec<PathBuf> {
    let dir = crate::support::test_cache_home().join("cargo-wasm-build/artifacts/libraries");
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.file_name().unwrap().to_str().unwrap().starts_with('.'))
        .collect()
}

#[test]
fn a_clean_build_restores_downloaded_libraries_and_is_the_same_build() {
    let project = registry_project();
    let first = clean_build(&project, &[]);
    let (_, stored) = library_usage(&first).expect("the first build stores the libraries");
    assert_eq!(
        stored, 2,
        "itoa and typenum, not the path dependency:\n{}",
        first.stderr
    );
    let compiled = binary(&project);
    assert_eq!(run_binary(&project), "42 7\n");

    let second = clean_build(&project, &[]);
    assert_eq!(
        library_usage(&second),
        Some((stored, 0)),
        "every downloaded library restored:\n{}",
        second.stderr
    );
    assert_eq!(binary(&project), compiled, "the same binary, byte for byte");

    let off = clean_build(&project, &[("CARGO_WASM_BUILD_LIBRARY_CACHE", "off")]);
    assert_eq!(library_usage(&off), None, "{}", off.stderr);
    assert_eq!(binary(&project), compiled, "rustc makes the same binary");

    // Damaged content (this build's rlibs rewritten in the store) is never served:
    // rustc runs again and the build is still the one it makes.
    let rlibs: Vec<Vec<u8>> = fs::read_dir(project.target().join("debug/deps"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rlib"))
        .map(|path| fs::read(path).unwrap())
        .collect();
    let _ = fs::remove_dir_all(project.target());
    let mut damaged = 0;
    for entry in library_entries() {
        let mut bytes = fs::read(&entry).unwrap();
        if rlibs.contains(&bytes) {
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            fs::write(&entry, bytes).unwrap();
            damaged += 1;
        }
    }
    assert!(
        damaged >= 2,
        "the rlibs are in the store as rustc wrote them"
    );
    let repaired = clean_build(&project, &[]);
    let (restored, _) = library_usage(&repaired).unwrap();
    assert!(restored < stored, "{}", repaired.stderr);
    assert_eq!(binary(&project), compiled);
    assert_eq!(run_binary(&project), "42 7\n");
}

/// The library of a git dependency reads a variable through `option_env!`.
const READS_A_VARIABLE: &str = "pub fn text() -> &'static str { \"one\" }\n\
     pub fn value() -> &'static str { match option_env!(\"LIBRARY_CACHE_TEST_VALUE\") { Some(v) => v, None => \"unset\" } }\n";

#[test]
fn an_edited_source_or_a_changed_variable_is_compiled_again() {
    let project = Project::new();
    let repository = project.root().join("tinylib-repo");
    git_package(&repository, "tinylib", READS_A_VARIABLE);
    let project = app(
        project,
        &format!("tinylib = {{ git = \"file://{}\" }}", repository.display()),
        "fn main() { println!(\"{} {}\", tinylib::text(), tinylib::value()); }\n",
    );
    let variable = "LIBRARY_CACHE_TEST_VALUE";
    let first = clean_build(&project, &[(variable, "a")]);
    assert_eq!(library_usage(&first), Some((0, 1)), "{}", first.stderr);
    assert_eq!(run_binary(&project), "one a\n");
    let restored = clean_build(&project, &[(variable, "a")]);
    assert_eq!(
        library_usage(&restored),
        Some((1, 0)),
        "{}",
        restored.stderr
    );

    let changed = clean_build(&project, &[(variable, "b")]);
    assert_eq!(library_usage(&changed), Some((0, 1)), "{}", changed.stderr);
    assert_eq!(run_binary(&project), "one b\n");

    // Cargo never looks at a checkout's files again; the cache does.
    let source = checkout_source(&project.target(), "tinylib");
    fs::write(&source, READS_A_VARIABLE.replace("\"one\"", "\"edited\"")).unwrap();
    let edited = clean_build(&project, &[(variable, "b")]);
    assert_eq!(library_usage(&edited), Some((0, 1)), "{}", edited.stderr);
    assert_eq!(run_binary(&project), "edited b\n");
}

/// The `lib.rs` cargo compiled for `crate_name`, as its dep-info names it.
fn checkout_source(target: &Path, crate_name: &str) -> PathBuf {
    let deps = target.join("debug/deps");
    let dep_info = fs::read_dir(&deps)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            name.starts_with(&format!("{crate_name}-")) && name.ends_with(".d")
        })
        .expect("the library's dep-info");
    let text = fs::read_to_string(dep_info).unwrap();
    text.split_whitespace()
        .map(PathBuf::from)
        .find(|path| path.ends_with("src/lib.rs") && path.is_file())
        .expect("the library's source")
}
