//! The one shell quoting of every command a message prints (an `approve` command to
//! paste, the stand-in script the wrapper writes): `shlex`'s, so that a path with spaces,
//! quotes or a `$` is one word to `/bin/sh`, and a plain path is left as it is.

use std::borrow::Cow;

/// `word` as one `/bin/sh` word: as it is when it holds only plain characters, quoted
/// otherwise. A NUL, which no shell word can hold (nor a path or an argument), is dropped.
///
/// ```
/// # use wasm_build_diagnostics::shell::quote;
/// assert_eq!(quote("/w/target"), "/w/target");
/// assert_eq!(quote("/a b"), "'/a b'");
/// ```
pub fn quote(word: &str) -> Cow<'_, str> {
    match shlex::try_quote(word) {
        Ok(quoted) => quoted,
        Err(_) => Cow::Owned(quote_without_nul(word)),
    }
}

fn quote_without_nul(word: &str) -> String {
    let without: String = word.chars().filter(|ch| *ch != '\0').collect();
    shlex::try_quote(&without).map_or_else(|_| String::from("''"), Cow::into_owned)
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "the test has a real shell read the quoted words back"
)]
mod tests {
    use super::*;

    /// Whatever the word holds, `/bin/sh` reads it back as that one word.
    #[test]
    fn the_shell_reads_back_the_word_quoted() {
        for word in [
            "/a b/it's",
            "$HOME/`id`",
            "a\"b\\c",
            "",
            "-p x",
            "日本語/パス",
            "!^*?[]",
        ] {
            let quoted = quote(word);
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", &format!("printf %s {quoted}")])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), word, "{quoted}");
        }
        assert_eq!(quote("/a b/it's"), r#""/a b/it's""#);
        assert_eq!(quote("/w/target-dir_1.x@y:z+"), "/w/target-dir_1.x@y:z+");
    }

    #[test]
    fn a_nul_is_dropped_not_a_panic() {
        assert_eq!(quote("a\0b"), "ab");
    }
}
