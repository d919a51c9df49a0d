//! The HTML rendering: one self-contained page (no scripts, fonts or images from the
//! network), a summary table linking to a card per build-time package. Status is always
//! written in words, never by colour alone; colours meet WCAG AA contrast.

use std::fmt::Write as _;

use super::markdown::badges;
use super::{CardStatus, PackageCard, PermissionReport, short_run, short_set};

const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --card: #ffffff; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 0; }
code { font: .9em/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .75rem; margin: 1rem 0 1.5rem; padding: 0; list-style: none; }
.summary li { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; }
.summary strong { display: block; font-size: 1.5rem; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); margin-bottom: 1.5rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eaeef2; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
.card header { display: flex; justify-content: space-between; gap: .5rem; align-items: baseline; flex-wrap: wrap; }
.badges { display: flex; flex-wrap: wrap; gap: .35rem; margin: .6rem 0; padding: 0; list-style: none; }
.badge { border-radius: 999px; padding: .05rem .6rem; font-size: .8rem; border: 1px solid #8c959f; background: #f6f8fa; color: #24292f; }
.status { font-weight: 600; border-radius: 6px; padding: .05rem .5rem; font-size: .85rem; }
.status-needs-review { background: #ffebe9; color: #a40e26; border: 1px solid #a40e26; }
.status-sandboxed, .status-no-build-time-code { background: #dafbe1; color: #116329; border: 1px solid #116329; }
.danger { color: #a40e26; font-weight: 600; }
.status-granted { background: #ddf4ff; color: #0a3069; border: 1px solid #0a3069; }
.status-native, .status-proc-macro { background: #fff8c5; color: #6f4b00; border: 1px solid #6f4b00; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
"#;

/// The field that shows grants past the usual, in red.
const DANGEROUS: &str = "Dangerous grant";

/// The field that shows requests past the usual, in red.
const DANGEROUS_REQUEST: &str = "Dangerous request";

/// The field that shows what waits for review past the usual, in red.
const DANGEROUS_UNREVIEWED: &str = "Dangerous, unreviewed";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in super::escape::terminal(text).chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            ch => out.push(ch),
        }
    }
    out
}

fn status_class(status: CardStatus) -> &'static str {
    match status {
        CardStatus::NoBuildTimeCode => "no-build-time-code",
        CardStatus::Sandboxed => "sandboxed",
        CardStatus::Granted => "granted",
        CardStatus::NeedsReview => "needs-review",
        CardStatus::Native => "native",
        CardStatus::ProcMacro => "proc-macro",
    }
}

fn anchor(card: &PackageCard) -> String {
    let raw = format!("pkg-{}-{}", card.name, card.version);
    raw.chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' {
                ch
            } else {
                '-'
            }
        })
        .collect()
}

/// The whole report as one HTML page.
pub fn render_html(report: &PermissionReport) -> String {
    let summary = &report.summary;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Build-time permissions of {root}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>Build-time permissions</h1>\n<p class=\"muted\">Workspace <code>{root}</code> · mode <code>{mode}</code> · made by {tool}</p>\n",
        root = escape(&report.workspace_root),
        mode = report.mode.as_str(),
        tool = escape(&report.tool),
    );
    let _ = writeln!(out, "<ul class=\"summary\" aria-label=\"Summary\">");
    for (count, label) in [
        (summary.build_scripts, "build scripts"),
        (summary.proc_macros, "proc macros (not sandboxed)"),
        (summary.running_programs, "run programs"),
        (summary.using_network, "use the network"),
        (summary.reading_or_writing_paths, "touch extra paths"),
        (summary.unreviewed, "need review"),
        (summary.drifted, "grants for another version"),
        (summary.packages, "packages in the graph"),
    ] {
        let _ = writeln!(out, "<li><strong>{count}</strong> {label}</li>");
    }
    let _ = writeln!(out, "</ul>");

    let build_time: Vec<&PackageCard> = report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
        .collect();
    let _ = writeln!(
        out,
        "<table>\n<caption class=\"muted\">Packages that run code at build time</caption>\n<thead><tr><th scope=\"col\">Package</th><th scope=\"col\">Status</th><th scope=\"col\">Requested</th><th scope=\"col\">Granted</th><th scope=\"col\">Last run</th></tr></thead>\n<tbody>"
    );
    for card in &build_time {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><a href=\"#{anchor}\">{name} {version}</a></th><td><span class=\"status status-{class}\">{status}</span></td><td>{requested}</td><td>{granted}</td><td>{run}</td></tr>",
            anchor = anchor(card),
            name = escape(&card.name),
            version = escape(&card.version),
            class = status_class(card.status),
            status = card.status.label(),
            requested = escape(&short_set(&card.requested)),
            granted = escape(&short_set(&card.granted)),
            run = escape(&card.last_run.as_ref().map_or_else(|| "-".into(), short_run)),
        );
    }
    let _ = writeln!(
        out,
        "</tbody>\n</table>\n<section class=\"cards\" aria-label=\"Packages\">"
    );
    for card in &build_time {
        render_card(&mut out, card);
    }
    let quiet = report.packages.len() - build_time.len();
    let _ = writeln!(
        out,
        "</section>\n<p class=\"muted\">{quiet} other packages run no code at build time.</p>\n</main>\n</body>\n</html>"
    );
    out
}

fn render_card(out: &mut String, card: &PackageCard) {
    let id = anchor(card);
    let _ = writeln!(
        out,
        "<article class=\"card\" id=\"{id}\" aria-labelledby=\"{id}-title\">\n<header><h2 id=\"{id}-title\">{name} <span class=\"muted\">{version}</span></h2><span class=\"status status-{class}\">{status}</span></header>",
        name = escape(&card.name),
        version = escape(&card.version),
        class = status_class(card.status),
        status = card.status.label(),
    );
    let _ = write!(out, "<ul class=\"badges\" aria-label=\"Capabilities\">");
    for badge in badges(card) {
        let _ = write!(out, "<li class=\"badge\">{badge}</li>");
    }
    let _ = writeln!(out, "</ul>\n<dl>");
    let mut field = |name: &str, value: &str| {
        let class = if [DANGEROUS, DANGEROUS_REQUEST, DANGEROUS_UNREVIEWED].contains(&name) {
            " class=\"danger\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<dt{class}>{name}</dt><dd{class}>{}</dd>",
            escape(value)
        );
    };
    field("Source", &card.source);
    field("Grant spec", &card.spec);
    if let Some(links) = &card.links {
        field("Links", links);
    }
    let mut requested = short_set(&card.requested);
    if let Some(reason) = &card.reason {
        requested.push_str(&format!(" — “{reason}”"));
    }
    field("Requested", &requested);
    if let Some(dangerous) = super::dangerous_part(&card.requested) {
        field(DANGEROUS_REQUEST, &dangerous);
    }
    field("Granted", &short_set(&card.granted));
    if let Some(dangerous) = super::dangerous_part(&card.granted) {
        field(DANGEROUS, &dangerous);
    }
    if !card.denied.is_empty() {
        field("Denied", &short_set(&card.denied));
    }
    if !card.unreviewed.is_empty() {
        let items: Vec<String> = card.unreviewed.iter().map(ToString::to_string).collect();
        field("Unreviewed", &items.join("; "));
        if let Some(dangerous) = super::dangerous_of(&card.unreviewed) {
            field(DANGEROUS_UNREVIEWED, &dangerous);
        }
        field(
            "Approve with",
            &format!("cargo wasm-build approve {}", card.spec),
        );
    }
    if !card.drift.is_empty() {
        field(
            "Drift",
            &format!("grants exist for {}", card.drift.join(", ")),
        );
    }
    field(
        "Last run",
        &card.last_run.as_ref().map_or_else(|| "-".into(), short_run),
    );
    if card.proc_macro {
        field(
            "Note",
            "runs inside the compiler with full rights; not sandboxed",
        );
    }
    let _ = writeln!(out, "</dl>\n</article>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn dangerous_requests_grants_and_reviews_are_red() {
        let mut report = fixtures::report();
        let card = &mut report.packages[0];
        card.requested.dangerous_read = vec!["/home/me/.ssh".into()];
        card.granted.dangerous_read = vec!["/home/me/.aws".into()];
        card.unreviewed
            .push(wasm_build_permissions_schema::Capability::DangerousRead(
                "/home/me/.ssh".into(),
            ));
        let html = render_html(&report);
        for (field, value) in [
            ("Dangerous request", "dangerous-read: /home/me/.ssh"),
            ("Dangerous grant", "dangerous-read: /home/me/.aws"),
            ("Dangerous, unreviewed", "dangerous-read: /home/me/.ssh"),
        ] {
            let line =
                format!("<dt class=\"danger\">{field}</dt><dd class=\"danger\">{value}</dd>");
            assert!(html.contains(&line), "{line}\n{html}");
        }
        let markdown = crate::render_markdown(&report);
        assert!(
            markdown.contains("- ⚠️ **Dangerous request:** dangerous-read: /home/me/.ssh"),
            "{markdown}"
        );
        assert!(
            markdown.contains("⚠️ **read `/home/me/.ssh` (dangerous: a home or a secret)**"),
            "{markdown}"
        );
    }

    #[test]
    fn page_is_self_contained_and_escaped() {
        let mut report = fixtures::report();
        report.packages[0].reason = Some("<script>alert(1)</script>".into());
        let html = render_html(&report);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(
            !html.contains("<script"),
            "no scripts, and input is escaped"
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "nothing from the network"
        );
        assert!(html.contains("<span class=\"status status-needs-review\">needs review</span>"));
        assert!(html.contains("<a href=\"#pkg-zstd-sys-1-0-0\">zstd-sys 1.0.0</a>"));
        assert!(html.contains("id=\"pkg-zstd-sys-1-0-0\""));
        assert!(
            html.contains(
                "<dt>Approve with</dt><dd>cargo wasm-build approve openssl-sys@1.0.0</dd>"
            )
        );
    }
}
