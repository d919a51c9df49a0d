//! Text a crate wrote (its `reason`, the paths and names it requests, what its build
//! script printed or tried) is the attacker's: it must not steer the terminal or the
//! Markdown it is shown in. Control characters (a `\r` or a cursor movement that
//! overwrites the "requested" line), bidirectional overrides, and markup (`<!--` that
//! hides the rest of a card, a link) are shown as inert text instead.

use wasm_build_permissions_schema::inert::Inert;

/// `text` for a terminal: every control character as a visible `\u{..}` escape (the
/// tool's one definition, [`Inert`], which its other messages use too).
pub fn terminal(text: &str) -> String {
    Inert(text).to_string()
}

/// `text` for Markdown prose: control characters escaped as for a terminal, HTML
/// syntax as entities, and every other markup character backslash-escaped.
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in terminal(text).chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            ch => out.push(ch),
        }
    }
    out
}

/// `text` as a Markdown code span it cannot end early: fenced by more backticks than it
/// holds in a row, control characters escaped.
pub fn code_span(text: &str) -> String {
    let text = terminal(text);
    let longest = text.split(|ch| ch != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// The first `max` characters of `text` (never cut inside one), with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some(_) => {
            let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
            cut.push('…');
            cut
        }
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let hostile = "needs nothing\r\x1b[2K\x1b[1Agranted: everything\u{202e}";
        let shown = terminal(hostile);
        assert!(
            !shown
                .chars()
                .any(wasm_build_permissions_schema::inert::is_invisible_control),
            "{shown}"
        );
        assert_eq!(
            shown,
            "needs nothing\\u{d}\\u{1b}[2K\\u{1b}[1Agranted: everything\\u{202e}"
        );
    }

    #[test]
    fn markup_is_shown_not_rendered() {
        let shown = markdown("fine <!-- [click](http://x) *bold* `code`\n## heading");
        assert_eq!(
            shown,
            "fine &lt;\\!-- \\[click\\]\\(http://x\\) \\*bold\\* \\`code\\`\\\\u{a}\\#\\# heading"
        );
    }

    #[test]
    fn code_spans_hold_whatever_the_crate_wrote() {
        assert_eq!(code_span("cc"), "`cc`");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("x\n<!--"), "`x\\u{a}<!--`");
    }

    #[test]
    fn shortening_never_cuts_a_character() {
        assert_eq!(shorten("ééééé", 3), "éé…");
        assert_eq!(shorten("日本語のパス/include", 34), "日本語のパス/include");
        assert_eq!(shorten(&"🦀".repeat(40), 34).chars().count(), 34);
    }
}
