//! Writing grants into the consumer's manifest, keeping its comments and layout.

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};
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

/// Adds `set` to the consumer's grants for `spec` in manifest `text` and returns the new
/// text. Existing values stay; new ones are appended; nothing else in the file changes.
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
) -> Result<String, PolicyError> {
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
        let out = add_grants(text, true, Decision::Allow, "cc-user@1.0.0", &set).unwrap();
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

    #[test]
    fn creates_the_tables_it_needs() {
        let text = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n";
        let set = CapabilitySet {
            exec: vec!["curl".parse().unwrap()],
            ..CapabilitySet::default()
        };
        let out = add_grants(text, false, Decision::Deny, "evil@6.6.6", &set).unwrap();
        assert_eq!(
            out,
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[package.metadata.sandbox.deny.\"evil@6.6.6\"]\nexec = [\"curl\"]\n"
        );
    }
}
