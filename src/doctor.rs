//! `cargo wasm-build doctor`: what this machine offers the jail that confines build
//! scripts' native programs, and therefore what can run here.

use std::io::Write as _;

use anyhow::Result;
use wasm_build_jail::{Code, Layer};
use wasm_build_runtime::confinement;

/// Prints the layers and returns 0 when everything can run confined, 1 otherwise.
pub fn run() -> Result<i32> {
    let layers = confinement::jail().layers();
    let mut out = String::new();
    out.push_str(&format!(
        "Native confinement on this machine ({}):\n\n",
        layers.kernel
    ));
    let available = |probe: &Result<(), String>| probe.clone().map(|()| String::new());
    let rows = [
        (
            Layer::Landlock,
            status(layers.landlock.clone().map(|abi| format!("ABI {abi}"))),
        ),
        (Layer::Seccomp, status(available(&layers.seccomp))),
        (Layer::Descendants, status(available(&layers.descendants))),
        (
            Layer::SignalScope,
            status(layers.signal_scope().map(|how| format!("by {how}"))),
        ),
    ];
    for (layer, status) in &rows {
        out.push_str(&format!(
            "  {:<20} {:<32} {}\n",
            layer.name(),
            status,
            layer.purpose()
        ));
    }
    let userns = match &layers.user_namespaces {
        Ok(()) => "available".to_string(),
        Err(why) => format!("unavailable ({why})"),
    };
    out.push_str(&format!(
        "  {:<20} {userns}: a fallback for signal scoping, needed only without Landlock ABI 6\n\n",
        "user namespaces"
    ));
    let verdict = |code| match layers.missing(code) {
        None => "run confined".to_string(),
        Some(missing) => format!("cannot run: {} is missing", missing.layer),
    };
    out.push_str(&format!(
        "rustc probes (no grant needed):           {}\n",
        verdict(Code::Toolchain)
    ));
    out.push_str(&format!(
        "granted programs, run-natively scripts:   {}\n",
        verdict(Code::Untrusted)
    ));
    let missing = layers.missing(Code::Untrusted);
    if let Some(missing) = &missing {
        out.push_str(&format!(
            "\n{} {}\n",
            wasm_build_contract::Code::W201.error(),
            confinement::refusal(missing)
        ));
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    Ok(if missing.is_some() { 1 } else { 0 })
}

fn status(probe: Result<String, String>) -> String {
    match probe {
        Ok(detail) if detail.is_empty() => "available".into(),
        Ok(detail) => format!("available, {detail}"),
        Err(_) => "MISSING".into(),
    }
}
