//! The text that tells a user how to grant what was denied: the command that approves it
//! and the TOML it writes, indented to follow an error line. Which keys and values that
//! TOML holds is the permission model's (`wasm_build_permissions_schema::grant_lines`);
//! how it is said is here.

/// Where the lines of a help block begin: under the `help:` text.
pub const INDENT: &str = "          ";

/// A `help:` block that grants something to one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantHelp<'a> {
    /// `cargo wasm-build approve ... name@version`.
    pub approve_command: &'a str,
    /// The manifest the grant goes in, as the user knows it.
    pub manifest: &'a str,
    /// `[workspace.metadata.sandbox.allow."name@version"]`.
    pub allow_table: &'a str,
    /// The keys that grant it, one per line (`exec = ["cc"]`).
    pub lines: &'a [String],
    /// Whether the table is in the manifest already: then the lines are the keys that
    /// change, as they must read (a second header would break the file).
    pub table_exists: bool,
}

impl GrantHelp<'_> {
    /// The block, each line ending in a line break.
    pub fn render(&self) -> String {
        let place = if self.table_exists {
            format!(
                "or, in {}, make these keys of the existing table read",
                self.manifest
            )
        } else {
            format!("or add to {}", self.manifest)
        };
        let mut help = format!(
            "help: to allow it, run `{}`\n      {place}:\n{INDENT}{}\n",
            self.approve_command, self.allow_table
        );
        for line in self.lines {
            help.push_str(&format!("{INDENT}{line}\n"));
        }
        help
    }
}

/// `lines` under `help_line`, indented as a help block's TOML is.
pub fn with_lines(help_line: String, lines: &[String]) -> String {
    let mut text = help_line;
    for line in lines {
        text.push_str(&format!("{INDENT}{line}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_table_and_an_existing_one_are_said_apart() {
        let lines = ["exec = [\"cc\"]".to_string()];
        let mut help = GrantHelp {
            approve_command: "cargo wasm-build approve x@1.0.0",
            manifest: "the workspace's Cargo.toml",
            allow_table: "[workspace.metadata.sandbox.allow.\"x@1.0.0\"]",
            lines: &lines,
            table_exists: false,
        };
        assert_eq!(
            help.render(),
            "help: to allow it, run `cargo wasm-build approve x@1.0.0`\n      or add to the \
             workspace's Cargo.toml:\n          [workspace.metadata.sandbox.allow.\"x@1.0.0\"]\n          \
             exec = [\"cc\"]\n"
        );
        help.table_exists = true;
        assert!(
            help.render().contains(
                "or, in the workspace's Cargo.toml, make these keys of the existing table read:\n"
            ),
            "{}",
            help.render()
        );
    }
}
