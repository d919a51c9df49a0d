//! Why a program could not be jailed.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Why [`crate::Jail::spawn`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// This machine lacks a layer the spec needs. Nothing ran.
    #[error(transparent)]
    Unavailable(#[from] Missing),
    /// The jail was set up but refused or failed to start the program (it changed since
    /// it was judged, or it is not something the kernel can execute). Nothing ran.
    #[error("the jail did not start `{}`: {message}", program.display())]
    Refused {
        /// The program.
        program: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The helper itself could not be started or talked to.
    #[error("failed to start the jail's helper {}: {source}", helper.display())]
    Helper {
        /// The helper executable.
        helper: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A confinement layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Landlock filesystem rules.
    Landlock,
    /// The seccomp system-call filter.
    Seccomp,
    /// Keeping every descendant: a child subreaper and `/proc` to find them.
    Descendants,
    /// Keeping signals inside the jail: Landlock scopes or a PID namespace.
    SignalScope,
    /// A jail at all on this operating system.
    Backend,
}

impl Layer {
    /// The layer's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Landlock => "Landlock",
            Layer::Seccomp => "seccomp",
            Layer::Descendants => "descendant tracking",
            Layer::SignalScope => "signal scoping",
            Layer::Backend => "a native jail",
        }
    }

    /// What the layer stops, for `doctor` and messages.
    pub fn purpose(self) -> &'static str {
        match self {
            Layer::Landlock => "confines reads, writes and executions to the granted paths",
            Layer::Seccomp => {
                "allows only the system calls builds make (no sockets, io_uring, IPC, keyrings, \
                 ptrace or mounts), and has a supervisor judge metadata changes, code mappings \
                 and the connections of programs granted `network` (to the build's proxy only)"
            }
            Layer::Descendants => {
                "kills everything a program started, setsid daemons included, when it ends"
            }
            Layer::SignalScope => "keeps a jailed program from signalling your other processes",
            Layer::Backend => "runs native programs confined",
        }
    }

    fn likely_cause(self) -> &'static str {
        match self {
            Layer::Landlock => {
                "the kernel is older than 5.13 or was booted without `landlock` in its LSM list \
                 (`cat /sys/kernel/security/lsm`), or a container's seccomp profile blocks the \
                 `landlock_*` system calls"
            }
            Layer::Seccomp => {
                "the kernel was built without CONFIG_SECCOMP_FILTER or is older than 5.0 (no \
                 seccomp user notification), or a container forbids installing filters"
            }
            Layer::Descendants => {
                "`/proc` is not mounted, or `prctl(PR_SET_CHILD_SUBREAPER)` is refused"
            }
            Layer::SignalScope => {
                "Landlock scopes need Linux 6.12, and the fallback, a PID namespace, needs \
                 unprivileged user namespaces, which are blocked here (Docker's default seccomp \
                 profile, Ubuntu ≥ 23.10's `kernel.apparmor_restrict_unprivileged_userns=1`, or \
                 `user.max_user_namespaces=0`)"
            }
            Layer::Backend => "the jail has a backend for Linux only",
        }
    }

    fn fix(self) -> &'static str {
        match self {
            Layer::Landlock => {
                "use Linux ≥ 5.13 with Landlock enabled (add `landlock` to the `lsm=` boot \
                 parameter), or give the container a seccomp profile that allows \
                 `landlock_create_ruleset`, `landlock_add_rule` and `landlock_restrict_self` \
                 (Docker ≥ 20.10's default does)"
            }
            Layer::Seccomp => {
                "use Linux ≥ 5.0 with CONFIG_SECCOMP_FILTER (every distribution kernel has it), \
                 and a container profile that allows the `seccomp` system call (Docker's does)"
            }
            Layer::Descendants => "mount `/proc` (containers do by default)",
            Layer::SignalScope => {
                "use Linux ≥ 6.12, or allow unprivileged user namespaces (Ubuntu: `sudo sysctl -w \
                 kernel.apparmor_restrict_unprivileged_userns=0`; Docker: a seccomp profile that \
                 allows `unshare` and `clone` with namespace flags)"
            }
            Layer::Backend => "build on Linux",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A layer this machine lacks, with what the machine said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct Missing {
    /// The layer.
    pub layer: Layer,
    /// What failed, as the kernel reported it.
    pub detail: String,
}

impl Missing {
    pub(crate) fn new(layer: Layer, detail: impl Into<String>) -> Self {
        Missing {
            layer,
            detail: detail.into(),
        }
    }

    /// No backend on this platform.
    pub fn no_backend() -> Self {
        Missing::new(
            Layer::Backend,
            format!("there is none for {}", std::env::consts::OS),
        )
    }

    /// The likely cause, in a sentence.
    pub fn cause(&self) -> &'static str {
        self.layer.likely_cause()
    }

    /// How to get the layer, in a sentence.
    pub fn fix(&self) -> &'static str {
        self.layer.fix()
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not available on this machine ({}), so native programs cannot run confined \
             ({} {})\n  cause: {}\n  help: {}",
            self.layer.name(),
            self.detail,
            self.layer.name(),
            self.layer.purpose(),
            self.cause(),
            self.fix()
        )
    }
}
