//! The terminal rendering, read like `cargo tree` or `cargo deny`: a summary, then one
//! line per package that runs code at build time.

use std::fmt::Write as _;

use super::{
    CardStatus, PackageCard, PermissionReport, dangerous_part, escape, short_run, short_set,
};

/// How to draw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStyle {
    /// ANSI colour (only on a terminal, and never with `NO_COLOR`).
    pub color: bool,
}

impl TableStyle {
    fn paint(self, text: &str, status: CardStatus) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match status {
            CardStatus::NeedsReview => "1;31",
            CardStatus::Native | CardStatus::ProcMacro => "1;33",
            CardStatus::Granted => "1;36",
            CardStatus::Sandboxed | CardStatus::NoBuildTimeCode => "1;32",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Red, for what widens the sandbox past the usual.
    fn danger(self, text: &str) -> String {
        if self.color {
            format!("\x1b[1;31m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(self, text: &str) -> String {
        if self.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

const CELL: usize = 34;

fn cell(text: &str) -> String {
    escape::shorten(&escape::terminal(text), CELL)
}

/// The whole graph: summary and one row per build-time package.
pub fn render_table(report: &PermissionReport, style: TableStyle) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    let _ = writeln!(
        out,
        "{} of {} (mode: {})",
        style.bold("Build-time code"),
        report.workspace_root,
        report.mode.as_str()
    );
    let _ = writeln!(
        out,
        "  {} packages: {} build scripts, {} proc macros (not sandboxed)",
        summary.packages, summary.build_scripts, summary.proc_macros
    );
    let _ = writeln!(
        out,
        "  {} run programs, {} use the network, {} touch paths outside their package, {} run natively",
        summary.running_programs,
        summary.using_network,
        summary.reading_or_writing_paths,
        summary.native
    );
    let _ = writeln!(
        out,
        "  {} need review, {} have grants for another version\n",
        summary.unreviewed, summary.drifted
    );
    let rows: Vec<[String; 5]> = report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
        .map(|card| {
            [
                format!("{} {}", card.name, card.version),
                card.status.label().to_string(),
                cell(&short_set(&card.requested)),
                cell(&short_set(&card.granted)),
                card.last_run.as_ref().map_or_else(|| "-".into(), short_run),
            ]
        })
        .collect();
    let headers = ["PACKAGE", "STATUS", "REQUESTED", "GRANTED", "LAST RUN"];
    let widths: Vec<usize> = (0..4)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .chain([headers[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut header = String::from("  ");
    for (column, title) in headers.iter().enumerate() {
        if column < 4 {
            let _ = write!(header, "{title:<width$}  ", width = widths[column]);
        } else {
            header.push_str(title);
        }
    }
    let _ = writeln!(out, "{}", style.bold(header.trim_end()));
    let statuses: Vec<CardStatus> = report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
        .map(|card| card.status)
        .collect();
    // The REQUESTED and GRANTED cells of a set with something dangerous are red.
    let dangerous_cells: Vec<(usize, usize)> = report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
        .enumerate()
        .flat_map(|(row, card)| {
            [(2, &card.requested), (3, &card.granted)]
                .into_iter()
                .filter(|(_, set)| dangerous_part(set).is_some())
                .map(move |(column, _)| (row, column))
        })
        .collect();
    for (row_index, (row, status)) in rows.iter().zip(statuses).enumerate() {
        let mut line = String::from("  ");
        for (column, value) in row.iter().enumerate() {
            if column == 4 {
                line.push_str(value);
                continue;
            }
            let padded = format!("{value:<width$}  ", width = widths[column]);
            if column == 1 {
                line.push_str(&style.paint(&padded, status));
            } else if dangerous_cells.contains(&(row_index, column)) {
                line.push_str(&style.danger(&padded));
            } else {
                line.push_str(&padded);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let quiet = report.packages.len() - statuses_len(report);
    if quiet > 0 {
        let _ = writeln!(
            out,
            "  {quiet} other package{} run{} no code at build time",
            if quiet == 1 { "" } else { "s" },
            if quiet == 1 { "s" } else { "" }
        );
    }
    out
}

fn statuses_len(report: &PermissionReport) -> usize {
    report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
        .count()
}

/// One package in full, for `permissions -p PKG`.
pub fn render_card(card: &PackageCard, style: TableStyle) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} ({}) — {}",
        style.bold(&format!("{} {}", card.name, card.version)),
        card.source,
        style.paint(card.status.label(), card.status)
    );
    let yes = |flag: bool| if flag { "yes" } else { "no" };
    let field = |out: &mut String, name: &str, value: &str| {
        let _ = writeln!(out, "  {name:<13}{}", escape::terminal(value));
    };
    field(&mut out, "grant spec", &card.spec);
    field(
        &mut out,
        "build script",
        &format!(
            "{}   proc macro: {}   links: {}",
            yes(card.build_script),
            yes(card.proc_macro),
            card.links.as_deref().unwrap_or("-")
        ),
    );
    let mut requested = short_set(&card.requested);
    if let Some(reason) = &card.reason {
        requested.push_str(&format!(" (\"{reason}\")"));
    }
    let dangerous = |out: &mut String, set| {
        if let Some(dangerous) = dangerous_part(set) {
            let _ = writeln!(
                out,
                "  {:<13}{}",
                "",
                style.danger(&format!("dangerous: {}", escape::terminal(&dangerous)))
            );
        }
    };
    field(&mut out, "requested", &requested);
    dangerous(&mut out, &card.requested);
    field(&mut out, "granted", &short_set(&card.granted));
    dangerous(&mut out, &card.granted);
    field(&mut out, "denied", &short_set(&card.denied));
    field(
        &mut out,
        "unreviewed",
        if card.unreviewed.is_empty() { "-" } else { "" },
    );
    for item in &card.unreviewed {
        let text = escape::terminal(&item.to_string());
        let text = if item.is_dangerous() {
            style.danger(&text)
        } else {
            text
        };
        let _ = writeln!(out, "    - {text}");
    }
    if !card.drift.is_empty() {
        field(
            &mut out,
            "drift",
            &format!(
                "grants exist for {}, not for this version",
                card.drift.join(", ")
            ),
        );
    }
    match &card.last_run {
        None => field(&mut out, "last run", "-"),
        Some(run) => {
            field(&mut out, "last run", &short_run(run));
            for error in &run.errors {
                let _ = writeln!(out, "    error: {}", escape::terminal(error));
            }
            for dropped in &run.dropped {
                let _ = writeln!(out, "    dropped: {}", escape::terminal(dropped));
            }
            for (label, names) in [
                ("looked up hidden variables", &run.hidden_env),
                ("saw, set by your cargo configuration", &run.config_env),
                ("saw build settings by default", &run.default_env),
            ] {
                if !names.is_empty() {
                    let _ = writeln!(out, "    {label}: {}", escape::terminal(&names.join(", ")));
                }
            }
        }
    }
    if card.proc_macro {
        let _ = writeln!(
            out,
            "  note: proc macros run inside the compiler with your full rights; cargo wasm-build does not sandbox them yet"
        );
    }
    if card.status == CardStatus::NeedsReview {
        let _ = writeln!(
            out,
            "  to approve:  cargo wasm-build approve {}\n  to refuse:   cargo wasm-build deny {}",
            card.spec, card.spec
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn table_golden() {
        let text = render_table(&fixtures::report(), TableStyle::default());
        assert_eq!(
            text,
            "Build-time code of /work/app (mode: deny)
  5 packages: 3 build scripts, 1 proc macros (not sandboxed)
  2 run programs, 0 use the network, 0 touch paths outside their package, 0 run natively
  1 need review, 0 have grants for another version

  PACKAGE             STATUS                     REQUESTED         GRANTED       LAST RUN
  openssl-sys 1.0.0   needs review               exec: pkg-config  -             -
  zstd-sys 1.0.0      sandboxed, granted         -                 exec: cc, ar  ok in 6.5 s; ran cc ×43, ar
  serde 1.0.0         sandboxed                  -                 -             -
  serde_derive 1.0.0  proc macro, not sandboxed  -                 -             -
  1 other package runs no code at build time
"
        );
    }

    #[test]
    fn card_golden() {
        let report = fixtures::report();
        let text = render_card(&report.packages[0], TableStyle::default());
        assert_eq!(
            text,
            "openssl-sys 1.0.0 (crates.io) — needs review
  grant spec   openssl-sys@1.0.0
  build script yes   proc macro: no   links: -
  requested    exec: pkg-config (\"finds the system OpenSSL\")
  granted      -
  denied       -
  unreviewed   
    - run `pkg-config`
    - emit `cargo:rustc-link-arg`
  last run     -
  to approve:  cargo wasm-build approve openssl-sys@1.0.0
  to refuse:   cargo wasm-build deny openssl-sys@1.0.0
"
        );
    }

    /// What reaches a home or a secret is red wherever it shows: requested, granted,
    /// unreviewed, and in the table's cells.
    #[test]
    fn dangerous_requests_and_grants_are_red() {
        use wasm_build_permissions_schema::Capability;
        let mut report = fixtures::report();
        let card = &mut report.packages[0];
        card.requested.dangerous_read = vec!["/home/me/.ssh".into()];
        card.granted.dangerous_write = vec!["/home/me/.cargo/bin".into()];
        card.unreviewed
            .push(Capability::DangerousRead("/home/me/.ssh".into()));
        let style = TableStyle { color: true };
        let text = render_card(&report.packages[0], style);
        assert!(
            text.contains("\x1b[1;31mdangerous: dangerous-read: /home/me/.ssh\x1b[0m"),
            "{text}"
        );
        assert!(
            text.contains("\x1b[1;31mdangerous: dangerous-write: /home/me/.cargo/bin\x1b[0m"),
            "{text}"
        );
        assert!(
            text.contains(
                "    - \x1b[1;31mread `/home/me/.ssh` (dangerous: a home or a secret)\x1b[0m"
            ),
            "{text}"
        );
        assert!(
            text.contains("    - run `pkg-config`\n"),
            "the rest stays plain: {text}"
        );
        let table = render_table(&report, style);
        let row = table
            .lines()
            .find(|line| line.contains("openssl-sys"))
            .unwrap();
        assert!(
            row.contains("\x1b[1;31mexec: pkg-config; dangerous-read:…"),
            "{row:?}"
        );
        assert!(
            row.contains("\x1b[1;31mdangerous-write: /home/me/.cargo/…"),
            "{row:?}"
        );
        let plain = render_card(&report.packages[0], TableStyle::default());
        assert!(
            plain.contains("dangerous: dangerous-read: /home/me/.ssh\n"),
            "{plain}"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = render_table(&fixtures::report(), TableStyle { color: false });
        assert!(!plain.contains('\x1b'));
        let coloured = render_table(&fixtures::report(), TableStyle { color: true });
        assert!(coloured.contains("\x1b[1;31mneeds review"));
    }
}
