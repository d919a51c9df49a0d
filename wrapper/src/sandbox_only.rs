//! Code in a build-dependency that only the sandbox compiles. Build-dependencies are
//! compiled with wasm32-wasip1's cfgs, so an attribute such as
//! `#[cfg(target_arch = "wasm32")]` selects a wasm fallback (an operation that answers
//! "not implemented") that the native build never runs. When a script fails in the
//! sandbox and links such code, the stand-in names it and offers `run-natively`, instead
//! of a failure nothing explains (see `wasm_build_standin`).

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use wasm_build_contract::manifest::SandboxOnlyCode;

use crate::cfg_scan::{attribute_cfgs, crate_sources};
use crate::host_cfg::{CfgSet, HostCfgs};
use crate::invocation::Invocation;
use crate::record::Record;

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
                }),
        );
    }
    code
}

/// `name vX.Y.Z` from the compile's environment.
fn package_label(record: &Record) -> Option<String> {
    let value = |name: &str| {
        record
            .env
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    Some(format!(
        "{} v{}",
        value("CARGO_PKG_NAME")?,
        value("CARGO_PKG_VERSION")?
    ))
}
