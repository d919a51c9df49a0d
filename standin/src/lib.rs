//! The native stand-in cargo runs in place of a build script.
//!
//! The wrapper puts a small script where cargo expects the compiled build script, and a
//! [`StandIn`] manifest beside it. When cargo runs the "build script", the script starts
//! the tool with [`STANDIN_ARG`](wasm_build_contract::manifest::STANDIN_ARG) and its own
//! path; [`run`] reads the policy, runs the wasm module in the sandbox
//! (`wasm-build-runtime`), judges every directive it printed (`wasm_build_policy::judge`),
//! prints the ones that pass for cargo, and appends what happened to the audit log. A run
//! the [`run_cache`] holds is restored instead of run, and judged the same way.
//!
//! A run in order: `prepare` (the package, its policy, what the script sees), then the
//! sandbox or the run cache, then `finish` (the directive `filter`, the hidden lookups,
//! the `report` of what failed, the audit record). The rulings are the policy crate's;
//! these modules apply them to one run.

mod attempt;
mod exports;
mod filter;
mod finish;
mod out_dir;
mod prepare;
mod remove;
mod report;
mod rerun;
pub mod run_cache;
mod sandbox_only;
mod switched;
mod system_reads;

pub use remove::remove_with_hard_links;
pub use report::failure_text;
pub use switched::recompile_switched_scripts;

use std::path::Path;

use anyhow::{Context as _, Result};
use wasm_build_contract::manifest::{Script, StandIn};
use wasm_build_policy::run_natively::runs_natively;
use wasm_build_runtime::preopen::{Access, Preopen, build_script_preopens};
use wasm_build_runtime::sandbox::Sandbox;
use wasm_build_runtime::{ModuleCache, SandboxEngine};

use crate::finish::finish;
use crate::prepare::{Prepared, granted_preopens};
use crate::report::{native_granted_since, native_no_longer_granted};

/// Runs the build script the manifest beside `exe` describes, as cargo would have run the
/// native one, and returns the process exit status.
///
/// # Errors
///
/// Fails when the sandbox cannot be set up. The script's own failures, denials and limit
/// violations are reported on stderr and turned into a non-zero status instead.
pub fn run(exe: &Path, manifest: &StandIn) -> Result<i32> {
    let prepared = Prepared::from_env()?;
    let describe = prepared.package.cargo.describe();
    // A native run is never cached: what it reads is not confined to what is keyed.
    let mut cached = run_cache::Cached::Skipped;
    let output = match &manifest.script {
        Script::Wasm {
            module,
            module_key,
            module_cache,
        } => {
            if runs_natively(&prepared.policy) {
                return native_granted_since(exe, &prepared);
            }
            let engine = SandboxEngine::get()?;
            let module_cache = ModuleCache::new(module_cache);
            let (found, restored) = run_cache::look_up(&prepared.run_facts(&engine, module));
            cached = found;
            if let Some(output) = restored {
                return finish(&prepared, output, (exe, manifest), &cached);
            }
            let module = module_cache
                .load(&engine, module_key, module)
                .with_context(|| format!("failed to load the build script of {describe}"))?;
            Sandbox {
                engine: &engine,
                module: &module,
                args: vec![exe.to_string_lossy().into_owned()],
                env: prepared.env.clone(),
                preopens: build_script_preopens(
                    &prepared.package.cargo.manifest_dir,
                    &prepared.package.out_dir,
                    prepared.temp_dir.path(),
                )
                .into_iter()
                .chain(prepared.exported.iter().map(|dir| Preopen {
                    path: dir.clone(),
                    access: Access::ReadOnly,
                }))
                .chain(granted_preopens(
                    &prepared.policy,
                    &prepared.package.cargo.manifest_dir,
                ))
                .collect(),
                limits: prepared.policy.limits,
                exec: Some(prepared.exec_context()),
                exit_on_hang: true,
                temp_dir: Some(prepared.temp_dir.path().to_path_buf()),
                hidden_env: prepared.hidden_env.clone(),
                module_cache: Some(&module_cache),
            }
            .run()
        }
        Script::Native { binary } => {
            if !runs_natively(&prepared.policy) {
                return native_no_longer_granted(exe, &prepared);
            }
            run_cache::note_ineligible(
                &prepared.package.cargo.name,
                &run_cache::Ineligible::Native,
            );
            wasm_build_exec::native::run(binary, &prepared.exec_context())
        }
    }
    .with_context(|| format!("failed to run the build script of {describe}"))?;
    finish(&prepared, output, (exe, manifest), &cached)
}
