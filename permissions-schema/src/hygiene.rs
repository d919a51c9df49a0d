//! What a grant may name under its plain key, and what needs a visibly dangerous one
//! (`dangerous-env`, `dangerous-read`, `dangerous-write`), so that a reviewer cannot miss
//! it: a pattern matching every variable or a secret's name, a path covering `/` or a
//! home directory.

use crate::values::EnvPattern;

/// Whether `name` looks like a secret's: a token, key, password or credential, or a
/// family of them (cloud and CI credentials, the ssh agent, registry tokens).
pub fn is_secret_shaped(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "_TOKEN",
        "_KEY",
        "_SECRET",
        "_PASSWORD",
        "_PASSWD",
        "_PASS",
        "_CREDENTIALS",
        "_CREDENTIAL",
        "_AUTH",
        "_PAT",
        "_SESSION",
        "_COOKIE",
    ];
    const PREFIXES: &[&str] = &[
        "AWS_",
        "AZURE_",
        "GOOGLE_",
        "GCP_",
        "GH_",
        "GITHUB_TOKEN",
        "SSH_",
        "GPG_",
        "CARGO_REGISTRY_",
        "CARGO_REGISTRIES_",
        "NPM_TOKEN",
        "VAULT_",
    ];
    const INFIXES: &[&str] = &[
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "CREDENTIAL",
        "PRIVATE_KEY",
        "API_KEY",
    ];
    let upper = name.to_ascii_uppercase();
    SUFFIXES.iter().any(|suffix| upper.ends_with(suffix))
        || PREFIXES.iter().any(|prefix| upper.starts_with(prefix))
        || INFIXES.iter().any(|infix| upper.contains(infix))
}

/// Why a well-formed pattern needs `dangerous-env` rather than `env` ([`Code::W005`](crate::Code::W005)),
/// with the help to show; `None` when `env` may hold it. Under `env` a prefix must end at
/// a word boundary (`CFLAGS_*`) and nothing may be secret-shaped.
pub fn env_problem(pattern: &EnvPattern) -> Option<(String, String)> {
    let pattern_text = pattern.as_str();
    match pattern.prefix() {
        Some("") => Some((
            "`env = [\"*\"]` would hand the build script every variable, secrets included".into(),
            "name the variables it needs; if you mean every one, write `dangerous-env = [\"*\"]`"
                .into(),
        )),
        Some(prefix) if !prefix.ends_with('_') => Some((
            format!(
                "`{pattern_text}` matches more than one family of names (`{prefix}HUB_TOKEN` too)"
            ),
            format!(
                "end the prefix at a word boundary: `{prefix}_*`; or write `dangerous-env = [\"{pattern_text}\"]`"
            ),
        )),
        Some(prefix) if is_secret_shaped(prefix) => Some((
            format!("`{pattern_text}` names variables that hold secrets"),
            format!("if the build script needs them, write `dangerous-env = [\"{pattern_text}\"]`"),
        )),
        None if is_secret_shaped(pattern_text) => Some((
            format!("`{pattern_text}` looks like a secret's name"),
            format!("if the build script needs it, write `dangerous-env = [\"{pattern_text}\"]`"),
        )),
        _ => None,
    }
}

/// Whether an `env` pattern (`dangerous` for `dangerous-env`) covers the variable `name`.
/// A prefix pattern under `env` never covers a secret-shaped name: `CFLAGS_*` does not hand
/// over `CFLAGS_API_TOKEN`.
pub fn env_covers(pattern: &str, name: &str, dangerous: bool) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix) && (dangerous || !is_secret_shaped(name)),
        None => pattern == name,
    }
}

/// A path as written in `read`, `write` or `link-search`, with `.` and `..` applied: a
/// relative path (to the package) may not leave the package. Absolute paths and
/// `$TOOLCHAIN/...` keep their root.
///
/// # Errors
///
/// Returns the message and help when a relative path leaves the package (a malformed
/// value, [`Code::W002`](crate::Code::W002)).
pub fn normalize_path(path: &str) -> Result<String, (String, String)> {
    let (root, rest) = if let Some(rest) = path.strip_prefix('/') {
        ("/", rest)
    } else if let Some(rest) = path.strip_prefix("$TOOLCHAIN") {
        ("$TOOLCHAIN/", rest.trim_start_matches('/'))
    } else {
        ("", path)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in rest.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() && root.is_empty() {
                    return Err((
                        format!("`{path}` leaves the package"),
                        "paths relative to the package stay inside it; write an absolute path \
                         for anything else"
                            .into(),
                    ));
                }
            }
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    Ok(match (root, joined.is_empty()) {
        ("", true) => ".".into(),
        ("$TOOLCHAIN/", true) => "$TOOLCHAIN".into(),
        (root, _) => format!("{root}{joined}"),
    })
}

/// Why a normalized `read` or `write` path needs its dangerous key ([`Code::W005`](crate::Code::W005)): it is
/// `/`, or a home
/// directory or one that holds them (`/home`, `/home/me`, `/root`, `/Users/me`).
pub fn path_problem(key: &str, path: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let covers_homes = path.starts_with('/')
        && matches!(
            parts.as_slice(),
            [] | ["home" | "Users"] | ["home" | "Users", _] | ["root"]
        );
    covers_homes.then(|| {
        (
            format!("`{path}` covers a home directory (keys, tokens, shell profiles)"),
            format!("name what the build needs inside it; if you mean it, write `dangerous-{key} = [\"{path}\"]`"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_patterns_match_whole_names_or_word_prefixes() {
        for fine in [
            "CC",
            "CFLAGS_*",
            "CC_x86_64_unknown_linux_gnu",
            "PKG_CONFIG_*",
            "OPENSSL_DIR",
        ] {
            assert_eq!(env_problem(&fine.parse().unwrap()), None, "{fine}");
        }
        for dangerous in [
            "*",
            "GIT*",
            "GITHUB_TOKEN",
            "AWS_*",
            "SSH_AUTH_SOCK",
            "CARGO_REGISTRY_TOKEN",
            "MY_API_KEY",
        ] {
            let (_, help) = env_problem(&dangerous.parse().unwrap()).unwrap();
            assert!(help.contains("dangerous-env"), "{dangerous}: {help}");
        }
        assert!(env_covers("CFLAGS_*", "CFLAGS_x86_64", false));
        assert!(!env_covers("CFLAGS_*", "CFLAGS_API_TOKEN", false));
        assert!(env_covers("*", "GITHUB_TOKEN", true));
        assert!(!env_covers("GIT_*", "GITHUB_TOKEN", false));
        assert!(!env_covers("CC", "CCX", false));
    }

    #[test]
    fn relative_paths_stay_in_the_package() {
        assert_eq!(normalize_path("include/../src/./x").unwrap(), "src/x");
        assert_eq!(normalize_path("/usr/../opt/x/").unwrap(), "/opt/x");
        assert_eq!(
            normalize_path("$TOOLCHAIN/lib/../bin").unwrap(),
            "$TOOLCHAIN/bin"
        );
        assert_eq!(normalize_path("a/..").unwrap(), ".");
        for leaving in ["..", "../../..", "src/../../x"] {
            assert!(
                normalize_path(leaving)
                    .unwrap_err()
                    .0
                    .contains("leaves the package")
            );
        }
    }

    #[test]
    fn paths_covering_homes_are_dangerous() {
        for dangerous in ["/", "/home", "/home/me", "/root", "/Users/me"] {
            assert!(path_problem("read", dangerous).is_some(), "{dangerous}");
        }
        for fine in ["/home/me/src/lib", "/usr/include", "/opt/x", "include"] {
            assert!(path_problem("read", fine).is_none(), "{fine}");
        }
    }
}
