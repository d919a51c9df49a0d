//! Text a crate wrote (its `reason`, the paths and names it requests, what its build
//! script printed or tried) is the attacker's: it must not steer the terminal or the
//! Markdown it is shown in. Control characters (a `\r` or a cursor movement that
//! overwrites the "requested" line), bidirectional overrides, and markup (`<!--` that
//! hides the rest of a card, a link) are shown as inert text instead. The permission
//! display (table, Markdown, HTML) and every message escape through here.

use crate::inert::Inert;

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

/// How many terminal columns `text` takes: two for the wide characters of East Asian
/// scripts and emoji, one for the rest (the text is already [`terminal`]-escaped, so no
/// control character is left to take none).
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

fn char_width(ch: char) -> usize {
    const WIDE: &[(u32, u32)] = &[
        (0x1100, 0x115F),
        (0x2E80, 0x303E),
        (0x3041, 0x33FF),
        (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF),
        (0xA000, 0xA4CF),
        (0xAC00, 0xD7A3),
        (0xF900, 0xFAFF),
        (0xFE30, 0xFE4F),
        (0xFF00, 0xFF60),
        (0xFFE0, 0xFFE6),
        (0x1F300, 0x1F64F),
        (0x1F900, 0x1F9FF),
        (0x20000, 0x3FFFD),
    ];
    let code = u32::from(ch);
    if WIDE.iter().any(|&(low, high)| (low..=high).contains(&code)) {
        2
    } else {
        1
    }
}

/// `text` in lines of at most `max` columns, broken after spaces where it can and
/// between characters where a word is longer than a line: nothing is cut.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_inclusive(' ') {
        if width(&line) + width(word.trim_end()) > max && !line.is_empty() {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        for ch in word.chars() {
            if width(&line) + char_width(ch) > max && ch != ' ' {
                lines.push(line.trim_end().to_string());
                line.clear();
            }
            line.push(ch);
        }
    }
    if !line.trim_end().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        let hostile = "needs nothing\r\x1b[2K\x1b[1Agranted: everything\u{202e}";
        let shown = terminal(hostile);
        assert!(
            !shown.chars().any(crate::inert::is_invisible_control),
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
    fn wrapping_keeps_every_character() {
        assert_eq!(
            wrap("exec: cc, ar; env: CC", 10),
            ["exec: cc,", "ar; env:", "CC"]
        );
        assert_eq!(wrap("short", 10), ["short"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(
            wrap("/a/very/long/path/indeed", 10),
            ["/a/very/lo", "ng/path/in", "deed"]
        );
        let path = "日本語のパス/include";
        let lines = wrap(path, 8);
        assert_eq!(lines.concat(), path);
        assert!(lines.iter().all(|line| width(line) <= 8), "{lines:?}");
        assert_eq!(width("日本"), 4);
    }

    #[test]
    fn shortening_never_cuts_a_character() {
        assert_eq!(shorten("ééééé", 3), "éé…");
        assert_eq!(shorten("日本語のパス/include", 34), "日本語のパス/include");
        assert_eq!(shorten(&"🦀".repeat(40), 34).chars().count(), 34);
    }
}
