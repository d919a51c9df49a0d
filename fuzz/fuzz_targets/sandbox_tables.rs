//! A dependency's manifest is attacker-controlled: reading its sandbox table must report
//! errors, never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wasm_build_policy::hygiene::{HomeKind, Hygiene, PathRules, PathRulings as _};
use wasm_build_permissions_schema::{SourceFile, TableKind, parse_table};

fuzz_target!(|text: &str| {
    let Ok(doc) = toml_edit::Document::parse(text.to_string()) else {
        return;
    };
    let file = SourceFile {
        path: Path::new("Cargo.toml"),
        text,
    };
    let rules = PathRules::default()
        .with_home(HomeKind::User, Path::new("/home/me"))
        .with_own_tree(Path::new("/home/me/src/app"));
    for (path, kind) in [
        (["package", "metadata", "sandbox"], TableKind::Package),
        (["package", "metadata", "sandbox"], TableKind::Dependency),
        (["workspace", "metadata", "sandbox"], TableKind::Workspace),
    ] {
        let item = path
            .iter()
            .try_fold(doc.as_item(), |item, key| item.get(key));
        if let Some(item) = item {
            let _ = parse_table(&file, item, kind, &Hygiene(&rules));
        }
    }
});
