//! Finding out what this machine offers the jail: asking the helper's probing mode, or,
//! where the answer is plain, this process itself.
//!
//! Kept apart from [`Layers`], the value: the Linux backend builds that value, and this
//! calls the backend, so the backend depends on the value alone.

#![allow(
    clippy::disallowed_methods,
    reason = "the jail probes the kernel by starting its own helper"
)]

use std::path::Path;
use std::process::Command;

use crate::HELPER_ARG;
use crate::layers::Layers;

impl Layers {
    /// Finds out what this machine offers by running `helper` (see [`crate::Jail::new`])
    /// in its probing mode, with Landlock capped at `landlock_abi_cap`.
    pub fn probe(helper: &Path, landlock_abi_cap: Option<u8>) -> Layers {
        let mut command = Command::new(helper);
        command.arg(HELPER_ARG).arg("probe").env_clear();
        if let Some(cap) = landlock_abi_cap {
            command.arg(cap.to_string());
        }
        let failed = |why: String| Layers {
            kernel: std::env::consts::OS.to_string(),
            landlock: Err(why.clone()),
            seccomp: Err(why.clone()),
            descendants: Err(why.clone()),
            user_namespaces: Err(why),
        };
        match command.output() {
            Ok(output) if output.status.success() => serde_json::from_slice(&output.stdout)
                .unwrap_or_else(|err| failed(format!("the probe answered nonsense: {err}"))),
            Ok(output) => failed(format!(
                "the probe failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(err) => failed(format!("the probe could not start: {err}")),
        }
    }

    /// What this machine offers, learned in this process without starting any where the
    /// answer is plain (a Landlock ABI with scopes, seccomp built in, `/proc` mounted),
    /// else by [`Layers::probe`]. Cheap enough for every build; a layer that turns out
    /// missing when a program starts still fails that start.
    pub fn detect(helper: &Path, landlock_abi_cap: Option<u8>) -> Layers {
        #[cfg(target_os = "linux")]
        if let Some(layers) = crate::linux::quick_layers(landlock_abi_cap) {
            return layers;
        }
        Layers::probe(helper, landlock_abi_cap)
    }
}
