//! The shared-cache key of a guest twin: everything that determines its bytes, with the
//! target directory taken out so a twin compiled for one project serves every other.
//!
//! A twin is a function of its sources, its compile (arguments, compile-time
//! environment, working directory), the twins it links, the proc macros it expands,
//! files its build script generated (`OUT_DIR`) and the std facade. The key covers all of
//! them, or there is no key:
//! - sources are only covered by the arguments (their paths) when cargo treats them as
//!   immutable too: packages from a registry or a git checkout. A path dependency, a
//!   vendored or patched one gets no key and stays in its target directory;
//! - the facade, the twins it links, proc macros and `OUT_DIR` files by content: a twin
//!   compiled against one facade or dependency must not be handed out beside another
//!   (rustc would refuse it with E0460), and builds in two target directories may
//!   produce different bytes (paths of `OUT_DIR` files end up in the metadata);
//! - variables the native compile read through `env!`/`option_env!` (cargo's dep-info
//!   lists them) are covered with their values, and so are rustc's own `RUSTC_*`
//!   switches, which the replayed compile inherits.

#![allow(
    clippy::disallowed_methods,
    reason = "the twin key covers rustc's own RUSTC_* switches"
)]

use std::fs;
use std::path::{Path, PathBuf};

use wasm_build_cache::{Key, KeyBuilder};

use crate::invocation::{Extern, Invocation};
use crate::record::Record;

/// `OUT_DIR`s bigger than this are not hashed: the twin stays in its target directory.
const MAX_HASHED_OUT_DIR: u64 = 64 << 20;

/// What a twin's key is computed from.
pub(crate) struct TwinInputs<'a> {
    /// The library's native compile.
    pub record: &'a Record,
    /// The native library (its dep-info lies beside it).
    pub native: &'a Path,
    /// The guest compile, without `--emit`/`--out-dir`.
    pub guest: &'a Invocation,
    /// The digests of the twins it links: exactly what it is compiled against.
    pub linked: &'a [&'a str],
    /// The digest of the std facade (which names the rustc that compiled it).
    pub toolchain_key: &'a str,
    /// The profile directory (`target/debug`), replaced in paths.
    pub profile_dir: &'a Path,
    /// Where cargo keeps downloaded sources.
    pub cargo_home: Option<&'a Path>,
}

impl TwinInputs<'_> {
    /// The key, or `None` when some input cannot be covered (see the module docs).
    pub(crate) fn key(&self) -> Option<Key> {
        if !self.has_immutable_sources() {
            return None;
        }
        let profile = self.profile_dir.to_str()?;
        let relative = |text: &str| text.replace(profile, "<profile>");
        let mut key = Key::builder("twin");
        key.add(self.toolchain_key);
        add_compile(&mut key, self.guest, self.linked, &relative);
        key.add("env");
        let mut env: Vec<&(String, String)> = self.record.env.iter().collect();
        env.sort();
        for (name, value) in env {
            key.add(name).add(relative(value));
        }
        key.add("cwd").add(relative(self.record.cwd.to_str()?));
        add_rustc_env(&mut key);
        key.add("env-deps");
        for line in self.env_deps() {
            key.add(line);
        }
        key.add("proc-macros");
        for macro_path in self.proc_macros() {
            key.add(fs::read(macro_path).ok()?);
        }
        key.add("out-dir");
        if let Some(out_dir) = self.out_dir() {
            hash_tree(&mut key, &out_dir, &mut 0)?;
        }
        Some(key.finish())
    }

    /// Whether the library's package comes from a registry or git checkout, whose files
    /// cargo never expects to change.
    fn has_immutable_sources(&self) -> bool {
        let Some(home) = self.cargo_home else {
            return false;
        };
        let Some(manifest_dir) = self.env("CARGO_MANIFEST_DIR") else {
            return false;
        };
        wasm_build_contract::cargo::is_downloaded(home, Path::new(manifest_dir))
    }

    fn env(&self, name: &str) -> Option<&str> {
        self.record.var(name)
    }

    fn out_dir(&self) -> Option<PathBuf> {
        self.env("OUT_DIR").map(PathBuf::from)
    }

    /// `# env-dep:NAME=VALUE` lines of the native compile's dep-info, sorted.
    fn env_deps(&self) -> Vec<String> {
        let Some(stem) = self.native.file_stem().and_then(|stem| stem.to_str()) else {
            return Vec::new();
        };
        let dep_info = self
            .native
            .with_file_name(format!("{}.d", stem.strip_prefix("lib").unwrap_or(stem)));
        let text = fs::read_to_string(dep_info).unwrap_or_default();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|line| line.starts_with("# env-dep:"))
            .map(String::from)
            .collect();
        lines.sort();
        lines
    }

    /// The native proc macros the guest compile loads.
    fn proc_macros(&self) -> Vec<PathBuf> {
        self.guest
            .values("--extern")
            .filter_map(|value| Extern::parse(value).path)
            .filter(|path| !crate::invocation::is_rust_library_file(path))
            .collect()
    }
}

/// Adds every file under `dir` (relative name and contents) to `key`, in name order.
/// `None` when the tree cannot be read or passes [`MAX_HASHED_OUT_DIR`].
/// Adds what the key of every guest compile covers first: its arguments (paths made
/// `relative` to the profile directory) and the digests of the libraries it links.
pub(crate) fn add_compile(
    key: &mut KeyBuilder,
    guest: &Invocation,
    linked: &[&str],
    relative: &dyn Fn(&str) -> String,
) {
    key.add("args");
    for arg in guest.to_args() {
        key.add(relative(&arg));
    }
    key.add("linked");
    for linked in linked {
        key.add(linked);
    }
}

/// Adds rustc's own switches (`RUSTC_BOOTSTRAP`), which it reads from the environment
/// (a restored compile inherits them): every `RUSTC_*` variable but the wrappers.
pub(crate) fn add_rustc_env(key: &mut KeyBuilder) {
    key.add("rustc-env");
    let mut rustc_env: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| name.starts_with("RUSTC_") && !name.ends_with("WRAPPER"))
        .collect();
    rustc_env.sort();
    for (name, value) in rustc_env {
        key.add(name).add(value);
    }
}

fn hash_tree(key: &mut KeyBuilder, dir: &Path, total: &mut u64) -> Option<()> {
    let mut items: Vec<_> = fs::read_dir(dir).ok()?.collect::<Result<_, _>>().ok()?;
    items.sort_by_key(fs::DirEntry::file_name);
    for item in items {
        let kind = item.file_type().ok()?;
        key.add(item.file_name().as_encoded_bytes());
        if kind.is_dir() {
            hash_tree(key, &item.path(), total)?;
        } else {
            // A symlink is followed: the compile reads what it points to.
            let contents = fs::read(item.path()).ok()?;
            *total += contents.len() as u64;
            if *total > MAX_HASHED_OUT_DIR {
                return None;
            }
            key.add(contents);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        dir: tempfile::TempDir,
        record: Record,
        guest: Invocation,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let home = dir.path().join("cargo");
            let manifest_dir = home.join("registry/src/index.crates.io-1/cc-1.0.0");
            let profile = dir.path().join("target/debug");
            fs::create_dir_all(profile.join("deps")).unwrap();
            let record = Record {
                id: "1".into(),
                args: Vec::new(),
                cwd: manifest_dir.clone(),
                env: vec![
                    (
                        "CARGO_MANIFEST_DIR".into(),
                        manifest_dir.display().to_string(),
                    ),
                    ("CARGO_PKG_NAME".into(), "cc".into()),
                ],
            };
            let guest = Invocation::parse(&[
                "--crate-name".to_string(),
                "cc".into(),
                format!("{}/src/lib.rs", manifest_dir.display()),
                "-L".into(),
                format!("dependency={}/deps", profile.display()),
            ])
            .unwrap();
            Fixture { dir, record, guest }
        }

        fn profile(&self) -> PathBuf {
            self.dir.path().join("target/debug")
        }

        fn home(&self) -> PathBuf {
            self.dir.path().join("cargo")
        }

        fn key_with(&self, profile: &Path, linked: &[&str]) -> Option<Key> {
            let home = self.home();
            let native = profile.join("deps/libcc-1.rlib");
            TwinInputs {
                record: &self.record,
                native: &native,
                guest: &self.guest,
                linked,
                toolchain_key: "facade",
                profile_dir: profile,
                cargo_home: Some(&home),
            }
            .key()
        }

        fn key(&self) -> Option<Key> {
            self.key_with(&self.profile(), &[])
        }
    }

    #[test]
    fn registry_twins_get_a_key_that_does_not_name_the_target_directory() {
        let fixture = Fixture::new();
        let key = fixture.key().expect("registry package");
        let mut moved = Fixture::new();
        // The same compile in another target directory (and another temp dir for the
        // profile): only the profile path differs.
        let other_profile = moved.dir.path().join("target/debug");
        let text = |path: &Path| path.display().to_string();
        moved.guest = Invocation::parse(&[
            "--crate-name".to_string(),
            "cc".into(),
            format!(
                "{}/registry/src/index.crates.io-1/cc-1.0.0/src/lib.rs",
                text(&fixture.home())
            ),
            "-L".into(),
            format!("dependency={}/deps", text(&other_profile)),
        ])
        .unwrap();
        moved.record = fixture.record.clone();
        let home = fixture.home();
        let native = other_profile.join("deps/libcc-1.rlib");
        let moved_key = TwinInputs {
            record: &moved.record,
            native: &native,
            guest: &moved.guest,
            linked: &[],
            toolchain_key: "facade",
            profile_dir: &other_profile,
            cargo_home: Some(&home),
        }
        .key();
        assert_eq!(moved_key, Some(key));
    }

    #[test]
    fn path_packages_get_no_key() {
        let mut fixture = Fixture::new();
        fixture.record.env[0].1 = fixture
            .dir
            .path()
            .join("workspace/helper")
            .display()
            .to_string();
        assert_eq!(
            fixture.key(),
            None,
            "a path dependency can change under its name"
        );
        fixture.record.env[0].1 = fixture
            .home()
            .join("registry/src/../../../workspace")
            .display()
            .to_string();
        assert_eq!(fixture.key(), None, "`..` leaves the registry");
    }

    #[test]
    fn every_input_changes_the_key() {
        let mut fixture = Fixture::new();
        let base = fixture.key().unwrap();
        let differs = |key: Option<Key>| key.is_some_and(|key| key != base);

        fixture
            .record
            .env
            .push(("CARGO_FEATURE_X".into(), "1".into()));
        assert!(differs(fixture.key()), "compile environment");
        fixture.record.env.pop();
        assert_eq!(fixture.key(), Some(base.clone()));

        let linked = fixture.key_with(&fixture.profile(), &["digest-1"]);
        assert!(differs(linked.clone()), "a linked twin");
        assert_ne!(
            fixture.key_with(&fixture.profile(), &["digest-2"]),
            linked,
            "its bytes"
        );

        let deps = fixture.profile().join("deps");
        fs::write(deps.join("cc-1.d"), "# env-dep:CC_FLAVOR=gnu\n").unwrap();
        assert!(differs(fixture.key()), "a variable the compile read");
        fs::remove_file(deps.join("cc-1.d")).unwrap();

        let out = fixture.profile().join("build/cc-2/out");
        fs::create_dir_all(out.join("nested")).unwrap();
        fs::write(out.join("nested/consts.rs"), "pub const A: u8 = 1;").unwrap();
        fixture
            .record
            .env
            .push(("OUT_DIR".into(), out.display().to_string()));
        let first = fixture.key();
        assert!(differs(first.clone()), "generated files");
        fs::write(out.join("nested/consts.rs"), "pub const A: u8 = 2;").unwrap();
        assert!(
            differs(fixture.key()) && fixture.key() != first,
            "their contents"
        );
    }
}
