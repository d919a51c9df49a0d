//! A request as one line of a message: what the script ran, quoted like a shell would
//! take it (the one shell quoting, [`wasm_build_diagnostics::shell::quote`]), with the variables that change what runs, and inert (every word is the
//! script's).

use wasm_build_contract::inert::Inert;
use wasm_build_diagnostics::shell::quote;
use wasm_build_shim::protocol::SpawnRequest;

/// `program args...`, quoted where needed, for messages: [`Inert`], since every word of it
/// is the script's.
pub(super) fn command_line(request: &SpawnRequest) -> String {
    let quote = |part: &String| quote(part).into_owned();
    let line = request
        .env
        .iter()
        .filter_map(|(name, value)| {
            let value = value.as_ref()?;
            wasm_build_policy::env_names::changes_what_programs_run(name)
                .then(|| format!("{name}={}", quote(value)))
        })
        .chain(
            std::iter::once(&request.program)
                .chain(&request.args)
                .map(quote),
        )
        .collect::<Vec<_>>()
        .join(" ");
    Inert(&line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_quoted_for_messages() {
        let request = SpawnRequest {
            program: "sh".into(),
            args: vec!["-c".into(), "echo 'hi there'".into(), String::new()],
            env: vec![
                ("LD_PRELOAD".into(), Some("/t/x.so".into())),
                ("CC".into(), Some("gcc".into())),
            ],
            ..SpawnRequest::default()
        };
        // The one shell quoting, shlex's: the broker's own copy wrote the argument as
        // `'echo '\''hi there'\'''`.
        assert_eq!(
            command_line(&request),
            r#"LD_PRELOAD=/t/x.so sh -c "echo 'hi there'" ''"#
        );
    }

    /// A command line is the script's text from end to end: the program's name, its
    /// arguments and the names of the variables it sets show inert in every message.
    #[test]
    fn command_lines_show_what_the_script_wrote_inert() {
        let hostile = "\x1b]52;c;aGk=\x07\x1b[2K\u{202e}";
        let request = SpawnRequest {
            program: format!("./{hostile}"),
            args: vec![format!("-o{hostile}")],
            env: vec![(format!("LD_{hostile}"), Some(hostile.into()))],
            ..SpawnRequest::default()
        };
        let line = command_line(&request);
        assert!(!line.contains(['\x1b', '\x07', '\u{202e}']), "{line:?}");
        let shown = r"\u{1b}]52;c;aGk=\u{7}\u{1b}[2K\u{202e}";
        // shlex quotes a word that holds control characters; the quotes are all it adds.
        assert_eq!(
            line,
            format!("LD_{shown}='{shown}' './{shown}' '-o{shown}'")
        );
    }
}
