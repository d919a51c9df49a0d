//! The Markdown rendering: a card per build-time package with capability badges, for a
//! pull request comment or a review document.

use std::fmt::Write as _;

use super::escape::{code_span, markdown};

use super::{
    CardStatus, PackageCard, PermissionReport, dangerous_part, plural, short_run, short_set,
};

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

/// The sections of the Markdown, in the order a reviewer reads them: what changes the
/// build's powers first, then what stays within the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    NeedsReview,
    Drift,
    Dangerous,
    Granted,
    Defaults,
}

impl Section {
    const ALL: [Section; 5] = [
        Section::NeedsReview,
        Section::Drift,
        Section::Dangerous,
        Section::Granted,
        Section::Defaults,
    ];

    /// The one section a card is listed in: the first that applies.
    fn of(card: &PackageCard) -> Section {
        if card.status == CardStatus::NeedsReview {
            Section::NeedsReview
        } else if !card.drift.is_empty() {
            Section::Drift
        } else if dangerous_part(&card.granted).is_some()
            || dangerous_part(&card.requested).is_some()
        {
            Section::Dangerous
        } else if !card.granted.is_empty() {
            Section::Granted
        } else {
            Section::Defaults
        }
    }

    fn title(self) -> &'static str {
        match self {
            Section::NeedsReview => "Needs review",
            Section::Drift => "Grants for another version",
            Section::Dangerous => "Dangerous grants or requests",
            Section::Granted => "Granted beyond the defaults",
            Section::Defaults => "Nothing granted beyond the defaults",
        }
    }
}

/// The whole report as Markdown for a pull request: a summary line, then one line per
/// package that runs code at build time, what needs a reviewer's eyes first (awaiting
/// review, drifted, dangerous, granted), and what stays within the defaults folded away.
pub fn render_markdown(report: &PermissionReport) -> String {
    let summary = &report.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Build-time code of {}{}\n",
        code_span(&report.workspace_root),
        report
            .platform
            .as_deref()
            .map(|platform| format!(" for {}", code_span(platform)))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "Mode `{}` · {} · {} at build time: {}, {} (not sandboxed) · **{}** · {} · {} · {}\n",
        report.mode.as_str(),
        plural(summary.packages, "package", "packages"),
        plural(summary.build_time, "runs code", "run code"),
        plural(summary.build_scripts, "build script", "build scripts"),
        plural(summary.proc_macros, "proc macro", "proc macros"),
        plural(summary.unreviewed, "needs review", "need review"),
        plural(summary.drifted, "drifted", "drifted"),
        plural(summary.running_programs, "runs programs", "run programs"),
        plural(summary.using_network, "uses the network", "use the network"),
    );
    let build_time: Vec<&PackageCard> = report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
        .collect();
    for section in Section::ALL {
        let cards: Vec<&&PackageCard> = build_time
            .iter()
            .filter(|card| Section::of(card) == section)
            .collect();
        if cards.is_empty() {
            continue;
        }
        let lines: Vec<String> = cards.iter().map(|card| line(card, section)).collect();
        if section == Section::Defaults {
            let _ = writeln!(
                out,
                "<details><summary>{} ({})</summary>\n\n{}\n\n</details>\n",
                section.title(),
                cards.len(),
                lines.join("\n")
            );
        } else {
            let _ = writeln!(
                out,
                "### {} ({})\n\n{}\n",
                section.title(),
                cards.len(),
                lines.join("\n")
            );
        }
    }
    let quiet = report.packages.len() - build_time.len();
    let _ = writeln!(
        out,
        "{} no code at build time.",
        if quiet == 1 {
            "1 other package runs".to_string()
        } else {
            format!("{quiet} other packages run")
        }
    );
    out
}

/// One package on one line: its name and status, then what its section is about.
fn line(card: &PackageCard, section: Section) -> String {
    let mut parts = vec![format!(
        "**{} {}** — {}",
        markdown(&card.name),
        markdown(&card.version),
        card.status_words()
    )];
    if section == Section::Defaults {
        if let Some(run) = &card.last_run {
            parts.push(format!("last run {}", markdown(&short_run(run))));
        }
        return format!("- {}", parts.join(" · "));
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
        parts.push(format!("unreviewed: {}", items.join("; ")));
    }
    if let Some(reason) = &card.reason {
        parts.push(format!("“{}”", markdown(reason)));
    }
    if !card.drift.is_empty() {
        let specs: Vec<String> = card.drift.iter().map(|spec| code_span(spec)).collect();
        parts.push(format!(
            "grants name {}, not this version",
            specs.join(", ")
        ));
    }
    if let Some(dangerous) = dangerous_part(&card.requested) {
        parts.push(format!(
            "⚠️ **dangerous request:** {}",
            markdown(&dangerous)
        ));
    }
    if dangerous_part(&card.granted).is_some() {
        parts.push(format!(
            "⚠️ **granted, dangerous:** {}",
            markdown(&short_set(&card.granted))
        ));
    } else if !card.granted.is_empty() {
        parts.push(format!("granted: {}", markdown(&short_set(&card.granted))));
    }
    if let Some(run) = &card.last_run {
        parts.push(format!("last run {}", markdown(&short_run(run))));
    }
    match section {
        Section::NeedsReview => parts.push(format!(
            "approve: {}",
            code_span(&format!("cargo wasm-build approve {}", card.spec))
        )),
        Section::Drift => parts.push(format!(
            "review: {}",
            code_span(&format!("cargo wasm-build permissions -p {}", card.spec))
        )),
        _ => {}
    }
    format!("- {}", parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    /// One line per package whatever it holds: drift and dangerous grants get their own
    /// sections ahead of what stays within the defaults.
    #[test]
    fn each_package_is_one_line_in_its_first_section() {
        let mut report = fixtures::report();
        report.packages[2].drift = vec!["serde@0.9.0".into()];
        report.packages[1]
            .granted
            .dangerous_env
            .push("*".parse().unwrap());
        let text = render_markdown(&report);
        let drift = text.find("### Grants for another version (1)").unwrap();
        let dangerous = text.find("### Dangerous grants or requests (1)").unwrap();
        let defaults = text
            .find("Nothing granted beyond the defaults (1)")
            .unwrap();
        assert!(drift < dangerous && dangerous < defaults, "{text}");
        assert!(
            text.contains("- **serde 1.0.0** — sandboxed · grants name `serde@0.9.0`, not this version · review: `cargo wasm-build permissions -p serde@1.0.0`\n"),
            "{text}"
        );
        assert!(
            text.contains("⚠️ **granted, dangerous:** exec: cc, ar; dangerous-env: \\*"),
            "{text}"
        );
        for card in report
            .packages
            .iter()
            .filter(|card| card.runs_at_build_time())
        {
            let name = markdown(&card.name);
            let lines = text
                .lines()
                .filter(|line| line.starts_with(&format!("- **{name} ")))
                .count();
            assert_eq!(lines, 1, "{name}: {text}");
        }
    }

    #[test]
    fn markdown_golden() {
        let text = render_markdown(&fixtures::report());
        assert_eq!(
            text,
            "## Build-time code of `/work/app` for `x86_64-unknown-linux-gnu`

Mode `deny` · 5 packages · 4 run code at build time: 3 build scripts, 1 proc macro (not sandboxed) · **1 needs review** · 0 drifted · 2 run programs · 0 use the network

### Needs review (1)

- **openssl-sys 1.0.0** — needs review · unreviewed: run `pkg-config`; emit `cargo:rustc-link-arg` · “finds the system OpenSSL” · approve: `cargo wasm-build approve openssl-sys@1.0.0`

### Granted beyond the defaults (1)

- **zstd-sys 1.0.0** — sandboxed, granted · granted: exec: cc, ar · last run ok in 6.5 s; ran cc ×43, ar

<details><summary>Nothing granted beyond the defaults (2)</summary>

- **serde 1.0.0** — sandboxed
- **serde\\_derive 1.0.0** — proc macro, not sandboxed

</details>

1 other package runs no code at build time.
"
        );
    }
}
