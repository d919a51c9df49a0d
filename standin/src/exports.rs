//! Paths a build script's dependencies hand it through `links` metadata.
//!
//! A `-sys` crate's build script prints `cargo:include=<dir>` and its dependents' scripts
//! get `DEP_<LINKS>_INCLUDE`; cxx prints the path of `cxx.h` in its own sources, and
//! cxx-build copies it. The dependent's script must be able to read what it was handed, or
//! it fails or silently behaves differently than natively. But the value is whatever the
//! exporting script printed, so it is only honoured where a dependency could legitimately
//! point: a build script's `OUT_DIR`, the sources of a downloaded dependency, or a
//! system directory. Never the home directory, `/etc`, or the target directory as a whole.

use std::path::{Component, Path, PathBuf};

use wasm_build_jail::SYSTEM_READ_EXEC;

/// The directories to open read-only for a script whose environment is `env` and whose
/// `OUT_DIR` is `out_dir`; `cargo_home` holds the downloaded sources. A file is
/// represented by its directory.
pub fn exported_dirs(
    env: &[(String, String)],
    out_dir: &Path,
    cargo_home: Option<&Path>,
) -> Vec<PathBuf> {
    let roots = Roots::new(out_dir, cargo_home);
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (name, value) in env {
        if !name.starts_with("DEP_") || !Path::new(value).is_absolute() {
            continue;
        }
        let Ok(resolved) = Path::new(value).canonicalize() else {
            continue;
        };
        let dir = if resolved.is_dir() {
            resolved
        } else {
            match resolved.parent() {
                Some(parent) => parent.to_path_buf(),
                None => continue,
            }
        };
        if roots.allows(&dir) && !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// Where exported paths may lie, resolved.
struct Roots {
    /// `<profile>/build`: each `<pkg>-<hash>/out` below it is an `OUT_DIR`.
    build_dir: Option<PathBuf>,
    /// `registry/src` and `git/checkouts`: `<source>/<package>` below each is a package.
    sources: Vec<PathBuf>,
    /// The script's own `OUT_DIR`, open already.
    own_out_dir: Option<PathBuf>,
}

impl Roots {
    fn new(out_dir: &Path, cargo_home: Option<&Path>) -> Self {
        let resolve = |path: &Path| path.canonicalize().ok();
        let build_dir = out_dir.parent().and_then(Path::parent).and_then(resolve);
        let sources = cargo_home
            .map(|home| {
                wasm_build_contract::cargo::downloaded_sources(home)
                    .iter()
                    .filter_map(|dir| resolve(dir))
                    .collect()
            })
            .unwrap_or_default();
        Roots {
            build_dir,
            sources,
            own_out_dir: resolve(out_dir),
        }
    }

    fn allows(&self, dir: &Path) -> bool {
        if self
            .own_out_dir
            .as_deref()
            .is_some_and(|own| dir.starts_with(own))
        {
            return false;
        }
        let in_out_dir = self.build_dir.as_deref().is_some_and(|build| {
            dir.strip_prefix(build)
                .is_ok_and(|rest| nth_is(rest, 1, "out"))
        });
        let in_sources = self.sources.iter().any(|root| {
            dir.strip_prefix(root)
                .is_ok_and(|rest| rest.components().count() >= 2)
        });
        let in_system = SYSTEM_READ_EXEC
            .iter()
            .map(Path::new)
            .filter(|root| !root.starts_with("/etc"))
            .any(|root| {
                dir.strip_prefix(root)
                    .is_ok_and(|rest| rest.components().count() >= 1)
            });
        in_out_dir || in_sources || in_system
    }
}

/// Whether the `index`th component of `path` is the plain name `name`.
fn nth_is(path: &Path, index: usize, name: &str) -> bool {
    path.components()
        .nth(index)
        .is_some_and(|component| component == Component::Normal(name.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    struct Layout {
        _root: tempfile::TempDir,
        home: PathBuf,
        build: PathBuf,
        out_dir: PathBuf,
    }

    fn layout() -> Layout {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().canonicalize().unwrap();
        let home = base.join("cargo-home");
        let build = base.join("target/debug/build");
        let out_dir = build.join("me-1/out");
        for dir in [
            home.join("registry/src/index/cxx-1.0.0/include"),
            home.join(".ssh"),
            build.join("hdr-2/out/include"),
            out_dir.clone(),
        ] {
            fs::create_dir_all(dir).unwrap();
        }
        fs::write(home.join("registry/src/index/cxx-1.0.0/include/cxx.h"), "").unwrap();
        fs::write(home.join(".ssh/id_rsa"), "").unwrap();
        Layout {
            _root: root,
            home,
            build,
            out_dir,
        }
    }

    fn dep(name: &str, value: &Path) -> (String, String) {
        (name.to_string(), value.display().to_string())
    }

    #[test]
    fn out_dirs_sources_and_system_dirs_are_honoured() {
        let l = layout();
        let env = [
            dep("DEP_HDR_INCLUDE", &l.build.join("hdr-2/out/include")),
            dep(
                "DEP_CXXBRIDGE1_HEADER",
                &l.home.join("registry/src/index/cxx-1.0.0/include/cxx.h"),
            ),
            dep("DEP_Z_INCLUDE", Path::new("/usr/include")),
            dep(
                "DEP_HDR_AGAIN",
                &l.build.join("hdr-2/out/include/../include"),
            ),
        ];
        assert_eq!(
            exported_dirs(&env, &l.out_dir, Some(&l.home)),
            vec![
                l.build.join("hdr-2/out/include"),
                l.home.join("registry/src/index/cxx-1.0.0/include"),
                PathBuf::from("/usr/include"),
            ]
        );
    }

    #[test]
    fn anything_else_a_dependency_names_is_ignored() {
        let l = layout();
        let env = [
            dep("DEP_EVIL_SSH", &l.home.join(".ssh/id_rsa")),
            dep("DEP_EVIL_HOME", &l.home),
            dep("DEP_EVIL_BUILD", &l.build),
            dep("DEP_EVIL_SCRIPTS", &l.build.join("hdr-2")),
            dep("DEP_EVIL_UP", &l.build.join("hdr-2/out/../..")),
            dep("DEP_EVIL_REGISTRY", &l.home.join("registry/src")),
            dep("DEP_EVIL_ETC", Path::new("/etc")),
            dep("DEP_EVIL_USR", Path::new("/usr")),
            dep("DEP_EVIL_RELATIVE", Path::new("include")),
            dep("DEP_OWN", &l.out_dir),
            dep("NOT_DEP", &l.build.join("hdr-2/out/include")),
        ];
        assert_eq!(
            exported_dirs(&env, &l.out_dir, Some(&l.home)),
            Vec::<PathBuf>::new()
        );
    }
}
