//! The HTML rendering: one self-contained page, a crate page per package that runs code at
//! build time (what it is, its license and links, who depends on it, what it asked for,
//! was granted and did), a summary table linking to them, and a filter. Nothing comes
//! from the network (no fonts, images or scripts but the page's own), so it works offline
//! and from a CI artifact. Status is always written in words, never by colour alone;
//! colours meet WCAG AA contrast.
//!
//! Everything a crate wrote (its description, links, reason, what its script printed) is
//! escaped, and a link is made only of an `http`/`https` URL; the page's
//! Content-Security-Policy allows its one inline script by hash and nothing else, so even
//! markup that slipped through could run no script.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

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
.status { display: inline-block; font-weight: 600; border-radius: 6px; padding: .05rem .5rem; font-size: .85rem; }
.status-needs-review { background: #ffebe9; color: #a40e26; border: 1px solid #a40e26; }
.status-sandboxed, .status-no-build-time-code { background: #dafbe1; color: #116329; border: 1px solid #116329; }
.danger { color: #a40e26; font-weight: 600; }
.status-granted { background: #ddf4ff; color: #0a3069; border: 1px solid #0a3069; }
.status-native, .status-proc-macro { background: #fff8c5; color: #6f4b00; border: 1px solid #6f4b00; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
.muted { color: var(--muted); }
[hidden] { display: none !important; }
.filter { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin: 0 0 1rem; }
.filter input[type=search] { font: inherit; padding: .35rem .6rem; border: 1px solid #8c959f; border-radius: 6px; width: min(22rem, 100%); }
.about { margin: .25rem 0 .5rem; }
.drift { display: block; color: #6f4b00; font-size: .85rem; margin-top: .2rem; }
a { color: #0a3069; }
details.quiet { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem; margin-top: 1.5rem; }
details.quiet ul { margin: .5rem 0 0; padding-left: 1.2rem; }
"#;

/// The page's one script: the filter. It reads the search box (and `?q=` of the page's
/// address, so a link can carry a filter) and hides the rows, cards and list items whose
/// `data-filter` text lacks a word of it; the checkbox keeps only what needs attention.
const FILTER_SCRIPT: &str = r#"
const box = document.getElementById('filter');
const attention = document.getElementById('attention');
const shown = document.getElementById('shown');
const none = document.getElementById('no-match');
const quiet = document.querySelector('details.quiet');
const items = [...document.querySelectorAll('[data-filter]')];
const rows = items.filter(item => item.matches('tbody tr'));
function apply() {
  const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
  for (const item of items) {
    item.hidden = !(words.every(word => item.dataset.filter.includes(word))
      && (!attention.checked || item.dataset.attention === 'yes'));
  }
  const visible = rows.filter(row => !row.hidden).length;
  shown.textContent = visible === rows.length ? '' : visible + ' of ' + rows.length + ' shown';
  none.hidden = items.some(item => !item.hidden);
  if (quiet && words.length > 0) {
    quiet.open = [...quiet.querySelectorAll('[data-filter]')].some(item => !item.hidden);
  }
}
box.addEventListener('input', apply);
attention.addEventListener('change', apply);
const query = new URLSearchParams(location.search);
if (query.has('q')) box.value = query.get('q');
if (query.has('attention')) attention.checked = true;
apply();
"#;

/// The page's Content-Security-Policy: nothing from anywhere, its own styles, and its one
/// script, named by its hash.
fn content_security_policy() -> String {
    let hash = base64(&Sha256::digest(FILTER_SCRIPT.as_bytes()));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'"
    )
}

/// Standard base64 with padding (RFC 4648), for the script's hash.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (index, &byte)| {
            word | u32::from(byte) << (16 - 8 * index)
        });
        for index in 0..4 {
            if index <= chunk.len() {
                let sextet = (word >> (18 - 6 * index)) & 0x3f;
                out.push(char::from(ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `url` when it is a web address a link may point to: `http` or `https`, with nothing
/// that could end the attribute or hide where it goes (spaces, quotes, angle brackets,
/// control characters). Anything else (`javascript:`, `data:`, `file:`) is shown as text.
fn web_link(url: &str) -> Option<&str> {
    let lower = url.to_ascii_lowercase();
    let scheme_ok = lower.starts_with("https://") || lower.starts_with("http://");
    let clean = !url.chars().any(|ch| {
        ch.is_whitespace() || ch.is_control() || matches!(ch, '"' | '\'' | '<' | '>' | '`' | '\\')
    });
    (scheme_ok && clean && url.len() > "https://".len()).then_some(url)
}

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

fn anchor(name: &str, version: &str) -> String {
    let raw = format!("pkg-{name}-{version}");
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
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<title>Build-time permissions of {root}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>Build-time permissions</h1>\n<p class=\"muted\">Workspace <code>{root}</code>{platform} · mode <code>{mode}</code> · made by {tool}</p>\n",
        csp = content_security_policy(),
        root = escape(&report.workspace_root),
        platform = report
            .platform
            .as_deref()
            .map(|platform| format!(" · for <code>{}</code>", escape(platform)))
            .unwrap_or_default(),
        mode = report.mode.as_str(),
        tool = escape(&report.tool),
    );
    let _ = writeln!(out, "<ul class=\"summary\" aria-label=\"Summary\">");
    for (count, one, many) in [
        (
            summary.build_time,
            "runs code at build time",
            "run code at build time",
        ),
        (summary.build_scripts, "build script", "build scripts"),
        (
            summary.proc_macros,
            "proc macro (not sandboxed)",
            "proc macros (not sandboxed)",
        ),
        (summary.running_programs, "runs programs", "run programs"),
        (summary.using_network, "uses the network", "use the network"),
        (
            summary.reading_or_writing_paths,
            "touches extra paths",
            "touch extra paths",
        ),
        (summary.unreviewed, "needs review", "need review"),
        (
            summary.drifted,
            "has grants for another version",
            "have grants for another version",
        ),
        (
            summary.packages,
            "package in the graph",
            "packages in the graph",
        ),
    ] {
        let label = if count == 1 { one } else { many };
        let _ = writeln!(out, "<li><strong>{count}</strong> {label}</li>");
    }
    let _ = writeln!(out, "</ul>");

    let build_time: Vec<&PackageCard> = report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
        .collect();
    let with_cards: BTreeSet<(&str, &str)> = build_time
        .iter()
        .map(|card| (card.name.as_str(), card.version.as_str()))
        .collect();
    let _ = writeln!(
        out,
        "<div class=\"filter\" role=\"search\"><label for=\"filter\">Filter</label><input type=\"search\" id=\"filter\" placeholder=\"name, status, program, license…\" autocomplete=\"off\"><label><input type=\"checkbox\" id=\"attention\"> only what needs attention</label><output id=\"shown\" for=\"filter attention\"></output></div>"
    );
    let _ = writeln!(
        out,
        "<table>\n<caption class=\"muted\">Packages that run code at build time</caption>\n<thead><tr><th scope=\"col\">Package</th><th scope=\"col\">Status</th><th scope=\"col\">Requested</th><th scope=\"col\">Granted</th><th scope=\"col\">Last run</th></tr></thead>\n<tbody>"
    );
    for card in &build_time {
        table_row(&mut out, card);
    }
    let _ = writeln!(
        out,
        "</tbody>\n</table>\n<p id=\"no-match\" class=\"muted\" hidden>Nothing matches the filter.</p>\n<section class=\"cards\" aria-label=\"Packages\">"
    );
    for card in &build_time {
        render_card(&mut out, card, &with_cards);
    }
    let _ = writeln!(out, "</section>");
    quiet_packages(&mut out, report, build_time.len());
    let _ = writeln!(
        out,
        "</main>\n<script>{FILTER_SCRIPT}</script>\n</body>\n</html>"
    );
    out
}

/// The text the filter searches in, lower-case: names, status, what it is and what it
/// may do, who needs it.
fn filter_text(card: &PackageCard) -> String {
    let mut parts = vec![
        card.name.clone(),
        card.version.clone(),
        card.status_text(),
        card.source.clone(),
        short_set(&card.requested),
        short_set(&card.granted),
    ];
    parts.extend(card.reason.clone());
    parts.extend(card.links.clone());
    parts.extend(card.description.clone());
    parts.extend(card.license.clone());
    parts.extend(
        card.dependents
            .iter()
            .map(|dependent| dependent.name.clone()),
    );
    if let Some(run) = &card.last_run {
        parts.push(short_run(run));
    }
    parts.join(" ").to_lowercase()
}

/// The attributes the filter reads.
fn filter_attributes(card: &PackageCard) -> String {
    format!(
        " data-filter=\"{}\" data-attention=\"{}\"",
        escape(&filter_text(card)),
        if card.needs_attention() { "yes" } else { "no" }
    )
}

/// A capability set in a cell: marked and red when it holds something dangerous.
fn set_cell(set: &wasm_build_permissions_schema::CapabilitySet) -> String {
    let text = escape(&short_set(set));
    if super::dangerous_part(set).is_some() {
        format!("<span class=\"danger\">⚠ {text}</span>")
    } else {
        text
    }
}

fn table_row(out: &mut String, card: &PackageCard) {
    let drift = if card.drift.is_empty() {
        String::new()
    } else {
        format!(
            "<span class=\"drift\">drift: grants name {}</span>",
            escape(&card.drift.join(", "))
        )
    };
    let _ = writeln!(
        out,
        "<tr{filter}><th scope=\"row\"><a href=\"#{anchor}\">{name} {version}</a></th><td><span class=\"status status-{class}\">{status}</span>{drift}</td><td>{requested}</td><td>{granted}</td><td>{run}</td></tr>",
        filter = filter_attributes(card),
        anchor = anchor(&card.name, &card.version),
        name = escape(&card.name),
        version = escape(&card.version),
        class = status_class(card.status),
        status = card.status_words(),
        requested = set_cell(&card.requested),
        granted = set_cell(&card.granted),
        run = escape(&card.last_run.as_ref().map_or_else(|| "-".into(), short_run)),
    );
}

/// The packages that run no code at build time, folded away, one line each with who
/// needs them.
fn quiet_packages(out: &mut String, report: &PermissionReport, build_time: usize) {
    let quiet = report.packages.len() - build_time;
    if quiet == 0 {
        return;
    }
    let _ = writeln!(
        out,
        "<details class=\"quiet\"><summary>{} no code at build time</summary>\n<ul>",
        if quiet == 1 {
            "1 other package runs".to_string()
        } else {
            format!("{quiet} other packages run")
        }
    );
    for card in report
        .packages
        .iter()
        .filter(|card| !card.runs_at_build_time())
    {
        let needed_by: Vec<String> = card.dependents.iter().map(|d| d.short()).collect();
        let _ = writeln!(
            out,
            "<li{filter}>{name} {version}{needed}</li>",
            filter = filter_attributes(card),
            name = escape(&card.name),
            version = escape(&card.version),
            needed = if needed_by.is_empty() {
                String::new()
            } else {
                format!(
                    " <span class=\"muted\">— needed by {}</span>",
                    escape(&needed_by.join(", "))
                )
            },
        );
    }
    let _ = writeln!(out, "</ul>\n</details>");
}

/// A link to `url` when it is a web address, else the text, inert.
fn link_or_text(url: &str) -> String {
    match web_link(url) {
        Some(url) => format!(
            "<a href=\"{href}\" rel=\"noopener noreferrer nofollow\">{text}</a>",
            href = escape(url),
            text = escape(url)
        ),
        None => format!(
            "{} <span class=\"muted\">(not a web address; not linked)</span>",
            escape(url)
        ),
    }
}

fn render_card(out: &mut String, card: &PackageCard, with_cards: &BTreeSet<(&str, &str)>) {
    let id = anchor(&card.name, &card.version);
    let _ = writeln!(
        out,
        "<article class=\"card\" id=\"{id}\" aria-labelledby=\"{id}-title\"{filter}>\n<header><h2 id=\"{id}-title\">{name} <span class=\"muted\">{version}</span></h2><span class=\"status status-{class}\">{status}</span></header>",
        filter = filter_attributes(card),
        name = escape(&card.name),
        version = escape(&card.version),
        class = status_class(card.status),
        status = card.status_words(),
    );
    if let Some(description) = &card.description {
        let _ = writeln!(out, "<p class=\"about\">{}</p>", escape(description));
    }
    let _ = write!(out, "<ul class=\"badges\" aria-label=\"Capabilities\">");
    for badge in badges(card) {
        let _ = write!(out, "<li class=\"badge\">{badge}</li>");
    }
    let _ = writeln!(out, "</ul>\n<dl>");
    // Fields whose value is already HTML (links), then fields of plain text.
    let html_field = |out: &mut String, name: &str, html: &str| {
        let class = if [DANGEROUS, DANGEROUS_REQUEST, DANGEROUS_UNREVIEWED].contains(&name) {
            " class=\"danger\""
        } else {
            ""
        };
        let _ = writeln!(out, "<dt{class}>{name}</dt><dd{class}>{html}</dd>");
    };
    let field = |out: &mut String, name: &str, value: &str| {
        html_field(out, name, &escape(value));
    };
    if let Some(license) = &card.license {
        field(out, "License", license);
    }
    for (name, url) in [
        ("Repository", &card.repository),
        ("Documentation", &card.documentation),
        ("Homepage", &card.homepage),
    ] {
        if let Some(url) = url {
            html_field(out, name, &link_or_text(url));
        }
    }
    field(out, "Source", &card.source);
    field(out, "Grant spec", &card.spec);
    if !card.dependents.is_empty() {
        let links: Vec<String> = card
            .dependents
            .iter()
            .map(|dependent| {
                let text = escape(&dependent.short());
                if with_cards.contains(&(dependent.name.as_str(), dependent.version.as_str())) {
                    format!(
                        "<a href=\"#{}\">{text}</a>",
                        anchor(&dependent.name, &dependent.version)
                    )
                } else {
                    text
                }
            })
            .collect();
        html_field(out, "Needed by", &links.join(", "));
    }
    if card.dependency_path.len() > 2 {
        field(out, "Why here", &card.dependency_path.join(" → "));
    }
    if let Some(links) = &card.links {
        field(out, "Links (native library)", links);
    }
    let mut requested = short_set(&card.requested);
    if let Some(reason) = &card.reason {
        requested.push_str(&format!(" — “{reason}”"));
    }
    field(out, "Requested", &requested);
    if let Some(dangerous) = super::dangerous_part(&card.requested) {
        field(out, DANGEROUS_REQUEST, &dangerous);
    }
    field(out, "Granted", &short_set(&card.granted));
    if let Some(dangerous) = super::dangerous_part(&card.granted) {
        field(out, DANGEROUS, &dangerous);
    }
    if !card.denied.is_empty() {
        field(out, "Denied", &short_set(&card.denied));
    }
    if !card.unreviewed.is_empty() {
        let items: Vec<String> = card.unreviewed.iter().map(ToString::to_string).collect();
        field(out, "Unreviewed", &items.join("; "));
        if let Some(dangerous) = super::dangerous_of(&card.unreviewed) {
            field(out, DANGEROUS_UNREVIEWED, &dangerous);
        }
        field(
            out,
            "Approve with",
            &format!("cargo wasm-build approve {}", card.spec),
        );
    }
    if !card.drift.is_empty() {
        field(
            out,
            "Drift",
            &format!(
                "grants exist for {}, not for this version",
                card.drift.join(", ")
            ),
        );
    }
    field(
        out,
        "Last run",
        &card.last_run.as_ref().map_or_else(|| "-".into(), short_run),
    );
    if card.proc_macro {
        field(
            out,
            "Note",
            if card.build_script {
                "the macro runs inside the compiler with full rights, not sandboxed; its build script is sandboxed"
            } else {
                "runs inside the compiler with full rights; not sandboxed"
            },
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
            markdown.contains(" · ⚠️ **dangerous request:** dangerous-read: /home/me/.ssh · "),
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
        assert_eq!(
            html.matches("<script").count(),
            1,
            "the page's own filter is its one script, and input is escaped"
        );
        assert!(html.contains(&format!("<script>{FILTER_SCRIPT}</script>")));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        for external in [" src=", "<link", "@import", "url("] {
            assert!(
                !html.contains(external),
                "nothing from the network: {external}"
            );
        }
        assert!(html.contains("<span class=\"status status-needs-review\">needs review</span>"));
        assert!(html.contains("<a href=\"#pkg-zstd-sys-1-0-0\">zstd-sys 1.0.0</a>"));
        assert!(html.contains("id=\"pkg-zstd-sys-1-0-0\""));
        assert!(
            html.contains(
                "<dt>Approve with</dt><dd>cargo wasm-build approve openssl-sys@1.0.0</dd>"
            )
        );
    }

    /// The policy names the script by the hash of exactly the text the page holds.
    #[test]
    fn the_policy_allows_only_the_page_script() {
        let html = render_html(&fixtures::report());
        let csp = content_security_policy();
        assert!(html.contains(&format!("content=\"{csp}\"")), "{html}");
        assert!(csp.starts_with("default-src 'none'; "), "{csp}");
        let hash = csp
            .split("'sha256-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap();
        assert_eq!(hash.len(), 44, "{hash}");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    /// A crate's description, license and links are its author's words: they are shown
    /// escaped, and only an http(s) address becomes a link.
    #[test]
    fn what_a_crate_says_about_itself_is_inert() {
        let mut report = fixtures::report();
        let card = &mut report.packages[1];
        card.description = Some("<img src=x onerror=alert(1)> fast & small".into());
        card.license = Some("MIT\" onclick=\"alert(1)".into());
        card.repository = Some("javascript:alert(document.domain)".into());
        card.homepage = Some("https://example.com/\" onmouseover=\"alert(1)".into());
        card.documentation = Some("https://docs.rs/zstd-sys".into());
        let html = render_html(&report);
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt; fast &amp; small"));
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(html.contains(
            "<dt>Repository</dt><dd>javascript:alert(document.domain) <span class=\"muted\">(not a web address; not linked)</span></dd>"
        ));
        assert!(!html.contains("\" onmouseover=\""), "{html}");
        assert!(!html.contains("\" onclick=\""), "{html}");
        assert!(!html.contains("href=\"https://example.com/"), "{html}");
        assert!(html.contains(
            "<a href=\"https://docs.rs/zstd-sys\" rel=\"noopener noreferrer nofollow\">https://docs.rs/zstd-sys</a>"
        ));
        for url in [
            "data:text/html,x",
            "file:///etc/passwd",
            " https://x.example",
            "https://",
        ] {
            assert_eq!(web_link(url), None, "{url}");
        }
        assert_eq!(
            web_link("HTTPS://Example.com/a?b=c#d"),
            Some("HTTPS://Example.com/a?b=c#d")
        );
    }

    /// Drift and dangerous grants show in the table's row, not only in the card.
    #[test]
    fn rows_show_drift_and_danger() {
        let mut report = fixtures::report();
        report.packages[2].drift = vec!["serde@0.9.0".into()];
        report.packages[1].granted.dangerous_read = vec!["/home/me/.aws".into()];
        let html = render_html(&report);
        let row = |name: &str| {
            html.lines()
                .find(|line| {
                    line.starts_with("<tr") && line.contains(&format!(">{name} 1.0.0</a>"))
                })
                .unwrap()
                .to_string()
        };
        assert!(
            row("serde").contains("<span class=\"drift\">drift: grants name serde@0.9.0</span>"),
            "{html}"
        );
        assert!(row("serde").contains("data-attention=\"yes\""));
        assert!(
            row("zstd-sys").contains("<td><span class=\"danger\">⚠ exec: cc, ar; dangerous-read: /home/me/.aws</span></td>"),
            "{html}"
        );
        assert!(row("serde_derive").contains("data-attention=\"no\""));
    }
}
