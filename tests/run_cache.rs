//! The run cache: a fresh target directory restores the build scripts' runs another one
//! made instead of running them, byte for byte; any change to what a run observes is a
//! miss; what a run printed is judged again on replay; runs whose inputs the key cannot
//! hold are never stored; a damaged entry is never used.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use wasm_build_contract::audit::{self, RunRecord};

use crate::support::{Project, Run, manifest};

/// A workspace: `app`, whose build script reads a granted variable, a package file, the
/// header its `links` dependency `depsys` exported, and the output of a granted program
/// outside the project; and `depsys`, whose exported header holds a granted variable.
struct Fixture {
    project: Project,
    tools: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let tools = tempfile::tempdir().unwrap();
        let fixture = Fixture {
            project: Project::new(),
            tools,
        };
        fixture.tool("#!/bin/sh\necho made-by-v1\n");
        let tool = fixture.tool_path().display().to_string();
        fixture
            .project
            .file(
                "app/Cargo.toml",
                &manifest("app", "[dependencies]\ndepsys = { path = \"../depsys\" }"),
            )
            .file("app/data.txt", "data-1")
            .file(
                "app/build.rs",
                &format!(
                    r#"
fn main() {{
    let out = std::env::var("OUT_DIR").unwrap();
    let greeting = std::env::var("RC_GREETING").unwrap_or_default();
    let data = std::fs::read_to_string("data.txt").unwrap();
    let include = std::env::var("DEP_DEPSYS_INCLUDE").unwrap();
    let header = std::fs::read_to_string(format!("{{include}}/dep.h")).unwrap();
    let made = if std::env::var("RC_SKIP_TOOL").is_ok() {{
        String::new()
    }} else {{
        let made = std::process::Command::new("{tool}").output().unwrap();
        assert!(made.status.success());
        String::from_utf8(made.stdout).unwrap()
    }};
    if std::env::var("RC_FAIL").is_ok() {{
        panic!("asked to fail");
    }}
    std::fs::create_dir_all(format!("{{out}}/gen/empty")).unwrap();
    let values = format!("{{greeting}}|{{data}}|{{}}|{{}}", header.trim(), made.trim());
    std::fs::write(format!("{{out}}/gen/values.rs"), format!("pub const VALUES: &str = {{values:?}};\n")).unwrap();
    println!("cargo:rustc-env=RC_BUILT=built");
    println!("cargo:rustc-cfg=rc_cached");
    println!("cargo:rustc-check-cfg=cfg(rc_cached)");
    println!("cargo:rustc-link-search=native={{out}}");
    println!("cargo:rerun-if-env-changed=RC_GREETING");
    println!("cargo:rerun-if-env-changed=RC_FAIL");
    println!("cargo:rerun-if-changed=data.txt");
}}
"#
                ),
            )
            .file(
                "app/src/main.rs",
                "include!(concat!(env!(\"OUT_DIR\"), \"/gen/values.rs\"));\n\
                 fn main() { println!(\"{VALUES} {} {}\", env!(\"RC_BUILT\"), cfg!(rc_cached)); }\n",
            )
            .file(
                "depsys/Cargo.toml",
                &manifest("depsys", "").replace("publish = false", "publish = false\nlinks = \"depsys\""),
            )
            .file(
                "depsys/build.rs",
                r##"
fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let value = std::env::var("DEPSYS_VALUE").unwrap_or_default();
    std::fs::create_dir_all(format!("{out}/include")).unwrap();
    std::fs::write(format!("{out}/include/dep.h"), format!("#define DEP \"{value}\"\n")).unwrap();
    println!("cargo:include={out}/include");
    println!("cargo:rerun-if-env-changed=DEPSYS_VALUE");
}
"##,
            )
            .file("depsys/src/lib.rs", "");
        fixture.grants(&format!(
            "env = [\"RC_GREETING\", \"RC_FAIL\"]\nexec = [\"{tool}\"]\ndirectives = [\"rustc-env\"]\n"
        ));
        fixture
    }

    /// Writes the workspace manifest with `app`'s grants.
    fn grants(&self, app: &str) {
        self.project.file(
            "Cargo.toml",
            &format!(
                "[workspace]\nmembers = [\"app\", \"depsys\"]\nresolver = \"2\"\n\n\
                 [workspace.metadata.sandbox.allow.\"app@0.1.0\"]\n{app}\n\
                 [workspace.metadata.sandbox.allow.\"depsys@0.1.0\"]\nenv = [\"DEPSYS_VALUE\"]\n"
            ),
        );
    }

    fn tool_path(&self) -> PathBuf {
        self.tools.path().join("gen.sh")
    }

    fn tool(&self, text: &str) {
        let path = self.tool_path();
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn cache(&self) -> String {
        self.project.root().join("user-cache").display().to_string()
    }

    fn target(&self, name: &str) -> PathBuf {
        self.project.root().join(name)
    }

    /// `cargo wasm-build -v --workspace` into the target directory `name`, with the
    /// fixture's own store and the default inputs, `env` on top.
    fn build(&self, name: &str, env: &[(&str, &str)]) -> Run {
        let target = self.target(name).display().to_string();
        let cache = self.cache();
        let mut vars = vec![
            ("CARGO_WASM_BUILD_CACHE", cache.as_str()),
            ("RC_GREETING", "hello"),
            ("DEPSYS_VALUE", "seven"),
        ];
        for (name, value) in env {
            vars.retain(|(seen, _)| seen != name);
            vars.push((name, value));
        }
        self.project
            .wasm_build_env(&["-v", "--workspace", "--target-dir", &target], &vars)
    }

    /// The last run of each package in target directory `name`.
    fn runs(&self, name: &str) -> BTreeMap<String, RunRecord> {
        audit::read(&self.target(name).join("debug/wasm-build/audit.jsonl"))
            .into_iter()
            .map(|record| (record.package.clone(), record))
            .collect()
    }

    /// Whether a run of `package`'s script was restored (not run) in target directory
    /// `name` (a failed build checks again afterwards, which runs it).
    fn restored(&self, name: &str, package: &str) -> bool {
        let records = audit::read(&self.target(name).join("debug/wasm-build/audit.jsonl"));
        let mine: Vec<&RunRecord> = records
            .iter()
            .filter(|record| record.package == package)
            .collect();
        assert!(
            !mine.is_empty(),
            "no run of {package} in {name}: {records:?}"
        );
        mine.iter().any(|record| record.restored.is_some())
    }

    fn app_says(&self, name: &str) -> String {
        let output = std::process::Command::new(self.target(name).join("debug/app"))
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    }
}

/// Every file of every `OUT_DIR` in a target directory, by `<package dir>/<path>`.
fn out_files(target: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let build = target.join("debug/build");
    for entry in fs::read_dir(&build).unwrap().flatten() {
        let out = entry.path().join("out");
        let mut pending = vec![out.clone()];
        while let Some(dir) = pending.pop() {
            for item in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = item.path();
                if path.is_dir() {
                    files.insert(
                        format!(
                            "{}/{}/",
                            entry.file_name().to_string_lossy(),
                            path.strip_prefix(&out).unwrap().display()
                        ),
                        Vec::new(),
                    );
                    pending.push(path);
                } else {
                    files.insert(
                        format!(
                            "{}/{}",
                            entry.file_name().to_string_lossy(),
                            path.strip_prefix(&out).unwrap().display()
                        ),
                        fs::read(&path).unwrap(),
                    );
                }
            }
        }
    }
    files
}

#[test]
fn a_fresh_target_directory_restores_every_run_byte_for_byte() {
    let fixture = Fixture::new();
    let run = fixture.build("t1", &[]).success();
    assert!(!fixture.restored("t1", "app"), "{}", run.stderr);
    assert!(!fixture.restored("t1", "depsys"));
    assert_eq!(
        fixture.app_says("t1"),
        "hello|data-1|#define DEP \"seven\"|made-by-v1 built true\n"
    );

    // Another target directory: no build script runs, and everything they made is back.
    let run = fixture.build("t2", &[]).success();
    assert!(fixture.restored("t2", "app"), "{}", run.stderr);
    assert!(fixture.restored("t2", "depsys"), "{}", run.stderr);
    let run = run
        .stderr_has("Restored build script of app v0.1.0 from the run cache in ")
        .stderr_has("Restored build script of depsys v0.1.0 from the run cache in ")
        .stderr_has("Run cache: restored 2 build-script runs, ran 0");
    assert!(
        !run.stderr.contains("Sandboxed build script of"),
        "{}",
        run.stderr
    );
    assert_eq!(
        out_files(&fixture.target("t1")),
        out_files(&fixture.target("t2"))
    );
    assert!(
        out_files(&fixture.target("t2"))
            .keys()
            .any(|path| path.ends_with("/gen/empty/")),
        "empty directories come back too"
    );

    // The restored build equals one that ran its scripts, in the same place.
    fs::rename(fixture.target("t2"), fixture.target("t2-restored")).unwrap();
    fixture
        .build("t2", &[("CARGO_WASM_BUILD_RUN_CACHE", "off")])
        .success();
    assert!(!fixture.restored("t2", "app"), "turned off: the script ran");
    assert_eq!(
        fs::read(fixture.target("t2-restored/debug/app")).unwrap(),
        fs::read(fixture.target("t2/debug/app")).unwrap(),
        "the final binary is byte-identical"
    );
    assert_eq!(
        out_files(&fixture.target("t2-restored")),
        out_files(&fixture.target("t2"))
    );

    let stats = fixture
        .project
        .wasm_build_env(
            &["cache", "--stats"],
            &[("CARGO_WASM_BUILD_CACHE", &fixture.cache())],
        )
        .success();
    assert!(
        stats
            .stdout
            .contains("build-script run cache       2 restored, 2 missed"),
        "{}",
        stats.stdout
    );

    // A directive grant removed since the run was stored: the run is restored, and what
    // it printed is judged by today's policy, so the build fails on it.
    let tool = fixture.tool_path().display().to_string();
    fixture.grants(&format!(
        "env = [\"RC_GREETING\", \"RC_FAIL\"]\nexec = [\"{tool}\"]\n"
    ));
    let run = fixture.build("t3", &[]).failure();
    assert!(fixture.restored("t3", "app"), "{}", run.stderr);
    run.stderr_has("error[W101]")
        .stderr_has("cargo:rustc-env=RC_BUILT=built");
}

#[test]
fn changing_any_input_a_run_observes_is_a_miss() {
    let fixture = Fixture::new();
    fixture.build("base", &[]).success();
    // The control: nothing changed, a hit (else the misses below prove nothing).
    fixture.build("same", &[]).success();
    assert!(fixture.restored("same", "app"));

    let run = fixture
        .build("env", &[("RC_GREETING", "bonjour")])
        .success();
    assert!(!fixture.restored("env", "app"), "{}", run.stderr);
    assert!(fixture.restored("env", "depsys"), "depsys saw nothing new");
    assert!(fixture.app_says("env").starts_with("bonjour|"));

    fixture.project.file("app/data.txt", "data-2");
    fixture.build("file", &[]).success();
    assert!(!fixture.restored("file", "app"));
    assert!(fixture.app_says("file").contains("|data-2|"));
    fixture.project.file("app/data.txt", "data-1");

    let run = fixture
        .build("links", &[("DEPSYS_VALUE", "eight")])
        .success();
    assert!(!fixture.restored("links", "depsys"), "{}", run.stderr);
    assert!(!fixture.restored("links", "app"), "its links input changed");
    assert!(fixture.app_says("links").contains("\"eight\""));

    fixture.tool("#!/bin/sh\necho made-by-v2\n");
    fixture.build("program", &[]).success();
    assert!(
        !fixture.restored("program", "app"),
        "the granted program changed"
    );
    assert!(fixture.restored("program", "depsys"));
    assert!(fixture.app_says("program").contains("|made-by-v2 "));
    fixture.tool("#!/bin/sh\necho made-by-v1\n");

    let tool = fixture.tool_path().display().to_string();
    fixture.grants(&format!(
        "env = [\"RC_GREETING\", \"RC_FAIL\", \"RC_UNUSED\"]\nexec = [\"{tool}\"]\ndirectives = [\"rustc-env\"]\n"
    ));
    fixture.build("grant", &[]).success();
    assert!(!fixture.restored("grant", "app"), "a grant changed");

    // `explain` shows the input that differs from the run last stored.
    fixture
        .build("grant-again", &[("RC_GREETING", "hallo")])
        .success();
    let explained = fixture
        .project
        .wasm_build_env(
            &["cache", "explain", "app"],
            &[("CARGO_WASM_BUILD_CACHE", &fixture.cache())],
        )
        .success();
    assert!(
        explained
            .stdout
            .contains("Last lookup of the build script of `app v0.1.0`: missed"),
        "{}",
        explained.stdout
    );
    assert!(
        explained
            .stdout
            .contains("* env RC_GREETING: hallo\n    stored: hello"),
        "{}",
        explained.stdout
    );
}

#[test]
fn runs_the_key_cannot_hold_are_never_stored_and_damaged_entries_never_used() {
    let fixture = Fixture::new();
    let tool = fixture.tool_path().display().to_string();
    let plain = format!(
        "env = [\"RC_GREETING\", \"RC_FAIL\", \"RC_SKIP_TOOL\"]\nexec = [\"{tool}\"]\ndirectives = [\"rustc-env\"]\n"
    );

    // A failed run is not stored: the next fresh build runs it again.
    fixture.build("failed-1", &[("RC_FAIL", "1")]).failure();
    fixture.build("failed-2", &[("RC_FAIL", "1")]).failure();
    assert!(!fixture.restored("failed-2", "app"));

    // A program that may use the network.
    fixture.grants(&format!("{plain}network = [\"{tool}\"]\n"));
    fixture.build("network-1", &[]).success();
    fixture.build("network-2", &[]).success();
    assert!(!fixture.restored("network-2", "app"));
    assert!(
        fixture.restored("network-2", "depsys"),
        "depsys has no such grant"
    );

    // A script run natively.
    fixture.grants(&format!("{plain}run-natively = true\n"));
    // (The native jail runs no program from a temporary directory.)
    let skip = [("RC_SKIP_TOOL", "1")];
    fixture.build("native-1", &skip).success();
    fixture.build("native-2", &skip).success();
    let runs = fixture.runs("native-2");
    assert!(
        runs["app"].native && runs["app"].restored.is_none(),
        "{runs:?}"
    );

    // A stored run whose file no longer matches its digest: said, and the script runs.
    fixture.grants(&plain);
    fixture.build("good", &[]).success();
    let runs_dir = Path::new(&fixture.cache()).join("runs");
    let mut damaged = 0;
    for entry in fs::read_dir(&runs_dir).unwrap().flatten() {
        let mut bytes = fs::read(entry.path()).unwrap();
        if let Some(at) = bytes
            .windows(13)
            .position(|window| window == b"pub const VAL")
        {
            bytes[at] = b'q';
            fs::write(entry.path(), bytes).unwrap();
            damaged += 1;
        }
    }
    assert_eq!(damaged, 1, "one stored copy of the generated file");
    let run = fixture.build("damaged", &[]).success();
    assert!(!fixture.restored("damaged", "app"), "{}", run.stderr);
    run.stderr_has("warning[W410]")
        .stderr_has("a stored run of the build script of `app v0.1.0` was not used");
    assert!(fixture.app_says("damaged").starts_with("hello|data-1|"));
    fixture.build("repaired", &[]).success();
    assert!(
        fixture.restored("repaired", "app"),
        "the new run replaced it"
    );

    // The cargo configuration's `[env]` turns it off for a project.
    fixture.project.file(
        ".cargo/config.toml",
        "[env]\nCARGO_WASM_BUILD_RUN_CACHE = \"off\"\n",
    );
    fixture.build("configured-off", &[]).success();
    assert!(!fixture.restored("configured-off", "app"));
    assert!(!fixture.restored("configured-off", "depsys"));
}

/// What a granted program reads outside the package is in the key: a `.pc` file in a
/// directory a build setting names (`PKG_CONFIG_PATH`), rewritten in place with its size
/// and modification time kept, is a miss; so is a tool added beside the program.
#[test]
fn what_a_granted_program_reads_outside_the_package_is_in_the_key() {
    let fixture = Fixture::new();
    let pc = fixture.tools.path().join("pc");
    fs::create_dir_all(&pc).unwrap();
    let file = pc.join("foo.pc");
    fs::write(&file, "Version: 1.0\n").unwrap();
    fixture.tool("#!/bin/sh\necho made-by-v1\ncat \"$PKG_CONFIG_PATH/foo.pc\"\n");
    let pc_path = pc.display().to_string();
    let env = [("PKG_CONFIG_PATH", pc_path.as_str())];
    fixture.build("base", &env).success();
    assert!(fixture.app_says("base").contains("Version: 1.0"));
    // The control: nothing changed, a hit (else the misses below prove nothing).
    let run = fixture.build("same", &env).success();
    assert!(fixture.restored("same", "app"), "{}", run.stderr);

    // `apt-get install` of a newer version, as far as the file shows it.
    let modified = fs::metadata(&file).unwrap().modified().unwrap();
    fs::write(&file, "Version: 2.0\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let run = fixture.build("changed", &env).success();
    assert!(!fixture.restored("changed", "app"), "{}", run.stderr);
    assert!(fixture.app_says("changed").contains("Version: 2.0"));
    assert!(
        fixture.restored("changed", "depsys"),
        "depsys ran no program"
    );
    let explained = fixture
        .project
        .wasm_build_env(
            &["cache", "explain", "app"],
            &[("CARGO_WASM_BUILD_CACHE", &fixture.cache())],
        )
        .success();
    assert!(
        explained
            .stdout
            .contains("but what the programs it executed may read changed"),
        "{}",
        explained.stdout
    );

    // A tool installed beside the program, which it could run (`cc` runs `as`).
    fs::write(fixture.tools.path().join("as"), "#!/bin/sh\n").unwrap();
    fixture.build("tool-added", &env).success();
    assert!(!fixture.restored("tool-added", "app"));
}

/// A fresh target directory compiles no build script compiled before from the same
/// inputs (the module is restored from the user's cache), and compiles one whose source
/// changed.
#[test]
fn a_fresh_target_directory_compiles_no_build_script_compiled_before() {
    let fixture = Fixture::new();
    // A rustc that notes each compile for wasm32-wasip1, then is the real one.
    let sysroot = std::process::Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let real = Path::new(String::from_utf8(sysroot.stdout).unwrap().trim()).join("bin/rustc");
    // Beside the fixture's tool, its log would change the tool's directory.
    let logging = tempfile::tempdir().unwrap();
    let log = logging.path().join("compiles.log");
    let rustc = logging.path().join("bin/rustc");
    fs::create_dir_all(rustc.parent().unwrap()).unwrap();
    fs::write(
        &rustc,
        format!(
            "#!/bin/sh\ncase \"$*\" in *wasm32-wasip1*build_script*) echo \"$*\" >> '{}';; esac\nexec '{}' \"$@\"\n",
            log.display(),
            real.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&rustc, fs::Permissions::from_mode(0o755)).unwrap();
    let rustc = rustc.display().to_string();
    let env = [("RUSTC", rustc.as_str())];
    let compiled = || {
        let text = fs::read_to_string(&log).unwrap_or_default();
        let _ = fs::remove_file(&log);
        ["app", "depsys"]
            .into_iter()
            .filter(|package| text.contains(&format!("{package}/build.rs")))
            .collect::<Vec<_>>()
    };

    fixture.build("t1", &env).success();
    assert_eq!(
        compiled(),
        ["app", "depsys"],
        "the first build compiles both"
    );
    let run = fixture.build("t2", &env).success();
    assert_eq!(compiled(), Vec::<&str>::new(), "{}", run.stderr);
    assert!(fixture.restored("t2", "app"), "{}", run.stderr);
    assert_eq!(
        out_files(&fixture.target("t1")),
        out_files(&fixture.target("t2"))
    );

    let source = fixture.project.read("app/build.rs");
    fixture
        .project
        .file("app/build.rs", &format!("{source}\n// changed\n"));
    fixture.build("t3", &env).success();
    assert_eq!(compiled(), ["app"], "its source changed");
    assert!(fixture.app_says("t3").starts_with("hello|data-1|"));
}
