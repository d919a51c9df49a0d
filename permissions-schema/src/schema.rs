//! JSON Schemas of the two sandbox tables, for editors (taplo / Even Better TOML and
//! others validate TOML against JSON Schema).
//!
//! The parser in `tables.rs` reads the tables by hand, to report every problem with a
//! location; these types describe the same shape for schema generation only. A test
//! keeps their keys equal to the parser's and the committed files under `docs/schema/`
//! equal to what they generate.

use std::collections::BTreeMap;

use schemars::JsonSchema;

use crate::capability::GatedDirective;
use crate::tables::Mode;

/// A size: a number of bytes, optionally with a unit (`KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB`).
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Size(#[schemars(pattern(r"^[0-9]+ *(B|KiB|MiB|GiB|KB|kB|MB|GB)?$"))] String);

/// A duration: a number with a unit (`ms`, `s`, `min`, `h`); plain numbers are seconds.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Duration(#[schemars(pattern(r"^[0-9]+ *(ms|s|min|h)?$"))] String);

/// Limits replacing the defaults for one build script.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
struct Limits {
    /// wasm memory (default 1GiB).
    memory: Option<Size>,
    /// CPU time of the script's own code (default 300s).
    cpu_time: Option<Duration>,
    /// Wall-clock time of the whole run (default 30min).
    wall_time: Option<Duration>,
    /// Wall-clock time of one child process (default 10min).
    child_time: Option<Duration>,
    /// Bytes printed on stdout (default 16MiB).
    stdout: Option<Size>,
    /// Bytes printed on stderr (default 16MiB).
    stderr: Option<Size>,
    /// Bytes left in OUT_DIR (default 4GiB).
    out_dir: Option<Size>,
}

/// What a build script may do beyond the sandbox defaults: the body of a request, and of
/// an `allow` or `deny` entry.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
struct Capabilities {
    /// Programs: names found on PATH, absolute paths, or `$RUSTC`.
    exec: Option<Vec<String>>,
    /// Environment variables the script may see and set for its programs: names, or
    /// prefixes ending in `_*`; never every variable or a secret's name.
    env: Option<Vec<String>>,
    /// Paths its programs may read: relative to the package, absolute, or `$TOOLCHAIN/...`.
    read: Option<Vec<String>>,
    /// Paths its programs may write.
    write: Option<Vec<String>>,
    /// Programs (also in `exec`) that may use the network.
    network: Option<Vec<String>>,
    /// Directives that reach past the package.
    directives: Option<Vec<GatedDirective>>,
    /// Library search paths outside what the script can read.
    link_search: Option<Vec<String>>,
    /// Run the script natively, confined, when it cannot be compiled for wasm.
    run_natively: Option<bool>,
    /// Let its programs run what they built in OUT_DIR (still jailed).
    run_built: Option<bool>,
    /// Environment variables `env` refuses: every one (`*`), secrets.
    dangerous_env: Option<Vec<String>>,
    /// Paths `read` refuses: `/`, home directories.
    dangerous_read: Option<Vec<String>>,
    /// Paths `write` refuses: `/`, home directories.
    dangerous_write: Option<Vec<String>>,
    /// Limits replacing the defaults.
    limits: Option<Limits>,
}

/// `[package.metadata.sandbox]`: a crate's requests (never grants), plus, in a
/// single-package project without `[workspace]`, the consumer's keys.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
struct PackageSandbox {
    /// Schema version; 1.
    version: Option<u32>,
    /// What the build script needs.
    #[serde(flatten)]
    needs: Capabilities,
    /// Why the build script needs this, shown to reviewers.
    reason: Option<String>,
    /// (Root package only) how unreviewed requests are treated.
    mode: Option<Mode>,
    /// (Root package only) refuse the default grant of running `RUSTC`.
    deny_rustc: Option<bool>,
    /// (Root package only) `false` hides the build settings of the environment (`CFLAGS`,
    /// `PKG_CONFIG_PATH`, `OPENSSL_DIR`) that build scripts otherwise see by default.
    env_defaults: Option<bool>,
    /// (Root package only) approvals by package spec, `name@version`.
    allow: Option<BTreeMap<String, Capabilities>>,
    /// (Root package only) refusals by package spec; deny wins over allow.
    deny: Option<BTreeMap<String, Capabilities>>,
}

/// `[workspace.metadata.sandbox]`: the consumer's policy.
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
#[allow(dead_code)]
struct WorkspaceSandbox {
    /// Schema version; 1.
    version: Option<u32>,
    /// How unreviewed requests are treated.
    mode: Option<Mode>,
    /// Refuse the default grant of running `RUSTC` (every probe then needs a grant).
    deny_rustc: Option<bool>,
    /// `false` hides the build settings of the environment (`CFLAGS`, `PKG_CONFIG_PATH`,
    /// `OPENSSL_DIR`) that build scripts otherwise see by default.
    env_defaults: Option<bool>,
    /// Approvals by package spec, `name@version` (or cargo's full package id outside
    /// crates.io).
    allow: Option<BTreeMap<String, Capabilities>>,
    /// Refusals by package spec; deny wins over allow.
    deny: Option<BTreeMap<String, Capabilities>>,
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
            keys(&package, &["$defs", "Capabilities"]),
            sorted(&CAPABILITY_KEYS)
        );
        let limit_keys: Vec<&str> = LimitKey::ALL.iter().map(|key| key.key()).collect();
        assert_eq!(keys(&package, &["$defs", "Limits"]), sorted(&limit_keys));
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
