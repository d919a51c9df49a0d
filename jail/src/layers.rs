//! What this machine offers the jail, found out by trying.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Layer, Missing};
use crate::spec::Code;

/// The outcome of trying one layer: available, or what the kernel said.
pub type Probe = Result<(), String>;

/// The layers this machine offers, found by installing each in a throw-away process (a
/// failed attempt to try is a missing layer, never an assumed one): see
/// [`Layers::probe`] and [`Layers::detect`].
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
