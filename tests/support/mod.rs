//! Fixture projects and runs of the real `cargo-wasm-build` binary and real cargo.

#![allow(dead_code)]

pub mod hostile;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A throw-away cargo project in a temporary directory.
pub struct Project {
    dir: tempfile::TempDir,
    /// The runs' `HOME`: the test's own, so nothing of the developer's home is read or
    /// written (cargo's and rustup's homes stay where they are, see [`Project::prepare`]).
    home: tempfile::TempDir,
    /// The committed lockfile the project's graph is pinned to (see [`Project::locked`]).
    lock: Option<PathBuf>,
}

/// Where the lockfiles of fixture graphs with crates.io dependencies are committed.
fn locks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/locks")
}

impl Project {
    /// An empty project directory.
    pub fn new() -> Self {
        Project {
            dir: tempfile::Builder::new()
                .prefix("wasm-build-test-")
                .tempdir()
                .unwrap(),
            home: tempfile::Builder::new()
                .prefix("wasm-build-home-")
                .tempdir()
                .unwrap(),
            lock: None,
        }
    }

    /// An empty project whose dependency graph is pinned to `tests/locks/<name>.lock`, so
    /// the versions of transitive dependencies do not float between runs and, once
    /// downloaded, the graph builds without the registry. Every run checks that cargo kept
    /// the graph as committed; with `UPDATE_LOCKS=1` the runs write the lockfile instead.
    pub fn locked(name: &str) -> Self {
        let lock = locks_dir().join(format!("{name}.lock"));
        let project = Project {
            lock: Some(lock.clone()),
            ..Project::new()
        };
        if !updating_locks() {
            let text = fs::read_to_string(&lock).unwrap_or_else(|_| {
                panic!(
                    "{} is missing: run this test with UPDATE_LOCKS=1 and commit the file",
                    lock.display()
                )
            });
            fs::write(project.root().join("Cargo.lock"), text).unwrap();
        }
        project
    }

    /// Writes the project's lockfile back to its committed place (`UPDATE_LOCKS=1`), or
    /// fails when cargo had to change it: the fixture's manifest changed without its lock.
    fn check_lock(&self) {
        let Some(committed) = &self.lock else {
            return;
        };
        let Ok(current) = fs::read_to_string(self.root().join("Cargo.lock")) else {
            return;
        };
        if updating_locks() {
            fs::create_dir_all(locks_dir()).unwrap();
            fs::write(committed, current).unwrap();
            return;
        }
        assert!(
            fs::read_to_string(committed).is_ok_and(|text| text == current),
            "cargo changed the fixture's graph pinned by {}: its manifest changed; run this \
             test with UPDATE_LOCKS=1 and commit the lockfile",
            committed.display()
        );
    }

    /// Writes `contents` to `path` (relative to the project), creating directories.
    pub fn file(&self, path: &str, contents: &str) -> &Self {
        let path = self.dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
        self
    }

    /// The project directory.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The target directory the runs use.
    pub fn target(&self) -> PathBuf {
        self.root().join("target")
    }

    /// `cargo wasm-build ARGS` in the project.
    pub fn wasm_build(&self, args: &[&str]) -> Run {
        self.wasm_build_env(args, &[])
    }

    /// `cargo wasm-build ARGS` with extra environment variables.
    pub fn wasm_build_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.wasm_build_on(None, args, env)
    }

    /// `cargo wasm-build ARGS` on a machine in `condition` (see [`field`]), or this one.
    pub fn wasm_build_on(
        &self,
        condition: Option<Field>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        let tool = env!("CARGO_BIN_EXE_cargo-wasm-build");
        let mut command = match condition {
            Some(condition) => {
                let mut command = Command::new(field());
                command.arg(condition.name()).arg(tool);
                command
            }
            None => Command::new(tool),
        };
        command.arg("wasm-build").args(args);
        command.envs(env.iter().copied());
        self.run(command)
    }

    /// Reads a file of the project.
    pub fn read(&self, path: &str) -> String {
        fs::read_to_string(self.root().join(path)).unwrap()
    }

    /// Plain `cargo ARGS` in the project, for comparison.
    pub fn cargo(&self, args: &[&str]) -> Run {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command.args(args);
        self.run(command)
    }

    /// Runs `command` in the project with a clean cargo environment.
    pub fn run(&self, mut command: Command) -> Run {
        self.prepare(&mut command);
        let output = command.output().unwrap();
        self.check_lock();
        Run::from(output)
    }

    /// The runs' own `HOME` (a test may set another).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Sets `command` up to run in the project with a clean cargo environment, its own
    /// `HOME` and the tests' user cache (unless the test set them).
    pub fn prepare(&self, command: &mut Command) {
        let set_by_test =
            |command: &Command, name: &str| command.get_envs().any(|(set, _)| set == name);
        // Another HOME must not move cargo's and rustup's own homes.
        for (name, default) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
            if std::env::var_os(name).is_none()
                && !set_by_test(command, name)
                && let Some(home) = std::env::var_os("HOME")
            {
                command.env(name, PathBuf::from(home).join(default));
            }
        }
        if !set_by_test(command, "HOME") {
            command.env("HOME", self.home());
        }
        if !set_by_test(command, "XDG_CACHE_HOME") {
            command.env("XDG_CACHE_HOME", test_cache_home());
        }
        command
            .current_dir(self.root())
            .env("CARGO_TARGET_DIR", self.target())
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("RUSTC_WRAPPER")
            .env_remove("RUSTC_WORKSPACE_WRAPPER")
            .env_remove("CARGO_MAKEFLAGS")
            .env_remove("MAKEFLAGS")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET");
        for (name, _) in std::env::vars_os() {
            if name
                .to_str()
                .is_some_and(|name| name.starts_with("CARGO_WASM_BUILD_"))
            {
                command.env_remove(name);
            }
        }
    }

    /// Every build script's recorded output and `OUT_DIR` files in `profile` (e.g.
    /// `debug`), keyed by package name, with the project's path and cargo's hashes
    /// normalised (see [`wasm_build_compat::normalise`]).
    pub fn build_script_results(&self, profile: &str) -> BTreeMap<String, ScriptResult> {
        wasm_build_compat::results_in(&self.target().join(profile).join("build"), &[self.root()])
    }
}

/// The root manifest of a workspace whose one member is `app`.
pub const APP_WORKSPACE: &str = "[workspace]\nmembers = [\"app\"]\nresolver = \"2\"\n";

/// Makes `project` a workspace of one member, `app`, whose manifest ends with `tables`
/// (its dependency tables); its sources are the caller's.
pub fn app_workspace<'a>(project: &'a Project, tables: &str) -> &'a Project {
    project
        .file("Cargo.toml", APP_WORKSPACE)
        .file("app/Cargo.toml", &manifest("app", tables))
}

/// A git repository in `dir` holding the package `name` 1.0.0 with the library `lib_rs`,
/// committed: a dependency from git, whose checkout cargo treats as downloaded.
pub fn git_package(dir: &Path, name: &str, lib_rs: &str) {
    fs::create_dir_all(dir.join("src")).unwrap();
    fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
    )
    .unwrap();
    fs::write(dir.join("src/lib.rs"), lib_rs).unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", name]);
}

/// The user cache (`XDG_CACHE_HOME`) every run of the tests shares, under the target
/// directory: the std facade and the twins are compiled once per machine for the tests,
/// as for a user, and never read from or written to the developer's own cache.
pub fn test_cache_home() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("xdg-cache")
}

fn updating_locks() -> bool {
    std::env::var_os("UPDATE_LOCKS").is_some_and(|value| !value.is_empty())
}

/// A finished process.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics with the whole output unless the process succeeded.
    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(self.code, Some(0), "expected success\n{}", self.describe());
        self
    }

    /// Panics with the whole output unless the process failed.
    #[track_caller]
    pub fn failure(self) -> Self {
        assert_ne!(self.code, Some(0), "expected failure\n{}", self.describe());
        self
    }

    /// Panics unless stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// Panics if stderr contains `needle`.
    #[track_caller]
    pub fn stderr_lacks(self, needle: &str) -> Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr has {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// Panics unless stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// Panics if stdout contains `needle`.
    #[track_caller]
    pub fn stdout_lacks(self, needle: &str) -> Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout has {needle:?}\n{}",
            self.describe()
        );
        self
    }

    fn describe(&self) -> String {
        format!(
            "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub use wasm_build_compat::ScriptResult;

/// Settings every snapshot starts from. Spaces at the ends of lines are dropped: clap
/// leaves them on the blank lines of long help and the card after an empty label, nobody
/// sees them, and editors and `git diff --check` fight with them in `.snap` files.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"(?m)[ \t]+$", "");
    settings
}

/// A `Cargo.toml` for a package `name` with extra sections appended.
pub fn manifest(name: &str, extra: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n{extra}\n"
    )
}

/// The host triple, as rustc reports it.
pub fn host_triple() -> String {
    let output = Command::new("rustc").arg("-vV").output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_string))
        .unwrap()
}

/// A machine users build on, as `tests/fixtures/field.c` makes this one look.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    /// Unprivileged user namespaces blocked, as by Docker's default seccomp profile.
    NoUserNamespaces,
    /// No Landlock, as on a kernel older than 5.13.
    NoLandlock,
    /// No seccomp user notification, as on a kernel older than 5.0.
    SeccompWithoutNotify,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::NoUserNamespaces => "no-userns",
            Field::NoLandlock => "no-landlock",
            Field::SeccompWithoutNotify => "no-notify",
        }
    }
}

/// The `field` tool, compiled once per test run.
pub fn field() -> &'static Path {
    static TOOL: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TOOL.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("wasm-build-field-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let tool = dir.join("field");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/field.c");
        let status = Command::new("cc")
            .arg("-o")
            .arg(&tool)
            .arg(source)
            .status()
            .unwrap();
        assert!(status.success(), "tests/fixtures/field.c compiles");
        tool
    })
}

/// Builds `dependencies` with plain cargo and with cargo wasm-build in two projects and
/// compares every build script's output and files.
pub fn assert_same_as_native(
    lock: &str,
    dependencies: &str,
    grants: &str,
    expected_scripts: &[&str],
) {
    assert_same_as_native_when(lock, dependencies, grants, expected_scripts, |project| {
        project.wasm_build(&[])
    });
}

/// [`assert_same_as_native`], with the sandboxed build run by `build`.
pub fn assert_same_as_native_when(
    lock: &str,
    dependencies: &str,
    grants: &str,
    expected_scripts: &[&str],
    build: impl Fn(&Project) -> Run,
) {
    let native = Project::locked(lock);
    let sandboxed = Project::locked(lock);
    for project in [&native, &sandboxed] {
        project
            .file(
                "Cargo.toml",
                &manifest(
                    "consumer",
                    &format!("[dependencies]\n{dependencies}\n{grants}"),
                ),
            )
            .file("src/lib.rs", "");
    }
    native.cargo(&["build"]).success();
    build(&sandboxed).success();
    let native_results = native.build_script_results("debug");
    let sandboxed_results = sandboxed.build_script_results("debug");
    for script in expected_scripts {
        assert!(
            sandboxed_results.contains_key(*script),
            "{script} ran: {:?}",
            sandboxed_results.keys()
        );
    }
    assert_results_match(&native_results, &sandboxed_results);
}

/// The same build scripts ran in both builds, and each printed the same directives and
/// left the same `OUT_DIR` bytes: the compatibility suite's comparison, of which the
/// tests are a fast subset.
#[track_caller]
pub fn assert_results_match(
    native: &BTreeMap<String, ScriptResult>,
    sandboxed: &BTreeMap<String, ScriptResult>,
) {
    assert_eq!(
        native.keys().collect::<Vec<_>>(),
        sandboxed.keys().collect::<Vec<_>>()
    );
    for (package, native_result) in native {
        let diffs = wasm_build_compat::differences(native_result, &sandboxed[package]);
        assert!(
            diffs.is_empty(),
            "{package} differs from native:\n{}",
            diffs.join("\n")
        );
    }
}
