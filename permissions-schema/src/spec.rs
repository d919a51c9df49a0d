//! How grants name a package: `name@version`, or `<source>#name@version` for packages not
//! from crates.io.

use std::fmt;

/// A package spec as a grant names it, checked: an exact version, a crate name, and
/// optionally the source cargo's package id gives (git, another registry). Parsing is the
/// one place that knows the shape, so validation, matching by name and building specs
/// from cargo's ids agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageSpec<'a> {
    source: Option<&'a str>,
    name: &'a str,
    version: &'a str,
}

impl<'a> PackageSpec<'a> {
    /// Parses and checks `spec`; the error says what is wrong, for a diagnostic.
    pub fn parse(spec: &'a str) -> Result<Self, &'static str> {
        let (source, tail) = split_source(spec);
        let Some((name, version)) = tail.rsplit_once('@') else {
            return Err(
                "it needs `@version` (from git or another registry: `<source>#name@version`)",
            );
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("the name is not a crate name");
        }
        let core = version.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
        {
            return Err("the version must be exact (major.minor.patch), not a range");
        }
        Ok(PackageSpec {
            source,
            name,
            version,
        })
    }

    /// The name of the package a spec names, without checking the rest: what a grant
    /// for another version of the same crate has in common with this one.
    pub fn name_of(spec: &str) -> &str {
        let (_, tail) = split_source(spec);
        tail.rsplit_once('@').map_or(tail, |(name, _)| name)
    }

    /// The source part of a cargo package id or full spec (before `#`), or all of it.
    pub fn source_of(id: &str) -> &str {
        split_source(id).0.unwrap_or(id)
    }

    /// The crate name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The exact version.
    pub fn version(&self) -> &'a str {
        self.version
    }

    /// The source, for packages not from crates.io.
    pub fn source(&self) -> Option<&'a str> {
        self.source
    }
}

/// `<source>#tail` into its source and tail; a spec without `#` is all tail.
fn split_source(spec: &str) -> (Option<&str>, &str) {
    match spec.rsplit_once('#') {
        Some((source, tail)) => (Some(source), tail),
        None => (None, spec),
    }
}

impl fmt::Display for PackageSpec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(source) = self.source {
            write!(f, "{source}#")?;
        }
        write!(f, "{}@{}", self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_into_their_parts_and_print_back() {
        for text in [
            "cc@1.2.3",
            "openssl-sys@0.9.103+3.4.0",
            "git+https://github.com/gyscos/zstd-rs?rev=abc#zstd-sys@2.0.9",
        ] {
            assert_eq!(PackageSpec::parse(text).unwrap().to_string(), text);
        }
        let spec = PackageSpec::parse("git+https://host/repo#zstd-sys@2.0.9").unwrap();
        assert_eq!(
            (spec.source(), spec.name(), spec.version()),
            (Some("git+https://host/repo"), "zstd-sys", "2.0.9")
        );
        assert_eq!(
            PackageSpec::name_of("git+https://host/repo#zstd-sys@2.0.9"),
            "zstd-sys"
        );
        assert_eq!(PackageSpec::name_of("cc@1.0.0"), "cc");
        assert_eq!(
            PackageSpec::source_of("git+https://host/repo#1.0.0"),
            "git+https://host/repo"
        );
    }

    #[test]
    fn ranges_names_and_missing_versions_are_refused() {
        for (text, why) in [
            ("cc", "`@version`"),
            ("cc@1", "exact"),
            ("cc@^1.2.3", "exact"),
            ("c c@1.2.3", "crate name"),
            ("@1.2.3", "crate name"),
        ] {
            let err = PackageSpec::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
