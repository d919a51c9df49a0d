//! What this machine offers the jail, found out by trying.

use std::fmt;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::HELPER_ARG;
use crate::error::{Layer, Missing};
use crate::spec::Code;

/// The outcome of trying one layer: available, or what the kernel said.
pub type Probe = Result<(), String>;

/// The layers this machine offers, found by installing each in a throw-away process (a
/// failed attempt to try is a missing layer, never an assumed one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layers {
    /// The kernel, as `uname` names it (`Linux 6.8.0 x86_64`).
    pub kernel: String,
    /// The Landlock ABI in use (the kernel's, at most 6 and at most the cap), or why
    /// there is none.
    pub landlock: Result<u8, String>,
    /// Installing the seccomp filter.
    pub seccomp: Probe,
    /// Being a child subreaper and finding descendants in `/proc`.
    pub descendants: Probe,
    /// Creating a user and PID namespace, the fallback for signal scoping.
    pub user_namespaces: Probe,
}

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

    /// How signals are kept in, if they can be.
    pub fn signal_scope(&self) -> Result<&'static str, String> {
        match (&self.landlock, &self.user_namespaces) {
            (Ok(abi), _) if *abi >= 6 => Ok("Landlock scopes"),
            (_, Ok(())) => Ok("a PID namespace"),
            (Ok(abi), Err(userns)) => Err(format!(
                "Landlock ABI {abi} has no scopes, and unprivileged user namespaces fail: {userns}"
            )),
            (Err(landlock), Err(userns)) => Err(format!(
                "no Landlock ({landlock}), and unprivileged user namespaces fail: {userns}"
            )),
        }
    }

    /// The first layer a program running `code` needs that this machine lacks.
    pub fn missing(&self, code: Code) -> Option<Missing> {
        if cfg!(not(target_os = "linux")) {
            return Some(Missing::no_backend());
        }
        if let Err(why) = &self.landlock {
            return Some(Missing::new(Layer::Landlock, why.clone()));
        }
        if let Err(why) = &self.seccomp {
            return Some(Missing::new(Layer::Seccomp, why.clone()));
        }
        if let Err(why) = &self.descendants {
            return Some(Missing::new(Layer::Descendants, why.clone()));
        }
        if code == Code::Untrusted
            && let Err(why) = self.signal_scope()
        {
            return Some(Missing::new(Layer::SignalScope, why));
        }
        None
    }
}

impl fmt::Display for Layers {
    /// One line: `landlock=6 seccomp=yes descendants=yes signals=Landlock scopes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let yes = |probe: &Probe| if probe.is_ok() { "yes" } else { "no" };
        match &self.landlock {
            Ok(abi) => write!(f, "landlock=abi{abi}")?,
            Err(_) => write!(f, "landlock=no")?,
        }
        write!(
            f,
            " seccomp={} descendants={} signals={}",
            yes(&self.seccomp),
            yes(&self.descendants),
            self.signal_scope().unwrap_or("unscoped")
        )
    }
}
