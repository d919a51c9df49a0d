//! The permission display on fixture workspaces and a real crates.io graph: golden table
//! and Markdown, JSON against its schema, `--check` as a CI gate, and the HTML page
//! rendered by a real headless Chromium.

use std::path::Path;
use std::process::Command;

use crate::support::{Project, host_triple, manifest, snapshot_settings};

/// A workspace with one package of every kind the display distinguishes: no build script,
/// a rustc probe, a `-sys` crate declaring programs (and saying what it is), a proc macro,
/// a proc macro with a build script, a renamed dependency with a build script, a crate
/// whose grant names an older version (drift), and a build script that only builds on
/// Windows (never here).
fn fixture() -> Project {
    let project = Project::new();
    let dep = |name: &str, version: &str, extra: &str, build: Option<&str>| {
        project.file(
            &format!("vendor/{name}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n{extra}\n"),
        );
        project.file(&format!("vendor/{name}/src/lib.rs"), "");
        if let Some(build) = build {
            project.file(&format!("vendor/{name}/build.rs"), build);
        }
    };
    dep("plain", "1.0.0", "", None);
    dep(
        "prober",
        "1.0.0",
        "",
        Some(
            r#"fn main() { let _ = std::process::Command::new(std::env::var("RUSTC").unwrap()).arg("--version").output(); }"#,
        ),
    );
    dep(
        "fake-sys",
        "2.0.0",
        "links = \"fake\"\ndescription = \"Bindings to libfake\"\nlicense = \"MIT OR Apache-2.0\"\n\
         repository = \"https://example.com/fake-sys\"\n\n\
         [package.metadata.sandbox]\nexec = [\"sh\"]\nreason = \"runs the vendored configure script\"",
        Some(
            r#"fn main() { std::process::Command::new("sh").arg("-c").arg("true").status().unwrap(); }"#,
        ),
    );
    dep("my-macro", "1.0.0", "\n[lib]\nproc-macro = true", None);
    dep(
        "both-macro",
        "1.0.0",
        "\n[lib]\nproc-macro = true",
        Some("fn main() {}"),
    );
    dep("win-only", "1.0.0", "", Some("fn main() {}"));
    dep("renamed-dep", "0.3.0", "", Some("fn main() {}"));
    dep("drifted", "1.1.0", "", Some("fn main() {}"));
    project
        .file(
            "app/Cargo.toml",
            &format!(
                "{}\n[workspace]\n\n[workspace.metadata.sandbox.allow.\"drifted@1.0.0\"]\nexec = [\"cc\"]\n",
                manifest(
                    "app",
                    "[dependencies]\nplain = { path = \"../vendor/plain\" }\nprober = { path = \"../vendor/prober\" }\n\
                     fake-sys = { path = \"../vendor/fake-sys\" }\nmy-macro = { path = \"../vendor/my-macro\" }\n\
                     alias = { package = \"renamed-dep\", path = \"../vendor/renamed-dep\" }\n\
                     drifted = { path = \"../vendor/drifted\" }\n\
                     both-macro = { path = \"../vendor/both-macro\" }\n\n\
                     [target.'cfg(windows)'.dependencies]\nwin-only = { path = \"../vendor/win-only\" }"
                )
            ),
        )
        .file("app/src/lib.rs", "");
    project
}

const APP: &[&str] = &["--manifest-path", "app/Cargo.toml"];

/// Snapshot settings that redact what differs between machines and runs, so that a
/// snapshot holds only what the tool decided: the project's temporary directory
/// (`[ROOT]`), the home directory (`[HOME]`), where the toolchain's rustc is (`[RUSTC]`:
/// rustup's home and toolchain name, or none without rustup), build scripts' timings
/// (`in [T] s`, `elapsed_ms`, `finished_at`) and the tool's own version.
fn redactions(project: &Project) -> insta::Settings {
    let mut settings = snapshot_settings();
    let root = project.root();
    for root in [root.to_path_buf(), root.canonicalize().unwrap()] {
        settings.add_filter(&regex::escape(&root.display().to_string()), "[ROOT]");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|home| home.len() > 1) {
        let home = regex::escape(&Path::new(&home).display().to_string());
        settings.add_filter(&format!("{home}/"), "[HOME]/");
    }
    settings.add_filter(r#""(?:[^"]*/)?rustc""#, r#""[RUSTC]""#);
    settings.add_filter(&regex::escape(&host_triple()), "[HOST]");
    settings.add_filter(r" in \d+(\.\d+)? s\b", " in [T] s");
    settings.add_filter(r#""elapsed_ms": \d+"#, r#""elapsed_ms": "[MS]""#);
    settings.add_filter(r#""finished_at": \d+"#, r#""finished_at": "[EPOCH]""#);
    settings.add_filter(
        &regex::escape(concat!("cargo-wasm-build ", env!("CARGO_PKG_VERSION"))),
        "cargo-wasm-build [VERSION]",
    );
    settings
}

/// Output ends its last line, once: insta ignores trailing newlines when it compares.
#[track_caller]
fn assert_one_final_newline(text: &str) {
    assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
}

fn permissions(project: &Project, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["permissions"];
    args.extend(extra);
    args.extend(APP);
    project.wasm_build(&args)
}

/// The JSON Schema the tool gives for its report (`permissions --format json-schema`).
fn report_schema(project: &Project) -> serde_json::Value {
    let run = permissions(project, &["--format", "json-schema"]).success();
    serde_json::from_str(&run.stdout).unwrap()
}

/// The table, one card and the JSON report after a build that recorded what each build
/// script did (`tests/snapshots/integration__display__{table,card,json}.snap`).
#[test]
fn table_card_and_json_snapshots() {
    let project = fixture();
    // A first build records what fake-sys tried (and, going on, every other script).
    project
        .wasm_build(&["--keep-going", "--manifest-path", "app/Cargo.toml"])
        .failure();
    let table = permissions(&project, &["--color", "never"])
        .success()
        .stdout;
    let card = permissions(&project, &["-p", "fake-sys"]).success().stdout;
    let json = permissions(&project, &["--format", "json"])
        .success()
        .stdout;
    for text in [&table, &card, &json] {
        assert_one_final_newline(text);
    }
    redactions(&project).bind(|| {
        insta::assert_snapshot!("table", table);
        insta::assert_snapshot!("card", card);
        insta::assert_snapshot!("json", json);
    });
    // The report with last runs in it follows the schema too (the other test's has none).
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let schema = report_schema(&project);
    assert_valid(&report, &schema, &schema, "$");
}

#[test]
fn json_follows_its_schema_and_check_gates_ci() {
    let project = fixture();
    let run = permissions(&project, &["--format", "json"]).success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["format_version"], 2);
    assert_eq!(report["platform"], host_triple());
    assert_eq!(report["summary"]["build_scripts"], 5);
    assert_eq!(report["summary"]["proc_macros"], 2);
    assert_eq!(report["summary"]["build_time"], 6);
    let cards = report["packages"].as_array().unwrap();
    let card = |name: &str| cards.iter().find(|card| card["name"] == name).unwrap();
    assert!(
        cards.iter().all(|card| card["name"] != "win-only"),
        "a Windows-only dependency never builds here"
    );
    assert_eq!(
        card("both-macro")["status"],
        "proc-macro",
        "a proc macro runs inside rustc whatever its build script is granted"
    );
    assert_eq!(card("fake-sys")["description"], "Bindings to libfake");
    assert_eq!(card("fake-sys")["license"], "MIT OR Apache-2.0");
    assert_eq!(
        card("fake-sys")["repository"],
        "https://example.com/fake-sys"
    );
    assert_eq!(
        card("fake-sys")["dependents"],
        serde_json::json!([{ "name": "app", "version": "0.1.0", "kinds": ["normal"] }])
    );
    assert_eq!(card("fake-sys")["status"], "needs-review");
    assert_eq!(card("fake-sys")["requested"]["exec"][0], "sh");
    assert_eq!(card("fake-sys")["links"], "fake");
    assert_eq!(card("my-macro")["status"], "proc-macro");
    assert_eq!(card("plain")["status"], "no-build-time-code");
    assert_eq!(
        card("renamed-dep")["spec"],
        "renamed-dep@0.3.0",
        "the real name, not the alias"
    );
    assert_eq!(card("drifted")["drift"][0], "drifted@1.0.0");
    let schema = report_schema(&project);
    assert_valid(&report, &schema, &schema, "$");

    let check = permissions(&project, &["--check"]).failure();
    assert_eq!(check.code, Some(1));
    check
        .stderr_has("error[W102]: 2 build scripts need review:")
        .stderr_has(&format!(
            "fake-sys 2.0.0 needs review: run `sh` (run `cargo wasm-build approve --manifest-path {} fake-sys@2.0.0` or `deny`)",
            project.root().join("app/Cargo.toml").display()
        ))
        .stderr_has("drifted 1.1.0: grants exist for drifted@1.0.0, not for this version");
    // One command reviews both: the new request, and the new version that needs
    // nothing its old grant did not have.
    project
        .wasm_build(&[
            "approve",
            "fake-sys",
            "drifted",
            "--manifest-path",
            "app/Cargo.toml",
        ])
        .success()
        .stderr_has("Carrying drifted@1.0.0's grants over to drifted v1.1.0:");
    permissions(&project, &["--check"])
        .success()
        .stderr_has("permissions: all 5 build scripts reviewed (2 proc macros run unsandboxed)");
}

/// Packages that only build on another platform are left out, as cargo leaves them out of
/// the build; asked for that platform, the display has them.
#[test]
fn only_what_builds_for_the_platform_is_listed() {
    let project = fixture();
    let here = permissions(&project, &["--color", "never"]).success();
    here.stdout_lacks("win-only")
        .stdout_has(&format!("for {} (mode: deny)", host_triple()))
        .stdout_has("8 packages, 6 run code at build time: 5 build scripts (sandboxed), 2 proc macros (not sandboxed: inside rustc); 1 is both");
    let windows = permissions(
        &project,
        &["--color", "never", "--target", "x86_64-pc-windows-msvc"],
    )
    .success();
    windows
        .stdout_has("for x86_64-pc-windows-msvc (mode: deny)")
        .stdout_has("  win-only 1.0.0 ");
    permissions(&project, &["-p", "win-only"])
        .failure()
        .stderr_has(&format!(
            "no package `win-only` in this workspace's dependency graph for {} (for another platform's: --target TRIPLE)",
            host_triple()
        ));
}

/// A proc macro with a build script is not called sandboxed: the macro runs inside rustc.
#[test]
fn a_proc_macro_with_a_build_script_is_not_called_sandboxed() {
    let project = fixture();
    let table = permissions(&project, &["--color", "never"])
        .success()
        .stdout;
    let row = table
        .lines()
        .find(|line| line.starts_with("  both-macro "))
        .unwrap();
    assert!(
        row.contains("proc macro, not sandboxed (its build script is sandboxed)"),
        "{row}"
    );
    let card = permissions(&project, &["-p", "both-macro"])
        .success()
        .stdout;
    assert!(
        card.starts_with("both-macro 1.0.0 (path) — proc macro, not sandboxed"),
        "{card}"
    );
}

/// Drift shows in the crate's row of the table, not only in the summary and its card.
#[test]
fn drift_shows_in_the_row() {
    let project = fixture();
    let table = permissions(&project, &["--color", "never"])
        .success()
        .stdout;
    let row = table
        .lines()
        .find(|line| line.starts_with("  drifted "))
        .unwrap();
    assert!(
        row.contains("sandboxed; drift: grants name drifted@1.0.0"),
        "{row}"
    );
}

/// Piped, no cell is cut; on a terminal (a real pseudo-terminal, its size set with
/// `stty`), rows fit its width, wrapping long cells without losing a character, and a
/// wide terminal has every row on one line.
/// `CARGO_TERM_COLOR` decides the table's colour as it decides the build's messages':
/// `always` colours it even into a pipe (it was once read only to turn colour off), a
/// `--color` flag wins over it, and `never` keeps it plain.
#[test]
fn the_table_is_coloured_as_cargo_term_color_says() {
    let project = fixture();
    let run = |color: &str, extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-wasm-build"));
        command
            .args(["wasm-build", "permissions"])
            .args(extra)
            .args(APP);
        project.prepare(&mut command);
        command
            .env("CARGO_TERM_COLOR", color)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let heading = "\x1b[1mBuild-time code\x1b[0m";
    let always = run("always", &[]);
    assert!(always.contains(heading), "{always:?}");
    let never = run("never", &[]);
    assert!(!never.contains('\x1b'), "{never:?}");
    let flag = run("always", &["--color", "never"]);
    assert!(!flag.contains('\x1b'), "the flag wins: {flag:?}");
    let auto_flag = run("always", &["--color", "auto"]);
    assert!(auto_flag.contains(heading), "auto defers: {auto_flag:?}");
}

#[test]
fn the_table_fits_the_terminal_and_never_cuts() {
    let project = fixture();
    let programs: Vec<String> = (1..=9).map(|n| format!("\"program-number-{n}\"")).collect();
    let manifest = project.read("app/Cargo.toml").replace(
        "[workspace.metadata.sandbox.allow.\"drifted@1.0.0\"]",
        &format!(
            "[workspace.metadata.sandbox.allow.\"fake-sys@2.0.0\"]\nexec = [\"sh\", {}]\n\n\
             [workspace.metadata.sandbox.allow.\"drifted@1.0.0\"]",
            programs.join(", ")
        ),
    );
    project.file("app/Cargo.toml", &manifest);
    let granted = format!(
        "exec: sh, {}",
        (1..=9)
            .map(|n| format!("program-number-{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let piped = permissions(&project, &["--color", "never"])
        .success()
        .stdout;
    assert!(!piped.contains('…'), "{piped}");
    let row = piped
        .lines()
        .find(|line| line.starts_with("  fake-sys "))
        .unwrap();
    assert!(
        row.contains(&granted),
        "the whole grant, on its row: {piped}"
    );

    let on_terminal = |columns: usize| {
        let tool = env!("CARGO_BIN_EXE_cargo-wasm-build");
        let mut command = Command::new("script");
        command
            .args(["-qec"])
            .arg(format!(
                "stty cols {columns} rows 50; '{tool}' wasm-build permissions --color never --manifest-path app/Cargo.toml"
            ))
            .arg("/dev/null")
            .env_remove("COLUMNS");
        let run = project.run(command);
        assert_eq!(run.code, Some(0), "{}", run.stdout);
        run.stdout.replace("\r\n", "\n")
    };
    let wide = on_terminal(300);
    assert_eq!(
        wide.trim_end(),
        piped.trim_end(),
        "one line per row on a wide terminal"
    );
    let narrow = on_terminal(100);
    let table: Vec<&str> = narrow
        .lines()
        .skip_while(|line| !line.starts_with("  PACKAGE"))
        .collect();
    assert!(table.len() > 8, "{narrow}");
    for line in &table {
        assert!(
            line.chars().count() <= 100,
            "{line:?} is wider than 100:\n{narrow}"
        );
    }
    for n in 1..=9 {
        assert!(
            table
                .iter()
                .any(|line| line.contains(&format!("program-number-{n}"))),
            "program-number-{n} is wrapped, not cut:\n{narrow}"
        );
    }
}

/// `tests/snapshots/integration__display__markdown.snap`: one line per package that runs
/// code at build time, what needs review and drift first, the rest folded away.
#[test]
fn markdown_is_one_line_per_build_time_package() {
    let project = fixture();
    let text = permissions(&project, &["--format", "markdown"])
        .success()
        .stdout;
    let crate_lines = text.lines().filter(|line| line.starts_with("- **")).count();
    assert_eq!(crate_lines, 6, "{text}");
    assert!(text.lines().count() < 30, "short: {text}");
    let review = text.find("### Needs review (1)").unwrap();
    let drift = text.find("### Grants for another version (1)").unwrap();
    let defaults = text
        .find("Nothing granted beyond the defaults (4)")
        .unwrap();
    assert!(review < drift && drift < defaults, "{text}");
    assert_one_final_newline(&text);
    redactions(&project).bind(|| insta::assert_snapshot!("markdown", text));
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn a_real_graph_from_crates_io() {
    let project = Project::locked("display-real-graph");
    project
        .file(
            "Cargo.toml",
            &manifest(
                "real",
                "[dependencies]\nserde = { version = \"=1.0.228\", features = [\"derive\"] }\nzstd-sys = \"=2.1.2\"\n\n\
                 [package.metadata.sandbox.allow.\"zstd-sys@2.1.2+zstd.1.5.7\"]\nexec = [\"cc\", \"ar\"]\n",
            ),
        )
        .file("src/lib.rs", "");
    project.wasm_build(&[]).success();
    let run = project
        .wasm_build(&["permissions", "--format", "json"])
        .success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let cards = report["packages"].as_array().unwrap();
    let card = |name: &str| cards.iter().find(|card| card["name"] == name).unwrap();
    assert_eq!(card("zstd-sys")["status"], "granted");
    assert_eq!(card("zstd-sys")["source"], "crates.io");
    let programs = card("zstd-sys")["last_run"]["programs"].as_array().unwrap();
    assert!(programs.iter().any(|used| used["program"] == "cc"
        && used["verdict"] == "allowed"
        && used["count"].as_u64().unwrap() > 10));
    assert_eq!(card("serde_derive")["status"], "proc-macro");
    assert_eq!(card("serde")["status"], "sandboxed");
    assert!(card("serde")["last_run"]["succeeded"].as_bool().unwrap());
    assert!(
        card("zstd-sys")["description"]
            .as_str()
            .is_some_and(|text| !text.is_empty()),
        "what the crate says it is, from crates.io's manifest"
    );
    assert!(
        card("zstd-sys")["repository"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    project.wasm_build(&["permissions", "--check"]).success();
    // The Markdown for a pull request is one line per build-time crate and a few more.
    let markdown = project
        .wasm_build(&["permissions", "--format", "markdown"])
        .success()
        .stdout;
    let build_time = report["summary"]["build_time"].as_u64().unwrap() as usize;
    assert!(markdown.lines().count() <= build_time + 16, "{markdown}");
}

/// A real graph with Windows-only crates (parking_lot_core pulls `windows-targets` and the
/// `windows_*` crates, which have build scripts, for `cfg(windows)`): on this platform
/// they are neither listed nor counted; for Windows they are.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn windows_only_crates_of_a_real_graph_are_left_out() {
    let project = Project::locked("display-platform");
    project
        .file(
            "Cargo.toml",
            &manifest("real", "[dependencies]\nparking_lot_core = \"=0.9.11\"\n"),
        )
        .file("src/lib.rs", "");
    let windows_crates = |report: &serde_json::Value| -> Vec<String> {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|card| card["name"].as_str())
            .filter(|name| name.starts_with("windows"))
            .map(String::from)
            .collect()
    };
    let json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["permissions", "--format", "json"];
        args.extend(extra);
        serde_json::from_str(&project.wasm_build(&args).success().stdout).unwrap()
    };
    let build_scripts = |report: &serde_json::Value| -> Vec<String> {
        report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|card| card["build_script"] == true)
            .filter_map(|card| card["name"].as_str().map(String::from))
            .collect()
    };
    let here = json(&[]);
    assert_eq!(windows_crates(&here), Vec::<String>::new(), "{here}");
    assert_eq!(build_scripts(&here), ["libc", "parking_lot_core"], "{here}");
    assert_eq!(here["summary"]["build_scripts"], 2, "counted as listed");
    let windows = json(&["--target", "x86_64-pc-windows-msvc"]);
    assert_eq!(
        build_scripts(&windows),
        ["parking_lot_core", "windows_x86_64_msvc"],
        "{windows}"
    );
    project
        .wasm_build(&["permissions", "--color", "never"])
        .success()
        .stdout_lacks("windows");
}

#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn html_page_renders_in_headless_chromium() {
    let project = fixture();
    project.wasm_build(APP).failure();
    let page = project.root().join("permissions.html");
    permissions(
        &project,
        &["--format", "html", "--output", page.to_str().unwrap()],
    )
    .success();
    let html = std::fs::read_to_string(&page).unwrap();
    // The test adds its own script to a copy to measure the layout Chromium computed, and
    // reads the verdict back from the serialised DOM; the page's policy allows only its
    // own script, so the copy goes without it.
    let probe = project.root().join("probe.html");
    std::fs::write(
        &probe,
        without_policy(&html).replace(
            "</body>",
            &format!("<script>{LAYOUT_PROBE}</script></body>"),
        ),
    )
    .unwrap();
    let dom = chromium(&["--dump-dom", &format!("file://{}", probe.display())]);
    let verdict = dom
        .split("<pre id=\"layout-probe\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("the probe did not run:\n{dom}"));
    let verdict: serde_json::Value =
        serde_json::from_str(&verdict.replace("&quot;", "\"")).unwrap();
    assert_eq!(
        verdict["title"],
        format!(
            "Build-time permissions of {}",
            project.root().join("app").display()
        )
    );
    assert_eq!(verdict["cards"], 6, "{verdict}");
    assert_eq!(verdict["tableRows"], 6, "{verdict}");
    assert_eq!(
        verdict["collapsedCards"], 0,
        "every card has a real size: {verdict}"
    );
    assert_eq!(verdict["horizontalOverflow"], false, "{verdict}");
    assert!(
        verdict["minStatusContrast"].as_f64().unwrap() >= 4.5,
        "status badges are readable: {verdict}"
    );
    assert_eq!(verdict["needsReview"], "needs review");

    // The crate page: what fake-sys says it is, its link, who needs it.
    let dom = chromium(&["--dump-dom", &format!("file://{}", page.display())]);
    let card = section(&dom, "<h2 id=\"pkg-fake-sys-2-0-0-title\"", "</article>");
    assert!(
        card.contains("<p class=\"about\">Bindings to libfake</p>"),
        "{card}"
    );
    assert!(
        card.contains("<dt>License</dt><dd>MIT OR Apache-2.0</dd>"),
        "{card}"
    );
    assert!(
        card.contains(
            "<a href=\"https://example.com/fake-sys\" rel=\"noopener noreferrer nofollow\">"
        ),
        "{card}"
    );
    assert!(
        card.contains("<dt>Needed by</dt><dd>app 0.1.0</dd>"),
        "{card}"
    );
    // Drift is in the table's row.
    let row = section(&dom, "<tr data-filter=\"drifted ", "</tr>");
    assert!(
        row.contains("<span class=\"drift\">drift: grants name drifted@1.0.0</span>"),
        "{row}"
    );

    // The filter ran in Chromium: `?q=` fills the box, and only matching rows and cards
    // stay; `?attention` keeps what needs a reviewer (awaiting review, drift).
    let filtered = chromium(&[
        "--dump-dom",
        &format!("file://{}?q=configure", page.display()),
    ]);
    assert_eq!(shown_rows(&filtered), ["fake-sys 2.0.0"], "{filtered}");
    assert!(
        filtered.contains("<output id=\"shown\" for=\"filter attention\">1 of 6 shown</output>")
    );
    assert_eq!(shown_cards(&filtered), ["pkg-fake-sys-2-0-0"]);
    let attention = chromium(&[
        "--dump-dom",
        &format!("file://{}?attention", page.display()),
    ]);
    assert_eq!(
        shown_rows(&attention),
        ["fake-sys 2.0.0", "drifted 1.1.0"],
        "{attention}"
    );
    let nothing = chromium(&[
        "--dump-dom",
        &format!("file://{}?q=no-such-crate", page.display()),
    ]);
    assert!(shown_rows(&nothing).is_empty());
    assert!(nothing.contains("<p id=\"no-match\" class=\"muted\">Nothing matches the filter.</p>"));
    let unfiltered = chromium(&["--dump-dom", &format!("file://{}", page.display())]);
    assert_eq!(shown_rows(&unfiltered).len(), 6);

    // A screenshot of the real page, kept as a test artifact.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("permissions.png");
    let _ = std::fs::remove_file(&shot);
    chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1280,1800",
        &format!("file://{}", page.display()),
    ]);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real picture: {} bytes",
        png.len()
    );
}

/// What a crate writes about itself (description, license, repository, homepage) is the
/// attacker's: in a real Chromium it runs no script, makes no element, and no link but an
/// http(s) one; and the page's policy stops a script even if one slipped into the page.
#[test]
#[ignore = "real-crates tier: run with `cargo test -- --include-ignored`"]
fn hostile_crate_text_is_inert_in_chromium() {
    let project = fixture();
    let hostile = "[package]\nname = \"fake-sys\"\nversion = \"2.0.0\"\nedition = \"2021\"\nlinks = \"fake\"\n\
        description = \"<script>document.title='pwned'</script><img src=x onerror=\\\"document.title='pwned'\\\">\"\n\
        license = \"MIT\\\" onclick=\\\"document.title='pwned'\"\n\
        repository = \"javascript:document.title='pwned'\"\n\
        homepage = \"https://example.com/\\\" onmouseover=\\\"document.title='pwned'\"\n\
        documentation = \"data:text/html,<script>document.title='pwned'</script>\"\n";
    project.file("vendor/fake-sys/Cargo.toml", hostile);
    let page = project.root().join("permissions.html");
    permissions(
        &project,
        &["--format", "html", "--output", page.to_str().unwrap()],
    )
    .success();
    let html = std::fs::read_to_string(&page).unwrap();
    let title = format!(
        "Build-time permissions of {}",
        project.root().join("app").display()
    );
    let dom = chromium(&["--dump-dom", &format!("file://{}", page.display())]);
    assert!(dom.contains(&format!("<title>{title}</title>")), "{dom}");
    assert!(!dom.contains("pwned</title>"), "{dom}");
    // From the card's title on (its filter attribute holds the same text, lower-case).
    let card = section(&dom, "<h2 id=\"pkg-fake-sys-2-0-0-title\"", "</article>");
    assert!(
        !card.contains("<img") && !card.contains("<script"),
        "{card}"
    );
    assert!(
        card.contains("<dt>License</dt><dd>MIT\" onclick=\"document.title='pwned'</dd>"),
        "text, not an attribute: {card}"
    );
    assert!(
        card.contains("<dt>Homepage</dt><dd>https://example.com/\" onmouseover=\"document.title='pwned' <span class=\"muted\">(not a web address; not linked)</span></dd>"),
        "{card}"
    );
    assert!(
        !card.contains("href=\"javascript:") && !card.contains("href=\"data:"),
        "{card}"
    );
    assert!(!card.contains("<a href=\"https://example.com/"), "{card}");
    assert!(card.contains("javascript:document.title='pwned' <span class=\"muted\">(not a web address; not linked)</span>"), "{card}");
    assert!(
        card.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x"),
        "{card}"
    );

    // Defence in depth: a script in the page that is not the page's own does not run.
    let injected = project.root().join("injected.html");
    std::fs::write(
        &injected,
        html.replace(
            "</main>",
            "</main><script>document.title = 'pwned'</script>",
        ),
    )
    .unwrap();
    let dom = chromium(&["--dump-dom", &format!("file://{}", injected.display())]);
    assert!(
        dom.contains(&format!("<title>{title}</title>")),
        "the policy stops it: {dom}"
    );
    assert!(
        dom.contains("<output id=\"shown\" for=\"filter attention\"></output>"),
        "the page's own script still runs: {dom}"
    );
}

/// The page without its Content-Security-Policy (for the test's own probe script).
fn without_policy(html: &str) -> String {
    html.lines()
        .filter(|line| !line.starts_with("<meta http-equiv=\"Content-Security-Policy\""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of `dom` from `start` to the first `end` after it.
#[track_caller]
fn section<'a>(dom: &'a str, start: &str, end: &str) -> &'a str {
    let from = dom
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in:\n{dom}"));
    let rest = &dom[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The packages of the table's rows the filter left visible.
fn shown_rows(dom: &str) -> Vec<String> {
    dom.lines()
        .filter(|line| line.starts_with("<tr data-filter=") && !line.contains(" hidden=\"\""))
        .filter_map(|line| {
            let rest = line.split("<th scope=\"row\"><a href=\"#").nth(1)?;
            let name = rest.split("\">").nth(1)?.split("</a>").next()?;
            Some(name.to_string())
        })
        .collect()
}

/// The ids of the cards the filter left visible.
fn shown_cards(dom: &str) -> Vec<String> {
    dom.lines()
        .filter(|line| {
            line.starts_with("<article class=\"card\"") && !line.contains(" hidden=\"\"")
        })
        .filter_map(|line| {
            line.split("id=\"")
                .nth(1)?
                .split('"')
                .next()
                .map(String::from)
        })
        .collect()
}

/// Measures the rendered layout and writes the result into the page as JSON.
const LAYOUT_PROBE: &str = r#"
function luminance(color) {
  const [r, g, b] = color.match(/\d+/g).slice(0, 3).map(Number).map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
const cards = [...document.querySelectorAll('article.card')];
const statuses = [...document.querySelectorAll('.status')];
const result = {
  title: document.title,
  cards: cards.length,
  tableRows: document.querySelectorAll('tbody tr').length,
  collapsedCards: cards.filter(c => { const r = c.getBoundingClientRect(); return r.width < 200 || r.height < 60; }).length,
  horizontalOverflow: document.documentElement.scrollWidth > window.innerWidth + 1,
  minStatusContrast: Math.min(...statuses.map(s => { const st = getComputedStyle(s); return contrast(st.color, st.backgroundColor); })),
  needsReview: (document.querySelector('.status-needs-review') || {}).textContent,
};
const pre = document.createElement('pre');
pre.id = 'layout-probe';
pre.textContent = JSON.stringify(result);
document.body.appendChild(pre);
"#;

/// Runs Debian's headless Chromium with the flags this machine needs (no network, a
/// fresh profile) and returns its stdout.
fn chromium(args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .output()
        .expect("Debian's chromium package is needed for this test (`apt-get install chromium`)");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A small JSON Schema check (types, required properties, enums, `$ref`s into `$defs`,
/// `anyOf`/`oneOf`), enough to hold the report to the schema the tool publishes.
fn assert_valid(
    value: &serde_json::Value,
    schema: &serde_json::Value,
    root: &serde_json::Value,
    at: &str,
) {
    use serde_json::Value;
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/$defs/");
        return assert_valid(value, &root["$defs"][name], root, at);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema[key].as_array() {
            let matches = options.iter().any(|option| {
                std::panic::catch_unwind(|| assert_valid(value, option, root, at)).is_ok()
            });
            assert!(matches, "{at}: {value} matches none of {key}");
            return;
        }
    }
    if let Some(allowed) = schema["enum"].as_array() {
        assert!(allowed.contains(value), "{at}: {value} not in {allowed:?}");
    }
    if let Some(constant) = schema.get("const") {
        assert_eq!(value, constant, "{at}");
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(ty) => vec![ty.as_str()],
        Value::Array(tys) => tys.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
        assert!(ok, "{at}: {actual} is not {types:?}");
    }
    if let (Value::Object(map), Some(properties)) = (value, schema["properties"].as_object()) {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            assert!(map.contains_key(name), "{at}: missing `{name}`");
        }
        for (name, item) in map {
            match properties.get(name) {
                Some(property) => assert_valid(item, property, root, &format!("{at}.{name}")),
                None => assert!(
                    schema["additionalProperties"] != Value::Bool(false),
                    "{at}: unexpected `{name}`"
                ),
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            assert_valid(item, item_schema, root, &format!("{at}[{index}]"));
        }
    }
}

/// What a crate wrote reaches the reviewer's terminal and Markdown as inert text: a `\r`
/// and cursor movements cannot overwrite its own "requested" line, `<!--` cannot hide the
/// rest of its card, and text in any script never breaks the table.
#[test]
fn what_a_crate_wrote_is_shown_not_obeyed() {
    let project = Project::new();
    project
        .file(
            "vendor/sly-sys/Cargo.toml",
            "[package]\nname = \"sly-sys\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n\
             [package.metadata.sandbox]\nexec = [\"cc\"]\nread = [\"/usr/share/données/日本語のとても長いパス/include/ヘッダー\"]\n\
             reason = \"needs nothing\\r\\u001b[2K\\u001b[1Agranted: nothing to review <!-- hide the rest\"\n",
        )
        .file("vendor/sly-sys/src/lib.rs", "")
        .file("vendor/sly-sys/build.rs", "fn main() {}")
        .file(
            "app/Cargo.toml",
            &format!(
                "{}\n[workspace]\n",
                manifest("app", "[dependencies]\nsly-sys = { path = \"../vendor/sly-sys\" }")
            ),
        )
        .file("app/src/lib.rs", "");
    let table = permissions(&project, &["--color", "never"])
        .success()
        .stdout;
    let card = permissions(&project, &["-p", "sly-sys", "--color", "always"])
        .success()
        .stdout;
    let markdown = permissions(&project, &["--format", "markdown"])
        .success()
        .stdout;
    for shown in [&table, &card] {
        assert!(
            !shown.contains('\r') && !shown.contains("\x1b[2K") && !shown.contains("\x1b[1A"),
            "{shown}"
        );
    }
    assert!(
        card.contains("needs nothing\\u{d}\\u{1b}[2K\\u{1b}[1Agranted"),
        "{card}"
    );
    assert!(
        table.contains("/usr/share/données/日本語のとても長いパス/include/ヘッダー"),
        "long values are whole when piped: {table}"
    );
    assert!(!markdown.contains("<!--"), "{markdown}");
    assert!(markdown.contains("&lt;\\!-- hide the rest"), "{markdown}");
}

/// A crate asking for a *stricter* limit than the default asks for nothing to review; one
/// asking for more does.
#[test]
fn only_larger_limits_need_review() {
    let project = Project::new();
    for (name, limits) in [
        ("frugal", "memory = \"64MiB\", cpu-time = \"1s\""),
        ("hungry", "memory = \"2GiB\""),
    ] {
        project
            .file(
                &format!("vendor/{name}/Cargo.toml"),
                &format!(
                    "{}[package.metadata.sandbox]\nlimits = {{ {limits} }}\n",
                    manifest(name, "")
                ),
            )
            .file(&format!("vendor/{name}/src/lib.rs"), "")
            .file(&format!("vendor/{name}/build.rs"), "fn main() {}");
    }
    project
        .file(
            "app/Cargo.toml",
            &format!(
                "{}\n[workspace]\n",
                manifest(
                    "app",
                    "[dependencies]\nfrugal = { path = \"../vendor/frugal\" }\nhungry = { path = \"../vendor/hungry\" }"
                )
            ),
        )
        .file("app/src/lib.rs", "");
    let check = permissions(&project, &["--check"]).failure();
    check
        .stderr_has("hungry 0.1.0 needs review")
        .stderr_lacks("frugal 0.1.0 needs review");
    // The report spells limits as the table does.
    let run = permissions(&project, &["--format", "json"]).success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let cards = report["packages"].as_array().unwrap();
    let requested = |name: &str| {
        let card = cards.iter().find(|card| card["name"] == name).unwrap();
        card["requested"]["limits"].clone()
    };
    assert_eq!(requested("hungry"), serde_json::json!({ "memory": "2GiB" }));
    assert_eq!(
        requested("frugal"),
        serde_json::json!({ "memory": "64MiB", "cpu-time": "1s" })
    );
}
