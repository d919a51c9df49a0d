//! A rustc command line, split into options so it can be inspected and rewritten.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// Options of rustc that take a value, in every spelling cargo or a user's RUSTFLAGS may
/// use (`--opt value`, `--opt=value`, and for short options `-Xvalue`). Everything else is
/// a flag or the input file.
const VALUED_LONG: &[&str] = &[
    "--cfg",
    "--check-cfg",
    "--crate-type",
    "--crate-name",
    "--edition",
    "--emit",
    "--print",
    "--out-dir",
    "--explain",
    "--target",
    "--cap-lints",
    "--codegen",
    "--extern",
    "--sysroot",
    "--error-format",
    "--json",
    "--color",
    "--diagnostic-width",
    "--remap-path-prefix",
    "--env-set",
    "--allow",
    "--warn",
    "--deny",
    "--forbid",
    "--force-warn",
    "--crate-attr",
    "--extern-location",
    "--target-dir",
];
const VALUED_SHORT: &[&str] = &["-L", "-l", "-o", "-A", "-W", "-D", "-F", "-C", "-Z"];

/// One element of a rustc command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// An option with its value, the option in its canonical spelling (`--codegen` is
    /// `-C`).
    Opt(String, String),
    /// A flag without value (`-O`, `--test`, `-g`, `-vV`) or the input file.
    Plain(String),
}

/// A rustc command line, without the program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The parsed arguments, in order.
    pub args: Vec<Arg>,
}

/// A `--extern` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extern {
    /// Modifiers before the name (`noprelude:`, `priv:`), with their colon.
    pub modifiers: String,
    /// The crate name the dependent uses.
    pub name: String,
    /// The artifact, when given (`--extern proc_macro` has none).
    pub path: Option<PathBuf>,
}

impl Extern {
    /// Parses the value of a `--extern` option.
    pub fn parse(value: &str) -> Extern {
        let (spec, path) = match value.split_once('=') {
            Some((spec, path)) => (spec, Some(PathBuf::from(path))),
            None => (value, None),
        };
        let (modifiers, name) = match spec.rfind(':') {
            Some(colon) => (&spec[..=colon], &spec[colon + 1..]),
            None => ("", spec),
        };
        Extern {
            modifiers: modifiers.to_string(),
            name: name.to_string(),
            path,
        }
    }

    /// The argument's value again, with `path` as artifact.
    pub fn with_path(&self, path: &Path) -> String {
        format!("{}{}={}", self.modifiers, self.name, path.display())
    }
}

impl Invocation {
    /// Parses a command line.
    ///
    /// # Errors
    ///
    /// Fails when an option that needs a value ends the line.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut parsed = Vec::with_capacity(args.len());
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if let Some(opt) = canonical(arg) {
                let Some(value) = iter.next() else {
                    bail!("rustc option `{arg}` is missing its value");
                };
                parsed.push(Arg::Opt(opt.to_string(), value.clone()));
            } else if let Some((opt, value)) = joined(arg) {
                parsed.push(Arg::Opt(opt.to_string(), value.to_string()));
            } else {
                parsed.push(Arg::Plain(arg.clone()));
            }
        }
        Ok(Invocation { args: parsed })
    }

    /// The command line again, each option as two arguments.
    pub fn to_args(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.args.len() * 2);
        for arg in &self.args {
            match arg {
                Arg::Opt(opt, value) => {
                    out.push(opt.clone());
                    out.push(value.clone());
                }
                Arg::Plain(plain) => out.push(plain.clone()),
            }
        }
        out
    }

    /// Values of every occurrence of option `opt` (canonical spelling).
    pub fn values<'a>(&'a self, opt: &'a str) -> impl Iterator<Item = &'a str> + use<'a> {
        self.args.iter().filter_map(move |arg| match arg {
            Arg::Opt(name, value) if name == opt => Some(value.as_str()),
            _ => None,
        })
    }

    /// The last value of `opt`, as rustc uses the last one.
    pub fn value(&self, opt: &str) -> Option<&str> {
        self.args.iter().rev().find_map(|arg| match arg {
            Arg::Opt(name, value) if name == opt => Some(value.as_str()),
            _ => None,
        })
    }

    /// The value of codegen option `-C key=...`.
    pub fn codegen(&self, key: &str) -> Option<&str> {
        self.values("-C")
            .filter_map(|value| value.strip_prefix(key)?.strip_prefix('='))
            .last()
    }

    /// `--crate-name`.
    pub fn crate_name(&self) -> Option<&str> {
        self.value("--crate-name")
    }

    /// `-C extra-filename`, or the empty string.
    pub fn extra_filename(&self) -> &str {
        self.codegen("extra-filename").unwrap_or("")
    }

    /// `--out-dir`.
    pub fn out_dir(&self) -> Option<&Path> {
        self.value("--out-dir").map(Path::new)
    }

    /// Every crate type requested (`--crate-type a,b` may list several).
    pub fn crate_types(&self) -> Vec<&str> {
        self.values("--crate-type")
            .flat_map(|value| value.split(','))
            .collect()
    }

    /// The `--extern` arguments.
    pub fn externs(&self) -> Vec<Extern> {
        self.values("--extern").map(Extern::parse).collect()
    }

    /// The files of the Rust libraries `--extern` names (not proc macros): what a guest
    /// compile links in their stead.
    pub fn linked_libraries(&self) -> Vec<PathBuf> {
        self.externs()
            .into_iter()
            .filter_map(|external| external.path)
            .filter(|path| is_rust_library_file(path))
            .collect()
    }

    /// The input file: the one plain argument that is not a flag.
    pub fn input(&self) -> Option<&str> {
        self.args.iter().find_map(|arg| match arg {
            Arg::Plain(plain) if plain == "-" || !plain.starts_with('-') => Some(plain.as_str()),
            _ => None,
        })
    }

    /// Whether this compiles a build script: cargo names the crate `build_script_<stem>`
    /// and puts it in its own directory under `build/`.
    pub fn is_build_script(&self) -> bool {
        let named = self
            .crate_name()
            .is_some_and(|name| name.starts_with("build_script_"));
        let in_build_dir = self
            .out_dir()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == "build");
        named && in_build_dir && self.crate_types() == ["bin"]
    }

    /// Whether this compiles a library that a build script could link: an rlib.
    pub fn is_rust_library(&self) -> bool {
        let types = self.crate_types();
        !types.is_empty() && types.iter().all(|ty| *ty == "lib" || *ty == "rlib")
    }

    /// The artifact stem cargo gives a library: `lib<crate name><extra filename>`.
    pub fn library_stem(&self) -> Option<String> {
        Some(format!(
            "lib{}{}",
            self.crate_name()?,
            self.extra_filename()
        ))
    }

    /// Keeps only the arguments for which `keep` returns true.
    pub fn retain(&mut self, keep: impl FnMut(&Arg) -> bool) {
        self.args.retain(keep);
    }

    /// Appends an option.
    pub fn push(&mut self, opt: &str, value: impl Into<String>) {
        self.args.push(Arg::Opt(opt.to_string(), value.into()));
    }
}

/// The canonical name of `arg` when it is an option whose value is the next argument.
fn canonical(arg: &str) -> Option<&str> {
    if arg == "--codegen" {
        return Some("-C");
    }
    VALUED_LONG
        .iter()
        .chain(VALUED_SHORT)
        .find(|opt| **opt == arg)
        .copied()
}

/// `(option, value)` when `arg` carries its value: `--opt=value` or `-Xvalue`.
fn joined(arg: &str) -> Option<(&str, &str)> {
    if let Some((opt, value)) = arg.split_once('=') {
        if opt == "--codegen" {
            return Some(("-C", value));
        }
        if VALUED_LONG.contains(&opt) {
            return Some((opt, value));
        }
    }
    VALUED_SHORT
        .iter()
        .find_map(|opt| Some((*opt, arg.strip_prefix(opt).filter(|v| !v.is_empty())?)))
        .filter(|_| !arg.starts_with("--"))
}

/// Whether `path` is a Rust library a guest compile links (not a proc macro).
pub(crate) fn is_rust_library_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "rlib" || ext == "rmeta")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Invocation {
        let args: Vec<String> = line.split_whitespace().map(String::from).collect();
        Invocation::parse(&args).unwrap()
    }

    const BUILD_SCRIPT: &str = "--crate-name build_script_build --edition=2021 /r/serde-1.0/build.rs \
        --error-format=json --json=diagnostic-rendered-ansi,artifacts,future-incompat \
        --crate-type bin --emit=dep-info,link -C embed-bitcode=no --cfg feature=\"std\" \
        -C metadata=810dd62988ee32b2 -C extra-filename=-b27874d31978fc5e \
        --out-dir /t/debug/build/serde-b27874d31978fc5e -L dependency=/t/debug/deps \
        --extern cc=/t/debug/deps/libcc-6bc.rlib --cap-lints allow";

    #[test]
    fn recognises_a_build_script() {
        let inv = parse(BUILD_SCRIPT);
        assert!(inv.is_build_script());
        assert!(!inv.is_rust_library());
        assert_eq!(inv.crate_name(), Some("build_script_build"));
        assert_eq!(inv.extra_filename(), "-b27874d31978fc5e");
        assert_eq!(inv.input(), Some("/r/serde-1.0/build.rs"));
        assert_eq!(inv.value("--edition"), Some("2021"));
        assert_eq!(
            inv.externs(),
            [Extern {
                modifiers: String::new(),
                name: "cc".into(),
                path: Some("/t/debug/deps/libcc-6bc.rlib".into())
            }]
        );
    }

    #[test]
    fn a_binary_named_like_a_build_script_elsewhere_is_not_one() {
        let inv = parse(
            "--crate-name build_script_x src/main.rs --crate-type bin --out-dir /t/debug/deps",
        );
        assert!(!inv.is_build_script());
    }

    #[test]
    fn every_spelling_of_an_option_is_understood() {
        let inv = parse(
            "-Copt-level=3 --codegen debuginfo=2 --codegen=strip=none -Ldependency=/d --target=wasm32-wasip1 -lz src/lib.rs --crate-type=lib,rlib",
        );
        assert_eq!(inv.codegen("opt-level"), Some("3"));
        assert_eq!(inv.codegen("debuginfo"), Some("2"));
        assert_eq!(inv.codegen("strip"), Some("none"));
        assert_eq!(inv.value("-L"), Some("dependency=/d"));
        assert_eq!(inv.value("--target"), Some("wasm32-wasip1"));
        assert_eq!(inv.value("-l"), Some("z"));
        assert_eq!(inv.input(), Some("src/lib.rs"));
        assert!(inv.is_rust_library());
        assert_eq!(
            Invocation::parse(&inv.to_args()).unwrap(),
            inv,
            "round trip through the canonical spelling"
        );
    }

    #[test]
    fn extern_modifiers_and_bare_names() {
        let inv = parse("--extern noprelude:priv:core=/x/libcore.rlib --extern proc_macro");
        let externs = inv.externs();
        assert_eq!(externs[0].modifiers, "noprelude:priv:");
        assert_eq!(externs[0].name, "core");
        assert_eq!(
            externs[0].with_path(Path::new("/y/a.rlib")),
            "noprelude:priv:core=/y/a.rlib"
        );
        assert_eq!(externs[1].name, "proc_macro");
        assert_eq!(externs[1].path, None);
    }

    #[test]
    fn missing_value_is_an_error() {
        assert!(Invocation::parse(&["--crate-name".to_string()]).is_err());
    }
}
