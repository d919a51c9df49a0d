//! The Markdown rendering: a card per build-time package with capability badges, for a
//! pull request comment or a review document.

use std::fmt::Write as _;

use super::escape::{code_span, markdown};
use super::{PackageCard, PermissionReport, dangerous_part, short_run, short_set};

/// Badges (code spans) for what a package can do at build time.
pub(crate) fn badges(card: &PackageCard) -> Vec<&'static str> {
    let mut badges = Vec::new();
    if card.build_script {
        badges.push("build script");
    }
    if card.proc_macro {
        badges.push("proc macro");
    }
    let powers = [&card.requested, &card.granted];
    if powers.iter().any(|set| !set.exec.is_empty()) {
        badges.push("runs programs");
    }
    if powers.iter().any(|set| !set.network.is_empty()) {
        badges.push("network");
    }
    if powers
        .iter()
        .any(|set| !set.read.is_empty() || !set.write.is_empty())
    {
        badges.push("extra paths");
    }
    if powers.iter().any(|set| !set.env.is_empty()) {
        badges.push("environment");
    }
    if powers.iter().any(|set| !set.directives.is_empty()) {
        badges.push("gated directives");
    }
    if card.granted.run_natively {
        badges.push("runs natively");
    }
    if card.links.is_some() {
        badges.push("links");
    }
    badges
}

/// The whole report as Markdown.
pub fn render_markdown(report: &PermissionReport) -> String {
    let summary = &report.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# Build-time code of `{}`\n", report.workspace_root);
    let _ = writeln!(
        out,
        "Mode `{}` · {} packages · {} build scripts · {} proc macros (not sandboxed) · {} run programs · {} use the network · {} touch extra paths · **{} need review** · {} drifted\n",
        report.mode.as_str(),
        summary.packages,
        summary.build_scripts,
        summary.proc_macros,
        summary.running_programs,
        summary.using_network,
        summary.reading_or_writing_paths,
        summary.unreviewed,
        summary.drifted
    );
    for card in report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
    {
        let _ = writeln!(
            out,
            "## {} {} — {}\n",
            card.name,
            card.version,
            card.status.label()
        );
        let badges: Vec<String> = badges(card)
            .iter()
            .map(|badge| format!("`{badge}`"))
            .collect();
        let _ = writeln!(out, "{}\n", badges.join(" "));
        let _ = writeln!(
            out,
            "- **Source:** {} · **grant spec:** `{}`",
            markdown(&card.source),
            card.spec
        );
        let mut requested = markdown(&short_set(&card.requested));
        if let Some(reason) = &card.reason {
            requested.push_str(&format!(" — “{}”", markdown(reason)));
        }
        let _ = writeln!(out, "- **Requested:** {requested}");
        if let Some(dangerous) = dangerous_part(&card.requested) {
            let _ = writeln!(out, "- ⚠️ **Dangerous request:** {}", markdown(&dangerous));
        }
        let _ = writeln!(
            out,
            "- **Granted:** {}",
            markdown(&short_set(&card.granted))
        );
        if let Some(dangerous) = dangerous_part(&card.granted) {
            let _ = writeln!(out, "- ⚠️ **Dangerous grant:** {}", markdown(&dangerous));
        }
        if !card.denied.is_empty() {
            let _ = writeln!(out, "- **Denied:** {}", markdown(&short_set(&card.denied)));
        }
        if !card.unreviewed.is_empty() {
            let items: Vec<String> = card
                .unreviewed
                .iter()
                .map(|capability| {
                    let text = capability.describe(code_span);
                    if capability.is_dangerous() {
                        format!("⚠️ **{text}**")
                    } else {
                        text
                    }
                })
                .collect();
            let _ = writeln!(out, "- **Unreviewed:** {}", items.join("; "));
        }
        if !card.drift.is_empty() {
            let _ = writeln!(
                out,
                "- **Drift:** grants exist for {}",
                card.drift.join(", ")
            );
        }
        let run = card.last_run.as_ref().map_or_else(|| "-".into(), short_run);
        let _ = writeln!(out, "- **Last run:** {}", markdown(&run));
        if card.proc_macro {
            let _ = writeln!(
                out,
                "- **Note:** runs inside the compiler with full rights; not sandboxed"
            );
        }
        if !card.unreviewed.is_empty() {
            let _ = writeln!(
                out,
                "- **Approve:** `cargo wasm-build approve {}`",
                card.spec
            );
        }
        out.push('\n');
    }
    let quiet = report
        .packages
        .iter()
        .filter(|card| !card.runs_at_build_time())
        .count();
    let _ = writeln!(out, "{quiet} other packages run no code at build time.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn markdown_golden() {
        let text = render_markdown(&fixtures::report());
        assert_eq!(
            text,
            "# Build-time code of `/work/app`

Mode `deny` · 5 packages · 3 build scripts · 1 proc macros (not sandboxed) · 2 run programs · 0 use the network · 0 touch extra paths · **1 need review** · 0 drifted

## openssl-sys 1.0.0 — needs review

`build script` `runs programs`

- **Source:** crates.io · **grant spec:** `openssl-sys@1.0.0`
- **Requested:** exec: pkg-config — “finds the system OpenSSL”
- **Granted:** -
- **Unreviewed:** run `pkg-config`; emit `cargo:rustc-link-arg`
- **Last run:** -
- **Approve:** `cargo wasm-build approve openssl-sys@1.0.0`

## zstd-sys 1.0.0 — sandboxed, granted

`build script` `runs programs` `links`

- **Source:** crates.io · **grant spec:** `zstd-sys@1.0.0`
- **Requested:** -
- **Granted:** exec: cc, ar
- **Last run:** ok in 6.5 s; ran cc ×43, ar

## serde 1.0.0 — sandboxed

`build script`

- **Source:** crates.io · **grant spec:** `serde@1.0.0`
- **Requested:** -
- **Granted:** -
- **Last run:** -

## serde_derive 1.0.0 — proc macro, not sandboxed

`proc macro`

- **Source:** crates.io · **grant spec:** `serde_derive@1.0.0`
- **Requested:** -
- **Granted:** -
- **Last run:** -
- **Note:** runs inside the compiler with full rights; not sandboxed

1 other packages run no code at build time.
"
        );
    }
}
