//! The directive filter: what of a run's stdout cargo gets, what is pending review,
//! refused, forbidden or dropped (the verdicts are the policy's, [`RunContext::judge`]).

use std::borrow::Cow;

use wasm_build_contract::inert::for_cargo_to_print;
use wasm_build_contract::policy::Policy;
use wasm_build_permissions_schema::Capability;
use wasm_build_policy::directive::{self, Directive};
use wasm_build_policy::judge::RunContext;
use wasm_build_policy::verdict::Verdict;

use crate::attempt::Attempt;

/// What the directive filter decided about one run's stdout.
#[derive(Debug, Default)]
pub(crate) struct Filtered {
    /// The lines cargo gets.
    pub(crate) stdout: Vec<u8>,
    /// Pending capabilities: the build fails until they are granted or denied.
    pub(crate) pending: Vec<(Attempt, Capability)>,
    /// Lines that can never pass, with why.
    pub(crate) forbidden: Vec<(String, &'static str)>,
    /// Lines dropped because the consumer denied what they need.
    pub(crate) refused: Vec<String>,
    /// Lines dropped because they are unsafe to pass and unneeded, with why.
    pub(crate) dropped: Vec<String>,
}

pub(crate) fn filter(policy: &Policy, ctx: &RunContext, stdout: &[u8]) -> Filtered {
    let mut filtered = Filtered::default();
    let mut kept: Vec<Cow<'_, [u8]>> = Vec::new();
    for line in directive::parse(stdout) {
        let text = || String::from_utf8_lossy(line.raw).trim().to_string();
        let verdict = match &line.directive {
            Some((_, directive)) => ctx.judge(policy, directive),
            None => Verdict::Allowed,
        };
        match verdict {
            Verdict::Allowed => kept.push(printable_by_cargo(&line)),
            Verdict::Learning(capability) => {
                kept.push(printable_by_cargo(&line));
                filtered
                    .pending
                    .push((Attempt::Printed(text()), capability));
            }
            Verdict::Pending(capability) => filtered
                .pending
                .push((Attempt::Printed(text()), capability)),
            Verdict::Refused(_) => filtered.refused.push(text()),
            Verdict::Forbidden(why) => filtered.forbidden.push((text(), why)),
            Verdict::Dropped(why) => filtered.dropped.push(format!("{}: {why}", text())),
        }
    }
    // Splitting on `\n` leaves an empty last piece after a final newline, so joining the
    // kept pieces restores the script's own line endings.
    filtered.stdout = kept.join(&b'\n');
    filtered
}

/// The line as cargo gets it: verbatim, except that cargo prints the text of a `warning`
/// and an `error` to the terminal as it is, so there what would steer the terminal is
/// escaped ([`for_cargo_to_print`]). The whitespace cargo trims off stays as it was.
pub(crate) fn printable_by_cargo<'a>(line: &directive::Line<'a>) -> Cow<'a, [u8]> {
    let printed = matches!(
        line.directive,
        Some((_, Directive::Warning(_) | Directive::Error(_)))
    );
    let Some(text) = std::str::from_utf8(line.raw).ok().filter(|_| printed) else {
        return Cow::Borrowed(line.raw);
    };
    let trimmed = text.trim();
    let Cow::Owned(shown) = for_cargo_to_print(trimmed) else {
        return Cow::Borrowed(line.raw);
    };
    let start = text.len() - text.trim_start().len();
    let end = start + trimmed.len();
    Cow::Owned([&text[..start], &shown, &text[end..]].concat().into_bytes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;

    fn ctx(dir: &Path) -> RunContext {
        RunContext {
            out_dir: dir.join("out"),
            manifest_dir: dir.to_path_buf(),
            readable: Vec::new(),
            hidden_env: BTreeSet::new(),
        }
    }

    #[test]
    fn filter_keeps_safe_lines_verbatim_and_collects_pending() {
        let dir = tempfile::tempdir().unwrap();
        let out = b"hello\ncargo:rustc-cfg=foo\ncargo::rustc-link-arg=-Wl,-x\n  cargo:rustc-env=A=1  \ncargo:KEY=v\n";
        let filtered = filter(&Policy::default(), &ctx(dir.path()), out);
        assert_eq!(
            String::from_utf8(filtered.stdout).unwrap(),
            "hello\ncargo:rustc-cfg=foo\ncargo:KEY=v\n"
        );
        let pending: Vec<_> = filtered
            .pending
            .iter()
            .map(|(line, _)| match line {
                Attempt::Printed(line) => line.as_str(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            pending,
            ["cargo::rustc-link-arg=-Wl,-x", "cargo:rustc-env=A=1"]
        );
    }

    /// Cargo prints the text of a warning and of an error to the terminal as it is: what
    /// would steer the terminal reaches cargo escaped, every other line and character
    /// verbatim, and the whitespace cargo trims off as it was.
    #[test]
    fn warnings_reach_cargo_inert() {
        let dir = tempfile::tempdir().unwrap();
        let out = "cargo:warning=\x1b]52;c;aGk=\x07 copied\r\n  cargo::error=\u{202e}txt.exe\n\
                   cargo:warning=données\tok 👩\u{200d}💻\ncargo:rustc-cfg=a\x1b\n";
        let filtered = filter(&Policy::default(), &ctx(dir.path()), out.as_bytes());
        assert_eq!(
            String::from_utf8(filtered.stdout).unwrap(),
            "cargo:warning=\\u{1b}]52;c;aGk=\\u{7} copied\r\n  cargo::error=\\u{202e}txt.exe\n\
             cargo:warning=données\tok 👩\u{200d}💻\ncargo:rustc-cfg=a\x1b\n"
        );
    }

    #[test]
    fn filter_keeps_a_missing_final_newline_missing() {
        let dir = tempfile::tempdir().unwrap();
        let filtered = filter(
            &Policy::default(),
            &ctx(dir.path()),
            b"cargo:rustc-cfg=a\nlast",
        );
        assert_eq!(filtered.stdout, b"cargo:rustc-cfg=a\nlast");
        let filtered = filter(&Policy::default(), &ctx(dir.path()), b"");
        assert_eq!(filtered.stdout, b"");
    }
}
