//! The hazard rulings as the table parser applies them: tests of `parse_table` under
//! [`Hygiene`], the machine's rules (the parser's own tests use rules of their own).

use std::path::Path;

use wasm_build_permissions_schema::{
    Capability, GrantSite, SandboxTable, SourceFile, TableKind, grant_help, parse_table,
};

use super::{HomeKind, Hygiene, PathRules, PathRulings};

fn parse(text: &str, path: &[&str], kind: TableKind) -> Result<SandboxTable, Vec<String>> {
    parse_with(text, path, kind, &PathRules::default())
}

fn parse_with(
    text: &str,
    path: &[&str],
    kind: TableKind,
    rules: &PathRules,
) -> Result<SandboxTable, Vec<String>> {
    let doc = toml_edit::Document::parse(text.to_string()).unwrap();
    let item = path.iter().fold(doc.as_item(), |item, key| &item[*key]);
    let file = SourceFile {
        path: Path::new("Cargo.toml"),
        text,
    };
    parse_table(&file, item, kind, &Hygiene(rules))
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

/// Exactly one error per prefix, each starting with its own, in order.
#[track_caller]
fn assert_errors_start(errors: &[String], prefixes: &[&str]) {
    assert_eq!(errors.len(), prefixes.len(), "{errors:#?}");
    for (error, prefix) in errors.iter().zip(prefixes) {
        assert!(error.starts_with(prefix), "{error}");
    }
}

fn homes() -> PathRules {
    PathRules::default()
        .with_home(HomeKind::User, Path::new("/home/me"))
        .with_home(HomeKind::Cargo, Path::new("/home/me/.cargo"))
        .with_own_tree(Path::new("/home/me/src/app"))
}

#[test]
fn malformed_values_are_errors() {
    let text = r#"
[workspace.metadata.sandbox]
mode = "lenient"
version = 2
[workspace.metadata.sandbox.allow."cc@1"]
exec = "cc"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
exec = ["cc", 3]
env = ["A*B"]
"#;
    let errors = parse(
        text,
        &["workspace", "metadata", "sandbox"],
        TableKind::Workspace,
    )
    .unwrap_err();
    let all = errors.join("\n");
    assert!(all.contains("error[W002]: unknown mode `lenient`"), "{all}");
    assert!(
        all.contains("error[W003]: unsupported sandbox schema version 2"),
        "{all}"
    );
    assert!(
        all.contains("error[W004]: `cc@1` is not a package spec: the version must be exact"),
        "{all}"
    );
    assert!(
        all.contains("error[W002]: `exec` entries must be non-empty strings"),
        "{all}"
    );
    assert!(
        all.contains("error[W002]: invalid variable pattern `A*B`"),
        "{all}"
    );
}

#[test]
fn what_reaches_secrets_needs_its_dangerous_key() {
    let text = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
env = ["*"]
read = ["/home/me"]
write = ["../elsewhere"]
"#;
    let errors = parse(
        text,
        &["workspace", "metadata", "sandbox"],
        TableKind::Workspace,
    )
    .unwrap_err();
    assert_errors_start(
        &errors,
        &[
            "error[W005]: `env = [\"*\"]`",
            "error[W005]: `/home/me` covers a home directory",
            "error[W002]: `../elsewhere` leaves the package",
        ],
    );
}

/// What the consumer writes under a plain key for a path inside this machine's home,
/// or a secret's place anywhere, is refused with the code, in a grant and in a
/// member's own requests alike; the dangerous key holds it.
#[test]
fn the_consumer_writes_homes_and_secrets_under_the_dangerous_key() {
    let text = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
read = ["/home/me/.cargo", "/srv/x/.ssh", "/home/me/src/app/vendor", "/usr/include"]
write = ["/home/me/.local/bin"]
"#;
    let at = ["workspace", "metadata", "sandbox"];
    let errors = parse_with(text, &at, TableKind::Workspace, &homes()).unwrap_err();
    assert_errors_start(
        &errors,
        &[
            "error[W005]: `/home/me/.cargo` covers a home directory",
            "error[W005]: `/srv/x/.ssh` reaches `.ssh`",
            "error[W005]: `/home/me/.local/bin` is inside your home directory",
        ],
    );
    assert!(
        errors[2].contains("dangerous-write = [\"/home/me/.local/bin\"]"),
        "{}",
        errors[2]
    );
    let fixed = r#"
[workspace.metadata.sandbox.allow."ok@1.0.0"]
dangerous-read = ["/home/me/.cargo", "/srv/x/.ssh"]
read = ["/home/me/src/app/vendor", "/usr/include"]
dangerous-write = ["/home/me/.local/bin"]
"#;
    let consumer = parse_with(fixed, &at, TableKind::Workspace, &homes())
        .unwrap()
        .consumer
        .unwrap();
    assert_eq!(consumer.allow["ok@1.0.0"].dangerous_read.len(), 2);

    let member = "[package.metadata.sandbox]\nread = [\"/home/me/.ssh\"]\n";
    let errors = parse_with(
        member,
        &["package", "metadata", "sandbox"],
        TableKind::Package,
        &homes(),
    )
    .unwrap_err();
    assert!(errors[0].starts_with("error[W005]:"), "{errors:?}");
}

/// A dependency's request under a plain key for what needs the dangerous one is a
/// request for the dangerous key, whatever order the keys come in.
#[test]
fn a_dependency_requests_homes_and_secrets_under_the_dangerous_key() {
    let text = r#"
[package.metadata.sandbox]
dangerous-read = ["/opt/sdk"]
read = ["/home/me/.ssh", "/home/me/.cargo", "include", "/usr/include", "/opt/sdk"]
write = ["/home/me/.cargo/bin"]
env = ["CC", "GITHUB_TOKEN"]
"#;
    let needs = parse_with(
        text,
        &["package", "metadata", "sandbox"],
        TableKind::Dependency,
        &homes(),
    )
    .unwrap()
    .requests
    .needs;
    assert_eq!(needs.read, ["include", "/usr/include", "/opt/sdk"]);
    assert_eq!(
        needs.dangerous_read,
        ["/opt/sdk", "/home/me/.ssh", "/home/me/.cargo"]
    );
    assert_eq!(needs.write, Vec::<String>::new());
    assert_eq!(needs.dangerous_write, ["/home/me/.cargo/bin"]);
    assert_eq!(needs.env, ["CC"]);
    assert_eq!(needs.dangerous_env, ["GITHUB_TOKEN"]);
}

/// A malformed entry is reported where it stands, not at the start of its array.
#[test]
fn entry_diagnostics_point_at_the_entry() {
    let text = "[workspace.metadata.sandbox.allow.\"ok@1.0.0\"]\nenv = [\"CC\",\n  \"A*B\"]\nread = [\"src\", \"/home/me\"]\ndirectives = [\"rustc-env\", \"rustc-cfg\"]\nlimits = { memory = \"lots\" }\n";
    let errors = parse(
        text,
        &["workspace", "metadata", "sandbox"],
        TableKind::Workspace,
    )
    .unwrap_err();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    let at = |needle: &str, place: &str| {
        let error = errors.iter().find(|e| e.contains(needle)).unwrap();
        assert!(error.contains(place), "{needle} at {place}: {error}");
    };
    at("invalid variable pattern `A*B`", "Cargo.toml:3:3");
    at("`/home/me` covers a home directory", "Cargo.toml:4:16");
    at("`rustc-cfg` is not a directive", "Cargo.toml:5:28");
    at("`limits.memory` must be a size", "Cargo.toml:6:21");
}

#[test]
fn homes_and_secrets_are_offered_under_their_dangerous_key() {
    let site = GrantSite {
        rules: PathRules::default().with_home(HomeKind::User, std::path::Path::new("/home/me")),
        ..GrantSite::default()
    };
    let help = grant_help(
        &site,
        "x@1.0.0",
        &site.rules.grant_keys(&[
            Capability::Read("/home/me/.cargo/credentials.toml".into()),
            Capability::Read("/home/me/notes".into()),
            Capability::Read("/usr/include".into()),
        ]),
        None,
    );
    assert!(
        help.contains(
            "dangerous-read = [\"/home/me/.cargo/credentials.toml\", \"/home/me/notes\"]\n"
        ),
        "{help}"
    );
    assert!(
        help.contains("          read = [\"/usr/include\"]\n"),
        "{help}"
    );
}

mod robustness {
    use super::*;

    /// Fragments of sandbox tables, shuffled into documents: a cheap, deterministic
    /// version of the `sandbox_tables` fuzz target that runs with every `cargo test`.
    const PIECES: &[&str] = &[
        "[package.metadata.sandbox]\n",
        "[workspace.metadata.sandbox]\n",
        "[workspace.metadata.sandbox.allow.\"a@1.0.0\"]\n",
        "exec = [\"cc\"]\n",
        "exec = 3\n",
        "env = [\"A*\", \"*\", \"\"]\n",
        "limits = { memory = \"9999999999999GiB\" }\n",
        "limits = { cpu-time = \"-1s\" }\n",
        "mode = \"strict\"\n",
        "mode = 1\n",
        "version = 2\n",
        "allow = 5\n",
        "deny = { \"x\" = 1 }\n",
        "directives = [\"rustc-env\", 1]\n",
        "run-natively = \"yes\"\n",
        "[package.metadata.sandbox.allow.\"@\"]\n",
        "é = 1\n",
        "reason = \"\u{0}\"\n",
        "limits = []\n",
        "link-search = [\"/\"]\n",
    ];

    #[test]
    fn random_tables_never_panic() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5_000 {
            let mut text = String::new();
            for _ in 0..(state % 8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
            }
            state = state.wrapping_add(1);
            let Ok(doc) = toml_edit::Document::parse(text.clone()) else {
                continue;
            };
            let file = SourceFile {
                path: Path::new("Cargo.toml"),
                text: &text,
            };
            for (root, kind) in [
                ("package", TableKind::Package),
                ("package", TableKind::Dependency),
                ("workspace", TableKind::Workspace),
            ] {
                let item = doc
                    .get(root)
                    .and_then(|item| item.get("metadata"))
                    .and_then(|item| item.get("sandbox"));
                if let Some(item) = item {
                    let _ = parse_table(&file, item, kind, &Hygiene(&PathRules::default()));
                }
            }
        }
    }
}
