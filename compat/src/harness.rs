//! What the measuring programs (the compatibility suite and the benchmarks) share:
//! finding cargo, building the tool under test, reading facts about the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// The cargo that runs us (`CARGO`), or `cargo` on `PATH`.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| "cargo".into(), PathBuf::from)
}

/// The root of the cargo-wasm-build workspace these programs belong to.
///
/// # Errors
///
/// Fails when the harness crate is not inside the workspace.
pub fn workspace() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("the compat crate lives in the workspace")
}

/// Builds cargo-wasm-build of `workspace` in release mode and returns its path.
///
/// # Errors
///
/// Fails when the build fails.
pub fn build_tool(workspace: &Path) -> Result<PathBuf> {
    let status = Command::new(cargo())
        .args([
            "build",
            "--release",
            "--locked",
            "--bin",
            "cargo-wasm-build",
        ])
        .current_dir(workspace)
        .status()
        .context("failed to build cargo-wasm-build")?;
    if !status.success() {
        bail!("cargo-wasm-build did not build");
    }
    Ok(workspace.join("target/release/cargo-wasm-build"))
}

/// What `program args` prints, trimmed; empty when it cannot run.
pub fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .unwrap_or_default()
}
