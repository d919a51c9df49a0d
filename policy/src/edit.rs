//! Writing grants into the consumer's manifest, keeping its comments and layout.

use crate::hygiene::{PathRules, PathRulings as _};
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};
use wasm_build_permissions_schema::{CapabilityKey, CapabilitySet, NetworkEntry};

use crate::error::PolicyError;
use crate::suggest::Suggestion;

/// Which list a grant goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// `allow`: the capability is granted.
    Allow,
    /// `deny`: the capability is refused (the script sees an error and may fall back).
    Deny,
}

impl Decision {
    fn key(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

/// `set` with every path that `rules` find dangerous under its `dangerous-` key: what
/// `approve` shows and writes, so a home or a secret is never written under `read` or
/// `write` (where the next build would refuse it, [`Code::W005`](wasm_build_permissions_schema::Code::W005)).
///
/// # Errors
///
/// When a value does not read back (it came from a table, so it does).
pub fn marked_dangerous(
    set: &CapabilitySet,
    rules: &PathRules,
) -> Result<CapabilitySet, PolicyError> {
    let mut marked = CapabilitySet {
        limits: set.limits.clone(),
        ..CapabilitySet::default()
    };
    for capability in set.capabilities() {
        marked
            .insert(rules.grant_key(capability))
            .map_err(|why| PolicyError::Manifest(why.message))?;
    }
    Ok(marked)
}

/// Adds `set` to the consumer's grants for `spec` in manifest `text` and returns the new
/// text. Existing values stay; new ones are appended; nothing else in the file changes.
/// A path that `rules` find dangerous goes under its `dangerous-` key (see
/// [`marked_dangerous`]).
///
/// # Errors
///
/// Fails when the text is not valid TOML or a key on the way is not a table.
pub fn add_grants(
    text: &str,
    in_workspace_table: bool,
    decision: Decision,
    spec: &str,
    set: &CapabilitySet,
    rules: &PathRules,
) -> Result<String, PolicyError> {
    let set = &marked_dangerous(set, rules)?;
    let mut doc = parse(text)?;
    let root = if in_workspace_table {
        "workspace"
    } else {
        "package"
    };
    let mut table = doc.as_table_mut();
    for key in [root, "metadata", "sandbox", decision.key()] {
        table = child_table(table, key)?;
    }
    let entry = table
        .entry(spec)
        .or_insert_with(|| Item::Table(Table::new()));
    let Some(entry) = entry.as_table_mut() else {
        return Err(PolicyError::Manifest(format!(
            "`{spec}` in the sandbox {} table is not a table",
            decision.key()
        )));
    };
    for key in CapabilityKey::ALL {
        if key.is_flag() {
            if set.flag(key) {
                entry.insert(key.key(), Item::Value(Value::from(true)));
            }
        } else if key == CapabilityKey::Network {
            append_network(entry, &set.network)?;
        } else {
            append(entry, key.key(), set.values(key).into_iter())?;
        }
    }
    if !set.limits.is_empty() {
        let limits = entry
            .entry("limits")
            .or_insert_with(|| Item::Value(Value::InlineTable(InlineTable::new())));
        let Some(limits) = limits.as_table_like_mut() else {
            return Err(PolicyError::Manifest(format!(
                "`limits` of `{spec}` is not a table"
            )));
        };
        for (key, text) in set.limits.texts() {
            limits.insert(key.key(), Item::Value(Value::from(text)));
        }
    }
    Ok(doc.to_string())
}

/// Marks in manifest `text` what `approve` wrote into `spec`'s allow table because it
/// suggested it, not because the script attempted or declared it: a comment above each
/// key that holds such a value, naming the value and why, so that a reader of the
/// manifest (and of the pull request) can tell a guess from an observation.
///
/// # Errors
///
/// Fails when the manifest does not parse or the table is not there.
pub fn note_suggested(
    text: &str,
    in_workspace_table: bool,
    spec: &str,
    suggested: &[Suggestion],
) -> Result<String, PolicyError> {
    if suggested.is_empty() {
        return Ok(text.to_string());
    }
    let mut doc = parse(text)?;
    let Some(table) = sandbox_table(&mut doc, in_workspace_table, Decision::Allow)?
        .and_then(|allow| allow.get_mut(spec))
        .and_then(|entry| entry.as_table_like_mut())
    else {
        return Err(PolicyError::Manifest(format!(
            "no `{spec}` table to mark what was suggested in"
        )));
    };
    for suggestion in suggested {
        let key = suggestion.capability.toml_key();
        let note = format!(
            "# suggested by cargo wasm-build, not attempted: {} ({})\n",
            suggestion.capability.toml_value(),
            suggestion.why
        );
        if let Some(mut written) = table.key_mut(key) {
            let decor = written.leaf_decor_mut();
            let before = decor
                .prefix()
                .and_then(|prefix| prefix.as_str())
                .unwrap_or("")
                .to_string();
            if !before.contains(&note) {
                decor.set_prefix(format!("{before}{note}"));
            }
        }
    }
    Ok(doc.to_string())
}

/// Copies the `allow` and `deny` entries of `from` to `to` in manifest `text`, as they
/// are written (comments, layout and all), and returns the new text. `to`'s entries sit
/// where `from`'s do, so when `from` is then removed ([`remove_grants`]) the change reads
/// as a rename. An entry `to` already has is left as it is.
///
/// # Errors
///
/// Fails when the text is not valid TOML or a key on the way is not a table.
pub fn carry_grants(
    text: &str,
    in_workspace_table: bool,
    from: &str,
    to: &str,
) -> Result<String, PolicyError> {
    let mut doc = parse(text)?;
    for decision in [Decision::Allow, Decision::Deny] {
        let Some(table) = sandbox_table(&mut doc, in_workspace_table, decision)? else {
            continue;
        };
        if table.contains_key(to) {
            continue;
        }
        let Some(entry) = table.get(from).cloned() else {
            continue;
        };
        table.insert(to, entry);
    }
    Ok(doc.to_string())
}

/// Removes the `allow` and `deny` entries of `spec` from manifest `text` and returns the
/// new text; nothing else changes.
///
/// # Errors
///
/// Fails when the text is not valid TOML or a key on the way is not a table.
pub fn remove_grants(
    text: &str,
    in_workspace_table: bool,
    spec: &str,
) -> Result<String, PolicyError> {
    let mut doc = parse(text)?;
    for decision in [Decision::Allow, Decision::Deny] {
        if let Some(table) = sandbox_table(&mut doc, in_workspace_table, decision)? {
            table.remove(spec);
        }
    }
    Ok(doc.to_string())
}

fn parse(text: &str) -> Result<DocumentMut, PolicyError> {
    text.parse().map_err(|source| PolicyError::Toml {
        what: "the manifest".into(),
        source,
    })
}

/// The consumer's `allow` or `deny` table, if the manifest has one.
fn sandbox_table(
    doc: &mut DocumentMut,
    in_workspace_table: bool,
    decision: Decision,
) -> Result<Option<&mut dyn toml_edit::TableLike>, PolicyError> {
    let root = if in_workspace_table {
        "workspace"
    } else {
        "package"
    };
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for key in [root, "metadata", "sandbox", decision.key()] {
        // Looked up, never indexed: indexing would insert the key.
        let Some(item) = table.get_mut(key) else {
            return Ok(None);
        };
        let Some(next) = item.as_table_like_mut() else {
            return Err(PolicyError::Manifest(format!(
                "`{key}` in the manifest is not a table"
            )));
        };
        table = next;
    }
    Ok(Some(table))
}

/// The lines that differ between `old` and `new`, as a unified diff (`-` removed, `+`
/// added, one line of context around each change, `@@` line numbers): what `approve`
/// shows of the manifest it rewrites.
pub fn line_diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    // Longest common subsequence, from the end: manifests are small.
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    // (kind, old line, new line, text): ' ' kept, '-' removed, '+' added.
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            ops.push((' ', i, j, old[i]));
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            ops.push(('-', i, j, old[i]));
            i += 1;
        } else {
            ops.push(('+', i, j, new[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = String::new();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(1);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 3 {
            k += 1;
            end = changed[k];
        }
        let end = (end + 1).min(ops.len() - 1);
        let hunk = &ops[start..=end];
        let old_count = hunk.iter().filter(|op| op.0 != '+').count();
        let new_count = hunk.iter().filter(|op| op.0 != '-').count();
        out.push_str(&format!(
            "@@ -{},{old_count} +{},{new_count} @@\n",
            hunk[0].1 + 1,
            hunk[0].2 + 1
        ));
        for (kind, _, _, text) in hunk {
            out.push_str(&format!("{kind}{text}\n"));
        }
        k += 1;
    }
    out
}

/// The table under `key`, created (as an implicit table, so no empty header appears)
/// when missing.
fn child_table<'a>(table: &'a mut Table, key: &str) -> Result<&'a mut Table, PolicyError> {
    let item = table.entry(key).or_insert_with(|| {
        let mut new = Table::new();
        new.set_implicit(true);
        Item::Table(new)
    });
    match item {
        Item::Table(table) => Ok(table),
        Item::Value(Value::InlineTable(_)) => Err(PolicyError::Manifest(format!(
            "`{key}` is an inline table; write it as a [table] so grants can be added"
        ))),
        _ => Err(PolicyError::Manifest(format!(
            "`{key}` in the manifest is not a table"
        ))),
    }
}

fn append(
    table: &mut Table,
    key: &str,
    values: impl Iterator<Item = String>,
) -> Result<(), PolicyError> {
    let values: Vec<String> = values.collect();
    if values.is_empty() {
        return Ok(());
    }
    let array = array_of(table, key)?;
    for value in values {
        if !array
            .iter()
            .any(|existing| existing.as_str() == Some(value.as_str()))
        {
            array.push(value);
        }
    }
    Ok(())
}

/// The array `key` of `table`, created empty when missing.
fn array_of<'t>(table: &'t mut Table, key: &str) -> Result<&'t mut toml_edit::Array, PolicyError> {
    table
        .entry(key)
        .or_insert_with(|| Item::Value(Value::Array(toml_edit::Array::new())))
        .as_array_mut()
        .ok_or_else(|| PolicyError::Manifest(format!("`{key}` in the manifest is not an array")))
}

/// Adds `network` entries: a program alone as a string; the hosts of a program to its
/// `{ program, hosts }` table when the array has one, else in a new one.
fn append_network(table: &mut Table, entries: &[NetworkEntry]) -> Result<(), PolicyError> {
    if entries.is_empty() {
        return Ok(());
    }
    let key = CapabilityKey::Network.key();
    let array = array_of(table, key)?;
    for entry in entries {
        match entry {
            NetworkEntry::Public(program) => {
                if !array
                    .iter()
                    .any(|existing| existing.as_str() == Some(program.as_str()))
                {
                    array.push(program.as_str());
                }
            }
            NetworkEntry::Hosts(wanted) => {
                let program = wanted.program.as_str();
                let existing = array.iter_mut().find_map(|value| {
                    let table = value.as_inline_table_mut()?;
                    let named = table.get("program").and_then(Value::as_str) == Some(program);
                    named.then_some(table)
                });
                let hosts: Vec<String> = wanted.hosts.iter().map(ToString::to_string).collect();
                match existing {
                    Some(table) => {
                        let Some(held) = table.get_mut("hosts").and_then(Value::as_array_mut)
                        else {
                            return Err(PolicyError::Manifest(format!(
                                "`hosts` of `{program}` in `{key}` is not an array"
                            )));
                        };
                        for host in hosts {
                            if !held.iter().any(|h| h.as_str() == Some(host.as_str())) {
                                held.push(host);
                            }
                        }
                    }
                    None => {
                        let mut table = InlineTable::new();
                        table.insert("program", Value::from(program));
                        table.insert("hosts", Value::Array(hosts.into_iter().collect()));
                        array.push(Value::InlineTable(table));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hygiene::HomeKind;
    use wasm_build_permissions_schema::{Capability, GatedDirective};

    const RING: &str = r#"[workspace]
members = ["app"]

# ring compiles its assembly with cc.
[workspace.metadata.sandbox.allow."ring@0.17.14"]
exec = ["cc"] # reviewed in March

[workspace.metadata.sandbox.deny."ring@0.17.14"]
env = ["RING_PREGENERATE_ASM"]

[workspace.metadata.sandbox.allow."zstd-sys@2.0.15"]
exec = ["cc", "ar"]
"#;

    /// What `approve` wrote because it suggested it carries a comment saying so, above
    /// the key, once however often the approval is written.
    #[test]
    fn suggested_values_are_marked_in_the_manifest() {
        let mut set = CapabilitySet::default();
        set.insert(Capability::Exec("cc".into())).unwrap();
        set.insert(Capability::Exec("ar".into())).unwrap();
        let suggested = [Suggestion {
            capability: Capability::Exec("ar".into()),
            why: "cc-rs archives what it compiles with `ar`",
        }];
        let text = add_grants(
            "[package]\nname = \"app\"\n",
            false,
            Decision::Allow,
            "zstd-sys@2.1.3",
            &set,
            &PathRules::default(),
        )
        .unwrap();
        let marked = note_suggested(&text, false, "zstd-sys@2.1.3", &suggested).unwrap();
        let again = note_suggested(&marked, false, "zstd-sys@2.1.3", &suggested).unwrap();
        assert_eq!(marked, again);
        assert!(
            marked.ends_with(
                "[package.metadata.sandbox.allow.\"zstd-sys@2.1.3\"]\n\
                 # suggested by cargo wasm-build, not attempted: ar (cc-rs archives what it compiles with `ar`)\n\
                 exec = [\"cc\", \"ar\"]\n"
            ),
            "{marked}"
        );
    }

    /// Carrying then removing reads as a rename: the comments and the place stay.
    #[test]
    fn carrying_grants_over_and_removing_the_old_version_renames_the_tables() {
        let carried = carry_grants(RING, true, "ring@0.17.14", "ring@0.17.8").unwrap();
        let out = remove_grants(&carried, true, "ring@0.17.14").unwrap();
        assert_eq!(out, RING.replace("ring@0.17.14", "ring@0.17.8"));
        assert_eq!(
            line_diff(RING, &out),
            "@@ -4,6 +4,6 @@\n \
             # ring compiles its assembly with cc.\n\
             -[workspace.metadata.sandbox.allow.\"ring@0.17.14\"]\n\
             +[workspace.metadata.sandbox.allow.\"ring@0.17.8\"]\n \
             exec = [\"cc\"] # reviewed in March\n \n\
             -[workspace.metadata.sandbox.deny.\"ring@0.17.14\"]\n\
             +[workspace.metadata.sandbox.deny.\"ring@0.17.8\"]\n \
             env = [\"RING_PREGENERATE_ASM\"]\n"
        );
    }

    /// Kept when the old version is still in the graph: both versions have the grants.
    #[test]
    fn carrying_keeps_the_old_tables_and_an_existing_new_one() {
        let out = carry_grants(RING, true, "ring@0.17.14", "ring@0.17.8").unwrap();
        assert!(out.contains("allow.\"ring@0.17.14\"]") && out.contains("allow.\"ring@0.17.8\"]"));
        assert_eq!(
            out.matches("exec = [\"cc\"] # reviewed in March").count(),
            2
        );
        let again = carry_grants(&out, true, "zstd-sys@2.0.15", "ring@0.17.8").unwrap();
        assert_eq!(again, out, "ring@0.17.8 already has its own");
        assert_eq!(line_diff(RING, RING), "");
    }

    #[test]
    fn adds_to_a_workspace_keeping_comments_and_existing_grants() {
        let text = r#"# the workspace
[workspace]
members = ["app"] # the only member

[workspace.metadata.sandbox]
mode = "deny" # default

[workspace.metadata.sandbox.allow."cc-user@1.0.0"]
exec = ["cc"]  # compiles vendored C
"#;
        let set = CapabilitySet {
            exec: vec!["cc".parse().unwrap(), "ar".parse().unwrap()],
            directives: vec![GatedDirective::RustcLinkArg],
            ..CapabilitySet::default()
        };
        let out = add_grants(
            text,
            true,
            Decision::Allow,
            "cc-user@1.0.0",
            &set,
            &PathRules::default(),
        )
        .unwrap();
        assert_eq!(
            out,
            r#"# the workspace
[workspace]
members = ["app"] # the only member

[workspace.metadata.sandbox]
mode = "deny" # default

[workspace.metadata.sandbox.allow."cc-user@1.0.0"]
exec = ["cc", "ar"]  # compiles vendored C
directives = ["rustc-link-arg"]
"#
        );
    }

    /// A host `approve` grants joins its program's `{ program, hosts }` table, keeping
    /// what the table holds and the comment after it; a new program gets a table.
    #[test]
    fn network_hosts_join_their_programs_table() {
        let text = r#"[workspace.metadata.sandbox.allow."dl@1.0.0"]
network = ["git", { program = "curl", hosts = ["github.com"] }] # downloads
"#;
        let mut set = CapabilitySet::default();
        for (program, host) in [
            ("curl", "127.0.0.1:8080"),
            ("curl", "github.com"),
            ("wget", "[::1]:9"),
        ] {
            set.insert(Capability::NetworkHost(
                wasm_build_permissions_schema::NetworkHost {
                    program: program.into(),
                    host: host.into(),
                },
            ))
            .unwrap();
        }
        set.insert(Capability::Network("git".into())).unwrap();
        let out = add_grants(
            text,
            true,
            Decision::Allow,
            "dl@1.0.0",
            &set,
            &PathRules::default(),
        )
        .unwrap();
        assert_eq!(
            out,
            r#"[workspace.metadata.sandbox.allow."dl@1.0.0"]
network = ["git", { program = "curl", hosts = ["github.com", "127.0.0.1:8080"] }, { program = "wget", hosts = ["[::1]:9"] }] # downloads
"#
        );
        // What was written reads back as the same grants.
        let doc: toml_edit::DocumentMut = out.parse().unwrap();
        let file = wasm_build_permissions_schema::SourceFile {
            path: std::path::Path::new("Cargo.toml"),
            text: &out,
        };
        let table = wasm_build_permissions_schema::parse_table(
            &file,
            &doc["workspace"]["metadata"]["sandbox"],
            wasm_build_permissions_schema::TableKind::Workspace,
            &crate::hygiene::Hygiene(&PathRules::default()),
        )
        .unwrap();
        let read = &table.consumer.unwrap().allow["dl@1.0.0"];
        assert_eq!(read.capabilities().len(), 4);
        for capability in set.capabilities() {
            assert!(read.capabilities().contains(&capability), "{capability:?}");
        }
    }

    /// Whatever the set says, a home or a secret is written under its dangerous key, for
    /// a grant and for a denial alike.
    #[test]
    fn homes_and_secrets_are_written_under_their_dangerous_key() {
        let rules = PathRules::default()
            .with_home(HomeKind::User, std::path::Path::new("/home/me"))
            .with_own_tree(std::path::Path::new("/home/me/src/app"));
        let set = CapabilitySet {
            read: vec![
                "/home/me/.ssh".into(),
                "/home/me/.cargo".into(),
                "/home/me/src/app/vendor".into(),
                "/usr/include".into(),
            ],
            write: vec!["/srv/.aws".into()],
            ..CapabilitySet::default()
        };
        for decision in [Decision::Allow, Decision::Deny] {
            let out = add_grants("", true, decision, "x@1.0.0", &set, &rules).unwrap();
            let table = decision.key();
            assert_eq!(
                out,
                format!(
                    "[workspace.metadata.sandbox.{table}.\"x@1.0.0\"]\n\
                     read = [\"/home/me/src/app/vendor\", \"/usr/include\"]\n\
                     dangerous-read = [\"/home/me/.ssh\", \"/home/me/.cargo\"]\n\
                     dangerous-write = [\"/srv/.aws\"]\n"
                )
            );
        }
    }

    #[test]
    fn creates_the_tables_it_needs() {
        let text = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n";
        let set = CapabilitySet {
            exec: vec!["curl".parse().unwrap()],
            ..CapabilitySet::default()
        };
        let out = add_grants(
            text,
            false,
            Decision::Deny,
            "evil@6.6.6",
            &set,
            &PathRules::default(),
        )
        .unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[package.metadata.sandbox.deny.\"evil@6.6.6\"]\nexec = [\"curl\"]\n"
        );
    }
}
