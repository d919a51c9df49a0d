//! The `#[cfg]` predicates written in a build script's sources.
//!
//! rustc cannot be asked which cfgs a crate's attributes test, so the sources are read:
//! every `#[cfg(...)]`, `#![cfg(...)]` and the predicate of `#[cfg_attr(...)]`, outside
//! comments and string literals (`cfg_if!` writes its branches as such attributes too).
//! `cfg!(...)` is not listed: the facade answers it for the host.

use std::path::{Path, PathBuf};

use crate::cfg::Cfg;

/// One `cfg` attribute in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfgUse {
    /// The file.
    pub file: PathBuf,
    /// Its line, from 1.
    pub line: usize,
    /// The predicate as written, tokens separated by single spaces where needed.
    pub predicate: String,
    /// Every `name` and `name = "value"` the predicate tests.
    pub cfgs: Vec<Cfg>,
    /// The predicate's structure, when it parses.
    pub expr: Option<Predicate>,
    /// The string literals of the code the attribute governs, as far as the next
    /// attribute or [`GOVERNED_LINES`] lines on: the messages that code may produce.
    pub strings: Vec<String>,
}

/// How far below an attribute its code's strings are collected.
const GOVERNED_LINES: usize = 20;

/// A `cfg` predicate, as rustc evaluates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// `name` or `name = "value"`: whether it is set.
    Is(Cfg),
    /// `all(...)`.
    All(Vec<Predicate>),
    /// `any(...)`.
    Any(Vec<Predicate>),
    /// `not(...)`.
    Not(Box<Predicate>),
}

impl Predicate {
    /// Whether the predicate holds when `set` says which cfgs are set.
    pub fn holds(&self, set: &dyn Fn(&Cfg) -> bool) -> bool {
        match self {
            Predicate::Is(cfg) => set(cfg),
            Predicate::All(all) => all.iter().all(|p| p.holds(set)),
            Predicate::Any(any) => any.iter().any(|p| p.holds(set)),
            Predicate::Not(not) => !not.holds(set),
        }
    }
}

/// The `cfg` attributes in `source`, the text of `file`.
pub fn attribute_cfgs(file: &Path, source: &str) -> Vec<CfgUse> {
    let tokens = tokenize(source);
    let mut uses = Vec::new();
    let mut at = 0;
    while at < tokens.len() {
        if let Some((predicate, next)) = attribute_predicate(&tokens, at) {
            let line = tokens[at].line;
            uses.push(CfgUse {
                file: file.to_path_buf(),
                line,
                predicate: render(predicate),
                cfgs: cfgs_of(predicate),
                expr: parse_predicate(predicate),
                strings: governed_strings(&tokens[next.min(tokens.len())..], line),
            });
            at = next;
        } else {
            at += 1;
        }
    }
    uses
}

/// The string literals in `tokens` (what follows an attribute on `line`) up to the next
/// attribute or [`GOVERNED_LINES`] lines below it.
fn governed_strings(tokens: &[Token], line: usize) -> Vec<String> {
    let mut strings = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.line > line + GOVERNED_LINES {
            break;
        }
        if token.kind == Kind::Punct('#') && attribute_predicate(tokens, i).is_some() {
            break;
        }
        if let Kind::Str(text) = &token.kind {
            strings.push(text.clone());
        }
    }
    strings
}

/// The Rust sources rustc read for a crate, from its dep-info file (Makefile syntax:
/// `target: dep dep`, spaces in paths escaped).
pub fn crate_sources(dep_info: &str) -> Vec<PathBuf> {
    let mut sources: Vec<PathBuf> = Vec::new();
    for line in dep_info.lines().filter(|line| !line.starts_with('#')) {
        let Some((_, deps)) = split_rule(line) else {
            continue;
        };
        for dep in split_escaped(deps) {
            let path = PathBuf::from(dep);
            if path.extension().is_some_and(|ext| ext == "rs") && !sources.contains(&path) {
                sources.push(path);
            }
        }
    }
    sources
}

/// `target: deps` at the first unescaped colon followed by a space or the end.
pub(crate) fn split_rule(line: &str) -> Option<(&str, &str)> {
    let bytes = line.as_bytes();
    (0..bytes.len()).find_map(|i| {
        let colon = bytes[i] == b':'
            && (i == 0 || bytes[i - 1] != b'\\')
            && bytes.get(i + 1).is_none_or(|next| *next == b' ');
        colon.then(|| (&line[..i], &line[i + 1..]))
    })
}

pub(crate) fn split_escaped(deps: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = deps.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            ' ' => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Ident(String),
    Str(String),
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    line: usize,
}

/// `#[cfg(P)]`, `#![cfg(P)]` or `#[cfg_attr(P, ...)]` starting at `at`: the tokens of
/// `P`, and where to go on scanning.
fn attribute_predicate(tokens: &[Token], at: usize) -> Option<(&[Token], usize)> {
    let punct = |i: usize, c: char| tokens.get(i).is_some_and(|t| t.kind == Kind::Punct(c));
    if !punct(at, '#') {
        return None;
    }
    let mut i = at + 1;
    if punct(i, '!') {
        i += 1;
    }
    if !punct(i, '[') {
        return None;
    }
    let is_attr = match tokens.get(i + 1).map(|t| &t.kind) {
        Some(Kind::Ident(name)) if name == "cfg" => false,
        Some(Kind::Ident(name)) if name == "cfg_attr" => true,
        _ => return None,
    };
    if !punct(i + 2, '(') {
        return None;
    }
    let start = i + 3;
    let mut depth = 0usize;
    for (offset, token) in tokens[start..].iter().enumerate() {
        let end = start + offset;
        match token.kind {
            Kind::Punct('(') => depth += 1,
            Kind::Punct(')') if depth == 0 => return Some((&tokens[start..end], end + 1)),
            Kind::Punct(')') => depth -= 1,
            Kind::Punct(',') if depth == 0 && is_attr => {
                return Some((&tokens[start..end], end + 1));
            }
            _ => {}
        }
    }
    None
}

/// The whole of `tokens` as one predicate; `None` when it is not one (a macro's
/// placeholder, a syntax error).
fn parse_predicate(tokens: &[Token]) -> Option<Predicate> {
    let (predicate, rest) = predicate_at(tokens)?;
    rest.is_empty().then_some(predicate)
}

/// The predicate at the start of `tokens`, and the tokens after it.
fn predicate_at(tokens: &[Token]) -> Option<(Predicate, &[Token])> {
    let (Kind::Ident(name), rest) = (&tokens.first()?.kind, &tokens[1..]) else {
        return None;
    };
    let punct = |at: &[Token], c: char| at.first().is_some_and(|t| t.kind == Kind::Punct(c));
    if punct(rest, '(') && ["all", "any", "not"].contains(&name.as_str()) {
        let mut items = Vec::new();
        let mut rest = &rest[1..];
        while !punct(rest, ')') {
            let (item, after) = predicate_at(rest)?;
            items.push(item);
            rest = after;
            if punct(rest, ',') {
                rest = &rest[1..];
            } else if !punct(rest, ')') {
                return None;
            }
        }
        let predicate = match name.as_str() {
            "all" => Predicate::All(items),
            "any" => Predicate::Any(items),
            _ => Predicate::Not(Box::new(
                <[Predicate; 1]>::try_from(items).ok()?.into_iter().next()?,
            )),
        };
        return Some((predicate, &rest[1..]));
    }
    if punct(rest, '=')
        && let Some(Kind::Str(value)) = rest.get(1).map(|t| &t.kind)
    {
        let cfg = Cfg {
            name: name.clone(),
            value: Some(value.clone()),
        };
        return Some((Predicate::Is(cfg), &rest[2..]));
    }
    let cfg = Cfg {
        name: name.clone(),
        value: None,
    };
    Some((Predicate::Is(cfg), rest))
}

/// The names and name-value pairs a predicate tests (`all`, `any`, `not` are structure).
fn cfgs_of(predicate: &[Token]) -> Vec<Cfg> {
    let mut cfgs = Vec::new();
    let mut i = 0;
    while i < predicate.len() {
        let Kind::Ident(name) = &predicate[i].kind else {
            i += 1;
            continue;
        };
        let next = predicate.get(i + 1).map(|t| &t.kind);
        match (next, predicate.get(i + 2).map(|t| &t.kind)) {
            (Some(Kind::Punct('=')), Some(Kind::Str(value))) => {
                cfgs.push(Cfg {
                    name: name.clone(),
                    value: Some(value.clone()),
                });
                i += 3;
            }
            (Some(Kind::Punct('(')), _) => i += 1,
            _ => {
                cfgs.push(Cfg {
                    name: name.clone(),
                    value: None,
                });
                i += 1;
            }
        }
    }
    cfgs
}

fn render(tokens: &[Token]) -> String {
    let mut text = String::new();
    for token in tokens {
        match &token.kind {
            Kind::Ident(name) => {
                if text.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '"') {
                    text.push(' ');
                }
                text.push_str(name);
            }
            Kind::Str(value) => {
                if text.ends_with('=') {
                    text.push(' ');
                }
                text.push_str(&format!("{value:?}"));
            }
            Kind::Punct('=') => text.push_str(" ="),
            Kind::Punct(',') => text.push_str(", "),
            Kind::Punct(c) => text.push(*c),
        }
    }
    text
}

/// Rust source as identifiers, string literals and punctuation, with comments, char
/// literals, lifetimes and numbers dropped. Good enough to find attributes; not a parser.
fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start_line = line;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i = skip_block_comment(&chars, i, &mut line);
        } else if c == '"' {
            let (value, next) = string(&chars, i + 1, &mut line);
            tokens.push(Token {
                kind: Kind::Str(value),
                line: start_line,
            });
            i = next;
        } else if c == '\'' {
            i = skip_char_or_lifetime(&chars, i);
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let begin = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[begin..i].iter().collect();
            if let Some(next) = literal_after_prefix(&word, &chars, i, &mut line) {
                tokens.push(Token {
                    kind: Kind::Str(next.0),
                    line: start_line,
                });
                i = next.1;
            } else if word == "r" && chars.get(i) == Some(&'#') {
                // A raw identifier: `r#type`.
                i += 1;
            } else {
                tokens.push(Token {
                    kind: Kind::Ident(word),
                    line: start_line,
                });
            }
        } else {
            tokens.push(Token {
                kind: Kind::Punct(c),
                line: start_line,
            });
            i += 1;
        }
    }
    tokens
}

/// A string literal right after a prefix (`b"..."`, `r#"..."#`, `br"..."`, `c"..."`).
fn literal_after_prefix(
    word: &str,
    chars: &[char],
    at: usize,
    line: &mut usize,
) -> Option<(String, usize)> {
    match (word, chars.get(at)) {
        ("b" | "c", Some('"')) => Some(string(chars, at + 1, line)),
        ("b", Some('\'')) => Some((String::new(), skip_char_or_lifetime(chars, at))),
        ("r" | "br" | "cr", Some('"' | '#')) => raw_string(chars, at, line),
        _ => None,
    }
}

/// A `"`-delimited string from `at` (after the opening quote): its text, and where the
/// scan goes on.
fn string(chars: &[char], mut at: usize, line: &mut usize) -> (String, usize) {
    let mut value = String::new();
    while at < chars.len() {
        match chars[at] {
            '"' => return (value, at + 1),
            '\\' => {
                if let Some(escaped) = chars.get(at + 1) {
                    if *escaped == '\n' {
                        *line += 1;
                    }
                    value.push(*escaped);
                }
                at += 2;
            }
            c => {
                if c == '\n' {
                    *line += 1;
                }
                value.push(c);
                at += 1;
            }
        }
    }
    (value, at)
}

/// `#*"..."#*` from `at` (after `r`); `None` when it is not a raw string after all.
fn raw_string(chars: &[char], mut at: usize, line: &mut usize) -> Option<(String, usize)> {
    let mut hashes = 0;
    while chars.get(at) == Some(&'#') {
        hashes += 1;
        at += 1;
    }
    if chars.get(at) != Some(&'"') {
        return None;
    }
    at += 1;
    let mut value = String::new();
    while at < chars.len() {
        if chars[at] == '"' && (1..=hashes).all(|k| chars.get(at + k) == Some(&'#')) {
            return Some((value, at + 1 + hashes));
        }
        if chars[at] == '\n' {
            *line += 1;
        }
        value.push(chars[at]);
        at += 1;
    }
    Some((value, at))
}

fn skip_block_comment(chars: &[char], mut at: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while at < chars.len() {
        if chars[at] == '/' && chars.get(at + 1) == Some(&'*') {
            depth += 1;
            at += 2;
        } else if chars[at] == '*' && chars.get(at + 1) == Some(&'/') {
            depth -= 1;
            at += 2;
            if depth == 0 {
                return at;
            }
        } else {
            if chars[at] == '\n' {
                *line += 1;
            }
            at += 1;
        }
    }
    at
}

/// `'x'`, `'\n'`, `'\u{..}'` or a lifetime `'a` from `at` (on the quote).
fn skip_char_or_lifetime(chars: &[char], at: usize) -> usize {
    match (chars.get(at + 1), chars.get(at + 2)) {
        (Some('\\'), _) => {
            let mut end = at + 2;
            while end < chars.len() && chars[end] != '\'' {
                end += 1;
            }
            end + 1
        }
        (Some(_), Some('\'')) => at + 3,
        _ => {
            let mut end = at + 1;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            end
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predicates(source: &str) -> Vec<(usize, String)> {
        attribute_cfgs(Path::new("build.rs"), source)
            .into_iter()
            .map(|u| (u.line, u.predicate))
            .collect()
    }

    #[test]
    fn attributes_are_found_and_comments_and_strings_are_not() {
        let source = r##"
// #[cfg(windows)] in a comment
/* #[cfg(windows)] /* nested */ still a comment */
#![cfg(not(target_os = "wasi"))]
#[cfg(all(unix, target_arch = "x86_64"))]
fn a<'a>(x: &'a str) -> char { let _ = "#[cfg(windows)]"; let _ = r#"#[cfg(windows)]"#; '#' }
#[cfg_attr(target_os = "linux", path = "linux.rs")]
mod m;
cfg_if::cfg_if! { if #[cfg(target_pointer_width = "64")] { } }
let _ = cfg!(windows);
#[doc(cfg(windows))] fn b() {}
"##;
        assert_eq!(
            predicates(source),
            [
                (4, "not(target_os = \"wasi\")".to_string()),
                (5, "all(unix, target_arch = \"x86_64\")".to_string()),
                (7, "target_os = \"linux\"".to_string()),
                (9, "target_pointer_width = \"64\"".to_string()),
            ]
        );
    }

    #[test]
    fn the_cfgs_of_a_predicate_are_its_leaves() {
        let uses = attribute_cfgs(
            Path::new("build.rs"),
            "#[cfg(any(all(unix, not(windows)), feature = \"x\"))] fn f() {}",
        );
        let cfgs: Vec<String> = uses[0].cfgs.iter().map(ToString::to_string).collect();
        assert_eq!(cfgs, ["unix", "windows", "feature = \"x\""]);
    }

    #[test]
    fn the_strings_an_attribute_governs_are_kept() {
        let source = r#"
#[cfg(target_arch = "wasm32")]
fn set_perms() -> std::io::Result<()> {
    Err(std::io::Error::other("Not implemented"))
}
#[cfg(unix)]
fn set_perms() -> std::io::Result<()> { Err(std::io::Error::other("unix")) }
"#;
        let uses = attribute_cfgs(Path::new("lib.rs"), source);
        assert_eq!(uses[0].strings, ["Not implemented"]);
        assert_eq!(uses[1].strings, ["unix"]);
    }

    #[test]
    fn predicates_evaluate_as_rustc_does() {
        let set = |cfg: &Cfg| {
            cfg.name == "unix" || (cfg.name == "target_os" && cfg.value.as_deref() == Some("linux"))
        };
        let holds = |source: &str| {
            attribute_cfgs(Path::new("build.rs"), source)[0]
                .expr
                .as_ref()
                .map(|expr| expr.holds(&set))
        };
        assert_eq!(holds("#[cfg(unix)] fn f() {}"), Some(true));
        assert_eq!(holds("#[cfg(not(unix))] fn f() {}"), Some(false));
        assert_eq!(
            holds("#[cfg(all(unix, not(target_os = \"macos\"),))] fn f() {}"),
            Some(true),
            "a trailing comma"
        );
        assert_eq!(
            holds("#[cfg(any(windows, target_os = \"linux\"))] fn f() {}"),
            Some(true)
        );
        assert_eq!(holds("#[cfg(all())] fn f() {}"), Some(true));
        assert_eq!(holds("#[cfg(any())] fn f() {}"), Some(false));
        assert_eq!(
            holds("#[cfg_attr(windows, path = \"w.rs\")] mod m;"),
            Some(false)
        );
        assert_eq!(holds("#[cfg(not(unix, windows))] fn f() {}"), None);
        assert_eq!(holds("#[cfg($meta)] fn f() {}"), None);
    }

    #[test]
    fn dep_info_lists_the_rust_sources() {
        let dep_info = "/t/build_script_build-1.wasm: /p/build.rs /p/my\\ dir/gen.rs /p/data.txt\n\n/p/build.rs:\n/p/my\\ dir/gen.rs:\n\n# env-dep:OUT_DIR\n";
        assert_eq!(
            crate_sources(dep_info),
            [
                PathBuf::from("/p/build.rs"),
                PathBuf::from("/p/my dir/gen.rs")
            ]
        );
    }
}
