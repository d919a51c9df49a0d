//! What a hint that grants what was denied holds: where the consumer's grants live
//! ([`GrantSite`]) and the TOML lines that grant a set of capabilities. The text around
//! them is said by `wasm_build_diagnostics::grant`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::capability::{Capability, CapabilityKey, toml_string};
use crate::path_rules::PathRules;

/// Where the consumer's grants live, so every hint names the table that `approve` writes:
/// `[workspace.metadata.sandbox]` in a workspace root, `[package.metadata.sandbox]` in a
/// manifest that is only a package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantSite {
    /// The root manifest; `None` when unknown (then hints say "the workspace's Cargo.toml").
    pub manifest: Option<PathBuf>,
    /// Whether grants go under `[package.metadata.sandbox]`.
    pub in_package_table: bool,
    /// What a printed `approve` command needs besides the package to find the same
    /// workspace and build (` --manifest-path /abs/Cargo.toml --target-dir /abs/dir`), so
    /// that it works as printed: empty when the defaults find them.
    #[serde(default)]
    pub approve_args: String,
    /// Which paths need `dangerous-read`/`dangerous-write` on this machine, so that a hint
    /// offers the key `approve` would write and the next build accepts.
    #[serde(default)]
    pub rules: PathRules,
}

impl GrantSite {
    /// `workspace` or `package`: the table grants go under.
    pub fn root_key(&self) -> &'static str {
        if self.in_package_table {
            "package"
        } else {
            "workspace"
        }
    }

    /// The manifest, as a hint names it.
    pub fn manifest_label(&self) -> String {
        match &self.manifest {
            Some(path) => path.display().to_string(),
            None => "the workspace's Cargo.toml".to_string(),
        }
    }

    /// The command that approves `spec`, or everything pending with `None`.
    pub fn approve_command(&self, spec: Option<&str>) -> String {
        format!(
            "cargo wasm-build approve{} {}",
            self.approve_args,
            spec.unwrap_or("--all")
        )
    }

    /// The TOML table header under which the consumer grants the package `spec`.
    pub fn allow_table(&self, spec: &str) -> String {
        format!(
            "[{}.metadata.sandbox.allow.{}]",
            self.root_key(),
            toml_string(spec)
        )
    }
}

/// `name@version`, the spelling grants use for a package.
pub fn package_spec(name: &str, version: &str) -> String {
    format!("{name}@{version}")
}

/// The lines that grant `capabilities`, one key per line, values merged, e.g.
/// `exec = ["ar", "cc"]`.
pub fn grant_lines(capabilities: &[Capability]) -> Vec<String> {
    let mut by_key: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut flags: Vec<String> = Vec::new();
    let mut network = crate::CapabilitySet::default();
    for capability in capabilities {
        if capability.is_flag() {
            let line = capability.toml_line();
            if !flags.contains(&line) {
                flags.push(line);
            }
            continue;
        }
        if let Capability::NetworkHost(_) = capability {
            // One `{ program, hosts }` table per program, below.
            let _ = network.insert(capability.clone());
            continue;
        }
        let values = by_key.entry(capability.toml_key()).or_default();
        let value = capability.toml_entry();
        if !values.contains(&value) {
            values.push(value);
        }
    }
    if !network.network.is_empty() {
        let values = by_key.entry(CapabilityKey::Network.key()).or_default();
        values.extend(network.network.iter().map(ToString::to_string));
    }
    by_key
        .into_iter()
        .map(|(key, values)| format!("{key} = [{}]", values.join(", ")))
        .chain(flags)
        .collect()
}

/// A `help:` block: the command that approves what is pending for the package `spec` and
/// the equivalent TOML, indented to follow an error line. `keyed` holds the capabilities
/// already under the key a grant of them needs (`wasm_build_policy::hygiene`'s
/// `grant_keys` over [`GrantSite::rules`]), so a home or a secret is offered under its
/// dangerous key, as `approve` writes it.
pub fn grant_help(
    site: &GrantSite,
    spec: &str,
    keyed: &[Capability],
    existing: Option<&[Capability]>,
) -> String {
    let command = site.approve_command(Some(spec));
    let manifest = site.manifest_label();
    let table = site.allow_table(spec);
    let Some(existing) = existing else {
        return help_text(&command, &manifest, &table, &grant_lines(keyed), false);
    };
    // The table is there already: a second header would break the file, so the hint
    // shows the keys that change as they must read, merged with what they hold.
    let changed: Vec<&str> = keyed.iter().map(Capability::toml_key).collect();
    let merged: Vec<Capability> = existing
        .iter()
        .filter(|held| changed.contains(&held.toml_key()))
        .chain(keyed)
        .cloned()
        .collect();
    help_text(&command, &manifest, &table, &grant_lines(&merged), true)
}

/// The block, said by the diagnostics crate.
fn help_text(
    approve_command: &str,
    manifest: &str,
    allow_table: &str,
    lines: &[String],
    table_exists: bool,
) -> String {
    wasm_build_diagnostics::grant::GrantHelp {
        approve_command,
        manifest,
        allow_table,
        lines,
        table_exists,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GatedDirective;

    #[test]
    fn help_names_the_command_and_the_toml() {
        let help = grant_help(
            &GrantSite::default(),
            "zstd-sys@2.0.15+zstd.1.5.7",
            &[
                Capability::Exec("cc".into()),
                Capability::Exec("ar".into()),
                Capability::Exec("cc".into()),
                Capability::Directive(GatedDirective::RustcLinkArg),
            ],
            None,
        );
        assert_eq!(
            help,
            "help: to allow it, run `cargo wasm-build approve zstd-sys@2.0.15+zstd.1.5.7`\n      \
             or add to the workspace's Cargo.toml:\n          \
             [workspace.metadata.sandbox.allow.\"zstd-sys@2.0.15+zstd.1.5.7\"]\n          \
             directives = [\"rustc-link-arg\"]\n          \
             exec = [\"cc\", \"ar\"]\n"
        );
    }

    /// Pasting a second header for a table that exists breaks the manifest: the hint
    /// shows the keys that change, merged with what the table holds, under the header.
    #[test]
    fn an_existing_table_is_merged_into_not_repeated() {
        let existing = [Capability::Exec("cc".into()), Capability::Env("CC".into())];
        let help = grant_help(
            &GrantSite::default(),
            "zstd-sys@2.1.3",
            &[Capability::Exec("ar".into())],
            Some(&existing),
        );
        assert_eq!(
            help,
            "help: to allow it, run `cargo wasm-build approve zstd-sys@2.1.3`\n      \
             or, in the workspace's Cargo.toml, make these keys of the existing table read:\n          \
             [workspace.metadata.sandbox.allow.\"zstd-sys@2.1.3\"]\n          \
             exec = [\"cc\", \"ar\"]\n"
        );
    }
}

#[cfg(test)]
mod flag_tests {
    use super::*;

    #[test]
    fn flags_are_written_as_booleans() {
        assert_eq!(
            grant_lines(&[Capability::RunNatively]),
            ["run-natively = true"]
        );
    }
}

#[cfg(test)]
mod site_tests {
    use super::*;

    #[test]
    fn a_package_only_manifest_gets_the_package_table_and_its_path() {
        let site = GrantSite {
            manifest: Some(PathBuf::from("/src/app/Cargo.toml")),
            in_package_table: true,
            approve_args: " --target-dir /t".into(),
            rules: PathRules::default(),
        };
        let help = grant_help(
            &site,
            "cc-user@1.0.0",
            &[Capability::Exec("cc".into())],
            None,
        );
        assert!(help.contains("or add to /src/app/Cargo.toml:"), "{help}");
        assert!(
            help.contains("run `cargo wasm-build approve --target-dir /t cc-user@1.0.0`"),
            "{help}"
        );
        assert!(
            help.contains("[package.metadata.sandbox.allow.\"cc-user@1.0.0\"]"),
            "{help}"
        );
    }
}
