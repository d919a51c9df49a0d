//! Text a crate wrote is the attacker's, and so is what its build script and the programs
//! the script ran print: on a terminal, an escape sequence in it writes the clipboard
//! (OSC 52), retitles the window (OSC 0), or moves the cursor and erases the tool's own
//! lines; a bidirectional override makes a reviewer read it backwards. Every message the
//! tool prints shows such text through [`Inert`] (or [`InertLines`] for a whole message),
//! which writes those characters as visible `\u{..}` escapes instead.
//!
//! This crate is the lowest every process links, so the stand-in, the runtime, the
//! wrapper, the CLI and the permission display share this one definition (re-exported as
//! `wasm_build_permissions_schema::inert` and `wasm_build_contract::inert`).

use std::borrow::Cow;
use std::fmt;

/// Whether `ch` steers a terminal rather than being shown by it: a C0 or C1 control
/// character or DEL (escape sequences begin with ESC or CSI), or a bidirectional
/// embedding, override or isolate.
pub fn steers_terminal(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether `ch` changes how the text around it is shown rather than being shown itself:
/// what [`steers_terminal`], and the zero-width characters and direction marks that hide
/// or reorder text without a visible sign.
pub fn is_invisible_control(ch: char) -> bool {
    steers_terminal(ch) || matches!(ch, '\u{200b}'..='\u{200f}' | '\u{feff}')
}

/// Text a crate, its build script or a program wrote, for a message on one line: shown
/// with every [`is_invisible_control`] character as a visible `\u{..}` escape.
///
/// ```
/// # use wasm_build_diagnostics::inert::Inert;
/// assert_eq!(Inert("a\x1b]0;owned\x07b").to_string(), r"a\u{1b}]0;owned\u{7}b");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inert<'a>(pub &'a str);

impl fmt::Display for Inert<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, is_invisible_control)
    }
}

/// A whole message of several lines that holds text a crate wrote (a rendered error, a
/// compiler's diagnostics): like [`Inert`], but line breaks and tabs stay as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InertLines<'a>(pub &'a str);

impl fmt::Display for InertLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, |ch| {
            ch != '\n' && ch != '\t' && is_invisible_control(ch)
        })
    }
}

/// The text of a `cargo:warning` or `cargo::error` line, which cargo prints as it is:
/// only what [`steers_terminal`] is escaped (tabs stay, and so does every other
/// character, zero-width joiners of emoji included), so that it differs from what a
/// native build prints only where it held such a character.
pub fn for_cargo_to_print(text: &str) -> Cow<'_, str> {
    let escape = |ch: char| ch != '\t' && steers_terminal(ch);
    if !text.chars().any(escape) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    // Writing to a String cannot fail.
    let _ = write_escaped(&mut shown, text, escape);
    Cow::Owned(shown)
}

/// Writes `text`, each character `escape` picks as `\u{hex}`.
fn write_escaped(
    out: &mut impl fmt::Write,
    text: &str,
    escape: impl Fn(char) -> bool,
) -> fmt::Result {
    let mut rest = text;
    while let Some((at, ch)) = rest.char_indices().find(|(_, ch)| escape(*ch)) {
        out.write_str(&rest[..at])?;
        write!(out, "\\u{{{:x}}}", u32::from(ch))?;
        rest = &rest[at + ch.len_utf8()..];
    }
    out.write_str(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OSC 52 (clipboard), OSC 0 (title), cursor movement and erasure, a C1 CSI, DEL and
    /// a right-to-left override: what a hostile build script prints.
    const HOSTILE: &str =
        "\x1b]52;c;ZWNobyBvd25lZA==\x07\x1b]0;title\x1b\\\x1b[2K\x1b[1A\u{9b}2J\x7f\u{202e}gpj.exe";

    #[test]
    fn nothing_that_steers_a_terminal_is_left() {
        for shown in [
            Inert(HOSTILE).to_string(),
            InertLines(HOSTILE).to_string(),
            for_cargo_to_print(HOSTILE).into_owned(),
        ] {
            assert!(!shown.chars().any(steers_terminal), "{shown:?}");
            assert!(
                shown.contains(r"\u{1b}]52;c;ZWNobyBvd25lZA==\u{7}"),
                "{shown}"
            );
            assert!(shown.contains(r"\u{9b}2J\u{7f}\u{202e}gpj.exe"), "{shown}");
        }
    }

    #[test]
    fn escaping_twice_changes_nothing() {
        let once = Inert(HOSTILE).to_string();
        assert_eq!(Inert(&once).to_string(), once);
        assert_eq!(for_cargo_to_print(&once), once);
    }

    #[test]
    fn lines_keep_their_breaks_and_tabs() {
        assert_eq!(
            InertLines("error: a\n\tb\r\x1b[1A\u{200b}").to_string(),
            "error: a\n\tb\\u{d}\\u{1b}[1A\\u{200b}"
        );
        assert_eq!(Inert("a\n\tb").to_string(), r"a\u{a}\u{9}b");
    }

    /// A warning keeps what a terminal only shows: tabs, accents, scripts, emoji built
    /// with zero-width joiners; ordinary text is handed on untouched.
    #[test]
    fn warnings_keep_ordinary_unicode() {
        let ordinary = "crate\tdonnées 日本語 👩\u{200d}💻 \u{200f}";
        assert!(matches!(for_cargo_to_print(ordinary), Cow::Borrowed(text) if text == ordinary));
        assert_eq!(for_cargo_to_print("a\rb\u{2066}c"), r"a\u{d}b\u{2066}c");
    }
}
