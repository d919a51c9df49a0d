//! JSON Schemas of the two sandbox tables, for editors (taplo / Even Better TOML and
//! others validate TOML against JSON Schema).
//!
//! The parser in `tables/parse.rs` reads the tables by hand, to report every problem with a
//! location; the schemas are generated from the types it fills ([`CapabilitySet`],
//! [`LimitOverrides`](crate::LimitOverrides), [`ConsumerPolicy`]) and the value types
//! that check each entry ([`crate::values`]), so their keys, descriptions and patterns
//! are the parser's. A test keeps the committed files under `docs/schema/` equal to what
//! they generate.

use schemars::JsonSchema;

use crate::tables::{CapabilitySet, ConsumerPolicy};

/// `[package.metadata.sandbox]`: a crate's requests (never grants), plus, in a
/// single-package project without `[workspace]`, the consumer's keys.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
struct PackageSandbox {
    /// Schema version; 1.
    version: Option<u32>,
    #[serde(flatten)]
    needs: CapabilitySet,
    /// Why the build script needs this, shown to reviewers.
    reason: Option<String>,
    #[serde(flatten)]
    consumer: ConsumerPolicy,
}

/// `[workspace.metadata.sandbox]`: the consumer's policy.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
struct WorkspaceSandbox {
    /// Schema version; 1.
    version: Option<u32>,
    #[serde(flatten)]
    consumer: ConsumerPolicy,
}

/// The JSON Schema of `[package.metadata.sandbox]`.
pub fn package_table_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(PackageSandbox)).unwrap_or_default()
}

/// The JSON Schema of `[workspace.metadata.sandbox]`.
pub fn workspace_table_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(WorkspaceSandbox)).unwrap_or_default()
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests run programs and read the environment as they need"
)]
mod tests {
    use super::*;
    use crate::tables::{CAPABILITY_KEYS, LimitKey};

    fn keys(schema: &serde_json::Value, at: &[&str]) -> Vec<String> {
        let mut node = schema;
        for key in at {
            node = &node[*key];
        }
        let mut keys: Vec<String> = node["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort();
        keys
    }

    /// The schema's keys are the parser's keys: adding one to either alone fails here.
    #[test]
    fn schema_keys_match_the_parser() {
        let package = package_table_schema();
        let mut expected: Vec<&str> = CAPABILITY_KEYS.to_vec();
        expected.extend([
            "version",
            "reason",
            "mode",
            "deny-rustc",
            "env-defaults",
            "allow",
            "deny",
        ]);
        assert_eq!(keys(&package, &[]), sorted(&expected));
        assert_eq!(
            keys(&package, &["$defs", "CapabilitySet"]),
            sorted(&CAPABILITY_KEYS)
        );
        let limit_keys: Vec<&str> = LimitKey::ALL.iter().map(|key| key.key()).collect();
        assert_eq!(
            keys(&package, &["$defs", "LimitOverrides"]),
            sorted(&limit_keys)
        );
        let workspace = workspace_table_schema();
        assert_eq!(
            keys(&workspace, &[]),
            sorted(&[
                "version",
                "mode",
                "deny-rustc",
                "env-defaults",
                "allow",
                "deny"
            ])
        );
        assert_eq!(workspace["additionalProperties"], false);
    }

    /// The files shipped for editors are what the types generate. To update them:
    /// `UPDATE_SCHEMAS=1 cargo test -p wasm-build-permissions-schema`.
    #[test]
    fn committed_schemas_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema");
        for (file, schema) in [
            ("package-sandbox.schema.json", package_table_schema()),
            ("workspace-sandbox.schema.json", workspace_table_schema()),
        ] {
            let text = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
            let path = dir.join(file);
            if std::env::var_os("UPDATE_SCHEMAS").is_some() {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_else(|_| {
                panic!("{} is missing; run with UPDATE_SCHEMAS=1", path.display())
            });
            assert_eq!(
                committed, text,
                "{file} is stale; run with UPDATE_SCHEMAS=1"
            );
        }
    }
}
