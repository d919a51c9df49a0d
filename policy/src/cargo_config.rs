//! The names in the `[env]` table of the cargo configuration a build runs under.
//!
//! Cargo sets those variables for build scripts itself (with its own `force` and
//! `relative` rules, so the stand-in takes the values from its environment as cargo
//! computed them). What the sandbox needs is only which names the consumer wrote there:
//! those pass to every build script as they would natively. Cargo reads configuration
//! from `.cargo/config.toml` (or `.cargo/config`) in the directory it runs in and every
//! parent, from `$CARGO_HOME/config.toml`, and from `--config` on its command line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item};

use crate::error::PolicyError;

/// The `[env]` names of the configuration cargo reads when it runs in `cwd` with
/// `cargo_args`, given `cargo_home`.
///
/// # Errors
///
/// Fails when a configuration file exists but cannot be read or parsed, or a `--config`
/// value is neither a file nor TOML: cargo would refuse it too, and guessing would hide
/// variables from build scripts.
pub fn env_names(
    cwd: &Path,
    cargo_home: Option<&Path>,
    cargo_args: &[String],
) -> Result<BTreeSet<String>, PolicyError> {
    let mut names = BTreeSet::new();
    for file in config_files(cwd, cargo_home) {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(PolicyError::Read { path: file, source }),
        };
        let what = || format!("the cargo configuration {}", file.display());
        names.extend(env_table_names(&text, what)?);
    }
    for value in config_args(cargo_args) {
        let path = cwd.join(&value);
        let text = if value.ends_with(".toml") && path.is_file() {
            std::fs::read_to_string(&path).map_err(|source| PolicyError::Read { path, source })?
        } else {
            value.clone()
        };
        names.extend(env_table_names(&text, || format!("`--config {value}`"))?);
    }
    Ok(names)
}

/// Whether the configuration cargo reads when it runs in `cwd` with `cargo_args` names
/// its compiler (`build.rustc`, in a file or a `--config` value): the tool then cannot
/// tell which toolchain cargo runs without redoing cargo's path rules, and leaves the
/// compiler's checks to the compile. Unreadable files say nothing here (`env_names`
/// reports them).
pub fn names_rustc(cwd: &Path, cargo_home: Option<&Path>, cargo_args: &[String]) -> bool {
    let has_rustc = |text: &str| {
        text.parse::<DocumentMut>().is_ok_and(|document| {
            document
                .get("build")
                .and_then(|build| build.get("rustc"))
                .is_some()
        })
    };
    let in_files = config_files(cwd, cargo_home)
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .any(|text| has_rustc(&text));
    in_files
        || config_args(cargo_args).iter().any(|value| {
            let path = cwd.join(value);
            match std::fs::read_to_string(&path) {
                Ok(text) if value.ends_with(".toml") => has_rustc(&text),
                _ => has_rustc(value),
            }
        })
}

/// Every file cargo may read, nearest first.
fn config_files(cwd: &Path, cargo_home: Option<&Path>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = cwd
        .ancestors()
        .flat_map(|dir| {
            let dot_cargo = dir.join(".cargo");
            [dot_cargo.join("config.toml"), dot_cargo.join("config")]
        })
        .collect();
    if let Some(home) = cargo_home {
        files.extend([home.join("config.toml"), home.join("config")]);
    }
    files.dedup();
    files
}

/// The values of `--config` before a `--`.
fn config_args(cargo_args: &[String]) -> Vec<String> {
    let mut values = Vec::new();
    let mut args = cargo_args.iter().take_while(|arg| *arg != "--");
    while let Some(arg) = args.next() {
        if arg == "--config" {
            values.extend(args.next().cloned());
        } else if let Some(value) = arg.strip_prefix("--config=") {
            values.push(value.to_string());
        }
    }
    values
}

/// The keys of the `env` table of one TOML document (a file, or a `--config` value such
/// as `env.CFLAGS="-O1"`).
fn env_table_names(text: &str, what: impl FnOnce() -> String) -> Result<Vec<String>, PolicyError> {
    let document: DocumentMut = text.parse().map_err(|source| PolicyError::Toml {
        what: what(),
        source,
    })?;
    let Some(env) = document.get("env").and_then(Item::as_table_like) else {
        return Ok(Vec::new());
    };
    Ok(env.iter().map(|(name, _)| name.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn names_come_from_every_level_the_home_and_the_command_line() {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("ws/member");
        let home = root.path().join("cargo-home");
        write(
            &root.path().join("ws/.cargo/config.toml"),
            "[env]\nCFLAGS = \"-O1\"\nTOOL = { value = \"bin/tool\", relative = true }\n",
        );
        write(&project.join(".cargo/config"), "env.MEMBER_ONLY = \"1\"\n");
        write(
            &home.join("config.toml"),
            "[env]\nFROM_HOME = { value = \"x\", force = true }\n",
        );
        write(
            &root.path().join("elsewhere/.cargo/config.toml"),
            "[env]\nNOT_READ = \"1\"\n",
        );
        write(&project.join("extra.toml"), "[env]\nFROM_FILE = \"1\"\n");
        let args = [
            "--release",
            "--config",
            "env.FROM_ARG=\"1\"",
            "--config=extra.toml",
            "--",
            "--config",
            "env.AFTER_DASHES=\"1\"",
        ]
        .map(String::from);
        let names = env_names(&project, Some(&home), &args).unwrap();
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            [
                "CFLAGS",
                "FROM_ARG",
                "FROM_FILE",
                "FROM_HOME",
                "MEMBER_ONLY",
                "TOOL"
            ]
        );
    }

    #[test]
    fn a_configured_compiler_is_noticed_in_files_and_on_the_command_line() {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("ws");
        std::fs::create_dir_all(&project).unwrap();
        assert!(!names_rustc(&project, None, &[]));
        let args = ["--config", "build.rustc=\"/opt/rust/bin/rustc\""].map(String::from);
        assert!(names_rustc(&project, None, &args));
        write(
            &root.path().join(".cargo/config.toml"),
            "[build]\nrustc = \"/opt/rust/bin/rustc\"\n",
        );
        assert!(names_rustc(&project, None, &[]));
    }

    #[test]
    fn a_broken_configuration_is_an_error_not_an_empty_table() {
        let root = tempfile::tempdir().unwrap();
        write(&root.path().join(".cargo/config.toml"), "[env\n");
        let err = env_names(root.path(), None, &[]).unwrap_err();
        assert!(format!("{err:#}").contains("failed to parse the cargo configuration"));
        let args = ["--config", "env.=broken"].map(String::from);
        let other = tempfile::tempdir().unwrap();
        let err = env_names(other.path(), None, &args).unwrap_err();
        assert!(format!("{err:#}").contains("failed to parse `--config env.=broken`"));
    }
}
