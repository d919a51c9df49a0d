//! The tool's own exit statuses. Cargo's status passes through unchanged otherwise.

/// The tool itself failed (a malformed policy, cargo not found): cargo's code for errors.
pub const CARGO_FAILED: i32 = 101;

/// A gate refused: strict mode found unreviewed permissions, or `permissions --check`
/// found something to review.
pub const UNREVIEWED: i32 = 1;

/// `cargo wasm-build approve --all`, with the `--manifest-path` of `args` if there was one,
/// so the printed command works from where the user ran the build.
pub fn approve_command(args: &[String], spec: Option<&str>) -> String {
    let mut command = String::from("cargo wasm-build approve");
    let mut iter = args.iter().take_while(|arg| *arg != "--");
    while let Some(arg) = iter.next() {
        if arg == "--manifest-path" {
            if let Some(path) = iter.next() {
                command.push_str(&format!(" --manifest-path {path}"));
            }
        } else if arg.starts_with("--manifest-path=") {
            command.push(' ');
            command.push_str(arg);
        }
    }
    match spec {
        Some(spec) => command.push_str(&format!(" {spec}")),
        None => command.push_str(" --all"),
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approve_command_keeps_the_manifest_path() {
        let args: Vec<String> = ["--release", "--manifest-path", "w/Cargo.toml"]
            .map(String::from)
            .into();
        assert_eq!(
            approve_command(&args, None),
            "cargo wasm-build approve --manifest-path w/Cargo.toml --all"
        );
        assert_eq!(
            approve_command(&[], Some("cc@1.0.0")),
            "cargo wasm-build approve cc@1.0.0"
        );
    }

    #[test]
    fn codes_are_distinct() {
        assert_ne!(CARGO_FAILED, UNREVIEWED);
        assert_ne!(UNREVIEWED, 0);
    }
}
