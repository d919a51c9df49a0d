//! Libraries only build scripts link (here cc, and shlex and find-msvc-tools through it)
//! are not compiled natively, since sandboxed scripts link their wasm twins: the build is
//! otherwise the one cargo makes, and whatever native compile does link such a library
//! (a script granted `run-natively`) gets the real one.

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{APP_WORKSPACE, Project, Run, app_workspace, git_package, manifest};

const PLACEHOLDER: &[u8] = b"!<cargo-wasm-build: not compiled natively>";

/// A workspace whose member's build script links cc (and shlex itself) and quotes a
/// string with shlex for the binary.
fn project(lock: &str) -> Project {
    let project = Project::locked(lock);
    app_workspace(
        &project,
        "[build-dependencies]\ncc = \"1\"\nshlex = \"2\"\n",
    )
    .file(
        "app/build.rs",
        r#"fn main() {
                let _build = cc::Build::new();
                let quoted = shlex::try_quote("two words").unwrap();
                let out = std::env::var("OUT_DIR").unwrap();
                std::fs::write(format!("{out}/quoted.txt"), quoted.as_bytes()).unwrap();
            }"#,
    )
    .file(
        "app/src/main.rs",
        r#"fn main() { println!("{}", include_str!(concat!(env!("OUT_DIR"), "/quoted.txt"))); }"#,
    );
    project
}

/// The library files of `crate_name` in `target`'s `debug/deps`.
fn library_files(target: &Path, crate_name: &str) -> Vec<PathBuf> {
    let prefix = format!("lib{crate_name}-");
    let mut files: Vec<PathBuf> = fs::read_dir(target.join("debug/deps"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_str().unwrap();
            name.starts_with(&prefix) && (name.ends_with(".rlib") || name.ends_with(".rmeta"))
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no library of {crate_name} in {}",
        target.display()
    );
    files
}

/// Grants `run-natively` to `app` in the workspace of `members` (its `[workspace]` table).
fn grant_run_natively(project: &Project, members: &str) {
    project.file(
        "Cargo.toml",
        &format!(
            "{members}\n[workspace.metadata.sandbox.allow.\"app@0.1.0\"]\nrun-natively = true\n"
        ),
    );
}

fn is_placeholder(path: &Path) -> bool {
    fs::read(path).unwrap().starts_with(PLACEHOLDER)
}

/// The `debug/deps/*.d` files of `target`, with the target directory's path taken out.
fn dep_infos(target: &Path) -> Vec<(String, String)> {
    let deps = target.join("debug/deps");
    let mut files: Vec<(String, String)> = fs::read_dir(&deps)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "d"))
        .map(|path| {
            let text = fs::read_to_string(&path)
                .unwrap()
                .replace(target.to_str().unwrap(), "<target>");
            (
                path.file_name().unwrap().to_str().unwrap().to_string(),
                text,
            )
        })
        .collect();
    files.sort();
    files
}

/// What cargo compiled or ran in a `-v` build.
fn work_done(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .map(str::trim_start)
        .filter(|line| {
            line.starts_with("Compiling")
                || line.starts_with("Running")
                || line.starts_with("Dirty")
        })
        .collect()
}

#[test]
fn libraries_only_build_scripts_link_are_not_compiled_natively_and_the_build_is_the_same() {
    let project = project("lazy-cc");
    let lazy = project.target();
    project.wasm_build(&["build"]).success();
    let full = project.root().join("full-target");
    project
        .wasm_build_env(
            &["build", "--target-dir", full.to_str().unwrap()],
            &[("CARGO_WASM_BUILD_LAZY_BUILD_DEPS", "off")],
        )
        .success();

    // cc is what only the script links: not compiled natively. shlex and find-msvc-tools
    // keep their metadata (cc's dep-info run reads it), not their code.
    for library in library_files(&lazy, "cc") {
        assert!(
            is_placeholder(&library),
            "{} was compiled",
            library.display()
        );
    }
    for name in ["shlex", "find_msvc_tools"] {
        let files = library_files(&lazy, name);
        let rlib = files
            .iter()
            .find(|path| path.extension().unwrap() == "rlib")
            .unwrap();
        let rmeta = files
            .iter()
            .find(|path| path.extension().unwrap() == "rmeta")
            .unwrap();
        assert!(is_placeholder(rlib), "{} was compiled", rlib.display());
        assert!(
            !is_placeholder(rmeta),
            "{} has no metadata",
            rmeta.display()
        );
    }
    for library in library_files(&full, "cc") {
        assert!(
            !is_placeholder(&library),
            "{} was deferred",
            library.display()
        );
    }

    // Every dep-info (which cargo fingerprints and twins are keyed by) and the binary are
    // what compiling everything makes.
    assert_eq!(dep_infos(&lazy), dep_infos(&full));
    assert_eq!(
        fs::read(lazy.join("debug/app")).unwrap(),
        fs::read(full.join("debug/app")).unwrap()
    );
    let output = std::process::Command::new(lazy.join("debug/app"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "'two words'\n");

    let again = project.wasm_build(&["build", "-v"]).success();
    assert_eq!(work_done(&again), Vec::<&str>::new(), "{}", again.stderr);

    // Turned off, deferring leaves nothing behind: that build compiles the libraries.
    project
        .wasm_build_env(&["build"], &[("CARGO_WASM_BUILD_LAZY_BUILD_DEPS", "off")])
        .success()
        .stderr_has("Compiling cc v");
    for name in ["cc", "shlex", "find_msvc_tools"] {
        for library in library_files(&lazy, name) {
            assert!(
                !is_placeholder(&library),
                "{} is still deferred",
                library.display()
            );
        }
    }
}

#[test]
fn a_native_compile_that_links_a_deferred_library_gets_the_real_one() {
    let project = project("lazy-cc-two-members");
    // A second member whose sandboxed script links cc too, compiled before cc is real.
    let members = "[workspace]\nmembers = [\"app\", \"other\"]\nresolver = \"2\"\n";
    project
        .file("Cargo.toml", members)
        .file(
            "other/Cargo.toml",
            &manifest("other", "[build-dependencies]\ncc = \"1\"\n"),
        )
        .file(
            "other/build.rs",
            "fn main() { let _build = cc::Build::new(); }",
        )
        .file("other/src/lib.rs", "");
    project.wasm_build(&["build"]).success();
    assert!(
        library_files(&project.target(), "cc")
            .iter()
            .all(|path| is_placeholder(path))
    );

    // Granted `run-natively`, the script is compiled natively and links cc, shlex and
    // find-msvc-tools: they are compiled for real first.
    grant_run_natively(&project, members);
    project
        .wasm_build(&["build"])
        .success()
        .stderr_has("Confined 1 build script natively, as granted (run-natively): app v0.1.0");
    for name in ["cc", "shlex", "find_msvc_tools"] {
        for library in library_files(&project.target(), name) {
            assert!(
                !is_placeholder(&library),
                "{} is still deferred",
                library.display()
            );
        }
    }
    let output = std::process::Command::new(project.target().join("debug/app"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "'two words'\n");

    // The real libraries carry the times cargo saw: nothing built on them (other's
    // script) looks stale.
    let again = project.wasm_build(&["build", "-v"]).success();
    assert_eq!(work_done(&again), Vec::<&str>::new(), "{}", again.stderr);
}

/// A type error only the native build compiles: `brittle` compiles for wasm, not natively.
const NATIVE_TYPE_ERROR: &str = "pub fn answer() -> u32 { 42 }\n\
     #[cfg(not(target_family = \"wasm\"))]\n\
     pub fn native_only() -> u32 { \"not a number\" }\n";

/// A workspace whose member's build script links `brittle` (from a git repository
/// holding `lib_rs`); returns the `[workspace]` table.
fn brittle_user(project: &Project, lib_rs: &str) -> &'static str {
    let repository = project.root().join("brittle-repo");
    git_package(&repository, "brittle", lib_rs);
    app_workspace(
        project,
        &format!(
            "[build-dependencies]\nbrittle = {{ git = \"file://{}\" }}\n",
            repository.display()
        ),
    )
    .file(
        "app/build.rs",
        "fn main() { assert_eq!(brittle::answer(), 42); }",
    )
    .file("app/src/main.rs", "fn main() {}");
    APP_WORKSPACE
}

#[test]
fn a_deferred_library_that_fails_natively_is_named_when_a_native_compile_needs_it() {
    let project = Project::new();
    let members = brittle_user(&project, NATIVE_TYPE_ERROR);
    // Sandboxed, the script links the twin, which compiles: the native library is never
    // needed (cargo build would have failed on it; docs/consumers.md says so).
    project.wasm_build(&["build"]).success();
    for library in library_files(&project.target(), "brittle") {
        assert!(
            is_placeholder(&library),
            "{} was compiled",
            library.display()
        );
    }

    grant_run_natively(&project, members);
    project
        .wasm_build(&["build"])
        .failure()
        .stderr_has("error[W413]: the native compile of `brittle`, deferred because only build scripts link it, failed when the native compile of `app v0.1.0's build script` linked it")
        .stderr_has("error[E0308]: mismatched types")
        .stderr_has("= help: build with CARGO_WASM_BUILD_LAZY_BUILD_DEPS=off to compile it as `cargo build` does");
    // As the help says: without deferring, the placeholders go, and the error is cargo's
    // own, from the library's compile.
    project
        .wasm_build_env(&["build"], &[("CARGO_WASM_BUILD_LAZY_BUILD_DEPS", "off")])
        .failure()
        .stderr_has("error[E0308]: mismatched types")
        .stderr_has("could not compile `brittle`")
        .stderr_lacks("W413");
}

/// When even the short compile fails (here in macro expansion, natively only), the
/// library is compiled natively as under `cargo build`, and the error is that compile's,
/// said once.
#[test]
fn a_deferred_library_whose_short_compile_fails_is_compiled_natively_for_its_error() {
    let project = Project::new();
    brittle_user(
        &project,
        "pub fn answer() -> u32 { 42 }\n\
         #[cfg(not(target_family = \"wasm\"))]\n\
         compile_error!(\"brittle is wasm-only\");\n",
    );
    let run = project
        .wasm_build(&["build"])
        .failure()
        .stderr_has("error: brittle is wasm-only")
        .stderr_has("could not compile `brittle`")
        .stderr_lacks("W413");
    assert_eq!(
        run.stderr.matches("error: brittle is wasm-only").count(),
        1,
        "{}",
        run.stderr
    );
}
