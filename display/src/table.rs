//! The terminal rendering, read like `cargo tree` or `cargo deny`: a summary, then one
//! line per package that runs code at build time.

use std::fmt::Write as _;

use wasm_build_contract::audit::NetworkVerdict;
use wasm_build_diagnostics::color::{Painter, Tone};

use super::{
    CardStatus, Dependent, PackageCard, PermissionReport, dangerous_part, escape, plural,
    short_run, short_set,
};

/// How to draw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStyle {
    /// ANSI colour (only on a terminal, and never with `NO_COLOR`).
    pub color: bool,
    /// The terminal's width, to wrap long cells within (never cut them); `None` (a pipe,
    /// a file) draws every row on one line, however long.
    pub width: Option<usize>,
}

impl TableStyle {
    fn paint(self, text: &str, status: CardStatus) -> String {
        let tone = match status {
            CardStatus::NeedsReview => Tone::Bad,
            CardStatus::Native | CardStatus::ProcMacro => Tone::Warning,
            CardStatus::Granted => Tone::Help,
            CardStatus::Sandboxed | CardStatus::NoBuildTimeCode => Tone::Good,
        };
        self.painter().paint(text, tone)
    }

    /// The palette every message of the tool paints with.
    fn painter(self) -> Painter {
        Painter::new(self.color)
    }

    /// Red, for what widens the sandbox past the usual.
    fn danger(self, text: &str) -> String {
        self.painter().paint(text, Tone::Bad)
    }

    fn bold(self, text: &str) -> String {
        self.painter().paint(text, Tone::Emphasis)
    }
}

/// The mark before a REQUESTED or GRANTED cell that holds something dangerous, so that it
/// shows without colour too.
const DANGER_MARK: &str = "⚠ ";

/// The narrowest a wrapped column gets on a narrow terminal.
const MIN_COLUMN: usize = 12;

const HEADERS: [&str; 5] = ["PACKAGE", "STATUS", "REQUESTED", "GRANTED", "LAST RUN"];

/// Which columns give way, first to last, when the table is wider than the terminal:
/// the last run and the request before the grant and the status; the package never.
const SHRINK_ORDER: [usize; 4] = [4, 2, 3, 1];

/// How one row is drawn: its cells and which of them are red.
struct Row {
    cells: [String; 5],
    status: CardStatus,
    dangerous: [bool; 5],
}

fn row(card: &PackageCard) -> Row {
    let set_cell = |set| {
        let text = escape::terminal(&short_set(set));
        match dangerous_part(set) {
            Some(_) => (format!("{DANGER_MARK}{text}"), true),
            None => (text, false),
        }
    };
    let (requested, requested_dangerous) = set_cell(&card.requested);
    let (granted, granted_dangerous) = set_cell(&card.granted);
    Row {
        cells: [
            escape::terminal(&format!("{} {}", card.name, card.version)),
            escape::terminal(&card.status_text()),
            requested,
            granted,
            escape::terminal(&card.last_run.as_ref().map_or_else(|| "-".into(), short_run)),
        ],
        status: card.status,
        dangerous: [false, false, requested_dangerous, granted_dangerous, false],
    }
}

/// The whole graph: summary and one row per build-time package.
pub fn render_table(report: &PermissionReport, style: TableStyle) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} of {}{} (mode: {})",
        style.bold("Build-time code"),
        escape::terminal(&report.workspace_root),
        report
            .platform
            .as_deref()
            .map(|platform| format!(" for {}", escape::terminal(platform)))
            .unwrap_or_default(),
        report.mode.as_str()
    );
    for line in summary_lines(&report.summary) {
        let _ = writeln!(out, "  {line}");
    }
    out.push('\n');
    let rows: Vec<Row> = report
        .packages
        .iter()
        .filter(|card| card.runs_at_build_time())
        .map(row)
        .collect();
    let widths = column_widths(&rows, style.width);
    let header: Vec<String> = HEADERS.iter().map(ToString::to_string).collect();
    for line in draw_row(&header, &widths, |_, text| style.bold(text)) {
        let _ = writeln!(out, "{line}");
    }
    for row in &rows {
        let paint = |column: usize, text: &str| {
            if column == 1 {
                style.paint(text, row.status)
            } else if row.dangerous[column] {
                style.danger(text)
            } else {
                text.to_string()
            }
        };
        for line in draw_row(&row.cells, &widths, paint) {
            let _ = writeln!(out, "{line}");
        }
    }
    let quiet = report.packages.len() - rows.len();
    if quiet > 0 {
        let _ = writeln!(
            out,
            "  {} no code at build time",
            if quiet == 1 {
                "1 other package runs".to_string()
            } else {
                format!("{quiet} other packages run")
            }
        );
    }
    out
}

/// The summary under the title, every count with a noun that agrees with it.
pub(crate) fn summary_lines(summary: &crate::Summary) -> Vec<String> {
    let both = (summary.build_scripts + summary.proc_macros).saturating_sub(summary.build_time);
    let mut lines = vec![format!(
        "{}, {} at build time: {} (sandboxed), {} (not sandboxed: inside rustc){}",
        plural(summary.packages, "package", "packages"),
        if summary.build_time == 1 {
            "1 runs code".to_string()
        } else {
            format!("{} run code", summary.build_time)
        },
        plural(summary.build_scripts, "build script", "build scripts"),
        plural(summary.proc_macros, "proc macro", "proc macros"),
        match both {
            0 => String::new(),
            1 => "; 1 is both".to_string(),
            both => format!("; {both} are both"),
        }
    )];
    lines.push(format!(
        "build scripts: {} programs, {} the network, {} paths outside their package, {} natively",
        verb(summary.running_programs, "runs", "run"),
        verb(summary.using_network, "uses", "use"),
        verb(summary.reading_or_writing_paths, "touches", "touch"),
        verb(summary.native, "runs", "run"),
    ));
    lines.push(format!(
        "{}, {} grants for another version",
        verb(summary.unreviewed, "needs review", "need review"),
        verb(summary.drifted, "has", "have"),
    ));
    lines
}

/// `1 runs`, `2 run`: a count and its verb.
fn verb(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The width of each column: as wide as its widest cell, unless the table would not fit
/// `limit`; then the columns of [`SHRINK_ORDER`] give way, widest first, down to
/// [`MIN_COLUMN`], and their cells wrap.
fn column_widths(rows: &[Row], limit: Option<usize>) -> [usize; 5] {
    let mut widths = [0; 5];
    for (column, width) in widths.iter_mut().enumerate() {
        *width = rows
            .iter()
            .map(|row| escape::width(&row.cells[column]))
            .chain([HEADERS[column].len()])
            .max()
            .unwrap_or(0);
    }
    let Some(limit) = limit else {
        return widths;
    };
    // Two spaces of indent, two between columns.
    let total = |widths: &[usize; 5]| 2 + widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    while total(&widths) > limit {
        let widest = SHRINK_ORDER
            .iter()
            .copied()
            .filter(|&column| widths[column] > MIN_COLUMN)
            .max_by_key(|&column| widths[column]);
        match widest {
            Some(column) => widths[column] -= 1,
            None => break,
        }
    }
    widths
}

/// One row as the lines it takes: each cell wrapped to its column, padded, and painted by
/// `paint(column, text)`.
fn draw_row(
    cells: &[String],
    widths: &[usize; 5],
    paint: impl Fn(usize, &str) -> String,
) -> Vec<String> {
    let wrapped: Vec<Vec<String>> = cells
        .iter()
        .zip(widths)
        .map(|(cell, &width)| escape::wrap(cell, width))
        .collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    (0..height)
        .map(|index| {
            let mut line = String::from("  ");
            let last = wrapped.len() - 1;
            for (column, lines) in wrapped.iter().enumerate() {
                let text = lines.get(index).map_or("", String::as_str);
                let padded = if column == last {
                    text.to_string()
                } else {
                    let pad = widths[column].saturating_sub(escape::width(text));
                    format!("{text}{}  ", " ".repeat(pad))
                };
                if text.is_empty() {
                    line.push_str(&padded);
                } else {
                    line.push_str(&paint(column, &padded));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
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
    if let Some(description) = &card.description {
        field(&mut out, "about", description);
    }
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
    for (name, value) in [
        ("license", &card.license),
        ("repository", &card.repository),
        ("docs", &card.documentation),
        ("homepage", &card.homepage),
    ] {
        if let Some(value) = value {
            field(&mut out, name, value);
        }
    }
    if !card.dependents.is_empty() {
        let dependents: Vec<String> = card.dependents.iter().map(Dependent::short).collect();
        field(&mut out, "needed by", &dependents.join(", "));
    }
    if card.dependency_path.len() > 2 {
        field(&mut out, "why here", &card.dependency_path.join(" → "));
    }
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
            for host in &run.network {
                let line = escape::terminal(&host.line());
                let line = if host.verdict == NetworkVerdict::Refused {
                    style.danger(&line)
                } else {
                    line
                };
                let _ = writeln!(out, "    network: {line}");
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
            "  note: proc macros run inside the compiler with your full rights; cargo wasm-build does not sandbox them yet{}",
            if card.build_script {
                " (this one's build script is sandboxed; the macro is not)"
            } else {
                ""
            }
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
            "Build-time code of /work/app for x86_64-unknown-linux-gnu (mode: deny)
  5 packages, 4 run code at build time: 3 build scripts (sandboxed), 1 proc macro (not sandboxed: inside rustc)
  build scripts: 2 run programs, 0 use the network, 0 touch paths outside their package, 0 run natively
  1 needs review, 0 have grants for another version

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
        let style = TableStyle {
            color: true,
            ..TableStyle::default()
        };
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
            row.contains("\x1b[1;31m⚠ exec: pkg-config; dangerous-read: /home/me/.ssh  \x1b[0m"),
            "{row:?}"
        );
        assert!(
            row.contains("\x1b[1;31m⚠ dangerous-write: /home/me/.cargo/bin  \x1b[0m"),
            "{row:?}"
        );
        let plain = render_table(&report, TableStyle::default());
        let row = plain
            .lines()
            .find(|line| line.contains("openssl-sys"))
            .unwrap();
        assert!(
            row.contains("⚠ dangerous-write: /home/me/.cargo/bin"),
            "marked without colour too: {row:?}"
        );
        let plain = render_card(&report.packages[0], TableStyle::default());
        assert!(
            plain.contains("dangerous: dangerous-read: /home/me/.ssh\n"),
            "{plain}"
        );
    }

    /// Drift shows in the row of the crate, not only in the summary and the card; a proc
    /// macro with a build script is not called sandboxed.
    #[test]
    fn rows_say_drift_and_proc_macros_with_build_scripts() {
        let mut report = fixtures::report();
        report.packages[2].drift = vec!["serde@0.9.0".into()];
        report.packages[3].build_script = true;
        let text = render_table(&report, TableStyle::default());
        let row = |name: &str| {
            text.lines()
                .find(|line| line.starts_with(&format!("  {name} ")))
                .unwrap()
                .to_string()
        };
        assert!(
            row("serde").contains("sandboxed; drift: grants name serde@0.9.0"),
            "{text}"
        );
        assert!(
            row("serde_derive")
                .contains("proc macro, not sandboxed (its build script is sandboxed)"),
            "{text}"
        );
    }

    /// Piped, no cell is cut however long; on a terminal, long cells wrap within its width
    /// and every character is still there.
    #[test]
    fn long_cells_wrap_on_a_terminal_and_are_never_cut() {
        let mut report = fixtures::report();
        let long: Vec<_> = (0..12)
            .map(|index| format!("program-number-{index}").parse().unwrap())
            .collect();
        report.packages[1].granted.exec = long;
        let piped = render_table(&report, TableStyle::default());
        let granted = short_set(&report.packages[1].granted);
        assert!(piped.contains(&granted), "{piped}");
        assert!(!piped.contains('…'), "{piped}");
        let narrow = render_table(
            &report,
            TableStyle {
                color: false,
                width: Some(100),
            },
        );
        let table: Vec<&str> = narrow.lines().skip(5).collect();
        assert!(
            table.iter().all(|line| escape::width(line) <= 100),
            "{narrow}"
        );
        for index in 0..12 {
            assert!(
                table
                    .iter()
                    .any(|line| line.contains(&format!("program-number-{index},"))
                        || line.contains(&format!("program-number-{index}\n"))
                        || line.ends_with(&format!("program-number-{index}"))),
                "every grant is kept whole: {narrow}"
            );
        }
        let wide = render_table(
            &report,
            TableStyle {
                color: false,
                width: Some(400),
            },
        );
        assert_eq!(wide, piped, "a wide terminal draws one line per row");
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = render_table(&fixtures::report(), TableStyle::default());
        assert!(!plain.contains('\x1b'));
        let coloured = render_table(
            &fixtures::report(),
            TableStyle {
                color: true,
                ..TableStyle::default()
            },
        );
        assert!(coloured.contains("\x1b[1;31mneeds review"));
    }
}
