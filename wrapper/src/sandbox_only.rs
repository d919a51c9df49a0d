//! Code in a build-dependency that only the sandbox compiles. Build-dependencies are
//! compiled with wasm32-wasip1's cfgs, so an attribute such as
//! `#[cfg(target_arch = "wasm32")]` selects a wasm fallback (an operation that answers
//! "not implemented") that the native build never runs. When a script fails in the
//! sandbox and links such code, the stand-in names it and offers `run-natively`, instead
//! of a failure nothing explains (see `wasm_build_standin`).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wasm_build_contract::manifest::SandboxOnlyCode;

use crate::cfg_scan::{attribute_cfgs, crate_sources};
use crate::host_cfg::{CfgSet, HostCfgs};
use crate::invocation::Invocation;
use crate::record::Record;
use crate::state::StateDir;

/// What [`of_library`] found for one native compile, kept beside the twin so that the
/// sources are read once per compile.
#[derive(Serialize, Deserialize)]
struct Found {
    record: String,
    code: Vec<SandboxOnlyCode>,
}

/// The code only the sandbox compiles in the library `native` (compiled as `record`
/// describes, `invocation` being its arguments), from the sources its dep-info lists.
/// Kept in `cache_file` for the same compile. Unreadable sources count as none: this is
/// an explanation offered on failure, never a reason to fail.
pub(crate) fn of_library(
    cfgs: &HostCfgs,
    record: &Record,
    invocation: &Invocation,
    native: &Path,
    cache_file: &Path,
) -> Vec<SandboxOnlyCode> {
    if let Some(found) = fs::read(cache_file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Found>(&bytes).ok())
        .filter(|found| found.record == record.id)
    {
        return found.code;
    }
    let code = scan(cfgs, record, invocation, native);
    if let Ok(json) = serde_json::to_vec(&Found {
        record: record.id.clone(),
        code: code.clone(),
    }) {
        let _ = fs::write(cache_file, json);
    }
    code
}

/// The code only the sandbox compiles in the native libraries `roots` and everything
/// they link, found from their native compiles' records: for a script whose
/// build-dependencies a nested cargo built for the guest (no twins to carry it), whose
/// sources are the same crates.
pub(crate) fn of_native_tree(
    cfgs: &HostCfgs,
    roots: impl IntoIterator<Item = PathBuf>,
) -> Vec<SandboxOnlyCode> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<PathBuf> = roots.into_iter().collect();
    let mut all: Vec<SandboxOnlyCode> = Vec::new();
    while let Some(native) = stack.pop() {
        if !seen.insert(native.clone()) {
            continue;
        }
        let Some((record, invocation, state)) = native_compile(&native) else {
            continue;
        };
        let stem = native
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let guest_deps = state.guest_deps();
        let _ = fs::create_dir_all(&guest_deps);
        let cache_file = guest_deps.join(format!("{stem}.sandbox-only.json"));
        for code in of_library(cfgs, &record, &invocation, &native, &cache_file) {
            if !all.contains(&code) {
                all.push(code);
            }
        }
        stack.extend(invocation.linked_libraries());
    }
    all
}

/// What cargo's native compile of the library `native` was, as the wrapper recorded it.
fn native_compile(native: &Path) -> Option<(Record, Invocation, StateDir)> {
    let stem = native.file_stem()?.to_str()?;
    let state = native.parent().and_then(StateDir::for_deps_dir)?;
    let record = Record::load(&state.records(), stem).ok()?;
    let invocation = record.invocation().ok()?;
    Some((record, invocation, state))
}

fn scan(
    cfgs: &HostCfgs,
    record: &Record,
    invocation: &Invocation,
    native: &Path,
) -> Vec<SandboxOnlyCode> {
    let Some(crate_name) = invocation.crate_name() else {
        return Vec::new();
    };
    let dep_info = native.with_file_name(format!("{crate_name}{}.d", invocation.extra_filename()));
    let Ok(dep_info) = fs::read_to_string(&dep_info) else {
        return Vec::new();
    };
    let crate_cfgs = CfgSet::parse(&invocation.values("--cfg").collect::<Vec<_>>().join("\n"));
    let package = package_label(record).unwrap_or_else(|| crate_name.to_string());
    let mut code = Vec::new();
    for source in crate_sources(&dep_info) {
        let path = record.cwd.join(&source);
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let uses = attribute_cfgs(&path, &text);
        code.extend(
            cfgs.sandbox_only(&uses, &crate_cfgs)
                .into_iter()
                .map(|at| SandboxOnlyCode {
                    package: package.clone(),
                    file: at.file,
                    line: at.line,
                    predicate: at.predicate,
                    strings: at.strings,
                }),
        );
    }
    code
}

/// `name vX.Y.Z` from the compile's environment.
fn package_label(record: &Record) -> Option<String> {
    Some(format!(
        "{} v{}",
        record.var("CARGO_PKG_NAME")?,
        record.var("CARGO_PKG_VERSION")?
    ))
}
