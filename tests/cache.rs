//! The user's shared cache of guest artifacts: a fresh target directory copies what
//! another one compiled, gets the same build, and never gets a stale or corrupt entry.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::hostile::{assert_failed, hostile, report};
use crate::support::{Project, Run, ScriptResult, manifest};

/// A package whose build script links a registry build-dependency (`autocfg`, probing
/// rustc) and a path one (`helper`, whose source the tests change).
fn project() -> Project {
    let project = Project::locked("cache-autocfg");
    project
        .file(
            "Cargo.toml",
            &manifest(
                "cached",
                "[build-dependencies]\nautocfg = \"1\"\nhelper = { path = \"helper\" }\n",
            ),
        )
        .file(
            "build.rs",
            r#"
fn main() {
    let ac = autocfg::new();
    if ac.probe_rustc_version(1, 0) {
        println!("cargo:rustc-cfg=has_1_0");
    }
    println!("cargo:rustc-check-cfg=cfg(has_1_0)");
    let out = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out}/greeting.txt"), helper::greeting()).unwrap();
}
"#,
        )
        .file("src/lib.rs", "pub fn nothing() {}")
        .file("helper/Cargo.toml", &manifest("helper", ""))
        .file(
            "helper/src/lib.rs",
            "pub fn greeting() -> &'static str { \"hello\" }",
        );
    project
}

fn cache_dir(project: &Project) -> PathBuf {
    project.root().join("user-cache")
}

/// `cargo wasm-build -v` into `target` with the project's own shared cache.
fn build_into(project: &Project, target: &Path) -> Run {
    let target = target.display().to_string();
    let cache = cache_dir(project).display().to_string();
    project.wasm_build_env(
        &["-v", "--target-dir", &target],
        &[("CARGO_WASM_BUILD_CACHE", &cache)],
    )
}

/// `(reused, stored)` from the `-v` summary line.
fn usage(run: &Run) -> (u64, u64) {
    let line = run
        .stderr
        .lines()
        .find(|line| line.starts_with("Shared build cache: reused"))
        .unwrap_or_else(|| panic!("no cache line in\n{}", run.stderr));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|part| part.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

fn results(target: &Path) -> std::collections::BTreeMap<String, ScriptResult> {
    wasm_build_compat::results_in(&target.join("debug/build"), &[target])
}

fn greeting(target: &Path) -> String {
    let build = target.join("debug/build");
    fs::read_dir(&build)
        .unwrap()
        .flatten()
        .map(|entry| entry.path().join("out/greeting.txt"))
        .find(|path| path.exists())
        .map(|path| fs::read_to_string(path).unwrap())
        .expect("the build script wrote its greeting")
}

/// The guest artifacts in the store (not the build-script runs of `tests/run_cache.rs`).
fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut entries = Vec::new();
    for kind in fs::read_dir(cache).unwrap().flatten() {
        // Build-script runs, resolved policies and native libraries are not guest
        // artifacts; the store's own files (`.trimmed`) are not entries.
        let not_guest = ["runs", "policies", "libraries"];
        if not_guest.iter().any(|name| kind.file_name() == *name) || !kind.path().is_dir() {
            continue;
        }
        for entry in fs::read_dir(kind.path()).unwrap().flatten() {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                entries.push(entry.path());
            }
        }
    }
    entries.sort();
    entries
}

#[test]
fn a_fresh_target_directory_copies_what_another_compiled() {
    let project = project();
    let first = project.root().join("target-a");
    let run = build_into(&project, &first).success();
    let (_, stored) = usage(&run);
    // The facade, autocfg's twin and the build script's module (helper is a path
    // dependency: never shared).
    assert!(stored >= 3, "stored {stored}\n{}", run.stderr);
    assert_eq!(entries(&cache_dir(&project)).len() as u64, stored);

    let second = project.root().join("target-b");
    let run = build_into(&project, &second).success();
    assert_eq!(usage(&run), (stored, 0), "everything came from the cache");
    assert_eq!(results(&first), results(&second), "the same build");
    assert_eq!(greeting(&second), "hello");

    // A path dependency's source can change under the same name and version: what the
    // script links must be the new one, in a fresh target directory too.
    project.file(
        "helper/src/lib.rs",
        "pub fn greeting() -> &'static str { \"changed\" }",
    );
    let third = project.root().join("target-c");
    build_into(&project, &third).success();
    assert_eq!(greeting(&third), "changed");
}

#[test]
fn corrupt_entries_are_compiled_again_not_used() {
    let project = project();
    let first = project.root().join("target-a");
    build_into(&project, &first).success();
    let cache = cache_dir(&project);
    for entry in entries(&cache) {
        let mut bytes = fs::read(&entry).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        fs::write(&entry, bytes).unwrap();
    }
    let second = project.root().join("target-b");
    let run = build_into(&project, &second).success();
    let (reused, stored) = usage(&run);
    assert_eq!(reused, 0, "{}", run.stderr);
    assert!(stored >= 3, "the entries were repaired: {}", run.stderr);
    assert_eq!(results(&first), results(&second));

    let third = project.root().join("target-c");
    let run = build_into(&project, &third).success();
    assert_eq!(usage(&run), (stored, 0), "the repaired entries serve");
}

#[test]
fn parallel_builds_share_one_cache() {
    let project = project();
    let cache = cache_dir(&project).display().to_string();
    let targets: Vec<PathBuf> = (0..3)
        .map(|i| project.root().join(format!("target-{i}")))
        .collect();
    let children: Vec<_> = targets
        .iter()
        .map(|target| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
            project.prepare(&mut command);
            command
                .args(["wasm-build", "--target-dir"])
                .arg(target)
                .env("CARGO_WASM_BUILD_CACHE", &cache)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for target in &targets[1..] {
        assert_eq!(results(&targets[0]), results(target));
    }
    let last = project.root().join("target-last");
    let run = build_into(&project, &last).success();
    let (reused, stored) = usage(&run);
    assert!(reused >= 3 && stored == 0, "{}", run.stderr);
    assert_eq!(results(&targets[0]), results(&last));
}

#[test]
fn a_cache_others_can_write_is_not_used() {
    let project = project();
    let cache = cache_dir(&project);
    fs::create_dir(&cache).unwrap();
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o777)).unwrap();
    let target = project.root().join("target-a");
    build_into(&project, &target)
        .success()
        .stderr_has("warning[W401]: not using the shared build cache")
        .stderr_has("is writable by other users (mode 777); fix it with `chmod go-w")
        .stderr_lacks("Shared build cache: reused");
    assert_eq!(fs::read_dir(&cache).unwrap().count(), 0, "nothing stored");
}

#[test]
fn the_cache_command_shows_and_clears() {
    let project = project();
    build_into(&project, &project.root().join("target-a")).success();
    let cache = cache_dir(&project).display().to_string();
    let env = [("CARGO_WASM_BUILD_CACHE", cache.as_str())];
    let stats = project
        .wasm_build_env(&["cache", "--stats"], &env)
        .success();
    assert!(
        stats
            .stdout
            .contains(&format!("Shared build cache: {cache}"))
    );
    for label in [
        "std facades",
        "build-dependencies (wasm)",
        "compiled modules",
    ] {
        let line = stats
            .stdout
            .lines()
            .find(|line| line.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in\n{}", stats.stdout));
        assert!(!line.contains(" 0 entries"), "{line}");
    }
    project
        .wasm_build_env(&["cache", "--clear"], &env)
        .success()
        .stdout_has("Removed ");
    assert!(entries(&cache_dir(&project)).is_empty());
    project
        .wasm_build_env(&["cache"], &env)
        .success()
        .stdout_has("0 entries");
    project
        .wasm_build_env(&["cache"], &[("CARGO_WASM_BUILD_CACHE", "off")])
        .success()
        .stdout_has("off");
}

#[test]
fn build_scripts_and_their_programs_cannot_write_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let cache_path = cache.path().join("artifacts");
    let shown = cache_path.display().to_string();
    let project = hostile(
        &format!(
            r#"
    attempt("plant", std::fs::write("{shown}/modules/planted", "x"));
    attempt("list", std::fs::read_dir("{shown}/modules"));
    let sh = |name: &str, script: &str| {{
        let result = std::process::Command::new("sh").arg("-c").arg(script).output();
        let result = result.map_err(|e| e.to_string()).and_then(|o| if o.status.success() {{ Ok(()) }} else {{ Err(String::from_utf8_lossy(&o.stderr).into_owned()) }});
        attempt(name, result)
    }};
    sh("sh-plant", "echo x > {shown}/modules/planted-by-sh");
    sh("sh-overwrite", "for f in {shown}/*/*; do echo x > $f || exit 1; done");
"#
        ),
        "[package.metadata.sandbox.allow.\"hostile@0.1.0\"]\nexec = [\"sh\"]\n",
    );
    let run = project
        .wasm_build_env(&["-v"], &[("CARGO_WASM_BUILD_CACHE", &shown)])
        .success();
    assert!(usage(&run).1 >= 2, "the build stored its artifacts");
    let before: Vec<_> = entries(&cache_path)
        .into_iter()
        .map(|entry| (entry.clone(), fs::read(&entry).unwrap()))
        .collect();
    // Again in a fresh target directory: this run's script sees a populated cache.
    fs::remove_dir_all(project.target()).unwrap();
    project
        .wasm_build_env(&["-v"], &[("CARGO_WASM_BUILD_CACHE", &shown)])
        .success();
    assert_failed(
        &report(&project),
        &["plant", "list", "sh-plant", "sh-overwrite"],
    );
    let after: Vec<_> = entries(&cache_path)
        .into_iter()
        .map(|entry| (entry.clone(), fs::read(&entry).unwrap()))
        .collect();
    assert_eq!(before, after, "the cache is untouched");
}

#[test]
fn the_cache_is_trimmed_to_its_bound_after_each_build() {
    let project = project();
    let cache = cache_dir(&project).display().to_string();
    let first = project.root().join("target-a");
    let run = project
        .wasm_build_env(
            &["-v", "--target-dir", &first.display().to_string()],
            &[
                ("CARGO_WASM_BUILD_CACHE", &cache),
                ("CARGO_WASM_BUILD_CACHE_SIZE", "1KiB"),
            ],
        )
        .success();
    assert!(usage(&run).1 >= 3, "{}", run.stderr);
    let left: u64 = entries(&cache_dir(&project))
        .iter()
        .map(|entry| fs::metadata(entry).unwrap().len())
        .sum();
    assert!(left <= 1024, "{left} bytes left");

    project
        .wasm_build_env(
            &[
                "--target-dir",
                &project.root().join("target-b").display().to_string(),
            ],
            &[
                ("CARGO_WASM_BUILD_CACHE", &cache),
                ("CARGO_WASM_BUILD_CACHE_SIZE", "lots"),
            ],
        )
        .success()
        .stderr_has("CARGO_WASM_BUILD_CACHE_SIZE must be a size such as `2GiB`");
}

/// Entries are machine code the build loads: a directory on the way to them that others
/// can write (`artifacts/twins` made world-writable, as an attacker sharing the machine
/// would want) makes its entries misses, said once with the fix. An entry planted there
/// with a matching checksum is never used, and once the directory is the user's alone
/// again its entries serve.
#[test]
fn entries_under_a_directory_others_can_write_are_not_used() {
    let project = project();
    let cache = cache_dir(&project);
    let run = build_into(&project, &project.root().join("target-a")).success();
    let (_, stored) = usage(&run);
    let twins = cache.join("twins");
    let twin = entries(&cache)
        .into_iter()
        .find(|entry| entry.starts_with(&twins))
        .expect("autocfg's twin is stored");
    let genuine = fs::read(&twin).unwrap();
    // What another user could write there: a well-formed entry, checksum and all.
    let payload = b"not an rlib: planted by someone else";
    let scratch = tempfile::tempdir().unwrap();
    let forger = wasm_build_cache::ArtifactCache::open(&scratch.path().join("c")).unwrap();
    let key = wasm_build_cache::Key::builder("planted").finish();
    forger
        .store_bytes(wasm_build_cache::Kind::Twin, &key, payload)
        .unwrap();
    let planted = fs::read(forger.root().join("twins").join(key.as_str())).unwrap();
    fs::write(&twin, &planted).unwrap();
    fs::set_permissions(&twins, fs::Permissions::from_mode(0o777)).unwrap();

    let second = project.root().join("target-b");
    let run = build_into(&project, &second).success();
    let warning = format!(
        "warning[W407]: the shared build cache was not trusted, and its entries there were compiled again instead: {} is writable by other users (mode 777), so its entries are not used; fix it with `chmod go-w {}`",
        twins.display(),
        twins.display()
    );
    assert_eq!(
        run.stderr.matches("warning[W407]").count(),
        1,
        "said once\n{}",
        run.stderr
    );
    assert!(run.stderr.contains(&warning), "{}", run.stderr);
    let (reused, _) = usage(&run);
    assert!(reused < stored, "the twin was not reused\n{}", run.stderr);
    assert_eq!(greeting(&second), "hello", "the build is the same");
    assert_eq!(
        fs::read(&twin).unwrap(),
        planted,
        "left for the user to judge"
    );

    // Fixed: the entry serves again (the genuine one, put back, so the build can use it).
    fs::write(&twin, &genuine).unwrap();
    fs::set_permissions(&twins, fs::Permissions::from_mode(0o700)).unwrap();
    let run = build_into(&project, &project.root().join("target-c")).success();
    assert_eq!(usage(&run), (stored, 0), "{}", run.stderr);
    assert!(!run.stderr.contains("W407"), "{}", run.stderr);

    // The compiled modules' directory, and one entry file, others can write: each is said
    // once (however many entries and processes met it), and only the facade is reused.
    let modules = cache.join("modules");
    let in_kind = |dir: &Path| {
        entries(&cache)
            .iter()
            .filter(|entry| entry.starts_with(dir))
            .count() as u64
    };
    let (module_count, twin_count) = (in_kind(&modules), in_kind(&twins));
    assert!(module_count >= 1, "the build script's module is stored");
    fs::set_permissions(&modules, fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(&twin, fs::Permissions::from_mode(0o666)).unwrap();
    let run = build_into(&project, &project.root().join("target-d")).success();
    assert_eq!(
        run.stderr.matches("warning[W407]").count(),
        2,
        "{}",
        run.stderr
    );
    for (path, mode) in [(&modules, "777"), (&twin, "666")] {
        let said = format!(
            "{} is writable by other users (mode {mode}), so its entries are not used; fix it with `chmod go-w {}`",
            path.display(),
            path.display()
        );
        assert!(run.stderr.contains(&said), "{said}\n{}", run.stderr);
    }
    assert_eq!(
        usage(&run).0,
        stored - module_count - twin_count,
        "{}",
        run.stderr
    );
    assert_eq!(greeting(&project.root().join("target-d")), "hello");

    fs::set_permissions(&modules, fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(&twin, fs::Permissions::from_mode(0o600)).unwrap();
    let run = build_into(&project, &project.root().join("target-e")).success();
    assert_eq!(usage(&run), (stored, 0), "{}", run.stderr);
}
