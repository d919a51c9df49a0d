//! The text that tells a user how to grant what was denied.

use std::collections::BTreeMap;

use crate::capability::{Capability, toml_string};

/// `name@version`, the spelling grants use for a package.
pub fn package_spec(name: &str, version: &str) -> String {
    format!("{name}@{version}")
}

/// The TOML table header under which the consumer grants `name@version`.
pub fn allow_table(name: &str, version: &str) -> String {
    format!(
        "[workspace.metadata.sandbox.allow.{}]",
        toml_string(&package_spec(name, version))
    )
}

/// The lines that grant `capabilities`, one key per line, values merged, e.g.
/// `exec = ["ar", "cc"]`.
pub fn grant_lines(capabilities: &[Capability]) -> Vec<String> {
    let mut by_key: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut flags: Vec<String> = Vec::new();
    for capability in capabilities {
        if capability.is_flag() {
            let line = capability.toml_line();
            if !flags.contains(&line) {
                flags.push(line);
            }
            continue;
        }
        let values = by_key.entry(capability.toml_key()).or_default();
        let value = toml_string(&capability.toml_value());
        if !values.contains(&value) {
            values.push(value);
        }
    }
    by_key
        .into_iter()
        .map(|(key, values)| format!("{key} = [{}]", values.join(", ")))
        .chain(flags)
        .collect()
}

/// A `help:` block: the command that approves what is pending for the package and the
/// equivalent TOML, indented to follow an error line.
pub fn grant_help(name: &str, version: &str, capabilities: &[Capability]) -> String {
    let mut help = format!(
        "help: to allow it, run `cargo wasm-build approve {}`\n      or add to the workspace's Cargo.toml:\n          {}\n",
        package_spec(name, version),
        allow_table(name, version)
    );
    for line in grant_lines(capabilities) {
        help.push_str("          ");
        help.push_str(&line);
        help.push('\n');
    }
    help
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GatedDirective;

    #[test]
    fn help_names_the_command_and_the_toml() {
        let help = grant_help(
            "zstd-sys",
            "2.0.15+zstd.1.5.7",
            &[
                Capability::Exec("cc".into()),
                Capability::Exec("ar".into()),
                Capability::Exec("cc".into()),
                Capability::Directive(GatedDirective::RustcLinkArg),
            ],
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
