//! What a grant may name under its plain key, and what needs a visibly dangerous one
//! (`dangerous-env`, `dangerous-read`, `dangerous-write`), so that a reviewer cannot miss
//! it: a pattern matching every variable or a secret's name; a path covering `/` or a
//! home directory, inside the user's, cargo's or rustup's home, or reaching a secret's
//! usual place (`.ssh`, `.aws`, cargo's `credentials.toml`) wherever it is.
//!
//! The rules are pure: the homes and the trees that are the consumer's own are handed in
//! ([`PathRules`]), never read from the environment here.

use std::path::Path;

use crate::capability::Capability;
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
    if let Some(refused) = tilde_problem(path) {
        return Err(refused);
    }
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

/// Why a path that starts with `~` is refused: a shell would expand it, the sandbox does
/// not. Kept literal it would name a directory called `~` inside the package, granting
/// nothing the writer meant (`read = ["~/.ssh"]` would pass review and read nothing, or
/// something else); expanded, the same manifest would grant another directory on every
/// machine and CI runner, unseen by its reviewer. So it is an error ([`Code::W002`]) that
/// asks for the path as it is on this machine.
///
/// [`Code::W002`]: crate::Code::W002
fn tilde_problem(path: &str) -> Option<(String, String)> {
    let first = path.split('/').next().unwrap_or_default();
    first.starts_with('~').then(|| {
        (
            format!("`{path}` starts with `~`, which is not expanded"),
            "write the absolute path (`~` and `$HOME` are never expanded, so a grant means \
             the same on every machine); a path inside your home goes under `dangerous-read` \
             or `dangerous-write`"
                .to_string(),
        )
    })
}

/// Where secrets live by convention, wherever the directory holding them is: a path
/// that is one of these, or is inside one, or whose components end in one, needs its
/// dangerous key. Each entry is a run of path components, with what it holds.
pub const SECRET_PLACES: &[(&[&str], &str)] = &[
    // Private keys, and `known_hosts`/`config` that name every host the user reaches.
    (&[".ssh"], "ssh keys"),
    // `credentials` and `config` with the access keys of every AWS account.
    (&[".aws"], "AWS credentials"),
    // Private keys and the trust database of GnuPG.
    (&[".gnupg"], "GnuPG keys"),
    // `config.json` holds registry logins (base64 passwords, credential helpers).
    (&[".docker"], "container registry logins"),
    // `config` holds cluster certificates and bearer tokens.
    (&[".kube"], "Kubernetes credentials"),
    // `hosts.yml` of the GitHub CLI holds an OAuth token with repository rights.
    (&[".config", "gh"], "a GitHub token"),
    // Application default credentials and refresh tokens of the Google Cloud CLI.
    (&[".config", "gcloud"], "Google Cloud credentials"),
    // Access tokens of the Azure CLI.
    (&[".azure"], "Azure credentials"),
    // Cargo's registry tokens (`$CARGO_HOME/credentials.toml`, `credentials` before 1.39),
    // also AWS's `credentials` and other tools' files of the same name.
    (&["credentials"], "registry or cloud credentials"),
    (&["credentials.toml"], "registry tokens"),
    // Logins that curl, git and ftp send to any host named in it.
    (&[".netrc"], "network logins"),
    // Passwords git's `store` helper keeps in clear text.
    (&[".git-credentials"], "git passwords"),
    // PostgreSQL passwords.
    (&[".pgpass"], "database passwords"),
    // npm and PyPI publish tokens.
    (&[".npmrc"], "npm tokens"),
    (&[".pypirc"], "PyPI tokens"),
    // The pass(1) password store.
    (&[".password-store"], "passwords"),
];

/// Which home a [`PathRules`] knows of, for the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HomeKind {
    /// `$HOME`: keys, tokens, shell profiles, everything of the user's.
    User,
    /// `CARGO_HOME`: registry tokens, installed programs, cargo's configuration.
    Cargo,
    /// `RUSTUP_HOME`: the toolchains every build runs.
    Rustup,
}

impl HomeKind {
    fn describe(self) -> &'static str {
        match self {
            HomeKind::User => "your home directory (keys, tokens, shell profiles)",
            HomeKind::Cargo => {
                "cargo's home (registry tokens, installed programs, cargo's configuration)"
            }
            HomeKind::Rustup => "rustup's home (the toolchains every build runs)",
        }
    }
}

/// Why a path needs its dangerous key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathHazard {
    /// It is, or is inside, or ends in, a place where secrets live ([`SECRET_PLACES`]).
    Secret {
        /// The place as written (`.config/gh`).
        place: String,
        /// What is kept there.
        holds: &'static str,
    },
    /// It is `/`, `/home`, a home directory, or a directory that holds one of the homes
    /// the rules know.
    CoversHomes,
    /// It is inside a home the rules know, and not inside the consumer's own trees.
    InsideHome {
        /// Which home.
        kind: HomeKind,
        /// The home's path.
        home: String,
    },
}

/// What decides whether a normalized `read` or `write` path needs its dangerous key
/// ([`Code::W005`](crate::Code::W005)).
///
/// Without homes (the [`Default`]) only what is dangerous on any machine counts: `/`,
/// `/home`, `/home/<user>`, `/root`, `/Users/<user>`, and the places of
/// [`SECRET_PLACES`] anywhere. With the homes of this machine (`$HOME`, `CARGO_HOME`,
/// `RUSTUP_HOME`), a path anywhere inside one counts too, and so does one that holds one,
/// except inside the consumer's own trees (the workspace, the target directory, the
/// directories of the packages being built): a project in `~/src/app` grants its own
/// files under the plain keys. Secret places count even there.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PathRules {
    homes: Vec<(HomeKind, String)>,
    own: Vec<String>,
}

impl PathRules {
    /// Adds a home; a relative path or `/` (a container's `HOME=/`) adds nothing: every
    /// path would be inside it, and `/` is dangerous anyway.
    #[must_use]
    pub fn with_home(mut self, kind: HomeKind, path: &Path) -> Self {
        if let Some(path) = absolute_normal(path).filter(|path| path != "/") {
            self.homes.push((kind, path));
        }
        self
    }

    /// Adds a tree that is the consumer's own (add the homes first): paths inside it need
    /// no dangerous key for being inside a home that holds the tree. `/`, a home itself, a
    /// directory holding every home (`/home`) or a secret place adds nothing. A tree may
    /// hold a home (a CI job's `CARGO_HOME=$PWD/.cargo`): what is inside that home still
    /// needs the dangerous key.
    #[must_use]
    pub fn with_own_tree(mut self, path: &Path) -> Self {
        if let Some(path) = absolute_normal(path)
            && !covers_homes_anywhere(Path::new(&path))
            && !self.homes.iter().any(|(_, home)| *home == path)
            && secret_place(&path).is_none()
            && !self.own.contains(&path)
        {
            self.own.push(path);
        }
        self
    }

    /// Why the normalized path (as [`normalize_path`] writes it) needs its dangerous key,
    /// or `None` when the plain key may hold it. A relative path (inside its package) or
    /// one under `$TOOLCHAIN` can only reach a secret place.
    pub fn hazard(&self, path: &str) -> Option<PathHazard> {
        let hazard = self.hazard_ignoring_own(path)?;
        match &hazard {
            // Exempt when one of the consumer's trees holds the path and lies inside the
            // innermost home holding it (so the tree does not hold that home).
            PathHazard::InsideHome { home, .. }
                if self.own.iter().any(|tree| {
                    Path::new(path).starts_with(tree)
                        && Path::new(tree).starts_with(home)
                        && tree != home
                }) =>
            {
                None
            }
            _ => Some(hazard),
        }
    }

    fn hazard_ignoring_own(&self, path: &str) -> Option<PathHazard> {
        if let Some((place, holds)) = secret_place(path) {
            return Some(PathHazard::Secret { place, holds });
        }
        if !path.starts_with('/') {
            return None;
        }
        let path = Path::new(path);
        if covers_homes_anywhere(path)
            || self
                .homes
                .iter()
                .any(|(_, home)| Path::new(home).starts_with(path))
        {
            return Some(PathHazard::CoversHomes);
        }
        // The innermost home holding the path: cargo's home inside the user's is cargo's.
        self.homes
            .iter()
            .filter(|(_, home)| path.starts_with(home))
            .max_by_key(|(_, home)| home.len())
            .map(|(kind, home)| PathHazard::InsideHome {
                kind: *kind,
                home: home.clone(),
            })
    }

    /// Why the normalized path under `key` (`read` or `write`) needs `dangerous-{key}`,
    /// as the message and help of a [`Code::W005`](crate::Code::W005), or `None`.
    pub fn problem(&self, key: &str, path: &str) -> Option<(String, String)> {
        let message = match self.hazard(path)? {
            PathHazard::Secret { place, holds } => {
                format!("`{path}` reaches `{place}`, where {holds} are kept")
            }
            PathHazard::CoversHomes => {
                format!("`{path}` covers a home directory (keys, tokens, shell profiles)")
            }
            PathHazard::InsideHome { kind, home } => {
                format!("`{path}` is inside {} `{home}`", kind.describe())
            }
        };
        Some((
            message,
            format!(
                "name what the build needs elsewhere; if you mean it, write `dangerous-{key} = [{}]`",
                crate::toml_string(path)
            ),
        ))
    }

    /// `capability` under the key a grant of it needs: a `read` or `write` of a path these
    /// rules find dangerous becomes `dangerous-read` or `dangerous-write`; anything else
    /// is returned as it is. What `approve` writes goes through this, so it never writes a
    /// home or a secret under a plain key.
    pub fn grant_key(&self, capability: Capability) -> Capability {
        match capability {
            Capability::Read(path) if self.hazard(&path).is_some() => {
                Capability::DangerousRead(path)
            }
            Capability::Write(path) if self.hazard(&path).is_some() => {
                Capability::DangerousWrite(path)
            }
            other => other,
        }
    }
}

/// What the table parser asks (`parse_table` takes them as a parameter): these rules.
impl crate::tables::ValueRules for PathRules {
    fn normalize_path(&self, path: &str) -> Result<String, (String, String)> {
        normalize_path(path)
    }

    fn env_problem(&self, pattern: &EnvPattern) -> Option<(String, String)> {
        env_problem(pattern)
    }

    fn path_problem(&self, key: &str, path: &str) -> Option<(String, String)> {
        self.problem(key, path)
    }
}

/// `path` as [`normalize_path`] writes it, when it is absolute and valid UTF-8.
fn absolute_normal(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    text.starts_with('/')
        .then(|| normalize_path(text).ok())
        .flatten()
}

/// The place of [`SECRET_PLACES`] that `path` is, is inside, or holds as its last
/// components, written as components joined by `/`, with what it holds.
fn secret_place(path: &str) -> Option<(String, &'static str)> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    SECRET_PLACES.iter().find_map(|(place, holds)| {
        parts
            .windows(place.len())
            .any(|window| window == *place)
            .then(|| (place.join("/"), *holds))
    })
}

/// Whether the absolute `path` is `/` or covers the homes of any machine: `/home`,
/// `/home/<user>`, `/root`, `/Users`, `/Users/<user>`.
fn covers_homes_anywhere(path: &Path) -> bool {
    let parts: Vec<&str> = path
        .to_str()
        .unwrap_or("/")
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    matches!(
        parts.as_slice(),
        [] | ["home" | "Users"] | ["home" | "Users", _] | ["root"]
    )
}

/// Why a normalized `read` or `write` path needs its dangerous key on any machine
/// ([`Code::W005`](crate::Code::W005)): it is `/`, or a home directory or one that holds
/// them (`/home`, `/home/me`, `/root`, `/Users/me`), or it reaches a secret's usual place
/// ([`SECRET_PLACES`]). [`PathRules::problem`] also knows this machine's homes.
pub fn path_problem(key: &str, path: &str) -> Option<(String, String)> {
    PathRules::default().problem(key, path)
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
        for tilde in ["~", "~/.ssh", "~root/x", "~/"] {
            let (message, help) = normalize_path(tilde).unwrap_err();
            assert!(
                message.contains("starts with `~`, which is not expanded"),
                "{tilde}"
            );
            assert!(help.contains("write the absolute path"), "{tilde}");
        }
        assert_eq!(
            normalize_path("a/~b").unwrap(),
            "a/~b",
            "only a leading `~`"
        );
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

    /// The rules of a machine whose user `me` keeps cargo's home in the usual place,
    /// rustup's elsewhere, and works on a project in `~/src/app`.
    fn machine() -> PathRules {
        PathRules::default()
            .with_home(HomeKind::User, Path::new("/home/me"))
            .with_home(HomeKind::Cargo, Path::new("/home/me/.cargo"))
            .with_home(HomeKind::Rustup, Path::new("/opt/rustup/"))
            .with_own_tree(Path::new("/home/me/src/app"))
            .with_own_tree(Path::new(
                "/home/me/.cargo/registry/src/index/zstd-sys-2.0.0",
            ))
    }

    #[test]
    fn paths_inside_a_home_are_dangerous() {
        let rules = machine();
        let inside = |path: &str| match rules.hazard(path) {
            Some(PathHazard::InsideHome { kind, .. }) => Some(kind),
            _ => None,
        };
        assert_eq!(inside("/home/me/Documents"), Some(HomeKind::User));
        assert_eq!(inside("/home/me/.bashrc"), Some(HomeKind::User));
        assert_eq!(inside("/home/me/.cargo/bin"), Some(HomeKind::Cargo));
        assert_eq!(inside("/home/me/src/other"), Some(HomeKind::User));
        assert_eq!(inside("/opt/rustup/toolchains"), Some(HomeKind::Rustup));
        assert_eq!(
            inside("/home/me/.cargo/registry/src/index/other-1.0.0"),
            Some(HomeKind::Cargo),
            "another crate's directory that is not in the graph"
        );
        // The homes themselves, and what holds them.
        for covering in ["/home/me", "/home/me/.cargo", "/opt/rustup", "/opt", "/"] {
            assert_eq!(
                rules.hazard(covering),
                Some(PathHazard::CoversHomes),
                "{covering}"
            );
        }
        let (message, help) = rules.problem("read", "/opt/rustup/toolchains").unwrap();
        assert_eq!(
            message,
            "`/opt/rustup/toolchains` is inside rustup's home (the toolchains every build runs) `/opt/rustup`"
        );
        assert_eq!(
            help,
            "name what the build needs elsewhere; if you mean it, write `dangerous-read = [\"/opt/rustup/toolchains\"]`"
        );
    }

    #[test]
    fn the_consumers_own_trees_inside_a_home_are_not() {
        let rules = machine();
        for fine in [
            "/home/me/src/app",
            "/home/me/src/app/vendor/include",
            "/home/me/src/app/target/debug/build/x-1/out",
            "/home/me/.cargo/registry/src/index/zstd-sys-2.0.0/zstd/lib",
            "/usr/include",
            "include",
            "$TOOLCHAIN/lib",
        ] {
            assert_eq!(rules.hazard(fine), None, "{fine}");
        }
        assert_eq!(
            rules.hazard("/home/me/src"),
            Some(PathHazard::InsideHome {
                kind: HomeKind::User,
                home: "/home/me".into()
            }),
            "the directory holding the workspace is not the workspace"
        );
        // A tree that is a home, or holds one, or is a secret place is no exemption.
        let careless = PathRules::default()
            .with_home(HomeKind::User, Path::new("/home/me"))
            .with_own_tree(Path::new("/home/me"))
            .with_own_tree(Path::new("/"))
            .with_own_tree(Path::new("/home/me/.ssh"));
        assert_eq!(
            careless,
            PathRules::default().with_home(HomeKind::User, Path::new("/home/me"))
        );
        assert!(careless.hazard("/home/me/Documents").is_some());
        // A CI job's cargo home inside its workspace, itself inside the home: the
        // workspace is the consumer's, cargo's home inside it is not.
        let ci = PathRules::default()
            .with_home(HomeKind::User, Path::new("/home/ci"))
            .with_home(HomeKind::Cargo, Path::new("/home/ci/job/.cargo"))
            .with_own_tree(Path::new("/home/ci/job"));
        assert_eq!(ci.hazard("/home/ci/job/vendor"), None);
        assert_eq!(
            ci.hazard("/home/ci/job/.cargo/bin"),
            Some(PathHazard::InsideHome {
                kind: HomeKind::Cargo,
                home: "/home/ci/job/.cargo".into()
            })
        );
        assert_eq!(ci.hazard("/home/ci/job"), Some(PathHazard::CoversHomes));
        assert!(ci.hazard("/home/ci/.bashrc").is_some());
        // `HOME=/` would make every path a home's: it adds nothing.
        assert_eq!(
            PathRules::default().with_home(HomeKind::User, Path::new("/")),
            PathRules::default()
        );
    }

    #[test]
    fn secret_places_are_dangerous_anywhere() {
        let rules = machine();
        for (secret, place) in [
            ("/home/me/.ssh", ".ssh"),
            ("/home/me/.ssh/id_rsa", ".ssh"),
            ("/srv/deploy/.ssh", ".ssh"),
            ("/home/me/src/app/.ssh", ".ssh"),
            ("fixtures/.aws/credentials", ".aws"),
            ("/root/.gnupg", ".gnupg"),
            ("/var/lib/ci/.docker/config.json", ".docker"),
            ("/etc/ci/.kube", ".kube"),
            ("/home/me/.config/gh/hosts.yml", ".config/gh"),
            ("/home/me/.cargo/credentials.toml", "credentials.toml"),
            ("/home/me/src/app/.cargo/credentials", "credentials"),
            ("/home/other/.netrc", ".netrc"),
            ("/home/me/.git-credentials", ".git-credentials"),
            ("/srv/.pgpass", ".pgpass"),
            ("$TOOLCHAIN/../.ssh", ".ssh"),
        ] {
            match rules.hazard(secret) {
                Some(PathHazard::Secret { place: found, .. }) => assert_eq!(found, place),
                other => panic!("{secret}: {other:?}"),
            }
        }
        for fine in ["/home/me/src/app/.config/app", "/opt/sshd", "/usr/share/gh"] {
            assert_eq!(rules.hazard(fine), None, "{fine}");
        }
        let (message, _) = path_problem("write", "/srv/deploy/.ssh").unwrap();
        assert_eq!(
            message,
            "`/srv/deploy/.ssh` reaches `.ssh`, where ssh keys are kept"
        );
    }

    #[test]
    fn approve_writes_dangerous_paths_under_the_dangerous_key() {
        let rules = machine();
        assert_eq!(
            rules.grant_key(Capability::Read("/home/me/.ssh".into())),
            Capability::DangerousRead("/home/me/.ssh".into())
        );
        assert_eq!(
            rules.grant_key(Capability::Write("/home/me/.cargo/bin".into())),
            Capability::DangerousWrite("/home/me/.cargo/bin".into())
        );
        for kept in [
            Capability::Read("/home/me/src/app/include".into()),
            Capability::Read("/usr/include".into()),
            Capability::Exec("cc".into()),
            Capability::LinkSearch("/home/me/lib".into()),
        ] {
            assert_eq!(rules.grant_key(kept.clone()), kept);
        }
    }
}
