//! Writing grants into the consumer's manifest, keeping its comments and layout.

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};
use wasm_build_permissions_schema::hygiene::PathRules;
use wasm_build_permissions_schema::{CapabilityKey, CapabilitySet};

use crate::error::PolicyError;

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
    let mut doc: DocumentMut = text.parse().map_err(|source| PolicyError::Toml {
        what: "the manifest".into(),
        source,
    })?;
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
    let item = table
        .entry(key)
        .or_insert_with(|| Item::Value(Value::Array(toml_edit::Array::new())));
    let Some(array) = item.as_array_mut() else {
        return Err(PolicyError::Manifest(format!(
            "`{key}` in the manifest is not an array"
        )));
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_build_permissions_schema::GatedDirective;
    use wasm_build_permissions_schema::hygiene::HomeKind;

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
